/* api/signup.c: public self-service sign-up (issue 6).
 *
 *   POST /v1/subscribers             -> 202, a pending sign-up; one code per
 *                                       channel goes out through the
 *                                       dispatchers (quake.notices)
 *   POST /v1/subscribers/{id}/verify -> 201, the subscriber is stored and a
 *                                       management token returned, once
 *
 * Nothing reaches the registry before every code was given back: the
 * pending sign-up lives in qc:{reg}:pend:<id> (sub_pending.lua) until it expires,
 * and sub_verify.lua stores the record, the token's hash and the consent in
 * one step. Rate limits (client address; each destination: phone number,
 * e-mail address, chat, URL) are fixed windows in Redis, checked in the same
 * script that stores, so a refused request stores nothing. */
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiutil.h"
#include "qc/clock.h"
#include "qc/log.h"
#include "qc/msg.h"
#include "qc/subscriber.h"

#define CODE_LEN 6

typedef struct signup {
    qc_proc_t *p;
    struct evhttp_request *req;
    qc_subscriber_t sub;
    char codes[QC_CH_COUNT_][CODE_LEN + 1];
    const char *dest_field[QC_CH_COUNT_]; /* field of each destination, in ARGV order */
    int ndest;
} signup_t;

static const char *const public_keys[] = { "lat", "lon", "lang", "min_mmi", "channels", NULL };

static const char *channel_field(int c)
{
    switch (c) {
    case QC_CH_SMS: return "channels.sms.phone";
    case QC_CH_EMAIL: return "channels.email.address";
    case QC_CH_WEBHOOK: return "channels.webhook.url";
    case QC_CH_TELEGRAM: return "channels.telegram.chat_id";
    case QC_CH_PUSH: return "channels.push.token";
    default: return "channels";
    }
}

static const char *channel_dest(const qc_subscriber_t *s, int c)
{
    switch (c) {
    case QC_CH_SMS: return s->sms_phone;
    case QC_CH_EMAIL: return s->email;
    case QC_CH_WEBHOOK: return s->webhook_url;
    case QC_CH_TELEGRAM: return s->telegram_chat;
    case QC_CH_PUSH: return s->push_token;
    default: return "";
    }
}

/* Rate-limit keys carry a salted hash, never an address or a number. */
static void limit_key(const qc_proc_t *p, char *out, size_t outsz, const char *kind, const char *what)
{
    char salt[65], h[65];
    for (int i = 0; i < 32; i++)
        snprintf(salt + 2 * i, 3, "%02x", p->token_sha[i]);
    qc_api_sha256_hex(h, salt, ":", kind, ":", what, NULL);
    snprintf(out, outsz, "qc:{reg}:rl:%s:%.32s", kind, h);
}

static void code_hash(char out[65], const char *id, const char *channel, const char *code)
{
    qc_api_sha256_hex(out, "code:", id, ":", channel, ":", code, NULL);
}

static bool is_ro(const char *lang) { return !strncmp(lang, "ro", 2); }

static void render_code(const qc_subscriber_t *s, const char *code, long ttl_s, char *text, size_t textsz,
                        char *subject, size_t subjsz)
{
    long min = (ttl_s + 59) / 60;
    if (is_ro(s->lang)) {
        snprintf(text, textsz,
                 "quakecast: codul tău de verificare este %s. Expiră în %ld minute. "
                 "Dacă nu l-ai cerut, ignoră acest mesaj.", code, min);
        snprintf(subject, subjsz, "Codul tău de verificare quakecast");
    } else {
        snprintf(text, textsz,
                 "quakecast: your verification code is %s. It expires in %ld minutes. "
                 "If you did not ask for it, ignore this message.", code, min);
        snprintf(subject, subjsz, "Your quakecast verification code");
    }
}

static void reject(signup_t *su, int status, const char *code, const char *msg, const char *field)
{
    qc_counter_add(su->p->selfsvc->m_signup_rejected, 1);
    struct evhttp_request *req = qc_http_take(&su->req);
    if (req)
        qc_http_reply_error(req, status, code, msg, field);
}

static int send_notices(signup_t *su)
{
    qc_proc_t *p = su->p;
    msgpack_sbuffer rec;
    msgpack_sbuffer_init(&rec);
    int rc = qc_subscriber_pack(&su->sub, &rec);
    for (int c = 0; c < QC_CH_NULL && rc == 0; c++) {
        if (!(su->sub.channels & (1u << c)))
            continue;
        qc_msg_notice_t n;
        memset(&n, 0, sizeof n);
        snprintf(n.id, sizeof n.id, "vfy-%s-%s", su->sub.id, qc_channel_name((qc_channel_t)c));
        snprintf(n.kind, sizeof n.kind, "verify");
        n.channel = c;
        render_code(&su->sub, su->codes[c], p->conf.verify_ttl_s, n.text, sizeof n.text, n.subject,
                    sizeof n.subject);
        n.expires_ms = qc_wall_ms() + p->conf.verify_ttl_s * 1000;
        n.record = rec.data;
        n.record_len = rec.size;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        rc = qc_msg_notice_pack(&n, &sb);
        if (!rc)
            rc = qc_kprod_send(p->producer, QC_TOPIC_NOTICES, su->sub.id, strlen(su->sub.id), sb.data, sb.size,
                               NULL, NULL);
        msgpack_sbuffer_destroy(&sb);
        if (rc == 0)
            qc_counter_add(p->selfsvc->m_notices, 1);
        else
            qc_counter_add(p->selfsvc->m_notices_failed, 1);
    }
    msgpack_sbuffer_destroy(&rec);
    return rc;
}

static void on_pending(redisReply *r, void *opaque)
{
    signup_t *su = opaque;
    qc_proc_t *p = su->p;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING) {
        reject(su, 503, "unavailable", "Redis unavailable", NULL);
        goto out;
    }
    if (!strcmp(r->element[0]->str, "RATE") && r->elements == 4) {
        bool ip = !strcmp(r->element[1]->str, "ip");
        long idx = (long)r->element[2]->integer;
        long ttl = (long)r->element[3]->integer;
        qc_counter_add(p->selfsvc->m_signup_limited, 1);
        struct evhttp_request *req = qc_http_take(&su->req);
        if (req)
            qc_api_reply_limited(req, ttl, "rate_limited",
                                 ip ? "too many sign-ups from this address; try later"
                                    : "too many sign-ups for this destination; try later",
                                 ip ? "client" : (idx >= 0 && idx < su->ndest ? su->dest_field[idx] : "channels"));
        goto out;
    }
    if (send_notices(su)) {
        reject(su, 503, "unavailable", "cannot queue the verification message; try again", NULL);
        goto out;
    }
    qc_counter_add(p->selfsvc->m_signup_pending, 1);
    char chans[16], verify[128];
    snprintf(chans, sizeof chans, "%x", su->sub.channels);
    qc_log(QC_LOG_INFO, "signup_pending", "subscriber_id", su->sub.id, "channels", chans, NULL);
    struct evhttp_request *req = qc_http_take(&su->req);
    if (req) {
        json_t *ch = json_array();
        for (int c = 0; c < QC_CH_NULL; c++)
            if (su->sub.channels & (1u << c))
                json_array_append_new(ch, json_string(qc_channel_name((qc_channel_t)c)));
        snprintf(verify, sizeof verify, "/v1/subscribers/%s/verify", su->sub.id);
        qc_http_reply_json(req, 202, json_pack("{s:s,s:s,s:o,s:I,s:s}", "id", su->sub.id, "status",
                                               "pending_verification", "channels", ch, "expires_in",
                                               (json_int_t)p->conf.verify_ttl_s, "verify_url", verify));
    }
out:
    free(su);
}

static bool prefix_allowed(const qc_selfsvc_t *ss, const char *phone)
{
    if (!ss->n_sms_prefixes)
        return true;
    for (size_t i = 0; i < ss->n_sms_prefixes; i++)
        if (!strncmp(phone, ss->sms_prefixes[i], strlen(ss->sms_prefixes[i])))
            return true;
    return false;
}

void qc_api_signup(qc_proc_t *p, struct evhttp_request *req)
{
    json_t *doc = qc_api_json_body(p, req, (size_t)p->conf.public_max_bytes);
    if (!doc) {
        qc_counter_add(p->selfsvc->m_signup_rejected, 1);
        return;
    }
    signup_t *su = calloc(1, sizeof *su);
    if (!su) {
        json_decref(doc);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    su->p = p;
    qc_http_hold(req, &su->req);
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        bool known = false;
        for (int i = 0; public_keys[i]; i++)
            known |= !strcmp(key, public_keys[i]);
        if (!known) {
            /* "id" too: ids of self-service subscribers are ours, random,
             * so nobody can guess or squat another person's. */
            char field[80];
            snprintf(field, sizeof field, "%.70s", key);
            json_decref(doc);
            reject(su, 422, "unknown_field", "unknown field", field);
            free(su);
            return;
        }
    }
    qc_sub_policy_t pol = { .allow_private_webhooks = p->conf.signup_allow_private != 0,
                            .default_min_mmi = (int)p->conf.default_min_mmi };
    const char *code = NULL, *field = NULL;
    char msg[256];
    int rc = qc_subscriber_from_json(doc, &pol, &su->sub, &code, &field, msg, sizeof msg);
    json_decref(doc);
    if (rc) {
        reject(su, 422, code, msg, field);
        free(su);
        return;
    }
    if (su->sub.channels & (1u << QC_CH_NULL)) {
        reject(su, 422, "unknown_channel", "unknown channel \"null\"", "channels");
        free(su);
        return;
    }
    if ((su->sub.channels & (1u << QC_CH_SMS)) && !prefix_allowed(p->selfsvc, su->sub.sms_phone)) {
        reject(su, 422, "phone_country_not_served", "codes are sent only to the countries this service covers",
               "channels.sms.phone");
        free(su);
        return;
    }
    char pend_key[96], cell[32], mmi[8], ttl[16], window[16], ip_limit[16], dest_limit[16];
    char ip[64], ip_key[64], dest_keys[QC_CH_COUNT_][64];
    json_t *codes = json_object();
    for (int c = 0; c < QC_CH_NULL; c++) {
        if (!(su->sub.channels & (1u << c)))
            continue;
        char h[65];
        if (qc_api_random_code(su->codes[c])) {
            json_decref(codes);
            reject(su, 500, "internal", "no randomness", NULL);
            free(su);
            return;
        }
        code_hash(h, su->sub.id, qc_channel_name((qc_channel_t)c), su->codes[c]);
        json_object_set_new(codes, qc_channel_name((qc_channel_t)c), json_string(h));
        char dest[600];
        snprintf(dest, sizeof dest, "%s:%s", qc_channel_name((qc_channel_t)c), channel_dest(&su->sub, c));
        if (c == QC_CH_EMAIL)
            for (char *q = dest; *q; q++) /* one mailbox, however it is spelled */
                *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
        limit_key(p, dest_keys[su->ndest], sizeof dest_keys[0], "su:to", dest);
        su->dest_field[su->ndest++] = channel_field(c);
    }
    char *codes_json = json_dumps(codes, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(codes);
    msgpack_sbuffer rec;
    msgpack_sbuffer_init(&rec);
    if (!codes_json || qc_subscriber_pack(&su->sub, &rec)) {
        free(codes_json);
        msgpack_sbuffer_destroy(&rec);
        reject(su, 500, "internal", "out of memory", NULL);
        free(su);
        return;
    }
    snprintf(pend_key, sizeof pend_key, "qc:{reg}:pend:%s", su->sub.id);
    qc_seg_group(&su->sub, cell, sizeof cell);
    snprintf(mmi, sizeof mmi, "%d", su->sub.min_mmi);
    snprintf(ttl, sizeof ttl, "%ld", p->conf.verify_ttl_s);
    snprintf(window, sizeof window, "%ld", p->conf.limit_window_s);
    snprintf(ip_limit, sizeof ip_limit, "%ld", p->conf.limit_signup_ip);
    snprintf(dest_limit, sizeof dest_limit, "%ld", p->conf.limit_signup_dest);
    qc_api_client_addr(p, req, ip, sizeof ip);
    limit_key(p, ip_key, sizeof ip_key, "su:ip", ip);
    const char *argv[10 + 2 * QC_CH_COUNT_];
    size_t lens[10 + 2 * QC_CH_COUNT_];
    int n = 0;
#define ARG(s, l) (argv[n] = (s), lens[n] = (l), n++)
    ARG(pend_key, strlen(pend_key));
    ARG(su->sub.id, strlen(su->sub.id));
    ARG(rec.data, rec.size);
    ARG(cell, strlen(cell));
    ARG(mmi, strlen(mmi));
    ARG(codes_json, strlen(codes_json));
    ARG(ttl, strlen(ttl));
    ARG(window, strlen(window));
    ARG(ip_key, strlen(ip_key));
    ARG(ip_limit, strlen(ip_limit));
    for (int d = 0; d < su->ndest; d++) {
        ARG(dest_keys[d], strlen(dest_keys[d]));
        ARG(dest_limit, strlen(dest_limit));
    }
#undef ARG
    if (qc_redis_script(p->redis, QC_SCRIPT_SUB_PENDING, 0, n, argv, lens, on_pending, su))
        on_pending(NULL, su);
    free(codes_json);
    msgpack_sbuffer_destroy(&rec);
}

/* ---- verification ---- */

typedef struct verify {
    qc_proc_t *p;
    struct evhttp_request *req;
    char id[65];
    char token[96];
} verify_t;

static bool six_digits(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strlen(s) == CODE_LEN && strspn(s, "0123456789") == CODE_LEN;
}

static void on_verified(redisReply *r, void *opaque)
{
    verify_t *vf = opaque;
    qc_selfsvc_t *ss = vf->p->selfsvc;
    struct evhttp_request *req = qc_http_take(&vf->req);
    const char *st = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                             r->element[0]->type == REDIS_REPLY_STRING
                         ? r->element[0]->str
                         : NULL;
    if (!st) {
        if (req)
            qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
    } else if (!strcmp(st, "OK")) {
        qc_counter_add(ss->m_verify_ok, 1);
        qc_log(QC_LOG_INFO, "signup_verified", "subscriber_id", vf->id, NULL);
        if (req)
            qc_http_reply_json(req, 201, json_pack("{s:s,s:s,s:s}", "id", vf->id, "token", vf->token, "status",
                                                   "active"));
    } else if (!strcmp(st, "WRONG")) {
        qc_counter_add(ss->m_verify_wrong, 1);
        if (req) {
            json_t *e = json_pack("{s:s,s:s,s:s,s:I}", "code", "wrong_code", "message", "the code is not right",
                                  "field", "code", "tries_left",
                                  (json_int_t)(r->elements > 1 ? r->element[1]->integer : 0));
            qc_http_reply_json(req, 422, json_pack("{s:o}", "error", e));
        }
    } else if (!strcmp(st, "LOCKED")) {
        qc_counter_add(ss->m_verify_locked, 1);
        if (req)
            qc_http_reply_error(req, 429, "too_many_attempts",
                                "too many wrong codes: this sign-up is locked; sign up again later", "code");
    } else if (!strcmp(st, "RATE")) {
        qc_counter_add(ss->m_verify_limited, 1);
        if (req)
            qc_api_reply_limited(req, r->elements > 1 ? (long)r->element[1]->integer : 60, "rate_limited",
                                 "too many verification attempts from this address; try later", "client");
    } else {
        if (req)
            qc_http_reply_error(req, 404, "not_found", "no pending sign-up with this id (expired?)", "id");
    }
    free(vf);
}

void qc_api_verify(qc_proc_t *p, struct evhttp_request *req, const char *id)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
        return;
    }
    json_t *doc = qc_api_json_body(p, req, (size_t)p->conf.public_max_bytes);
    if (!doc)
        return;
    json_t *got = json_object();
    const char *key;
    json_t *v;
    const char *bad = NULL, *badcode = "invalid_code";
    json_object_foreach(doc, key, v) {
        if (!strcmp(key, "code")) {
            if (!six_digits(v)) {
                bad = "code";
                break;
            }
            /* One code for whichever channel the sign-up has. */
            for (int c = 0; c < QC_CH_NULL; c++) {
                char h[65];
                code_hash(h, id, qc_channel_name((qc_channel_t)c), json_string_value(v));
                json_object_set_new(got, qc_channel_name((qc_channel_t)c), json_string(h));
            }
        } else if (!strcmp(key, "codes") && json_is_object(v) && json_object_size(v) > 0) {
            const char *ch;
            json_t *cv;
            json_object_foreach(v, ch, cv) {
                int c = qc_channel_from_name(ch);
                if (c < 0 || c == QC_CH_NULL || !six_digits(cv)) {
                    bad = c < 0 || c == QC_CH_NULL ? "codes" : "codes.<channel>";
                    badcode = c < 0 || c == QC_CH_NULL ? "unknown_channel" : "invalid_code";
                    break;
                }
                char h[65];
                code_hash(h, id, ch, json_string_value(cv));
                json_object_set_new(got, ch, json_string(h));
            }
            if (bad)
                break;
        } else {
            bad = key;
            badcode = !strcmp(key, "codes") ? "invalid_code" : "unknown_field";
            break;
        }
    }
    if (!bad && json_object_size(got) == 0) {
        bad = "code";
        badcode = "missing_code";
    }
    if (bad) {
        char field[80];
        snprintf(field, sizeof field, "%.70s", bad);
        json_decref(got);
        json_decref(doc);
        qc_counter_add(p->selfsvc->m_verify_wrong, 1);
        qc_http_reply_error(req, 422, badcode, "give the code as {\"code\":\"123456\"} or {\"codes\":{\"sms\":\"123456\"}}",
                            field);
        return;
    }
    json_decref(doc);
    char *got_json = json_dumps(got, JSON_COMPACT);
    json_decref(got);
    verify_t *vf = calloc(1, sizeof *vf);
    char tok_hash[65];
    if (!vf || !got_json || qc_api_random_token("qcs_", vf->token, sizeof vf->token)) {
        free(vf);
        free(got_json);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    vf->p = p;
    snprintf(vf->id, sizeof vf->id, "%s", id);
    qc_api_sha256_hex(tok_hash, vf->token, NULL);
    char pend_key[96], idxk[32], maxsize[24], meta_key[96], now[40], tries[16], ip[64], ip_key[64], limit[16],
        window[16];
    snprintf(pend_key, sizeof pend_key, "qc:{reg}:pend:%s", id);
    qc_sub_index_key(id, idxk, sizeof idxk);
    snprintf(maxsize, sizeof maxsize, "%ld", p->sizing.segment_size);
    snprintf(meta_key, sizeof meta_key, "qc:{reg}:subm:%s", id);
    qc_api_now_iso(now, sizeof now);
    snprintf(tries, sizeof tries, "%ld", p->conf.verify_max_tries);
    qc_api_client_addr(p, req, ip, sizeof ip);
    limit_key(p, ip_key, sizeof ip_key, "vf:ip", ip);
    snprintf(limit, sizeof limit, "%ld", p->conf.limit_verify_ip);
    snprintf(window, sizeof window, "%ld", p->conf.limit_window_s);
    const char *argv[] = { pend_key, got_json, tries, idxk, maxsize, meta_key, tok_hash, now, ip_key, limit, window };
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = strlen(argv[i]);
    qc_http_hold(req, &vf->req);
    if (qc_redis_script(p->redis, QC_SCRIPT_SUB_VERIFY, 0, 11, argv, lens, on_verified, vf))
        on_verified(NULL, vf);
    free(got_json);
}
