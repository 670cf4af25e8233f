/* http.c: the fake sink's request handlers.
 *
 * Deliveries (POST to any path outside /_sink/) take the fast path: headers,
 * optional Standard Webhooks verification, one jansson parse, a hash-table
 * update and a fixed 200 body. Everything under /_sink/ is control: fault
 * injection, summaries and NDJSON streams that are produced chunk by chunk
 * as the client reads, so listing 1,000,000 subscribers never builds one
 * giant document. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "qc/err.h"
#include "qc/sign.h"
#include "sink.h"

#define STREAM_CHUNK (256 * 1024)
#define HIST_MAX_BUCKETS 1000000
#define DELAY_MAX_MS 600000

typedef struct sink_pending {
    struct sink_pending *prev, *next;
    sink_t *s;
    struct evhttp_request *req; /* owned by evhttp; answered or dropped by us */
    int status;                 /* 0 = answer 200 and record */
    long retry_after;
    bool drop;
    bool has_id;
    uint64_t id_hash;
    size_t sublen, alertlen;
    char sub[SINK_SUB_MAX];
    char alert[SINK_ALERT_MAX];
} sink_pending_t;

typedef enum stream_kind { STREAM_IDS, STREAM_TIMES } stream_kind_t;

typedef struct sink_stream {
    sink_t *s;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    stream_kind_t kind;
    uint64_t generation;        /* ledger generation at start */
    uint32_t alert;
    size_t cursor;
    int64_t *times;             /* STREAM_TIMES: sorted snapshot, owned */
    size_t ntimes;
} sink_stream_t;

static int64_t now_ms(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *reason_of(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return code < 400 ? "OK" : "Error";
    }
}

/* Sends @p body (NUL-terminated JSON, may be NULL) with @p code. */
static void reply_text(struct evhttp_request *req, int code, const char *body)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

    evhttp_add_header(oh, "Content-Type", "application/json");
    if (body != NULL)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    evhttp_send_reply(req, code, reason_of(code), NULL);
}

static void reply_error(struct evhttp_request *req, int code, const char *error)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    evbuffer_add_printf(b, "{\"ok\":false,\"error\":");
    sink_json_string(b, error, strlen(error));
    evbuffer_add(b, "}\n", 2);
    reply_text(req, code, NULL);
}

static void reply_fault(struct evhttp_request *req, int status, long retry_after)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    char ra[24], body[64];

    if (status == 429 && retry_after < 0)
        retry_after = 1;
    if (retry_after >= 0) {
        snprintf(ra, sizeof(ra), "%ld", retry_after);
        evhttp_add_header(oh, "Retry-After", ra);
    }
    snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"injected\",\"status\":%d}\n",
             status);
    reply_text(req, status, body);
}

/* Copies query parameter @p name of @p req into @p out (NUL-terminated).
 * @returns 1 if present, 0 if absent, QC_ERR_TOOBIG / QC_ERR_PARSE. */
static int query_param(struct evhttp_request *req, const char *name, char *out,
                       size_t outsz)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq kv;
    const char *v;
    int rc = 0;

    if (q == NULL)
        return 0;
    if (evhttp_parse_query_str(q, &kv) != 0)
        return QC_ERR_PARSE;
    if ((v = evhttp_find_header(&kv, name)) != NULL) {
        size_t n = strlen(v);

        if (n >= outsz) {
            rc = QC_ERR_TOOBIG;
        } else {
            memcpy(out, v, n + 1);
            rc = 1;
        }
    }
    evhttp_clear_headers(&kv);
    return rc;
}

/* Resolves ?alert_id= into SINK_ALERT_ALL / an index / SINK_ALERT_NONE.
 * @returns 0, or replies 400 itself and returns QC_ERR_INVAL. */
static int query_alert(sink_t *s, struct evhttp_request *req, uint32_t *alert,
                       char name[SINK_ALERT_MAX + 1])
{
    int rc = query_param(req, "alert_id", name, SINK_ALERT_MAX + 1);

    if (rc < 0) {
        reply_error(req, 400, "bad alert_id parameter");
        return QC_ERR_INVAL;
    }
    if (rc == 0) {
        name[0] = '\0';
        *alert = SINK_ALERT_ALL;
    } else if (!sink_ledger_alert_find(s->ledger, name, alert)) {
        *alert = SINK_ALERT_NONE;
    }
    return 0;
}

/* ---- deliveries ---------------------------------------------------------- */

static void reply_ok(struct evhttp_request *req)
{
    static const char ok[] = "{\"ok\":true}";

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evbuffer_add_reference(evhttp_request_get_output_buffer(req), ok,
                           sizeof(ok) - 1, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static bool verify_signature(sink_t *s, struct evkeyvalq *ih, const char *body,
                             size_t len)
{
    sink_counters_t *c = sink_ledger_counters(s->ledger);
    const char *id = evhttp_find_header(ih, "webhook-id");
    const char *ts = evhttp_find_header(ih, "webhook-timestamp");
    const char *sig = evhttp_find_header(ih, "webhook-signature");
    long long t;
    char *end;

    if (id == NULL || ts == NULL || sig == NULL)
        goto bad;
    errno = 0;
    t = strtoll(ts, &end, 10);
    if (errno != 0 || end == ts || *end != '\0')
        goto bad;
    if (s->conf->tolerance_s > 0) {
        long long skew = now_ms(CLOCK_REALTIME) / 1000 - t;

        if (skew > s->conf->tolerance_s || -skew > s->conf->tolerance_s) {
            c->stale_timestamp++;
            goto bad;
        }
    }
    if (qc_sign_verify(s->key, s->keylen, id, (int64_t)t, body, len, sig) != 0)
        goto bad;
    return true;

bad:
    c->bad_signature++;
    return false;
}

static bool json_id(json_t *root, const char *key, size_t max, const char **v,
                    size_t *len)
{
    json_t *j = json_object_get(root, key);

    if (!json_is_string(j))
        return false;
    *v = json_string_value(j);
    *len = json_string_length(j);
    return *len > 0 && *len <= max;
}

/* @returns the index of the first rule matching the delivery, or -1. */
static int fault_match(const sink_t *s, const char *sub, size_t sublen,
                       const char *alert, size_t alertlen)
{
    for (size_t i = 0; i < s->nfaults; i++) {
        const sink_fault_t *f = &s->faults[i];

        if (f->match_subscriber != NULL &&
            (strlen(f->match_subscriber) != sublen ||
             memcmp(f->match_subscriber, sub, sublen) != 0))
            continue;
        if (f->match_alert != NULL &&
            (strlen(f->match_alert) != alertlen ||
             memcmp(f->match_alert, alert, alertlen) != 0))
            continue;
        return (int)i;
    }
    return -1;
}

static void fault_free(sink_fault_t *f)
{
    free(f->match_subscriber);
    free(f->match_alert);
    memset(f, 0, sizeof(*f));
}

/* Uses up one application of rule @p i, removing it when exhausted. */
static void fault_consume(sink_t *s, size_t i)
{
    sink_fault_t *f = &s->faults[i];

    if (f->remaining < 0 || --f->remaining > 0)
        return;
    fault_free(f);
    memmove(&s->faults[i], &s->faults[i + 1], (s->nfaults - i - 1) * sizeof(*f));
    s->nfaults--;
}

static void pending_fire(evutil_socket_t fd, short what, void *arg);

static int pending_start(sink_t *s, struct evhttp_request *req, const sink_fault_t *f,
                         const char *sub, size_t sublen, const char *alert,
                         size_t alertlen, bool has_id, uint64_t id_hash)
{
    sink_pending_t *p = calloc(1, sizeof(*p));
    struct timeval tv = {f->delay_ms / 1000, (f->delay_ms % 1000) * 1000};

    if (p == NULL)
        return QC_ERR_NOMEM;
    p->s = s;
    p->req = req;
    p->status = f->status;
    p->retry_after = f->retry_after;
    p->drop = f->drop;
    p->has_id = has_id;
    p->id_hash = id_hash;
    memcpy(p->sub, sub, sublen);
    p->sublen = sublen;
    memcpy(p->alert, alert, alertlen);
    p->alertlen = alertlen;
    /* event_base_once frees its event itself after firing, and event_base_free
     * frees it if the loop ends first, so we never free an event in its own
     * callback. */
    if (event_base_once(s->base, -1, EV_TIMEOUT, pending_fire, p, &tv) != 0) {
        free(p);
        return QC_ERR_NOMEM;
    }
    p->next = s->pending;
    if (s->pending != NULL)
        s->pending->prev = p;
    s->pending = p;
    s->npending++;
    return 0;
}

static void record_and_reply(sink_t *s, struct evhttp_request *req, uint32_t alert,
                             const char *sub, size_t sublen, bool has_id,
                             uint64_t id_hash)
{
    int64_t wall = now_ms(CLOCK_REALTIME), mono = now_ms(CLOCK_MONOTONIC);

    if (sink_ledger_record(s->ledger, alert, sub, sublen, id_hash, wall, mono) != 0) {
        reply_error(req, 500, "ledger out of memory");
        return;
    }
    if (!has_id)
        sink_ledger_counters(s->ledger)->missing_id++;
    reply_ok(req);
}

/* evhttp stops reading a connection while its request is with us, so a
 * client that closed meanwhile is only seen by peeking at the socket. */
static bool peer_gone(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    evutil_socket_t fd;
    char c;
    ssize_t n;

    if (evcon == NULL)
        return true;
    bev = evhttp_connection_get_bufferevent(evcon);
    if (bev == NULL || (fd = bufferevent_getfd(bev)) < 0)
        return true;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void pending_fire(evutil_socket_t fd, short what, void *arg)
{
    sink_pending_t *p = arg;
    sink_t *s = p->s;
    struct evhttp_request *req = p->req;
    struct evhttp_connection *evcon;
    uint32_t alert = SINK_ALERT_ALL;

    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        s->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    s->npending--;

    /* The ledger may have been reset while we waited: look the alert up
     * again by name. */
    if (sink_ledger_alert(s->ledger, p->alert, p->alertlen, &alert) != 0)
        alert = SINK_ALERT_ALL;
    if (p->drop) {
        sink_ledger_fault(s->ledger, alert, 0);
        evcon = evhttp_request_get_connection(req);
        if (evcon != NULL)
            evhttp_connection_free(evcon); /* frees req too */
        else
            evhttp_request_free(req);
    } else if (p->status != 0) {
        sink_ledger_fault(s->ledger, alert, p->status);
        reply_fault(req, p->status, p->retry_after);
    } else if (alert == SINK_ALERT_ALL) {
        reply_error(req, 500, "ledger out of memory");
    } else if (peer_gone(req)) {
        /* The client gave up while we held the answer (a killed dispatcher,
         * a client timeout): it never sees a 2xx, so this is no delivery. */
        sink_ledger_counters(s->ledger)->client_gone++;
        evcon = evhttp_request_get_connection(req);
        if (evcon != NULL)
            evhttp_connection_free(evcon);
        else
            evhttp_request_free(req);
    } else {
        record_and_reply(s, req, alert, p->sub, p->sublen, p->has_id, p->id_hash);
    }
    free(p);
}

static void handle_delivery(sink_t *s, struct evhttp_request *req)
{
    struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *wid, *sub, *alert_id;
    size_t sublen, alertlen;
    uint64_t id_hash;
    uint32_t alert;
    json_error_t jerr;
    json_t *root;
    int fi;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply_error(req, 405, "deliveries are POST");
        return;
    }
    if (s->keylen > 0 && !verify_signature(s, ih, body, len)) {
        reply_error(req, 401, "bad signature");
        return;
    }
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root) ||
        !json_id(root, "subscriber_id", SINK_SUB_MAX, &sub, &sublen) ||
        !json_id(root, "alert_id", SINK_ALERT_MAX, &alert_id, &alertlen)) {
        sink_ledger_counters(s->ledger)->bad_request++;
        json_decref(root);
        reply_error(req, 400, "body must be a JSON object with subscriber_id "
                              "(1-64 bytes) and alert_id (1-256 bytes) strings");
        return;
    }
    wid = evhttp_find_header(ih, "webhook-id");
    id_hash = wid != NULL ? sink_hash(wid, strlen(wid)) : 0;
    if (sink_ledger_alert(s->ledger, alert_id, alertlen, &alert) != 0) {
        json_decref(root);
        reply_error(req, 500, "ledger out of memory");
        return;
    }

    fi = s->nfaults ? fault_match(s, sub, sublen, alert_id, alertlen) : -1;
    if (fi >= 0) {
        sink_fault_t f = s->faults[fi]; /* shallow: strings stay in the rule */

        if (f.delay_ms > 0 || f.drop) {
            if (pending_start(s, req, &f, sub, sublen, alert_id, alertlen,
                              wid != NULL, id_hash) != 0)
                reply_error(req, 500, "out of memory");
        } else {
            sink_ledger_fault(s->ledger, alert, f.status);
            reply_fault(req, f.status, f.retry_after);
        }
        fault_consume(s, (size_t)fi);
        json_decref(root);
        return;
    }
    record_and_reply(s, req, alert, sub, sublen, wid != NULL, id_hash);
    json_decref(root);
}

/* ---- fault rules --------------------------------------------------------- */

static int fault_parse(json_t *o, sink_fault_t *f, const char **err)
{
    json_t *v;

    memset(f, 0, sizeof(*f));
    f->remaining = -1;
    f->retry_after = -1;
    if (!json_is_object(o)) {
        *err = "a fault is a JSON object";
        return QC_ERR_INVAL;
    }
    if ((v = json_object_get(o, "status")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 400 ||
            json_integer_value(v) > 599) {
            *err = "status must be an integer 400..599";
            return QC_ERR_INVAL;
        }
        f->status = (int)json_integer_value(v);
    }
    if ((v = json_object_get(o, "count")) != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            *err = "count must be an integer >= 1";
            return QC_ERR_INVAL;
        }
        f->remaining = json_integer_value(v);
    }
    if ((v = json_object_get(o, "retry_after")) != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 86400) {
            *err = "retry_after must be an integer 0..86400";
            return QC_ERR_INVAL;
        }
        f->retry_after = (long)json_integer_value(v);
    }
    if ((v = json_object_get(o, "delay_ms")) != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > DELAY_MAX_MS) {
            *err = "delay_ms must be an integer 0..600000";
            return QC_ERR_INVAL;
        }
        f->delay_ms = (long)json_integer_value(v);
    }
    if ((v = json_object_get(o, "drop")) != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            *err = "drop must be a boolean";
            return QC_ERR_INVAL;
        }
        f->drop = json_is_true(v);
    }
    if (f->status == 0 && f->delay_ms == 0 && !f->drop) {
        *err = "a fault needs status, delay_ms > 0 or drop";
        return QC_ERR_INVAL;
    }
    if ((v = json_object_get(o, "match_subscriber")) != NULL && !json_is_null(v)) {
        if (!json_is_string(v) ||
            (f->match_subscriber = strdup(json_string_value(v))) == NULL) {
            *err = "match_subscriber must be a string";
            return QC_ERR_INVAL;
        }
    }
    if ((v = json_object_get(o, "match_alert")) != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || (f->match_alert = strdup(json_string_value(v))) == NULL) {
            free(f->match_subscriber);
            f->match_subscriber = NULL;
            *err = "match_alert must be a string";
            return QC_ERR_INVAL;
        }
    }
    return 0;
}

static void faults_post(sink_t *s, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in), n;
    const char *err = "body must be a JSON object or array of objects";
    sink_fault_t parsed[SINK_MAX_FAULTS];
    json_error_t jerr;
    json_t *root;
    char body[64];

    root = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "", len, 0, &jerr);
    if (root == NULL)
        goto bad;
    n = json_is_array(root) ? json_array_size(root) : 1;
    if (n == 0 || s->nfaults + n > SINK_MAX_FAULTS) {
        err = "too many fault rules (max 64 queued)";
        goto bad;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_is_array(root) ? json_array_get(root, i) : root;

        if (fault_parse(o, &parsed[i], &err) != 0) {
            while (i-- > 0)
                fault_free(&parsed[i]);
            goto bad;
        }
    }
    memcpy(&s->faults[s->nfaults], parsed, n * sizeof(parsed[0]));
    s->nfaults += n;
    json_decref(root);
    snprintf(body, sizeof(body), "{\"ok\":true,\"rules\":%zu}\n", s->nfaults);
    reply_text(req, 200, body);
    return;

bad:
    json_decref(root);
    reply_error(req, 400, err);
}

static void faults_get(sink_t *s, struct evhttp_request *req)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    evbuffer_add_printf(b, "{\"rules\":[");
    for (size_t i = 0; i < s->nfaults; i++) {
        const sink_fault_t *f = &s->faults[i];

        evbuffer_add_printf(b,
                            "%s{\"status\":%d,\"count\":%" PRId64 ",\"retry_after\":%ld,"
                            "\"delay_ms\":%ld,\"drop\":%s,\"match_subscriber\":",
                            i ? "," : "", f->status, f->remaining, f->retry_after,
                            f->delay_ms, f->drop ? "true" : "false");
        if (f->match_subscriber != NULL)
            sink_json_string(b, f->match_subscriber, strlen(f->match_subscriber));
        else
            evbuffer_add(b, "null", 4);
        evbuffer_add(b, ",\"match_alert\":", 15);
        if (f->match_alert != NULL)
            sink_json_string(b, f->match_alert, strlen(f->match_alert));
        else
            evbuffer_add(b, "null", 4);
        evbuffer_add(b, "}", 1);
    }
    evbuffer_add_printf(b, "],\"pending\":%zu}\n", s->npending);
    reply_text(req, 200, NULL);
}

static void faults_clear(sink_t *s)
{
    for (size_t i = 0; i < s->nfaults; i++)
        fault_free(&s->faults[i]);
    s->nfaults = 0;
}

/* ---- NDJSON streams ------------------------------------------------------ */

static void stream_free(sink_stream_t *st)
{
    free(st->times);
    free(st);
}

/* The connection died mid-stream: evhttp frees the request, we free ours. */
static void stream_closed(struct evhttp_connection *evcon, void *arg)
{
    stream_free(arg);
}

static bool stream_fill(sink_stream_t *st, struct evbuffer *chunk)
{
    if (sink_ledger_generation(st->s->ledger) != st->generation)
        return true; /* reset while streaming: what we listed is gone */
    if (st->kind == STREAM_IDS)
        return sink_ledger_ids_ndjson(st->s->ledger, st->alert, &st->cursor, chunk,
                                      STREAM_CHUNK);
    while (st->cursor < st->ntimes && evbuffer_get_length(chunk) < STREAM_CHUNK)
        evbuffer_add_printf(chunk, "%" PRId64 "\n", st->times[st->cursor++]);
    return st->cursor >= st->ntimes;
}

static void stream_written(struct evhttp_connection *evcon, void *arg);

/* Sends the next chunk; on the last one ends the reply and frees @p st.
 * Nothing touches @p st after a send call hands it to evhttp. */
static void stream_pump(sink_stream_t *st)
{
    struct evhttp_request *req = st->req;
    struct evbuffer *chunk = evbuffer_new();
    bool done;

    if (chunk == NULL) {
        done = true;
    } else {
        done = stream_fill(st, chunk);
        if (!done && evbuffer_get_length(chunk) > 0) {
            evhttp_send_reply_chunk_with_cb(req, chunk, stream_written, st);
            evbuffer_free(chunk);
            return;
        }
        if (evbuffer_get_length(chunk) > 0)
            evhttp_send_reply_chunk(req, chunk);
        evbuffer_free(chunk);
    }
    evhttp_connection_set_closecb(st->evcon, NULL, NULL);
    stream_free(st);
    evhttp_send_reply_end(req);
}

static void stream_written(struct evhttp_connection *evcon, void *arg)
{
    stream_pump(arg);
}

/* Takes ownership of @p times. */
static void stream_start(sink_t *s, struct evhttp_request *req, stream_kind_t kind,
                         uint32_t alert, int64_t *times, size_t ntimes)
{
    sink_stream_t *st = calloc(1, sizeof(*st));
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);

    if (st == NULL || evcon == NULL) {
        free(st);
        free(times);
        reply_error(req, 500, "out of memory");
        return;
    }
    st->s = s;
    st->req = req;
    st->evcon = evcon;
    st->kind = kind;
    st->generation = sink_ledger_generation(s->ledger);
    st->alert = alert;
    st->times = times;
    st->ntimes = ntimes;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/x-ndjson");
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(evcon, stream_closed, st);
    stream_pump(st);
}

/* ---- control endpoints --------------------------------------------------- */

static void times_histogram(struct evhttp_request *req, const int64_t *t, size_t n,
                            long bucket)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);
    int64_t start = n ? t[0] - t[0] % bucket : 0;
    size_t nb = n ? (size_t)((t[n - 1] - start) / bucket) + 1 : 0, i = 0;

    if (nb > HIST_MAX_BUCKETS) {
        reply_error(req, 400, "too many buckets: raise bucket_ms");
        return;
    }
    evbuffer_add_printf(b, "{\"bucket_ms\":%ld,\"start_ms\":%" PRId64 ",\"total\":%zu,"
                           "\"counts\":[", bucket, start, n);
    for (size_t k = 0; k < nb; k++) {
        uint64_t c = 0;
        int64_t end = start + (int64_t)(k + 1) * bucket;

        while (i < n && t[i] < end) {
            c++;
            i++;
        }
        evbuffer_add_printf(b, "%s%" PRIu64, k ? "," : "", c);
    }
    evbuffer_add(b, "]}\n", 3);
    reply_text(req, 200, NULL);
}

static void handle_times(sink_t *s, struct evhttp_request *req, uint32_t alert)
{
    char param[32], *end;
    int64_t *times = NULL;
    size_t n = 0;
    long bucket = 0;
    int rc = query_param(req, "bucket_ms", param, sizeof(param));

    if (rc < 0) {
        reply_error(req, 400, "bad bucket_ms");
        return;
    }
    if (rc == 1) {
        errno = 0;
        bucket = strtol(param, &end, 10);
        if (errno != 0 || end == param || *end != '\0' || bucket < 1 ||
            bucket > 86400000) {
            reply_error(req, 400, "bucket_ms must be an integer 1..86400000");
            return;
        }
    }
    if (alert != SINK_ALERT_NONE && sink_ledger_times(s->ledger, alert, &times, &n) != 0) {
        reply_error(req, 500, "out of memory");
        return;
    }
    if (bucket > 0) {
        times_histogram(req, times, n, bucket);
        free(times);
        return;
    }
    stream_start(s, req, STREAM_TIMES, alert, times, n);
}

static void handle_control(sink_t *s, struct evhttp_request *req, const char *what)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char name[SINK_ALERT_MAX + 1];
    uint32_t alert;

    if (strcmp(what, "healthz") == 0) {
        reply_text(req, 200, "{\"ok\":true}\n");
    } else if (strcmp(what, "faults") == 0) {
        if (cmd == EVHTTP_REQ_POST) {
            faults_post(s, req);
        } else if (cmd == EVHTTP_REQ_DELETE) {
            faults_clear(s);
            reply_text(req, 200, "{\"ok\":true}\n");
        } else if (cmd == EVHTTP_REQ_GET) {
            faults_get(s, req);
        } else {
            reply_error(req, 405, "faults: GET, POST or DELETE");
        }
    } else if (strcmp(what, "reset") == 0) {
        if (cmd != EVHTTP_REQ_POST) {
            reply_error(req, 405, "reset: POST");
        } else if (sink_ledger_reset(s->ledger) != 0) {
            reply_error(req, 500, "out of memory");
        } else {
            reply_text(req, 200, "{\"ok\":true}\n");
        }
    } else if (strcmp(what, "summary") == 0 || strcmp(what, "ids") == 0 ||
               strcmp(what, "times") == 0) {
        if (cmd != EVHTTP_REQ_GET) {
            reply_error(req, 405, "GET only");
            return;
        }
        if (query_alert(s, req, &alert, name) != 0)
            return;
        if (what[0] == 's') {
            struct evbuffer *b = evhttp_request_get_output_buffer(req);

            sink_ledger_summary_json(s->ledger, alert, name, b);
            evbuffer_add(b, "\n", 1);
            reply_text(req, 200, NULL);
        } else if (what[0] == 'i') {
            stream_start(s, req, STREAM_IDS, alert, NULL, 0);
        } else {
            handle_times(s, req, alert);
        }
    } else {
        reply_error(req, 404, "unknown /_sink/ endpoint");
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    sink_t *s = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (path != NULL && strncmp(path, "/_sink/", 7) == 0)
        handle_control(s, req, path + 7);
    else
        handle_delivery(s, req);
}

int sink_http_setup(sink_t *s)
{
    evhttp_set_gencb(s->http, on_request, s);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_HEAD);
    evhttp_set_max_body_size(s->http, s->conf->max_body);
    evhttp_set_max_headers_size(s->http, 64 * 1024);
    evhttp_set_timeout(s->http, (int)s->conf->idle_timeout_s);
    return 0;
}

void sink_http_cleanup(sink_t *s)
{
    sink_pending_t *p = s->pending, *next;

    for (; p != NULL; p = next) {
        next = p->next;
        free(p);
    }
    s->pending = NULL;
    s->npending = 0;
    faults_clear(s);
}
