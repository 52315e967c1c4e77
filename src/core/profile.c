/* Profiler ranges (include/poets/profile.h): NVTX v3 (header-only, loads the profiler's
 * injection library only when one is attached) in a CUDA build, no-ops otherwise. */
#include "poets/profile.h"

#ifdef POETS_CUDA
#include <nvtx3/nvToolsExt.h>

void poets_range_push(const char *name) { nvtxRangePushA(name); }
void poets_range_pop(void) { nvtxRangePop(); }
#else
void poets_range_push(const char *name) { (void)name; }
void poets_range_pop(void) {}
#endif
