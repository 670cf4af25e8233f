/* test_rcluster.c: Redis Cluster routing, and qc_redis on a cluster URL.
 * The pure parts always; with
 * QUAKECAST_TEST_REDIS_CLUSTER=<seeds> (tests/tools/rcluster-live starts a
 * 3-primary, 3-replica cluster for it) also the client against it: routing
 * across primaries, hash tags against the server's own CLUSTER KEYSLOT, an
 * ASK during a slot migration, a MOVED after it, and a primary killed with
 * SIGKILL (the client follows its replica's promotion); and fencing
 * tokens that stay unique when a failover loses the last acquire. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "qc/err.h"
#include "qc/rcluster.h"
#include "qc/redis.h"
#include "qc/subscriber.h"
#include "qctest.h"

/* ---- pure parts -------------------------------------------------------- */

static void test_crc16_vectors(void)
{
    /* The cluster spec's reference value, and the catalogue's check value
     * of CRC-16/XMODEM, are the same: 0x31C3 for "123456789". */
    CHECK_INT(qc_rcluster_crc16("123456789", 9), 0x31C3);
    CHECK_INT(qc_rcluster_crc16("", 0), 0);
    /* Single bytes: for a byte b the CRC is the polynomial's effect on
     * b << 8; 'A' (0x41) gives 0x58E5 (computed by hand from the
     * definition, also what redis-cli CLUSTER KEYSLOT implies below). */
    CHECK_INT(qc_rcluster_crc16("A", 1), 0x58E5);
}

static unsigned slot_of(const char *k)
{
    return qc_rcluster_keyslot(k, strlen(k));
}

static void test_keyslot_hash_tags(void)
{
    /* Answers of a Redis 7 server's CLUSTER KEYSLOT. */
    CHECK_INT(slot_of("foo"), 12182);
    CHECK_INT(slot_of("bar"), 5061);
    CHECK_INT(slot_of("123456789"), 0x31C3 & 16383);
    /* the tag alone is hashed */
    CHECK_INT(slot_of("{user1000}.following"), slot_of("user1000"));
    CHECK_INT(slot_of("{user1000}.followers"), slot_of("{user1000}.following"));
    CHECK_INT(slot_of("{a123:s45}:cursor"), slot_of("a123:s45"));
    CHECK_INT(slot_of("run:{a123:s45}:leases"), slot_of("a123:s45"));
    /* only the first '{' and the first '}' after it count */
    CHECK_INT(slot_of("foo{bar}{zap}"), slot_of("bar"));
    CHECK_INT(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    /* "{}" (nothing between) or no closing brace: the whole key */
    CHECK_INT(slot_of("foo{}{bar}"), qc_rcluster_crc16("foo{}{bar}", 10) & 16383);
    CHECK_INT(slot_of("foo{bar"), qc_rcluster_crc16("foo{bar", 7) & 16383);
    CHECK_INT(slot_of("}foo{"), qc_rcluster_crc16("}foo{", 5) & 16383);
    /* binary keys: the length counts, not a NUL */
    CHECK_INT(qc_rcluster_keyslot("a\0b", 3), qc_rcluster_crc16("a\0b", 3) & 16383);
    CHECK(qc_rcluster_keyslot("a\0b", 3) != slot_of("a"));
}

static void test_redirect_parsing(void)
{
    qc_rcluster_redirect_t r;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    CHECK(qc_rcluster_parse_redirect(m, strlen(m), &r));
    CHECK(!r.ask);
    CHECK_INT(r.slot, 3999);
    CHECK_STR(r.host, "127.0.0.1");
    CHECK_INT(r.port, 6381);
    const char *a = "ASK 16383 10.0.0.7:7000";
    CHECK(qc_rcluster_parse_redirect(a, strlen(a), &r));
    CHECK(r.ask);
    CHECK_INT(r.slot, 16383);
    CHECK_STR(r.host, "10.0.0.7");
    CHECK_INT(r.port, 7000);
    const char *v6 = "MOVED 0 ::1:30001";
    CHECK(qc_rcluster_parse_redirect(v6, strlen(v6), &r));
    CHECK_STR(r.host, "::1");
    CHECK_INT(r.port, 30001);
    const char *nohost = "MOVED 12 :6380"; /* the answering node's host */
    CHECK(qc_rcluster_parse_redirect(nohost, strlen(nohost), &r));
    CHECK_STR(r.host, "");
    CHECK_INT(r.port, 6380);
    static const char *const bad[] = {
        "MOVED", "MOVED ", "MOVED 3999", "MOVED 3999 ", "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED x h:1",
        "MOVED 1 host", "MOVED 1 host:", "MOVED 1 host:0", "MOVED 1 host:65536", "MOVED 1 host:12a",
        "MOVED 1 h:1 extra", "ASK 1 h:1\r\n", "ERR unknown command", "NOSCRIPT No matching script",
        "moved 1 h:1", "MOVED 1234567 h:1", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (qc_rcluster_parse_redirect(bad[i], strlen(bad[i]), &r)) {
            CHECK(!"bad redirect accepted");
            fprintf(stderr, "  '%s'\n", bad[i]);
        }
    char longhost[200];
    memset(longhost, 'h', sizeof longhost);
    memcpy(longhost, "MOVED 1 ", 8);
    memcpy(longhost + sizeof longhost - 5, ":123", 4);
    CHECK(!qc_rcluster_parse_redirect(longhost, sizeof longhost - 1, &r));
    CHECK(!qc_rcluster_parse_redirect(NULL, 0, &r));
}

/* ---- hand-built CLUSTER SLOTS replies ---------------------------------- */

static redisReply *r_int(long long v)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static redisReply *r_str(const char *s)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *r_arr(size_t n, ...)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

static void test_slots_parsing(void)
{
    redisReply *ok = r_arr(2,
        r_arr(4, r_int(0), r_int(8191), r_arr(3, r_str("127.0.0.1"), r_int(7000), r_str("id1")),
              r_arr(3, r_str("127.0.0.1"), r_int(7003), r_str("id4"))),
        r_arr(3, r_int(8192), r_int(16383), r_arr(4, r_str("::1"), r_int(7001), r_str("id2"), r_arr(0))));
    qc_rcluster_range_t rg[4];
    CHECK_INT(qc_rcluster_parse_slots(ok, rg, 4), 2);
    CHECK_INT(rg[0].start, 0);
    CHECK_INT(rg[0].end, 8191);
    CHECK_STR(rg[0].host, "127.0.0.1");
    CHECK_INT(rg[0].port, 7000);
    CHECK_STR(rg[1].host, "::1");
    CHECK_INT(rg[1].end, 16383);
    CHECK_INT(qc_rcluster_parse_slots(ok, rg, 1), -1); /* more ranges than room */
    freeReplyObject(ok);

    redisReply *bads[] = {
        r_int(3),
        r_arr(1, r_int(1)),
        r_arr(1, r_arr(3, r_int(5), r_int(4), r_arr(2, r_str("h"), r_int(1)))),        /* start > end */
        r_arr(1, r_arr(3, r_int(0), r_int(16384), r_arr(2, r_str("h"), r_int(1)))),    /* past the last slot */
        r_arr(1, r_arr(3, r_int(-1), r_int(3), r_arr(2, r_str("h"), r_int(1)))),
        r_arr(1, r_arr(3, r_int(0), r_int(3), r_arr(2, r_str("h"), r_int(0)))),        /* port 0 */
        r_arr(1, r_arr(3, r_int(0), r_int(3), r_arr(2, r_int(7), r_int(1)))),          /* host not a string */
        r_arr(1, r_arr(3, r_int(0), r_int(3), r_arr(1, r_str("h")))),                  /* no port */
        r_arr(1, r_arr(2, r_int(0), r_int(3))),                                       /* no node */
        r_arr(1, r_arr(3, r_str("0"), r_int(3), r_arr(2, r_str("h"), r_int(1)))),
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        CHECK_INT(qc_rcluster_parse_slots(bads[i], rg, 4), -1);
        freeReplyObject(bads[i]);
    }
    CHECK_INT(qc_rcluster_parse_slots(NULL, rg, 4), -1);
}

static void test_command_slot(void)
{
    const char *set[] = { "SET", "{a1:s2}:x", "v" };
    size_t setl[] = { 3, 9, 1 };
    CHECK_INT(qc_rcluster_command_slot(3, set, setl), slot_of("a1:s2"));
    const char *ev[] = { "EVALSHA", "0123", "2", "{a1:s2}:cur", "{a1:s2}:lease", "arg" };
    size_t evl[] = { 7, 4, 1, 11, 13, 3 };
    CHECK_INT(qc_rcluster_command_slot(6, ev, evl), slot_of("a1:s2"));
    const char *ev0[] = { "EVAL", "return 1", "0" };
    size_t ev0l[] = { 4, 8, 1 };
    CHECK_INT(qc_rcluster_command_slot(3, ev0, ev0l), -1);
    const char *evbad[] = { "eval", "x", "2x", "k" };
    size_t evbadl[] = { 4, 1, 2, 1 };
    CHECK_INT(qc_rcluster_command_slot(4, evbad, evbadl), -1);
    const char *evshort[] = { "EVALSHA", "x", "1" };
    size_t evshortl[] = { 7, 1, 1 };
    CHECK_INT(qc_rcluster_command_slot(3, evshort, evshortl), -1);
    const char *ping[] = { "PING" };
    size_t pingl[] = { 4 };
    CHECK_INT(qc_rcluster_command_slot(1, ping, pingl), -1);
    const char *load[] = { "SCRIPT", "LOAD", "return 1" };
    size_t loadl[] = { 6, 4, 8 };
    CHECK_INT(qc_rcluster_command_slot(3, load, loadl), -1);
}

static void test_bad_seeds(void)
{
    struct event_base *base = event_base_new();
    char err[160];
    static const char *const bad[] = { "", "127.0.0.1", "127.0.0.1:0", ":6379", "h:1,,h:2", "redis://", NULL };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        qc_rcluster_t *c = qc_rcluster_new(base, bad[i], NULL, NULL, NULL, err, sizeof err);
        CHECK(c == NULL);
        CHECK(err[0] != '\0');
        qc_rcluster_destroy(c);
    }
    event_base_free(base);
}

/* ---- against a live cluster -------------------------------------------- */

typedef struct live {
    struct event_base *base;
    qc_rcluster_t *c;
    int ups, downs;
    int replies, errors, lost;
    char last[256];
} live_t;

static void on_state(qc_rcluster_t *c, bool up, void *opaque)
{
    (void)c;
    live_t *l = opaque;
    if (up)
        l->ups++;
    else
        l->downs++;
}

static void on_cmd(redisReply *r, void *opaque)
{
    live_t *l = opaque;
    l->replies++;
    if (!r) {
        l->lost++;
        snprintf(l->last, sizeof l->last, "(lost)");
    } else if (r->type == REDIS_REPLY_ERROR) {
        l->errors++;
        snprintf(l->last, sizeof l->last, "ERR %s", r->str);
    } else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        snprintf(l->last, sizeof l->last, "%s", r->str);
    } else if (r->type == REDIS_REPLY_INTEGER) {
        snprintf(l->last, sizeof l->last, "%lld", r->integer);
    } else {
        snprintf(l->last, sizeof l->last, "(type %d)", r->type);
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop in 5 ms steps until @p done(l) or @p limit_s. */
static bool run_until(live_t *l, bool (*done)(live_t *l, void *arg), void *arg, double limit_s)
{
    double end = mono_s() + limit_s;
    while (!done(l, arg)) {
        if (mono_s() > end)
            return false;
        struct timeval tv = { 0, 5000 };
        event_base_loopexit(l->base, &tv);
        event_base_dispatch(l->base);
    }
    return true;
}

static bool is_up(live_t *l, void *arg)
{
    (void)arg;
    return qc_rcluster_up(l->c);
}

static bool replies_at_least(live_t *l, void *arg)
{
    return l->replies >= *(int *)arg;
}

/* One command, waited for; @returns its reply as text in l->last. */
static const char *cmd(live_t *l, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    int want = l->replies + 1;
    if (qc_rcluster_argv(l->c, on_cmd, l, argc, argv, lens) != 0)
        return "(not sent)";
    if (!run_until(l, replies_at_least, &want, 10))
        return "(timeout)";
    return l->last;
}

/* A synchronous connection to "host:port" for the test's own admin. */
static redisContext *admin(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
    struct timeval tv = { 5, 0 };
    return redisConnectWithTimeout(host, (int)strtol(colon + 1, NULL, 10), tv);
}

static void node_id(redisContext *rc, char *out, size_t n)
{
    redisReply *r = redisCommand(rc, "CLUSTER MYID");
    snprintf(out, n, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
}

static void live_setup(live_t *l, const char *seeds)
{
    memset(l, 0, sizeof *l);
    l->base = event_base_new();
    char err[160];
    /* only the first seed: the rest comes from the map */
    char first[80];
    snprintf(first, sizeof first, "redis-cluster://%.*s", (int)strcspn(seeds, ","), seeds);
    l->c = qc_rcluster_new(l->base, first, NULL, on_state, l, err, sizeof err);
    CHECK(l->c != NULL);
    CHECK(run_until(l, is_up, NULL, 10));
    CHECK_INT(l->ups, 1);
}

static void live_teardown(live_t *l)
{
    qc_rcluster_destroy(l->c);
    event_base_free(l->base);
}

static void live_routing(const char *seeds)
{
    live_t l;
    live_setup(&l, seeds);
    qc_rcluster_stats_t st;
    qc_rcluster_stats(l.c, &st);
    CHECK_INT(st.primaries, 3);
    char k[32], v[32];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "rt:%d", i);
        snprintf(v, sizeof v, "v%d", i);
        const char *set[] = { "SET", k, v };
        CHECK_STR(cmd(&l, 3, set), "OK");
    }
    for (int i = 0; i < 300; i += 7) {
        snprintf(k, sizeof k, "rt:%d", i);
        snprintf(v, sizeof v, "v%d", i);
        const char *get[] = { "GET", k };
        CHECK_STR(cmd(&l, 2, get), v);
    }
    /* our slot function against the server's, keys with and without tags */
    redisContext *rc = admin(qc_rcluster_slot_node(l.c, 0));
    CHECK(rc && !rc->err);
    int mismatches = 0;
    for (int i = 0; i < 2000 && rc && !rc->err; i++) {
        snprintf(k, sizeof k, i % 3 ? "k%d" : i % 2 ? "x{a%d:s%d}y" : "{}%d{z}", i, i * 7);
        redisReply *r = redisCommand(rc, "CLUSTER KEYSLOT %s", k);
        if (!r || r->type != REDIS_REPLY_INTEGER || (unsigned)r->integer != slot_of(k))
            mismatches++;
        freeReplyObject(r);
    }
    CHECK_INT(mismatches, 0);
    if (rc)
        redisFree(rc);
    /* one segment run's keys meet in one script */
    const char *ev[] = { "EVAL", "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])", "2",
                         "run:{a123:s45}:x", "run:{a123:s45}:n", "1" };
    CHECK_STR(cmd(&l, 6, ev), "1");
    qc_rcluster_stats(l.c, &st);
    CHECK_INT(st.moved, 0);
    CHECK_INT(st.ask, 0);
    live_teardown(&l);
}

/* Moves the slot of "{mv}" to another primary by hand, the way
 * redis-cli --cluster reshard does (spec "Live reconfiguration"). */
static void live_redirects(const char *seeds)
{
    live_t l;
    live_setup(&l, seeds);
    unsigned slot = slot_of("mv");
    const char *src_name = qc_rcluster_slot_node(l.c, slot);
    char src[64], dst[64] = "";
    snprintf(src, sizeof src, "%s", src_name ? src_name : "?");
    for (unsigned s = 0; s < 16384 && !dst[0]; s += 97) {
        const char *n = qc_rcluster_slot_node(l.c, s);
        if (n && strcmp(n, src))
            snprintf(dst, sizeof dst, "%s", n);
    }
    const char *set_old[] = { "SET", "{mv}old", "before" };
    CHECK_STR(cmd(&l, 3, set_old), "OK");

    redisContext *S = admin(src), *D = admin(dst);
    CHECK(S && !S->err && D && !D->err);
    char sid[64], did[64];
    node_id(S, sid, sizeof sid);
    node_id(D, did, sizeof did);
    freeReplyObject(redisCommand(D, "CLUSTER SETSLOT %u IMPORTING %s", slot, sid));
    freeReplyObject(redisCommand(S, "CLUSTER SETSLOT %u MIGRATING %s", slot, did));

    /* a key the source does not have while the slot migrates: -ASK */
    const char *set_new[] = { "SET", "{mv}new", "during" };
    CHECK_STR(cmd(&l, 3, set_new), "OK");
    qc_rcluster_stats_t st;
    qc_rcluster_stats(l.c, &st);
    CHECK_INT(st.ask, 1);
    CHECK_INT(st.moved, 0);
    CHECK_STR(qc_rcluster_slot_node(l.c, slot), src); /* ASK leaves the map alone */

    const char *dcolon = strrchr(dst, ':');
    char dhost[64];
    snprintf(dhost, sizeof dhost, "%.*s", (int)(dcolon - dst), dst);
    const char *mig[] = { "MIGRATE", dhost, dcolon + 1, "", "0", "5000", "KEYS", "{mv}old" };
    size_t migl[8];
    for (int i = 0; i < 8; i++)
        migl[i] = strlen(mig[i]);
    redisReply *m = redisCommandArgv(S, 8, mig, migl);
    CHECK(m && m->type == REDIS_REPLY_STATUS);
    freeReplyObject(m);
    /* the slot belongs to the destination now, told to every primary */
    for (unsigned s = 0; s < 16384; s += 97) {
        const char *n = qc_rcluster_slot_node(l.c, s);
        redisContext *x = n ? admin(n) : NULL;
        if (x)
            freeReplyObject(redisCommand(x, "CLUSTER SETSLOT %u NODE %s", slot, did));
        if (x)
            redisFree(x);
    }
    freeReplyObject(redisCommand(D, "CLUSTER SETSLOT %u NODE %s", slot, did));
    freeReplyObject(redisCommand(S, "CLUSTER SETSLOT %u NODE %s", slot, did));

    /* the client's map is stale: the source answers -MOVED, once */
    const char *get_old[] = { "GET", "{mv}old" };
    CHECK_STR(cmd(&l, 2, get_old), "before");
    qc_rcluster_stats(l.c, &st);
    CHECK_INT(st.moved, 1);
    CHECK_STR(qc_rcluster_slot_node(l.c, slot), dst);
    const char *get_new[] = { "GET", "{mv}new" };
    CHECK_STR(cmd(&l, 2, get_new), "during");
    qc_rcluster_stats(l.c, &st);
    CHECK_INT(st.moved, 1);
    redisFree(S);
    redisFree(D);
    live_teardown(&l);
}

typedef struct fo {
    const char *key;
    int tries;
    double next;
} fo_t;

/* Keeps writing @p f->key every 50 ms until a write succeeds. */
static bool write_ok(live_t *l, void *arg)
{
    fo_t *f = arg;
    if (!strcmp(l->last, "OK") && l->replies > 0)
        return true;
    if (mono_s() < f->next)
        return false;
    f->next = mono_s() + 0.05;
    const char *set[] = { "SET", f->key, "after" };
    size_t lens[] = { 3, strlen(f->key), 5 };
    f->tries++;
    l->last[0] = '\0';
    if (qc_rcluster_argv(l->c, on_cmd, l, 3, set, lens) != 0)
        snprintf(l->last, sizeof l->last, "(not sent)");
    return false;
}

static void live_failover(const char *seeds)
{
    live_t l;
    live_setup(&l, seeds);
    const char *key = "{fo}k";
    unsigned slot = slot_of("fo");
    char victim[64];
    snprintf(victim, sizeof victim, "%s", qc_rcluster_slot_node(l.c, slot));
    const char *set[] = { "SET", key, "before" };
    CHECK_STR(cmd(&l, 3, set), "OK");
    redisContext *v = admin(victim);
    CHECK(v && !v->err);
    /* replicated before the kill (replication is asynchronous) */
    redisReply *w = redisCommand(v, "WAIT 1 5000");
    CHECK(w && w->type == REDIS_REPLY_INTEGER && w->integer == 1);
    freeReplyObject(w);
    redisReply *info = redisCommand(v, "INFO server");
    const char *p = info && info->type == REDIS_REPLY_STRING ? strstr(info->str, "process_id:") : NULL;
    pid_t pid = p ? (pid_t)strtol(p + 11, NULL, 10) : 0;
    freeReplyObject(info);
    redisFree(v);
    CHECK(pid > 0);
    if (pid <= 0) {
        live_teardown(&l);
        return;
    }
    qc_rcluster_stats_t before, after;
    qc_rcluster_stats(l.c, &before);
    double t0 = mono_s();
    CHECK_INT(kill(pid, SIGKILL), 0);
    fo_t f = { .key = key };
    l.replies = 0;
    CHECK(run_until(&l, write_ok, &f, 40));
    double took = mono_s() - t0;
    qc_rcluster_stats(l.c, &after);
    printf("  failover: writes to the killed primary's slot work again after %.1f s, %d tries, %lu map loads\n",
           took, f.tries, after.refreshes - before.refreshes);
    CHECK(after.refreshes > before.refreshes);
    const char *now = qc_rcluster_slot_node(l.c, slot);
    CHECK(now && strcmp(now, victim) != 0);
    const char *get[] = { "GET", key };
    CHECK_STR(cmd(&l, 2, get), "after");
    live_teardown(&l);
}

/* qc_redis (redis.c) on a cluster URL: commands in both forms, and a
 * project script sent by SHA, loaded by the first NOSCRIPT on its node. */
static void on_qc_state(qc_redis_t *r, bool up, void *opaque)
{
    (void)r;
    live_t *l = opaque;
    if (up)
        l->ups++;
}

static bool qc_up(live_t *l, void *arg)
{
    return qc_redis_up(arg) && l->ups > 0;
}

/* A subscription's replies: the confirmation, and "message"s whose payload
 * is "hello". */
typedef struct heard {
    bool confirmed;
    int hello, want;
} heard_t;

static void on_heard(redisReply *r, void *opaque)
{
    heard_t *h = opaque;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (!strcmp(r->element[0]->str, "subscribe"))
        h->confirmed = true;
    else if (!strcmp(r->element[0]->str, "message") && r->element[2]->type == REDIS_REPLY_STRING &&
             !strcmp(r->element[2]->str, "hello"))
        h->hello++;
}

static bool heard_enough(live_t *l, void *arg)
{
    (void)l;
    const heard_t *h = arg;
    return h->confirmed && h->hello >= h->want;
}

static void live_qc_redis(const char *seeds)
{
    live_t l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    char url[512], err[160];
    snprintf(url, sizeof url, "redis-cluster://%s", seeds);
    qc_redis_t *r = qc_redis_new(l.base, url, NULL, on_qc_state, &l, err, sizeof err);
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", err);
        event_base_free(l.base);
        return;
    }
    CHECK(run_until(&l, qc_up, r, 10));
    CHECK_STR(qc_redis_run_id(r), "");
    int want = 0;
    for (int i = 0; i < 50; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "qr:%d", i);
        snprintf(v, sizeof v, "%d", i * 3);
        CHECK_INT(qc_redis_cmd(r, on_cmd, &l, "SET %s %s", k, v), 0);
        want++;
    }
    CHECK(run_until(&l, replies_at_least, &want, 10));
    CHECK_INT(qc_redis_cmd(r, on_cmd, &l, "GET %s", "qr:17"), 0);
    want++;
    CHECK(run_until(&l, replies_at_least, &want, 10));
    CHECK_STR(l.last, "51");
    const char *get[] = { "GET", "qr:33" };
    size_t getl[] = { 3, 5 };
    CHECK_INT(qc_redis_argv(r, on_cmd, &l, 2, get, getl), 0);
    want++;
    CHECK(run_until(&l, replies_at_least, &want, 10));
    CHECK_STR(l.last, "99");
    CHECK_INT(l.errors, 0);
    /* epoch.lua: KEYS epoch-hash, ARGV run_id; bumps on a new run_id */
    const char *run_ids[] = { "x", "x", "y" };
    const char *expect[] = { "1", "1", "2" };
    for (int i = 0; i < 3; i++) {
        const char *a[] = { "{qrtest}:epoch", run_ids[i] };
        size_t al[] = { strlen(a[0]), 1 };
        CHECK_INT(qc_redis_script(r, QC_SCRIPT_EPOCH, 1, 2, a, al, on_cmd, &l), 0);
        want++;
        CHECK(run_until(&l, replies_at_least, &want, 10));
        CHECK_STR(l.last, expect[i]);
    }
    /* loaded on every primary when the map came up: no NOSCRIPT */
    CHECK_INT(qc_redis_noscript_count(r), 0);
    /* a node that forgot them (a promoted replica, SCRIPT FLUSH) answers
     * NOSCRIPT once; the call goes again as EVAL, which loads it */
    for (const char *p = seeds; *p;) {
        char one[80];
        snprintf(one, sizeof one, "%.*s", (int)strcspn(p, ","), p);
        redisContext *rc = admin(one);
        if (rc && !rc->err)
            freeReplyObject(redisCommand(rc, "SCRIPT FLUSH"));
        redisFree(rc);
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    for (int i = 0; i < 2; i++) {
        const char *a[] = { "{qrtest}:epoch", "y" };
        size_t al[] = { strlen(a[0]), 1 };
        CHECK_INT(qc_redis_script(r, QC_SCRIPT_EPOCH, 1, 2, a, al, on_cmd, &l), 0);
        want++;
        CHECK(run_until(&l, replies_at_least, &want, 10));
        CHECK_STR(l.last, "2");
    }
    CHECK_INT(qc_redis_noscript_count(r), 1);
    /* pub/sub: a PUBLISH sent to any node (each seed in turn, by a plain
     * connection) reaches the subscription, which the cluster client holds
     * on the channel's primary */
    heard_t h = { false, 0, 0 };
    CHECK_INT(qc_redis_subscribe(r, "qc:decisions", on_heard, &h), 0);
    CHECK(run_until(&l, heard_enough, &h, 10));
    int nseeds = 0;
    for (const char *p = seeds; *p; nseeds++) {
        char one[80];
        snprintf(one, sizeof one, "%.*s", (int)strcspn(p, ","), p);
        redisContext *rc = admin(one);
        CHECK(rc && !rc->err);
        if (rc && !rc->err)
            freeReplyObject(redisCommand(rc, "PUBLISH qc:decisions hello"));
        redisFree(rc);
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    CHECK(nseeds >= 3);
    h.want = nseeds;
    CHECK(run_until(&l, heard_enough, &h, 10));
    CHECK_INT(h.hello, nseeds);
    qc_redis_destroy(r);
    event_base_free(l.base);
}

/* Fencing across a failover that lost the primary's last writes. Redis
 * replicates asynchronously, so a promoted replica can lack an `acquire`
 * the old primary answered: its `fence` counter is one behind, and the next
 * acquire counts the same number again. The lost write is simulated on a
 * real cluster node exactly as the promoted replica would see it: the
 * run's keys are DUMPed before the acquire and RESTOREd after it. Holder A
 * got its token from the "old primary"; holder B acquires on the "promoted
 * replica". Without a nonce the counter re-issues A's token to B (the
 * hazard, shown first); with the dispatcher's nonce the tokens differ and
 * every write A tries (renew, claim) is FENCED. */
typedef struct fence_reply {
    char w[32], token[80];
} fence_reply_t;

static void on_fence(redisReply *r, void *opaque)
{
    fence_reply_t *f = opaque;
    snprintf(f->w, sizeof f->w, "%s", !r ? "(lost)" : r->type == REDIS_REPLY_ERROR ? "ERR"
                                      : r->type == REDIS_REPLY_ARRAY && r->elements && r->element[0]->str
                                          ? r->element[0]->str : "?");
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING)
        snprintf(f->token, sizeof f->token, "%s", r->element[1]->str);
}

static bool fence_answered(live_t *l, void *arg)
{
    (void)l;
    return ((fence_reply_t *)arg)->w[0] != '\0';
}

static void fence_script(live_t *l, qc_redis_t *r, qc_script_t s, int nkeys, int argc, const char **argv,
                         fence_reply_t *out)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    memset(out, 0, sizeof *out);
    CHECK_INT(qc_redis_script(r, s, nkeys, argc, argv, lens, on_fence, out), 0);
    CHECK(run_until(l, fence_answered, out, 10));
}

/* DUMP of @p key into @p buf (binary), waited for. @returns its length or -1. */
typedef struct dump { char buf[4096]; long len; bool got; } dump_t;
static void on_dump(redisReply *r, void *opaque)
{
    dump_t *d = opaque;
    d->got = true;
    d->len = r && r->type == REDIS_REPLY_STRING && r->len <= sizeof d->buf ? (long)r->len : -1;
    if (d->len > 0)
        memcpy(d->buf, r->str, (size_t)d->len);
}
static bool dump_got(live_t *l, void *arg)
{
    (void)l;
    return ((dump_t *)arg)->got;
}

static void live_fencing_lost_write(const char *seeds)
{
    live_t l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    char url[512], err[160];
    snprintf(url, sizeof url, "redis-cluster://%s", seeds);
    qc_redis_t *r = qc_redis_new(l.base, url, NULL, on_qc_state, &l, err, sizeof err);
    CHECK(r != NULL);
    if (!r) {
        event_base_free(l.base);
        return;
    }
    CHECK(run_until(&l, qc_up, r, 10));
    const char *run = "qc:run:{qrf}:a1:1", *leases = "qc:run:{qrf}:a1:1:l", *chunks = "qc:run:{qrf}:a1:1:c",
               *bits = "qc:run:{qrf}:a1:1:d", *recs = "qc:seg:{qrf}:r";
    for (int pass = 0; pass < 2; pass++) {
        const bool nonce = pass == 1;
        int want = l.replies + 2;
        qc_redis_cmd(r, on_cmd, &l, "DEL %s %s %s %s", run, leases, chunks, bits);
        qc_redis_cmd(r, on_cmd, &l, "DEL %s", recs);
        CHECK(run_until(&l, replies_at_least, &want, 10));
        want = l.replies + 2;
        qc_redis_cmd(r, on_cmd, &l, "HSET %s state dispatching maxw 4 epoch 1 total 4 chunk 2 nchunks 2 cursor 0 fence 0",
                     run);
        qc_redis_cmd(r, on_cmd, &l, "RPUSH %s r0 r1 r2 r3", recs);
        CHECK(run_until(&l, replies_at_least, &want, 10));
        /* the promoted replica's copy: the run before A's acquire */
        dump_t snap;
        memset(&snap, 0, sizeof snap);
        CHECK_INT(qc_redis_cmd(r, on_dump, &snap, "DUMP %s", run), 0);
        CHECK(run_until(&l, dump_got, &snap, 10));
        CHECK(snap.len > 0);
        const char *acq_a[] = { run, leases, chunks, "1", "60000", nonce ? "00aa11bb22cc33dd" : "" };
        fence_reply_t a, b, x;
        fence_script(&l, r, QC_SCRIPT_ACQUIRE, 3, 6, acq_a, &a);
        CHECK_STR(a.w, "OK");
        /* failover: A's acquire never reached the replica */
        want = l.replies + 1;
        qc_redis_cmd(r, on_cmd, &l, "DEL %s %s", leases, chunks);
        CHECK(run_until(&l, replies_at_least, &want, 10));
        want = l.replies + 1;
        qc_redis_cmd(r, on_cmd, &l, "RESTORE %s 0 %b REPLACE", run, snap.buf, (size_t)snap.len);
        CHECK(run_until(&l, replies_at_least, &want, 10));
        CHECK_STR(l.last, "OK");
        const char *acq_b[] = { run, leases, chunks, "1", "60000", nonce ? "44ee55ff66007711" : "" };
        fence_script(&l, r, QC_SCRIPT_ACQUIRE, 3, 6, acq_b, &b);
        CHECK_STR(b.w, "OK");
        if (!nonce) {
            /* the hazard: the counter repeats, and so would the token */
            CHECK_STR(b.token, a.token);
            continue;
        }
        CHECK(strcmp(a.token, b.token) != 0);
        /* B works normally */
        const char *claim_b[] = { run, leases, chunks, bits, recs, b.token, "60000" };
        fence_script(&l, r, QC_SCRIPT_CLAIM, 5, 7, claim_b, &x);
        CHECK_STR(x.w, "OK");
        /* A, the stale holder, can write nothing */
        const char *renew_a[] = { run, leases, a.token, "60000" };
        fence_script(&l, r, QC_SCRIPT_RENEW, 2, 4, renew_a, &x);
        CHECK_STR(x.w, "FENCED");
        const char *claim_a[] = { run, leases, chunks, bits, recs, a.token, "60000" };
        fence_script(&l, r, QC_SCRIPT_CLAIM, 5, 7, claim_a, &x);
        CHECK_STR(x.w, "FENCED");
        /* and B's chunk is still B's: nothing A sent was taken over */
        want = l.replies + 1;
        qc_redis_cmd(r, on_cmd, &l, "HGET %s 0", chunks);
        CHECK(run_until(&l, replies_at_least, &want, 10));
        CHECK_STR(l.last, b.token);
        want = l.replies + 1;
        qc_redis_cmd(r, on_cmd, &l, "HGET %s fenced", run);
        CHECK(run_until(&l, replies_at_least, &want, 10));
        CHECK_STR(l.last, "2");
    }
    qc_redis_destroy(r);
    event_base_free(l.base);
}

/* The same hazard through a real failover. The replica of the run's
 * primary drops its link (CLIENT KILL TYPE master) and is stopped
 * (SIGSTOP) before it can reconnect; holder A acquires and claims on the
 * primary, which is then killed (SIGKILL) with those writes on it alone;
 * the replica continues and is promoted. Holder B's acquire on it counts
 * the same fence value (the lost write, asserted) and gets another token;
 * A can renew or claim nothing, and A's chunk is B's to send again. */
static bool fence_try(live_t *l, qc_redis_t *r, qc_script_t s, int nkeys, int argc, const char **argv,
                      fence_reply_t *out)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    memset(out, 0, sizeof *out);
    if (qc_redis_script(r, s, nkeys, argc, argv, lens, on_fence, out))
        return false;
    return run_until(l, fence_answered, out, 10);
}

static int info_int(const char *hostport, const char *section, const char *field)
{
    redisContext *rc = admin(hostport);
    int v = -1;
    if (rc && !rc->err) {
        redisReply *x = redisCommand(rc, "INFO %s", section);
        const char *p = x && x->type == REDIS_REPLY_STRING ? strstr(x->str, field) : NULL;
        if (p)
            v = (int)strtol(p + strlen(field), NULL, 10);
        freeReplyObject(x);
    }
    redisFree(rc);
    return v;
}

static void live_fencing_real_failover(const char *seeds)
{
    live_t m; /* a plain cluster client, for the slot map */
    live_setup(&m, seeds);
    /* a tag whose primary is neither the one live_failover() kills later
     * nor the first seed (live_setup() starts from it) */
    const char *fo = qc_rcluster_slot_node(m.c, slot_of("fo"));
    char first[80];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(seeds, ","), seeds);
    static const char *tags[] = { "qrg1", "qrg2", "qrg3", "qrg4", "qrg5", "qrg6", "qrg7", "qrg8" };
    const char *tag = NULL;
    char victim[64] = "";
    for (size_t i = 0; i < sizeof tags / sizeof *tags && !tag; i++) {
        const char *n = qc_rcluster_slot_node(m.c, slot_of(tags[i]));
        if (n && fo && strcmp(n, fo) && strcmp(n, first)) {
            tag = tags[i];
            snprintf(victim, sizeof victim, "%s", n);
        }
    }
    live_teardown(&m);
    CHECK(tag != NULL);
    if (!tag)
        return;
    char replica[64];
    int rport = info_int(victim, "replication", "slave0:ip=127.0.0.1,port=");
    snprintf(replica, sizeof replica, "127.0.0.1:%d", rport);
    pid_t vpid = (pid_t)info_int(victim, "server", "process_id:"), rpid = (pid_t)info_int(replica, "server", "process_id:");
    CHECK(rport > 0 && vpid > 0 && rpid > 0);
    if (rport <= 0 || vpid <= 0 || rpid <= 0)
        return;

    live_t l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    char url[512], err[160];
    snprintf(url, sizeof url, "redis-cluster://%s", seeds);
    qc_redis_t *r = qc_redis_new(l.base, url, NULL, on_qc_state, &l, err, sizeof err);
    CHECK(r && run_until(&l, qc_up, r, 10));
    char run[64], leases[64], chunks[64], bits[64], recs[64];
    snprintf(run, sizeof run, "qc:run:{%s}:a1:1", tag);
    snprintf(leases, sizeof leases, "%s:l", run);
    snprintf(chunks, sizeof chunks, "%s:c", run);
    snprintf(bits, sizeof bits, "%s:d", run);
    snprintf(recs, sizeof recs, "qc:seg:{%s}:r", tag);
    /* the run, written on its primary and acknowledged by the replica
     * (WAIT counts this connection's writes); then the replica loses its
     * link */
    redisContext *v = admin(victim), *rc = admin(replica);
    redisReply *x = v ? redisCommand(v, "HSET %s state dispatching maxw 4 epoch 1 total 4 chunk 2 nchunks 2 "
                                        "cursor 0 fence 0", run) : NULL;
    freeReplyObject(x);
    x = v ? redisCommand(v, "RPUSH %s r0 r1 r2 r3", recs) : NULL;
    freeReplyObject(x);
    x = v ? redisCommand(v, "WAIT 1 5000") : NULL;
    CHECK(x && x->type == REDIS_REPLY_INTEGER && x->integer == 1);
    freeReplyObject(x);
    x = rc ? redisCommand(rc, "CLIENT KILL TYPE master") : NULL;
    freeReplyObject(x);
    CHECK_INT(kill(rpid, SIGSTOP), 0);
    /* A on the old primary: written there only */
    fence_reply_t a, b, z;
    const char *acq_a[] = { run, leases, chunks, "1", "60000", "00aa11bb22cc33dd" };
    CHECK(fence_try(&l, r, QC_SCRIPT_ACQUIRE, 3, 6, acq_a, &a));
    CHECK_STR(a.w, "OK");
    const char *claim_a[] = { run, leases, chunks, bits, recs, a.token, "60000" };
    CHECK(fence_try(&l, r, QC_SCRIPT_CLAIM, 5, 7, claim_a, &z));
    CHECK_STR(z.w, "OK");
    x = v ? redisCommand(v, "INFO replication") : NULL; /* the replica never got them */
    CHECK(x && x->type == REDIS_REPLY_STRING && strstr(x->str, "connected_slaves:0"));
    freeReplyObject(x);
    redisFree(v);
    redisFree(rc);
    CHECK_INT(kill(vpid, SIGKILL), 0);
    CHECK_INT(kill(rpid, SIGCONT), 0);
    /* B, once the replica serves the slot */
    const char *acq_b[] = { run, leases, chunks, "1", "60000", "44ee55ff66007711" };
    double end = mono_s() + 40;
    bool got = false;
    while (!got && mono_s() < end) {
        got = fence_try(&l, r, QC_SCRIPT_ACQUIRE, 3, 6, acq_b, &b) && !strcmp(b.w, "OK");
        if (!got) {
            struct timeval tv = { 0, 200 * 1000 };
            event_base_loopexit(l.base, &tv);
            event_base_dispatch(l.base);
        }
    }
    CHECK(got);
    printf("  lost-write failover: A's token %s, B's %s\n", a.token, b.token);
    /* the same counter value again (A's acquire was lost), another token */
    CHECK(!strncmp(a.token, "1.1.", 4) && !strncmp(b.token, "1.1.", 4));
    CHECK(strcmp(a.token, b.token) != 0);
    const char *renew_a[] = { run, leases, a.token, "60000" };
    CHECK(fence_try(&l, r, QC_SCRIPT_RENEW, 2, 4, renew_a, &z));
    CHECK_STR(z.w, "FENCED");
    CHECK(fence_try(&l, r, QC_SCRIPT_CLAIM, 5, 7, claim_a, &z));
    CHECK_STR(z.w, "FENCED");
    const char *claim_b[] = { run, leases, chunks, bits, recs, b.token, "60000" };
    CHECK(fence_try(&l, r, QC_SCRIPT_CLAIM, 5, 7, claim_b, &z));
    CHECK_STR(z.w, "OK");
    int want = l.replies + 1;
    qc_redis_cmd(r, on_cmd, &l, "HGET %s 0", chunks);
    CHECK(run_until(&l, replies_at_least, &want, 10));
    CHECK_STR(l.last, b.token); /* A's chunk 0 is B's now */
    qc_redis_destroy(r);
    event_base_free(l.base);
}

/* The registry scripts on a cluster: the registry is one slot ({reg}), the
 * records are in their segments' slots; redis.c runs each script's record
 * steps after it. A reply flattened to text: "a,b,c", nil as "~". */
static void flat(const redisReply *r, char *out, size_t n)
{
    size_t u = strlen(out);
    if (u >= n - 1)
        return;
    if (!r)
        snprintf(out + u, n - u, "(lost)");
    else if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                snprintf(out + strlen(out), n - strlen(out), ",");
            flat(r->element[i], out, n);
        }
    else if (r->type == REDIS_REPLY_INTEGER)
        snprintf(out + u, n - u, "%lld", r->integer);
    else if (r->type == REDIS_REPLY_NIL)
        snprintf(out + u, n - u, "~");
    else
        snprintf(out + u, n - u, "%s%s", r->type == REDIS_REPLY_ERROR ? "ERR " : "", r->str);
}

typedef struct flat_reply {
    bool got;
    char text[512];
} flat_reply_t;

static void on_flat(redisReply *r, void *opaque)
{
    flat_reply_t *f = opaque;
    f->text[0] = '\0';
    flat(r, f->text, sizeof f->text);
    f->got = true;
}

static bool flat_got(live_t *l, void *arg)
{
    (void)l;
    return ((flat_reply_t *)arg)->got;
}

static const char *reg_call(live_t *l, qc_redis_t *r, qc_script_t s, int argc, const char **argv)
{
    static flat_reply_t f;
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    memset(&f, 0, sizeof f);
    if (qc_redis_script(r, s, 0, argc, argv, lens, on_flat, &f))
        return "(not sent)";
    if (!run_until(l, flat_got, &f, 10))
        return "(timeout)";
    return f.text;
}

static const char *plain(live_t *l, qc_redis_t *r, const char *fmt, const char *a1, const char *a2)
{
    static flat_reply_t f;
    memset(&f, 0, sizeof f);
    if (qc_redis_cmd(r, on_flat, &f, fmt, a1, a2))
        return "(not sent)";
    if (!run_until(l, flat_got, &f, 10))
        return "(timeout)";
    return f.text;
}

static void upsert(live_t *l, qc_redis_t *r, const char *id, const char *rec, const char *cell, const char *expect,
                   const char *want)
{
    char idxk[32];
    qc_sub_index_key(id, idxk, sizeof idxk);
    const char *argv[] = { idxk, id, rec, cell, "2", "3", expect };
    CHECK_STR(reg_call(l, r, QC_SCRIPT_SUB_UPSERT, expect ? 7 : 6, argv), want);
}

static const char *get(live_t *l, qc_redis_t *r, qc_script_t s, const char *id)
{
    char idxk[32];
    qc_sub_index_key(id, idxk, sizeof idxk);
    const char *argv[] = { idxk, id };
    return reg_call(l, r, s, 2, argv);
}

static void live_registry(const char *seeds)
{
    live_t l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    char url[512], err[160];
    snprintf(url, sizeof url, "redis-cluster://%s", seeds);
    qc_redis_t *r = qc_redis_new(l.base, url, NULL, on_qc_state, &l, err, sizeof err);
    CHECK(r != NULL);
    if (!r) {
        event_base_free(l.base);
        return;
    }
    CHECK(run_until(&l, qc_up, r, 10));
    /* segments of two records: the third in c1 opens segment 2 */
    upsert(&l, r, "u1", "R1", "c1", NULL, "created,1,0");
    upsert(&l, r, "u2", "R2", "c1", NULL, "created,1,1");
    upsert(&l, r, "u3", "R3", "c1", NULL, "created,2,0");
    /* the records are in their segments' lists, not in the registry's slot */
    CHECK(qc_rcluster_keyslot("qc:seg:{1}:r", 12) != qc_rcluster_keyslot("qc:{reg}:idx:1", 14));
    CHECK_STR(plain(&l, r, "LRANGE %s 0 %s", "qc:seg:{1}:r", "-1"), "R1,R2");
    CHECK_STR(plain(&l, r, "LRANGE %s 0 %s", "qc:seg:{2}:r", "-1"), "R3");
    CHECK_STR(get(&l, r, QC_SCRIPT_SUB_GET, "u2"), "R2");
    CHECK_STR(get(&l, r, QC_SCRIPT_SUB_GET, "nobody"), "~");
    /* in place, with the expected record; and a wrong expectation */
    upsert(&l, r, "u2", "R2b", "c1", "R2", "updated,1,1");
    upsert(&l, r, "u2", "R2c", "c1", "R2", "conflict");
    CHECK_STR(get(&l, r, QC_SCRIPT_SUB_GET, "u2"), "R2b");
    /* moved to another cell: the old slot is freed ("") and reused first */
    upsert(&l, r, "u1", "R1b", "c2", NULL, "updated,3,0");
    CHECK_STR(plain(&l, r, "LINDEX %s %s", "qc:seg:{1}:r", "0"), "");
    CHECK_STR(get(&l, r, QC_SCRIPT_SUB_FETCH, "u1"), "R1b,~,~,~,~,~");
    /* delete: gone from index and list; its slot goes to the next in c1
     * (the cell's newest segment is 2) */
    CHECK_STR(get(&l, r, QC_SCRIPT_SUB_DELETE, "u3"), "1");
    CHECK_STR(get(&l, r, QC_SCRIPT_SUB_GET, "u3"), "~");
    CHECK_STR(plain(&l, r, "LINDEX %s %s", "qc:seg:{2}:r", "0"), "");
    upsert(&l, r, "u4", "R4", "c1", NULL, "created,2,0");
    /* a page of the registry: every id with its record */
    char all[512] = "", b[16] = "0", cur[32] = "0";
    for (int pages = 0; pages < 40 && strcmp(b, "4096"); pages++) {
        const char *lv[] = { b, cur, "100" };
        const char *page = reg_call(&l, r, QC_SCRIPT_SUB_LIST, 3, lv);
        size_t bl = strcspn(page, ",");
        if (!page[bl])
            break; /* "(timeout)" or an error: the CHECK below says so */
        size_t cl = strcspn(page + bl + 1, ",");
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s;", page + bl + 1 + cl);
        snprintf(b, sizeof b, "%.*s", (int)bl, page);
        snprintf(cur, sizeof cur, "%.*s", (int)cl, page + bl + 1);
    }
    CHECK_STR(b, "4096");
    CHECK(strstr(all, "u1,R1b") && strstr(all, "u2,R2b") && strstr(all, "u4,R4") && !strstr(all, "u3"));
    CHECK_STR(plain(&l, r, "HGET %s %s", "qc:{reg}:stats", "subscribers"), "3");
    qc_redis_destroy(r);
    event_base_free(l.base);
}

/* Pub/sub across the failover of live_failover(): the subscription's
 * connection is on the primary of "{fo}ch"'s slot, the one killed; after
 * the promotion the owner is told down then up and subscribes again, and a
 * PUBLISH on any surviving node reaches it. */
typedef struct resub {
    heard_t h;
    int subscribed; /* SUBSCRIBE calls accepted */
} resub_t;

static void on_resub_state(qc_redis_t *r, bool up, void *opaque)
{
    resub_t *s = opaque;
    if (!up)
        return;
    s->h.confirmed = false; /* this subscription's own confirmation next */
    if (qc_redis_subscribe(r, "{fo}ch", on_heard, &s->h) == 0)
        s->subscribed++;
}

static bool resubscribed(live_t *l, void *arg)
{
    (void)l;
    const resub_t *s = arg;
    return s->subscribed >= 2;
}

static void live_failover_pubsub(const char *seeds)
{
    live_t l;
    memset(&l, 0, sizeof l);
    l.base = event_base_new();
    char url[512], err[160];
    snprintf(url, sizeof url, "redis-cluster://%s", seeds);
    resub_t s;
    memset(&s, 0, sizeof s);
    qc_redis_t *r = qc_redis_new(l.base, url, NULL, on_resub_state, &s, err, sizeof err);
    CHECK(r != NULL);
    if (!r) {
        event_base_free(l.base);
        return;
    }
    CHECK(run_until(&l, heard_enough, &s.h, 10)); /* first subscription confirmed */
    CHECK_INT(s.subscribed, 1);
    live_failover(seeds); /* kills the primary of "fo", waits for its replica */
    CHECK(run_until(&l, resubscribed, &s, 30));
    CHECK(run_until(&l, heard_enough, &s.h, 10));
    int sent = 0;
    for (const char *p = seeds; *p;) {
        char one[80];
        snprintf(one, sizeof one, "%.*s", (int)strcspn(p, ","), p);
        redisContext *rc = admin(one);
        if (rc && !rc->err) {
            redisReply *x = redisCommand(rc, "PUBLISH {fo}ch hello");
            sent += x && x->type == REDIS_REPLY_INTEGER;
            freeReplyObject(x);
        }
        redisFree(rc);
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    CHECK(sent >= 4); /* every node but the two killed */
    s.h.want = sent;
    CHECK(run_until(&l, heard_enough, &s.h, 10));
    CHECK_INT(s.h.hello, sent);
    qc_redis_destroy(r);
    event_base_free(l.base);
}

static void test_live_cluster(void)
{
    const char *seeds = getenv("QUAKECAST_TEST_REDIS_CLUSTER");
    if (!seeds || !*seeds) {
        printf("  live cluster cases skipped (QUAKECAST_TEST_REDIS_CLUSTER unset; ctest's rcluster_live runs them)\n");
        return;
    }
    live_routing(seeds);
    live_qc_redis(seeds);
    live_fencing_lost_write(seeds);
    live_registry(seeds);
    live_redirects(seeds);
    live_fencing_real_failover(seeds); /* leaves one node dead */
    live_failover_pubsub(seeds); /* last: leaves another dead */
}

QC_TESTS(QC_CASE(test_crc16_vectors), QC_CASE(test_keyslot_hash_tags), QC_CASE(test_redirect_parsing),
         QC_CASE(test_slots_parsing), QC_CASE(test_command_slot), QC_CASE(test_bad_seeds),
         QC_CASE(test_live_cluster))
