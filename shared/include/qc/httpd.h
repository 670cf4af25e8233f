/* httpd.h: the HTTP server both binaries run on their loop (libevent
 * evhttp): /healthz, /readyz, /metrics, plus routes a binary adds, and the
 * helpers every handler uses to read bodies and answer JSON. */
#ifndef QC_HTTPD_H
#define QC_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct event_base;
struct evhttp_request;
typedef struct qc_httpd qc_httpd_t;
typedef struct qc_metrics qc_metrics_t;

/** Readiness probe: returns true when ready, else writes why. */
typedef bool (*qc_ready_fn)(void *opaque, char *why, size_t whysz);
/** Route handler; @p rest is the path after the route's prefix (no query). */
typedef void (*qc_route_fn)(struct evhttp_request *req, const char *rest, void *opaque);

/** Listens on @p addr:@p port (0 = ephemeral). @p metrics is borrowed.
 *  @returns NULL with errstr set on failure. */
qc_httpd_t *qc_httpd_new(struct event_base *base, const char *addr, int port,
                         qc_metrics_t *metrics, qc_ready_fn ready, void *ready_opaque,
                         char *errstr, size_t errstr_size);
void qc_httpd_destroy(qc_httpd_t *h);
/** The port actually bound. */
int qc_httpd_port(const qc_httpd_t *h);

/** Adds a route for requests whose path starts with @p prefix (an exact
 *  match if @p exact). Routes are tried in the order added. */
int qc_httpd_route(qc_httpd_t *h, const char *prefix, bool exact, qc_route_fn fn, void *opaque);

/** Sends @p body (takes ownership; NULL sends no body) with @p status. */
void qc_http_reply_json(struct evhttp_request *req, int status, json_t *body);
/** Sends {"error":{"code":code,"message":message,"field":field}}. */
void qc_http_reply_error(struct evhttp_request *req, int status, const char *code,
                         const char *message, const char *field);
/** Copies the request body (at most @p max bytes, else QC_ERR_TOOBIG) into a
 *  NUL-terminated malloc'd buffer. Caller frees *buf. */
int qc_http_body(struct evhttp_request *req, size_t max, char **buf, size_t *len);
/** The prologue of every admin POST: the method, the bearer token and the
 *  body (at most @p max bytes, copied into *@p body, caller frees). On
 *  failure it has already answered (405, 401 or 413) and returns false. */
bool qc_http_admin_post(struct evhttp_request *req, const unsigned char token_sha256[32], size_t max,
                        char **body, size_t *len);
/** Value of query parameter @p key, copied into @p out. @returns true if present. */
bool qc_http_query(struct evhttp_request *req, const char *key, char *out, size_t outsz);
/** Checks "Authorization: Bearer <token>" against the SHA-256 of the
 *  configured token, in constant time. */
bool qc_http_bearer_ok(struct evhttp_request *req, const unsigned char token_sha256[32]);
/** For a handler that answers later: stores @p req in *@p slot and sets
 *  *@p slot to NULL if the client goes away first. Answer through
 *  qc_http_take(), which detaches the watch. */
void qc_http_hold(struct evhttp_request *req, struct evhttp_request **slot);
/** @returns the held request (or NULL if the client left) and stops
 *  watching; *@p slot is NULL afterwards. */
struct evhttp_request *qc_http_take(struct evhttp_request **slot);
/** Requests held (qc_http_hold) and neither answered nor abandoned by their
 *  client: what a clean stop waits for. */
long qc_http_held(void);

/** SHA-256 of @p s, for qc_http_bearer_ok. */
void qc_sha256(const void *data, size_t len, unsigned char out[32]);

#endif
