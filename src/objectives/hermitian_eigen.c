/* Hermitian eigenvalues: the matrix is reduced column by column with Householder reflections
 * H = I - 2uu^H (B <- HBH = B - 2uw^H - 2wu^H with p = Bu, K = u^H p, w = p - Ku) to a
 * tridiagonal Hermitian matrix, whose off-diagonal moduli give a real symmetric tridiagonal
 * matrix with the same spectrum (a diagonal unitary similarity). Each eigenvalue is then found by
 * bisection on the Sturm count, which is accurate to a few ulps of the matrix norm. */
#include "objectives/hermitian_eigen.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "poets/error.h"

static void tridiagonalize(double complex *a, int n, double *d, double *e)
{
    double complex *u = poets_xmalloc((size_t)n * sizeof *u), *w = poets_xmalloc((size_t)n * sizeof *w);
    for (int k = 0; k + 2 < n; k++) {
        int m = n - k - 1; /* size of the trailing block */
        double complex *x = u;
        double tail = 0, x0abs;
        for (int i = 0; i < m; i++) {
            x[i] = a[(size_t)(k + 1 + i) * n + k];
            if (i) tail += creal(x[i]) * creal(x[i]) + cimag(x[i]) * cimag(x[i]);
        }
        if (tail == 0) continue;
        x0abs = cabs(x[0]);
        double norm = sqrt(x0abs * x0abs + tail);
        double complex ph = x0abs > 0 ? x[0] / x0abs : 1;
        double complex alpha = -ph * norm;
        x[0] -= alpha; /* u = x - alpha e1, then normalised */
        double unorm = sqrt((x0abs + norm) * (x0abs + norm) + tail);
        for (int i = 0; i < m; i++) u[i] /= unorm;
        double complex *b = a + (size_t)(k + 1) * n + (k + 1);
        double kk = 0;
        for (int i = 0; i < m; i++) {
            double complex s = 0;
            for (int j = 0; j < m; j++) s += b[(size_t)i * n + j] * u[j];
            w[i] = s;
            kk += creal(conj(u[i]) * s);
        }
        for (int i = 0; i < m; i++) w[i] -= kk * u[i];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) b[(size_t)i * n + j] -= 2 * (u[i] * conj(w[j]) + w[i] * conj(u[j]));
        a[(size_t)(k + 1) * n + k] = alpha;
        a[(size_t)k * n + k + 1] = conj(alpha);
        for (int i = 1; i < m; i++) a[(size_t)(k + 1 + i) * n + k] = a[(size_t)k * n + k + 1 + i] = 0;
    }
    for (int i = 0; i < n; i++) d[i] = creal(a[(size_t)i * n + i]);
    for (int i = 0; i + 1 < n; i++) e[i] = cabs(a[(size_t)(i + 1) * n + i]);
    free(u);
    free(w);
}

/* Number of eigenvalues of the tridiagonal (d, e) below x. */
static int sturm_count(const double *d, const double *e, int n, double x, double pivmin)
{
    int count = 0;
    double q = d[0] - x;
    for (int i = 0;;) {
        if (fabs(q) < pivmin) q = -pivmin;
        if (q < 0) count++;
        if (++i == n) return count;
        q = d[i] - x - e[i - 1] * e[i - 1] / q;
    }
}

void poets_hermitian_eigenvalues(double complex *a, int n, double *w)
{
    double *d = poets_xmalloc((size_t)n * sizeof *d), *e = poets_xmalloc((size_t)(n > 1 ? n - 1 : 1) * sizeof *e);
    tridiagonalize(a, n, d, e);
    double lo = INFINITY, hi = -INFINITY, emax = 0;
    for (int i = 0; i < n; i++) {
        double r = (i > 0 ? e[i - 1] : 0) + (i + 1 < n ? e[i] : 0);
        if (d[i] - r < lo) lo = d[i] - r;
        if (d[i] + r > hi) hi = d[i] + r;
        if (i + 1 < n && e[i] > emax) emax = e[i];
    }
    double pivmin = DBL_MIN * fmax(1.0, emax * emax);
    double span = hi - lo, margin = 2 * DBL_EPSILON * fmax(fabs(lo), fabs(hi)) + pivmin;
    lo -= margin + span * DBL_EPSILON;
    hi += margin + span * DBL_EPSILON;
    for (int k = 0; k < n; k++) {
        double a_lo = lo, a_hi = hi;
        for (int it = 0; it < 256; it++) {
            double mid = 0.5 * (a_lo + a_hi);
            if (mid <= a_lo || mid >= a_hi || a_hi - a_lo <= 2 * DBL_EPSILON * fmax(fabs(a_lo), fabs(a_hi)) + pivmin)
                break;
            if (sturm_count(d, e, n, mid, pivmin) > k)
                a_hi = mid;
            else
                a_lo = mid;
        }
        w[k] = 0.5 * (a_lo + a_hi);
    }
    free(d);
    free(e);
}
