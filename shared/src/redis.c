/* redis.c: async Redis with reconnect and SHA-called scripts.
 *
 * A "redis-cluster://host:port,..." URL makes every command and script go
 * through the Redis Cluster client (rcluster.c), routed by its first key;
 * scripts are loaded on each primary by their first NOSCRIPT. Pub/sub on
 * a cluster uses one more connection, to the primary of the channel's
 * slot: a Redis Cluster forwards every PUBLISH to all its nodes, so a
 * subscriber on any node hears it (cluster spec, "Publish/Subscribe",
 * https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/). */
#include "qc/redis.h"
#include "qc/err.h"
#include "qc/log.h"
#include "qc/rcluster.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Embedded by cmake/QcEmbed.cmake from shared/scripts/. */
extern const char qc_embed_lib[], qc_embed_sub_upsert[], qc_embed_sub_delete[],
    qc_embed_run_init[], qc_embed_acquire[], qc_embed_renew[], qc_embed_claim[],
    qc_embed_complete[], qc_embed_release[], qc_embed_epoch[], qc_embed_associate[],
    qc_embed_rate_take[], qc_embed_sub_mark_dead[], qc_embed_sub_get[],
    qc_embed_sub_pending[], qc_embed_sub_verify[], qc_embed_sub_fetch[], qc_embed_sub_list[], qc_embed_sub_phone[],
    qc_embed_seg_op[];

/* Scripts that may touch segment records through seg_set/seg_get (lib.lua):
 * on a cluster they run with SEG_OPS set, return {ops, reply}, and the
 * client runs the ops (seg_op.lua) before handing the reply on. */
#define SEGOPS_WRAP_HEAD "\nSEG_OPS = {}\nlocal function qc_body()\n"
#define SEGOPS_WRAP_TAIL "\nend\nlocal qc_out = qc_body()\nreturn {SEG_OPS, qc_out}\n"
/* The registry's hash tag: where scripts that declare no keys go. */
#define REG_TAG "{reg}"

static const struct {
    const char *name;
    const char *src;
    bool segops; /* touches segment records via lib.lua's seg_set/seg_get */
} script_table[QC_SCRIPT_COUNT_] = {
    [QC_SCRIPT_SUB_UPSERT] = { "sub_upsert", qc_embed_sub_upsert, true },
    [QC_SCRIPT_SUB_DELETE] = { "sub_delete", qc_embed_sub_delete, true },
    [QC_SCRIPT_RUN_INIT] = { "run_init", qc_embed_run_init },
    [QC_SCRIPT_ACQUIRE] = { "acquire", qc_embed_acquire },
    [QC_SCRIPT_RENEW] = { "renew", qc_embed_renew },
    [QC_SCRIPT_CLAIM] = { "claim", qc_embed_claim },
    [QC_SCRIPT_COMPLETE] = { "complete", qc_embed_complete },
    [QC_SCRIPT_RELEASE] = { "release", qc_embed_release },
    [QC_SCRIPT_EPOCH] = { "epoch", qc_embed_epoch },
    [QC_SCRIPT_ASSOCIATE] = { "associate", qc_embed_associate },
    [QC_SCRIPT_RATE_TAKE] = { "rate_take", qc_embed_rate_take },
    [QC_SCRIPT_SUB_MARK_DEAD] = { "sub_mark_dead", qc_embed_sub_mark_dead },
    [QC_SCRIPT_SUB_GET] = { "sub_get", qc_embed_sub_get, true },
    [QC_SCRIPT_SUB_PENDING] = { "sub_pending", qc_embed_sub_pending },
    [QC_SCRIPT_SUB_VERIFY] = { "sub_verify", qc_embed_sub_verify, true },
    [QC_SCRIPT_SUB_FETCH] = { "sub_fetch", qc_embed_sub_fetch, true },
    [QC_SCRIPT_SUB_LIST] = { "sub_list", qc_embed_sub_list, true },
    [QC_SCRIPT_SUB_PHONE] = { "sub_phone", qc_embed_sub_phone, true },
    [QC_SCRIPT_SEG_OP] = { "seg_op", qc_embed_seg_op },
};

struct qc_redis {
    struct event_base *base;
    qc_rcluster_t *cl;       /* cluster shape: routes everything, ac stays NULL */
    redisAsyncContext *ac;   /* NULL while disconnected */
    bool up;                 /* connected and initialised */
    char host[256];
    int port, db;
    char run_id[64];
    struct event *retry_ev;
    struct event *loading_ev; /* asks INFO again while Redis loads its AOF */
    int backoff_ms;
    bool destroying;
    qc_redis_state_cb state_cb;
    void *opaque;
    char *src[QC_SCRIPT_COUNT_];     /* lib.lua + script */
    size_t srclen[QC_SCRIPT_COUNT_];
    char sha[QC_SCRIPT_COUNT_][41];
    unsigned long noscript;
    redisAsyncContext *sub_ac; /* cluster shape: the subscriptions' connection */
    struct event *sub_ev;      /* cluster shape: tells the owner to subscribe again */
};

const char *qc_script_name(qc_script_t s)
{
    return (unsigned)s < QC_SCRIPT_COUNT_ ? script_table[s].name : "?";
}

static void connect_now(qc_redis_t *r);

static void schedule_retry(qc_redis_t *r)
{
    if (r->destroying)
        return;
    struct timeval tv = { r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000 };
    evtimer_add(r->retry_ev, &tv);
    r->backoff_ms = r->backoff_ms * 2 > 2000 ? 2000 : r->backoff_ms * 2;
}

static void set_down(qc_redis_t *r)
{
    bool was_up = r->up;
    r->up = false;
    r->ac = NULL;
    if (was_up && r->state_cb && !r->destroying)
        r->state_cb(r, false, r->opaque);
}

static void on_info(redisAsyncContext *ac, void *reply_, void *priv)
{
    qc_redis_t *r = priv;
    redisReply *reply = reply_;
    (void)ac;
    if (!reply || reply->type != REDIS_REPLY_STRING)
        return; /* the disconnect callback handles the rest */
    /* A restarted Redis accepts connections while it still loads the AOF
     * and answers -LOADING to everything but INFO: not up yet. */
    if (strstr(reply->str, "loading:1")) {
        struct timeval tv = { 0, 100 * 1000 };
        evtimer_add(r->loading_ev, &tv);
        return;
    }
    const char *p = strstr(reply->str, "run_id:");
    if (p) {
        p += 7;
        size_t n = strcspn(p, "\r\n");
        if (n >= sizeof r->run_id)
            n = sizeof r->run_id - 1;
        memcpy(r->run_id, p, n);
        r->run_id[n] = '\0';
    }
    /* Load every script now, so the first alert after a (re)start pays no
     * NOSCRIPT round trip. */
    for (int i = 0; i < QC_SCRIPT_COUNT_; i++) {
        const char *argv[] = { "SCRIPT", "LOAD", r->src[i] };
        size_t lens[] = { 6, 4, r->srclen[i] };
        redisAsyncCommandArgv(ac, NULL, NULL, 3, argv, lens);
    }
    r->up = true;
    r->backoff_ms = 100;
    qc_log(QC_LOG_INFO, "redis_connected", "host", r->host, "run_id", r->run_id, NULL);
    if (r->state_cb)
        r->state_cb(r, true, r->opaque);
}

static void on_loading_check(evutil_socket_t fd, short what, void *arg)
{
    qc_redis_t *r = arg;
    if (r->ac)
        redisAsyncCommand(r->ac, on_info, r, "INFO");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    qc_redis_t *r = ac->data;
    if (status != REDIS_OK) {
        qc_log(QC_LOG_WARN, "redis_connect_failed", "host", r->host, "error", ac->errstr, NULL);
        set_down(r);
        schedule_retry(r);
        return;
    }
    redisAsyncContext *mac = (redisAsyncContext *)ac;
    if (r->db)
        redisAsyncCommand(mac, NULL, NULL, "SELECT %d", r->db);
    redisAsyncCommand(mac, on_info, r, "INFO");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    qc_redis_t *r = ac->data;
    if (r->destroying)
        return;
    qc_log(QC_LOG_WARN, "redis_disconnected", "host", r->host,
           "error", status == REDIS_OK ? "" : ac->errstr, NULL);
    set_down(r);
    schedule_retry(r);
}

static void connect_now(qc_redis_t *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        qc_log(QC_LOG_WARN, "redis_connect_failed", "host", r->host,
               "error", ac ? ac->errstr : "oom", NULL);
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(r);
        return;
    }
    ac->data = r;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    connect_now(arg);
}

static int parse_url(qc_redis_t *r, const char *url)
{
    const char *p = url;
    if (!strncmp(p, "redis://", 8))
        p += 8;
    const char *at = strrchr(p, '@'); /* credentials are not supported yet */
    if (at)
        return QC_ERR_UNSUPPORTED;
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof r->host)
        return QC_ERR_INVAL;
    memcpy(r->host, p, hl);
    r->host[hl] = '\0';
    p += hl;
    r->port = 6379;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v <= 0 || v > 65535)
            return QC_ERR_INVAL;
        r->port = (int)v;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (*end || v < 0 || v > 15)
            return QC_ERR_INVAL;
        r->db = (int)v;
    }
    return 0;
}

static void on_cluster_state(qc_rcluster_t *c, bool up, void *opaque)
{
    (void)c;
    qc_redis_t *r = opaque;
    r->up = up;
    qc_log(up ? QC_LOG_INFO : QC_LOG_WARN, up ? "redis_cluster_up" : "redis_cluster_down", NULL);
    if (r->state_cb && !r->destroying)
        r->state_cb(r, up, r->opaque);
}

qc_redis_t *qc_redis_new(struct event_base *base, const char *url, qc_redis_state_cb state_cb,
                         void *opaque, char *errstr, size_t errsz)
{
    qc_redis_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    r->base = base;
    r->state_cb = state_cb;
    r->opaque = opaque;
    r->backoff_ms = 100;
    bool cluster = !strncmp(url, "redis-cluster://", 16);
    if (!cluster && parse_url(r, url)) {
        snprintf(errstr, errsz, "invalid Redis URL '%s' (want redis://host:port/db)", url);
        free(r);
        return NULL;
    }
    size_t liblen = strlen(qc_embed_lib);
    for (int i = 0; i < QC_SCRIPT_COUNT_; i++) {
        size_t sl = strlen(script_table[i].src);
        bool wrap = cluster && script_table[i].segops;
        const char *head = wrap ? SEGOPS_WRAP_HEAD : "\n", *tail = wrap ? SEGOPS_WRAP_TAIL : "";
        size_t hl = strlen(head), tl = strlen(tail);
        r->srclen[i] = liblen + hl + sl + tl;
        r->src[i] = malloc(r->srclen[i] + 1);
        if (!r->src[i]) {
            snprintf(errstr, errsz, "out of memory");
            qc_redis_destroy(r);
            return NULL;
        }
        memcpy(r->src[i], qc_embed_lib, liblen);
        memcpy(r->src[i] + liblen, head, hl);
        memcpy(r->src[i] + liblen + hl, script_table[i].src, sl);
        memcpy(r->src[i] + liblen + hl + sl, tail, tl + 1);
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)r->src[i], r->srclen[i], md);
        for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
            snprintf(r->sha[i] + 2 * k, 3, "%02x", md[k]);
    }
    r->retry_ev = evtimer_new(base, on_retry, r);
    r->loading_ev = evtimer_new(base, on_loading_check, r);
    if (!r->retry_ev || !r->loading_ev) {
        snprintf(errstr, errsz, "evtimer_new failed");
        qc_redis_destroy(r);
        return NULL;
    }
    if (cluster) {
        r->cl = qc_rcluster_new(base, url, on_cluster_state, r, errstr, errsz);
        if (!r->cl) {
            qc_redis_destroy(r);
            return NULL;
        }
        return r;
    }
    connect_now(r);
    return r;
}

void qc_redis_destroy(qc_redis_t *r)
{
    if (!r)
        return;
    r->destroying = true;
    if (r->sub_ac)
        redisAsyncFree(r->sub_ac);
    if (r->sub_ev)
        event_free(r->sub_ev);
    qc_rcluster_destroy(r->cl);
    if (r->ac)
        redisAsyncFree(r->ac);
    if (r->retry_ev)
        event_free(r->retry_ev);
    if (r->loading_ev)
        event_free(r->loading_ev);
    for (int i = 0; i < QC_SCRIPT_COUNT_; i++)
        free(r->src[i]);
    free(r);
}

bool qc_redis_up(const qc_redis_t *r) { return r->up; }
const char *qc_redis_run_id(const qc_redis_t *r) { return r->run_id; }
unsigned long qc_redis_noscript_count(const qc_redis_t *r) { return r->noscript; }

typedef struct plain_call {
    qc_redis_cb cb;
    void *opaque;
    bool persistent; /* a subscription: called back for every message */
} plain_call_t;

static void on_plain(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    plain_call_t *c = priv;
    if (c->cb)
        c->cb(reply, c->opaque);
    /* hiredis keeps calling a subscription back until the connection ends
     * (NULL reply): only then is its context ours to free. */
    if (c->persistent && reply)
        return;
    free(c);
}

/* The context of a plain command, or QC_ERR_REDIS while disconnected. */
static int new_call(qc_redis_t *r, qc_redis_cb cb, void *opaque, bool persistent, plain_call_t **out)
{
    if (!r->ac || !r->up)
        return QC_ERR_REDIS;
    plain_call_t *c = malloc(sizeof *c);
    if (!c)
        return QC_ERR_NOMEM;
    c->cb = cb;
    c->opaque = opaque;
    c->persistent = persistent;
    *out = c;
    return 0;
}

int qc_redis_argv(qc_redis_t *r, qc_redis_cb cb, void *opaque, int argc, const char **argv,
                  const size_t *argvlen)
{
    if (r->cl)
        return qc_rcluster_argv(r->cl, cb, opaque, argc, argv, argvlen);
    plain_call_t *c;
    int rc = new_call(r, cb, opaque, false, &c);
    if (rc)
        return rc;
    if (redisAsyncCommandArgv(r->ac, on_plain, c, argc, argv, argvlen) != REDIS_OK) {
        free(c);
        return QC_ERR_REDIS;
    }
    return 0;
}

/* A formatted command (RESP: "*N" then N "$len" bulk strings, as
 * redisvFormatCommand writes it) back into argv form. @returns argc, or -1. */
static int resp_to_argv(const char *p, size_t len, const char **argv, size_t *argvlen, int max)
{
    const char *end = p + len;
    char *q;
    if (p >= end || *p != '*')
        return -1;
    long n = strtol(p + 1, &q, 10);
    if (n <= 0 || n > max || q + 2 > end || q[0] != '\r')
        return -1;
    p = q + 2;
    for (long i = 0; i < n; i++) {
        if (p >= end || *p != '$')
            return -1;
        long l = strtol(p + 1, &q, 10);
        if (l < 0 || q + 2 > end || (size_t)(end - (q + 2)) < (size_t)l + 2)
            return -1;
        argv[i] = q + 2;
        argvlen[i] = (size_t)l;
        p = q + 2 + l + 2;
    }
    return (int)n;
}

int qc_redis_cmd(qc_redis_t *r, qc_redis_cb cb, void *opaque, const char *fmt, ...)
{
    if (r->cl) {
        char *buf = NULL;
        va_list ap;
        va_start(ap, fmt);
        int len = redisvFormatCommand(&buf, fmt, ap);
        va_end(ap);
        const char *argv[64];
        size_t argvlen[64];
        int argc = len > 0 ? resp_to_argv(buf, (size_t)len, argv, argvlen, 64) : -1;
        int rc = argc > 0 ? qc_rcluster_argv(r->cl, cb, opaque, argc, argv, argvlen) : QC_ERR_INVAL;
        free(buf);
        return rc;
    }
    plain_call_t *c;
    int rc = new_call(r, cb, opaque, false, &c);
    if (rc)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    rc = redisvAsyncCommand(r->ac, on_plain, c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(c);
        return QC_ERR_REDIS;
    }
    return 0;
}

/* Cluster shape: the subscriptions' connection dropped (its node died or
 * failed over). Its callbacks got their NULL; once the slot map is
 * complete again the owner is told down then up, and subscribes anew on
 * the node the map then names. */
static void on_sub_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    qc_redis_t *r = arg;
    if (r->destroying)
        return;
    if (!r->cl || !qc_rcluster_up(r->cl) || r->sub_ac) {
        struct timeval tv = { 0, 500 * 1000 };
        evtimer_add(r->sub_ev, &tv);
        return;
    }
    if (r->state_cb) {
        r->state_cb(r, false, r->opaque);
        r->state_cb(r, true, r->opaque);
    }
}

static void on_sub_disconnect(const redisAsyncContext *ac, int status)
{
    qc_redis_t *r = ac->data;
    if (r->sub_ac == ac)
        r->sub_ac = NULL;
    if (r->destroying)
        return;
    qc_log(QC_LOG_WARN, "redis_cluster_pubsub_lost", "error", status == REDIS_OK ? "" : ac->errstr, NULL);
    struct timeval tv = { 0, 500 * 1000 };
    evtimer_add(r->sub_ev, &tv);
}

static void on_sub_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK)
        on_sub_disconnect(ac, status);
}

/* The cluster shape's subscriptions' connection, opened on first use to the
 * primary of @p channel's slot. */
static redisAsyncContext *sub_conn(qc_redis_t *r, const char *channel)
{
    if (r->sub_ac)
        return r->sub_ac;
    if (!r->sub_ev && !(r->sub_ev = evtimer_new(r->base, on_sub_retry, r)))
        return NULL;
    const char *node = qc_rcluster_slot_node(r->cl, qc_rcluster_keyslot(channel, strlen(channel)));
    const char *colon = node ? strrchr(node, ':') : NULL;
    if (!colon || (size_t)(colon - node) >= sizeof r->host)
        return NULL;
    char host[256];
    memcpy(host, node, (size_t)(colon - node));
    host[colon - node] = '\0';
    redisAsyncContext *ac = redisAsyncConnect(host, (int)strtol(colon + 1, NULL, 10));
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = r;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_sub_connect);
    redisAsyncSetDisconnectCallback(ac, on_sub_disconnect);
    r->sub_ac = ac;
    return ac;
}

int qc_redis_subscribe(qc_redis_t *r, const char *channel, qc_redis_cb cb, void *opaque)
{
    redisAsyncContext *ac = r->ac;
    if (r->cl) {
        if (!r->up)
            return QC_ERR_REDIS;
        if (!(ac = sub_conn(r, channel))) {
            struct timeval tv = { 0, 500 * 1000 };
            if (r->sub_ev)
                evtimer_add(r->sub_ev, &tv);
            return QC_ERR_REDIS;
        }
        plain_call_t *c = malloc(sizeof *c);
        if (!c)
            return QC_ERR_NOMEM;
        *c = (plain_call_t){ cb, opaque, true };
        if (redisAsyncCommand(ac, on_plain, c, "SUBSCRIBE %s", channel) != REDIS_OK) {
            free(c);
            return QC_ERR_REDIS;
        }
        return 0;
    }
    plain_call_t *c;
    int rc = new_call(r, cb, opaque, true, &c);
    if (rc)
        return rc;
    if (redisAsyncCommand(ac, on_plain, c, "SUBSCRIBE %s", channel) != REDIS_OK) {
        free(c);
        return QC_ERR_REDIS;
    }
    return 0;
}

/* A script call keeps its arguments until the reply, so that a NOSCRIPT
 * answer can be retried as EVAL without the caller's help. */
typedef struct script_call {
    qc_redis_t *r;
    qc_script_t script;
    int argc;           /* 3 + caller's argc: cmd, sha/src, nkeys, ... */
    const char **argv;
    size_t *argvlen;
    bool retried;
    qc_redis_cb cb;
    void *opaque;
    char nkeys[16];
} script_call_t;

/* A first NOSCRIPT (the server has not seen the script, e.g. after a
 * restart): rewrites the call to EVAL with the script's source, once.
 * @returns true if the call should be sent again. */
static bool noscript_retry(script_call_t *c, const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR || c->retried || strncmp(reply->str, "NOSCRIPT", 8) ||
        c->r->destroying)
        return false;
    c->retried = true;
    c->r->noscript++;
    c->argv[0] = "EVAL";
    c->argvlen[0] = 4;
    c->argv[1] = c->r->src[c->script];
    c->argvlen[1] = c->r->srclen[c->script];
    return true;
}

static void on_script(redisAsyncContext *ac, void *reply_, void *priv)
{
    script_call_t *c = priv;
    redisReply *reply = reply_;
    if (noscript_retry(c, reply)) {
        if (redisAsyncCommandArgv(ac, on_script, c, c->argc, c->argv, c->argvlen) == REDIS_OK)
            return;
        reply = NULL;
    }
    if (c->cb)
        c->cb(reply, c->opaque);
    free(c);
}

/* ---- cluster shape: the record steps of registry scripts ---------------
 * A registry script (segops) answers {ops, reply}: ops lists the record
 * writes ({'set', seg, slot, record[, expected]}) and reads ({'get', seg,
 * slot, mode, p1, p2}) it could not do on the registry's slot. They are
 * sent at once, each to its segment's slot (seg_op.lua); a read's record
 * goes into the reply at p1 (1-based; 0: the whole reply) and p2. The
 * caller's callback gets the reply when every step has answered; NULL if a
 * step was lost or failed (the registry is then ahead of the records: the
 * caller's retry of the same call writes the record where the index
 * points), {'conflict'} if an expected record did not match. */
static redisReply *reply_dup(const redisReply *r)
{
    redisReply *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->type = r->type;
    d->integer = r->integer;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
        d->str = malloc(r->len + 1);
        if (!d->str) {
            free(d);
            return NULL;
        }
        memcpy(d->str, r->str, r->len);
        d->str[r->len] = '\0';
        d->len = r->len;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        d->element = calloc(r->elements, sizeof *d->element);
        if (!d->element) {
            free(d);
            return NULL;
        }
        d->elements = r->elements;
        for (size_t i = 0; i < r->elements; i++)
            if (!(d->element[i] = reply_dup(r->element[i]))) {
                freeReplyObject(d);
                return NULL;
            }
    }
    return d;
}

static redisReply *reply_str(const char *s, size_t len, int type)
{
    redisReply *d = calloc(1, sizeof *d);
    if (d && !(d->str = malloc(len + 1))) {
        free(d);
        return NULL;
    }
    if (d) {
        d->type = type;
        memcpy(d->str, s, len);
        d->str[len] = '\0';
        d->len = len;
    }
    return d;
}

typedef struct segops {
    qc_redis_cb cb;
    void *opaque;
    redisReply *reply; /* owned: the script's answer, reads filled in */
    int pending;
    bool failed, conflict;
} segops_t;

typedef struct segop_step {
    segops_t *s;
    char mode;   /* 'r' raw, 'e' empty, 'n' nilempty; 0 for a write */
    long p1, p2;
} segop_step_t;

static void segops_finish(segops_t *s)
{
    if (s->conflict && !s->failed) {
        redisReply *c = calloc(1, sizeof *c);
        redisReply **el = calloc(1, sizeof *el);
        redisReply *w = reply_str("conflict", 8, REDIS_REPLY_STRING);
        if (c && el && w) {
            c->type = REDIS_REPLY_ARRAY;
            c->elements = 1;
            c->element = el;
            el[0] = w;
            freeReplyObject(s->reply);
            s->reply = c;
        } else {
            free(c);
            free(el);
            if (w)
                freeReplyObject(w);
            s->failed = true;
        }
    }
    if (s->cb)
        s->cb(s->failed ? NULL : s->reply, s->opaque);
    if (s->reply)
        freeReplyObject(s->reply);
    free(s);
}

/* Where a read's record goes: the reply itself, or one of its elements. */
static redisReply **segop_target(segops_t *s, long p1, long p2)
{
    if (p1 <= 0)
        return &s->reply;
    redisReply *r = s->reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || (size_t)p1 > r->elements)
        return NULL;
    if (p2 <= 0)
        return &r->element[p1 - 1];
    r = r->element[p1 - 1];
    if (r->type != REDIS_REPLY_ARRAY || (size_t)p2 > r->elements)
        return NULL;
    return &r->element[p2 - 1];
}

static void on_segop(redisReply *reply, void *priv)
{
    segop_step_t *st = priv;
    segops_t *s = st->s;
    if (!reply || (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "CONFLICT", 8))) {
        if (reply)
            qc_log(QC_LOG_WARN, "redis_segop_failed", "error", reply->str, NULL);
        s->failed = true;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        s->conflict = true;
    } else if (st->mode) {
        redisReply **t = segop_target(s, st->p1, st->p2);
        bool empty = reply->type != REDIS_REPLY_STRING || (st->mode == 'n' && reply->len == 0);
        redisReply *v = NULL;
        if (empty && st->mode == 'e')
            v = reply_str("", 0, REDIS_REPLY_STRING);
        else if (empty) {
            if ((v = calloc(1, sizeof *v)))
                v->type = REDIS_REPLY_NIL;
        } else {
            v = reply_dup(reply);
        }
        if (!t || !v) {
            if (v)
                freeReplyObject(v);
            s->failed = true;
        } else {
            if (*t)
                freeReplyObject(*t);
            *t = v;
        }
    }
    free(st);
    if (--s->pending == 0)
        segops_finish(s);
}

static const char *elem_str(const redisReply *a, size_t i, size_t *len)
{
    if (i >= a->elements || a->element[i]->type != REDIS_REPLY_STRING)
        return NULL;
    *len = a->element[i]->len;
    return a->element[i]->str;
}

static long elem_long(const redisReply *a, size_t i)
{
    return i < a->elements && a->element[i]->type == REDIS_REPLY_INTEGER ? (long)a->element[i]->integer : 0;
}

/* Sends one step; @returns false if it could not be sent. */
static bool segop_send(qc_redis_t *r, segops_t *s, const redisReply *op)
{
    size_t al = 0, sl = 0, l3 = 0, l4 = 0;
    const char *act = elem_str(op, 0, &al), *seg = elem_str(op, 1, &sl);
    if (!act || !seg || op->elements < 3)
        return false;
    char key[96], slot[24];
    int kl = snprintf(key, sizeof key, "qc:seg:{%.*s}:r", (int)sl, seg);
    snprintf(slot, sizeof slot, "%ld", elem_long(op, 2));
    if (kl <= 0 || (size_t)kl >= sizeof key)
        return false;
    segop_step_t *st = calloc(1, sizeof *st);
    if (!st)
        return false;
    st->s = s;
    const char *argv[5] = { key, NULL, slot, NULL, NULL };
    size_t lens[5] = { (size_t)kl, 3, strlen(slot), 0, 0 };
    int argc = 3;
    if (al == 3 && !memcmp(act, "get", 3)) {
        size_t ml;
        const char *m = elem_str(op, 3, &ml);
        st->mode = m && ml == 3 && !memcmp(m, "raw", 3) ? 'r' : m && ml == 5 ? 'e' : 'n';
        st->p1 = elem_long(op, 4);
        st->p2 = elem_long(op, 5);
        argv[1] = "get";
    } else if (al == 3 && !memcmp(act, "set", 3) && (argv[3] = elem_str(op, 3, &l3))) {
        argv[1] = "set";
        lens[3] = l3;
        argc = 4;
        if ((argv[4] = elem_str(op, 4, &l4))) {
            lens[4] = l4;
            argc = 5;
        }
    } else {
        free(st);
        return false;
    }
    s->pending++;
    if (qc_redis_script(r, QC_SCRIPT_SEG_OP, 1, argc, argv, lens, on_segop, st)) {
        s->pending--;
        free(st);
        return false;
    }
    return true;
}

/* A segops script's answer {ops, reply}: runs the ops, then calls back. */
static void segops_start(qc_redis_t *r, redisReply *answer, qc_redis_cb cb, void *opaque)
{
    segops_t *s = calloc(1, sizeof *s);
    const redisReply *ops = answer->element[0];
    if (!s) {
        if (cb)
            cb(NULL, opaque);
        return;
    }
    s->cb = cb;
    s->opaque = opaque;
    if (answer->elements > 1) {
        s->reply = reply_dup(answer->element[1]);
        s->failed = !s->reply;
    } else if ((s->reply = calloc(1, sizeof *s->reply))) {
        s->reply->type = REDIS_REPLY_NIL; /* the script returned nothing */
    } else {
        s->failed = true;
    }
    s->pending = 1; /* held until every step is sent */
    for (size_t i = 0; !s->failed && ops->type == REDIS_REPLY_ARRAY && i < ops->elements; i++)
        if (ops->element[i]->type != REDIS_REPLY_ARRAY || !segop_send(r, s, ops->element[i]))
            s->failed = true;
    if (--s->pending == 0)
        segops_finish(s);
}

/* The cluster shape's script reply: NOSCRIPT on a primary that has not
 * seen the script yet is answered by sending it with EVAL, to the same
 * slot. */
static int call_slot(const script_call_t *c)
{
    return strcmp(c->nkeys, "0") && c->argc > 3 ? (int)qc_rcluster_keyslot(c->argv[3], c->argvlen[3])
                                                : (int)qc_rcluster_keyslot(REG_TAG, strlen(REG_TAG));
}

static void on_cluster_script(redisReply *reply, void *priv)
{
    script_call_t *c = priv;
    if (noscript_retry(c, reply)) {
        if (qc_rcluster_argv_slot(c->r->cl, call_slot(c), on_cluster_script, c, c->argc, c->argv, c->argvlen) == 0)
            return;
        reply = NULL;
    }
    if (script_table[c->script].segops && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        !c->r->destroying) {
        segops_start(c->r, reply, c->cb, c->opaque);
        free(c);
        return;
    }
    if (c->cb)
        c->cb(reply, c->opaque);
    free(c);
}

int qc_redis_script(qc_redis_t *r, qc_script_t script, int nkeys, int argc, const char **argv,
                    const size_t *argvlen, qc_redis_cb cb, void *opaque)
{
    if ((unsigned)script >= QC_SCRIPT_COUNT_ || nkeys < 0 || nkeys > argc)
        return QC_ERR_INVAL;
    if ((!r->ac && !r->cl) || !r->up)
        return QC_ERR_REDIS;
    size_t total = 0;
    for (int i = 0; i < argc; i++)
        total += argvlen[i];
    int n = argc + 3;
    /* One allocation: struct, argv, lengths, then the argument bytes. */
    size_t sz = sizeof(script_call_t) + (size_t)n * (sizeof(char *) + sizeof(size_t)) + total;
    script_call_t *c = malloc(sz);
    if (!c)
        return QC_ERR_NOMEM;
    memset(c, 0, sizeof *c);
    c->r = r;
    c->script = script;
    c->argc = n;
    c->argv = (const char **)(c + 1);
    c->argvlen = (size_t *)(c->argv + n);
    char *data = (char *)(c->argvlen + n);
    c->cb = cb;
    c->opaque = opaque;
    snprintf(c->nkeys, sizeof c->nkeys, "%d", nkeys);
    c->argv[0] = "EVALSHA";
    c->argvlen[0] = 7;
    c->argv[1] = r->sha[script];
    c->argvlen[1] = 40;
    c->argv[2] = c->nkeys;
    c->argvlen[2] = strlen(c->nkeys);
    for (int i = 0; i < argc; i++) {
        memcpy(data, argv[i], argvlen[i]);
        c->argv[3 + i] = data;
        c->argvlen[3 + i] = argvlen[i];
        data += argvlen[i];
    }
    if (r->cl) {
        int rc = qc_rcluster_argv_slot(r->cl, call_slot(c), on_cluster_script, c, c->argc, c->argv, c->argvlen);
        if (rc)
            free(c);
        return rc;
    }
    if (redisAsyncCommandArgv(r->ac, on_script, c, c->argc, c->argv, c->argvlen) != REDIS_OK) {
        free(c);
        return QC_ERR_REDIS;
    }
    return 0;
}
