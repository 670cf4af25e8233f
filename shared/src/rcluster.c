/* rcluster.c: Redis Cluster routing (what and why: rcluster.h).
 *
 * Nodes are created as the map or a redirect names them and live until the
 * client is destroyed, so a slot's node pointer never dangles; a node's
 * connection comes and goes. A request keeps a copy of its arguments until
 * its final reply, so a redirect can resend it without the caller. */
#include "qc/rcluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "qc/clock.h"
#include "qc/err.h"
#include "qc/log.h"

#define RC_REFRESH_MIN_MS 100     /* between two CLUSTER SLOTS */
#define RC_REFRESH_DEGRADED_MS 500 /* while a mapped primary is unreachable */
#define RC_RECONNECT_MS 200       /* between two connects to one node */
#define RC_MAX_RANGES 16384

/* ---- pure parts -------------------------------------------------------- */

uint16_t qc_rcluster_crc16(const char *buf, size_t len)
{
    /* Bit by bit, most significant bit first, polynomial x^16 + x^12 + x^5
     * + 1 (0x1021), starting from 0: CRC-16/XMODEM. */
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned qc_rcluster_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        /* "{}" hashes the whole key (spec: at least one byte between) */
        if (close && close > open + 1)
            return qc_rcluster_crc16(open + 1, (size_t)(close - open - 1)) & (QC_RCLUSTER_SLOTS - 1);
    }
    return qc_rcluster_crc16(key, len) & (QC_RCLUSTER_SLOTS - 1);
}

/* "host:port" (the port after the last colon) into @p host / @p port. */
static bool parse_hostport(const char *s, size_t len, char *host, size_t hostsz, int *port)
{
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (!colon)
        return false;
    size_t hl = (size_t)(colon - s);
    const char *p = colon + 1, *end = s + len;
    if (hl >= hostsz || p == end || end - p > 5)
        return false;
    long v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0 || v > 65535)
        return false;
    memcpy(host, s, hl);
    host[hl] = '\0';
    *port = (int)v;
    return true;
}

bool qc_rcluster_parse_redirect(const char *err, size_t len, qc_rcluster_redirect_t *out)
{
    if (!err)
        return false;
    memset(out, 0, sizeof *out);
    const char *p = err, *end = err + len;
    if (len > 6 && !memcmp(p, "MOVED ", 6))
        p += 6;
    else if (len > 4 && !memcmp(p, "ASK ", 4)) {
        out->ask = true;
        p += 4;
    } else
        return false;
    long slot = 0;
    const char *digits = p;
    for (; p < end && *p >= '0' && *p <= '9' && p - digits < 6; p++)
        slot = slot * 10 + (*p - '0');
    if (p == digits || p == end || *p != ' ' || slot >= QC_RCLUSTER_SLOTS)
        return false;
    p++;
    size_t rest = (size_t)(end - p);
    if (memchr(p, ' ', rest) || memchr(p, '\r', rest) || memchr(p, '\n', rest))
        return false;
    out->slot = (unsigned)slot;
    return parse_hostport(p, rest, out->host, sizeof out->host, &out->port);
}

static bool reply_int(const redisReply *r, long long lo, long long hi, long long *v)
{
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer < lo || r->integer > hi)
        return false;
    *v = r->integer;
    return true;
}

int qc_rcluster_parse_slots(const redisReply *reply, qc_rcluster_range_t *out, size_t max)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return -1;
    if (reply->elements > max)
        return -1;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        long long start, end, port;
        if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            !reply_int(e->element[0], 0, QC_RCLUSTER_SLOTS - 1, &start) ||
            !reply_int(e->element[1], start, QC_RCLUSTER_SLOTS - 1, &end))
            return -1;
        const redisReply *n = e->element[2];
        if (!n || n->type != REDIS_REPLY_ARRAY || n->elements < 2 || !n->element[0] ||
            n->element[0]->type != REDIS_REPLY_STRING || n->element[0]->len >= QC_RCLUSTER_HOST_MAX ||
            !reply_int(n->element[1], 1, 65535, &port))
            return -1;
        out[i].start = (unsigned)start;
        out[i].end = (unsigned)end;
        memcpy(out[i].host, n->element[0]->str, n->element[0]->len);
        out[i].host[n->element[0]->len] = '\0';
        out[i].port = (int)port;
    }
    return (int)reply->elements;
}

int qc_rcluster_command_slot(int argc, const char **argv, const size_t *argvlen)
{
    if (argc < 2)
        return -1;
    if ((argvlen[0] == 4 && !strncasecmp(argv[0], "EVAL", 4)) ||
        (argvlen[0] == 7 && !strncasecmp(argv[0], "EVALSHA", 7)) ||
        (argvlen[0] == 5 && !strncasecmp(argv[0], "FCALL", 5))) {
        if (argc < 4 || argvlen[2] == 0 || argvlen[2] > 9)
            return -1;
        long nkeys = 0;
        for (size_t i = 0; i < argvlen[2]; i++) {
            if (argv[2][i] < '0' || argv[2][i] > '9')
                return -1;
            nkeys = nkeys * 10 + (argv[2][i] - '0');
        }
        return nkeys > 0 ? (int)qc_rcluster_keyslot(argv[3], argvlen[3]) : -1;
    }
    if ((argvlen[0] == 4 && (!strncasecmp(argv[0], "PING", 4) || !strncasecmp(argv[0], "INFO", 4))) ||
        (argvlen[0] == 6 && !strncasecmp(argv[0], "SCRIPT", 6)) ||
        (argvlen[0] == 7 && !strncasecmp(argv[0], "CLUSTER", 7)))
        return -1;
    return (int)qc_rcluster_keyslot(argv[1], argvlen[1]);
}

/* ---- the client -------------------------------------------------------- */

typedef struct rc_node rc_node_t;
struct rc_node {
    rc_node_t *next;
    qc_rcluster_t *c;
    char host[QC_RCLUSTER_HOST_MAX];
    int port;
    char name[QC_RCLUSTER_HOST_MAX + 8]; /* host:port */
    redisAsyncContext *ac;   /* NULL while disconnected */
    bool connected;          /* the connect callback said yes */
    bool warned;             /* a failure was logged; quiet until connected again */
    int64_t next_connect_ms; /* monotonic: no new connect before */
};

struct qc_rcluster {
    struct event_base *base;
    qc_redis_auth_t auth;           /* sent first on every node connection */
    rc_node_t *nodes;               /* every node ever named */
    rc_node_t *slot_node[QC_RCLUSTER_SLOTS]; /* NULL: unmapped */
    bool up;
    qc_rcluster_state_cb state_cb;
    void *opaque;
    struct event *refresh_ev;
    bool refresh_inflight, refresh_again;
    int64_t last_refresh_ms;
    bool destroying;
    qc_rcluster_stats_t stats;
};

typedef struct rc_req {
    qc_rcluster_t *c;
    qc_redis_cb cb;
    void *opaque;
    int slot;
    int redirects;
    int argc;
    const char **argv;
    size_t *argvlen;
} rc_req_t;

static void schedule_refresh(qc_rcluster_t *c, long delay_ms);

static rc_node_t *node_get(qc_rcluster_t *c, const char *host, int port)
{
    for (rc_node_t *n = c->nodes; n; n = n->next)
        if (n->port == port && !strcmp(n->host, host))
            return n;
    rc_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->c = c;
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    snprintf(n->name, sizeof n->name, "%s:%d", host, port);
    n->next = c->nodes;
    c->nodes = n;
    return n;
}

static void on_node_connect(const redisAsyncContext *ac, int status)
{
    rc_node_t *n = ac->data;
    if (status != REDIS_OK) {
        if (!n->warned)
            qc_log(QC_LOG_WARN, "redis_cluster_connect_failed", "node", n->name, "error", ac->errstr, NULL);
        n->warned = true;
        n->ac = NULL; /* hiredis frees the context after this callback */
        n->connected = false;
        schedule_refresh(n->c, RC_REFRESH_DEGRADED_MS);
        return;
    }
    n->connected = true;
    n->warned = false;
}

static void on_node_disconnect(const redisAsyncContext *ac, int status)
{
    rc_node_t *n = ac->data;
    n->ac = NULL;
    n->connected = false;
    if (n->c->destroying)
        return;
    qc_log(QC_LOG_WARN, "redis_cluster_disconnected", "node", n->name, "error",
           status == REDIS_OK ? "" : ac->errstr, NULL);
    n->warned = true;
    schedule_refresh(n->c, RC_REFRESH_MIN_MS);
}

/* The node's connection, opening one if there is none and the last try
 * was long enough ago. Commands may be queued on it before it is up:
 * hiredis sends them once connected, or fails them with NULL replies. */
static redisAsyncContext *node_conn(rc_node_t *n)
{
    if (n->ac)
        return n->ac;
    int64_t now = qc_mono_ms();
    if (now < n->next_connect_ms)
        return NULL;
    n->next_connect_ms = now + RC_RECONNECT_MS;
    redisAsyncContext *ac = redisAsyncConnect(n->host, n->port);
    if (!ac || ac->err) {
        if (!n->warned)
            qc_log(QC_LOG_WARN, "redis_cluster_connect_failed", "node", n->name, "error",
                   ac ? ac->errstr : "oom", NULL);
        n->warned = true;
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = n;
    if (redisLibeventAttach(ac, n->c->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    qc_redis_auth_send(ac, &n->c->auth);
    redisAsyncSetConnectCallback(ac, on_node_connect);
    redisAsyncSetDisconnectCallback(ac, on_node_disconnect);
    n->ac = ac;
    return ac;
}

static void set_up(qc_rcluster_t *c, bool up)
{
    if (c->up == up)
        return;
    c->up = up;
    if (c->state_cb && !c->destroying)
        c->state_cb(c, up, c->opaque);
}

static void on_slots(redisAsyncContext *ac, void *reply_, void *priv)
{
    (void)ac;
    qc_rcluster_t *c = priv;
    redisReply *reply = reply_;
    c->refresh_inflight = false;
    if (c->destroying)
        return;
    qc_rcluster_range_t *ranges = malloc(sizeof *ranges * RC_MAX_RANGES);
    int n = ranges ? qc_rcluster_parse_slots(reply, ranges, RC_MAX_RANGES) : -1;
    if (n < 0) {
        if (reply)
            qc_log(QC_LOG_WARN, "redis_cluster_bad_slots", "error",
                   reply->type == REDIS_REPLY_ERROR ? reply->str : "malformed CLUSTER SLOTS reply", NULL);
        free(ranges);
        schedule_refresh(c, RC_REFRESH_DEGRADED_MS);
        return;
    }
    rc_node_t **map = calloc(QC_RCLUSTER_SLOTS, sizeof *map);
    if (!map) {
        free(ranges);
        schedule_refresh(c, RC_REFRESH_DEGRADED_MS);
        return;
    }
    for (int i = 0; i < n; i++) {
        rc_node_t *node = node_get(c, ranges[i].host, ranges[i].port);
        if (!node)
            break;
        for (unsigned s = ranges[i].start; s <= ranges[i].end; s++)
            map[s] = node;
    }
    free(ranges);
    bool full = true, degraded = false;
    int primaries = 0;
    for (rc_node_t *nd = c->nodes; nd; nd = nd->next) {
        bool mapped = false;
        for (unsigned s = 0; s < QC_RCLUSTER_SLOTS && !mapped; s++)
            mapped = map[s] == nd;
        if (!mapped)
            continue;
        primaries++;
        if (!node_conn(nd) && !nd->connected)
            degraded = true;
    }
    for (unsigned s = 0; s < QC_RCLUSTER_SLOTS; s++)
        full = full && map[s];
    memcpy(c->slot_node, map, sizeof c->slot_node);
    free(map);
    c->stats.refreshes++;
    c->stats.primaries = primaries;
    set_up(c, full);
    if (!full || degraded || c->refresh_again) {
        c->refresh_again = false;
        schedule_refresh(c, RC_REFRESH_DEGRADED_MS);
    }
}

/* Asks a node we can talk to for the map: first a connected one, else any
 * we may (re)connect to now. */
static void refresh_now(qc_rcluster_t *c)
{
    if (c->refresh_inflight) {
        c->refresh_again = true;
        return;
    }
    rc_node_t *pick = NULL;
    for (rc_node_t *n = c->nodes; n && !pick; n = n->next)
        if (n->ac && n->connected)
            pick = n;
    for (rc_node_t *n = c->nodes; n && !pick; n = n->next)
        if (node_conn(n))
            pick = n;
    if (!pick || redisAsyncCommand(pick->ac, on_slots, c, "CLUSTER SLOTS") != REDIS_OK) {
        schedule_refresh(c, RC_REFRESH_DEGRADED_MS);
        return;
    }
    c->refresh_inflight = true;
    c->last_refresh_ms = qc_mono_ms();
}

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    refresh_now(arg);
}

static void schedule_refresh(qc_rcluster_t *c, long delay_ms)
{
    if (c->destroying || evtimer_pending(c->refresh_ev, NULL))
        return;
    long since = (long)(qc_mono_ms() - c->last_refresh_ms);
    if (delay_ms < RC_REFRESH_MIN_MS - since)
        delay_ms = RC_REFRESH_MIN_MS - since;
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    evtimer_add(c->refresh_ev, &tv);
}

static rc_node_t *any_primary(qc_rcluster_t *c)
{
    rc_node_t *first = NULL;
    for (unsigned s = 0; s < QC_RCLUSTER_SLOTS; s += 64) {
        rc_node_t *n = c->slot_node[s];
        if (n && n->connected)
            return n;
        if (n && !first)
            first = n;
    }
    return first;
}

static void on_reply(redisAsyncContext *ac, void *reply_, void *priv);

static int req_send(rc_req_t *q, rc_node_t *n, bool asking)
{
    redisAsyncContext *ac = n ? node_conn(n) : NULL;
    if (!ac)
        return QC_ERR_REDIS;
    if (asking && redisAsyncCommand(ac, NULL, NULL, "ASKING") != REDIS_OK)
        return QC_ERR_REDIS;
    if (redisAsyncCommandArgv(ac, on_reply, q, q->argc, q->argv, q->argvlen) != REDIS_OK)
        return QC_ERR_REDIS;
    return 0;
}

static void req_finish(rc_req_t *q, redisReply *reply)
{
    if (q->cb)
        q->cb(reply, q->opaque);
    free(q);
}

static void on_reply(redisAsyncContext *ac, void *reply_, void *priv)
{
    rc_req_t *q = priv;
    qc_rcluster_t *c = q->c;
    redisReply *reply = reply_;
    if (!reply) {
        c->stats.lost++;
        req_finish(q, NULL);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR && !c->destroying) {
        qc_rcluster_redirect_t rd;
        if (qc_rcluster_parse_redirect(reply->str, reply->len, &rd) && q->redirects < QC_RCLUSTER_MAX_REDIRECTS) {
            const rc_node_t *from = ac->data;
            rc_node_t *to = node_get(c, rd.host[0] ? rd.host : from->host, rd.port);
            q->redirects++;
            if (rd.ask) {
                c->stats.ask++;
            } else {
                c->stats.moved++;
                if (to)
                    c->slot_node[rd.slot] = to;
                schedule_refresh(c, 0);
            }
            if (to && req_send(q, to, rd.ask) == 0)
                return;
            req_finish(q, NULL);
            return;
        }
        if (!strncmp(reply->str, "CLUSTERDOWN", 11))
            schedule_refresh(c, RC_REFRESH_MIN_MS);
    }
    req_finish(q, reply);
}

int qc_rcluster_argv_slot(qc_rcluster_t *c, int slot, qc_redis_cb cb, void *opaque, int argc,
                          const char **argv, const size_t *argvlen)
{
    if (!c || argc <= 0 || !argv || !argvlen || slot >= QC_RCLUSTER_SLOTS)
        return QC_ERR_INVAL;
    if (!c->up || c->destroying)
        return QC_ERR_REDIS;
    rc_node_t *n = slot >= 0 ? c->slot_node[slot] : any_primary(c);
    if (!n || (!n->ac && qc_mono_ms() < n->next_connect_ms))
        return QC_ERR_REDIS;
    size_t total = 0;
    for (int i = 0; i < argc; i++)
        total += argvlen[i];
    /* One allocation: the request, argv, lengths, then the bytes. */
    rc_req_t *q = malloc(sizeof *q + (size_t)argc * (sizeof(char *) + sizeof(size_t)) + total);
    if (!q)
        return QC_ERR_NOMEM;
    q->c = c;
    q->cb = cb;
    q->opaque = opaque;
    q->slot = slot;
    q->redirects = 0;
    q->argc = argc;
    q->argv = (const char **)(q + 1);
    q->argvlen = (size_t *)(q->argv + argc);
    char *data = (char *)(q->argvlen + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(data, argv[i], argvlen[i]);
        q->argv[i] = data;
        q->argvlen[i] = argvlen[i];
        data += argvlen[i];
    }
    if (req_send(q, n, false)) {
        free(q);
        schedule_refresh(c, RC_REFRESH_MIN_MS);
        return QC_ERR_REDIS;
    }
    return 0;
}

int qc_rcluster_argv(qc_rcluster_t *c, qc_redis_cb cb, void *opaque, int argc, const char **argv,
                     const size_t *argvlen)
{
    if (!c || argc <= 0 || !argv || !argvlen)
        return QC_ERR_INVAL;
    return qc_rcluster_argv_slot(c, qc_rcluster_command_slot(argc, argv, argvlen), cb, opaque, argc, argv,
                                 argvlen);
}

qc_rcluster_t *qc_rcluster_new(struct event_base *base, const char *seeds, const qc_redis_auth_t *auth,
                               qc_rcluster_state_cb state_cb, void *opaque, char *errstr, size_t errstr_size)
{
    qc_rcluster_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->base = base;
    if (auth)
        c->auth = *auth;
    c->state_cb = state_cb;
    c->opaque = opaque;
    const char *p = seeds ? seeds : "";
    if (!strncmp(p, "redis://", 8))
        p += 8;
    else if (!strncmp(p, "redis-cluster://", 16))
        p += 16;
    while (*p) {
        size_t len = strcspn(p, ",/");
        char host[QC_RCLUSTER_HOST_MAX];
        int port;
        if (!parse_hostport(p, len, host, sizeof host, &port) || !host[0] || !node_get(c, host, port)) {
            snprintf(errstr, errstr_size, "bad Redis Cluster seed '%.*s' (want host:port[,host:port...])", (int)len,
                     p);
            goto fail;
        }
        p += len;
        if (*p == '/')
            break; /* a URL's "/0": clusters have database 0 only */
        if (*p == ',')
            p++;
    }
    if (!c->nodes) {
        snprintf(errstr, errstr_size, "no Redis Cluster seed given");
        goto fail;
    }
    c->refresh_ev = evtimer_new(base, on_refresh_timer, c);
    if (!c->refresh_ev) {
        snprintf(errstr, errstr_size, "evtimer_new failed");
        goto fail;
    }
    c->last_refresh_ms = qc_mono_ms() - RC_REFRESH_MIN_MS;
    refresh_now(c);
    return c;
fail:
    qc_rcluster_destroy(c);
    return NULL;
}

void qc_rcluster_destroy(qc_rcluster_t *c)
{
    if (!c)
        return;
    c->destroying = true;
    for (rc_node_t *n = c->nodes; n; n = n->next)
        if (n->ac)
            redisAsyncFree(n->ac); /* pending callbacks get NULL, then the disconnect callback */
    while (c->nodes) {
        rc_node_t *n = c->nodes;
        c->nodes = n->next;
        free(n);
    }
    if (c->refresh_ev)
        event_free(c->refresh_ev);
    qc_redis_auth_wipe(&c->auth);
    free(c);
}

bool qc_rcluster_up(const qc_rcluster_t *c)
{
    return c && c->up;
}

void qc_rcluster_stats(const qc_rcluster_t *c, qc_rcluster_stats_t *out)
{
    *out = c->stats;
}

const char *qc_rcluster_slot_node(const qc_rcluster_t *c, unsigned slot)
{
    if (!c || slot >= QC_RCLUSTER_SLOTS || !c->slot_node[slot])
        return NULL;
    return c->slot_node[slot]->name;
}
