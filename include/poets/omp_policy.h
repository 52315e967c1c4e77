/* OpenMP wait policy for the engine's processes. */
#ifndef POETS_OMP_POLICY_H
#define POETS_OMP_POLICY_H

/* OpenMP workers that spin while idle steal the cores OpenBLAS's own threads need between
 * parallel loops (measured: 2,062 against 2,967 tokens/s in pre-training on 2 cores, and a
 * several-fold noisier bench/ensemble_forward). libgomp reads OMP_WAIT_POLICY only at start-up,
 * so when the user has not chosen one this sets PASSIVE and re-executes the program once
 * (argv as given); if the re-exec fails, the process carries on unchanged. */
void poets_openmp_prefer_passive(char **argv);

#endif
