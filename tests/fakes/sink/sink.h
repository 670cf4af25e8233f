/* sink.h: the fake receiver's context, shared by main.c (start-up, signals,
 * files), http.c (routing, webhooks, control endpoints), deliver.c (the path
 * every HTTP delivery takes: retry checks, rate limit, faults, ledger),
 * fault.c (fault rules), and the provider modules twilio.c, telegram.c,
 * fcm.c and smtp.c. */
#ifndef SINK_SINK_H
#define SINK_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "ledger.h"
#include "rate.h"

struct event_base;
struct evbuffer;
struct evhttp;
struct evhttp_request;
struct evkeyvalq;
struct sink_pending;
struct sink_fcm;
struct sink_smtp;

#define SINK_MAX_FAULTS 64   /**< fault rules queued at once */
#define SINK_KEY_MAX 256     /**< raw HMAC key bytes */
#define SINK_KEYED_MAX 32    /**< "telegram:" + 16 hex + NUL fits */

/** Settings from the command line (see the option table in main.c). */
typedef struct sink_config {
    const char *addr;        /**< numeric address to bind */
    long port;               /**< 0 = ephemeral */
    const char *secret;      /**< "whsec_...", NULL = no verification */
    const char *ready_file;  /**< gets the port number once listening */
    const char *ledger_file; /**< NDJSON ledger written on exit */
    long tolerance_s;        /**< webhook-timestamp skew allowed, 0 = any */
    long max_body;           /**< request body limit in bytes */
    long idle_timeout_s;     /**< keep-alive connections idle this long close */
    /* providers: each is on when its credentials are given */
    const char *twilio_sid, *twilio_token;
    const char *telegram_token;
    const char *fcm_public_key; /**< PEM file of the service account's key */
    long fcm_token_ttl;         /**< expires_in of issued access tokens, s */
    const char *fcm_project;    /**< NULL = any project */
    const char *fcm_issuer;     /**< NULL = any non-empty iss */
    long smtp_port;             /**< -1 = no SMTP, 0 = ephemeral */
    const char *smtp_ready_file;
    const char *smtp_user, *smtp_password;
    const char *smtp_tls_cert, *smtp_tls_key;
    long rate_limit[SINK_P_COUNT]; /**< per second, 0 = none */
    /** --latency: every success is answered after a log-normal delay of
     *  this median (ms, 0 = at once) and sigma (of the log) */
    double latency_ms[SINK_P_COUNT], latency_sigma[SINK_P_COUNT];
    bool help;
} sink_config_t;

/** SMTP reply a fault applies to; HTTP requests are SINK_STAGE_REQUEST. */
enum { SINK_STAGE_REQUEST = 0, SINK_STAGE_DATA = 1 };

/** One queued fault rule (POST /_sink/faults). */
typedef struct sink_fault {
    int status;              /**< 0 = answer 200 (delay only) */
    int64_t remaining;       /**< deliveries left, -1 = until cleared */
    long retry_after;        /**< seconds for Retry-After, -1 = none */
    long delay_ms;           /**< answer after this long */
    bool drop;               /**< close without answering */
    int provider;            /**< SINK_P_ANY or the only provider it hits */
    long error_num;          /**< provider error code (Twilio), -1 = none */
    char *error;             /**< provider error name/text, NULL = none */
    int smtp_code;           /**< SMTP reply, 0 = mapped from status */
    int smtp_stage;          /**< SINK_STAGE_REQUEST (RCPT) or _DATA */
    char *match_subscriber;  /**< NULL = any recipient */
    char *match_alert;       /**< NULL = any alert */
} sink_fault_t;

/** The last request a provider accepted (GET /_sink/last). */
typedef struct sink_last {
    struct evbuffer *body;   /**< raw body; NULL = none yet */
    char *recipient;
    char *alert;
    char *extra;             /**< JSON members to add ("mail_from", "rcpt"), or NULL */
} sink_last_t;

typedef struct sink {
    const sink_config_t *conf;
    /* loop */
    struct event_base *base;
    struct evhttp *http;
    struct event *ev_sigterm, *ev_sigint;
    evutil_socket_t fd;
    int port;                 /* bound port */
    /* signature verification */
    unsigned char key[SINK_KEY_MAX];
    size_t keylen;            /* 0 = verification off */
    /* what was received */
    sink_ledger_t *ledger;
    sink_last_t last[SINK_P_COUNT];
    /* fault injection */
    sink_fault_t faults[SINK_MAX_FAULTS];
    size_t nfaults;
    struct sink_pending *pending; /* delayed or to-be-dropped requests */
    size_t npending;
    /* rate windows and retry-after memory */
    sink_rate_t rate;
    /* providers */
    bool providers_on;        /* any HTTP provider configured */
    bool on[SINK_P_COUNT];
    uint64_t rng;             /* xorshift64* state for ids */
    uint64_t tg_message_id;   /* Telegram message_id counter */
    char twilio_basic[512];   /* expected "Basic ..." value */
    struct sink_fcm *fcm;
    struct sink_smtp *smtp;
    int smtp_port;            /* bound SMTP port, -1 = off */
} sink_t;

/* ---- http.c ---- */
/** Installs the request handlers on s->http. @returns 0 or a qc_err_t. */
int sink_http_setup(sink_t *s);
/** Frees delayed requests' bookkeeping, the fault rules and the last-request
 *  copies. Call after evhttp_free(), which owns (and has freed) the requests
 *  themselves. */
void sink_http_cleanup(sink_t *s);

/* ---- deliver.c ---- */
/** One delivery an HTTP handler has parsed and checked. The strings are
 *  valid until sink_deliver() returns. */
typedef struct sink_msg {
    int provider;
    const char *rcpt;        /**< recipient (webhook: subscriber_id) */
    size_t rlen;
    const char *text;        /**< providers: the keyed text; webhook: NULL */
    size_t tlen;
    const char *alert;       /**< webhook: alert_id; providers: NULL */
    size_t alen;
    bool has_id;
    uint64_t id_hash;
    int ok_status;           /**< 200, 201 */
    struct evbuffer *ok_body; /**< success body, NULL = {"ok":true}; taken */
} sink_msg_t;

/** Runs a parsed delivery through the early-retry check, the rate limit and
 *  the fault rules, then records and answers it (or holds it on a timer). */
void sink_deliver(sink_t *s, struct evhttp_request *req, sink_msg_t *m);
/** Writes the ledger key of @p text for @p provider ("twilio:<16 hex>")
 *  into @p out. @returns its length. */
size_t sink_keyed(int provider, const char *text, size_t tlen,
                  char out[SINK_KEYED_MAX]);
/** Sends @p body (NUL-terminated, may be NULL: the output buffer as it is)
 *  as JSON with @p code. */
void sink_reply(struct evhttp_request *req, int code, const char *body);
/** Adds a Retry-After header when @p retry_after >= 0. */
void sink_retry_after_header(struct evhttp_request *req, long retry_after);
/** Answers fault @p status in @p provider's error format. */
void sink_reply_fault(sink_t *s, struct evhttp_request *req, int provider, int status,
                      long error_num, const char *error, long retry_after);
/** @returns the reason phrase of HTTP status @p code. */
const char *sink_reason(int code);
/** @returns the next pseudo-random 64 bits (ids, not secrets). */
uint64_t sink_rand(sink_t *s);
/** @returns CLOCK_MONOTONIC or CLOCK_REALTIME in ms. */
int64_t sink_now_ms(int clk);
/** @returns CLOCK_MONOTONIC in µs. */
int64_t sink_mono_us(void);
/** Replaces the last-accepted copy of @p provider. */
void sink_last_set(sink_t *s, int provider, const char *body, size_t len,
                   const char *rcpt, size_t rlen, const char *alert, char *extra);
/** Frees every pending request's bookkeeping (after evhttp_free). */
void sink_pending_cleanup(sink_t *s);
/** Parses an application/x-www-form-urlencoded body (or query string) of
 *  @p len bytes into @p kv (caller clears it with evhttp_clear_headers).
 *  @returns 0 or QC_ERR_PARSE. */
int sink_form_parse(const char *body, size_t len, struct evkeyvalq *kv);

/* ---- fault.c ---- */
/** @returns the index of the first rule matching, or -1. */
int sink_fault_match(const sink_t *s, int provider, int stage, const char *rcpt,
                     size_t rlen, const char *alert, size_t alen);
/** Uses up one application of rule @p i, removing it when exhausted. */
void sink_fault_consume(sink_t *s, size_t i);
void sink_faults_post(sink_t *s, struct evhttp_request *req);
void sink_faults_get(sink_t *s, struct evhttp_request *req);
void sink_faults_clear(sink_t *s);

/* ---- provider modules ---- */
/** Each handles a request whose path is its own. */
void sink_twilio_request(sink_t *s, struct evhttp_request *req, const char *path);
void sink_telegram_request(sink_t *s, struct evhttp_request *req, const char *path);
void sink_fcm_request(sink_t *s, struct evhttp_request *req, const char *path);
/** Provider error formats, for faults and rate limits. */
void sink_twilio_fault(struct evhttp_request *req, int status, long code,
                       long retry_after);
void sink_telegram_fault(struct evhttp_request *req, int status, const char *error,
                         long retry_after);
void sink_fcm_fault(struct evhttp_request *req, int status, const char *error,
                    long retry_after);
/** @returns the HTTP status a provider error implies, 0 if unknown. */
int sink_twilio_error_status(long code);
int sink_telegram_error_status(const char *error);
int sink_fcm_error_status(const char *error);

/** Loads the FCM public key. @returns 0 or a qc_err_t with @p errstr. */
int sink_fcm_setup(sink_t *s, char *errstr, size_t errsz);
void sink_fcm_cleanup(sink_t *s);

/** Serves SMTP on the listening socket @p fd (takes ownership) on s->base.
 *  @returns 0 or a qc_err_t with @p errstr. */
int sink_smtp_setup(sink_t *s, evutil_socket_t fd, char *errstr, size_t errsz);
/** Closes the listener and every connection; accepts s->smtp == NULL. */
void sink_smtp_cleanup(sink_t *s);
/** The SMTP code a fault rule answers with. */
int sink_smtp_fault_code(const sink_fault_t *f);

#endif
