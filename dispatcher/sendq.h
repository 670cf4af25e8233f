/* sendq.h: the order in which records wait for an in-flight slot: earliest
 * deadline first, per provider, people already inside their shaking after
 * those who can still act, and a saturated provider never holding back the
 * others.
 *
 * The lowest layer of the send path beside ratelimit.c: it knows nothing of
 * chunks or jobs. Items are the caller's (borrowed while queued); each comes
 * with its channel and its deadline (wall clock ms: when the S wave reaches
 * that person). */
#ifndef QC_SENDQ_H
#define QC_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qc_sendq qc_sendq_t;

/** A channel the queue may not take from right now (its provider's rate
 *  limiter already has a send waiting for a token). */
typedef bool (*qc_sendq_blocked_fn)(void *user, int channel);

/** @p nchannels channels, 0 .. nchannels-1. NULL when out of memory. */
qc_sendq_t *qc_sendq_new(int nchannels);
/** NULL ok. Items still queued are dropped (not freed: they are the caller's). */
void qc_sendq_destroy(qc_sendq_t *q);

/** Queues @p item of @p channel due at @p deadline_ms. @returns 0, or -1 if
 *  memory ran out (the item is not queued). */
int qc_sendq_push(qc_sendq_t *q, int channel, int64_t deadline_ms, void *item);

/** Queues @p item ahead of everything (it holds a rate-limit token already
 *  and must go next). @returns 0 or -1 as qc_sendq_push(). */
int qc_sendq_push_ready(qc_sendq_t *q, void *item);

/** The next item to send at wall time @p now_ms, or NULL when none may go:
 *  first the ready line; then, over every channel not @p blocked, the one
 *  whose earliest deadline is soonest among those not yet passed; only when
 *  no such item exists, the earliest of those whose deadline has passed.
 *  @p blocked may be NULL. */
void *qc_sendq_pop(qc_sendq_t *q, int64_t now_ms, qc_sendq_blocked_fn blocked, void *user);

/** Removes and returns any item (to give them all up), NULL when empty. */
void *qc_sendq_pop_any(qc_sendq_t *q);

/** Items queued. */
size_t qc_sendq_len(const qc_sendq_t *q);

#endif
