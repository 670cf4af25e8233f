/* api/events.c: POST /v1/events. Parses the document, sends each event
 * through quake.events (so any processor of the group may decide it), and
 * answers with the decisions once they are published.
 *
 * Who may push: an operator with the admin bearer token, or a seismic
 * source with a secret of its own (QUAKECAST_SOURCE_SECRETS), signing its
 * pushes the Standard Webhooks way (https://www.standardwebhooks.com:
 * webhook-id, webhook-timestamp in Unix seconds, webhook-signature
 * "v1,<base64 HMAC-SHA256 of id.timestamp.body>") and naming itself in
 * X-Quakecast-Source. A source's key opens nothing else, can be rotated
 * alone, and a captured push cannot be replayed after the tolerance. */
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
#include "qc/sign.h"
#include "qc/err.h"

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

/* Picks the parser by Content-Type, else by looking at the document (XML
 * root element, JSON shape, else FDSN text): qc_feed_detect(). */
static int parse_document(struct evhttp_request *req, const char *body, size_t len, qc_event_t **evs,
                          size_t *n, qc_feed_format_t *fmt, char *err, size_t errsz)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    *fmt = qc_feed_detect(body, len, ct);
    return qc_feed_parse(*fmt, body, len, evs, n, err, errsz);
}

#define SOURCE_SIG_TOLERANCE_S 300

/* Finds @p name's secret in "name=whsec_...,name2=whsec_..." and decodes
 * it. @returns the key length, or -1. */
static int source_key(const char *list, const char *name, unsigned char *key, size_t keysz)
{
    size_t nl = strlen(name);
    for (const char *q = list; q && *q;) {
        const char *end = strchr(q, ',');
        size_t el = end ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', el);
        if (eq && (size_t)(eq - q) == nl && !memcmp(q, name, nl)) {
            char secret[256];
            size_t sl = el - nl - 1;
            if (sl >= sizeof secret)
                return -1;
            memcpy(secret, eq + 1, sl);
            secret[sl] = '\0';
            int kl = qc_sign_secret_decode(secret, key, keysz);
            return kl > 0 ? kl : -1;
        }
        q = end ? end + 1 : NULL;
    }
    return -1;
}

/* A push signed by a configured source. @returns NULL if it is valid,
 * else the reason (logged; the client gets 401 without it). */
static const char *source_signature_error(qc_proc_t *p, struct evhttp_request *req, const char *body, size_t len,
                                          const char **source)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *src = evhttp_find_header(h, "X-Quakecast-Source");
    const char *id = evhttp_find_header(h, "webhook-id");
    const char *ts = evhttp_find_header(h, "webhook-timestamp");
    const char *sig = evhttp_find_header(h, "webhook-signature");
    *source = src;
    if (!src || !id || !ts || !sig)
        return "no admin token and no complete source signature";
    unsigned char key[256];
    int kl = source_key(p->conf.source_secrets, src, key, sizeof key);
    if (kl <= 0)
        return "unknown source";
    char *endp;
    long long t = strtoll(ts, &endp, 10);
    long long now = (long long)(qc_wall_ms() / 1000);
    if (*endp || endp == ts || t < now - SOURCE_SIG_TOLERANCE_S || t > now + SOURCE_SIG_TOLERANCE_S)
        return "timestamp missing or too far from now";
    if (qc_sign_verify(key, (size_t)kl, id, t, body, len, sig))
        return "signature does not match";
    return NULL;
}

void qc_api_events(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    char *body = NULL;
    size_t len = 0;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
        return;
    }
    if (p->draining) { /* its decision could outlast the clean stop: another processor takes it */
        qc_http_reply_error(req, 503, "shutting_down", "this processor is stopping; retry", NULL);
        return;
    }
    int brc = qc_http_body(req, (size_t)p->conf.import_max_bytes, &body, &len);
    if (brc) {
        qc_http_reply_error(req, brc == QC_ERR_TOOBIG ? 413 : 500, brc == QC_ERR_TOOBIG ? "too_large" : "internal",
                            brc == QC_ERR_TOOBIG ? "body too large" : "out of memory", NULL);
        return;
    }
    if (!qc_http_bearer_ok(req, p->token_sha)) {
        const char *src = NULL;
        const char *why = source_signature_error(p, req, body, len, &src);
        if (why) {
            free(body);
            qc_counter_add(p->m_auth_failed, 1);
            qc_log(QC_LOG_WARN, "event_push_refused", "source", src ? src : "", "reason", why, NULL);
            qc_http_reply_error(req, 401, "unauthorized", "admin bearer token or a valid source signature required",
                                NULL);
            return;
        }
    }
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
    qc_feed_format_t fmt;
    int rc = parse_document(req, body, len, &evs, &n, &fmt, err, sizeof err);
    free(body);
    if (rc) {
        qc_counter_add(p->m_events_bad, 1);
        qc_log(QC_LOG_WARN, "event_document_rejected", "format", qc_feed_format_name(fmt), "error", err,
               NULL);
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
