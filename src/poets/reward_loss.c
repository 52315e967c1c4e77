/* The implicit-reward regression loss and its gradient (src/poets/reward_loss.h). */
#include "reward_loss.h"

double poets_reward_loss(int n, const double *logp, const double *logp_ref, const double *w, const double *target,
                         double beta, double b, double *dlogp, double *db)
{
    double wsum = 0, loss = 0, gb = 0;
    for (int i = 0; i < n; i++) wsum += w[i];
    double D = wsum > 1 ? wsum : 1;
    for (int i = 0; i < n; i++) {
        double diff = beta * (logp[i] - logp_ref[i]) + b - target[i];
        loss += w[i] * diff * diff / D;
        double g = 2 * w[i] * diff / D;
        gb += g;
        dlogp[i] = g * beta;
    }
    *db = gb;
    return loss;
}
