/* api/sms_inbound.c: POST /v1/sms/inbound, the webhook Twilio calls for an
 * incoming SMS (https://www.twilio.com/docs/messaging/guides/webhook-request:
 * form-encoded From, To, Body, MessageSid, AccountSid, ...).
 *
 * The request must carry X-Twilio-Signature as Twilio's docs define it
 * (https://www.twilio.com/docs/usage/security#validating-requests): take
 * the full URL Twilio was configured with (QUAKECAST_PUBLIC_URL + the path
 * and query as received; without it http://<Host>), append every POST
 * parameter's name and value, sorted by name in case-sensitive byte order,
 * without delimiters; HMAC-SHA1 that with the account's auth token as key;
 * base64. Anything else is refused with 403 and changes nothing.
 *
 * A body that is one opt-out keyword (STOP, STOPALL, UNSUBSCRIBE, CANCEL,
 * END, QUIT, and Twilio's newer OPTOUT, REVOKE) marks the SMS channel of
 * every subscriber with that number dead, so no alert goes there; an
 * opt-in keyword (START, UNSTOP, YES) clears it
 * (https://help.twilio.com/articles/223134027). Keywords are matched on the
 * whole trimmed body without regard to case, as Twilio does. The time of
 * each is kept in the consent record. The answer is empty TwiML: Twilio's
 * Advanced Opt-Out sends the confirmation itself. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "apiutil.h"
#include "qc/err.h"
#include "qc/log.h"
#include "qc/sign.h"
#include "qc/subscriber.h"

static const char *const stop_words[] = { "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                                          "OPTOUT", "REVOKE", NULL };
static const char *const start_words[] = { "START", "UNSTOP", "YES", NULL };

typedef struct inbound {
    qc_proc_t *p;
    struct evhttp_request *req;
    bool stop;
    char phone[32];
    char now[40];
    long outstanding;
} inbound_t;

static void twiml_reply(struct evhttp_request *req)
{
    static const char body[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
    struct evbuffer *out = evbuffer_new();
    if (out)
        evbuffer_add(out, body, sizeof body - 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/xml");
    evhttp_send_reply(req, 200, "OK", out);
    if (out)
        evbuffer_free(out);
}

static void inbound_done(inbound_t *in)
{
    if (--in->outstanding > 0)
        return;
    struct evhttp_request *req = qc_http_take(&in->req);
    if (req)
        twiml_reply(req);
    free(in);
}

static void on_marked(redisReply *r, void *opaque)
{
    inbound_t *in = opaque;
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != 1)
        qc_log(QC_LOG_WARN, "sms_keyword_not_applied", "reason",
               r ? "record changed meanwhile" : "Redis unavailable", NULL);
    inbound_done(in);
}

static void on_meta(redisReply *r, void *opaque)
{
    inbound_done(opaque);
}

static void on_phone(redisReply *r, void *opaque)
{
    inbound_t *in = opaque;
    char masked[40];
    qc_mask_pii(in->phone, masked, sizeof masked);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        struct evhttp_request *req = qc_http_take(&in->req);
        if (req) /* Twilio retries on 5xx: the opt-out is not lost */
            qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
        free(in);
        return;
    }
    char n[16];
    snprintf(n, sizeof n, "%zu", r->elements / 4);
    qc_log(QC_LOG_INFO, in->stop ? "sms_opt_out" : "sms_opt_in", "phone", masked, "subscribers", n, NULL);
    in->outstanding = 1;
    for (size_t i = 0; i + 3 < r->elements; i += 4) {
        redisReply *id = r->element[i], *seg = r->element[i + 1], *slot = r->element[i + 2],
                   *rec = r->element[i + 3];
        qc_subscriber_t s;
        char err[128];
        if (id->type != REDIS_REPLY_STRING || seg->type != REDIS_REPLY_STRING || slot->type != REDIS_REPLY_STRING ||
            rec->type != REDIS_REPLY_STRING || qc_subscriber_unpack(rec->str, rec->len, &s, err, sizeof err))
            continue;
        unsigned bit = 1u << QC_CH_SMS;
        unsigned dead = in->stop ? (s.dead | bit) : (s.dead & ~bit);
        if (dead != s.dead) {
            s.dead = dead;
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            if (!qc_subscriber_pack(&s, &sb)) {
                char key[64];
                snprintf(key, sizeof key, "qc:seg:{%s}:r", seg->str);
                const char *argv[] = { key, slot->str, rec->str, sb.data };
                size_t lens[] = { strlen(key), slot->len, rec->len, sb.size };
                if (qc_redis_script(in->p->redis, QC_SCRIPT_SUB_MARK_DEAD, 1, 4, argv, lens, on_marked, in) == 0)
                    in->outstanding++;
            }
            msgpack_sbuffer_destroy(&sb);
        }
        char meta[96];
        snprintf(meta, sizeof meta, "qc:{reg}:subm:%s", id->str);
        int rc = in->stop ? qc_redis_cmd(in->p->redis, on_meta, in, "HSET %s sms_stop %s", meta, in->now)
                          : qc_redis_cmd(in->p->redis, on_meta, in, "HSET %s sms_start %s", meta, in->now);
        if (rc == 0)
            in->outstanding++;
        if (!in->stop && qc_redis_cmd(in->p->redis, on_meta, in, "HDEL %s sms_stop", meta) == 0)
            in->outstanding++;
    }
    qc_counter_add(in->stop ? in->p->selfsvc->m_sms_stop : in->p->selfsvc->m_sms_start, 1);
    inbound_done(in);
}

static int cmp_kv(const void *a, const void *b)
{
    const struct evkeyval *x = *(const struct evkeyval *const *)a, *y = *(const struct evkeyval *const *)b;
    return strcmp(x->key, y->key);
}

/* True when X-Twilio-Signature matches (constant-time compare). */
static bool signature_ok(const qc_proc_t *p, struct evhttp_request *req, struct evkeyvalq *params)
{
    const char *sig = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Twilio-Signature");
    if (!sig)
        return false;
    struct evbuffer *data = evbuffer_new();
    if (!data)
        return false;
    const char *uri = evhttp_request_get_uri(req);
    if (p->conf.public_url[0]) {
        size_t bl = strlen(p->conf.public_url);
        while (bl && p->conf.public_url[bl - 1] == '/')
            bl--;
        evbuffer_add(data, p->conf.public_url, bl);
    } else {
        const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
        evbuffer_add_printf(data, "http://%s", host ? host : "");
    }
    evbuffer_add(data, uri, strlen(uri));
    size_t n = 0;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, params, next)
        n++;
    const struct evkeyval **sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!sorted) {
        evbuffer_free(data);
        return false;
    }
    size_t i = 0;
    TAILQ_FOREACH(kv, params, next)
        sorted[i++] = kv;
    qsort(sorted, n, sizeof *sorted, cmp_kv);
    for (i = 0; i < n; i++) {
        evbuffer_add(data, sorted[i]->key, strlen(sorted[i]->key));
        evbuffer_add(data, sorted[i]->value, strlen(sorted[i]->value));
    }
    free(sorted);
    size_t len = evbuffer_get_length(data);
    const unsigned char *bytes = evbuffer_pullup(data, -1);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    bool ok = false;
    char want[64];
    if (HMAC(EVP_sha1(), p->conf.twilio_auth_token, (int)strlen(p->conf.twilio_auth_token), bytes, len, mac,
             &maclen) &&
        qc_base64_encode(mac, maclen, want, sizeof want) > 0) {
        size_t wl = strlen(want);
        ok = strlen(sig) == wl && CRYPTO_memcmp(sig, want, wl) == 0;
    }
    evbuffer_free(data);
    return ok;
}

static bool word_in(const char *w, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcasecmp(w, list[i]))
            return true;
    return false;
}

void qc_api_sms_inbound(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    qc_selfsvc_t *ss = p->selfsvc;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
        return;
    }
    if (!p->conf.twilio_auth_token[0]) {
        qc_http_reply_error(req, 404, "not_configured", "inbound SMS needs QUAKECAST_TWILIO_AUTH_TOKEN", NULL);
        return;
    }
    char *body = NULL;
    size_t len = 0;
    int rc = qc_http_body(req, (size_t)p->conf.public_max_bytes, &body, &len);
    if (rc) {
        qc_http_reply_error(req, rc == QC_ERR_TOOBIG ? 413 : 500, rc == QC_ERR_TOOBIG ? "too_large" : "internal",
                            "request body too large", NULL);
        return;
    }
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (memchr(body, '\0', len) || evhttp_parse_query_str(body, &params) != 0) {
        free(body);
        evhttp_clear_headers(&params);
        qc_http_reply_error(req, 400, "invalid_form", "the body must be application/x-www-form-urlencoded", NULL);
        return;
    }
    free(body);
    if (!signature_ok(p, req, &params)) {
        evhttp_clear_headers(&params);
        qc_counter_add(ss->m_sms_bad_sig, 1);
        qc_log(QC_LOG_WARN, "sms_inbound_bad_signature", NULL);
        qc_http_reply_error(req, 403, "bad_signature", "X-Twilio-Signature does not match", NULL);
        return;
    }
    const char *from = evhttp_find_header(&params, "From");
    const char *text = evhttp_find_header(&params, "Body");
    char word[32] = "";
    if (text) {
        while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
            text++;
        size_t n = strlen(text);
        while (n && strchr(" \t\r\n.!", text[n - 1]))
            n--;
        if (n < sizeof word)
            snprintf(word, sizeof word, "%.*s", (int)n, text);
    }
    bool stop = word_in(word, stop_words), start = word_in(word, start_words);
    if ((!stop && !start) || !from || strlen(from) >= sizeof ((inbound_t *)0)->phone) {
        evhttp_clear_headers(&params);
        qc_counter_add(ss->m_sms_other, 1);
        twiml_reply(req);
        return;
    }
    inbound_t *in = calloc(1, sizeof *in);
    if (!in) {
        evhttp_clear_headers(&params);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    in->p = p;
    in->stop = stop;
    snprintf(in->phone, sizeof in->phone, "%s", from);
    evhttp_clear_headers(&params);
    qc_api_now_iso(in->now, sizeof in->now);
    qc_http_hold(req, &in->req);
    const char *argv[] = { in->phone };
    size_t lens[] = { strlen(in->phone) };
    if (qc_redis_script(p->redis, QC_SCRIPT_SUB_PHONE, 0, 1, argv, lens, on_phone, in))
        on_phone(NULL, in);
}
