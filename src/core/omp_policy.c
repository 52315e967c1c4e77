/* Re-executing with a passive OpenMP wait policy (include/poets/omp_policy.h). */
#include "poets/omp_policy.h"

#include <stdlib.h>
#include <unistd.h>

void poets_openmp_prefer_passive(char **argv)
{
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
}
