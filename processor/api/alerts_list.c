/* api/alerts_list.c: GET /v1/alerts?limit=N (admin): the newest alerts
 * (qc:alerts, scored by when they were planned), each with its record;
 * progress of one alert is GET /v1/alerts/{id}. The operator dashboard
 * reads both. */
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiutil.h"

typedef struct alist {
    qc_proc_t *p;
    struct evhttp_request *req;
    json_t *alerts;
    long outstanding;
} alist_t;

static void alist_done(alist_t *al)
{
    if (--al->outstanding > 0)
        return;
    struct evhttp_request *req = qc_http_take(&al->req);
    if (req)
        qc_http_reply_json(req, 200, json_pack("{s:O}", "alerts", al->alerts));
    json_decref(al->alerts);
    free(al);
}

typedef struct aref {
    alist_t *al;
    json_t *item; /* borrowed from al->alerts */
} aref_t;

static void on_alert(redisReply *r, void *opaque)
{
    aref_t *ref = opaque;
    if (r && r->type == REDIS_REPLY_ARRAY) {
        static const struct { const char *field, *name; int num; } map[] = {
            { "event_id", "event_id", 0 }, { "mag", "magnitude", 1 }, { "place", "place", 0 },
            { "origin_ms", "origin_ms", 2 }, { "created_ms", "created_ms", 2 }, { "state", "state", 0 },
            { "cancelled", "cancelled_ms", 2 }, { "lat", "latitude", 1 }, { "lon", "longitude", 1 },
            { "depth_km", "depth_km", 1 },
        };
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING)
                continue;
            for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
                if (strcmp(r->element[i]->str, map[k].field))
                    continue;
                const char *v = r->element[i + 1]->str;
                json_object_set_new(ref->item, map[k].name,
                                    map[k].num == 1   ? json_real(strtod(v, NULL))
                                    : map[k].num == 2 ? json_integer(strtoll(v, NULL, 10))
                                                      : json_string(v));
            }
        }
    }
    alist_t *al = ref->al;
    free(ref);
    alist_done(al);
}

static void on_ids(redisReply *r, void *opaque)
{
    alist_t *al = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        struct evhttp_request *req = qc_http_take(&al->req);
        if (req)
            qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
        json_decref(al->alerts);
        free(al);
        return;
    }
    al->outstanding = 1; /* held until every HGETALL is queued */
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        json_t *item = json_pack("{s:s}", "alert_id", r->element[i]->str);
        aref_t *ref = malloc(sizeof *ref);
        if (!item || !ref) {
            json_decref(item);
            free(ref);
            continue;
        }
        json_array_append_new(al->alerts, item);
        ref->al = al;
        ref->item = item;
        if (qc_redis_cmd(al->p->redis, on_alert, ref, "HGETALL qc:{alert}:%s", r->element[i]->str) == 0)
            al->outstanding++;
        else
            free(ref);
    }
    alist_done(al);
}

void qc_api_alerts_list(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
        return;
    }
    if (!qc_api_is_admin(p, req)) {
        qc_counter_add(p->selfsvc->m_auth_failed, 1);
        qc_http_reply_error(req, 401, "unauthorized", "admin bearer token required", NULL);
        return;
    }
    long limit = 20;
    char v[32];
    if (qc_http_query(req, "limit", v, sizeof v)) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || limit < 1 || limit > 200) {
            qc_http_reply_error(req, 400, "invalid_limit", "limit must be 1 to 200", "limit");
            return;
        }
    }
    alist_t *al = calloc(1, sizeof *al);
    if (!al || !(al->alerts = json_array())) {
        free(al);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    al->p = p;
    qc_http_hold(req, &al->req);
    if (qc_redis_cmd(p->redis, on_ids, al, "ZREVRANGE qc:alerts 0 %ld", limit - 1))
        on_ids(NULL, al);
}
