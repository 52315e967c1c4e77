/* Capacity helpers of the run state shared with the store's loader (src/store/): they let the
 * loader size a fresh state for n rows before filling its arrays directly. Not a public API. */
#ifndef POETS_RUN_STATE_INTERNAL_H
#define POETS_RUN_STATE_INTERNAL_H

#include "poets/run_state.h"

/* Grows the replay (and bootstrap) arrays to hold at least n rows; n itself is unchanged. */
void poets_replay_reserve(poets_run_state_t *s, size_t rows);

/* Grows the trace arrays to hold at least n rows; n itself is unchanged. */
void poets_trace_reserve(poets_trace_t *t, size_t rows);

#endif
