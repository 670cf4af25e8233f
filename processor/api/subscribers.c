/* api/subscribers.c: one subscriber, and the admin's views of them all.
 *
 *   GET | PATCH | DELETE /v1/subscribers/{id}   admin token, or the
 *       subscriber's own management token (from verification): a token
 *       opens its own subscriber only; any other id answers 403, existing
 *       or not, so a token tells nothing about other people.
 *   POST /v1/subscribers/{id}/verify            signup.c
 *   GET  /v1/subscribers?cursor=&limit=&...     admin: one page
 *   GET  /v1/subscribers/export                 admin: NDJSON of everyone
 *
 * GET shows the stored document (channels a provider declared gone, or the
 * person stopped by SMS, carry "dead": true) with the consent record.
 * PATCH changes location, language and threshold, and removes channels
 * ("sms": null); a subscriber cannot add or change an address with PATCH,
 * since that address was never verified; the admin can. Dead marks are kept
 * across a PATCH, so changing the threshold does not undo a STOP. The write
 * is a compare-and-set against the record read (sub_upsert's expected
 * record): a concurrent change answers 409.
 * DELETE erases the person from every registry structure (sub_delete.lua):
 * segment slot, index, phone index, token, consent, pending sign-up. */
#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiutil.h"
#include "qc/log.h"
#include "qc/subscriber.h"

static bool valid_id(const char *s, size_t n)
{
    return n > 0 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

typedef struct one {
    qc_proc_t *p;
    struct evhttp_request *req;
    enum evhttp_cmd_type cmd;
    bool admin;
    char id[65];
    char tok_hash[65];    /* of the bearer, when not admin */
    json_t *patch;        /* PATCH body */
    char *old;            /* PATCH: the record read, for the compare-and-set */
    size_t oldlen;
    json_t *reply;        /* PATCH: the document stored */
} one_t;

static void one_free(one_t *o)
{
    json_decref(o->patch);
    json_decref(o->reply);
    free(o->old);
    free(o);
}

static void one_error(one_t *o, int status, const char *code, const char *msg, const char *field)
{
    struct evhttp_request *req = qc_http_take(&o->req);
    if (req)
        qc_http_reply_error(req, status, code, msg, field);
    one_free(o);
}

static json_t *consent_of(redisReply *r)
{
    /* r = {record, tok, consent, created, sms_stop, sms_start} */
    json_t *c = NULL;
    if (r->element[2]->type == REDIS_REPLY_STRING)
        c = json_loads(r->element[2]->str, 0, NULL);
    if (!json_is_object(c)) {
        json_decref(c);
        /* No self-service record: an operator imported this person. */
        c = json_pack("{s:s}", "source", "operator_import");
    }
    json_t *sms = json_object_get(c, "sms");
    if (r->element[4]->type == REDIS_REPLY_STRING || r->element[5]->type == REDIS_REPLY_STRING) {
        if (!sms) {
            sms = json_object();
            json_object_set_new(c, "sms", sms);
        }
        if (r->element[4]->type == REDIS_REPLY_STRING)
            json_object_set_new(sms, "opted_out_at", json_string(r->element[4]->str));
        if (r->element[5]->type == REDIS_REPLY_STRING)
            json_object_set_new(sms, "opted_in_at", json_string(r->element[5]->str));
    }
    return c;
}

static void on_deleted(redisReply *r, void *opaque)
{
    one_t *o = opaque;
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        one_error(o, 503, "unavailable", "Redis unavailable", NULL);
        return;
    }
    if (r->integer == 0) {
        one_error(o, 404, "not_found", "no such subscriber", "id");
        return;
    }
    qc_counter_add(o->p->selfsvc->m_deleted, 1);
    qc_log(QC_LOG_INFO, "subscriber_deleted", "subscriber_id", o->id, "by", o->admin ? "admin" : "self", NULL);
    struct evhttp_request *req = qc_http_take(&o->req);
    if (req)
        qc_http_reply_json(req, 204, NULL);
    one_free(o);
}

static void do_delete(one_t *o)
{
    char idxk[32];
    qc_sub_index_key(o->id, idxk, sizeof idxk);
    const char *argv[] = { idxk, o->id };
    size_t lens[] = { strlen(idxk), strlen(o->id) };
    if (qc_redis_script(o->p->redis, QC_SCRIPT_SUB_DELETE, 0, 2, argv, lens, on_deleted, o))
        on_deleted(NULL, o);
}

static void on_patched(redisReply *r, void *opaque)
{
    one_t *o = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING) {
        one_error(o, 503, "unavailable", "Redis unavailable", NULL);
        return;
    }
    if (!strcmp(r->element[0]->str, "conflict")) {
        one_error(o, 409, "conflict", "the subscriber changed meanwhile; read it again and retry", NULL);
        return;
    }
    qc_counter_add(o->p->selfsvc->m_patched, 1);
    struct evhttp_request *req = qc_http_take(&o->req);
    if (req) {
        qc_http_reply_json(req, 200, o->reply);
        o->reply = NULL;
    }
    one_free(o);
}

static const char *const patch_keys[] = { "lat", "lon", "lang", "min_mmi", "channels", NULL };

/* Applies o->patch to the stored subscriber @p cur and stores it. */
static void do_patch(one_t *o, const qc_subscriber_t *cur)
{
    qc_proc_t *p = o->p;
    json_t *doc = qc_subscriber_to_json(cur);
    if (!doc) {
        one_error(o, 500, "internal", "out of memory", NULL);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o->patch, key, v) {
        bool known = false;
        for (int i = 0; patch_keys[i]; i++)
            known |= !strcmp(key, patch_keys[i]);
        char field[96];
        snprintf(field, sizeof field, "%.70s", key);
        if (!known) {
            json_decref(doc);
            one_error(o, 422, "unknown_field", "this field cannot be changed", field);
            return;
        }
        if (strcmp(key, "channels")) {
            json_object_set(doc, key, v);
            continue;
        }
        if (!json_is_object(v)) {
            json_decref(doc);
            one_error(o, 422, "invalid_channel", "channels must be an object", "channels");
            return;
        }
        json_t *ch = json_object_get(doc, "channels");
        const char *name;
        json_t *cv;
        json_object_foreach(v, name, cv) {
            snprintf(field, sizeof field, "channels.%.60s", name);
            if (json_is_null(cv)) {
                json_object_del(ch, name);
            } else if (!o->admin) {
                json_decref(doc);
                one_error(o, 403, "verification_required",
                          "a new or changed address must be verified: sign up with it", field);
                return;
            } else {
                json_object_set(ch, name, cv);
            }
        }
    }
    qc_sub_policy_t pol = { .allow_private_webhooks = o->admin ? p->conf.webhook_allow_private != 0
                                                                : p->conf.signup_allow_private != 0,
                            .default_min_mmi = (int)p->conf.default_min_mmi };
    qc_subscriber_t next;
    const char *code = NULL, *field = NULL;
    char msg[256];
    int rc = qc_subscriber_from_json(doc, &pol, &next, &code, &field, msg, sizeof msg);
    json_decref(doc);
    if (rc) {
        one_error(o, 422, code, msg, field);
        return;
    }
    /* A channel whose address did not change keeps its dead mark. */
    for (int c = 0; c < QC_CH_COUNT_; c++) {
        if (!(cur->dead & next.channels & (1u << c)))
            continue;
        bool same = (c == QC_CH_SMS && !strcmp(cur->sms_phone, next.sms_phone)) ||
                    (c == QC_CH_EMAIL && !strcmp(cur->email, next.email)) ||
                    (c == QC_CH_TELEGRAM && !strcmp(cur->telegram_chat, next.telegram_chat)) ||
                    (c == QC_CH_PUSH && !strcmp(cur->push_token, next.push_token)) ||
                    (c == QC_CH_WEBHOOK && !strcmp(cur->webhook_url, next.webhook_url));
        if (same)
            next.dead |= 1u << c;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (qc_subscriber_pack(&next, &sb) || !(o->reply = qc_subscriber_to_json(&next))) {
        msgpack_sbuffer_destroy(&sb);
        one_error(o, 500, "internal", "out of memory", NULL);
        return;
    }
    char idxk[32], cell[32], size[24], minmmi[8];
    qc_sub_index_key(next.id, idxk, sizeof idxk);
    qc_seg_group(&next, cell, sizeof cell);
    snprintf(size, sizeof size, "%ld", p->sizing.segment_size);
    snprintf(minmmi, sizeof minmmi, "%d", next.min_mmi);
    const char *argv[] = { idxk, next.id, sb.data, cell, size, minmmi, o->old };
    size_t lens[] = { strlen(idxk), strlen(next.id), sb.size, strlen(cell), strlen(size), strlen(minmmi), o->oldlen };
    if (qc_redis_script(p->redis, QC_SCRIPT_SUB_UPSERT, 0, 7, argv, lens, on_patched, o))
        on_patched(NULL, o);
    msgpack_sbuffer_destroy(&sb);
}

static void on_fetched(redisReply *r, void *opaque)
{
    one_t *o = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
        one_error(o, 503, "unavailable", "Redis unavailable", NULL);
        return;
    }
    if (!o->admin) {
        /* Constant time over the 64 hex characters; a missing token hash
         * compares against zeros and fails the same way. */
        char stored[65] = { 0 };
        if (r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len == 64)
            memcpy(stored, r->element[1]->str, 64);
        if (CRYPTO_memcmp(stored, o->tok_hash, 64) != 0) {
            qc_counter_add(o->p->selfsvc->m_forbidden, 1);
            one_error(o, 403, "forbidden", "this token does not open this subscriber", "id");
            return;
        }
    }
    if (o->cmd == EVHTTP_REQ_DELETE) {
        do_delete(o);
        return;
    }
    if (r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len == 0) {
        one_error(o, 404, "not_found", "no such subscriber", "id");
        return;
    }
    qc_subscriber_t sub;
    char err[128];
    if (qc_subscriber_unpack(r->element[0]->str, r->element[0]->len, &sub, err, sizeof err)) {
        qc_log(QC_LOG_ERROR, "subscriber_record_bad", "subscriber_id", o->id, "error", err, NULL);
        one_error(o, 500, "internal", "stored record does not decode", NULL);
        return;
    }
    if (o->cmd == EVHTTP_REQ_PATCH) {
        if (!(o->old = malloc(r->element[0]->len))) {
            one_error(o, 500, "internal", "out of memory", NULL);
            return;
        }
        memcpy(o->old, r->element[0]->str, r->element[0]->len);
        o->oldlen = r->element[0]->len;
        do_patch(o, &sub);
        return;
    }
    json_t *doc = qc_subscriber_to_json(&sub);
    if (doc) {
        json_object_set_new(doc, "consent", consent_of(r));
        if (r->element[3]->type == REDIS_REPLY_STRING)
            json_object_set_new(doc, "created_at", json_string(r->element[3]->str));
    }
    struct evhttp_request *req = qc_http_take(&o->req);
    if (req)
        qc_http_reply_json(req, doc ? 200 : 500, doc);
    else
        json_decref(doc);
    one_free(o);
}

static void one_subscriber(qc_proc_t *p, struct evhttp_request *req, const char *id)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_DELETE && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_PATCH) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET, PATCH or DELETE", NULL);
        return;
    }
    bool admin = qc_api_is_admin(p, req);
    const char *bearer = admin ? NULL : qc_api_bearer(req);
    /* Only something shaped like a subscriber token (qcs_...) is looked
     * up; anything else is no credential at all. */
    if (!admin && (!bearer || strncmp(bearer, "qcs_", 4))) {
        qc_counter_add(p->selfsvc->m_auth_failed, 1);
        qc_http_reply_error(req, 401, "unauthorized", "the subscriber's token or the admin token is required", NULL);
        return;
    }
    size_t n = strlen(id);
    if (!valid_id(id, n)) {
        qc_http_reply_error(req, admin ? 404 : 403, admin ? "not_found" : "forbidden",
                            admin ? "no such subscriber" : "this token does not open this subscriber", "id");
        return;
    }
    json_t *patch = NULL;
    if (cmd == EVHTTP_REQ_PATCH && !(patch = qc_api_json_body(p, req, (size_t)p->conf.public_max_bytes)))
        return;
    one_t *o = calloc(1, sizeof *o);
    if (!o) {
        json_decref(patch);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    o->p = p;
    o->cmd = cmd;
    o->admin = admin;
    o->patch = patch;
    snprintf(o->id, sizeof o->id, "%s", id);
    if (!admin)
        qc_api_sha256_hex(o->tok_hash, bearer, NULL);
    qc_http_hold(req, &o->req);
    if (admin && cmd == EVHTTP_REQ_DELETE) {
        do_delete(o);
        return;
    }
    char idxk[32];
    qc_sub_index_key(id, idxk, sizeof idxk);
    const char *argv[] = { idxk, id };
    size_t lens[] = { strlen(idxk), n };
    if (qc_redis_script(p->redis, QC_SCRIPT_SUB_FETCH, 0, 2, argv, lens, on_fetched, o))
        on_fetched(NULL, o);
}

void qc_api_subscribers(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    if (!strcmp(rest, "export")) {
        qc_api_subscribers_export(p, req);
        return;
    }
    const char *slash = strchr(rest, '/');
    if (slash) {
        char id[80];
        size_t n = (size_t)(slash - rest);
        if (strcmp(slash, "/verify") || !valid_id(rest, n) || n >= sizeof id) {
            qc_http_reply_error(req, 404, "not_found", "no such endpoint", NULL);
            return;
        }
        memcpy(id, rest, n);
        id[n] = '\0';
        qc_api_verify(p, req, id);
        return;
    }
    one_subscriber(p, req, rest);
}

/* ---- admin: pages and export ---- */

typedef struct filter {
    int channel;          /* -1: any */
    char id_prefix[65];
    bool near;
    double lat, lon, km;
} filter_t;

static bool matches(const filter_t *f, const qc_subscriber_t *s)
{
    if (f->channel >= 0 && !(s->channels & (1u << f->channel)))
        return false;
    if (f->id_prefix[0] && strncmp(s->id, f->id_prefix, strlen(f->id_prefix)))
        return false;
    if (f->near) {
        /* Haversine on a 6371 km sphere: a filter, not a warning. */
        double r = M_PI / 180, dlat = (s->lat - f->lat) * r, dlon = (s->lon - f->lon) * r;
        double a = sin(dlat / 2) * sin(dlat / 2) + cos(f->lat * r) * cos(s->lat * r) * sin(dlon / 2) * sin(dlon / 2);
        if (2 * 6371.0 * asin(sqrt(a > 1 ? 1 : a)) > f->km)
            return false;
    }
    return true;
}

typedef struct page {
    qc_proc_t *p;
    struct evhttp_request *req;
    filter_t f;
    long limit;
    json_t *items;
    bool export;          /* NDJSON stream of everyone */
    bool started;         /* export: headers sent */
    bool in_redis;        /* export: a page is being read */
    long bucket;
    char cursor[32];
    long sent;
} page_t;

static void page_free(page_t *pg)
{
    json_decref(pg->items);
    free(pg);
}

static void page_next(page_t *pg);

static void on_chunk_sent(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    page_next(arg);
}

/* Decodes {id, rec, ...} into items or the export stream. */
static void take_records(page_t *pg, redisReply *list, struct evbuffer *out)
{
    for (size_t i = 0; i + 1 < list->elements; i += 2) {
        redisReply *rec = list->element[i + 1];
        qc_subscriber_t s;
        char err[128];
        if (rec->type != REDIS_REPLY_STRING || rec->len == 0 ||
            qc_subscriber_unpack(rec->str, rec->len, &s, err, sizeof err) || !matches(&pg->f, &s))
            continue;
        json_t *doc = qc_subscriber_to_json(&s);
        if (!doc)
            continue;
        if (out) {
            char *line = json_dumps(doc, JSON_COMPACT);
            if (line) {
                evbuffer_add(out, line, strlen(line));
                evbuffer_add(out, "\n", 1);
                free(line);
                pg->sent++;
            }
            json_decref(doc);
        } else {
            json_array_append_new(pg->items, doc);
        }
    }
}

/* Export: the connection's close callback. While a page is being read
 * the reply frees the state; otherwise it goes now (a chunk written out
 * to a closed connection never calls back). */
static void on_export_closed(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    page_t *pg = arg;
    pg->req = NULL;
    if (!pg->in_redis)
        page_free(pg);
}

static struct evhttp_request *export_detach(page_t *pg)
{
    struct evhttp_request *req = pg->req;
    pg->req = NULL;
    struct evhttp_connection *conn = req ? evhttp_request_get_connection(req) : NULL;
    if (conn)
        evhttp_connection_set_closecb(conn, NULL, NULL);
    return req;
}

static void on_page(redisReply *r, void *opaque)
{
    page_t *pg = opaque;
    pg->in_redis = false;
    if (!pg->req) { /* the client left */
        page_free(pg);
        return;
    }
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->type == REDIS_REPLY_ARRAY;
    if (!ok && !pg->export) {
        qc_http_reply_error(qc_http_take(&pg->req), 503, "unavailable", "Redis unavailable", NULL);
        page_free(pg);
        return;
    }
    if (!ok) {
        /* Headers are gone: the stream ends with an error line, so a
         * reader can tell an incomplete export from a complete one. */
        struct evhttp_request *req = export_detach(pg);
        struct evbuffer *out = evbuffer_new();
        if (out) {
            static const char line[] = "{\"error\":{\"code\":\"unavailable\",\"message\":\"Redis unavailable: export incomplete\"}}\n";
            evbuffer_add(out, line, sizeof line - 1);
            evhttp_send_reply_chunk(req, out);
            evbuffer_free(out);
        }
        evhttp_send_reply_end(req);
        page_free(pg);
        return;
    }
    pg->bucket = r->element[0]->type == REDIS_REPLY_INTEGER ? (long)r->element[0]->integer : 4096;
    snprintf(pg->cursor, sizeof pg->cursor, "%s", r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "0");
    bool end = pg->bucket >= 4096;
    if (!pg->export) {
        take_records(pg, r->element[2], NULL);
        struct evhttp_request *req = qc_http_take(&pg->req);
        char next[48];
        snprintf(next, sizeof next, "%ld.%s", pg->bucket, pg->cursor);
        json_t *body = json_pack("{s:O,s:s?}", "items", pg->items, "next_cursor", end ? NULL : next);
        qc_http_reply_json(req, 200, body);
        page_free(pg);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (out)
        take_records(pg, r->element[2], out);
    if (end) {
        struct evhttp_request *req = export_detach(pg);
        if (out && evbuffer_get_length(out))
            evhttp_send_reply_chunk(req, out);
        evbuffer_free(out);
        evhttp_send_reply_end(req);
        char n[24];
        snprintf(n, sizeof n, "%ld", pg->sent);
        qc_log(QC_LOG_INFO, "export_done", "subscribers", n, NULL);
        page_free(pg);
        return;
    }
    if (out && evbuffer_get_length(out)) {
        /* The next page is read once this one is on the wire: a slow
         * reader holds one page in memory, not the registry. */
        evhttp_send_reply_chunk_with_cb(pg->req, out, on_chunk_sent, pg);
        evbuffer_free(out);
        return;
    }
    evbuffer_free(out);
    page_next(pg);
}

static void page_next(page_t *pg)
{
    if (!pg->req) {
        page_free(pg);
        return;
    }
    char b[24], lim[24];
    snprintf(b, sizeof b, "%ld", pg->bucket);
    snprintf(lim, sizeof lim, "%ld", pg->limit);
    const char *argv[] = { b, pg->cursor, lim };
    size_t lens[] = { strlen(b), strlen(pg->cursor), strlen(lim) };
    pg->in_redis = true;
    if (qc_redis_script(pg->p->redis, QC_SCRIPT_SUB_LIST, 0, 3, argv, lens, on_page, pg))
        on_page(NULL, pg);
}

static void on_phone(redisReply *r, void *opaque)
{
    page_t *pg = opaque;
    struct evhttp_request *req = qc_http_take(&pg->req);
    if (req && (!r || r->type != REDIS_REPLY_ARRAY)) {
        qc_http_reply_error(req, 503, "unavailable", "Redis unavailable", NULL);
    } else if (req) {
        for (size_t i = 0; i + 3 < r->elements; i += 4) {
            qc_subscriber_t s;
            char err[128];
            redisReply *rec = r->element[i + 3];
            if (rec->type == REDIS_REPLY_STRING && !qc_subscriber_unpack(rec->str, rec->len, &s, err, sizeof err) &&
                matches(&pg->f, &s))
                json_array_append_new(pg->items, qc_subscriber_to_json(&s));
        }
        qc_http_reply_json(req, 200, json_pack("{s:O,s:n}", "items", pg->items, "next_cursor"));
    }
    page_free(pg);
}

/* Parses the admin filters; on a bad one it answers and returns false. */
static bool parse_filters(struct evhttp_request *req, filter_t *f, long *limit, long *bucket, char *cursor,
                          size_t cursorsz)
{
    char v[128];
    f->channel = -1;
    if (qc_http_query(req, "limit", v, sizeof v)) {
        char *end;
        long l = strtol(v, &end, 10);
        if (*end || l < 1 || l > 1000) {
            qc_http_reply_error(req, 400, "invalid_limit", "limit must be 1 to 1000", "limit");
            return false;
        }
        *limit = l;
    }
    if (qc_http_query(req, "cursor", v, sizeof v)) {
        char *end;
        long b = strtol(v, &end, 10);
        /* HSCAN's cursor is an unsigned 64-bit number: a longer one is an
         * error from Redis, which would read as Redis being away (503) */
        bool too_big = false;
        if (end != v && *end == '.') {
            errno = 0;
            unsigned long long c = strtoull(end + 1, NULL, 10);
            too_big = errno == ERANGE || c == ULLONG_MAX;
        }
        if (end == v || *end != '.' || b < 0 || b > 4096 || !end[1] || strlen(end + 1) >= cursorsz ||
            strspn(end + 1, "0123456789") != strlen(end + 1) || too_big) {
            qc_http_reply_error(req, 400, "invalid_cursor", "cursor must be a next_cursor this API gave", "cursor");
            return false;
        }
        *bucket = b;
        snprintf(cursor, cursorsz, "%s", end + 1);
    }
    if (qc_http_query(req, "channel", v, sizeof v)) {
        f->channel = qc_channel_from_name(v);
        if (f->channel < 0) {
            qc_http_reply_error(req, 400, "unknown_channel", "no such channel", "channel");
            return false;
        }
    }
    if (qc_http_query(req, "id_prefix", v, sizeof v)) {
        if (strlen(v) > 64) {
            qc_http_reply_error(req, 400, "invalid_id", "id_prefix is at most 64 characters", "id_prefix");
            return false;
        }
        snprintf(f->id_prefix, sizeof f->id_prefix, "%s", v);
    }
    if (qc_http_query(req, "near", v, sizeof v)) {
        if (sscanf(v, "%lf,%lf,%lf", &f->lat, &f->lon, &f->km) != 3 || !isfinite(f->lat) || !isfinite(f->lon) ||
            !isfinite(f->km) || fabs(f->lat) > 90 || fabs(f->lon) > 180 || f->km <= 0 || f->km > 20000) {
            qc_http_reply_error(req, 400, "invalid_location", "near must be lat,lon,km", "near");
            return false;
        }
        f->near = true;
    }
    return true;
}

static page_t *page_new(qc_proc_t *p, struct evhttp_request *req, bool export)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
        return NULL;
    }
    if (!qc_api_is_admin(p, req)) {
        qc_counter_add(p->selfsvc->m_auth_failed, 1);
        qc_http_reply_error(req, 401, "unauthorized", "admin bearer token required", NULL);
        return NULL;
    }
    page_t *pg = calloc(1, sizeof *pg);
    if (!pg || !(pg->items = json_array())) {
        free(pg);
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    pg->p = p;
    pg->export = export;
    pg->limit = export ? 500 : 100;
    snprintf(pg->cursor, sizeof pg->cursor, "0");
    if (!parse_filters(req, &pg->f, &pg->limit, &pg->bucket, pg->cursor, sizeof pg->cursor)) {
        page_free(pg);
        return NULL;
    }
    return pg;
}

void qc_api_subscribers_list(qc_proc_t *p, struct evhttp_request *req)
{
    page_t *pg = page_new(p, req, false);
    if (!pg)
        return;
    char phone[32];
    qc_http_hold(req, &pg->req);
    if (qc_http_query(req, "phone", phone, sizeof phone)) {
        /* Exact number: the phone index answers without a scan. */
        const char *argv[] = { phone };
        size_t lens[] = { strlen(phone) };
        if (qc_redis_script(p->redis, QC_SCRIPT_SUB_PHONE, 0, 1, argv, lens, on_phone, pg))
            on_phone(NULL, pg);
        return;
    }
    page_next(pg);
}

void qc_api_subscribers_export(qc_proc_t *p, struct evhttp_request *req)
{
    page_t *pg = page_new(p, req, true);
    if (!pg)
        return;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
    evhttp_send_reply_start(req, 200, "OK");
    pg->started = true;
    qc_log(QC_LOG_INFO, "export_started", NULL);
    pg->req = req;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn)
        evhttp_connection_set_closecb(conn, on_export_closed, pg);
    page_next(pg);
}
