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
#include "qc/redis_auth.h"
#include "qc/segops.h"

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

/* The registry's hash tag: where scripts that declare no keys go. */
#define REG_TAG "{reg}"

static const struct {
    const char *name;
    const char *src;
    bool segops; /* touches segment records via lib.lua's seg_set/seg_get */
} script_table[QC_SCRIPT_COUNT_] = {
    [QC_SCRIPT_SUB_UPSERT] = { "sub_upsert", qc_embed_sub_upsert, true },
    [QC_SCRIPT_SUB_DELETE] = { "sub_delete", qc_embed_sub_delete, true },
    [QC_SCRIPT_RUN_INIT] = { "run_init", qc_embed_run_init, false },
    [QC_SCRIPT_ACQUIRE] = { "acquire", qc_embed_acquire, false },
    [QC_SCRIPT_RENEW] = { "renew", qc_embed_renew, false },
    [QC_SCRIPT_CLAIM] = { "claim", qc_embed_claim, false },
    [QC_SCRIPT_COMPLETE] = { "complete", qc_embed_complete, false },
    [QC_SCRIPT_RELEASE] = { "release", qc_embed_release, false },
    [QC_SCRIPT_EPOCH] = { "epoch", qc_embed_epoch, false },
    [QC_SCRIPT_ASSOCIATE] = { "associate", qc_embed_associate, false },
    [QC_SCRIPT_RATE_TAKE] = { "rate_take", qc_embed_rate_take, false },
    [QC_SCRIPT_SUB_MARK_DEAD] = { "sub_mark_dead", qc_embed_sub_mark_dead, false },
    [QC_SCRIPT_SUB_GET] = { "sub_get", qc_embed_sub_get, true },
    [QC_SCRIPT_SUB_PENDING] = { "sub_pending", qc_embed_sub_pending, false },
    [QC_SCRIPT_SUB_VERIFY] = { "sub_verify", qc_embed_sub_verify, true },
    [QC_SCRIPT_SUB_FETCH] = { "sub_fetch", qc_embed_sub_fetch, true },
    [QC_SCRIPT_SUB_LIST] = { "sub_list", qc_embed_sub_list, true },
    [QC_SCRIPT_SUB_PHONE] = { "sub_phone", qc_embed_sub_phone, true },
    [QC_SCRIPT_SEG_OP] = { "seg_op", qc_embed_seg_op, false },
};

struct qc_redis {
    struct event_base *base;
    qc_rcluster_t *cl;       /* cluster shape: routes everything, ac stays NULL */
    redisAsyncContext *ac;   /* NULL while disconnected */
    bool up;                 /* connected and initialised */
    char host[256];
    qc_redis_auth_t auth;    /* sent first on every connection */
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
    qc_redis_auth_send(ac, &r->auth);
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

/* Cluster shape: loads every script on every primary of the map, as
 * on_info does on one Redis. Without it the calls sent before the first
 * NOSCRIPT came back (an import sends tens of thousands at once) would each
 * be sent again with the whole source. A primary promoted later still
 * learns them by NOSCRIPT. */
static void cluster_load_scripts(qc_redis_t *r)
{
    const char *seen[64];
    int nseen = 0;
    for (unsigned slot = 0; slot < QC_RCLUSTER_SLOTS && nseen < 64; slot++) {
        const char *node = qc_rcluster_slot_node(r->cl, slot);
        bool known = !node;
        for (int i = 0; i < nseen && !known; i++)
            known = !strcmp(seen[i], node);
        if (known)
            continue;
        seen[nseen++] = node;
        for (int i = 0; i < QC_SCRIPT_COUNT_; i++) {
            const char *argv[] = { "SCRIPT", "LOAD", r->src[i] };
            size_t lens[] = { 6, 4, r->srclen[i] };
            qc_rcluster_argv_slot(r->cl, (int)slot, NULL, NULL, 3, argv, lens);
        }
    }
}

static void on_cluster_state(qc_rcluster_t *c, bool up, void *opaque)
{
    (void)c;
    qc_redis_t *r = opaque;
    r->up = up;
    qc_log(up ? QC_LOG_INFO : QC_LOG_WARN, up ? "redis_cluster_up" : "redis_cluster_down", NULL);
    if (up && !r->destroying)
        cluster_load_scripts(r);
    if (r->state_cb && !r->destroying)
        r->state_cb(r, up, r->opaque);
}

qc_redis_t *qc_redis_new(struct event_base *base, const char *url, const qc_redis_auth_t *auth,
                         qc_redis_state_cb state_cb, void *opaque, char *errstr, size_t errsz)
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
    if (auth)
        r->auth = *auth;
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
        const char *head = wrap ? QC_SEGOPS_WRAP_HEAD : "\n", *tail = wrap ? QC_SEGOPS_WRAP_TAIL : "";
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
        r->cl = qc_rcluster_new(base, url, auth, on_cluster_state, r, errstr, errsz);
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
    qc_redis_auth_wipe(&r->auth);
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
    if (r->destroying || r->sub_ac) /* subscribed again meanwhile */
        return;
    if (!r->cl || !qc_rcluster_up(r->cl)) {
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
    qc_redis_auth_send(ac, &r->auth); /* its own socket: it logs in too */
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
        qc_segops_run(c->r, reply, c->cb, c->opaque);
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
