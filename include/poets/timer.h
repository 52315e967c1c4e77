/* Wall-clock time for timings and progress (CLOCK_MONOTONIC, seconds). */
#ifndef POETS_TIMER_H
#define POETS_TIMER_H

/* Seconds since an arbitrary fixed point; differences are elapsed wall-clock time. */
double poets_now(void);

#endif
