/* dispatcher.h: the dispatcher's process context (configuration, clients,
 * channel drivers, metrics) and the helpers every layer may use. The
 * claim-and-send pipeline depends one way, each layer with its own header:
 *
 *   main.c (the loop: Kafka, signals, health)            ─ job.h, broadcast.h, notice.h
 *     └─► job.c (lease, claim, complete, release)        ─ chunk.h
 *           └─► chunk.c (decide per record, send queue)  ─ ratelimit.h, this file
 *                 ├─► ratelimit.c (shared token buckets)
 *                 └─► channels/<name>.c (the provider call)
 *
 * Calls back up go through function pointers + user data (qc_job_hooks_t,
 * qc_chunk_owner_t, qc_rl_ops_t); tests/tools/check_layers.py fails the
 * build's tests when a lower file includes or calls a higher one. This file
 * declares nothing defined above the channels.
 */
#ifndef QC_DISPATCHER_H
#define QC_DISPATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "qc/config.h"
#include "qc/httpc.h"
#include "qc/httpd.h"
#include "qc/kafka.h"
#include "qc/metrics.h"
#include "qc/msg.h"
#include "qc/redis.h"
#include "qc/subscriber.h"

struct event_base;
struct event;

typedef struct qc_dconf {
    char *http_addr;
    long http_port;
    char *kafka_bootstrap;
    char *redis_url;
    char *redis_user, *redis_password;
    char *log_level;
    char *instance;
    long lease_ms;
    long max_inflight;      /* records claimed and not yet marked, whole process */
    long max_sends;         /* provider calls in progress at once */
    long max_jobs;          /* jobs worked on at once */
    long http_connections;  /* per provider host */
    long http_timeout_ms;
    long retry_base_ms, retry_max_ms;
    long max_attempts;
    char *webhook_allow_cidrs; /* addresses webhooks may reach besides public ones */
    long http2;
    /* providers (a channel without its credentials is off) */
    char *twilio_url, *twilio_sid, *twilio_token, *twilio_from;
    char *telegram_url, *telegram_token, *telegram_channel, *telegram_channel_lang;
    char *fcm_url, *fcm_token_url, *fcm_credentials, *fcm_topic, *fcm_topic_lang;
    char *smtp_url, *smtp_user, *smtp_password, *smtp_from;
    char *push_area_prefix, *telegram_area_prefix; /* area broadcasts (area.c); "": off */
    char *send_order;            /* "edf" (default), "nearest" or "fifo" (benchmarks) */
    int smtp_starttls;
    double rate[QC_CH_COUNT_];   /* messages per second per provider, 0 = unlimited */
    long rate_burst_ms;          /* bucket depth, as that much time at the rate */
    long shutdown_grace_s;       /* SIGTERM: time to hand work back before exiting anyway */
} qc_dconf_t;

enum { QC_ORDER_EDF = 0, QC_ORDER_NEAREST, QC_ORDER_FIFO };

typedef struct qc_disp qc_disp_t;
typedef struct qc_job qc_job_t;       /* job.c */
typedef struct qc_rl qc_rl_t;         /* ratelimit.c */
struct qc_job_hooks;                  /* job.h */
struct qc_send_item;                  /* chunk.c */
typedef struct qc_notices qc_notices_t; /* notice.c */
typedef struct qc_areas qc_areas_t;   /* area.c */

/* ---- channel drivers ---- */

typedef enum qc_send_outcome {
    QC_SEND_OK = 0,       /* handed to the provider */
    QC_SEND_TRANSIENT,    /* try again later (timeouts, 5xx, 429) */
    QC_SEND_PERMANENT,    /* never this message: dead-letter it, try the next channel */
    QC_SEND_DEAD,         /* as PERMANENT, and the address itself is gone (unregistered
                             push token, bot blocked, number unsubscribed): the channel
                             is marked dead on the subscriber and not tried again */
} qc_send_outcome_t;

/** What a driver needs for one send; valid until done() is called. */
typedef struct qc_send {
    const qc_subscriber_t *sub;  /* NULL for a broadcast */
    const qc_msg_job_t *job;
    double mmi;
    double seconds;           /* to strong shaking; <= 0: shaking now */
    const char *text;         /* the rendered human message */
    const char *idem_key;     /* same across retries */
    const char *subject;      /* non-NULL: a one-off notice (a verification code,
                                 notice.c), not an alert; its title/subject */
    const char *route;        /* a broadcast to this route (an area's topic or
                                 channel, area.c); NULL: the driver's own route */
    void (*done)(struct qc_send *s, qc_send_outcome_t o, long retry_after_s, const char *detail);
    void *opaque;
    struct qc_send *dnext;    /* free for the driver's own queues */
} qc_send_t;

typedef struct qc_channel_driver {
    const char *name;     /* also the metric label and the DLQ channel */
    /** Reads the provider's settings from d->conf. @returns 1 (on, *state
     *  set), 0 (off: @p why names what is missing) or < 0 (misconfigured:
     *  @p why says how). NULL: always on, no state. */
    int (*init)(qc_disp_t *d, void **state, char *why, size_t whysz);
    void (*destroy)(void *state);
    /** Starts @p s; must call s->done exactly once, later, from the loop
     *  (null.c may call it at once). @returns 0, or an error (then done is
     *  not called). */
    int (*send)(qc_disp_t *d, void *state, qc_send_t *s);
    /** The per-alert broadcast route (Telegram channel, FCM topic) or NULL. */
    const char *(*broadcast_route)(void *state);
    /** Sends s->text to s->route, or without one to the broadcast route,
     *  like send(). */
    int (*broadcast)(qc_disp_t *d, void *state, qc_send_t *s);
} qc_channel_driver_t;

extern const qc_channel_driver_t qc_channel_webhook;
extern const qc_channel_driver_t qc_channel_null;
extern const qc_channel_driver_t qc_channel_twilio;
extern const qc_channel_driver_t qc_channel_telegram;
extern const qc_channel_driver_t qc_channel_fcm;
extern const qc_channel_driver_t qc_channel_smtp;

/* channels/common.c: small helpers the HTTP drivers share */
/** The delay before retry number @p attempts + 1: capped exponential
 *  back-off (QUAKECAST_RETRY_BASE_MS doubling to _MAX_MS) with full jitter,
 *  never shorter than the provider's Retry-After (@p retry_after_s, -1 if
 *  none), which is honoured to the millisecond. */
long qc_retry_delay_ms(const qc_disp_t *d, int attempts, long retry_after_s);
/** Appends "&name=value" (form-urlencoded; no '&' first) to @p buf. */
int qc_form_add(char *buf, size_t bufsz, size_t *len, const char *name, const char *value);
/** base64 (standard alphabet, padded) of @p n bytes. @returns length or -1. */
int qc_b64(const unsigned char *in, size_t n, char *out, size_t outsz);
/** base64url without padding (JWT). @returns length or -1. */
int qc_b64url(const unsigned char *in, size_t n, char *out, size_t outsz);
/** Classifies an HTTP result the common way: network errors, 408, 425,
 *  429 and 5xx transient; 2xx OK; other 4xx permanent. */
qc_send_outcome_t qc_http_outcome(long status, int err);
/** Reads a file into a NUL-terminated malloc'd buffer. @returns NULL on error. */
char *qc_read_file(const char *path, size_t max, size_t *len);

struct qc_disp {
    qc_dconf_t conf;
    struct event_base *base;
    qc_httpd_t *httpd;
    qc_redis_t *redis;
    qc_kcons_t *jobs_in;
    qc_kcons_t *notices_in;   /* quake.notices, its own consumer group */
    qc_notices_t *notices;
    qc_kprod_t *producer;     /* quake.dlq */
    qc_httpc_t *http;
    const qc_channel_driver_t *drivers[QC_CH_COUNT_]; /* NULL: channel off */
    void *chstate[QC_CH_COUNT_];  /* each driver's own state */
    qc_rl_t *rl[QC_CH_COUNT_];    /* NULL: no rate limit */
    struct bcast *bcasts;         /* broadcast.c: routes posted or in progress */
    qc_areas_t *areas;            /* area.c: area broadcasts of this process */
    int order;                    /* QUAKECAST_SEND_ORDER: QC_ORDER_* */
    long epoch;               /* fencing epoch for this Redis run, 0 = unknown */
    bool epoch_pending;       /* an epoch request is on its way */
    bool degraded;            /* Redis answers too slowly to hold a lease: out of the group */
    int64_t degraded_until;   /* monotonic ms; then the link is measured again */
    int64_t ping_sent;        /* monotonic ms of the link probe in flight, 0 if none */
    struct event *linkcheck;
    /* work */
    long jobs_active;
    long inflight;            /* sends started, not finished */
    long held_records;        /* records of claimed, not completed chunks */
    long held_slow;           /* of which in slow segments' chunks (msg.slow): at most a quarter */
    long chunks_slow;         /* slow segments' chunks held: at most half of QUAKECAST_MAX_JOBS */
    long lane_chunks[QC_CH_COUNT_]; /* of which in each provider's lane (msg.slow_ch): a quarter each */
    struct qc_sendq *sendq;  /* chunk.c: sends waiting for an in-flight slot, earliest deadline first */
    struct send_ctx *sending; /* chunk.c: sends in flight (freed at exit if never answered) */
    const struct qc_job_hooks *job_hooks; /* job.h: the loop's callbacks */
    qc_job_t *jobs;           /* active jobs (list) */
    qc_job_t *waiting;        /* jobs holding a lease, waiting for in-flight room */
    int32_t *handback_parts;  /* job.c, stopping: partitions of quake.dispatch others own */
    int nhandback_parts, handback_next;
    struct offtrack *offsets; /* offsets.c */
    struct event *heartbeat, *sigint, *sigterm, *kick, *grace;
    bool stopping;            /* SIGTERM seen: no new work, hand back what we hold */
    int64_t stop_started;     /* monotonic ms of the first SIGTERM */
    bool exiting;             /* the loop was told to exit */
    /* metrics */
    qc_metrics_t *metrics;
    qc_series_t *m_jobs, *m_jobs_bad, *m_leases_granted, *m_leases_busy, *m_leases_expired;
    qc_series_t *m_chunks, *m_chunks_reclaimed, *m_fenced, *m_sent, *m_failed, *m_dlq;
    qc_series_t *m_retries, *m_records_bad, *m_inflight, *m_send_seconds, *m_skipped_lease;
    qc_series_t *m_sends_started, *m_handed_over, *m_leases_late, *m_handed_back, *m_records_handed_back;
    qc_series_t *m_fallbacks, *m_dead_marked, *m_rl_waits, *m_bcast_sent, *m_bcast_failed;
    qc_series_t *m_sent_late;   /* handed off after the person's S-wave arrival */
    qc_series_t *m_area_sent, *m_area_failed, *m_area_reached, *m_area_planned;
    qc_series_t *m_sent_by[QC_CH_COUNT_], *m_failed_by[QC_CH_COUNT_];
    qc_series_t *m_notices_sent, *m_notices_failed, *m_notices_bad;
};

/* offsets.c: commit a partition's offset only up to its oldest unsettled job */
struct offtrack *qc_offtrack_new(void);
void qc_offtrack_destroy(struct offtrack *t);
void qc_offtrack_begin(struct offtrack *t, int32_t partition, int64_t offset);
/** @returns the offset to store (next to consume), or -1 if none advanced. */
int64_t qc_offtrack_settle(struct offtrack *t, int32_t partition, int64_t offset);

/* render.c */
size_t qc_render_message(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job,
                         double mmi, double seconds);
/** The one message for a broadcast route (no personal countdown). */
size_t qc_render_broadcast(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job);
/** Subject line for e-mail. */
size_t qc_render_subject(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job);

/* dlq.c: one record on quake.dlq (best effort, logged when refused) */
void qc_dead_letter(qc_disp_t *d, const qc_msg_job_t *job, const char *sub_id,
                    const char *channel, const char *reason, int attempts);

#endif
