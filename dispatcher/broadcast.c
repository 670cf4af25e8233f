/* broadcast.c: one post per alert revision to each broadcast route (the
 * Telegram channel, the FCM topic), before the personal messages. A route
 * reaches many people with one call, so it goes first; it must go once,
 * whichever of the dispatchers sees the alert's jobs first.
 *
 * Claim: SET qc:bcast:<alert>:<rev>:<channel> <instance> NX PX <claim>.
 * The winner sends; success or a permanent failure overwrites the key
 * ("sent" / "failed", kept a week). While it retries a transient failure it
 * extends the claim. If it dies, the claim expires and the next job of the
 * alert that reaches any dispatcher claims the route again; a route whose
 * post was handed to the provider but not yet recorded when the process
 * died may be posted twice (the same window as a personal message). Every
 * dispatcher remembers the routes it has seen, so later jobs of the same
 * alert cost no Redis call. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "qc/clock.h"
#include "qc/log.h"

#define BCAST_CLAIM_MS 30000
#define BCAST_FORGET_MS (3600 * 1000)

typedef struct bcast {
    struct bcast *next;
    qc_disp_t *d;
    int ch;
    char key[200];
    qc_msg_job_t job;
    qc_send_t s;
    char text[512];
    char idem[160];
    int attempts;
    bool busy;             /* claim or send in progress */
    int64_t seen_ms;       /* monotonic */
    struct event *retry;
} bcast_t;

static void bc_send(bcast_t *b);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bc_send(arg);
}

static void finish(bcast_t *b, const char *state)
{
    b->busy = false;
    qc_redis_cmd(b->d->redis, NULL, NULL, "SET %s %s EX 604800", b->key, state);
}

static void on_done(qc_send_t *s, qc_send_outcome_t o, long retry_after_s, const char *detail)
{
    bcast_t *b = s->opaque;
    qc_disp_t *d = b->d;
    const char *route = d->drivers[b->ch]->broadcast_route(d->chstate[b->ch]);
    if (o == QC_SEND_OK) {
        qc_counter_add(d->m_bcast_sent, 1);
        qc_log(QC_LOG_INFO, "broadcast_sent", "alert_id", b->job.alert_id, "channel",
               qc_channel_name((qc_channel_t)b->ch), "route", route, NULL);
        finish(b, "sent");
        return;
    }
    bool in_time = !b->job.deadline_ms || qc_wall_ms() < b->job.deadline_ms;
    if (o == QC_SEND_TRANSIENT && in_time && b->attempts < d->conf.max_attempts) {
        long ms = qc_retry_delay_ms(d, b->attempts, retry_after_s);
        qc_redis_cmd(d->redis, NULL, NULL, "PEXPIRE %s %lld", b->key, (long long)(ms + BCAST_CLAIM_MS));
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        if (b->retry && evtimer_add(b->retry, &tv) == 0)
            return;
    }
    char reason[256], who[96];
    snprintf(reason, sizeof reason, "%s: %s", o == QC_SEND_TRANSIENT ? "gave_up" : "permanent", detail ? detail : "");
    snprintf(who, sizeof who, "broadcast:%s", route ? route : "");
    qc_counter_add(d->m_bcast_failed, 1);
    qc_dead_letter(d, &b->job, who, qc_channel_name((qc_channel_t)b->ch), reason, b->attempts);
    finish(b, "failed");
}

static void bc_send(bcast_t *b)
{
    qc_disp_t *d = b->d;
    const char *lang = b->ch == QC_CH_TELEGRAM ? d->conf.telegram_channel_lang : d->conf.fcm_topic_lang;
    qc_render_broadcast(b->text, sizeof b->text, lang, &b->job);
    snprintf(b->idem, sizeof b->idem, "qc_%s_%d_broadcast_%s", b->job.alert_id, b->job.rev,
             qc_channel_name((qc_channel_t)b->ch));
    b->s = (qc_send_t){ .sub = NULL, .job = &b->job, .mmi = 0, .seconds = 0, .text = b->text, .idem_key = b->idem,
                        .done = on_done, .opaque = b };
    b->attempts++;
    if (d->drivers[b->ch]->broadcast(d, d->chstate[b->ch], &b->s))
        on_done(&b->s, QC_SEND_PERMANENT, -1, "send_failed_to_start");
}

static void on_claim(redisReply *r, void *opaque)
{
    bcast_t *b = opaque;
    if (r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
        bc_send(b);
        return;
    }
    b->busy = false;
    if (!r || r->type == REDIS_REPLY_ERROR)
        b->seen_ms = 0; /* Redis away: let the next job try again */
}

void qc_bcast_job(qc_disp_t *d, const qc_msg_job_t *job)
{
    int64_t now = qc_mono_ms();
    for (int ch = 0; ch < QC_CH_COUNT_; ch++) {
        const qc_channel_driver_t *drv = d->drivers[ch];
        if (!drv || !drv->broadcast_route || !drv->broadcast_route(d->chstate[ch]))
            continue;
        char key[200];
        snprintf(key, sizeof key, "qc:bcast:%s:%d:%s", job->alert_id, job->rev, qc_channel_name((qc_channel_t)ch));
        bcast_t *b = NULL, **pp = (bcast_t **)&d->bcasts;
        while (*pp) {
            bcast_t *e = *pp;
            if (!strcmp(e->key, key))
                b = e;
            if (!e->busy && e != b && now - e->seen_ms > BCAST_FORGET_MS) {
                *pp = e->next;
                if (e->retry)
                    event_free(e->retry);
                free(e);
                continue;
            }
            pp = &e->next;
        }
        if (b && (b->busy || b->seen_ms))
            continue; /* claimed here, or seen claimed by another */
        if (!b) {
            b = calloc(1, sizeof *b);
            if (!b)
                continue;
            b->d = d;
            b->ch = ch;
            snprintf(b->key, sizeof b->key, "%s", key);
            b->retry = evtimer_new(d->base, on_retry, b);
            b->next = (bcast_t *)d->bcasts;
            d->bcasts = (struct bcast *)b;
        }
        b->job = *job;
        b->seen_ms = now;
        b->busy = true;
        if (qc_redis_cmd(d->redis, on_claim, b, "SET %s %s NX PX %d", key, d->conf.instance, BCAST_CLAIM_MS)) {
            b->busy = false;
            b->seen_ms = 0;
        }
    }
}

void qc_bcast_cleanup(qc_disp_t *d)
{
    bcast_t *b = (bcast_t *)d->bcasts;
    while (b) {
        bcast_t *n = b->next;
        if (b->retry)
            event_free(b->retry);
        free(b);
        b = n;
    }
    d->bcasts = NULL;
}
