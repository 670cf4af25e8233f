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
 * limiter like any personal message, so the quota stays exact, but in the
 * limiter's urgent line: one token reaches a whole cell.
 *
 * The plan: waiting for an area's first person to come up in a chunk
 * would post the last cells only once every chunk before them was walked
 * (tens of seconds at a million people). So the first dispatcher to see a
 * job of a new alert (SET ...:plan NX) reads every route that has
 * listeners (qc:{reg}:areas, kept by the registry's sub_store), keeps those
 * whose cell the quake reaches at the route's threshold, and starts them
 * all at once, earliest S wave first. The chunks' people then find their
 * area sent or on its way. If that dispatcher dies, the chunks' own joins
 * still post every area, as before. */
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

/* An alert revision this dispatcher has asked to plan (one each). */
typedef struct plan {
    struct plan *next;
    qc_areas_t *a;
    qc_msg_job_t job;
    char key[160];
    int64_t seen_ms;
    bool busy;             /* a reply of ours is on its way: keep */
} plan_t;

struct qc_areas {
    qc_disp_t *d;
    qc_area_resolved_fn resolved;
    void *user;
    bool stopping;
    area_t *b[AREA_BUCKETS];
    plan_t *plans;
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
    for (plan_t *p = a->plans, *n; p; p = n) {
        n = p->next;
        free(p); /* a reply still on its way finds Redis closed first (main.c) */
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
static void cell_figures(const qc_msg_job_t *m, double lat, double lon, double *mmi, int64_t *s_at_ms)
{
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
    *mmi = best;
    double s = qc_ttime_s(m->depth_km, qc_geo_distance_km(m->lat, m->lon, nlat, nlon));
    *s_at_ms = m->origin_ms + (isfinite(s) ? (int64_t)(s * 1000.0) : 0);
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

/* The area of @p route for @p job: found, or made and its claim started
 * (its figures from the cell of @p lat, @p lon). NULL when out of memory. */
static area_t *area_get(qc_areas_t *a, const qc_msg_job_t *job, int ch, const char *route, double lat, double lon)
{
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
            return NULL;
        e->a = a;
        e->ch = ch;
        e->node.kind = AREA_NODE_KIND;
        snprintf(e->key, sizeof e->key, "%s", key);
        snprintf(e->route, sizeof e->route, "%s", route);
        e->job = *job;
        e->timer = evtimer_new(a->d->base, on_timer, e);
        cell_figures(job, lat, lon, &e->mmi, &e->s_at_ms);
        e->next = a->b[i];
        a->b[i] = e;
        e->st = ST_CLAIMING;
        area_claim(e);
    }
    e->seen_ms = now;
    return e;
}

int qc_area_join(qc_areas_t *a, const qc_msg_job_t *job, int ch, const char *route, const qc_subscriber_t *sub,
                 qc_rl_node_t *node)
{
    if (a->stopping)
        return QC_AREA_ABANDON;
    area_t *e = area_get(a, job, ch, route, sub->lat, sub->lon);
    if (!e)
        return QC_AREA_PERSONAL;
    if (e->st == ST_SENT)
        return QC_AREA_REACHED;
    if (e->st == ST_FAILED)
        return QC_AREA_PERSONAL;
    node->next = e->waiters;
    e->waiters = node;
    return -1;
}

/* ---- the plan ---- */

typedef struct cand {
    int ch;
    double lat, lon; /* the cell's centre */
    int64_t s_at_ms;
    char route[64];
} cand_t;

static int by_s_arrival(const void *x, const void *y)
{
    const cand_t *a = x, *b = y;
    return a->s_at_ms < b->s_at_ms ? -1 : a->s_at_ms > b->s_at_ms;
}

/* One member of qc:{reg}:areas, "<p|t>|<lat index>:<lon index>|<band>"
 * (sub_store in lib.lua), as a candidate if this dispatcher posts on that
 * channel and the quake reaches the cell at the band. */
static bool plan_member(const qc_areas_t *a, const qc_msg_job_t *job, const char *m, cand_t *out)
{
    long la, lo;
    int band;
    char kind;
    if (sscanf(m, "%c|%ld:%ld|%d", &kind, &la, &lo, &band) != 4 || band < 1 || band > 10)
        return false;
    if (kind != 'p' && kind != 't')
        return false;
    out->ch = kind == 'p' ? QC_CH_PUSH : QC_CH_TELEGRAM;
    out->lat = ((double)la + 0.5) * QC_CELL_DEG;
    out->lon = ((double)lo + 0.5) * QC_CELL_DEG;
    /* a listener at the cell's centre: the route the chunks' people ask for */
    qc_subscriber_t probe = { .lat = out->lat, .lon = out->lon, .min_mmi = band, .area = 1u << out->ch };
    if (!qc_area_route(a->d, out->ch, &probe, out->route, sizeof out->route))
        return false; /* no area broadcasts on that channel here */
    double mmi;
    cell_figures(job, out->lat, out->lon, &mmi, &out->s_at_ms);
    return qc_ipe_reaches(mmi, band); /* else nobody in the cell can feel it at that threshold */
}

static void on_plan_routes(redisReply *r, void *opaque)
{
    plan_t *p = opaque;
    qc_areas_t *a = p->a;
    p->busy = false;
    if (a->stopping)
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        /* The chunks' own joins post every area all the same. */
        qc_log(QC_LOG_WARN, "area_plan_failed", "alert_id", p->job.alert_id, "error",
               r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply", NULL);
        return;
    }
    cand_t *c = r->elements ? calloc(r->elements, sizeof *c) : NULL;
    size_t n = 0;
    for (size_t i = 0; c && i < r->elements; i++) {
        const redisReply *m = r->element[i];
        if (m->type == REDIS_REPLY_STRING && m->len < 64 && plan_member(a, &p->job, m->str, &c[n]))
            n++;
    }
    if (n > 1) /* c is NULL for an empty set: qsort wants an array */
        qsort(c, n, sizeof *c, by_s_arrival);
    for (size_t i = 0; i < n; i++)
        area_get(a, &p->job, c[i].ch, c[i].route, c[i].lat, c[i].lon);
    free(c);
    char nb[24];
    snprintf(nb, sizeof nb, "%zu", n);
    qc_counter_add(a->d->m_area_planned, n);
    qc_log(QC_LOG_INFO, "area_plan", "alert_id", p->job.alert_id, "areas", nb, NULL);
}

static void on_plan_claim(redisReply *r, void *opaque)
{
    plan_t *p = opaque;
    p->busy = false;
    if (p->a->stopping || !r || r->type != REDIS_REPLY_STATUS)
        return; /* another dispatcher plans it, or Redis is away: the joins post */
    p->busy = true;
    if (qc_redis_cmd(p->a->d->redis, on_plan_routes, p, "SMEMBERS %s", QC_AREA_ROUTES_KEY))
        p->busy = false;
}

void qc_areas_plan(qc_areas_t *a, const qc_msg_job_t *job)
{
    qc_disp_t *d = a->d;
    if (a->stopping || job->kind != QC_JOB_ALERT || !(d->conf.push_area_prefix[0] || d->conf.telegram_area_prefix[0]))
        return;
    char key[160];
    snprintf(key, sizeof key, "qc:area:{%s}:%d:%d:plan", job->alert_id, job->rev, (int)job->kind);
    int64_t now = qc_mono_ms();
    for (plan_t **pp = &a->plans; *pp;) {
        plan_t *p = *pp;
        if (!strcmp(p->key, key)) {
            p->seen_ms = now;
            return; /* asked already */
        }
        if (!p->busy && now - p->seen_ms > AREA_FORGET_MS) {
            *pp = p->next;
            free(p);
            continue;
        }
        pp = &p->next;
    }
    plan_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    *p = (plan_t){ .next = a->plans, .a = a, .job = *job, .seen_ms = now, .busy = true };
    snprintf(p->key, sizeof p->key, "%s", key);
    a->plans = p;
    if (qc_redis_cmd(d->redis, on_plan_claim, p, "SET %s %s NX PX %d", key, d->conf.instance, AREA_CLAIM_MS))
        p->busy = false;
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
