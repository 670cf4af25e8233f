/* area.c: one message per alert revision, channel and area (cell and
 * threshold band), sent by whichever dispatcher first has a person of that
 * area to warn, and the answer "reached or not" for every such person.
 *
 * Claim, as broadcast.c: SET qc:area:{<alert>}:<rev>:<kind>:<channel>:<route>
 * <instance> NX PX <claim>. The winner sends and records "sent" or "failed"
 * (kept a week); the others read the key every AREA_POLL_MS until it says
 * one or the other, and claim it themselves if the claim expired (its owner
 * died). While the question is open the people of that area wait, parked
 * here; a person is counted reached only once the provider accepted the
 * area's message, and gets a personal message when it was refused, so a
 * failed topic never loses anyone. If Redis cannot be asked, the answer is
 * "personal": a possible second message rather than a miss.
 *
 * The message carries the area's own figures: the strongest intensity the
 * model predicts in the cell and the seconds until the S wave reaches the
 * cell's nearest point. It takes a token from the provider's shared rate
 * limiter like any personal message, so the quota stays exact. */
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "area.h"
#include "qc/clock.h"
#include "qc/geo.h"
#include "qc/ipe.h"
#include "qc/log.h"
#include "qc/ttime.h"

#define AREA_CLAIM_MS 30000
#define AREA_POLL_MS 50
#define AREA_FORGET_MS (3600 * 1000)
#define AREA_BUCKETS 4096
#define AREA_NODE_KIND 0xA5 /* qc_rl_node_t.kind of an area's own send */

typedef enum { ST_CLAIMING, ST_SENDING, ST_WATCHING, ST_SENT, ST_FAILED } area_state_t;

typedef struct area {
    qc_rl_node_t node;     /* first: the rate limiter hands this back */
    struct area *next;     /* bucket chain */
    qc_areas_t *a;
    area_state_t st;
    int ch;
    bool redis_busy;       /* a command of ours is on its way */
    char route[64];
    char key[160];
    qc_msg_job_t job;
    qc_rl_node_t *waiters; /* parked people (chunk items), linked by next */
    qc_send_t s;
    char text[512];
    char idem[160];
    int attempts;
    double mmi;            /* the cell's strongest predicted intensity */
    int64_t s_at_ms;       /* wall clock: the S wave reaches the cell */
    int64_t seen_ms;       /* monotonic: last asked for */
    struct event *timer;   /* retry or poll */
} area_t;

struct qc_areas {
    qc_disp_t *d;
    qc_area_resolved_fn resolved;
    void *user;
    bool stopping;
    area_t *b[AREA_BUCKETS];
};

static void area_claim(area_t *e);
static void area_send(area_t *e);

qc_areas_t *qc_areas_new(qc_disp_t *d, qc_area_resolved_fn resolved, void *user)
{
    qc_areas_t *a = calloc(1, sizeof *a);
    if (a)
        *a = (qc_areas_t){ .d = d, .resolved = resolved, .user = user };
    return a;
}

static void area_free(area_t *e)
{
    if (e->timer)
        event_free(e->timer);
    free(e);
}

void qc_areas_destroy(qc_areas_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < AREA_BUCKETS; i++)
        for (area_t *e = a->b[i], *n; e; e = n) {
            n = e->next;
            area_free(e);
        }
    free(a);
}

bool qc_area_route(const qc_disp_t *d, int ch, const qc_subscriber_t *sub, char *out, size_t outsz)
{
    const char *prefix = ch == QC_CH_PUSH ? d->conf.push_area_prefix
                         : ch == QC_CH_TELEGRAM ? d->conf.telegram_area_prefix : NULL;
    if (!prefix || !prefix[0] || !(sub->area & (1u << ch)) || !d->drivers[ch] || !d->drivers[ch]->broadcast)
        return false;
    return qc_area_topic(prefix, sub->lat, sub->lon, sub->min_mmi, out, outsz) == 0;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % AREA_BUCKETS;
}

/* Answers every parked person and forgets them. */
static void resolve(area_t *e, qc_area_outcome_t o)
{
    qc_rl_node_t *n = e->waiters;
    e->waiters = NULL;
    while (n) {
        qc_rl_node_t *next = n->next;
        n->next = NULL;
        e->a->resolved(e->a->user, n, o);
        n = next;
    }
}

static void settle(area_t *e, area_state_t st)
{
    e->st = st;
    resolve(e, st == ST_SENT ? QC_AREA_REACHED : QC_AREA_PERSONAL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    area_t *e = arg;
    if (e->a->stopping)
        return;
    if (e->st == ST_SENDING)
        area_send(e);
    else
        area_claim(e); /* watching: read the key again */
}

static void later(area_t *e, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (!e->timer || evtimer_add(e->timer, &tv))
        settle(e, ST_FAILED); /* cannot wait: send personally */
}

static void on_recorded(redisReply *r, void *opaque)
{
    (void)opaque;
    if (!r || r->type == REDIS_REPLY_ERROR)
        qc_log(QC_LOG_WARN, "area_record_failed", "error", r ? r->str : "no reply", NULL);
}

static void finish(area_t *e, bool sent)
{
    qc_disp_t *d = e->a->d;
    qc_redis_cmd(d->redis, on_recorded, NULL, "SET %s %s EX 604800", e->key, sent ? "sent" : "failed");
    qc_counter_add(sent ? d->m_area_sent : d->m_area_failed, 1);
    settle(e, sent ? ST_SENT : ST_FAILED);
}

static void on_sent(qc_send_t *s, qc_send_outcome_t o, long retry_after_s, const char *detail)
{
    area_t *e = s->opaque;
    qc_disp_t *d = e->a->d;
    if (o == QC_SEND_OK) {
        qc_log(QC_LOG_DEBUG, "area_sent", "alert_id", e->job.alert_id, "channel",
               qc_channel_name((qc_channel_t)e->ch), "route", e->route, NULL);
        finish(e, true);
        return;
    }
    bool in_time = !e->job.deadline_ms || qc_wall_ms() < e->job.deadline_ms;
    if (o == QC_SEND_TRANSIENT && in_time && !e->a->stopping && e->attempts < d->conf.max_attempts) {
        long ms = qc_retry_delay_ms(d, e->attempts, retry_after_s);
        qc_redis_cmd(d->redis, NULL, NULL, "PEXPIRE %s %lld", e->key, (long long)(ms + AREA_CLAIM_MS));
        later(e, ms);
        return;
    }
    qc_log(QC_LOG_WARN, "area_failed", "alert_id", e->job.alert_id, "channel", qc_channel_name((qc_channel_t)e->ch),
           "route", e->route, "error", detail ? detail : "", NULL);
    /* Its people get personal messages: nobody is lost with the topic. */
    finish(e, false);
}

/* The cell's strongest predicted intensity, and when the S wave reaches
 * its nearest point (wall clock ms): the figures of the area's message.
 * The intensity is the largest of the model at the cell's nearest point to
 * the epicentre and on a 5 x 5 grid over it (corners included): what a
 * person there can feel, without the planner's safety margin
 * (qc_ipe_cell_max(), which decides whether a cell is worth a job). */
static void area_figures(area_t *e, double lat, double lon)
{
    const qc_msg_job_t *m = &e->job;
    double lat0 = floor(lat / QC_CELL_DEG) * QC_CELL_DEG, lon0 = floor(lon / QC_CELL_DEG) * QC_CELL_DEG;
    qc_quake_t q = { .model = (qc_ipe_model_t)m->model, .lat = m->lat, .lon = m->lon,
                     .depth_km = m->depth_km > 0 ? m->depth_km : 0, .mag = m->mag };
    double nlat = fmin(fmax(m->lat, lat0), lat0 + QC_CELL_DEG), nlon = fmin(fmax(m->lon, lon0), lon0 + QC_CELL_DEG);
    double best = qc_ipe_at(&q, nlat, nlon);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            double v = qc_ipe_at(&q, lat0 + QC_CELL_DEG * i / 4.0, lon0 + QC_CELL_DEG * j / 4.0);
            if (v > best)
                best = v;
        }
    e->mmi = best;
    double s = qc_ttime_s(m->depth_km, qc_geo_distance_km(m->lat, m->lon, nlat, nlon));
    e->s_at_ms = m->origin_ms + (isfinite(s) ? (int64_t)(s * 1000.0) : 0);
}

static void area_send(area_t *e)
{
    qc_disp_t *d = e->a->d;
    if (d->rl[e->ch] && !e->node.has_token && !qc_rl_take_urgent(d->rl[e->ch], &e->node))
        return; /* waits for a token: qc_area_ready() */
    e->node.has_token = 0;
    double seconds = (double)(e->s_at_ms - qc_wall_ms()) / 1000.0;
    const char *lang = e->ch == QC_CH_TELEGRAM ? d->conf.telegram_channel_lang : d->conf.fcm_topic_lang;
    qc_render_message(e->text, sizeof e->text, lang, &e->job, e->mmi, seconds);
    snprintf(e->idem, sizeof e->idem, "qc_%s_%d_%d_area_%s", e->job.alert_id, e->job.rev, (int)e->job.kind, e->route);
    e->s = (qc_send_t){ .sub = NULL, .job = &e->job, .mmi = e->mmi, .seconds = seconds, .text = e->text,
                        .idem_key = e->idem, .route = e->route, .done = on_sent, .opaque = e };
    e->attempts++;
    if (d->drivers[e->ch]->broadcast(d, d->chstate[e->ch], &e->s))
        on_sent(&e->s, QC_SEND_PERMANENT, -1, "send_failed_to_start");
}

bool qc_area_ready(qc_areas_t *a, qc_rl_node_t *node)
{
    if (node->kind != AREA_NODE_KIND)
        return false;
    area_t *e = (area_t *)node;
    if (a->stopping) {
        e->node.has_token = 0;
        settle(e, ST_FAILED);
        return true;
    }
    area_send(e);
    return true;
}

static void on_claim(redisReply *r, void *opaque)
{
    area_t *e = opaque;
    e->redis_busy = false;
    if (e->a->stopping)
        return;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        settle(e, ST_FAILED); /* Redis away: personal messages */
        return;
    }
    if (r->type == REDIS_REPLY_NIL) { /* no value before: the claim is ours */
        e->st = ST_SENDING;
        area_send(e);
        return;
    }
    if (r->type == REDIS_REPLY_STRING && !strcmp(r->str, "sent")) {
        settle(e, ST_SENT);
        return;
    }
    if (r->type == REDIS_REPLY_STRING && !strcmp(r->str, "failed")) {
        settle(e, ST_FAILED);
        return;
    }
    /* Claimed by another dispatcher: look again soon. */
    e->st = ST_WATCHING;
    later(e, AREA_POLL_MS);
}

/* SET NX with GET (Redis 7.0): claims the area if nobody has, and tells
 * what is there otherwise, in one round trip. */
static void area_claim(area_t *e)
{
    qc_disp_t *d = e->a->d;
    e->redis_busy = true;
    if (qc_redis_cmd(d->redis, on_claim, e, "SET %s %s NX PX %d GET", e->key, d->conf.instance, AREA_CLAIM_MS)) {
        e->redis_busy = false;
        settle(e, ST_FAILED);
    }
}

/* Forgets settled areas nobody asked for in a while (bucket @p i). */
static void sweep(qc_areas_t *a, size_t i, int64_t now)
{
    for (area_t **pp = &a->b[i]; *pp;) {
        area_t *e = *pp;
        if ((e->st == ST_SENT || e->st == ST_FAILED) && !e->redis_busy && now - e->seen_ms > AREA_FORGET_MS) {
            *pp = e->next;
            area_free(e);
            continue;
        }
        pp = &e->next;
    }
}

int qc_area_join(qc_areas_t *a, const qc_msg_job_t *job, int ch, const char *route, const qc_subscriber_t *sub,
                 qc_rl_node_t *node)
{
    if (a->stopping)
        return QC_AREA_ABANDON;
    char key[160];
    snprintf(key, sizeof key, "qc:area:{%s}:%d:%d:%s:%s", job->alert_id, job->rev, (int)job->kind,
             qc_channel_name((qc_channel_t)ch), route);
    size_t i = hash(key);
    int64_t now = qc_mono_ms();
    sweep(a, i, now);
    area_t *e = a->b[i];
    while (e && strcmp(e->key, key))
        e = e->next;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return QC_AREA_PERSONAL;
        e->a = a;
        e->ch = ch;
        e->node.kind = AREA_NODE_KIND;
        snprintf(e->key, sizeof e->key, "%s", key);
        snprintf(e->route, sizeof e->route, "%s", route);
        e->job = *job;
        e->timer = evtimer_new(a->d->base, on_timer, e);
        area_figures(e, sub->lat, sub->lon);
        e->next = a->b[i];
        a->b[i] = e;
        e->st = ST_CLAIMING;
        area_claim(e);
    }
    e->seen_ms = now;
    if (e->st == ST_SENT)
        return QC_AREA_REACHED;
    if (e->st == ST_FAILED)
        return QC_AREA_PERSONAL;
    node->next = e->waiters;
    e->waiters = node;
    return -1;
}

void qc_areas_stop(qc_areas_t *a)
{
    a->stopping = true;
    for (size_t i = 0; i < AREA_BUCKETS; i++)
        for (area_t *e = a->b[i]; e; e = e->next) {
            if (e->timer)
                evtimer_del(e->timer);
            resolve(e, QC_AREA_ABANDON);
        }
}
