/* ratelimit.h: a provider's rate limit, shared by every dispatcher through
 * a token bucket in Redis (shared/scripts/rate_take.lua).
 *
 * The lowest layer of the send path: it knows nothing of chunks, jobs or
 * the dispatcher's loop. What it needs from above comes in qc_rl_ops_t
 * (function pointers + user data), so a test drives it alone. */
#ifndef QC_RATELIMIT_H
#define QC_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qc/redis.h"

struct event_base;
typedef struct qc_rl qc_rl_t;

/** The link a waiting item is queued by. The caller embeds it in its item
 *  and lends it to the limiter between qc_rl_take() returning false and
 *  ops.ready handing it back; the limiter never frees it. */
typedef struct qc_rl_node {
    struct qc_rl_node *next;
    uint8_t has_token; /* a token was taken for this node already */
    uint8_t kind;      /* the caller's: which of its kinds of item this is */
} qc_rl_node_t;

typedef struct qc_rl_ops {
    /** Asks the shared bucket for up to @p want tokens. The answer must come
     *  later through qc_rl_answer(). @returns 0, or -1 if the question could
     *  not be sent (asked again in 200 ms). NULL: rate_take.lua on the Redis
     *  client given to qc_rl_new(). */
    int (*ask)(void *user, qc_rl_t *rl, long want);
    /** Nodes that got their tokens, in their waiting order (@p head .. @p
     *  tail, linked by next). Ownership of the nodes returns to the caller,
     *  which puts them in front of its send queue. Required. */
    void (*ready)(void *user, qc_rl_node_t *head, qc_rl_node_t *tail);
    /** The bucket was empty and sends wait (a metric). May be NULL. */
    void (*waited)(void *user);
    void *user;
} qc_rl_ops_t;

/** @p redis may be NULL when @p ops->ask is set. @p ops is copied. */
qc_rl_t *qc_rl_new(struct event_base *base, qc_redis_t *redis, const char *provider, double per_second, long burst,
                   const qc_rl_ops_t *ops);
void qc_rl_destroy(qc_rl_t *rl);
/** @returns true if a token was taken for @p n (it may go now); false if
 *  @p n now waits in the limiter until ops.ready hands it back. */
bool qc_rl_take(qc_rl_t *rl, qc_rl_node_t *n);
/** The bucket's answer to ops.ask: @p granted tokens (< 0: no answer, ask
 *  again in 200 ms); when 0, @p retry_us says when to ask again. */
void qc_rl_answer(qc_rl_t *rl, long granted, long retry_us);
/** qc_rl_take() for a message that reaches many people at once (an
 *  area's): it waits in a line served before the ordinary one. */
bool qc_rl_take_urgent(qc_rl_t *rl, qc_rl_node_t *n);
/** Hands every waiting node back through ops.ready at once, without a
 *  token (the dispatcher is stopping: the caller gives them up). */
void qc_rl_drain(qc_rl_t *rl);
/** Items waiting for tokens (metrics). */
size_t qc_rl_waiting(const qc_rl_t *rl);
/** The most tokens one question to the bucket may bring (its burst, at
 *  least 1): a caller that keeps this many items waiting gets its tokens
 *  a batch per round trip. */
size_t qc_rl_batch(const qc_rl_t *rl);

#endif
