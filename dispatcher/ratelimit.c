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
 * they were queued) and go back to the front of the send queue when their
 * tokens come. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"
#include "qc/log.h"

struct qc_rl {
    qc_disp_t *d;
    char key[64];
    char rate_s[32], burst_s[24];
    long burst;
    long tokens;            /* granted and not yet used */
    bool fetching;          /* a rate_take is on its way */
    qc_item_t *head, *tail; /* waiting for a token */
    size_t nwait;
    struct event *timer;    /* next ask, when Redis said "not before" */
};

static void fetch(qc_rl_t *rl);

static void release_waiting(qc_rl_t *rl)
{
    /* Hand back as many waiting items as there are tokens, each holding
     * its token, on its way to the provider. */
    qc_item_t *head = NULL, *tail = NULL;
    while (rl->head && rl->tokens > 0) {
        qc_item_t *it = rl->head;
        rl->head = it->qnext;
        if (!rl->head)
            rl->tail = NULL;
        rl->nwait--;
        rl->tokens--;
        it->has_token = 1;
        it->qnext = NULL;
        if (tail)
            tail->qnext = it;
        else
            head = it;
        tail = it;
    }
    qc_sends_requeue_front(rl->d, head, tail);
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

static void on_take(redisReply *r, void *opaque)
{
    qc_rl_t *rl = opaque;
    rl->fetching = false;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        if (r && r->type == REDIS_REPLY_ERROR)
            qc_log(QC_LOG_WARN, "rate_take_failed", "key", rl->key, "error", r->str, NULL);
        later(rl, 200 * 1000); /* Redis away: leases sort that out; ask again */
        return;
    }
    long granted = (long)r->element[0]->integer;
    rl->tokens += granted;
    if (granted == 0) {
        qc_counter_add(rl->d->m_rl_waits, 1);
        later(rl, (long)r->element[1]->integer);
        return;
    }
    release_waiting(rl);
    if (rl->nwait && !rl->fetching && !evtimer_pending(rl->timer, NULL))
        fetch(rl);
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
    char want_s[24];
    int wl = snprintf(want_s, sizeof want_s, "%ld", want);
    const char *argv[] = { rl->key, rl->rate_s, rl->burst_s, want_s };
    size_t lens[] = { strlen(rl->key), strlen(rl->rate_s), strlen(rl->burst_s), (size_t)wl };
    if (qc_redis_script(rl->d->redis, QC_SCRIPT_RATE_TAKE, 1, 4, argv, lens, on_take, rl) == 0)
        rl->fetching = true;
    else
        later(rl, 200 * 1000);
}

qc_rl_t *qc_rl_new(qc_disp_t *d, const char *provider, double per_second, long burst)
{
    qc_rl_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->d = d;
    rl->burst = burst < 1 ? 1 : burst;
    snprintf(rl->key, sizeof rl->key, "qc:rate:%s", provider);
    snprintf(rl->rate_s, sizeof rl->rate_s, "%.6g", per_second);
    snprintf(rl->burst_s, sizeof rl->burst_s, "%ld", rl->burst);
    rl->timer = evtimer_new(d->base, on_timer, rl);
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

bool qc_rl_take(qc_rl_t *rl, qc_item_t *it)
{
    if (it->has_token) {
        it->has_token = 0;
        return true;
    }
    /* Items already waiting go first: a newcomer does not jump the line. */
    if (rl->tokens > 0 && !rl->head) {
        rl->tokens--;
        return true;
    }
    it->qnext = NULL;
    if (rl->tail)
        rl->tail->qnext = it;
    else
        rl->head = it;
    rl->tail = it;
    rl->nwait++;
    if (!evtimer_pending(rl->timer, NULL))
        fetch(rl);
    return false;
}

size_t qc_rl_waiting(const qc_rl_t *rl)
{
    return rl ? rl->nwait : 0;
}
