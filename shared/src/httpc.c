/* httpc.c: libcurl's multi interface on a libevent loop.
 *
 * curl tells us which sockets to watch (on_curl_socket) and when to wake it
 * (on_curl_timer); libevent calls back into curl_multi_socket_action() from
 * on_sock_event / on_timer. Completions are read with curl_multi_info_read()
 * only after socket_action has returned, so user callbacks never run inside
 * curl and an easy handle is never removed or freed from a curl callback.
 * Since socket_action is only ever called from the loop, a request can never
 * complete inside qc_httpc_request(). */
#include "qc/httpc.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "qc/egress.h"
#include "qc/err.h"

#define HTTPC_TIMEOUT_MS_DEFAULT 10000L
#define HTTPC_CONNECT_TIMEOUT_MS_DEFAULT 3000L
#define HTTPC_IDLE_CONNS_DEFAULT 64L
#define HTTPC_POOL_MAX 512          /* idle easy handles kept for reuse */
#define HTTPC_SOCK_POOL_MAX 256     /* idle socket watchers kept for reuse */
#define HTTPC_KEEP_BODY_CAP 16384   /* larger response buffers are not pooled */
#define HTTPC_KEEP_REQBODY_CAP 65536
#define HTTPC_RETRY_AFTER_MAX 64    /* an HTTP-date is 29 characters */

typedef struct httpc_req httpc_req_t;
typedef struct httpc_sock httpc_sock_t;

struct httpc_req {
    httpc_req_t *prev, *next;     /* in-flight list, or pool (next only) */
    qc_httpc_t *c;
    CURL *easy;                   /* options that never change are set once */
    qc_httpc_cb cb;
    void *opaque;

    char *body;                   /* response, capped at QC_HTTPC_BODY_MAX */
    size_t body_len, body_cap;
    bool oom;                     /* a body allocation failed: abort */
    bool truncated;               /* the body was longer than max_body */

    char *reqbody;                /* our copy of the request body */
    size_t reqbody_cap;

    /* Request headers: strings in one arena and list nodes in one array,
     * reused across requests. curl only reads the list (struct curl_slist is
     * public), so this saves two allocations per header per request. */
    char *hdrbuf;
    size_t hdrbuf_cap;
    struct curl_slist *hdrs;
    size_t hdrs_cap;

    char retry_after[HTTPC_RETRY_AFTER_MAX]; /* raw value, "" if absent */
    char etag[QC_HTTPC_VALIDATOR_MAX];        /* for conditional GETs, "" if absent */
    char last_modified[QC_HTTPC_VALIDATOR_MAX];
    char errbuf[CURL_ERROR_SIZE];

    const qc_egress_t *egress;    /* NULL: any address; else checked at connect */
    char refused[96];             /* "<address> (<range>)" of the first refusal, "" if none */
    bool passed;                  /* some address passed the check: a failure is not the policy's */

    /* SMTP submissions (qc_httpc_mail) use a handle of their own, never
     * pooled: their options (upload, recipients, credentials) would leak
     * into the next HTTP request. */
    bool mail;
    struct curl_slist *rcpts;
    size_t upload_pos, upload_len; /* reading reqbody */
};

struct httpc_sock {
    httpc_sock_t *prev, *next;
    qc_httpc_t *c;
    struct event *ev;
    short what;                   /* EV_READ/EV_WRITE currently watched */
};

struct qc_httpc {
    struct event_base *base;      /* not owned */
    CURLM *multi;
    struct event *timer;          /* curl's single timeout */
    qc_httpc_opts_t opts;         /* with defaults filled in */

    httpc_req_t *inflight_head;   /* added to multi, callback not yet called */
    size_t inflight;
    httpc_req_t *pool;            /* idle, reusable requests */
    size_t npool;
    httpc_sock_t *socks;          /* every socket curl asked us to watch */
    httpc_sock_t *sock_pool;      /* idle watchers, event deleted (next only) */
    size_t nsock_pool;

    uint64_t connects_total;      /* sum of CURLINFO_NUM_CONNECTS */
    int depth;                    /* > 0 while completion callbacks run */
    bool closing;                 /* destroy requested from a callback */
};

static const char expect_off[] = "Expect:";

/* ---- requests ---------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    httpc_req_t *r = ud;
    size_t len = size * nmemb;
    size_t max = (size_t)r->c->opts.max_body;
    size_t room = max - r->body_len;
    size_t take = len < room ? len : room;
    if (take < len)
        r->truncated = true;
    if (take == 0)
        return len; /* over the cap: drop the rest, keep the transfer going */

    size_t need = r->body_len + take + 1;
    if (need > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < need)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *nb = realloc(r->body, cap);
        if (!nb) {
            r->oom = true;
            return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
        }
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, take);
    r->body_len += take;
    return len;
}

/* Copies the value of header line @p p (@p len bytes) into @p dst if its
 * name is @p name (with the colon, lower case). */
static void header_value(const char *p, size_t len, const char *name, char *dst, size_t dstsz)
{
    size_t nlen = strlen(name);
    if (len <= nlen || strncasecmp(p, name, nlen) != 0)
        return;
    const char *v = p + nlen;
    size_t vlen = len - nlen;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (vlen >= dstsz)
        vlen = 0; /* too long to be valid; treat as absent */
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    httpc_req_t *r = ud;
    size_t len = size * nmemb;
    /* a new status line (after a 1xx) starts a new header block */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        r->retry_after[0] = r->etag[0] = r->last_modified[0] = '\0';
        return len;
    }
    header_value(p, len, "retry-after:", r->retry_after, sizeof r->retry_after);
    header_value(p, len, "etag:", r->etag, sizeof r->etag);
    header_value(p, len, "last-modified:", r->last_modified, sizeof r->last_modified);
    return len;
}

/* ---- egress checks ------------------------------------------------------
 * The address is checked where libcurl opens the socket, after its own name
 * resolution, so what is checked is what is connected to: no second lookup
 * a DNS answer could change in between. A refused address is skipped and
 * curl tries the name's next address; if none is left the transfer fails
 * with CURLE_COULDNT_CONNECT and complete() reports QC_ERR_EGRESS, unless
 * an allowed address was tried too (then it is an ordinary, retriable
 * connect failure). The
 * pre-request callback checks the connection's address again before every
 * request, because a connection opened by an unchecked request (a
 * provider's host) may be reused for a checked one. */

static void note_refusal(httpc_req_t *r, const char *addr, const char *range)
{
    if (!r->refused[0])
        snprintf(r->refused, sizeof r->refused, "%s (%s)", addr, range);
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    httpc_req_t *r = ud;
    if (purpose == CURLSOCKTYPE_IPCXN && r->egress) {
        const char *range = qc_egress_check(r->egress, &a->addr);
        if (range) {
            char text[INET6_ADDRSTRLEN] = "?";
            const void *in = a->family == AF_INET6
                                 ? (const void *)&((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr
                                 : (const void *)&((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
            if (a->family == AF_INET || a->family == AF_INET6)
                inet_ntop(a->family, in, text, sizeof text);
            note_refusal(r, text, range);
            return CURL_SOCKET_BAD;
        }
        r->passed = true;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    httpc_req_t *r = ud;
    if (!r->egress)
        return CURL_PREREQFUNC_OK;
    const char *range = qc_egress_check_str(r->egress, conn_primary_ip);
    if (!range)
        return CURL_PREREQFUNC_OK;
    note_refusal(r, conn_primary_ip ? conn_primary_ip : "?", range);
    return CURL_PREREQFUNC_ABORT;
}

static void req_free(httpc_req_t *r)
{
    if (!r)
        return;
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->rcpts);
    free(r->body);
    free(r->reqbody);
    free(r->hdrbuf);
    free(r->hdrs);
    free(r);
}

static httpc_req_t *req_new(qc_httpc_t *c)
{
    httpc_req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->c = c;
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r);
        return NULL;
    }
    CURL *e = r->easy;
    long version = CURL_HTTP_VERSION_1_1;
    if (c->opts.http2)
        version = CURL_HTTP_VERSION_2TLS; /* per request for http2 == 2 */
    if (curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_PREREQDATA, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms)
               != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_USERAGENT, "quakecast") != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version) != CURLE_OK
        /* with HTTP/2, wait for a connection that can multiplex rather than
         * open a new one per request */
        || curl_easy_setopt(e, CURLOPT_PIPEWAIT, c->opts.http2 ? 1L : 0L) != CURLE_OK) {
        req_free(r);
        return NULL;
    }
    return r;
}

static httpc_req_t *req_get(qc_httpc_t *c)
{
    httpc_req_t *r = c->pool;
    if (!r)
        return req_new(c);
    c->pool = r->next;
    c->npool--;
    r->next = r->prev = NULL;
    return r;
}

/* Back to the pool, or freed if the pool is full or we are going away. */
static void req_release(qc_httpc_t *c, httpc_req_t *r)
{
    if (c->closing || c->npool >= HTTPC_POOL_MAX || r->mail) {
        req_free(r);
        return;
    }
    /* an idle handle should not pin a rare large body */
    if (r->body_cap > HTTPC_KEEP_BODY_CAP) {
        free(r->body);
        r->body = NULL;
        r->body_cap = 0;
    }
    if (r->reqbody_cap > HTTPC_KEEP_REQBODY_CAP) {
        free(r->reqbody);
        r->reqbody = NULL;
        r->reqbody_cap = 0;
    }
    r->cb = NULL;
    r->opaque = NULL;
    r->prev = NULL;
    r->next = c->pool;
    c->pool = r;
    c->npool++;
}

static int grow_bytes(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    char *nb = realloc(*buf, ncap);
    if (!nb)
        return QC_ERR_NOMEM;
    *buf = nb;
    *cap = ncap;
    return 0;
}

static int grow_nodes(struct curl_slist **nodes, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    struct curl_slist *nb = realloc(*nodes, ncap * sizeof(*nb));
    if (!nb)
        return QC_ERR_NOMEM;
    *nodes = nb;
    *cap = ncap;
    return 0;
}

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int req_set_headers(httpc_req_t *r, const char *const *headers)
{
    size_t n = 0, bytes = 0;
    for (; headers && headers[n]; n++) {
        if (has_crlf(headers[n]))
            return QC_ERR_INVAL; /* would smuggle a header or a request */
        bytes += strlen(headers[n]) + 1;
    }
    /* Always add "Expect:": curl would otherwise send "Expect: 100-continue"
     * for large POSTs and wait up to a second for a server that ignores it. */
    size_t nodes = n + 1;
    if (grow_bytes(&r->hdrbuf, &r->hdrbuf_cap, bytes + 1) < 0
        || grow_nodes(&r->hdrs, &r->hdrs_cap, nodes) < 0)
        return QC_ERR_NOMEM;

    char *p = r->hdrbuf;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(headers[i]);
        memcpy(p, headers[i], len + 1);
        r->hdrs[i].data = p;
        r->hdrs[i].next = &r->hdrs[i + 1];
        p += len + 1;
    }
    r->hdrs[n].data = (char *)expect_off; /* curl never writes through it */
    r->hdrs[n].next = NULL;
    return curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs) == CURLE_OK ? 0
                                                                              : QC_ERR_NOMEM;
}

static bool method_ok(const char *m)
{
    if (!*m)
        return false;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || (*m >= 'a' && *m <= 'z') || *m == '-' || *m == '_'))
            return false;
    return true;
}

/* Sets every option that differs between requests; a reused handle keeps
 * whatever the previous request set, so each of these is set every time. */
static int req_prepare(qc_httpc_t *c, httpc_req_t *r, const qc_egress_t *egress, const char *method,
                       const char *url, const char *const *headers, const char *body, size_t body_len)
{
    CURL *e = r->easy;
    r->egress = egress;
    r->refused[0] = '\0';
    r->passed = false;
    /* Through a proxy the address checked would be the proxy's, and the
     * proxy would reach whatever the URL names: checked requests never use
     * one (an empty CURLOPT_PROXY also ignores http_proxy and friends);
     * NULL restores curl's default for the others. */
    if (curl_easy_setopt(e, CURLOPT_PROXY, egress ? "" : (char *)NULL) != CURLE_OK)
        return QC_ERR_NOMEM;
    r->body_len = 0;
    r->oom = false;
    r->truncated = false;
    r->retry_after[0] = r->etag[0] = r->last_modified[0] = '\0';
    r->errbuf[0] = '\0';

    int rc = req_set_headers(r, headers);
    if (rc < 0)
        return rc;
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
        return QC_ERR_NOMEM;
    if (c->opts.http2 == 2) {
        long version = strncasecmp(url, "http://", 7) == 0
                           ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                           : CURL_HTTP_VERSION_2TLS;
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version);
    }

    /* HTTPGET resets NOBODY and upload; CUSTOMREQUEST NULL drops a verb. */
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    bool is_post = strcmp(method, "POST") == 0;
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (is_post || body) {
        const char *data = "";
        if (body_len) {
            if (grow_bytes(&r->reqbody, &r->reqbody_cap, body_len) < 0)
                return QC_ERR_NOMEM;
            memcpy(r->reqbody, body, body_len);
            data = r->reqbody;
        }
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, data);
        if (!is_post)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    return 0;
}

static void inflight_link(qc_httpc_t *c, httpc_req_t *r)
{
    r->prev = NULL;
    r->next = c->inflight_head;
    if (c->inflight_head)
        c->inflight_head->prev = r;
    c->inflight_head = r;
    c->inflight++;
}

static void inflight_unlink(qc_httpc_t *c, httpc_req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->inflight_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->inflight--;
}

/* ---- completion -------------------------------------------------------- */

long qc_httpc_retry_after_parse(const char *value, int64_t now_unix)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        long s = 0;
        for (; *value >= '0' && *value <= '9'; value++) {
            int d = *value - '0';
            s = s <= (INT32_MAX - d) / 10 ? s * 10 + d : INT32_MAX;
        }
        while (*value == ' ' || *value == '\t')
            value++;
        return *value ? -1 : s;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t d = (int64_t)t - now_unix;
    if (d < 0)
        return 0;
    return d > INT32_MAX ? INT32_MAX : (long)d;
}

static int map_curl_error(CURLcode code, bool oom)
{
    if (oom || code == CURLE_OUT_OF_MEMORY)
        return QC_ERR_NOMEM;
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return QC_ERR_TIMEOUT;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return QC_ERR_INVAL; /* the same URL will never work */
    default:
        return QC_ERR_IO;
    }
}

static void complete(qc_httpc_t *c, httpc_req_t *r, CURLcode code)
{
    qc_httpc_result_t res = { .err = 0, .body = "", .retry_after_s = -1, .curl_error = "",
                              .etag = r->etag, .last_modified = r->last_modified, .refused = "" };
    curl_off_t total_us = 0;
    long nconn = 0;
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nconn);
    res.total_s = (double)total_us / 1e6;
    c->connects_total += nconn > 0 ? (uint64_t)nconn : 0;

    if (code == CURLE_OK) {
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
        if (r->body) {
            r->body[r->body_len] = '\0';
            res.body = r->body;
            res.body_len = r->body_len;
        }
        res.truncated = r->truncated;
        /* An HTTP-date is wall-clock time by definition. */
        if (r->retry_after[0])
            res.retry_after_s = qc_httpc_retry_after_parse(r->retry_after, (int64_t)time(NULL));
    } else if (r->refused[0] && (code == CURLE_ABORTED_BY_CALLBACK || (code == CURLE_COULDNT_CONNECT && !r->passed))) {
        res.err = QC_ERR_EGRESS;
        res.refused = r->refused;
        res.curl_error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
    } else {
        res.err = map_curl_error(code, r->oom);
        res.curl_error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
        /* An SMTP server's refusal is a failed transfer whose last reply
         * code says whether to try again (4xx) or not (5xx). */
        if (r->mail)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
    }

    curl_multi_remove_handle(c->multi, r->easy);
    inflight_unlink(c, r);
    r->cb(&res, r->opaque);
    req_release(c, r);
}

static void destroy_now(qc_httpc_t *c);

/* Runs after every curl_multi_socket_action(), never inside it. */
static void drain_done(qc_httpc_t *c)
{
    CURLMsg *msg;
    int left;
    c->depth++;
    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        complete(c, (httpc_req_t *)(void *)priv, code);
    }
    c->depth--;
    if (c->closing && c->depth == 0)
        destroy_now(c);
}

/* ---- libevent <-> curl ------------------------------------------------- */

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    httpc_sock_t *sk = arg;
    qc_httpc_t *c = sk->c; /* sk may be freed by socket_action */
    int flags = 0, running;
    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    drain_done(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    qc_httpc_t *c = arg;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    qc_httpc_t *c = userp;
    if (timeout_ms < 0)
        return evtimer_del(c->timer) == 0 ? 0 : -1;
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static void sock_unlink(qc_httpc_t *c, httpc_sock_t *sk)
{
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        c->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
    sk->prev = sk->next = NULL;
}

static void sock_free(httpc_sock_t *sk)
{
    event_free(sk->ev); /* also deletes it */
    free(sk);
}

/* curl 7.88 stops watching a connection whenever it goes back to the idle
 * cache and starts again for the next request on it, so a watcher is made
 * and dropped once per request: keep a few rather than reallocate. */
static void sock_release(qc_httpc_t *c, httpc_sock_t *sk)
{
    sock_unlink(c, sk);
    if (c->closing || c->nsock_pool >= HTTPC_SOCK_POOL_MAX) {
        sock_free(sk);
        return;
    }
    event_del(sk->ev);
    sk->next = c->sock_pool;
    c->sock_pool = sk;
    c->nsock_pool++;
}

static httpc_sock_t *sock_get(qc_httpc_t *c, curl_socket_t s, short what)
{
    httpc_sock_t *sk = c->sock_pool;
    if (sk) {
        if (event_assign(sk->ev, c->base, s, what | EV_PERSIST, on_sock_event, sk) < 0)
            return NULL;
        c->sock_pool = sk->next;
        c->nsock_pool--;
    } else {
        sk = calloc(1, sizeof(*sk));
        if (!sk)
            return NULL;
        sk->c = c;
        sk->ev = event_new(c->base, s, what | EV_PERSIST, on_sock_event, sk);
        if (!sk->ev) {
            free(sk);
            return NULL;
        }
    }
    sk->prev = NULL;
    sk->next = c->socks;
    if (c->socks)
        c->socks->prev = sk;
    c->socks = sk;
    return sk;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
    qc_httpc_t *c = userp;
    httpc_sock_t *sk = socketp;

    if (action == CURL_POLL_REMOVE) {
        if (sk)
            sock_release(c, sk);
        return 0;
    }
    short what = (short)(((action & CURL_POLL_IN) ? EV_READ : 0)
                         | ((action & CURL_POLL_OUT) ? EV_WRITE : 0));
    if (!sk) {
        sk = sock_get(c, s, what);
        if (!sk)
            return -1;
        if (curl_multi_assign(c->multi, s, sk) != CURLM_OK) {
            sock_release(c, sk);
            return -1;
        }
    } else if (sk->what == what) {
        return 0;
    } else {
        event_del(sk->ev);
        if (event_assign(sk->ev, c->base, s, what | EV_PERSIST, on_sock_event, sk) < 0)
            return -1;
    }
    sk->what = what;
    return event_add(sk->ev, NULL) == 0 ? 0 : -1;
}

/* ---- public ------------------------------------------------------------ */

qc_httpc_t *qc_httpc_new(struct event_base *base, const qc_httpc_opts_t *opts)
{
    if (!base)
        return NULL;
    qc_httpc_opts_t o = { 0 };
    if (opts)
        o = *opts;
    if (o.max_total_connections < 0 || o.max_host_connections < 0 || o.timeout_ms < 0
        || o.connect_timeout_ms < 0 || o.http2 < 0 || o.http2 > 2 || o.max_body < 0
        || o.max_body > (1L << 30))
        return NULL;
    if (o.max_body == 0)
        o.max_body = QC_HTTPC_BODY_MAX;
    if (o.timeout_ms == 0)
        o.timeout_ms = HTTPC_TIMEOUT_MS_DEFAULT;
    if (o.connect_timeout_ms == 0)
        o.connect_timeout_ms = HTTPC_CONNECT_TIMEOUT_MS_DEFAULT;

    qc_httpc_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base = base;
    c->opts = o;
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->timer)
        goto free_c;
    c->multi = curl_multi_init();
    if (!c->multi)
        goto free_timer;

    /* Without MAXCONNECTS curl keeps 4 idle connections per easy handle in
     * the multi, so connections opened by a burst (or qc_httpc_warm) would be
     * closed as soon as the burst is over. */
    long idle = o.max_total_connections;
    if (idle == 0)
        idle = o.max_host_connections > HTTPC_IDLE_CONNS_DEFAULT ? o.max_host_connections
                                                                 : HTTPC_IDLE_CONNS_DEFAULT;
    CURLM *m = c->multi;
    if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_SOCKETDATA, c) != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_TIMERDATA, c) != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o.max_host_connections)
               != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.max_total_connections)
               != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, idle) != CURLM_OK
        || curl_multi_setopt(m, CURLMOPT_PIPELINING,
                             o.http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING) != CURLM_OK)
        goto free_multi;
    return c;

free_multi:
    curl_multi_cleanup(c->multi);
free_timer:
    event_free(c->timer);
free_c:
    free(c);
    return NULL;
}

static void destroy_now(qc_httpc_t *c)
{
    c->closing = true;
    while (c->inflight_head) {
        httpc_req_t *r = c->inflight_head;
        inflight_unlink(c, r);
        curl_multi_remove_handle(c->multi, r->easy);
        req_free(r);
    }
    while (c->pool) {
        httpc_req_t *r = c->pool;
        c->pool = r->next;
        req_free(r);
    }
    /* may still call on_curl_socket(REMOVE) for cached connections */
    curl_multi_cleanup(c->multi);
    while (c->socks) {
        httpc_sock_t *sk = c->socks;
        sock_unlink(c, sk);
        sock_free(sk);
    }
    while (c->sock_pool) {
        httpc_sock_t *sk = c->sock_pool;
        c->sock_pool = sk->next;
        sock_free(sk);
    }
    event_free(c->timer);
    free(c);
}

void qc_httpc_destroy(qc_httpc_t *c)
{
    if (!c)
        return;
    if (c->depth > 0) {
        /* called from a completion callback: finish once it has returned */
        c->closing = true;
        return;
    }
    destroy_now(c);
}

int qc_httpc_request(qc_httpc_t *c, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len,
                     qc_httpc_cb cb, void *opaque)
{
    return qc_httpc_request_egress(c, NULL, method, url, headers, body, body_len, cb, opaque);
}

int qc_httpc_request_egress(qc_httpc_t *c, const qc_egress_t *egress, const char *method, const char *url,
                            const char *const *headers, const char *body, size_t body_len,
                            qc_httpc_cb cb, void *opaque)
{
    if (!c || !method || !url || !cb || (!body && body_len) || !method_ok(method))
        return QC_ERR_INVAL;
    if (c->closing)
        return QC_ERR_INVAL;

    httpc_req_t *r = req_get(c);
    if (!r)
        return QC_ERR_NOMEM;
    int rc = req_prepare(c, r, egress, method, url, headers, body, body_len);
    if (rc < 0)
        goto release;
    r->cb = cb;
    r->opaque = opaque;
    /* only arms our timer; the transfer starts from the loop */
    CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
    if (mc != CURLM_OK) {
        rc = mc == CURLM_OUT_OF_MEMORY ? QC_ERR_NOMEM : QC_ERR_IO;
        goto release;
    }
    inflight_link(c, r);
    return 0;

release:
    req_release(c, r);
    return rc;
}

static size_t on_mail_read(char *buf, size_t size, size_t nitems, void *ud)
{
    httpc_req_t *r = ud;
    size_t room = size * nitems, left = r->upload_len - r->upload_pos;
    size_t n = left < room ? left : room;
    memcpy(buf, r->reqbody + r->upload_pos, n);
    r->upload_pos += n;
    return n;
}

int qc_httpc_mail(qc_httpc_t *c, const qc_httpc_mail_t *m, qc_httpc_cb cb, void *opaque)
{
    if (!c || !m || !m->url || !m->from || !m->rcpt || !m->data || !cb || c->closing)
        return QC_ERR_INVAL;
    if (strncasecmp(m->url, "smtp://", 7) && strncasecmp(m->url, "smtps://", 8))
        return QC_ERR_INVAL;
    if (has_crlf(m->from) || has_crlf(m->rcpt))
        return QC_ERR_INVAL; /* would inject SMTP commands */
    httpc_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return QC_ERR_NOMEM;
    r->c = c;
    r->mail = true;
    r->easy = curl_easy_init();
    int rc = QC_ERR_NOMEM;
    if (!r->easy || grow_bytes(&r->reqbody, &r->reqbody_cap, m->data_len + 1) < 0)
        goto fail;
    memcpy(r->reqbody, m->data, m->data_len);
    r->upload_len = m->data_len;
    if (!(r->rcpts = curl_slist_append(NULL, m->rcpt)))
        goto fail;
    CURL *e = r->easy;
    if (curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_URL, m->url) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_MAIL_FROM, m->from) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_MAIL_RCPT, r->rcpts) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_READFUNCTION, on_mail_read) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_READDATA, r) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->data_len) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_USE_SSL, m->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK)
        goto fail;
    if (m->user && m->user[0]
        && (curl_easy_setopt(e, CURLOPT_USERNAME, m->user) != CURLE_OK
            || curl_easy_setopt(e, CURLOPT_PASSWORD, m->password ? m->password : "") != CURLE_OK))
        goto fail;
    r->cb = cb;
    r->opaque = opaque;
    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        rc = mc == CURLM_OUT_OF_MEMORY ? QC_ERR_NOMEM : QC_ERR_IO;
        goto fail;
    }
    inflight_link(c, r);
    return 0;
fail:
    req_free(r);
    return rc;
}

size_t qc_httpc_inflight(const qc_httpc_t *c)
{
    return c ? c->inflight : 0;
}

uint64_t qc_httpc_connects_total(const qc_httpc_t *c)
{
    return c ? c->connects_total : 0;
}

static void warm_done(const qc_httpc_result_t *res, void *opaque)
{
    (void)res;
    (void)opaque;
}

int qc_httpc_warm(qc_httpc_t *c, const char *url, int n)
{
    if (!c || !url || n <= 0)
        return QC_ERR_INVAL;
    for (int i = 0; i < n; i++) {
        int rc = qc_httpc_request(c, "HEAD", url, NULL, NULL, 0, warm_done, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}
