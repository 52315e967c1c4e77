/* Named ranges for profilers: NVTX ranges (visible in Nsight Systems / Nsight Compute) in a
 * build with CUDA, nothing otherwise. Ranges nest; every push has its pop on the same thread.
 * `make profile` prints the command lines. */
#ifndef POETS_PROFILE_H
#define POETS_PROFILE_H

void poets_range_push(const char *name);
void poets_range_pop(void);

#endif
