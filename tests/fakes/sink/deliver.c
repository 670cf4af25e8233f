/* deliver.c: the path every HTTP delivery takes once its handler parsed it,
 * whatever the provider: the early-retry check, the rate limit, the fault
 * rules (answered now or held on a libevent timer), then the ledger and the
 * provider's success answer. Also the small reply helpers all handlers use. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "qc/err.h"
#include "sink.h"

typedef struct sink_pending {
    struct sink_pending *prev, *next;
    sink_t *s;
    struct evhttp_request *req;  /* owned by evhttp; answered or dropped by us */
    int provider;
    int status;                  /* 0 = answer the success and record */
    long retry_after;
    long error_num;
    char *error;                 /* copy of the rule's, owned */
    bool drop;
    bool has_id;
    uint64_t id_hash;
    int ok_status;
    struct evbuffer *ok_body;    /* owned; NULL = {"ok":true} */
    size_t rlen, alen;
    char rcpt[SINK_SUB_MAX];
    char alert[SINK_ALERT_MAX];
} sink_pending_t;

int64_t sink_now_ms(int clk)
{
    struct timespec ts;

    clock_gettime((clockid_t)clk, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sink_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t sink_rand(sink_t *s)
{
    uint64_t x = s->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

const char *sink_reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
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

void sink_reply(struct evhttp_request *req, int code, const char *body)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

    evhttp_add_header(oh, "Content-Type", "application/json");
    if (body != NULL)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    evhttp_send_reply(req, code, sink_reason(code), NULL);
}

void sink_retry_after_header(struct evhttp_request *req, long retry_after)
{
    char ra[24];

    if (retry_after < 0)
        return;
    snprintf(ra, sizeof(ra), "%ld", retry_after);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
}

static void reply_ok(struct evhttp_request *req)
{
    static const char ok[] = "{\"ok\":true}";

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evbuffer_add_reference(evhttp_request_get_output_buffer(req), ok,
                           sizeof(ok) - 1, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

/* The webhook's own fault format (kept from before providers existed). */
static void webhook_fault(struct evhttp_request *req, int status, long retry_after)
{
    char body[64];

    sink_retry_after_header(req, retry_after);
    snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"injected\",\"status\":%d}\n",
             status);
    sink_reply(req, status, body);
}

/* A 429 always carries a retry-after (1 s unless the rule gave one). */
static long effective_retry_after(int status, long retry_after)
{
    return status == 429 && retry_after < 0 ? 1 : retry_after;
}

void sink_reply_fault(sink_t *s, struct evhttp_request *req, int provider, int status,
                      long error_num, const char *error, long retry_after)
{
    retry_after = effective_retry_after(status, retry_after);
    switch (provider) {
    case SINK_P_TWILIO:
        sink_twilio_fault(req, status, error_num, retry_after);
        break;
    case SINK_P_TELEGRAM:
        sink_telegram_fault(req, status, error, retry_after);
        break;
    case SINK_P_FCM:
        sink_fcm_fault(req, status, error, retry_after);
        break;
    default:
        webhook_fault(req, status, retry_after);
        break;
    }
}

/* Remembers the retry-after we answered @p rcpt with, for early_retry. */
static void hold_recipient(sink_t *s, int provider, int status, long retry_after,
                           const char *rcpt, size_t rlen)
{
    retry_after = effective_retry_after(status, retry_after);
    if ((status == 429 || status == 503) && retry_after >= 0)
        sink_rate_hold(&s->rate, provider, rcpt, rlen, sink_mono_us() + retry_after * 1000000);
}

size_t sink_keyed(int provider, const char *text, size_t tlen, char out[SINK_KEYED_MAX])
{
    int n = snprintf(out, SINK_KEYED_MAX, "%s:%016llx", sink_provider_name(provider),
                     (unsigned long long)sink_fnv1a64(text, tlen));

    return n > 0 ? (size_t)n : 0;
}

void sink_last_set(sink_t *s, int provider, const char *body, size_t len,
                   const char *rcpt, size_t rlen, const char *alert, char *extra)
{
    sink_last_t *l = &s->last[provider];

    if (l->body == NULL && (l->body = evbuffer_new()) == NULL) {
        free(extra);
        return;
    }
    evbuffer_drain(l->body, evbuffer_get_length(l->body));
    evbuffer_add(l->body, body, len);
    free(l->recipient);
    free(l->alert);
    free(l->extra);
    l->recipient = strndup(rcpt, rlen);
    l->alert = strdup(alert);
    l->extra = extra;
}

static void record_and_reply(sink_t *s, struct evhttp_request *req, int provider,
                             uint32_t alert, const char *rcpt, size_t rlen,
                             const char *alert_name, bool has_id, uint64_t id_hash,
                             int ok_status, struct evbuffer *ok_body)
{
    int64_t wall = sink_now_ms(CLOCK_REALTIME), mono = sink_now_ms(CLOCK_MONOTONIC);

    if (sink_ledger_record(s->ledger, alert, rcpt, rlen, id_hash, wall, mono) != 0) {
        struct evbuffer *b = evhttp_request_get_output_buffer(req);

        evbuffer_add_printf(b, "{\"ok\":false,\"error\":\"ledger out of memory\"}\n");
        sink_reply(req, 500, NULL);
        return;
    }
    if (provider == SINK_P_WEBHOOK) {
        if (!has_id)
            sink_ledger_counters(s->ledger)->missing_id++;
        reply_ok(req);
        return;
    }
    {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);

        sink_last_set(s, provider, len ? (const char *)evbuffer_pullup(in, -1) : "", len,
                      rcpt, rlen, alert_name, NULL);
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, ok_status, sink_reason(ok_status), ok_body);
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

static void drop_request(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);

    if (evcon != NULL)
        evhttp_connection_free(evcon); /* frees req too */
    else
        evhttp_request_free(req);
}

static void pending_free(sink_pending_t *p)
{
    if (p->ok_body != NULL)
        evbuffer_free(p->ok_body);
    free(p->error);
    free(p);
}

static void pending_fire(evutil_socket_t fd, short what, void *arg)
{
    sink_pending_t *p = arg;
    sink_t *s = p->s;
    struct evhttp_request *req = p->req;
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
    if (sink_ledger_alert_p(s->ledger, p->provider, p->alert, p->alen, NULL, 0, &alert) != 0)
        alert = SINK_ALERT_ALL;
    if (p->drop) {
        sink_ledger_fault(s->ledger, alert, p->provider, 0);
        drop_request(req);
    } else if (p->status != 0) {
        sink_ledger_fault(s->ledger, alert, p->provider, p->status);
        hold_recipient(s, p->provider, p->status, p->retry_after, p->rcpt, p->rlen);
        sink_reply_fault(s, req, p->provider, p->status, p->error_num, p->error,
                         p->retry_after);
    } else if (alert == SINK_ALERT_ALL) {
        sink_reply(req, 500, "{\"ok\":false,\"error\":\"ledger out of memory\"}\n");
    } else if (peer_gone(req)) {
        /* The client gave up while we held the answer (a killed dispatcher,
         * a client timeout): it never sees a 2xx, so this is no delivery. */
        sink_ledger_counters(s->ledger)->client_gone++;
        sink_ledger_pstats(s->ledger, p->provider)->client_gone++;
        drop_request(req);
    } else {
        record_and_reply(s, req, p->provider, alert, p->rcpt, p->rlen, p->alert,
                         p->has_id, p->id_hash, p->ok_status, p->ok_body);
    }
    pending_free(p);
}

/* Holds @p req for rule @p f; takes ownership of m->ok_body. */
static int pending_start(sink_t *s, struct evhttp_request *req, const sink_fault_t *f,
                         sink_msg_t *m)
{
    sink_pending_t *p = calloc(1, sizeof(*p));
    struct timeval tv = {f->delay_ms / 1000, (f->delay_ms % 1000) * 1000};

    if (p == NULL)
        return QC_ERR_NOMEM;
    p->s = s;
    p->req = req;
    p->provider = m->provider;
    p->status = f->status;
    p->retry_after = f->retry_after;
    p->error_num = f->error_num;
    if (f->error != NULL && (p->error = strdup(f->error)) == NULL) {
        free(p);
        return QC_ERR_NOMEM;
    }
    p->drop = f->drop;
    p->has_id = m->has_id;
    p->id_hash = m->id_hash;
    p->ok_status = m->ok_status;
    memcpy(p->rcpt, m->rcpt, m->rlen);
    p->rlen = m->rlen;
    memcpy(p->alert, m->alert, m->alen);
    p->alen = m->alen;
    /* event_base_once frees its event itself after firing, and event_base_free
     * frees it if the loop ends first, so we never free an event in its own
     * callback. */
    if (event_base_once(s->base, -1, EV_TIMEOUT, pending_fire, p, &tv) != 0) {
        pending_free(p);
        return QC_ERR_NOMEM;
    }
    p->ok_body = m->ok_body;
    m->ok_body = NULL; /* owned by p now */
    p->next = s->pending;
    if (s->pending != NULL)
        s->pending->prev = p;
    s->pending = p;
    s->npending++;
    return 0;
}

/* Counts a request that came @p early_us before the retry-after it was
 * given, and says so on stdout (rare: a test then wants to know who and by
 * how much), with the recipient masked. */
static void early_retry(sink_pstats_t *ps, int provider, const char *rcpt, size_t rlen,
                        int64_t early_us)
{
    struct timespec ts;
    struct tm tm;
    char when[32], masked[8] = "***";

    /* first 3 and last 2 characters of longer ids, JSON-safe */
    if (rlen > 6) {
        memcpy(masked, rcpt, 3);
        memcpy(masked + 3, "*", 1);
        memcpy(masked + 4, rcpt + rlen - 2, 2);
        masked[6] = '\0';
        for (size_t i = 0; i < 6; i++)
            if (masked[i] == '"' || masked[i] == '\\' || (unsigned char)masked[i] < 0x20 ||
                (unsigned char)masked[i] >= 0x80)
                masked[i] = '?';
    }

    ps->early_retry++;
    if ((uint64_t)early_us > ps->early_retry_max_us)
        ps->early_retry_max_us = (uint64_t)early_us;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("{\"ts\":\"%s.%03ldZ\",\"level\":\"warn\",\"component\":\"fake-sink\","
           "\"event\":\"early_retry\",\"provider\":\"%s\",\"recipient\":\"%s\","
           "\"early_us\":%lld}\n",
           when, ts.tv_nsec / 1000000, sink_provider_name(provider), masked, (long long)early_us);
    fflush(stdout);
}

/* A log-normal delay, ms: exp(ln(median) + sigma * z), z standard normal
 * (Box-Muller over the sink's xorshift). */
static long latency_sample(sink_t *s, int provider)
{
    double u1 = ((double)(sink_rand(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(sink_rand(s) >> 11) / 9007199254740992.0;
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    double ms = s->conf->latency_ms[provider] * exp(s->conf->latency_sigma[provider] * z);
    return ms < 1 ? 1 : ms > 120000 ? 120000 : (long)ms;
}

void sink_deliver(sink_t *s, struct evhttp_request *req, sink_msg_t *m)
{
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, m->provider);
    char keyed[SINK_KEYED_MAX];
    int64_t mono_us = sink_mono_us();
    int64_t early;
    uint32_t alert;
    int fi, rc;

    if (m->provider != SINK_P_WEBHOOK) {
        m->alen = sink_keyed(m->provider, m->text, m->tlen, keyed);
        m->alert = keyed;
        rc = sink_ledger_alert_p(s->ledger, m->provider, m->alert, m->alen, m->text,
                                 m->tlen, &alert);
    } else {
        rc = sink_ledger_alert(s->ledger, m->alert, m->alen, &alert);
    }
    if (rc != 0) {
        sink_reply(req, 500, "{\"ok\":false,\"error\":\"ledger out of memory\"}\n");
        goto out;
    }
    if ((early = sink_rate_early(&s->rate, m->provider, m->rcpt, m->rlen, mono_us)) > 0)
        early_retry(ps, m->provider, m->rcpt, m->rlen, early);
    if (!sink_rate_admit(&s->rate, m->provider, mono_us / 1000, &ps->max_per_second)) {
        ps->rate_limited++;
        hold_recipient(s, m->provider, 429, 1, m->rcpt, m->rlen);
        sink_reply_fault(s, req, m->provider, 429, -1, NULL, 1);
        goto out;
    }
    fi = s->nfaults ? sink_fault_match(s, m->provider, SINK_STAGE_REQUEST, m->rcpt, m->rlen,
                                       m->alert, m->alen)
                    : -1;
    if (fi >= 0) {
        const sink_fault_t *f = &s->faults[fi];

        if (f->delay_ms > 0 || f->drop) {
            if (pending_start(s, req, f, m) != 0)
                sink_reply(req, 500, "{\"ok\":false,\"error\":\"out of memory\"}\n");
        } else {
            sink_ledger_fault(s->ledger, alert, m->provider, f->status);
            hold_recipient(s, m->provider, f->status, f->retry_after, m->rcpt, m->rlen);
            sink_reply_fault(s, req, m->provider, f->status, f->error_num, f->error,
                             f->retry_after);
        }
        sink_fault_consume(s, (size_t)fi);
        goto out;
    }
    if (s->conf->latency_ms[m->provider] > 0) {
        /* A provider's own time to answer (--latency): the success is
         * recorded when it is sent, like a delay rule's. */
        sink_fault_t lat = {.delay_ms = latency_sample(s, m->provider), .retry_after = -1};

        if (pending_start(s, req, &lat, m) != 0)
            sink_reply(req, 500, "{\"ok\":false,\"error\":\"out of memory\"}\n");
        goto out;
    }
    record_and_reply(s, req, m->provider, alert, m->rcpt, m->rlen, m->alert, m->has_id,
                     m->id_hash, m->ok_status, m->ok_body);

out:
    if (m->ok_body != NULL)
        evbuffer_free(m->ok_body);
    m->ok_body = NULL;
}

void sink_pending_cleanup(sink_t *s)
{
    sink_pending_t *p = s->pending, *next;

    for (; p != NULL; p = next) {
        next = p->next;
        pending_free(p);
    }
    s->pending = NULL;
    s->npending = 0;
}

int sink_form_parse(const char *body, size_t len, struct evkeyvalq *kv)
{
    char *z = malloc(len + 1);
    int rc;

    TAILQ_INIT(kv);
    if (z == NULL)
        return QC_ERR_NOMEM;
    memcpy(z, body, len);
    z[len] = '\0';
    /* evhttp_parse_query_str decodes %XX and '+' (as a space), which is what
     * application/x-www-form-urlencoded needs (HTML 4.01 §17.13.4.1). */
    rc = len == 0 ? 0 : evhttp_parse_query_str(z, kv);
    free(z);
    return rc == 0 ? 0 : QC_ERR_PARSE;
}
