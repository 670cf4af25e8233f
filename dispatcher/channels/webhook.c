/* channels/webhook.c: signed webhooks (Standard Webhooks: webhook-id,
 * webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>", one per
 * active secret during a rotation).
 * 2xx = handed off; 408, 425, 429 and 5xx are transient; other 4xx are
 * permanent (the receiver refuses this message for good).
 *
 * The URL is the subscriber's, so every connection is checked against the
 * egress policy (qc/egress.h) after name resolution: a host that resolves
 * to loopback, a private or link-local range or a metadata address is
 * refused unless QUAKECAST_WEBHOOK_ALLOW_CIDRS lists it. A refusal is
 * permanent (the same name will most likely resolve the same way on the
 * next try): the message is dead-lettered with the address and its range,
 * counted in quakecast_webhook_egress_refused_total and logged. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatcher.h"
#include "qc/ipe.h"
#include "qc/clock.h"
#include "qc/egress.h"
#include "qc/err.h"
#include "qc/log.h"
#include "qc/sign.h"

typedef struct wh_req wh_req_t;

typedef struct wh {
    qc_egress_t *egress;
    qc_series_t *m_refused;
    wh_req_t *outstanding; /* requests not answered yet: an exit with sends
                              in flight drops them unanswered (httpc), and
                              wh_destroy frees what they held */
} wh_t;

/* One request's context: the callback needs the driver's state too. */
struct wh_req {
    qc_send_t *s;
    wh_t *w;
    wh_req_t *prev, *next;
};

static void req_unlink(wh_req_t *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        q->w->outstanding = q->next;
    if (q->next)
        q->next->prev = q->prev;
}

static int wh_init(qc_disp_t *d, void **state, char *why, size_t whysz)
{
    wh_t *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    char err[160];
    w->egress = qc_egress_new(d->conf.webhook_allow_cidrs, err, sizeof err);
    if (!w->egress) {
        snprintf(why, whysz, "QUAKECAST_WEBHOOK_ALLOW_CIDRS: %s", err);
        free(w);
        return -1;
    }
    w->m_refused = qc_metrics_counter(d->metrics, "quakecast_webhook_egress_refused_total", NULL,
                                      "Webhooks dead-lettered because their host resolved only to "
                                      "refused (loopback, private, link-local, metadata) addresses");
    *state = w;
    return 1;
}

static void wh_destroy(void *state)
{
    wh_t *w = state;
    if (!w)
        return;
    while (w->outstanding) {
        wh_req_t *q = w->outstanding;
        w->outstanding = q->next;
        free(q);
    }
    qc_egress_destroy(w->egress);
    free(w);
}

static void on_http_done(const qc_httpc_result_t *res, void *opaque)
{
    wh_req_t *q = opaque;
    qc_send_t *s = q->s;
    wh_t *w = q->w;
    req_unlink(q);
    free(q);
    char detail[160];
    if (res->err == QC_ERR_EGRESS) {
        snprintf(detail, sizeof detail, "egress refused: %s", res->refused);
        qc_counter_add(w->m_refused, 1);
        qc_log(QC_LOG_WARN, "webhook_egress_refused", "subscriber", s->sub ? s->sub->id : "", "address",
               res->refused, "key", s->idem_key, NULL);
        s->done(s, QC_SEND_PERMANENT, -1, detail);
        return;
    }
    if (res->err) {
        snprintf(detail, sizeof detail, "%s", res->curl_error && res->curl_error[0] ? res->curl_error : "network error");
        s->done(s, QC_SEND_TRANSIENT, -1, detail);
        return;
    }
    snprintf(detail, sizeof detail, "HTTP %ld", res->status);
    qc_send_outcome_t o = qc_http_outcome(res->status, 0);
    s->done(s, o, o == QC_SEND_TRANSIENT ? res->retry_after_s : -1, o == QC_SEND_OK ? NULL : detail);
}

/* The body is written straight into a buffer rather than built as a
 * jansson tree and dumped: the profile of one dispatcher at 25k webhooks/s
 * had json_pack + json_dumps at 9% of its CPU (bench/RESULTS.md). The
 * output is byte for byte what json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(6)) gave: keys in the same order, strings escaped as
 * jansson escapes them (and refused when not UTF-8, as json_pack refused
 * them), reals as "%.6g" with ".0" added to integral values and the
 * exponent without '+' or leading zeros. */
typedef struct body_buf {
    char *p;
    size_t len, cap;
    bool bad;
} body_buf_t;

static void put(body_buf_t *b, const char *s, size_t n)
{
    if (b->bad || n > b->cap - b->len) {
        b->bad = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Length of the UTF-8 sequence starting at @p s (RFC 3629: no overlongs,
 * no surrogates, at most U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (c == 0xE0 && s[1] < 0xA0) ||
            (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
            (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

static void put_str(body_buf_t *b, const char *s)
{
    put(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    while (*u && !b->bad) {
        const unsigned char *run = u;
        /* Bytes that need no escape go in one copy. */
        while (*u >= 0x20 && *u != '"' && *u != '\\' && *u < 0x80)
            u++;
        put(b, (const char *)run, (size_t)(u - run));
        if (!*u)
            break;
        if (*u >= 0x80) {
            size_t n = utf8_len(u);
            if (!n) {
                b->bad = true;
                return;
            }
            put(b, (const char *)u, n);
            u += n;
            continue;
        }
        char esc[8];
        switch (*u) {
        case '"': put(b, "\\\"", 2); break;
        case '\\': put(b, "\\\\", 2); break;
        case '\b': put(b, "\\b", 2); break;
        case '\f': put(b, "\\f", 2); break;
        case '\n': put(b, "\\n", 2); break;
        case '\r': put(b, "\\r", 2); break;
        case '\t': put(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", *u);
            put(b, esc, 6);
        }
        u++;
    }
    put(b, "\"", 1);
}

static void put_real(body_buf_t *b, double v)
{
    if (!isfinite(v)) { /* json_real() refuses them */
        b->bad = true;
        return;
    }
    char num[40], out[40];
    int n = snprintf(num, sizeof num, "%.6g", v);
    if (n < 0 || (size_t)n >= sizeof num) {
        b->bad = true;
        return;
    }
    size_t o = 0;
    bool frac = false;
    for (int i = 0; i < n; i++) {
        if (num[i] == '.' || num[i] == 'e')
            frac = true;
        if (num[i] == 'e') {
            out[o++] = 'e';
            i++;
            if (num[i] == '-')
                out[o++] = num[i++];
            else if (num[i] == '+')
                i++;
            while (i < n - 1 && num[i] == '0')
                i++;
            while (i < n)
                out[o++] = num[i++];
            break;
        }
        out[o++] = num[i];
    }
    if (!frac) {
        out[o++] = '.';
        out[o++] = '0';
    }
    put(b, out, o);
}

static void put_key(body_buf_t *b, const char *key, bool first)
{
    if (!first)
        put(b, ",", 1);
    put_str(b, key);
    put(b, ":", 1);
}

/* The JSON body of @p s into @p buf. @returns its length, or 0 if it does
 * not fit or a string is not UTF-8. */
static size_t webhook_body(const qc_send_t *s, char *buf, size_t bufsz)
{
    static const char *const kinds[] = { "alert", "update", "cancel" };
    const qc_subscriber_t *sub = s->sub;
    const qc_msg_job_t *job = s->job;
    body_buf_t b = { .p = buf, .cap = bufsz };
    char num[32];
    put(&b, "{", 1);
    put_key(&b, "subscriber_id", true);
    put_str(&b, sub->id);
    put_key(&b, "alert_id", false);
    put_str(&b, job->alert_id);
    put_key(&b, "event_id", false);
    put_str(&b, job->event_id);
    put_key(&b, "magnitude", false);
    put_real(&b, job->mag);
    put_key(&b, "mmi", false);
    put_real(&b, s->mmi);
    put_key(&b, "seconds_to_shaking", false);
    put_real(&b, s->seconds > 0 ? s->seconds : 0.0);
    put_key(&b, "intensity_model", false); /* which equation predicted mmi */
    put_str(&b, qc_ipe_model_name((qc_ipe_model_t)job->model));
    put_key(&b, "message", false);
    put_str(&b, s->text);
    put_key(&b, "lang", false);
    put_str(&b, sub->lang);
    put_key(&b, "latitude", false);
    put_real(&b, job->lat);
    put_key(&b, "longitude", false);
    put_real(&b, job->lon);
    put_key(&b, "depth_km", false);
    put_real(&b, job->depth_km);
    put_key(&b, "origin_ms", false);
    int n = snprintf(num, sizeof num, "%lld", (long long)job->origin_ms);
    put(&b, num, (size_t)(n > 0 ? n : 0));
    put_key(&b, "kind", false);
    put_str(&b, kinds[job->kind <= QC_JOB_CANCEL ? job->kind : 0]);
    put(&b, "}", 1);
    if (b.bad || b.len >= bufsz)
        return 0;
    buf[b.len] = '\0';
    return b.len;
}

/* A one-off notice (a sign-up's verification code, notice.c), not an
 * alert: kind "verification", the notice id as alert_id (what receivers
 * de-duplicate on), the text. */
static size_t notice_body(const qc_send_t *s, char *buf, size_t bufsz)
{
    body_buf_t b = { .p = buf, .cap = bufsz };
    put(&b, "{", 1);
    put_key(&b, "kind", true);
    put_str(&b, "verification");
    put_key(&b, "subscriber_id", false);
    put_str(&b, s->sub->id);
    put_key(&b, "alert_id", false);
    put_str(&b, s->idem_key);
    put_key(&b, "message", false);
    put_str(&b, s->text);
    put_key(&b, "lang", false);
    put_str(&b, s->sub->lang);
    put(&b, "}", 1);
    if (b.bad || b.len >= bufsz)
        return 0;
    buf[b.len] = '\0';
    return b.len;
}

/* "v1,<base64>" of the message under the "whsec_..." @p secret.
 * @returns 0 or -1. */
static int webhook_sign(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t bodylen,
                        char out[QC_SIGN_V1_LEN])
{
    unsigned char key[128];
    int keylen = qc_sign_secret_decode(secret, key, sizeof key);
    if (keylen <= 0 || qc_sign_v1(key, (size_t)keylen, msg_id, ts, body, bodylen, out))
        return -1;
    return 0;
}

static int webhook_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    const qc_subscriber_t *sub = s->sub;
    int64_t ts = qc_wall_ms() / 1000;
    /* Bounded inputs (ids, a 512-byte text) fit with every byte escaped. */
    char json[8192];
    size_t jl = s->subject ? notice_body(s, json, sizeof json) : webhook_body(s, json, sizeof json);
    if (!jl)
        return -1;
    /* Standard Webhooks 1.0.0 (spec/standard-webhooks.md, "Webhook
     * headers"): webhook-signature is a space-delimited list so that a
     * secret can be rotated with no downtime: the message is signed with
     * the current key and, for a set period, the old one, and the
     * consumer accepts it if any signature matches. */
    char sig[QC_SIGN_V1_LEN], prev_sig[QC_SIGN_V1_LEN];
    if (webhook_sign(sub->webhook_secret, s->idem_key, ts, json, jl, sig))
        return -1;
    bool rotating = sub->webhook_prev_secret[0] && ts < sub->webhook_prev_until;
    if (rotating && webhook_sign(sub->webhook_prev_secret, s->idem_key, ts, json, jl, prev_sig))
        return -1;
    char h_id[200], h_ts[64], h_sig[32 + 2 * QC_SIGN_V1_LEN];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", s->idem_key);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", (long long)ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s%s%s", sig, rotating ? " " : "", rotating ? prev_sig : "");
    const char *headers[] = { "Content-Type: application/json", h_id, h_ts, h_sig, "User-Agent: quakecast/0.1", NULL };
    wh_req_t *q = malloc(sizeof *q);
    if (!q)
        return -1;
    q->s = s;
    q->w = state;
    q->prev = NULL;
    q->next = q->w->outstanding;
    if (q->next)
        q->next->prev = q;
    q->w->outstanding = q;
    /* httpc copies the body. */
    int rc = qc_httpc_request_egress(d->http, q->w->egress, "POST", sub->webhook_url, headers, json, jl,
                                     on_http_done, q);
    if (rc) {
        req_unlink(q);
        free(q);
    }
    return rc;
}

const qc_channel_driver_t qc_channel_webhook = {
    .name = "webhook", .init = wh_init, .destroy = wh_destroy, .send = webhook_send
};
