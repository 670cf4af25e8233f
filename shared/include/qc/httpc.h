/* httpc.h: outgoing HTTP on libcurl's multi interface, driven by a libevent
 * loop (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION, as in curl's
 * docs/examples/multi-event.c). Nothing here blocks. Connections are kept
 * alive and reused; HTTP/2 is used where the server offers it.
 *
 * One client belongs to one loop and one thread. Easy handles and their
 * buffers are pooled, so a steady stream of requests allocates next to
 * nothing. */
#ifndef QC_HTTPC_H
#define QC_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct qc_httpc qc_httpc_t;
typedef struct qc_egress qc_egress_t;

/** Response bodies are kept up to this many bytes; the rest is dropped
 *  (the request still succeeds). */
#define QC_HTTPC_BODY_MAX 65536
/** ETag and Last-Modified values longer than this are treated as absent. */
#define QC_HTTPC_VALIDATOR_MAX 256

typedef struct qc_httpc_opts {
    long max_total_connections;   /**< CURLMOPT_MAX_TOTAL_CONNECTIONS, 0 = unlimited; also
                                       the idle-connection cache size (0: max(64, max_host)) */
    long max_host_connections;    /**< CURLMOPT_MAX_HOST_CONNECTIONS, 0 = unlimited */
    long timeout_ms;              /**< per request total timeout, 0 = 10000 */
    long connect_timeout_ms;      /**< 0 = 3000 */
    long max_body;                /**< response bytes kept, 0 = QC_HTTPC_BODY_MAX */
    int http2;                    /**< 0: HTTP/1.1 only. 1: offer HTTP/2 over TLS (ALPN),
                                       plain http stays HTTP/1.1. 2: as 1, and plain http
                                       uses HTTP/2 with prior knowledge (h2c). With 1 or 2,
                                       requests to one host multiplex on one connection. */
} qc_httpc_opts_t;

/** The result handed to a completion callback; valid until it returns. */
typedef struct qc_httpc_result {
    int err;               /**< 0 if an HTTP status was received (any status), else
                                QC_ERR_TIMEOUT (total or connect timeout), QC_ERR_IO (other
                                network/protocol failure), QC_ERR_INVAL (malformed URL or
                                scheme other than http/https: do not retry), QC_ERR_NOMEM,
                                QC_ERR_EGRESS (qc_httpc_request_egress: every address the
                                host resolved to was refused; see refused) */
    long status;           /**< HTTP status, 0 when err != 0 (for mail see qc_httpc_mail) */
    const char *body;      /**< response body (NUL-terminated), may be ""; at most
                                max_body bytes (the rest is dropped: see truncated);
                                "" when err != 0 */
    int truncated;         /**< 1 if the body was longer than max_body */
    size_t body_len;
    long retry_after_s;    /**< parsed Retry-After header in seconds (delta-seconds, or an
                                HTTP-date minus the wall clock now, at least 0); -1 if absent
                                or unparsable */
    double total_s;        /**< CURLINFO_TOTAL_TIME */
    const char *curl_error;/**< curl's error text when err != 0, else "" */
    const char *etag;      /**< ETag header value as sent (quotes kept), "" if absent */
    const char *last_modified; /**< Last-Modified header value, "" if absent */
    const char *refused;   /**< with QC_ERR_EGRESS: "<address> (<range>)" of the first
                                address refused, e.g. "127.0.0.1 (loopback)"; else "" */
} qc_httpc_result_t;

typedef void (*qc_httpc_cb)(const qc_httpc_result_t *res, void *opaque);

/** Creates a client on @p base (not owned; must outlive the client).
 *  @p opts may be NULL for defaults. @returns NULL on failure or invalid
 *  options (negative values, http2 > 2). Caller frees with
 *  qc_httpc_destroy(). curl_global_init() must have been called. */
qc_httpc_t *qc_httpc_new(struct event_base *base, const qc_httpc_opts_t *opts);
/** Aborts in-flight requests (their callbacks are NOT called) and frees,
 *  closing every connection. NULL ok. May be called from a completion
 *  callback: no further callbacks run and the memory is released when that
 *  callback returns. */
void qc_httpc_destroy(qc_httpc_t *c);

/** Starts a request. @p method "POST", "GET", "HEAD", "PUT", ... (letters,
 *  '-', '_'); a body is sent when @p body is non-NULL or the method is POST.
 *  @p headers is a NULL-terminated array of "Name: value" strings (copied;
 *  CR or LF in one is QC_ERR_INVAL; give a Content-Type with a body, or
 *  curl sends application/x-www-form-urlencoded). @p body is copied. @p url must be
 *  http:// or https://. No redirects are followed.
 *  @p cb is called exactly once, later, from the loop (never from inside
 *  this call). @returns 0 or a negative qc_err_t (then @p cb is not called). */
int qc_httpc_request(qc_httpc_t *c, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len,
                     qc_httpc_cb cb, void *opaque);

/** As qc_httpc_request, for a URL someone else chose: every address the
 *  request connects to, or reuses a connection to, must pass @p egress
 *  (qc/egress.h; not owned, must outlive the request; NULL = no check).
 *  The check happens after name resolution, at connect time; a refused
 *  address is skipped, and when none is left the callback gets
 *  QC_ERR_EGRESS. Checked requests never go through a proxy (a proxy
 *  would make the checked address the proxy's). */
int qc_httpc_request_egress(qc_httpc_t *c, const qc_egress_t *egress, const char *method,
                            const char *url, const char *const *headers, const char *body,
                            size_t body_len, qc_httpc_cb cb, void *opaque);

/** One e-mail submission over SMTP (RFC 5321) on the same loop. */
typedef struct qc_httpc_mail {
    const char *url;       /**< smtp://host:port or smtps://host:port (implicit TLS) */
    const char *user, *password; /**< AUTH credentials; NULL/"" = no AUTH */
    int starttls;          /**< 1: require STARTTLS on smtp:// (CURLUSESSL_ALL) */
    const char *from;      /**< envelope sender, "<a@b>" or "a@b" */
    const char *rcpt;      /**< one envelope recipient */
    const char *data;      /**< the whole message (RFC 5322 headers, CRLF lines) */
    size_t data_len;
} qc_httpc_mail_t;

/** Submits @p m. Connections are cached and reused like HTTP ones. The
 *  callback's result has err == 0 and status = the final SMTP reply code
 *  (250) when accepted; when refused, err != 0 and status holds the last
 *  reply code the server sent (4xx: try later, 5xx: never), or 0 when none
 *  came (network). @returns 0 or a negative qc_err_t (cb then not called). */
int qc_httpc_mail(qc_httpc_t *c, const qc_httpc_mail_t *m, qc_httpc_cb cb, void *opaque);

/** Requests in flight (started, callback not yet called; includes warm-up). */
size_t qc_httpc_inflight(const qc_httpc_t *c);

/** Opens (and keeps) connections to @p url ahead of need, by sending
 *  @p n HEAD requests in parallel; results are ignored. Up to
 *  max_host_connections connections open for HTTP/1.1; with HTTP/2 the
 *  requests share one connection. @returns 0 or error. */
int qc_httpc_warm(qc_httpc_t *c, const char *url, int n);

/** New connections opened so far (sum of CURLINFO_NUM_CONNECTS), for
 *  metrics and tests. */
uint64_t qc_httpc_connects_total(const qc_httpc_t *c);

/** Parses a Retry-After value: delta-seconds ("120") or an HTTP-date, the
 *  latter against @p now_unix (wall clock, Unix seconds).
 *  @returns seconds (>= 0, capped at INT32_MAX), or -1 if unparsable. */
long qc_httpc_retry_after_parse(const char *value, int64_t now_unix);

#endif
