/* Elementwise and row-copy ops on the CPU: GELU (tanh form), add, token+position embedding
 * and its backward, row gathering. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"

#define GELU_SCALE 0.7978845608028654 /* √(2/π) */

void cpu_gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(0.5 * x * (1.0 + tanh(GELU_SCALE * (x + 0.044715 * x * x * x))));
    }
}

void cpu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        double th = tanh(GELU_SCALE * (x + 0.044715 * x * x * x));
        double sech2 = 1.0 - th * th;
        double local = 0.5 * (1.0 + th) + 0.5 * x * sech2 * GELU_SCALE * (1.0 + 3.0 * 0.044715 * x * x);
        dinp[i] += (float)(local * dout[i]);
    }
}

void cpu_add(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void cpu_embed_forward(float *out, const int *tokens, const float *wte, const float *wpe, int B, int T, int E,
                       int pos0)
{
#pragma omp parallel for schedule(static)
    for (int bt = 0; bt < B * T; bt++) {
        const float *te = wte + (size_t)tokens[bt] * E;
        const float *pe = wpe + (size_t)(pos0 + bt % T) * E;
        float *o = out + (size_t)bt * E;
        for (int e = 0; e < E; e++) o[e] = te[e] + pe[e];
    }
}

/* Several positions may share a token (and every sequence shares the positions), so the rows
 * are accumulated in order by one thread per column block: deterministic and race-free. */
void cpu_embed_backward(float *dwte, float *dwpe, const float *dout, const int *tokens, int B, int T, int E,
                        int pos0)
{
#pragma omp parallel for schedule(static)
    for (int e = 0; e < E; e++) {
        for (int bt = 0; bt < B * T; bt++) {
            float g = dout[(size_t)bt * E + e];
            if (dwte) dwte[(size_t)tokens[bt] * E + e] += g;
            if (dwpe) dwpe[(size_t)(pos0 + bt % T) * E + e] += g;
        }
    }
}

void cpu_gather_rows(float *out, const float *inp, const int *idx, int n_out, int width)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n_out; i++)
        memcpy(out + (size_t)i * width, inp + (size_t)idx[i] * width, (size_t)width * sizeof(float));
}
