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

typedef enum stream_kind { STREAM_IDS, STREAM_TIMES } stream_kind_t;

typedef struct sink_stream {
    sink_t *s;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    stream_kind_t kind;
    uint64_t generation;        /* ledger generation at start */
    uint32_t alert;
    int provider;               /* SINK_P_ANY = all */
    size_t cursor;
    int64_t *times;             /* STREAM_TIMES: sorted snapshot, owned */
    size_t ntimes;
} sink_stream_t;

static void reply_error(struct evhttp_request *req, int code, const char *error)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    evbuffer_add_printf(b, "{\"ok\":false,\"error\":");
    sink_json_string(b, error, strlen(error));
    evbuffer_add(b, "}\n", 2);
    sink_reply(req, code, NULL);
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

/* ---- webhook deliveries -------------------------------------------------- */

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
        long long skew = sink_now_ms(CLOCK_REALTIME) / 1000 - t;

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

static void handle_delivery(sink_t *s, struct evhttp_request *req)
{
    struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_WEBHOOK);
    const char *wid;
    sink_msg_t m;
    json_error_t jerr;
    json_t *root;

    ps->requests++;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply_error(req, 405, "deliveries are POST");
        return;
    }
    if (s->keylen > 0 && !verify_signature(s, ih, body, len)) {
        ps->unauthorized++;
        reply_error(req, 401, "bad signature");
        return;
    }
    memset(&m, 0, sizeof(m));
    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root) ||
        !json_id(root, "subscriber_id", SINK_WEBHOOK_SUB_MAX, &m.rcpt, &m.rlen) ||
        !json_id(root, "alert_id", SINK_ALERT_MAX, &m.alert, &m.alen)) {
        sink_ledger_counters(s->ledger)->bad_request++;
        ps->bad_request++;
        json_decref(root);
        reply_error(req, 400, "body must be a JSON object with subscriber_id "
                              "(1-64 bytes) and alert_id (1-256 bytes) strings");
        return;
    }
    wid = evhttp_find_header(ih, "webhook-id");
    m.provider = SINK_P_WEBHOOK;
    m.has_id = wid != NULL;
    m.id_hash = wid != NULL ? sink_hash(wid, strlen(wid)) : 0;
    m.ok_status = 200;
    sink_deliver(s, req, &m);
    json_decref(root);
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
        return sink_ledger_ids_ndjson(st->s->ledger, st->alert, st->provider, &st->cursor, chunk,
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
                         uint32_t alert, int provider, int64_t *times, size_t ntimes)
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
    st->provider = provider;
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
    sink_reply(req, 200, NULL);
}

static void handle_times(sink_t *s, struct evhttp_request *req, uint32_t alert,
                         int provider)
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
    if (alert != SINK_ALERT_NONE && sink_ledger_times(s->ledger, alert, provider, &times, &n) != 0) {
        reply_error(req, 500, "out of memory");
        return;
    }
    if (bucket > 0) {
        times_histogram(req, times, n, bucket);
        free(times);
        return;
    }
    stream_start(s, req, STREAM_TIMES, alert, provider, times, n);
}

/* Resolves ?provider= into SINK_P_ANY or a provider.
 * @returns 0, or replies 400 itself and returns QC_ERR_INVAL. */
static int query_provider(struct evhttp_request *req, int *provider)
{
    char name[16];
    int rc = query_param(req, "provider", name, sizeof(name));

    *provider = SINK_P_ANY;
    if (rc == 0)
        return 0;
    if (rc < 0 || (*provider = sink_provider_parse(name)) == SINK_P_ANY) {
        reply_error(req, 400, "provider must be webhook, twilio, telegram, fcm or smtp");
        return QC_ERR_INVAL;
    }
    return 0;
}

static void handle_last(sink_t *s, struct evhttp_request *req, int provider)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);
    const sink_last_t *l;
    size_t len;

    if (provider == SINK_P_ANY || s->last[provider].body == NULL) {
        reply_error(req, 404, "nothing accepted yet (give ?provider=)");
        return;
    }
    l = &s->last[provider];
    len = evbuffer_get_length(l->body);
    evbuffer_add_printf(b, "{\"provider\":\"%s\",\"recipient\":", sink_provider_name(provider));
    sink_json_string(b, l->recipient ? l->recipient : "", l->recipient ? strlen(l->recipient) : 0);
    evbuffer_add(b, ",\"alert_id\":", 12);
    sink_json_string(b, l->alert ? l->alert : "", l->alert ? strlen(l->alert) : 0);
    evbuffer_add(b, ",\"body\":", 8);
    /* a body is not always UTF-8 (an 8-bit mail): keep the JSON valid */
    {
        const char *p = (const char *)evbuffer_pullup(l->body, -1);
        char *clean;

        if (sink_utf8_valid(p, len)) {
            sink_json_string(b, p, len);
        } else if ((clean = malloc(len + 1)) != NULL) {
            for (size_t i = 0; i < len; i++)
                clean[i] = (unsigned char)p[i] < 0x80 ? p[i] : '?';
            sink_json_string(b, clean, len);
            free(clean);
        } else {
            evbuffer_add(b, "null", 4);
        }
    }
    if (l->extra != NULL)
        evbuffer_add_printf(b, ",%s", l->extra);
    evbuffer_add(b, "}\n", 2);
    sink_reply(req, 200, NULL);
}

static void last_clear(sink_t *s)
{
    for (int p = 0; p < SINK_P_COUNT; p++) {
        sink_last_t *l = &s->last[p];

        if (l->body != NULL)
            evbuffer_free(l->body);
        free(l->recipient);
        free(l->alert);
        free(l->extra);
        memset(l, 0, sizeof(*l));
    }
}

static void handle_reset(sink_t *s, struct evhttp_request *req)
{
    if (sink_ledger_reset(s->ledger) != 0) {
        reply_error(req, 500, "out of memory");
        return;
    }
    sink_rate_reset(&s->rate);
    last_clear(s);
    sink_reply(req, 200, "{\"ok\":true}\n");
}

static void handle_control(sink_t *s, struct evhttp_request *req, const char *what)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    char name[SINK_ALERT_MAX + 1];
    uint32_t alert;
    int provider;

    if (strcmp(what, "healthz") == 0) {
        sink_reply(req, 200, "{\"ok\":true}\n");
    } else if (strcmp(what, "faults") == 0) {
        if (cmd == EVHTTP_REQ_POST) {
            sink_faults_post(s, req);
        } else if (cmd == EVHTTP_REQ_DELETE) {
            sink_faults_clear(s);
            sink_reply(req, 200, "{\"ok\":true}\n");
        } else if (cmd == EVHTTP_REQ_GET) {
            sink_faults_get(s, req);
        } else {
            reply_error(req, 405, "faults: GET, POST or DELETE");
        }
    } else if (strcmp(what, "reset") == 0) {
        if (cmd != EVHTTP_REQ_POST)
            reply_error(req, 405, "reset: POST");
        else
            handle_reset(s, req);
    } else if (strcmp(what, "summary") == 0 || strcmp(what, "ids") == 0 ||
               strcmp(what, "times") == 0 || strcmp(what, "alerts") == 0 ||
               strcmp(what, "last") == 0) {
        if (cmd != EVHTTP_REQ_GET) {
            reply_error(req, 405, "GET only");
            return;
        }
        if (query_provider(req, &provider) != 0 || query_alert(s, req, &alert, name) != 0)
            return;
        if (strcmp(what, "summary") == 0) {
            struct evbuffer *b = evhttp_request_get_output_buffer(req);

            sink_ledger_summary_json(s->ledger, alert, provider, name, b);
            evbuffer_add(b, "\n", 1);
            sink_reply(req, 200, NULL);
        } else if (strcmp(what, "alerts") == 0) {
            sink_ledger_alerts_ndjson(s->ledger, provider, evhttp_request_get_output_buffer(req));
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                              "application/x-ndjson");
            evhttp_send_reply(req, 200, "OK", NULL);
        } else if (strcmp(what, "last") == 0) {
            handle_last(s, req, provider);
        } else if (what[0] == 'i') {
            stream_start(s, req, STREAM_IDS, alert, provider, NULL, 0);
        } else {
            handle_times(s, req, alert, provider);
        }
    } else {
        reply_error(req, 404, "unknown /_sink/ endpoint");
    }
}

/* @returns true if @p path belongs to a provider that is on, and handled it.
 * Only called when some provider is on, so webhooks pay nothing otherwise. */
static bool provider_route(sink_t *s, struct evhttp_request *req, const char *path)
{
    if (s->on[SINK_P_TWILIO] && strncmp(path, "/2010-04-01/", 12) == 0) {
        sink_twilio_request(s, req, path);
        return true;
    }
    if (s->on[SINK_P_TELEGRAM] && strncmp(path, "/bot", 4) == 0 && strchr(path + 4, '/')) {
        sink_telegram_request(s, req, path);
        return true;
    }
    if (s->on[SINK_P_FCM] && (strcmp(path, "/token") == 0 || strncmp(path, "/v1/", 4) == 0)) {
        sink_fcm_request(s, req, path);
        return true;
    }
    return false;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    sink_t *s = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (path != NULL && strncmp(path, "/_sink/", 7) == 0)
        handle_control(s, req, path + 7);
    else if (!s->providers_on || path == NULL || !provider_route(s, req, path))
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
    sink_pending_cleanup(s);
    sink_faults_clear(s);
    last_clear(s);
}
