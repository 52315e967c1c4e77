/* The processes of one run: MPI ranks when poets is built with MPI and launched by mpirun,
 * otherwise a single process (rank 0 of 1). The POETS loop shards its ensemble members over
 * the ranks (member k on rank k mod R) and exchanges only candidates, evaluations, reference
 * log-probabilities and per-member numbers through these calls.
 *
 * Every call below except rank/size/stats is collective: all ranks make the same calls in the
 * same order. A rank that dies takes the others down through the MPI launcher (no hang). */
#ifndef POETS_COMM_H
#define POETS_COMM_H

#include <stddef.h>

#include "poets/error.h"

/* Joins the ranks (MPI_Init when launched by an MPI launcher; nothing otherwise). */
int poets_comm_start(poets_err_t *err);
/* Leaves them (MPI_Finalize when started). */
void poets_comm_stop(void);
int poets_comm_rank(void);
int poets_comm_size(void);
/* Whether this build can run several ranks ("MPI" or "single process"). */
const char *poets_comm_kind(void);

/* buf (bytes) from root to every rank. */
void poets_comm_bcast(void *buf, size_t bytes, int root);
/* Every rank's send (any size, send_bytes may differ) concatenated in rank order, on every rank:
 * a malloc'd buffer of *total bytes (caller frees); counts[r] (when not NULL, size() entries)
 * receives rank r's size. */
void *poets_comm_allgather(const void *send, size_t send_bytes, size_t *counts, size_t *total);
/* Agreement after a phase: 0 when rc == 0 on every rank; otherwise −1 on every rank, with err
 * holding the message of the lowest failing rank (prefixed "rank N: " when size() > 1). */
int poets_comm_agree(int rc, poets_err_t *err);

/* Bytes this rank sent and received through the calls above, and the seconds it spent in them
 * (waiting for slower ranks included), since start. */
void poets_comm_stats(double *bytes, double *seconds);

#endif
