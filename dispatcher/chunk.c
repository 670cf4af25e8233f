/* chunk.c: one claimed chunk of a segment. For each record: already
 * handed off (its bit is set)? deleted (empty slot)? can this person feel
 * the quake at their own threshold? Then the send through the first
 * channel whose driver is on, retries for transient failures until the
 * alert's deadline, dead letters for the rest. When every record is
 * settled the chunk's bits and counts go back to Redis in one script call.
 *
 * Sends wait in one process-wide queue for an in-flight slot: records of
 * claimed chunks not yet completed are what a crash can duplicate, and
 * that is bounded by QUAKECAST_MAX_INFLIGHT (job.c claims only within it).
 *
 * A chunk never calls its job: it asks and reports through the
 * qc_chunk_owner_t it was started with (chunk.h).
 *
 * Scheduling: every send waits in sendq.c, earliest deadline first: a
 * record's deadline is when the S wave reaches that person (iasp91, the
 * event's origin); those already inside their shaking go after those who
 * can still act; a provider whose rate limiter already holds a send waiting
 * for a token is skipped, so a saturated provider does not hold back the
 * others, and its own line stays in deadline order. */
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "area.h"
#include "chunk.h"
#include "sendq.h"
#include "qc/clock.h"
#include "qc/geo.h"
#include "qc/ipe.h"
#include "qc/log.h"
#include "qc/ttime.h"


/* One record to hand off. The rate limiter's link comes first: the send
 * queue and the limiter's waiting line use the same link, and an item
 * handed back by the limiter is this struct. */
typedef struct qc_send_item {
    qc_rl_node_t q;
    qc_chunk_t *c;
    uint32_t i;          /* record index within the chunk */
    uint16_t attempts;   /* on the current channel */
    uint8_t channel;
    uint8_t tried;       /* channels already given up on (bit mask) */
    struct event *retry; /* allocated on the first retry only */
    int64_t due_ms;      /* wall clock: the S wave reaches this person */
} qc_item_t;

struct qc_chunk {
    qc_chunk_owner_t owner;
    const qc_msg_job_t *msg;
    qc_disp_t *d;
    long idx, start;
    size_t n;
    char *recbuf;
    uint32_t *off, *len;
    unsigned char *bits;
    size_t nbytes;
    qc_item_t *items;
    size_t nitems, outstanding;
    long targeted, notified, failed, dlq;
    long abandoned;
    int64_t first_ms, last_ms;
    bool starting;        /* records still being walked: do not finish yet */
    bool held;            /* counted in d->held_records */
    bool slow;            /* and in d->held_slow */
    int lane;             /* and in d->lane_chunks[lane] (-1: none) */
    bool finished;
};

typedef struct send_ctx {
    struct send_ctx *prev, *next; /* d->sending */
    qc_send_t s;
    qc_subscriber_t sub;
    qc_item_t *item;
    char text[512];
    char idem[160];
    int64_t started_us;
} send_ctx_t;


/* When the S wave reaches a person: the deadline of their warning. */
static int64_t due_ms(const qc_msg_job_t *m, double lat, double lon)
{
    double s = qc_ttime_s(m->depth_km, qc_geo_distance_km(m->lat, m->lon, lat, lon));
    return m->origin_ms + (isfinite(s) ? (int64_t)(s * 1000.0) : 0);
}

/* The earthquake as the job's intensity model sees it, at magnitude @p mag
 * (the job's, or the revision's previous one). */
static qc_quake_t job_quake(const qc_msg_job_t *m, double mag)
{
    return (qc_quake_t){ .model = (qc_ipe_model_t)m->model, .lat = m->lat, .lon = m->lon,
                         .depth_km = m->depth_km > 0 ? m->depth_km : 0, .mag = mag };
}
static const qc_channel_t channel_order[] = { QC_CH_PUSH, QC_CH_WEBHOOK, QC_CH_TELEGRAM, QC_CH_SMS,
                                              QC_CH_EMAIL, QC_CH_NULL };

/* The channel to try for @p sub after those in @p tried: the fastest one
 * it has, that is not dead, whose driver is on. -1 if none is left. */
static int next_channel(const qc_disp_t *d, const qc_subscriber_t *sub, unsigned tried)
{
    for (size_t k = 0; k < sizeof channel_order / sizeof channel_order[0]; k++) {
        unsigned bit = 1u << channel_order[k];
        if ((sub->channels & bit) && !(sub->dead & bit) && !(tried & bit) && d->drivers[channel_order[k]])
            return (int)channel_order[k];
    }
    return -1;
}

static void set_bit(qc_chunk_t *c, size_t i) { c->bits[i / 8] |= (unsigned char)(0x80u >> (i % 8)); }
static bool get_bit(const qc_chunk_t *c, size_t i) { return c->bits[i / 8] & (0x80u >> (i % 8)); }

void qc_chunk_free(qc_chunk_t *c)
{
    if (!c)
        return;
    /* Its records stop counting against the in-flight bound only now: after
     * Redis acknowledged their marks, or once the chunk was given up. */
    if (c->held) {
        c->d->held_records -= (long)c->n;
        if (c->slow) {
            c->d->held_slow -= (long)c->n;
            c->d->chunks_slow--;
            if (c->lane >= 0)
                c->d->lane_chunks[c->lane]--;
        }
    }
    for (size_t k = 0; k < c->nitems; k++)
        if (c->items[k].retry)
            event_free(c->items[k].retry);
    free(c->items);
    free(c->recbuf);
    free(c->off);
    free(c->len);
    free(c->bits);
    free(c);
}

static void maybe_finish(qc_chunk_t *c)
{
    if (c->starting || c->outstanding > 0 || c->finished)
        return;
    c->finished = true;
    qc_chunk_result_t res = { .idx = c->idx, .start = c->start, .nrecords = (long)c->n, .bits = c->bits, .nbits_bytes = c->nbytes,
                              .targeted = c->targeted, .notified = c->notified, .failed = c->failed,
                              .dlq = c->dlq, .abandoned = c->abandoned, .first_ms = c->first_ms,
                              .last_ms = c->last_ms };
    c->owner.done(c->owner.user, &res); /* the owner defers: c stays valid */
}

static void settle(qc_item_t *it)
{
    qc_chunk_t *c = it->c;
    c->outstanding--;
    maybe_finish(c);
}

static void dead_letter(qc_chunk_t *c, size_t i, const char *sub_id, const char *channel,
                        const char *reason, int attempts)
{
    qc_dead_letter(c->d, c->msg, sub_id, channel, reason, attempts);
    c->dlq++;
    qc_counter_add(c->d->m_dlq, 1);
    set_bit(c, i); /* settled: a reclaim must not try again */
}

/* A person handed off (their own message or their area's): counted,
 * timed, marked, settled. Handed off after their S wave it went out all
 * the same, worded for shaking that has started, and counts as late. */
static void handed_off(qc_item_t *it)
{
    qc_chunk_t *c = it->c;
    int64_t now = qc_wall_ms();
    c->notified++;
    if (c->msg->kind != QC_JOB_CANCEL && now > it->due_ms)
        qc_counter_add(c->d->m_sent_late, 1);
    if (!c->first_ms || now < c->first_ms)
        c->first_ms = now;
    if (now > c->last_ms)
        c->last_ms = now;
    set_bit(c, it->i);
    settle(it);
}

static void enqueue(qc_disp_t *d, qc_item_t *it)
{
    it->q.next = NULL;
    /* fifo (benchmarks): one key for all, so the order they came */
    if (qc_sendq_push(d->sendq, it->channel, d->order == QC_ORDER_FIFO ? 0 : it->due_ms, it)) {
        /* out of memory: the record is left for whoever reclaims */
        it->c->abandoned++;
        settle(it);
    }
}

/* ops.ready of the rate limiters: items that got their tokens go first, in
 * their order. */
static void rl_ready(void *user, qc_rl_node_t *head, qc_rl_node_t *tail)
{
    qc_disp_t *d = user;
    (void)tail;
    for (qc_rl_node_t *n = head, *next; n; n = next) {
        next = n->next;
        if (d->areas && qc_area_ready(d->areas, n))
            continue; /* an area's own message got its token */
        qc_item_t *it = (qc_item_t *)n;
        if (qc_sendq_push_ready(d->sendq, it)) {
            it->c->abandoned++;
            settle(it);
        }
    }
    qc_sends_pump(d);
}

static void rl_waited(void *user)
{
    qc_counter_add(((qc_disp_t *)user)->m_rl_waits, 1);
}

void qc_sends_stop(qc_disp_t *d)
{
    if (d->areas)
        qc_areas_stop(d->areas); /* people waiting for their area's answer */
    for (int ch = 0; ch < QC_CH_COUNT_; ch++)
        qc_rl_drain(d->rl[ch]); /* back into the queue, given up below */
    qc_item_t *it;
    while ((it = qc_sendq_pop_any(d->sendq))) {
        it->c->abandoned++;
        settle(it);
    }
}

void qc_chunk_stop(qc_chunk_t *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < c->nitems; k++) {
        qc_item_t *it = &c->items[k];
        if (it->retry && evtimer_pending(it->retry, NULL)) {
            evtimer_del(it->retry);
            c->abandoned++;
            settle(it);
        }
    }
}

void qc_sends_rl_ops(qc_disp_t *d, qc_rl_ops_t *ops)
{
    *ops = (qc_rl_ops_t){ .ask = NULL, .ready = rl_ready, .waited = rl_waited, .user = d };
}

static void on_send_done(qc_send_t *s, qc_send_outcome_t o, long retry_after_s, const char *detail);

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    qc_item_t *it = arg;
    enqueue(it->c->d, it);
    qc_sends_pump(it->c->d);
}

static void link_send(qc_disp_t *d, send_ctx_t *x)
{
    x->prev = NULL;
    x->next = d->sending;
    if (d->sending)
        d->sending->prev = x;
    d->sending = x;
}

static void unlink_send(qc_disp_t *d, send_ctx_t *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        d->sending = x->next;
    if (x->next)
        x->next->prev = x->prev;
}

void qc_sends_free_unanswered(qc_disp_t *d)
{
    while (d->sending) {
        send_ctx_t *x = d->sending;
        d->sending = x->next;
        d->inflight--;
        free(x);
    }
}

static void start_send(qc_disp_t *d, qc_item_t *it)
{
    qc_chunk_t *c = it->c;
    const qc_msg_job_t *job = c->msg;
    if (d->stopping) {
        /* Handed back with the chunk: its next owner sends it. */
        c->abandoned++;
        settle(it);
        return;
    }
    if (!c->owner.lease_ok(c->owner.user)) {
        /* The lease may be gone: the next owner sends this one. */
        qc_counter_add(d->m_skipped_lease, 1);
        c->owner.lease_late(c->owner.user);
        c->abandoned++;
        settle(it);
        return;
    }
    /* A provider's shared rate: the item waits in the limiter, not here. */
    if (d->rl[it->channel] && !qc_rl_take(d->rl[it->channel], &it->q))
        return;
    send_ctx_t *x = malloc(sizeof *x);
    char err[128];
    if (!x || qc_subscriber_unpack(c->recbuf + c->off[it->i], c->len[it->i], &x->sub, err, sizeof err)) {
        free(x);
        c->abandoned++; /* out of memory: leave it to whoever reclaims */
        settle(it);
        return;
    }
    if (job->deadline_ms && qc_wall_ms() > job->deadline_ms) {
        c->failed++;
        dead_letter(c, it->i, x->sub.id, qc_channel_name(it->channel), "deadline_passed", it->attempts);
        free(x);
        settle(it);
        return;
    }
    double epi = qc_geo_distance_km(job->lat, job->lon, x->sub.lat, x->sub.lon);
    qc_quake_t q = job_quake(job, job->mag);
    double mmi = qc_ipe_at(&q, x->sub.lat, x->sub.lon);
    /* iasp91 S arrival (ttime.h), not one crustal speed: right for deep
     * and distant places */
    double seconds = qc_ttime_s(job->depth_km, epi) - (double)(qc_wall_ms() - job->origin_ms) / 1000.0;
    qc_render_message(x->text, sizeof x->text, x->sub.lang, job, mmi, seconds);
    /* Stable across retries and reclaims: alert, subscriber, channel. */
    snprintf(x->idem, sizeof x->idem, "qc_%s_%d_%s_%s", job->alert_id, job->rev, x->sub.id,
             qc_channel_name(it->channel));
    x->item = it;
    x->started_us = qc_mono_us();
    x->s = (qc_send_t){ .sub = &x->sub, .job = job, .mmi = mmi, .seconds = seconds, .text = x->text,
                        .idem_key = x->idem, .done = on_send_done, .opaque = x };
    it->attempts++;
    d->inflight++;
    qc_counter_add(d->m_sends_started, 1);
    qc_gauge_set(d->m_inflight, (double)d->inflight);
    link_send(d, x); /* before: a synchronous driver answers inside send() */
    if (d->drivers[it->channel]->send(d, d->chstate[it->channel], &x->s)) {
        unlink_send(d, x);
        d->inflight--;
        c->failed++;
        dead_letter(c, it->i, x->sub.id, qc_channel_name(it->channel), "send_failed_to_start", it->attempts);
        free(x);
        settle(it);
    }
}

/* sendq's test: a provider whose limiter already holds a batch of sends
 * waiting for tokens (as many as one question to the bucket may bring)
 * takes no more now; the rest keep their deadline order here. One waiting
 * send was not enough: the limiter asked for one token per round trip to
 * Redis, a few hundred a second under load, far below FCM's 10,000. */
static bool channel_blocked(void *user, int channel)
{
    qc_disp_t *d = user;
    return d->rl[channel] && qc_rl_waiting(d->rl[channel]) >= qc_rl_batch(d->rl[channel]);
}

void qc_sends_pump(qc_disp_t *d)
{
    static __thread bool pumping; /* a synchronous driver re-enters via done() */
    if (pumping)
        return;
    pumping = true;
    /* Provider calls are bounded separately from claimed records: libcurl
     * 7.88's curl_multi_remove_handle walks every handle it holds, so 4096
     * requests at once made it the top of the profile (14% of the CPU). */
    /* Only edf puts those whose deadline passed after the others. */
    int64_t now = d->order == QC_ORDER_EDF ? qc_wall_ms() : INT64_MIN;
    while (d->inflight < d->conf.max_sends) {
        qc_item_t *it = qc_sendq_pop(d->sendq, now, channel_blocked, d);
        if (!it)
            break;
        start_send(d, it);
    }
    pumping = false;
}

static void on_marked_dead(redisReply *r, void *opaque)
{
    (void)opaque;
    if (r && r->type == REDIS_REPLY_ERROR)
        qc_log(QC_LOG_WARN, "mark_dead_failed", "error", r->str, NULL);
}

/* Writes the record back with the channel marked dead, if it is still the
 * record we read (sub_mark_dead.lua compares). Best effort: if it fails,
 * the provider refuses again next time and we try again. */
static void mark_dead(qc_chunk_t *c, const qc_item_t *it, const qc_subscriber_t *sub)
{
    qc_disp_t *d = c->d;
    qc_subscriber_t upd = *sub;
    upd.dead |= 1u << it->channel;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (qc_subscriber_pack(&upd, &sb) == 0) {
        char key[64], slot[24];
        int kl = snprintf(key, sizeof key, "qc:seg:{%s}:r", c->msg->seg);
        int sl = snprintf(slot, sizeof slot, "%ld", c->start + (long)it->i);
        const char *argv[] = { key, slot, c->recbuf + c->off[it->i], sb.data };
        size_t lens[] = { (size_t)kl, (size_t)sl, c->len[it->i], sb.size };
        if (qc_redis_script(d->redis, QC_SCRIPT_SUB_MARK_DEAD, 1, 4, argv, lens, on_marked_dead, NULL) == 0)
            qc_counter_add(d->m_dead_marked, 1);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void on_send_done(qc_send_t *s, qc_send_outcome_t o, long retry_after_s, const char *detail)
{
    send_ctx_t *x = s->opaque;
    qc_item_t *it = x->item;
    qc_chunk_t *c = it->c;
    qc_disp_t *d = c->d;
    unlink_send(d, x);
    d->inflight--;
    qc_gauge_set(d->m_inflight, (double)d->inflight);
    qc_hist_observe(d->m_send_seconds, (double)(qc_mono_us() - x->started_us) / 1e6);
    const qc_msg_job_t *job = c->msg;
    if (o == QC_SEND_OK) {
        qc_counter_add(d->m_sent, 1);
        qc_counter_add(d->m_sent_by[it->channel], 1);
        handed_off(it);
    } else if (o == QC_SEND_TRANSIENT && d->stopping) {
        c->abandoned++; /* no retry now: the chunk's next owner tries again */
        settle(it);
    } else if (o == QC_SEND_TRANSIENT && it->attempts < d->conf.max_attempts &&
               (!job->deadline_ms || qc_wall_ms() < job->deadline_ms)) {
        long ms = qc_retry_delay_ms(d, it->attempts, retry_after_s);
        qc_counter_add(d->m_retries, 1);
        if (!it->retry)
            it->retry = evtimer_new(d->base, on_retry_timer, it);
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        if (!it->retry || evtimer_add(it->retry, &tv)) {
            c->failed++;
            dead_letter(c, it->i, x->sub.id, qc_channel_name(it->channel), "retry_failed", it->attempts);
            settle(it);
        }
    } else {
        char reason[256];
        snprintf(reason, sizeof reason, "%s: %s",
                 o == QC_SEND_DEAD ? "dead" : o == QC_SEND_PERMANENT ? "permanent" : "gave_up",
                 detail ? detail : "");
        qc_counter_add(d->m_failed_by[it->channel], 1);
        if (o == QC_SEND_DEAD)
            mark_dead(c, it, &x->sub);
        /* This channel is done with; the person may have another. */
        it->tried |= (uint8_t)(1u << it->channel);
        int next = (!job->deadline_ms || qc_wall_ms() < job->deadline_ms) ? next_channel(d, &x->sub, it->tried) : -1;
        if (next >= 0) {
            qc_dead_letter(d, job, x->sub.id, qc_channel_name(it->channel), reason, it->attempts);
            c->dlq++;
            qc_counter_add(d->m_dlq, 1);
            qc_counter_add(d->m_fallbacks, 1);
            it->channel = (uint8_t)next;
            it->attempts = 0;
            enqueue(d, it);
        } else {
            c->failed++;
            qc_counter_add(d->m_failed, 1);
            dead_letter(c, it->i, x->sub.id, qc_channel_name(it->channel), reason, it->attempts);
            settle(it);
        }
    }
    free(x);
    qc_sends_pump(d);
}

/* What the area's message did for one person: reached them (handed off,
 * no personal message on that channel), or not (a personal one goes). */
static void area_outcome(qc_item_t *it, qc_area_outcome_t o)
{
    qc_chunk_t *c = it->c;
    qc_disp_t *d = c->d;
    if (o == QC_AREA_REACHED) {
        qc_counter_add(d->m_area_reached, 1);
        handed_off(it);
    } else if (o == QC_AREA_PERSONAL && !d->stopping) {
        enqueue(d, it);
    } else {
        c->abandoned++; /* stopping: the chunk's next owner asks again */
        settle(it);
    }
}

void qc_chunk_area_resolved(void *user, qc_rl_node_t *n, qc_area_outcome_t o)
{
    qc_disp_t *d = user;
    area_outcome((qc_item_t *)n, o);
    qc_sends_pump(d);
}

qc_chunk_t *qc_chunk_start(qc_disp_t *d, const qc_chunk_owner_t *owner, const redisReply *r)
{
    const qc_msg_job_t *m = owner->msg;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 6 || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER || r->element[4]->type != REDIS_REPLY_STRING ||
        r->element[5]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *recs = r->element[5];
    qc_chunk_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->owner = *owner;
    c->msg = m;
    c->d = d;
    c->idx = (long)r->element[1]->integer;
    c->start = (long)r->element[2]->integer;
    c->n = recs->elements;
    c->nbytes = (c->n + 7) / 8;
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++)
        total += recs->element[i]->type == REDIS_REPLY_STRING ? recs->element[i]->len : 0;
    c->recbuf = malloc(total + 1);
    c->off = malloc((c->n + 1) * sizeof *c->off);
    c->len = malloc((c->n + 1) * sizeof *c->len);
    c->bits = calloc(c->nbytes + 1, 1);
    c->items = calloc(c->n + 1, sizeof *c->items);
    if (!c->recbuf || !c->off || !c->len || !c->bits || !c->items) {
        qc_chunk_free(c);
        return NULL;
    }
    size_t have = r->element[4]->len < c->nbytes ? r->element[4]->len : c->nbytes;
    memcpy(c->bits, r->element[4]->str, have);
    size_t pos = 0;
    for (size_t i = 0; i < c->n; i++) {
        redisReply *e = recs->element[i];
        c->off[i] = (uint32_t)pos;
        c->len[i] = e->type == REDIS_REPLY_STRING ? (uint32_t)e->len : 0;
        if (c->len[i])
            memcpy(c->recbuf + pos, e->str, c->len[i]);
        pos += c->len[i];
    }
    d->held_records += (long)c->n;
    c->slow = m->slow;
    c->lane = m->slow && m->slow_ch >= 0 && m->slow_ch < QC_CH_COUNT_ ? m->slow_ch : -1;
    if (c->slow) {
        d->held_slow += (long)c->n;
        d->chunks_slow++;
        if (c->lane >= 0)
            d->lane_chunks[c->lane]++;
    }
    c->held = true;
    c->starting = true;
    qc_quake_t quake = job_quake(m, m->mag), prev = job_quake(m, m->prev_mag);
    for (size_t i = 0; i < c->n; i++) {
        if (get_bit(c, i) || c->len[i] == 0)
            continue; /* handed off before a reclaim, or deleted */
        qc_subscriber_t sub;
        char err[128];
        if (qc_subscriber_unpack(c->recbuf + c->off[i], c->len[i], &sub, err, sizeof err)) {
            char slot[24];
            snprintf(slot, sizeof slot, "slot-%ld", c->start + (long)i);
            qc_counter_add(d->m_records_bad, 1);
            qc_log(QC_LOG_WARN, "record_undecodable", "seg", m->seg, "slot", slot, "error", err, NULL);
            c->targeted++;
            c->failed++;
            dead_letter(c, i, slot, "", err, 0);
            continue;
        }
        if (m->kind == QC_JOB_CANCEL) {
            /* A retraction goes to exactly those the alert reached. */
            if (c->owner.eligible && !c->owner.eligible(c->owner.user, c->start + (long)i))
                continue;
        } else {
            if (!qc_ipe_reaches(qc_ipe_at(&quake, sub.lat, sub.lon), sub.min_mmi))
                continue;
            /* An upward revision warns only those the first estimate missed. */
            if (isfinite(m->prev_mag) && qc_ipe_reaches(qc_ipe_at(&prev, sub.lat, sub.lon), sub.min_mmi))
                continue;
        }
        c->targeted++;
        int ch = next_channel(d, &sub, 0);
        if (ch < 0) {
            c->failed++;
            dead_letter(c, i, sub.id, "", (sub.channels & ~sub.dead) ? "no_enabled_channel" : "all_channels_dead", 0);
            continue;
        }
        qc_item_t *it = &c->items[c->nitems++];
        it->c = c;
        it->i = (uint32_t)i;
        it->channel = (uint8_t)ch;
        it->due_ms = due_ms(m, sub.lat, sub.lon);
        c->outstanding++;
        char route[64];
        if (d->areas && qc_area_route(d, ch, &sub, route, sizeof route)) {
            /* Listens to their area's broadcast: one message for the area
             * instead of one for the person, once the provider took it. */
            int o = qc_area_join(d->areas, m, ch, route, &sub, &it->q);
            if (o >= 0)
                area_outcome(it, (qc_area_outcome_t)o);
            continue;
        }
        enqueue(d, it);
    }
    c->starting = false;
    qc_sends_pump(d);
    maybe_finish(c);
    return c;
}
