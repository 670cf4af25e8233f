/* api/events.c: POST /v1/events. Parses the document, sends each event
 * through quake.events (so any processor of the group may decide it), and
 * answers with the decisions once they are published. */
#include <event2/http.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feeds.h"
#include "processor.h"
#include "qc/clock.h"
#include "qc/log.h"
#include "qc/msg.h"

typedef struct ev_req {
    qc_proc_t *p;
    struct evhttp_request *req; /* NULL once the client left */
    json_t *results;            /* array, one slot per event */
    size_t n, outstanding;
    int timed_out;
} ev_req_t;

typedef struct ev_slot {
    ev_req_t *r;
    size_t i;
} ev_slot_t;

static void finish_if_done(ev_req_t *r)
{
    if (r->outstanding > 0)
        return;
    struct evhttp_request *req = qc_http_take(&r->req);
    if (req)
        qc_http_reply_json(req, r->timed_out ? 202 : 200, json_pack("{s:O}", "events", r->results));
    json_decref(r->results);
    free(r);
}

static void on_decision(const char *json, void *opaque)
{
    ev_slot_t *s = opaque;
    ev_req_t *r = s->r;
    json_t *d = json ? json_loads(json, 0, NULL) : NULL;
    if (!d) {
        r->timed_out = 1;
        d = json_pack("{s:s,s:s}", "decision", "pending", "reason", "decision_timeout");
    }
    json_array_set_new(r->results, s->i, d);
    free(s);
    r->outstanding--;
    finish_if_done(r);
}

/* Picks the parser by Content-Type, else by the first significant byte:
 * '{' is GeoJSON, anything else is tried as FDSN event text. */
static int parse_document(struct evhttp_request *req, const char *body, size_t len, qc_event_t **evs,
                          size_t *n, char *err, size_t errsz)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (ct && (!strncasecmp(ct, "application/geo+json", 20) || !strncasecmp(ct, "application/json", 16)))
        return qc_feed_usgs_geojson_parse(body, len, evs, n, err, errsz);
    if (ct && !strncasecmp(ct, "text/plain", 10))
        return qc_feed_fdsn_text_parse(body, len, evs, n, err, errsz);
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i < len && body[i] != '{' && body[i] != '[' && body[i] != '<')
        return qc_feed_fdsn_text_parse(body, len, evs, n, err, errsz);
    return qc_feed_usgs_geojson_parse(body, len, evs, n, err, errsz);
}

void qc_api_events(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    char *body = NULL;
    size_t len = 0;
    if (!qc_http_admin_post(req, p->token_sha, (size_t)p->conf.import_max_bytes, &body, &len))
        return;
    char mode[16] = "";
    bool replay = qc_http_query(req, "replay", mode, sizeof mode);
    if (replay && strcmp(mode, "now") != 0) {
        free(body);
        qc_http_reply_error(req, 400, "invalid_query", "replay must be \"now\"", "replay");
        return;
    }
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = parse_document(req, body, len, &evs, &n, err, sizeof err);
    free(body);
    if (rc) {
        qc_counter_add(p->m_events_bad, 1);
        qc_log(QC_LOG_WARN, "event_document_rejected", "error", err, NULL);
        qc_http_reply_error(req, 400, "invalid_document", err, NULL);
        return;
    }
    qc_counter_add(p->m_events_in, n);
    ev_req_t *r = calloc(1, sizeof *r);
    if (!r || !(r->results = json_array())) {
        free(r);
        free(evs);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    r->p = p;
    r->n = n;
    qc_http_hold(req, &r->req);
    int64_t now = qc_wall_ms();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(r->results, json_null());
        qc_msg_event_t m;
        memset(&m, 0, sizeof m);
        m.ev = evs[i];
        m.received_ms = now;
        if (replay) {
            /* A drill: the quake happens now. */
            m.replay = true;
            m.ev.origin_ms = now;
            m.ev.version = now;
        }
        unsigned char rnd[12];
        RAND_bytes(rnd, sizeof rnd);
        for (size_t k = 0; k < sizeof rnd; k++)
            snprintf(m.corr + 2 * k, 3, "%02x", rnd[k]);
        ev_slot_t *s = malloc(sizeof *s);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        if (!s || qc_msg_event_pack(&m, &sb) ||
            qc_pending_add(p->pending, m.corr, (int)p->conf.decision_timeout_ms, on_decision, s)) {
            free(s);
            msgpack_sbuffer_destroy(&sb);
            json_array_set_new(r->results, i, json_pack("{s:s,s:s,s:s}", "event_id", m.ev.id,
                                                        "decision", "error", "reason", "internal"));
            continue;
        }
        s->r = r;
        s->i = i;
        r->outstanding++;
        /* Keyed by event id: revisions of one event stay in order. */
        if (qc_kprod_send(p->producer, QC_TOPIC_EVENTS, m.ev.id, strlen(m.ev.id), sb.data, sb.size,
                          NULL, NULL))
            qc_log(QC_LOG_ERROR, "event_produce_failed", "event_id", m.ev.id, NULL);
        msgpack_sbuffer_destroy(&sb);
    }
    free(evs);
    finish_if_done(r);
}
