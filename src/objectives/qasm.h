/* The quantum-circuit objective (`objective: qasm`): see qasm.c. */
#ifndef POETS_OBJECTIVES_QASM_H
#define POETS_OBJECTIVES_QASM_H

#include "poets/objective.h"

/* Loads the Hamiltonian named by cfg->qasm_hamiltonian (h2, tfim, artificial or a file), and
 * computes its exact ground and top energies by dense diagonalisation (at most 10 qubits). */
int poets_objective_qasm(const poets_config_t *cfg, poets_objective_t **out, poets_err_t *err);

#endif
