/* include/poets/comm.h for a build without MPI: one process, rank 0 of 1. */
#include <stdlib.h>
#include <string.h>

#include "poets/comm.h"

int poets_comm_start(poets_err_t *err)
{
    (void)err;
    return 0;
}

void poets_comm_stop(void) {}
int poets_comm_rank(void) { return 0; }
int poets_comm_size(void) { return 1; }
const char *poets_comm_kind(void) { return "single process"; }
void poets_comm_bcast(void *buf, size_t bytes, int root) { (void)buf, (void)bytes, (void)root; }

void *poets_comm_allgather(const void *send, size_t send_bytes, size_t *counts, size_t *total)
{
    void *out = poets_xmalloc(send_bytes ? send_bytes : 1);
    if (send_bytes) memcpy(out, send, send_bytes);
    if (counts) counts[0] = send_bytes;
    *total = send_bytes;
    return out;
}

int poets_comm_agree(int rc, poets_err_t *err)
{
    (void)err;
    return rc == 0 ? 0 : -1;
}

void poets_comm_stats(double *bytes, double *seconds) { *bytes = 0, *seconds = 0; }
