/* Internal to the POETS loop: the implicit-reward regression loss of one member's minibatch
 * (algorithm page §3), as a pure function so that it can be tested on its own. The KL term and
 * everything on the device stay in train.c. */
#ifndef POETS_REWARD_LOSS_H
#define POETS_REWARD_LOSS_H

/* Over n rows with r_i = beta·(logp[i] − logp_ref[i]) + b:
 *     L = Σ_i w[i] (r_i − target[i])² / max(1, Σ_i w[i]).
 * Returns L and writes dlogp[i] = ∂L/∂logp[i] (n values) and *db = ∂L/∂b. Sums run in row
 * order (deterministic). */
double poets_reward_loss(int n, const double *logp, const double *logp_ref, const double *w, const double *target,
                         double beta, double b, double *dlogp, double *db);

#endif
