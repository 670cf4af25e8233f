/* decide.c: the consumer of quake.events. For each event: is it one we
 * warn about, which segments can feel it, is it new or a revision of an
 * alert (association), then the plan: run state per segment and jobs on
 * quake.dispatch, nearest segment first. Events are decided one at a time
 * (the consumer is paused meanwhile), so revisions of one quake are seen in
 * order; a decision takes a few milliseconds. */
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/cap_write.h"
#include "processor.h"
#include "qc/clock.h"
#include "qc/geo.h"
#include "qc/ipe.h"
#include "qc/log.h"
#include "qc/msg.h"
#include "qc/subscriber.h"
#include "qc/ttime.h"

typedef struct decide decide_t;

typedef struct target {
    char seg[24];
    double dist_km;
    int64_t due_ms; /* the S wave reaches the cell's nearest point */
    bool slow;      /* its people are reached through a quota-bound channel first */
    int slow_ch;    /* that channel's lane (qc_seg_group_lane()), or -1 */
    long total;
    long maxw;
    decide_t *d;
} target_t;

struct decide {
    qc_proc_t *p;
    rd_kafka_message_t *kmsg; /* offset stored, then destroyed, at finish */
    qc_msg_event_t m;
    int64_t t0_us;
    char decision[16];
    char reason[48];
    char alert_id[24];
    int rev;
    qc_job_kind_t kind;
    double prev_mag;
    qc_quake_t quake;        /* the event as the intensity model sees it */
    qc_regime_t regime;
    const char *region;      /* name of its row in the regions table */
    target_t *targets;
    size_t ntargets, outstanding;
    qc_sizing_t sizing;
};

static void finish(decide_t *d)
{
    qc_proc_t *p = d->p;
    char ot[32];
    qc_iso8601_format(d->m.ev.origin_ms, ot, sizeof ot);
    json_t *j = json_pack("{s:s,s:s,s:f,s:f,s:f,s:f,s:s,s:s,s:s,s:s,s:s?}",
                          "event_id", d->m.ev.id, "source", d->m.ev.source, "magnitude",
                          d->m.ev.has_mag ? d->m.ev.mag : 0.0, "latitude", d->m.ev.lat,
                          "longitude", d->m.ev.lon, "depth_km", d->m.ev.depth_km, "origin_time", ot,
                          "type", d->m.ev.type[0] ? d->m.ev.type : "earthquake", "decision", d->decision,
                          "reason", d->reason, "alert_id", d->alert_id[0] ? d->alert_id : NULL);
    if (j && !d->m.ev.has_mag)
        json_object_set_new(j, "magnitude", json_null());
    if (j && d->ntargets)
        json_object_set_new(j, "segments", json_integer((json_int_t)d->ntargets));
    if (j && d->region) {
        /* which intensity model decided (and will word the messages) */
        json_object_set_new(j, "regime", json_string(qc_regime_name(d->regime)));
        json_object_set_new(j, "model", json_string(qc_ipe_model_name(d->quake.model)));
    }
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s) {
        qc_pending_publish(p, d->m.corr, s);
        free(s);
    }
    json_decref(j);
    qc_series_t *c = !strcmp(d->decision, "alert") ? p->m_alerts
                     : !strcmp(d->decision, "update") ? p->m_updates
                     : !strcmp(d->decision, "duplicate") ? p->m_duplicates : p->m_ignored;
    qc_counter_add(c, 1);
    qc_log(QC_LOG_INFO, "event_decided", "event_id", d->m.ev.id, "decision", d->decision, "reason",
           d->reason, "alert_id", d->alert_id, "model", d->region ? qc_ipe_model_name(d->quake.model) : "",
           NULL);
    qc_kcons_store(p->events, rd_kafka_topic_name(d->kmsg->rkt), d->kmsg->partition, d->kmsg->offset + 1);
    rd_kafka_message_destroy(d->kmsg);
    free(d->targets);
    free(d);
    p->deciding--;
    qc_kcons_pause(p->events, p->draining); /* a draining processor takes no more */
}

static void decide_set(decide_t *d, const char *decision, const char *reason)
{
    snprintf(d->decision, sizeof d->decision, "%s", decision);
    snprintf(d->reason, sizeof d->reason, "%s", reason);
}

/* Earliest deadline first: the segment whose people the S wave reaches
 * first is planned first (for one event, the nearest). */
static int cmp_target(const void *a, const void *b)
{
    int64_t x = ((const target_t *)a)->due_ms, y = ((const target_t *)b)->due_ms;
    return x < y ? -1 : x > y;
}

/* Distance from the epicentre to the nearest point of a cell: the order
 * segments are planned in (nearest first). */
static double cell_min_distance(double lat0, double lon0, double elat, double elon)
{
    double la = elat < lat0 ? lat0 : elat > lat0 + QC_CELL_DEG ? lat0 + QC_CELL_DEG : elat;
    double lo = elon < lon0 ? lon0 : elon > lon0 + QC_CELL_DEG ? lon0 + QC_CELL_DEG : elon;
    return qc_geo_distance_km(elat, elon, la, lo);
}

/* The event's tectonic regime, and so the model that predicts its
 * intensities (see shared/data/tectonic_regions.txt). */
static void classify(decide_t *d)
{
    const qc_event_t *e = &d->m.ev;
    d->regime = qc_regions_classify(d->p->regions, e->lat, e->lon, e->depth_km, &d->region);
    d->quake = (qc_quake_t){ .model = qc_ipe_model_for(d->regime), .lat = e->lat, .lon = e->lon,
                             .depth_km = e->depth_km > 0 ? e->depth_km : 0, .mag = e->mag };
}

static void on_job_delivered(int err, const char *errstr, void *opaque)
{
    qc_proc_t *p = opaque;
    if (err) {
        qc_counter_add(p->m_jobs_failed, 1);
        qc_log(QC_LOG_ERROR, "job_delivery_failed", "error", errstr, NULL);
    }
}

static void produce_jobs(decide_t *d)
{
    qc_proc_t *p = d->p;
    qc_msg_job_t job;
    memset(&job, 0, sizeof job);
    snprintf(job.alert_id, sizeof job.alert_id, "%s", d->alert_id);
    snprintf(job.event_id, sizeof job.event_id, "%s", d->m.ev.id);
    job.rev = d->rev;
    job.kind = d->kind;
    job.lat = d->m.ev.lat;
    job.lon = d->m.ev.lon;
    job.depth_km = d->m.ev.depth_km;
    job.mag = d->m.ev.mag;
    job.model = (int)d->quake.model;
    job.prev_mag = d->prev_mag;
    job.origin_ms = d->m.ev.origin_ms;
    job.deadline_ms = d->m.ev.origin_ms + p->conf.alert_deadline_s * 1000;
    job.issued_ms = qc_wall_ms();
    snprintf(job.place, sizeof job.place, "%s", d->m.ev.place);
    long njobs = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < d->ntargets; i++) {
        target_t *t = &d->targets[i];
        if (t->total <= 0)
            continue;
        snprintf(job.seg, sizeof job.seg, "%s", t->seg);
        job.due_ms = t->due_ms;
        job.slow = t->slow;
        job.slow_ch = t->slow_ch;
        for (long s = 0; s < t->maxw; s++) {
            job.slot = (int)s;
            msgpack_sbuffer_clear(&sb);
            qc_msg_job_pack(&job, &sb);
            char key[48];
            int kl = snprintf(key, sizeof key, "%s:%ld", t->seg, s);
            if (qc_kprod_send(p->producer, QC_TOPIC_DISPATCH, key, (size_t)kl, sb.data, sb.size,
                              on_job_delivered, p) == 0)
                njobs++;
        }
    }
    msgpack_sbuffer_destroy(&sb);
    qc_counter_add(p->m_jobs, (uint64_t)njobs);
    qc_hist_observe(p->m_plan_seconds, (double)(qc_mono_us() - d->t0_us) / 1e6);
    char ak[64];
    snprintf(ak, sizeof ak, "qc:{alert}:%s", d->alert_id);
    qc_redis_cmd(p->redis, NULL, NULL, "HSET %s state dispatching", ak);
}

static void plan_done(decide_t *d);

/* Counted down reply by reply: a NOSCRIPT retry answers after commands
 * sent later, so no "last command" marker can stand for all of them. */
static void on_run_init(redisReply *r, void *opaque)
{
    target_t *t = opaque;
    decide_t *d = t->d;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_INTEGER &&
        r->element[2]->type == REDIS_REPLY_INTEGER) {
        t->total = (long)r->element[0]->integer;
        t->maxw = (long)r->element[2]->integer;
    } else {
        t->total = -1;
    }
    if (--d->outstanding == 0)
        plan_done(d);
}

/* The CAP message of this revision: needs the earlier revisions'
 * references, so it is built when Redis answers, on a copy of what it
 * needs (the decision itself has moved on by then). */
typedef struct cap_job {
    qc_proc_t *p;
    qc_event_t ev;
    char alert_id[24];
    int rev;
    qc_job_kind_t kind;
    bool exercise;
    qc_ipe_model_t model;
    qc_regime_t regime;
} cap_job_t;

static void on_cap_refs(redisReply *r, void *opaque)
{
    cap_job_t *cj = opaque;
    qc_proc_t *p = cj->p;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        qc_log(QC_LOG_ERROR, "cap_not_issued", "alert_id", cj->alert_id, "error", "Redis unavailable", NULL);
        free(cj);
        return;
    }
    int64_t now = qc_wall_ms();
    qc_cap_msg_t m = { .alert_id = cj->alert_id, .rev = cj->rev, .kind = cj->kind, .ev = &cj->ev, .sent_ms = now,
                       .expires_ms = cj->ev.origin_ms + p->conf.alert_deadline_s * 1000,
                       .sender = p->conf.cap_sender, .sender_name = p->conf.cap_sender_name,
                       .references = r->type == REDIS_REPLY_STRING ? r->str : NULL, .exercise = cj->exercise,
                       .model = cj->model, .regime = qc_regime_name(cj->regime) };
    if (m.expires_ms <= now)
        m.expires_ms = now + 60000;
    size_t len;
    char *xml = qc_cap_build(&m, &len);
    if (xml) {
        char id[64], sent[40], ref[200];
        qc_cap_identifier(cj->alert_id, cj->rev, id, sizeof id);
        qc_cap_time(now, sent, sizeof sent);
        snprintf(ref, sizeof ref, "%s%s,%s,%s", m.references && m.references[0] ? " " : "", p->conf.cap_sender, id, sent);
        qc_redis_cmd(p->redis, NULL, NULL, "SET qc:{alert}:%s:cap %b EX 604800", cj->alert_id, xml, len);
        qc_redis_cmd(p->redis, NULL, NULL, "APPEND qc:{alert}:%s:caprefs %s", cj->alert_id, ref);
        if (qc_kprod_send(p->producer, QC_TOPIC_ALERTS, cj->alert_id, strlen(cj->alert_id), xml, len, NULL, NULL))
            qc_log(QC_LOG_ERROR, "cap_produce_failed", "alert_id", cj->alert_id, NULL);
        free(xml);
    }
    free(cj);
}

static void issue_cap(decide_t *d)
{
    cap_job_t *cj = calloc(1, sizeof *cj);
    if (!cj)
        return;
    cj->p = d->p;
    cj->ev = d->m.ev;
    snprintf(cj->alert_id, sizeof cj->alert_id, "%s", d->alert_id);
    cj->rev = d->rev;
    cj->kind = d->kind;
    cj->exercise = d->m.replay;
    cj->model = d->quake.model;
    cj->regime = d->regime;
    if (qc_redis_cmd(d->p->redis, on_cap_refs, cj, "GET qc:{alert}:%s:caprefs", d->alert_id))
        free(cj);
}

static void plan_done(decide_t *d)
{
    long failed = 0;
    for (size_t i = 0; i < d->ntargets; i++)
        if (d->targets[i].total < 0)
            failed++;
    if (failed) {
        char n[24];
        snprintf(n, sizeof n, "%ld", failed);
        qc_log(QC_LOG_ERROR, "plan_segments_failed", "alert_id", d->alert_id, "segments", n, NULL);
    }
    produce_jobs(d);
    issue_cap(d);
    finish(d);
}

/* Writes the alert record and one run per target segment, then produces
 * the jobs once Redis has answered for every run. */
static void plan(decide_t *d)
{
    qc_proc_t *p = d->p;
    char ak[64], runs[80], chunk[16], maxw[16], deadline[24];
    snprintf(ak, sizeof ak, "qc:{alert}:%s", d->alert_id);
    snprintf(runs, sizeof runs, "qc:{alert}:%s:runs", d->alert_id);
    int64_t dl = d->m.ev.origin_ms + p->conf.alert_deadline_s * 1000;
    snprintf(deadline, sizeof deadline, "%lld", (long long)dl);
    snprintf(chunk, sizeof chunk, "%ld", d->sizing.chunk);
    snprintf(maxw, sizeof maxw, "%ld", 4 * d->sizing.dispatchers);
    qc_redis_cmd(p->redis, NULL, NULL,
                 "HSET %s event_id %s source %s mag %f lat %f lon %f depth_km %f origin_ms %lld "
                 "place %s state planning rev %d created_ms %lld deadline_ms %s regime %s model %s",
                 ak, d->m.ev.id, d->m.ev.source, d->m.ev.mag, d->m.ev.lat, d->m.ev.lon, d->m.ev.depth_km,
                 (long long)d->m.ev.origin_ms, d->m.ev.place, d->rev, (long long)qc_wall_ms(), deadline,
                 qc_regime_name(d->regime), qc_ipe_model_name(d->quake.model));
    qc_redis_cmd(p->redis, NULL, NULL, "ZADD qc:alerts %lld %s", (long long)qc_wall_ms(), d->alert_id);
    d->outstanding = 1; /* held until every run_init is queued */
    for (size_t i = 0; i < d->ntargets; i++) {
        target_t *t = &d->targets[i];
        t->d = d;
        char runk[96], recs[64];
        snprintf(runk, sizeof runk, "qc:run:{%s}:%s:%d", t->seg, d->alert_id, d->rev);
        snprintf(recs, sizeof recs, "qc:seg:{%s}:r", t->seg);
        const char *argv[] = { runk, recs, chunk, maxw, deadline };
        size_t lens[5];
        for (int k = 0; k < 5; k++)
            lens[k] = strlen(argv[k]);
        if (qc_redis_script(p->redis, QC_SCRIPT_RUN_INIT, 2, 5, argv, lens, on_run_init, t) == 0)
            d->outstanding++;
        else
            t->total = -1;
        qc_redis_cmd(p->redis, NULL, NULL, "RPUSH %s %s:%d", runs, t->seg, d->rev);
    }
    qc_redis_cmd(p->redis, NULL, NULL, "HINCRBY %s segments_total %lld", ak, (long long)d->ntargets);
    if (--d->outstanding == 0)
        plan_done(d);
}

/* A retraction: one cancel run per segment any earlier revision of the
 * alert reached. Its eligible set (":e") is the union of those runs'
 * settled bits, so the cancellation goes to exactly the people the alert
 * went to. The message repeats what was announced (from the alert record),
 * since a deleted event often comes without magnitude or place. */
static void on_cancel_runs(redisReply *r, void *opaque)
{
    decide_t *d = opaque;
    qc_proc_t *p = d->p;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        decide_set(d, "ignored", "storage_unavailable");
        finish(d);
        return;
    }
    d->targets = calloc(r->elements ? r->elements : 1, sizeof *d->targets);
    if (!d->targets) {
        decide_set(d, "ignored", "internal");
        finish(d);
        return;
    }
    /* "seg:rev" entries, nearest first within each revision: keep the
     * first appearance of each segment. */
    for (size_t i = 0; i < r->elements; i++) {
        const char *e = r->element[i]->str, *colon = e ? strrchr(e, ':') : NULL;
        if (!colon || (size_t)(colon - e) >= sizeof d->targets[0].seg)
            continue;
        bool seen = false;
        for (size_t k = 0; k < d->ntargets && !seen; k++)
            seen = strlen(d->targets[k].seg) == (size_t)(colon - e) && !strncmp(d->targets[k].seg, e, (size_t)(colon - e));
        if (!seen) {
            target_t *t = &d->targets[d->ntargets++];
            snprintf(t->seg, sizeof t->seg, "%.*s", (int)(colon - e), e);
        }
    }
    for (size_t k = 0; k < d->ntargets; k++) {
        /* BITOP OR <cancel>:e <each earlier run of this segment>:d */
        const char *argv[2 + 64];
        char keys[2 + 64][112];
        size_t lens[2 + 64];
        int n = 0;
        argv[n] = "BITOP";
        lens[n++] = 5;
        argv[n] = "OR";
        lens[n++] = 2;
        snprintf(keys[n], sizeof keys[n], "qc:run:{%s}:%s:%d:e", d->targets[k].seg, d->alert_id, d->rev);
        argv[n] = keys[n];
        lens[n] = strlen(keys[n]);
        n++;
        for (size_t i = 0; i < r->elements && n < 2 + 64; i++) {
            const char *e = r->element[i]->str, *colon = e ? strrchr(e, ':') : NULL;
            if (!colon || strlen(d->targets[k].seg) != (size_t)(colon - e) ||
                strncmp(d->targets[k].seg, e, (size_t)(colon - e)))
                continue;
            snprintf(keys[n], sizeof keys[n], "qc:run:{%s}:%s:%s:d", d->targets[k].seg, d->alert_id, colon + 1);
            argv[n] = keys[n];
            lens[n] = strlen(keys[n]);
            n++;
        }
        qc_redis_argv(p->redis, NULL, NULL, n, argv, lens);
        qc_redis_cmd(p->redis, NULL, NULL, "PEXPIRE %s %lld", keys[2], (long long)p->conf.alert_deadline_s * 2000);
    }
    if (d->ntargets == 0) {
        decide_set(d, "cancel", "nobody_warned");
        finish(d);
        return;
    }
    classify(d); /* the retraction is worded with the alert's model */
    d->sizing = p->sizing;
    plan(d);
}

static void on_cancel_alert(redisReply *r, void *opaque)
{
    decide_t *d = opaque;
    /* HMGET mag lat lon depth_km origin_ms place */
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 6) {
        qc_event_t *e = &d->m.ev;
        if (r->element[0]->str) {
            e->mag = strtod(r->element[0]->str, NULL);
            e->has_mag = true;
        }
        if (r->element[1]->str && r->element[2]->str) {
            e->lat = strtod(r->element[1]->str, NULL);
            e->lon = strtod(r->element[2]->str, NULL);
        }
        if (r->element[3]->str)
            e->depth_km = strtod(r->element[3]->str, NULL);
        if (r->element[4]->str)
            e->origin_ms = strtoll(r->element[4]->str, NULL, 10);
        if (r->element[5]->str && !e->place[0])
            snprintf(e->place, sizeof e->place, "%s", r->element[5]->str);
    }
}

static void plan_cancel(decide_t *d)
{
    qc_proc_t *p = d->p;
    d->kind = QC_JOB_CANCEL;
    /* Two commands on one connection answer in order: the alert's facts
     * arrive before the runs. */
    if (qc_redis_cmd(p->redis, on_cancel_alert, d, "HMGET qc:{alert}:%s mag lat lon depth_km origin_ms place",
                     d->alert_id) ||
        qc_redis_cmd(p->redis, on_cancel_runs, d, "LRANGE qc:{alert}:%s:runs 0 -1", d->alert_id)) {
        decide_set(d, "ignored", "storage_unavailable");
        finish(d);
    }
}

static void on_associate(redisReply *r, void *opaque)
{
    decide_t *d = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        decide_set(d, "ignored", "storage_unavailable");
        finish(d);
        return;
    }
    const char *what = r->element[0]->str;
    snprintf(d->alert_id, sizeof d->alert_id, "%s", r->element[1]->str);
    if (!strcmp(what, "alert")) {
        decide_set(d, "alert", "felt");
        d->rev = 0;
        plan(d);
    } else if (!strcmp(what, "update") && r->elements >= 4 && r->element[3]->type == REDIS_REPLY_INTEGER) {
        decide_set(d, "update", "magnitude_revised_up");
        d->prev_mag = strtod(r->element[2]->str, NULL);
        d->rev = (int)r->element[3]->integer; /* distinct run keys per revision */
        d->kind = QC_JOB_UPDATE;
        plan(d);
    } else if (!strcmp(what, "cancel") && r->elements >= 4 && r->element[3]->type == REDIS_REPLY_INTEGER) {
        decide_set(d, "cancel", "retracted");
        d->rev = (int)r->element[3]->integer;
        plan_cancel(d);
    } else if (!strcmp(what, "ignored")) {
        d->alert_id[0] = '\0';
        decide_set(d, "ignored", r->elements >= 3 ? r->element[2]->str : "unknown");
        finish(d);
    } else {
        decide_set(d, "duplicate", r->elements >= 3 ? r->element[2]->str : "repeat");
        finish(d);
    }
}

/* Association key: the source's event id; a drill gets a key of its own
 * (and joins no other alert) so it can be replayed again and again. */
static void associate(decide_t *d)
{
    qc_proc_t *p = d->p;
    const qc_event_t *e = &d->m.ev;
    char evk[200], mag[32], ver[32], now[32], lat[32], lon[32], origin[32], win_ms[32], win_km[32], win_mag[32];
    if (d->m.replay)
        snprintf(evk, sizeof evk, "qc:{alert}:ev:%s:%s:replay:%lld", e->source, e->id, (long long)d->m.received_ms);
    else
        snprintf(evk, sizeof evk, "qc:{alert}:ev:%s:%s", e->source, e->id);
    snprintf(mag, sizeof mag, "%.2f", e->has_mag ? e->mag : 0.0);
    snprintf(ver, sizeof ver, "%lld", (long long)e->version);
    snprintf(now, sizeof now, "%lld", (long long)qc_wall_ms());
    snprintf(lat, sizeof lat, "%.5f", e->lat);
    snprintf(lon, sizeof lon, "%.5f", e->lon);
    snprintf(origin, sizeof origin, "%lld", (long long)e->origin_ms);
    snprintf(win_ms, sizeof win_ms, "%.0f", p->conf.assoc_window_s * 1000);
    snprintf(win_km, sizeof win_km, "%g", p->conf.assoc_km);
    snprintf(win_mag, sizeof win_mag, "%g", p->conf.assoc_mag);
    const char *argv[] = { evk, mag, ver, now, lat, lon, origin, e->status == QC_EV_DELETED ? "1" : "0",
                           win_ms, win_km, win_mag, d->m.replay ? "1" : "0" };
    size_t lens[12];
    for (int i = 0; i < 12; i++)
        lens[i] = strlen(argv[i]);
    if (qc_redis_script(p->redis, QC_SCRIPT_ASSOCIATE, 1, 12, argv, lens, on_associate, d)) {
        decide_set(d, "ignored", "storage_unavailable");
        finish(d);
    }
}

static void on_segcat(redisReply *r, void *opaque)
{
    decide_t *d = opaque;
    qc_proc_t *p = d->p;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        decide_set(d, "ignored", "storage_unavailable");
        finish(d);
        return;
    }
    size_t n = r->elements / 2;
    d->targets = calloc(n ? n : 1, sizeof *d->targets);
    if (!d->targets) {
        decide_set(d, "ignored", "internal");
        finish(d);
        return;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *seg = r->element[i]->str, *cat = r->element[i + 1]->str;
        const char *bar = strchr(cat, '|');
        double lat0, lon0;
        if (!bar || strlen(seg) >= sizeof d->targets[0].seg ||
            qc_cell_parse(cat, (size_t)(bar - cat), &lat0, &lon0))
            continue;
        double min_mmi = strtod(bar + 1, NULL);
        double dist = cell_min_distance(lat0, lon0, d->m.ev.lat, d->m.ev.lon);
        /* the most anyone in the cell can feel */
        if (!qc_ipe_reaches(qc_ipe_cell_max(&d->quake, lat0, lon0, QC_CELL_DEG), min_mmi))
            continue;
        target_t *t = &d->targets[d->ntargets++];
        snprintf(t->seg, sizeof t->seg, "%s", seg);
        t->slow = qc_seg_group_slow(cat, (size_t)(bar - cat));
        t->slow_ch = qc_seg_group_lane(cat, (size_t)(bar - cat));
        t->dist_km = dist;
        double s = qc_ttime_s(d->quake.depth_km, dist);
        t->due_ms = d->m.ev.origin_ms + (isfinite(s) ? (int64_t)(s * 1000.0) : 0);
    }
    if (d->ntargets == 0) {
        decide_set(d, "ignored", "below_threshold");
        finish(d);
        return;
    }
    if (strcmp(p->conf.plan_order, "registry"))
        qsort(d->targets, d->ntargets, sizeof *d->targets, cmp_target);
    d->sizing = p->sizing;
    associate(d);
}

void qc_decide_on_message(rd_kafka_message_t *msg, void *opaque)
{
    qc_proc_t *p = opaque;
    decide_t *d = calloc(1, sizeof *d);
    if (!d) {
        rd_kafka_message_destroy(msg);
        return;
    }
    d->p = p;
    p->deciding++;
    d->kmsg = msg;
    d->t0_us = qc_mono_us();
    d->prev_mag = NAN;
    qc_kcons_pause(p->events, true);
    char err[128];
    if (qc_msg_event_unpack(msg->payload, msg->len, &d->m, err, sizeof err)) {
        char off[32];
        snprintf(off, sizeof off, "%lld", (long long)msg->offset);
        qc_counter_add(p->m_kafka_bad, 1);
        qc_log(QC_LOG_WARN, "kafka_record_skipped", "topic", QC_TOPIC_EVENTS, "offset", off, "error", err, NULL);
        snprintf(d->m.ev.id, sizeof d->m.ev.id, "?");
        decide_set(d, "ignored", "undecodable");
        finish(d);
        return;
    }
    qc_event_t *e = &d->m.ev;
    int64_t age_ms = (d->m.received_ms ? d->m.received_ms : qc_wall_ms()) - e->origin_ms;
    if (e->has_mag && qc_event_is_earthquake(e->type))
        classify(d);
    if (!qc_event_is_earthquake(e->type))
        decide_set(d, "ignored", "not_an_earthquake");
    else if (e->test)
        decide_set(d, "ignored", "test_message"); /* an exercise: never the public */
    else if (e->status == QC_EV_DELETED) {
        /* A retraction needs no magnitude, nor a fresh origin. */
        associate(d);
        return;
    } else if (!e->has_mag)
        decide_set(d, "ignored", "no_magnitude");
    else if (e->mag < p->conf.min_magnitude)
        decide_set(d, "ignored", "below_threshold");
    else if (age_ms > p->conf.max_event_age_s * 1000)
        decide_set(d, "ignored", "stale");
    else if (age_ms < -60000)
        decide_set(d, "ignored", "origin_in_future");
    else if (qc_redis_cmd(p->redis, on_segcat, d, "HGETALL qc:{reg}:segcat") == 0)
        return;
    else
        decide_set(d, "ignored", "storage_unavailable");
    finish(d);
}
