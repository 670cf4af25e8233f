/* test_httpc.c: the libcurl-on-libevent client against an evhttp server on
 * the same loop, 127.0.0.1 and an ephemeral port. Each case builds its own
 * loop, server and client, runs the loop until the expected callbacks came,
 * then asserts counts (libuv test style). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "qc/egress.h"
#include "qc/err.h"
#include "qc/httpc.h"
#include "qctest.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- server ------------------------------------------------------------ */

typedef struct slow slow_t;
typedef struct server {
    struct event_base *base;
    struct evhttp *http;
    int port;
    int conns;         /* accepted connections */
    int requests;      /* requests seen by any handler */
    slow_t *slows;     /* every /slow request, freed at stop */
} server_t;

struct slow {
    slow_t *next;
    struct event *tm;
    struct evhttp_request *req; /* NULL once answered or its connection closed */
};

static struct bufferevent *srv_new_conn(struct event_base *base, void *arg)
{
    server_t *s = arg;
    s->conns++;
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void reply(struct evhttp_request *req, int code, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    if (body)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, code == 200 ? "OK" : "X", b);
    evbuffer_free(b);
}

static void h_ok(struct evhttp_request *req, void *arg)
{
    ((server_t *)arg)->requests++;
    reply(req, 200, "hello");
}

static void h_429(struct evhttp_request *req, void *arg)
{
    ((server_t *)arg)->requests++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "7");
    reply(req, 429, "slow down");
}

static void h_429date(struct evhttp_request *req, void *arg)
{
    ((server_t *)arg)->requests++;
    char date[64];
    time_t t = time(NULL) + 120;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", date);
    reply(req, 503, NULL);
}

static void h_500(struct evhttp_request *req, void *arg)
{
    ((server_t *)arg)->requests++;
    reply(req, 500, "oops");
}

static void h_big(struct evhttp_request *req, void *arg)
{
    ((server_t *)arg)->requests++;
    struct evbuffer *b = evbuffer_new();
    char chunk[1024];
    memset(chunk, 'b', sizeof(chunk));
    for (int i = 0; i < 100; i++)
        evbuffer_add(b, chunk, sizeof(chunk));
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* "<method>|<X-Test header>|<body>" */
static void h_echo(struct evhttp_request *req, void *arg)
{
    ((server_t *)arg)->requests++;
    const char *m = "?";
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: m = "GET"; break;
    case EVHTTP_REQ_POST: m = "POST"; break;
    case EVHTTP_REQ_PUT: m = "PUT"; break;
    case EVHTTP_REQ_DELETE: m = "DELETE"; break;
    case EVHTTP_REQ_PATCH: m = "PATCH"; break;
    default: break;
    }
    const char *x = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "%s|%s|", m, x ? x : "");
    evbuffer_add_buffer(b, in);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void slow_closed(struct evhttp_connection *evcon, void *arg)
{
    slow_t *sl = arg;
    if (sl->req) {
        event_del(sl->tm);
        sl->req = NULL; /* evhttp frees it with the connection */
    }
}

static void slow_fire(evutil_socket_t fd, short what, void *arg)
{
    slow_t *sl = arg;
    if (!sl->req)
        return;
    struct evhttp_request *req = sl->req;
    sl->req = NULL;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
    reply(req, 200, "late");
}

static void h_slow(struct evhttp_request *req, void *arg)
{
    server_t *s = arg;
    s->requests++;
    slow_t *sl = calloc(1, sizeof(*sl));
    if (!sl) {
        reply(req, 500, NULL);
        return;
    }
    sl->req = req;
    sl->tm = evtimer_new(s->base, slow_fire, sl);
    sl->next = s->slows;
    s->slows = sl;
    struct timeval tv = { 2, 0 };
    evtimer_add(sl->tm, &tv);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), slow_closed, sl);
}

static int server_start(server_t *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->http = evhttp_new(base);
    if (!s->http)
        return -1;
    evhttp_set_bevcb(s->http, srv_new_conn, s);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD
                                            | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE
                                            | EVHTTP_REQ_PATCH);
    evhttp_set_cb(s->http, "/ok", h_ok, s);
    evhttp_set_cb(s->http, "/429", h_429, s);
    evhttp_set_cb(s->http, "/429date", h_429date, s);
    evhttp_set_cb(s->http, "/500", h_500, s);
    evhttp_set_cb(s->http, "/slow", h_slow, s);
    evhttp_set_cb(s->http, "/echo", h_echo, s);
    evhttp_set_cb(s->http, "/big", h_big, s);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    if (!bs)
        return -1;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &slen) != 0)
        return -1;
    s->port = ntohs(sin.sin_port);
    return 0;
}

static void server_stop(server_t *s)
{
    if (s->http)
        evhttp_free(s->http); /* runs slow_closed for open connections */
    while (s->slows) {
        slow_t *sl = s->slows;
        s->slows = sl->next;
        event_free(sl->tm);
        free(sl);
    }
}

static void url_for(const server_t *s, const char *path, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "http://127.0.0.1:%d%s", s->port, path);
}

/* ---- client side bookkeeping ------------------------------------------- */

#define MAX_SLOTS 64

typedef struct slot {
    int calls;
    int err;
    long status;
    long retry_after;
    size_t body_len;
    char body[128];
    double total_s;
    char curl_error[CURL_ERROR_SIZE];
    char refused[96];
} slot_t;

typedef struct tctx {
    struct event_base *base;
    qc_httpc_t *c;
    int expected;          /* loopbreak when this many callbacks came */
    int calls;
    int calls_in_request;  /* callbacks run from inside qc_httpc_request */
    bool in_request;
    int by_err[4];         /* 0 ok, 1 timeout, 2 io, 3 other */
    slot_t slots[MAX_SLOTS];
    /* chained load */
    int to_start;
    int started;
    const char *load_url;
    const char *load_method;
    const char *load_body;
    size_t load_body_len;
    bool timed_out;
    bool destroy_in_cb;
    struct ref {
        struct tctx *t;
        int slot;
    } refs[MAX_SLOTS];     /* callback opaques, one per slot */
} tctx_t;

typedef struct ref ref_t;

static void count(tctx_t *t, const qc_httpc_result_t *res)
{
    t->calls++;
    if (t->in_request)
        t->calls_in_request++;
    if (res->err == 0)
        t->by_err[0]++;
    else if (res->err == QC_ERR_TIMEOUT)
        t->by_err[1]++;
    else if (res->err == QC_ERR_IO)
        t->by_err[2]++;
    else
        t->by_err[3]++;
    if (t->calls == t->expected)
        event_base_loopbreak(t->base);
}

static void slot_cb(const qc_httpc_result_t *res, void *opaque)
{
    ref_t *r = opaque;
    tctx_t *t = r->t;
    slot_t *s = &t->slots[r->slot];
    s->calls++;
    s->err = res->err;
    s->status = res->status;
    s->retry_after = res->retry_after_s;
    s->body_len = res->body_len;
    s->total_s = res->total_s;
    snprintf(s->body, sizeof(s->body), "%s", res->body ? res->body : "(null)");
    snprintf(s->curl_error, sizeof(s->curl_error), "%s", res->curl_error ? res->curl_error : "");
    snprintf(s->refused, sizeof(s->refused), "%s", res->refused ? res->refused : "(null)");
    if (t->destroy_in_cb && t->c) {
        qc_httpc_destroy(t->c);
        t->c = NULL;
    }
    count(t, res);
}

static int start(tctx_t *t, int slot, const char *method, const char *url,
                 const char *const *headers, const char *body, size_t body_len)
{
    t->refs[slot].t = t;
    t->refs[slot].slot = slot;
    t->in_request = true;
    int rc = qc_httpc_request(t->c, method, url, headers, body, body_len, slot_cb,
                              &t->refs[slot]);
    t->in_request = false;
    return rc;
}

static int start_checked(tctx_t *t, int slot, const qc_egress_t *egress, const char *url)
{
    t->refs[slot].t = t;
    t->refs[slot].slot = slot;
    return qc_httpc_request_egress(t->c, egress, "GET", url, NULL, NULL, 0, slot_cb, &t->refs[slot]);
}

static void guard_fire(evutil_socket_t fd, short what, void *arg)
{
    tctx_t *t = arg;
    t->timed_out = true;
    event_base_loopbreak(t->base);
}

/* Runs the loop until t->expected callbacks came or @p limit_ms passed. */
static void run(tctx_t *t, long limit_ms)
{
    struct event *guard = evtimer_new(t->base, guard_fire, t);
    struct timeval tv = { limit_ms / 1000, (limit_ms % 1000) * 1000 };
    evtimer_add(guard, &tv);
    t->timed_out = false;
    event_base_dispatch(t->base);
    event_free(guard);
}

static void setup(tctx_t *t, server_t *s, const qc_httpc_opts_t *opts)
{
    memset(t, 0, sizeof(*t));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    t->base = event_base_new();
    CHECK(t->base != NULL);
    CHECK_INT(server_start(s, t->base), 0);
    t->c = qc_httpc_new(t->base, opts);
    CHECK(t->c != NULL);
}

static void teardown(tctx_t *t, server_t *s)
{
    qc_httpc_destroy(t->c);
    t->c = NULL;
    server_stop(s);
    event_base_free(t->base);
    curl_global_cleanup();
}

/* ---- cases ------------------------------------------------------------- */

static void test_basic(void)
{
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .max_host_connections = 4 };
    setup(&t, &s, &o);
    char u_ok[64], u_429[64], u_500[64], u_echo[64], u_big[64], u_date[64];
    url_for(&s, "/ok", u_ok, sizeof(u_ok));
    url_for(&s, "/429", u_429, sizeof(u_429));
    url_for(&s, "/500", u_500, sizeof(u_500));
    url_for(&s, "/echo", u_echo, sizeof(u_echo));
    url_for(&s, "/big", u_big, sizeof(u_big));
    url_for(&s, "/429date", u_date, sizeof(u_date));
    const char *const hdrs[] = { "X-Test: quake-7", "Content-Type: text/plain", NULL };

    CHECK_INT(start(&t, 0, "GET", u_ok, NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 1, "POST", u_ok, NULL, "x", 1), 0);
    CHECK_INT(start(&t, 2, "GET", u_429, NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 3, "POST", u_500, NULL, "{}", 2), 0);
    CHECK_INT(start(&t, 4, "POST", u_echo, hdrs, "M 6.1 Vrancea", 13), 0);
    CHECK_INT(start(&t, 5, "GET", u_big, NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 6, "GET", u_date, NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 7, "HEAD", u_ok, NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 8, "PUT", u_echo, hdrs, "put-body", 8), 0);
    CHECK_INT(start(&t, 9, "DELETE", u_echo, NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 10, "POST", u_echo, NULL, NULL, 0), 0);
    t.expected = 11;
    CHECK_INT(qc_httpc_inflight(t.c), 11);
    CHECK_INT(t.calls, 0); /* nothing runs before the loop does */

    run(&t, 5000);
    CHECK(!t.timed_out);
    CHECK_INT(t.calls, 11);
    CHECK_INT(t.calls_in_request, 0);
    CHECK_INT(qc_httpc_inflight(t.c), 0);
    for (int i = 0; i < 11; i++) {
        CHECK_INT(t.slots[i].calls, 1);
        CHECK_INT(t.slots[i].err, 0);
        CHECK_STR(t.slots[i].curl_error, "");
    }
    CHECK_INT(t.slots[0].status, 200);
    CHECK_STR(t.slots[0].body, "hello");
    CHECK_INT(t.slots[0].body_len, 5);
    CHECK_INT(t.slots[0].retry_after, -1);
    CHECK(t.slots[0].total_s > 0 && t.slots[0].total_s < 5);
    CHECK_INT(t.slots[1].status, 200);
    CHECK_STR(t.slots[1].body, "hello");
    CHECK_INT(t.slots[2].status, 429);
    CHECK_INT(t.slots[2].retry_after, 7);
    CHECK_STR(t.slots[2].body, "slow down");
    CHECK_INT(t.slots[3].status, 500);
    CHECK_INT(t.slots[3].retry_after, -1);
    CHECK_INT(t.slots[4].status, 200);
    CHECK_STR(t.slots[4].body, "POST|quake-7|M 6.1 Vrancea");
    CHECK_INT(t.slots[5].status, 200);
    CHECK_INT(t.slots[5].body_len, QC_HTTPC_BODY_MAX); /* 100 KiB capped */
    CHECK_INT(t.slots[6].status, 503);
    CHECK(t.slots[6].retry_after >= 115 && t.slots[6].retry_after <= 121);
    CHECK_INT(t.slots[7].status, 200);
    CHECK_INT(t.slots[7].body_len, 0);
    CHECK_STR(t.slots[7].body, "");
    CHECK_STR(t.slots[8].body, "PUT|quake-7|put-body");
    CHECK_STR(t.slots[9].body, "DELETE||");
    CHECK_STR(t.slots[10].body, "POST||");
    teardown(&t, &s);
}

/* One request at a time, each started from the previous one's callback, so
 * the same pooled easy handle is reused with different methods: nothing of
 * the previous request may leak into the next. */
static const char *const chain_methods[] = { "HEAD", "GET", "POST", "PUT", "HEAD", "DELETE",
                                             "POST", "GET" };
#define CHAIN_N ((int)(sizeof(chain_methods) / sizeof(chain_methods[0])))
static char chain_url[64];
static const char *const chain_hdrs[] = { "X-Test: chained", NULL };

static void chain_cb(const qc_httpc_result_t *res, void *opaque)
{
    ref_t *r = opaque;
    tctx_t *t = r->t;
    slot_cb(res, opaque);
    int next = r->slot + 1;
    if (next < CHAIN_N) {
        const char *m = chain_methods[next];
        bool with_body = strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0;
        t->refs[next].t = t;
        t->refs[next].slot = next;
        t->in_request = true;
        int rc = qc_httpc_request(t->c, m, chain_url, next % 2 ? chain_hdrs : NULL,
                                  with_body ? "body" : NULL, with_body ? 4 : 0, chain_cb,
                                  &t->refs[next]);
        t->in_request = false;
        CHECK_INT(rc, 0);
    }
}

static void test_handle_reuse(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    url_for(&s, "/echo", chain_url, sizeof(chain_url));
    t.refs[0].t = &t;
    t.refs[0].slot = 0;
    CHECK_INT(qc_httpc_request(t.c, chain_methods[0], chain_url, NULL, NULL, 0, chain_cb,
                               &t.refs[0]), 0);
    t.expected = CHAIN_N;
    run(&t, 5000);
    CHECK_INT(t.calls, CHAIN_N);
    CHECK_INT(t.calls_in_request, 0);
    CHECK_STR(t.slots[0].body, "");        /* HEAD */
    CHECK_STR(t.slots[1].body, "GET|chained|");
    CHECK_STR(t.slots[2].body, "POST||body");
    CHECK_STR(t.slots[3].body, "PUT|chained|body");
    CHECK_STR(t.slots[4].body, "");        /* HEAD */
    CHECK_STR(t.slots[5].body, "DELETE|chained|");
    CHECK_STR(t.slots[6].body, "POST||body");
    CHECK_STR(t.slots[7].body, "GET|chained|");
    for (int i = 0; i < CHAIN_N; i++)
        CHECK_INT(t.slots[i].status, 200);
    CHECK_INT(s.conns, 1);
    CHECK_INT(qc_httpc_connects_total(t.c), 1);
    teardown(&t, &s);
}

static void test_timeout(void)
{
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .timeout_ms = 300 };
    setup(&t, &s, &o);
    char u[64];
    url_for(&s, "/slow", u, sizeof(u));
    double t0 = now_s();
    CHECK_INT(start(&t, 0, "POST", u, NULL, "x", 1), 0);
    t.expected = 1;
    run(&t, 5000);
    double el = now_s() - t0;
    CHECK_INT(t.calls, 1);
    CHECK_INT(t.slots[0].err, QC_ERR_TIMEOUT);
    CHECK_INT(t.slots[0].status, 0);
    CHECK_STR(t.slots[0].body, "");
    CHECK(t.slots[0].curl_error[0] != '\0');
    CHECK(el >= 0.25 && el < 1.5);
    CHECK(qc_err_retriable(t.slots[0].err));
    teardown(&t, &s);
}

static void test_refused(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    /* bound but not listening: connects to it are refused, and holding it
     * keeps anyone else from taking the port meanwhile */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t slen = sizeof(sin);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    char u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/ok", ntohs(sin.sin_port));

    CHECK_INT(start(&t, 0, "GET", u, NULL, NULL, 0), 0);
    t.expected = 1;
    run(&t, 5000);
    CHECK_INT(t.calls, 1);
    CHECK_INT(t.slots[0].err, QC_ERR_IO);
    CHECK_INT(t.slots[0].status, 0);
    CHECK_INT(t.slots[0].retry_after, -1);
    CHECK(t.slots[0].curl_error[0] != '\0');
    CHECK_INT(t.calls_in_request, 0);
    close(fd);
    teardown(&t, &s);
}

/* A host name that resolves to loopback is refused when the socket would
 * be opened: nothing reaches the server. With the address allow-listed the
 * same request goes through. */
static void test_egress_refuses_loopback_name(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    char err[128];
    qc_egress_t *none = qc_egress_new("", err, sizeof err);
    qc_egress_t *lo = qc_egress_new("127.0.0.0/8, ::1/128", err, sizeof err);
    CHECK(none && lo);
    char byname[80], literal[80], mapped[80];
    snprintf(byname, sizeof byname, "http://localhost:%d/ok", s.port);
    snprintf(literal, sizeof literal, "http://127.0.0.1:%d/ok", s.port);
    snprintf(mapped, sizeof mapped, "http://[::ffff:127.0.0.1]:%d/ok", s.port);

    CHECK_INT(start_checked(&t, 0, none, byname), 0);
    CHECK_INT(start_checked(&t, 1, none, literal), 0);
    CHECK_INT(start_checked(&t, 2, none, mapped), 0);
    t.expected = 3;
    run(&t, 5000);
    CHECK_INT(t.calls, 3);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(t.slots[i].err, QC_ERR_EGRESS);
        CHECK(strstr(t.slots[i].refused, "(loopback)") != NULL);
    }
    CHECK_STR(t.slots[1].refused, "127.0.0.1 (loopback)");
    CHECK_STR(t.slots[2].refused, "::ffff:127.0.0.1 (loopback)");
    CHECK_INT(s.conns, 0);
    CHECK_INT(s.requests, 0);

    /* allow-listed: the name goes through */
    CHECK_INT(start_checked(&t, 3, lo, byname), 0);
    t.expected = 4;
    run(&t, 5000);
    CHECK_INT(t.slots[3].err, 0);
    CHECK_INT(t.slots[3].status, 200);
    CHECK_STR(t.slots[3].refused, "");
    CHECK_INT(s.requests, 1);

    qc_egress_destroy(none);
    qc_egress_destroy(lo);
    teardown(&t, &s);
}

/* A kept-alive connection opened by an unchecked request (a provider's
 * host) is checked again before a checked request reuses it. */
static void test_egress_checks_reused_connection(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    char err[128], u[80];
    qc_egress_t *none = qc_egress_new("", err, sizeof err);
    url_for(&s, "/ok", u, sizeof u);
    CHECK_INT(start(&t, 0, "GET", u, NULL, NULL, 0), 0);
    t.expected = 1;
    run(&t, 5000);
    CHECK_INT(t.slots[0].status, 200);
    CHECK_INT(s.conns, 1);
    CHECK_INT(start_checked(&t, 1, none, u), 0);
    t.expected = 2;
    run(&t, 5000);
    CHECK_INT(t.slots[1].err, QC_ERR_EGRESS);
    CHECK_STR(t.slots[1].refused, "127.0.0.1 (loopback)");
    CHECK_INT(s.requests, 1);
    /* the unchecked path still reuses the connection */
    CHECK_INT(start(&t, 2, "GET", u, NULL, NULL, 0), 0);
    t.expected = 3;
    run(&t, 5000);
    CHECK_INT(t.slots[2].status, 200);
    CHECK_STR(t.slots[2].refused, "");
    CHECK_INT(s.requests, 2);
    qc_egress_destroy(none);
    teardown(&t, &s);
}

/* An allowed address that does not answer is an ordinary network error,
 * even when the name also resolved to a refused one: retried, not
 * dead-lettered as a policy refusal. */
static void test_egress_allowed_but_closed(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t slen = sizeof(sin);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    char err[128], u[80];
    qc_egress_t *v4 = qc_egress_new("127.0.0.1/32", err, sizeof err);
    snprintf(u, sizeof u, "http://localhost:%d/ok", ntohs(sin.sin_port));
    CHECK_INT(start_checked(&t, 0, v4, u), 0);
    t.expected = 1;
    run(&t, 5000);
    CHECK_INT(t.calls, 1);
    CHECK_INT(t.slots[0].err, QC_ERR_IO);
    close(fd);
    qc_egress_destroy(v4);
    teardown(&t, &s);
}

static void test_bad_input(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    char u[64];
    url_for(&s, "/ok", u, sizeof(u));
    const char *const crlf[] = { "X-A: 1\r\nX-Injected: 2", NULL };

    /* refused up front: no callback */
    CHECK_INT(qc_httpc_request(t.c, "GET", NULL, NULL, NULL, 0, slot_cb, &t.refs[0]), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_request(t.c, "GET", u, NULL, NULL, 0, NULL, NULL), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_request(t.c, "G T", u, NULL, NULL, 0, slot_cb, &t.refs[0]), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_request(t.c, "", u, NULL, NULL, 0, slot_cb, &t.refs[0]), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_request(t.c, "GET", u, crlf, NULL, 0, slot_cb, &t.refs[0]), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_request(t.c, "POST", u, NULL, NULL, 5, slot_cb, &t.refs[0]), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_request(NULL, "GET", u, NULL, NULL, 0, slot_cb, &t.refs[0]), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_warm(t.c, u, 0), QC_ERR_INVAL);
    CHECK_INT(qc_httpc_inflight(t.c), 0);

    /* found out by curl: reported through the callback, as permanent */
    CHECK_INT(start(&t, 0, "GET", "ftp://127.0.0.1/x", NULL, NULL, 0), 0);
    CHECK_INT(start(&t, 1, "GET", "http://127.0.0.1:99999999/", NULL, NULL, 0), 0);
    /* a refused request does not poison the pooled handle it had taken */
    CHECK_INT(start(&t, 2, "GET", u, NULL, NULL, 0), 0);
    t.expected = 3;
    run(&t, 5000);
    CHECK_INT(t.calls, 3);
    CHECK_INT(t.calls_in_request, 0);
    CHECK_INT(t.slots[0].err, QC_ERR_INVAL);
    CHECK_INT(t.slots[1].err, QC_ERR_INVAL);
    CHECK(!qc_err_retriable(t.slots[0].err));
    CHECK_INT(t.slots[2].err, 0);
    CHECK_STR(t.slots[2].body, "hello");

    qc_httpc_opts_t bad = { .http2 = 3 };
    CHECK(qc_httpc_new(t.base, &bad) == NULL);
    bad.http2 = 0;
    bad.timeout_ms = -1;
    CHECK(qc_httpc_new(t.base, &bad) == NULL);
    CHECK(qc_httpc_new(NULL, NULL) == NULL);
    qc_httpc_destroy(NULL);
    teardown(&t, &s);
}

/* Keeps t->to_start requests going, @p window at a time. */
static void load_cb(const qc_httpc_result_t *res, void *opaque);

static void load_start_one(tctx_t *t)
{
    t->started++;
    t->in_request = true;
    int rc = qc_httpc_request(t->c, t->load_method, t->load_url, NULL, t->load_body,
                              t->load_body_len, load_cb, t);
    t->in_request = false;
    if (rc < 0) {
        fprintf(stderr, "  request failed to start: %d\n", rc);
        t->expected--; /* keep the loop from waiting for it */
    }
}

static void load_cb(const qc_httpc_result_t *res, void *opaque)
{
    tctx_t *t = opaque;
    if (res->err)
        fprintf(stderr, "  load error %d: %s\n", res->err, res->curl_error);
    count(t, res);
    if (t->started < t->to_start)
        load_start_one(t);
}

static void load(tctx_t *t, const char *method, const char *url, const char *body,
                 size_t body_len, int total, int window)
{
    t->load_method = method;
    t->load_url = url;
    t->load_body = body;
    t->load_body_len = body_len;
    t->to_start = total;
    t->expected = total;
    for (int i = 0; i < window && i < total; i++)
        load_start_one(t);
}

static void test_keepalive(void)
{
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .max_host_connections = 4 };
    setup(&t, &s, &o);
    char u[64];
    url_for(&s, "/ok", u, sizeof(u));
    load(&t, "POST", u, "{\"n\":1}", 7, 200, 8);
    run(&t, 10000);
    CHECK_INT(t.calls, 200);
    CHECK_INT(t.by_err[0], 200);
    CHECK_INT(t.calls_in_request, 0);
    CHECK_INT(s.requests, 200);
    CHECK(s.conns >= 1 && s.conns <= 4);
    CHECK(qc_httpc_connects_total(t.c) == (uint64_t)s.conns);
    printf("  keep-alive: 200 requests over %d connection(s)\n", s.conns);
    teardown(&t, &s);
}

static void poll_idle(evutil_socket_t fd, short what, void *arg)
{
    tctx_t *t = arg;
    if (qc_httpc_inflight(t->c) == 0)
        event_base_loopbreak(t->base);
}

static void test_warm(void)
{
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .max_host_connections = 4 };
    setup(&t, &s, &o);
    char u[64];
    url_for(&s, "/ok", u, sizeof(u));
    CHECK_INT(qc_httpc_warm(t.c, u, 4), 0);
    CHECK_INT(qc_httpc_inflight(t.c), 4);
    struct event *poll = event_new(t.base, -1, EV_PERSIST, poll_idle, &t);
    struct timeval tv = { 0, 5000 };
    event_add(poll, &tv);
    run(&t, 5000);
    event_free(poll);
    CHECK(!t.timed_out);
    CHECK_INT(qc_httpc_inflight(t.c), 0);
    CHECK_INT(s.conns, 4);
    CHECK_INT(s.requests, 4);

    /* the warmed connections carry the real traffic: none opened */
    load(&t, "POST", u, "x", 1, 100, 4);
    run(&t, 5000);
    CHECK_INT(t.by_err[0], 100);
    CHECK_INT(s.conns, 4);
    CHECK_INT(qc_httpc_connects_total(t.c), 4);
    teardown(&t, &s);
}

static void test_http2_offer_plain(void)
{
    /* http2 = 1 on plain http stays HTTP/1.1 (no h2c upgrade, no prior
     * knowledge), so an HTTP/1.1-only server works */
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .http2 = 1, .max_host_connections = 2 };
    setup(&t, &s, &o);
    char u[64];
    url_for(&s, "/ok", u, sizeof(u));
    load(&t, "POST", u, "x", 1, 20, 4);
    run(&t, 5000);
    CHECK_INT(t.by_err[0], 20);
    CHECK(s.conns >= 1 && s.conns <= 2);
    teardown(&t, &s);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void run_for(struct event_base *base, long ms)
{
    struct event *e = evtimer_new(base, stop_loop, base);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(e, &tv);
    event_base_dispatch(base);
    event_free(e);
}

static void test_destroy_inflight(void)
{
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .max_host_connections = 8 };
    setup(&t, &s, &o);
    char u_slow[64], u_ok[64];
    url_for(&s, "/slow", u_slow, sizeof(u_slow));
    url_for(&s, "/ok", u_ok, sizeof(u_ok));
    for (int i = 0; i < 6; i++)
        CHECK_INT(start(&t, i, "POST", u_slow, NULL, "x", 1), 0);
    CHECK_INT(start(&t, 6, "GET", u_ok, NULL, NULL, 0), 0);
    t.expected = -1; /* never break on count */
    run_for(t.base, 300);
    CHECK_INT(t.calls, 1); /* /ok only; the slow ones are mid-flight */
    CHECK_INT(t.slots[6].calls, 1);
    CHECK_INT(qc_httpc_inflight(t.c), 6);
    CHECK_INT(s.requests, 7);

    /* requests queued behind max_host_connections and never started */
    for (int i = 7; i < 20; i++)
        CHECK_INT(start(&t, i, "POST", u_slow, NULL, "x", 1), 0);
    qc_httpc_destroy(t.c);
    t.c = NULL;
    run_for(t.base, 300); /* no stray event may reach freed memory */
    CHECK_INT(t.calls, 1);
    teardown(&t, &s);
}

static void test_destroy_in_callback(void)
{
    tctx_t t;
    server_t s;
    setup(&t, &s, NULL);
    char u_slow[64], u_ok[64];
    url_for(&s, "/slow", u_slow, sizeof(u_slow));
    url_for(&s, "/ok", u_ok, sizeof(u_ok));
    for (int i = 0; i < 3; i++)
        CHECK_INT(start(&t, i, "GET", u_slow, NULL, NULL, 0), 0);
    for (int i = 3; i < 8; i++)
        CHECK_INT(start(&t, i, "GET", u_ok, NULL, NULL, 0), 0);
    t.destroy_in_cb = true; /* the first callback destroys the client */
    t.expected = -1;
    run_for(t.base, 400);
    CHECK_INT(t.calls, 1);
    CHECK(t.c == NULL);
    teardown(&t, &s);
}

static void test_retry_after_parse(void)
{
    int64_t now = 1700000000; /* 2023-11-14T22:13:20Z */
    CHECK_INT(qc_httpc_retry_after_parse("7", now), 7);
    CHECK_INT(qc_httpc_retry_after_parse("0", now), 0);
    CHECK_INT(qc_httpc_retry_after_parse(" 120 ", now), 120);
    CHECK_INT(qc_httpc_retry_after_parse("99999999999999999999", now), INT32_MAX);
    CHECK_INT(qc_httpc_retry_after_parse("Tue, 14 Nov 2023 22:15:20 GMT", now), 120);
    CHECK_INT(qc_httpc_retry_after_parse("Tue, 14 Nov 2023 22:13:20 GMT", now), 0);
    CHECK_INT(qc_httpc_retry_after_parse("Mon, 13 Nov 2023 00:00:00 GMT", now), 0);
    CHECK_INT(qc_httpc_retry_after_parse("7s", now), -1);
    CHECK_INT(qc_httpc_retry_after_parse("-5", now), -1);
    CHECK_INT(qc_httpc_retry_after_parse("", now), -1);
    CHECK_INT(qc_httpc_retry_after_parse("soon", now), -1);
    CHECK_INT(qc_httpc_retry_after_parse(NULL, now), -1);
}

static void test_throughput(void)
{
    tctx_t t;
    server_t s;
    qc_httpc_opts_t o = { .max_host_connections = 64 };
    setup(&t, &s, &o);
    char u[64];
    url_for(&s, "/ok", u, sizeof(u));
    char body[300];
    memset(body, 'q', sizeof(body));
    int n = 20000;
    double t0 = now_s();
    load(&t, "POST", u, body, sizeof(body), n, 64);
    run(&t, 50000);
    double el = now_s() - t0;
    CHECK_INT(t.calls, n);
    CHECK_INT(t.by_err[0], n);
    CHECK_INT(t.calls_in_request, 0);
    printf("  throughput: %d POSTs of 300 B, 64 in flight, %d connections: %.2f s, "
           "%.0f requests/s (client and evhttp server share one thread)\n",
           n, s.conns, el, n / el);
    teardown(&t, &s);
}

QC_TESTS(QC_CASE(test_retry_after_parse), QC_CASE(test_basic), QC_CASE(test_handle_reuse),
         QC_CASE(test_timeout), QC_CASE(test_refused), QC_CASE(test_egress_refuses_loopback_name),
         QC_CASE(test_egress_checks_reused_connection), QC_CASE(test_egress_allowed_but_closed),
         QC_CASE(test_bad_input),
         QC_CASE(test_keepalive), QC_CASE(test_warm), QC_CASE(test_http2_offer_plain),
         QC_CASE(test_destroy_inflight), QC_CASE(test_destroy_in_callback),
         QC_CASE(test_throughput))
