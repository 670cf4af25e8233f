/* httpd.c: evhttp server with a prefix router, health, readiness and
 * metrics endpoints. */
#include "qc/httpd.h"
#include "qc/err.h"
#include "qc/log.h"
#include "qc/metrics.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <string.h>

typedef struct route {
    char *prefix;
    size_t plen;
    bool exact;
    qc_route_fn fn;
    void *opaque;
    struct route *next;
} route_t;

struct qc_httpd {
    struct evhttp *http;
    int port;
    qc_metrics_t *metrics; /* borrowed */
    qc_ready_fn ready;
    void *ready_opaque;
    route_t *routes;
    qc_series_t *req_2xx, *req_4xx;
};

void qc_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void qc_http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    if (body) {
        char *s = json_dumps(body, JSON_COMPACT);
        if (s) {
            evbuffer_add(buf, s, strlen(s));
            evbuffer_add(buf, "\n", 1);
            free(s);
        }
        json_decref(body);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    }
    const char *reason = status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    evhttp_send_reply(req, status, reason, buf);
    evbuffer_free(buf);
}

void qc_http_reply_error(struct evhttp_request *req, int status, const char *code,
                         const char *message, const char *field)
{
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message);
    if (err && field)
        json_object_set_new(err, "field", json_string(field));
    qc_http_reply_json(req, status, json_pack("{s:o}", "error", err));
}

int qc_http_body(struct evhttp_request *req, size_t max, char **buf, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > max)
        return QC_ERR_TOOBIG;
    char *b = malloc(n + 1);
    if (!b)
        return QC_ERR_NOMEM;
    evbuffer_copyout(in, b, n);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

bool qc_http_admin_post(struct evhttp_request *req, const unsigned char token_sha256[32], size_t max,
                        char **body, size_t *len)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
        return false;
    }
    if (!qc_http_bearer_ok(req, token_sha256)) {
        qc_http_reply_error(req, 401, "unauthorized", "admin bearer token required", NULL);
        return false;
    }
    int rc = qc_http_body(req, max, body, len);
    if (rc == QC_ERR_TOOBIG)
        qc_http_reply_error(req, 413, "too_large", "body too large: split it", NULL);
    else if (rc)
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
    return rc == 0;
}

bool qc_http_query(struct evhttp_request *req, const char *key, char *out, size_t outsz)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!q)
        return false;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    if (evhttp_parse_query_str(q, &kv) != 0)
        return false;
    const char *v = evhttp_find_header(&kv, key);
    bool found = v != NULL;
    if (v)
        snprintf(out, outsz, "%s", v);
    evhttp_clear_headers(&kv);
    return found;
}

bool qc_http_bearer_ok(struct evhttp_request *req, const unsigned char token_sha256[32])
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    /* Hash first so the comparison time does not depend on the token. */
    unsigned char got[32];
    qc_sha256(h + 7, strlen(h + 7), got);
    return CRYPTO_memcmp(got, token_sha256, 32) == 0;
}

/* One loop per process, so a plain counter: +1 on hold, -1 on take or when
 * the client leaves (whichever comes first; take after a leave sees NULL). */
static long g_held;

long qc_http_held(void)
{
    return g_held;
}

static void on_client_gone(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    if (*(struct evhttp_request **)arg)
        g_held--;
    *(struct evhttp_request **)arg = NULL;
}

void qc_http_hold(struct evhttp_request *req, struct evhttp_request **slot)
{
    *slot = req;
    g_held++;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn)
        evhttp_connection_set_closecb(conn, on_client_gone, slot);
}

struct evhttp_request *qc_http_take(struct evhttp_request **slot)
{
    struct evhttp_request *req = *slot;
    *slot = NULL;
    if (req) {
        g_held--;
        struct evhttp_connection *conn = evhttp_request_get_connection(req);
        if (conn)
            evhttp_connection_set_closecb(conn, NULL, NULL);
    }
    return req;
}

static void handle_health(struct evhttp_request *req, qc_httpd_t *h)
{
    (void)h;
    qc_http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void handle_ready(struct evhttp_request *req, qc_httpd_t *h)
{
    char why[256] = "";
    if (!h->ready || h->ready(h->ready_opaque, why, sizeof why))
        qc_http_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
    else
        qc_http_reply_json(req, 503, json_pack("{s:s,s:s}", "status", "not_ready", "reason", why));
}

static void handle_metrics(struct evhttp_request *req, qc_httpd_t *h)
{
    struct evbuffer *buf = evbuffer_new();
    qc_metrics_render(h->metrics, buf);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    qc_httpd_t *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path)
        path = "/";
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd == EVHTTP_REQ_TRACE || cmd == EVHTTP_REQ_CONNECT) {
        /* TRACE would echo credentials back (cross-site tracing); we are no proxy. */
        qc_counter_add(h->req_4xx, 1);
        qc_http_reply_error(req, 405, "method_not_allowed", "method not allowed", NULL);
        return;
    }
    if (!strcmp(path, "/healthz")) {
        qc_counter_add(h->req_2xx, 1);
        handle_health(req, h);
        return;
    }
    if (!strcmp(path, "/readyz")) {
        handle_ready(req, h);
        return;
    }
    if (!strcmp(path, "/metrics")) {
        handle_metrics(req, h);
        return;
    }
    for (route_t *r = h->routes; r; r = r->next) {
        if (r->exact ? !strcmp(path, r->prefix) : !strncmp(path, r->prefix, r->plen)) {
            qc_counter_add(h->req_2xx, 1);
            r->fn(req, path + r->plen, r->opaque);
            return;
        }
    }
    qc_counter_add(h->req_4xx, 1);
    qc_http_reply_error(req, 404, "not_found", "no such endpoint", NULL);
}

qc_httpd_t *qc_httpd_new(struct event_base *base, const char *addr, int port,
                         qc_metrics_t *metrics, qc_ready_fn ready, void *ready_opaque,
                         char *errstr, size_t errsz)
{
    qc_httpd_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    h->metrics = metrics;
    h->ready = ready;
    h->ready_opaque = ready_opaque;
    h->http = evhttp_new(base);
    if (!h->http) {
        snprintf(errstr, errsz, "evhttp_new failed");
        goto fail;
    }
    evhttp_set_max_body_size(h->http, 64 * 1024 * 1024);
    /* Every method reaches dispatch(), so an unexpected one is a 405 with
     * our error body, not evhttp's 501 page. */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
    evhttp_set_timeout(h->http, 60);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(h->http, addr, (ev_uint16_t)port);
    if (!sock) {
        snprintf(errstr, errsz, "cannot listen on %s:%d", addr, port);
        goto fail;
    }
    evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    evhttp_set_gencb(h->http, dispatch, h);
    h->req_2xx = qc_metrics_counter(metrics, "quakecast_http_requests_total", "class=\"routed\"",
                                    "HTTP requests received, by outcome class");
    h->req_4xx = qc_metrics_counter(metrics, "quakecast_http_requests_total", "class=\"not_found\"",
                                    "HTTP requests received, by outcome class");
    return h;
fail:
    qc_httpd_destroy(h);
    return NULL;
}

void qc_httpd_destroy(qc_httpd_t *h)
{
    if (!h)
        return;
    if (h->http)
        evhttp_free(h->http);
    for (route_t *r = h->routes, *n; r; r = n) {
        n = r->next;
        free(r->prefix);
        free(r);
    }
    free(h);
}

int qc_httpd_port(const qc_httpd_t *h) { return h->port; }

int qc_httpd_route(qc_httpd_t *h, const char *prefix, bool exact, qc_route_fn fn, void *opaque)
{
    route_t *r = calloc(1, sizeof *r);
    if (!r || !(r->prefix = strdup(prefix))) {
        free(r);
        return QC_ERR_NOMEM;
    }
    r->plen = strlen(prefix);
    r->exact = exact;
    r->fn = fn;
    r->opaque = opaque;
    route_t **pp = &h->routes;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    return 0;
}
