/* include/poets/comm.h over MPI (MPI_COMM_WORLD). MPI is initialised only when an MPI launcher
 * started the process (its environment says so), so that `poets run` without mpirun, and every
 * other verb, never pays for MPI start-up. Large buffers travel in chunks: MPI counts are int. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poets/comm.h"
#include "poets/timer.h"

enum { CHUNK = 1 << 28 };

static int started, rank, size = 1;
static double bytes_moved, seconds_in;

static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int poets_comm_start(poets_err_t *err)
{
    if (started || !launched_by_mpi()) return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return poets_fail(err, "MPI_Init failed");
    /* errors inside MPI abort the whole job: a rank never waits forever on a dead peer */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    started = 1;
    return 0;
}

void poets_comm_stop(void)
{
    if (!started) return;
    MPI_Finalize();
    started = 0, rank = 0, size = 1;
}

int poets_comm_rank(void) { return rank; }
int poets_comm_size(void) { return size; }
const char *poets_comm_kind(void) { return "MPI"; }

static void bcast_bytes(void *buf, size_t bytes, int root)
{
    for (size_t off = 0; off < bytes; off += CHUNK) {
        size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    }
    bytes_moved += (double)bytes;
}

void poets_comm_bcast(void *buf, size_t bytes, int root)
{
    if (size == 1) return;
    double t0 = poets_now();
    bcast_bytes(buf, bytes, root);
    seconds_in += poets_now() - t0;
}

void *poets_comm_allgather(const void *send, size_t send_bytes, size_t *counts, size_t *total)
{
    double t0 = poets_now();
    uint64_t mine = send_bytes, *all = poets_xmalloc((size_t)size * sizeof *all);
    if (size > 1) MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    else all[0] = mine;
    size_t sum = 0;
    for (int r = 0; r < size; r++) sum += all[r];
    char *out = poets_xmalloc(sum ? sum : 1);
    /* one broadcast per rank: simple, chunked, and ranks are few */
    for (int r = 0; r < size; r++) {
        size_t at = 0;
        for (int q = 0; q < r; q++) at += all[q];
        if (r == rank && send_bytes) memcpy(out + at, send, send_bytes);
        if (size > 1 && all[r]) bcast_bytes(out + at, all[r], r);
        if (counts) counts[r] = all[r];
    }
    free(all);
    *total = sum;
    seconds_in += poets_now() - t0;
    return out;
}

int poets_comm_agree(int rc, poets_err_t *err)
{
    if (size == 1) return rc == 0 ? 0 : -1;
    double t0 = poets_now();
    int failing = rc != 0 ? rank : size, first;
    MPI_Allreduce(&failing, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    seconds_in += poets_now() - t0;
    if (first == size) return 0;
    poets_err_t msg;
    if (rank == first) msg = *err;
    poets_comm_bcast(msg.msg, sizeof msg.msg, first);
    msg.msg[sizeof msg.msg - 1] = '\0';
    return poets_fail(err, "rank %d: %s", first, msg.msg);
}

void poets_comm_stats(double *bytes, double *seconds) { *bytes = bytes_moved, *seconds = seconds_in; }
