/* Monotonic wall-clock time (include/poets/timer.h). */
#include "poets/timer.h"

#include <time.h>

double poets_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
