/* rate.h: per-provider request windows of the fake sink.
 *
 * - A sliding 1000 ms window per provider, at 1 ms resolution, counts the
 *   requests admitted; it enforces --rate-limit and keeps the most seen in
 *   any window (max_per_second).
 * - A table of "not before" times per (provider, recipient), filled whenever
 *   the sink answers with a retry-after, to count requests that came early.
 *
 * Times are CLOCK_MONOTONIC: milliseconds for the windows, microseconds for
 * "not before", so that the sink's own rounding never makes a punctual
 * client look early. Single-threaded, like the sink. */
#ifndef SINK_RATE_H
#define SINK_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define SINK_WINDOW_MS 1000

typedef struct sink_window {
    uint32_t slot[SINK_WINDOW_MS]; /* admitted in each ms, indexed ms % 1000 */
    int64_t last_ms;               /* newest ms counted, -1 = none yet */
    uint64_t sum;                  /* admitted in (last_ms - 1000, last_ms] */
} sink_window_t;

typedef struct sink_notbefore {
    uint64_t key;   /* hash of (provider, recipient); 0 = empty slot */
    int64_t until;  /* monotonic µs */
} sink_notbefore_t;

typedef struct sink_rate {
    long limit[SINK_P_COUNT];       /* per second, 0 = no limit */
    sink_window_t win[SINK_P_COUNT];
    sink_notbefore_t *nb;           /* open addressing, power-of-two size */
    size_t nnb, nb_cap;
} sink_rate_t;

/** Clears the windows and the not-before table; keeps the limits. */
void sink_rate_reset(sink_rate_t *r);
/** Frees the not-before table; accepts a zeroed @p r. */
void sink_rate_cleanup(sink_rate_t *r);

/** Admits one request of @p provider at @p now_ms unless its limit is
 *  reached. Raises *max_per_second to the window's count.
 *  @returns false when the request is over the limit (not counted). */
bool sink_rate_admit(sink_rate_t *r, int provider, int64_t now_ms,
                     uint64_t *max_per_second);

/** Remembers that @p recipient of @p provider may not come back before
 *  @p until_us (a later, larger time replaces an earlier one).
 *  @returns 0 or QC_ERR_NOMEM. */
int sink_rate_hold(sink_rate_t *r, int provider, const char *recipient, size_t len,
                   int64_t until_us);

/** @returns how many µs before a time the sink gave it @p recipient of
 *  @p provider comes back at @p now_us (> 0), or 0 if it is not early. */
int64_t sink_rate_early(const sink_rate_t *r, int provider, const char *recipient,
                        size_t len, int64_t now_us);

#endif
