/* AdamW on the CPU: bias-corrected first/second moments and decoupled weight decay
 * (param −= lr·(m̂/(√v̂ + eps) + wd·param)), elementwise in parallel. */
#include <math.h>

#include "backend/cpu/cpu_ops.h"

void cpu_adamw(float *param, const float *grad, float *m, float *v, size_t n, float lr, float beta1, float beta2,
               float eps, float weight_decay, int t)
{
    double correction1 = 1.0 - pow(beta1, t);
    double correction2 = 1.0 - pow(beta2, t);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        double mhat = mi / correction1, vhat = vi / correction2;
        param[i] -= (float)(lr * (mhat / (sqrt(vhat) + eps) + (double)weight_decay * param[i]));
    }
}
