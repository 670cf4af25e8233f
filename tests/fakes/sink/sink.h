/* sink.h: the fake webhook receiver's context, shared by main.c (start-up,
 * signals, files) and http.c (requests). */
#ifndef SINK_SINK_H
#define SINK_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "ledger.h"

struct event_base;
struct evhttp;
struct sink_pending;
struct sink_stream;

#define SINK_MAX_FAULTS 64   /**< fault rules queued at once */
#define SINK_KEY_MAX 256     /**< raw HMAC key bytes */

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
    bool help;
} sink_config_t;

/** One queued fault rule (POST /_sink/faults). */
typedef struct sink_fault {
    int status;              /**< 0 = answer 200 (delay only) */
    int64_t remaining;       /**< deliveries left, -1 = until cleared */
    long retry_after;        /**< seconds for Retry-After, -1 = none */
    long delay_ms;           /**< answer after this long */
    bool drop;               /**< close without answering */
    char *match_subscriber;  /**< NULL = any subscriber */
    char *match_alert;       /**< NULL = any alert */
} sink_fault_t;

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
    /* fault injection */
    sink_fault_t faults[SINK_MAX_FAULTS];
    size_t nfaults;
    struct sink_pending *pending; /* delayed or to-be-dropped requests */
    size_t npending;
} sink_t;

/** Installs the request handlers on s->http. @returns 0 or a qc_err_t. */
int sink_http_setup(sink_t *s);
/** Frees delayed requests' bookkeeping and the fault rules. Call after
 *  evhttp_free(), which owns (and has freed) the requests themselves. */
void sink_http_cleanup(sink_t *s);

#endif
