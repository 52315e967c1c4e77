/* Eigenvalues of a dense complex Hermitian matrix (sizes up to a few thousand): Householder
 * reduction to a real symmetric tridiagonal matrix, then Sturm-sequence bisection. Used for the
 * exact ground and top energies of the circuit objective's Hamiltonians; no eigenvectors. */
#ifndef POETS_OBJECTIVES_HERMITIAN_EIGEN_H
#define POETS_OBJECTIVES_HERMITIAN_EIGEN_H

#include <complex.h>

/* a: n x n Hermitian, row-major, overwritten. w: the n eigenvalues in ascending order. */
void poets_hermitian_eigenvalues(double complex *a, int n, double *w);

#endif
