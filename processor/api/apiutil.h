/* api/apiutil.h: what the self-service API handlers share (issue 6): the
 * client address, bounded JSON bodies, hashes and random secrets, and the
 * state those handlers keep on the processor (qc_selfsvc_t). */
#ifndef QC_API_APIUTIL_H
#define QC_API_APIUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "processor.h"

struct evhttp_request;

struct qc_selfsvc {
    qc_series_t *m_signup_pending, *m_signup_rejected, *m_signup_limited;
    qc_series_t *m_verify_ok, *m_verify_wrong, *m_verify_locked, *m_verify_limited;
    qc_series_t *m_auth_failed, *m_forbidden;
    qc_series_t *m_sms_stop, *m_sms_start, *m_sms_other, *m_sms_bad_sig;
    qc_series_t *m_notices, *m_notices_failed;
    qc_series_t *m_patched, *m_deleted;
    char **sms_prefixes;   /* E.164 prefixes sign-up accepts; NULL: any */
    size_t n_sms_prefixes;
};

/** The client's address for rate limits: the peer, or with
 *  QUAKECAST_TRUST_PROXY the last X-Forwarded-For entry (the one our own
 *  proxy appended). */
void qc_api_client_addr(const qc_proc_t *p, struct evhttp_request *req, char *out, size_t outsz);

/** Reads a JSON object body of at most @p max bytes and nesting depth
 *  QUAKECAST_JSON_MAX_DEPTH, after checking Content-Type is JSON. On failure
 *  it has answered (413, 415, 400) and returns NULL; else a new reference. */
json_t *qc_api_json_body(const qc_proc_t *p, struct evhttp_request *req, size_t max);

/** Lowercase hex SHA-256 of the concatenation of the NULL-terminated
 *  strings given (out: 65 bytes). */
void qc_api_sha256_hex(char out[65], ...) __attribute__((sentinel));

/** @p prefix followed by base64url of 32 random bytes. @returns 0 or -1. */
int qc_api_random_token(const char *prefix, char *out, size_t outsz);
/** A uniformly random 6-digit code. @returns 0 or -1. */
int qc_api_random_code(char out[7]);

/** True when the request carries the admin bearer token. */
bool qc_api_is_admin(const qc_proc_t *p, struct evhttp_request *req);
/** The bearer token of the request, or NULL. Valid while @p req lives. */
const char *qc_api_bearer(struct evhttp_request *req);

/** "2026-01-02T03:04:05Z" of now. */
void qc_api_now_iso(char *out, size_t outsz);

/** Answers 429 with Retry-After. */
void qc_api_reply_limited(struct evhttp_request *req, long retry_after_s, const char *code, const char *message,
                          const char *field);

/* signup.c */
void qc_api_signup(qc_proc_t *p, struct evhttp_request *req);
void qc_api_verify(qc_proc_t *p, struct evhttp_request *req, const char *id);
/* subscribers.c, for the routes of selfsvc.c */
void qc_api_subscribers_list(qc_proc_t *p, struct evhttp_request *req);
void qc_api_subscribers_export(qc_proc_t *p, struct evhttp_request *req);
/* sms_inbound.c */
void qc_api_sms_inbound(struct evhttp_request *req, const char *rest, void *opaque);
/* pages.c */
void qc_api_pages(struct evhttp_request *req, const char *rest, void *opaque);
/* alerts_list.c */
void qc_api_alerts_list(struct evhttp_request *req, const char *rest, void *opaque);

#endif
