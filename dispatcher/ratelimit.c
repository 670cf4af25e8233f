/* ratelimit.c: a provider's rate limit held by all dispatchers together.
 * Telegram allows about 30 messages/s per bot, a Twilio sender a few per
 * second, FCM 600k/min per project: limits of the account, not of one
 * process. The bucket lives in Redis (shared/scripts/rate_take.lua, GCRA);
 * a dispatcher asks for as many tokens as it has messages waiting (up to
 * the burst), so a busy limiter costs one round trip per batch, not per
 * message, and tokens are never held by a process that does not use them
 * at once (which would let a window exceed the rate).
 *
 * Items that find no token wait here in arrival order (nearest first, as
 * they were queued) and go back, through ops.ready, to the front of the
 * caller's send queue when their tokens come. An urgent item (an area's
 * message: one token for a whole cell) waits in a line of its own that is
 * served first: behind a minute of personal Telegram messages, a channel
 * post would reach its people after their shaking. Nothing here calls up
 * into chunk.c or the loop (see ratelimit.h). */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc/log.h"
#include "ratelimit.h"

struct qc_rl {
    qc_rl_ops_t ops;
    qc_redis_t *redis;
    char key[64];
    char rate_s[32], burst_s[24];
    long burst;
    long tokens;            /* granted and not yet used */
    bool fetching;          /* a rate_take is on its way */
    qc_rl_node_t *head, *tail; /* waiting for a token (borrowed) */
    qc_rl_node_t *uhead, *utail; /* urgent ones, served before head */
    size_t nwait;
    struct event *timer;    /* next ask, when Redis said "not before" */
};

static void fetch(qc_rl_t *rl);

static void release_waiting(qc_rl_t *rl)
{
    /* Hand back as many waiting items as there are tokens, each holding
     * its token, on its way to the provider. */
    qc_rl_node_t *head = NULL, *tail = NULL;
    while ((rl->uhead || rl->head) && rl->tokens > 0) {
        qc_rl_node_t **h = rl->uhead ? &rl->uhead : &rl->head;
        qc_rl_node_t **t = rl->uhead ? &rl->utail : &rl->tail;
        qc_rl_node_t *it = *h;
        *h = it->next;
        if (!*h)
            *t = NULL;
        rl->nwait--;
        rl->tokens--;
        it->has_token = 1;
        it->next = NULL;
        if (tail)
            tail->next = it;
        else
            head = it;
        tail = it;
    }
    if (head)
        rl->ops.ready(rl->ops.user, head, tail);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetch(arg);
}

static void later(qc_rl_t *rl, long us)
{
    if (us < 1000)
        us = 1000;
    struct timeval tv = { us / 1000000, us % 1000000 };
    evtimer_add(rl->timer, &tv);
}

void qc_rl_answer(qc_rl_t *rl, long granted, long retry_us)
{
    rl->fetching = false;
    if (granted < 0) {
        later(rl, 200 * 1000); /* Redis away: leases sort that out; ask again */
        return;
    }
    rl->tokens += granted;
    if (granted == 0) {
        if (rl->ops.waited)
            rl->ops.waited(rl->ops.user);
        later(rl, retry_us);
        return;
    }
    release_waiting(rl);
    if (rl->nwait && !rl->fetching && !evtimer_pending(rl->timer, NULL))
        fetch(rl);
}

/* The default ops.ask: rate_take.lua answers {granted, retry_us}. */
static void on_take(redisReply *r, void *opaque)
{
    qc_rl_t *rl = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        if (r && r->type == REDIS_REPLY_ERROR)
            qc_log(QC_LOG_WARN, "rate_take_failed", "key", rl->key, "error", r->str, NULL);
        qc_rl_answer(rl, -1, 0);
        return;
    }
    qc_rl_answer(rl, (long)r->element[0]->integer, (long)r->element[1]->integer);
}

static int ask_redis(qc_rl_t *rl, long want)
{
    char want_s[24];
    int wl = snprintf(want_s, sizeof want_s, "%ld", want);
    const char *argv[] = { rl->key, rl->rate_s, rl->burst_s, want_s };
    size_t lens[] = { strlen(rl->key), strlen(rl->rate_s), strlen(rl->burst_s), (size_t)wl };
    return qc_redis_script(rl->redis, QC_SCRIPT_RATE_TAKE, 1, 4, argv, lens, on_take, rl) ? -1 : 0;
}

static void fetch(qc_rl_t *rl)
{
    if (rl->fetching || !rl->nwait)
        return;
    long want = (long)rl->nwait - rl->tokens;
    if (want <= 0) {
        release_waiting(rl);
        return;
    }
    if (want > rl->burst)
        want = rl->burst;
    /* Set first: a stub may answer at once. */
    rl->fetching = true;
    int rc = rl->ops.ask ? rl->ops.ask(rl->ops.user, rl, want) : ask_redis(rl, want);
    if (rc == 0)
        return;
    rl->fetching = false;
    later(rl, 200 * 1000);
}

qc_rl_t *qc_rl_new(struct event_base *base, qc_redis_t *redis, const char *provider, double per_second, long burst,
                   const qc_rl_ops_t *ops)
{
    if (!ops || !ops->ready || (!ops->ask && !redis))
        return NULL;
    qc_rl_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->ops = *ops;
    rl->redis = redis;
    rl->burst = burst < 1 ? 1 : burst;
    snprintf(rl->key, sizeof rl->key, "qc:rate:%s", provider);
    snprintf(rl->rate_s, sizeof rl->rate_s, "%.6g", per_second);
    snprintf(rl->burst_s, sizeof rl->burst_s, "%ld", rl->burst);
    rl->timer = evtimer_new(base, on_timer, rl);
    if (!rl->timer) {
        free(rl);
        return NULL;
    }
    return rl;
}

void qc_rl_destroy(qc_rl_t *rl)
{
    if (!rl)
        return;
    event_free(rl->timer);
    free(rl);
}

static bool take(qc_rl_t *rl, qc_rl_node_t *it, bool urgent)
{
    if (it->has_token) {
        it->has_token = 0;
        return true;
    }
    /* Items already waiting go first: a newcomer does not jump its line. */
    if (rl->tokens > 0 && !rl->uhead && (urgent || !rl->head)) {
        rl->tokens--;
        return true;
    }
    qc_rl_node_t **h = urgent ? &rl->uhead : &rl->head, **t = urgent ? &rl->utail : &rl->tail;
    it->next = NULL;
    if (*t)
        (*t)->next = it;
    else
        *h = it;
    *t = it;
    rl->nwait++;
    if (!evtimer_pending(rl->timer, NULL))
        fetch(rl);
    return false;
}

bool qc_rl_take(qc_rl_t *rl, qc_rl_node_t *it)
{
    return take(rl, it, false);
}

bool qc_rl_take_urgent(qc_rl_t *rl, qc_rl_node_t *it)
{
    return take(rl, it, true);
}

void qc_rl_drain(qc_rl_t *rl)
{
    if (!rl || (!rl->head && !rl->uhead))
        return;
    /* one list, urgent ones first */
    qc_rl_node_t *head = rl->uhead ? rl->uhead : rl->head, *tail = rl->tail ? rl->tail : rl->utail;
    if (rl->uhead)
        rl->utail->next = rl->head;
    rl->head = rl->tail = rl->uhead = rl->utail = NULL;
    rl->nwait = 0;
    rl->ops.ready(rl->ops.user, head, tail);
}

size_t qc_rl_waiting(const qc_rl_t *rl)
{
    return rl ? rl->nwait : 0;
}

size_t qc_rl_batch(const qc_rl_t *rl)
{
    return rl && rl->burst > 1 ? (size_t)rl->burst : 1;
}
