/* api/alerts.c: GET /v1/alerts/{alert_id}: the alert's record plus the sum
 * of its segment runs' counters, read in one pipelined pass. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "qc/clock.h"

typedef struct status {
    qc_proc_t *p;
    struct evhttp_request *req;
    char alert_id[32];
    json_t *alert;      /* fields of qc:{alert}:<id> */
    long runs, runs_done, outstanding;
    long failed_reads;          /* run reads Redis did not answer: no partial sums */
    long long targeted, notified, failed, dlq;
    long long first_ms, last_ms;
} status_t;

static long long field_ll(redisReply *r, size_t i)
{
    if (i < r->elements && r->element[i]->type == REDIS_REPLY_STRING)
        return strtoll(r->element[i]->str, NULL, 10);
    return 0;
}

static void reply(status_t *st)
{
    struct evhttp_request *req = qc_http_take(&st->req);
    if (req && st->failed_reads) {
        /* A sum over some of the runs would look like a smaller alert (an
         * operator reading "complete, 0 notified"): say so instead. */
        qc_http_reply_error(req, 503, "unavailable", "Redis did not answer for every segment run; try again", NULL);
    } else if (req) {
        const char *state = json_string_value(json_object_get(st->alert, "state"));
        if (state && strcmp(state, "planning") && st->runs_done == st->runs)
            state = "complete";
        char first[32] = "", last[32] = "";
        if (st->first_ms)
            qc_iso8601_format(st->first_ms, first, sizeof first);
        if (st->last_ms)
            qc_iso8601_format(st->last_ms, last, sizeof last);
        json_t *j = json_pack("{s:s,s:O,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s?,s:s?}", "alert_id", st->alert_id,
                              "event_id", json_object_get(st->alert, "event_id"), "state",
                              state ? state : "planning", "segments_total", (json_int_t)st->runs,
                              "segments_done", (json_int_t)st->runs_done, "targeted",
                              (json_int_t)st->targeted, "notified", (json_int_t)st->notified, "failed",
                              (json_int_t)st->failed, "dead_lettered", (json_int_t)st->dlq,
                              "first_sent_at", st->first_ms ? first : NULL, "last_sent_at",
                              st->last_ms ? last : NULL);
        if (j) {
            json_object_set_new(j, "first_sent_ms", json_integer(st->first_ms));
            json_object_set_new(j, "last_sent_ms", json_integer(st->last_ms));
            /* the model named as the processor chose it (regime, model) */
            const char *keys[] = { "magnitude", "mag", "place", "place", "origin_ms", "origin_ms",
                                   "regime", "regime", "model", "model" };
            for (int k = 0; k < 10; k += 2) {
                json_t *v = json_object_get(st->alert, keys[k + 1]);
                if (v)
                    json_object_set(j, keys[k], v);
            }
        }
        qc_http_reply_json(req, 200, j);
    }
    json_decref(st->alert);
    free(st);
}

static void on_run(redisReply *r, void *opaque)
{
    status_t *st = opaque;
    /* HMGET state targeted notified failed dlq first_ms last_ms */
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 7) {
        if (r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "done"))
            st->runs_done++;
        st->targeted += field_ll(r, 1);
        st->notified += field_ll(r, 2);
        st->failed += field_ll(r, 3);
        st->dlq += field_ll(r, 4);
        long long f = field_ll(r, 5), l = field_ll(r, 6);
        if (f && (!st->first_ms || f < st->first_ms))
            st->first_ms = f;
        if (l > st->last_ms)
            st->last_ms = l;
    } else {
        st->failed_reads++;
    }
    if (--st->outstanding == 0)
        reply(st);
}

static void on_runs(redisReply *r, void *opaque)
{
    status_t *st = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        struct evhttp_request *req = qc_http_take(&st->req);
        if (req)
            qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
        json_decref(st->alert);
        free(st);
        return;
    }
    st->runs = (long)r->elements;
    st->outstanding = 1; /* held until every HMGET is queued */
    for (size_t i = 0; i < r->elements; i++) {
        const char *e = r->element[i]->str; /* "seg:rev" */
        const char *colon = strrchr(e, ':');
        if (!colon)
            continue;
        char key[128];
        snprintf(key, sizeof key, "qc:run:{%.*s}:%s:%s", (int)(colon - e), e, st->alert_id, colon + 1);
        if (qc_redis_cmd(st->p->redis, on_run, st, "HMGET %s state targeted notified failed dlq first_ms last_ms",
                         key) == 0)
            st->outstanding++;
    }
    if (--st->outstanding == 0)
        reply(st);
}

static void on_alert(redisReply *r, void *opaque)
{
    status_t *st = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        struct evhttp_request *req = qc_http_take(&st->req);
        if (req)
            qc_http_reply_error(req, r ? 404 : 503, r ? "not_found" : "unavailable",
                                r ? "no such alert" : "Redis unavailable", NULL);
        free(st);
        return;
    }
    st->alert = json_object();
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        json_object_set_new(st->alert, r->element[i]->str, json_string(r->element[i + 1]->str));
    if (qc_redis_cmd(st->p->redis, on_runs, st, "LRANGE qc:{alert}:%s:runs 0 -1", st->alert_id))
        on_runs(NULL, st);
}

typedef struct cap_req {
    struct evhttp_request *req;
} cap_req_t;

static void on_cap(redisReply *r, void *opaque)
{
    cap_req_t *cr = opaque;
    struct evhttp_request *req = qc_http_take(&cr->req);
    free(cr);
    if (!req)
        return;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
        return;
    }
    if (r->type != REDIS_REPLY_STRING) {
        qc_http_reply_error(req, 404, "not_found", "no CAP message for this alert", NULL);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add(out, r->str, r->len)) {
        evbuffer_free(out);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/xml; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

/* GET /v1/alerts/{id}.cap: the latest CAP 1.2 message of the alert. */
static void get_cap(qc_proc_t *p, struct evhttp_request *req, const char *id)
{
    cap_req_t *cr = calloc(1, sizeof *cr);
    if (!cr) {
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    qc_http_hold(req, &cr->req);
    if (qc_redis_cmd(p->redis, on_cap, cr, "GET qc:{alert}:%s:cap", id))
        on_cap(NULL, cr);
}

void qc_api_alerts(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
        return;
    }
    size_t n = strlen(rest);
    if (n > 4 && n < 36 && !strcmp(rest + n - 4, ".cap") &&
        strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789") == n - 4) {
        char id[32];
        snprintf(id, sizeof id, "%.*s", (int)(n - 4), rest);
        get_cap(p, req, id);
        return;
    }
    if (n == 0 || n >= 32 || strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789") != n) {
        qc_http_reply_error(req, 404, "not_found", "no such alert", NULL);
        return;
    }
    status_t *st = calloc(1, sizeof *st);
    if (!st) {
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    st->p = p;
    snprintf(st->alert_id, sizeof st->alert_id, "%s", rest);
    qc_http_hold(req, &st->req);
    if (qc_redis_cmd(p->redis, on_alert, st, "HGETALL qc:{alert}:%s", st->alert_id))
        on_alert(NULL, st);
}
