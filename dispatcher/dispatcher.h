/* dispatcher.h: the dispatcher's daemon context and the pieces of the
 * claim-and-send pipeline:
 *
 *   quake.dispatch ─► job.c (lease, claim, complete, release)
 *                        └─► chunk.c (decide per record, send, mark)
 *                                └─► channels/<name>.c (the provider call)
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
    int smtp_starttls;
    double rate[QC_CH_COUNT_];   /* messages per second per provider, 0 = unlimited */
    long rate_burst_ms;          /* bucket depth, as that much time at the rate */
} qc_dconf_t;

extern const qc_conf_def_t qc_dconf_defs[];

typedef struct qc_disp qc_disp_t;
typedef struct qc_job qc_job_t;
typedef struct qc_chunk qc_chunk_t;
typedef struct qc_item qc_item_t;
typedef struct qc_notices qc_notices_t; /* notice.c */

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
    /** Sends s->text to the broadcast route, like send(). */
    int (*broadcast)(qc_disp_t *d, void *state, qc_send_t *s);
} qc_channel_driver_t;

extern const qc_channel_driver_t qc_channel_webhook;
extern const qc_channel_driver_t qc_channel_null;
extern const qc_channel_driver_t qc_channel_twilio;
extern const qc_channel_driver_t qc_channel_telegram;
extern const qc_channel_driver_t qc_channel_fcm;
extern const qc_channel_driver_t qc_channel_smtp;

/* One record to hand off, in chunk.c's queues (here so ratelimit.c can
 * hold it while it waits for a token). */
struct qc_item {
    qc_chunk_t *c;
    uint32_t i;          /* record index within the chunk */
    uint16_t attempts;   /* on the current channel */
    uint8_t channel;
    uint8_t tried;       /* channels already given up on (bit mask) */
    uint8_t has_token;   /* ratelimit.c took this item's token already */
    struct event *retry; /* allocated on the first retry only */
    qc_item_t *qnext;
};

/* ratelimit.c: one token bucket per provider, shared by every dispatcher
 * through Redis (shared/scripts/rate_take.lua). */
typedef struct qc_rl qc_rl_t;
qc_rl_t *qc_rl_new(qc_disp_t *d, const char *provider, double per_second, long burst);
void qc_rl_destroy(qc_rl_t *rl);
/** @returns true if a token was taken for @p it; false if @p it now waits
 *  in the limiter, which puts it back at the front of the send queue once
 *  a token is there. */
bool qc_rl_take(qc_rl_t *rl, qc_item_t *it);
/** Items waiting for tokens (metrics). */
size_t qc_rl_waiting(const qc_rl_t *rl);

/* chunk.c, for ratelimit.c: queue in front, then pump */
void qc_sends_requeue_front(qc_disp_t *d, qc_item_t *head, qc_item_t *tail);

/* broadcast.c: one post per alert revision to each broadcast route, by
 * whichever dispatcher claims it first */
void qc_bcast_job(qc_disp_t *d, const qc_msg_job_t *job);
void qc_bcast_cleanup(qc_disp_t *d);

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
    qc_item_t *queue_head, *queue_tail; /* sends waiting for an in-flight slot */
    qc_job_t *jobs;           /* active jobs (list) */
    qc_job_t *waiting;        /* jobs holding a lease, waiting for in-flight room */
    struct offtrack *offsets; /* offsets.c */
    struct event *heartbeat, *sigint, *sigterm, *kick;
    bool stopping;
    /* metrics */
    qc_metrics_t *metrics;
    qc_series_t *m_jobs, *m_jobs_bad, *m_leases_granted, *m_leases_busy, *m_leases_expired;
    qc_series_t *m_chunks, *m_chunks_reclaimed, *m_fenced, *m_sent, *m_failed, *m_dlq;
    qc_series_t *m_retries, *m_records_bad, *m_inflight, *m_send_seconds, *m_skipped_lease;
    qc_series_t *m_sends_started, *m_handed_over, *m_leases_late;
    qc_series_t *m_fallbacks, *m_dead_marked, *m_rl_waits, *m_bcast_sent, *m_bcast_failed;
    qc_series_t *m_sent_by[QC_CH_COUNT_], *m_failed_by[QC_CH_COUNT_];
    qc_series_t *m_notices_sent, *m_notices_failed, *m_notices_bad;
};

/* notice.c: one-off messages on quake.notices (sign-up verification codes),
 * sent through the same drivers as alerts */
qc_notices_t *qc_notices_new(qc_disp_t *d);
/** Frees notices in flight (the HTTP client is destroyed first). NULL ok. */
void qc_notices_destroy(qc_notices_t *n);
void qc_notice_on_message(rd_kafka_message_t *msg, void *opaque);

/* job.c */
void qc_job_on_message(rd_kafka_message_t *msg, void *opaque);
void qc_job_on_redis(qc_disp_t *d, bool up);

/* chunk.c: called by job.c with a claim reply; calls qc_job_chunk_done */
int qc_chunk_start(qc_job_t *job, redisReply *claim);
void qc_chunk_free(qc_chunk_t *c);
/** Starts queued sends while in-flight slots are free. */
void qc_sends_pump(qc_disp_t *d);

/* job.c, for chunk.c */
typedef struct qc_chunk_result {
    long idx;
    long nrecords;
    const unsigned char *bits;
    size_t nbits_bytes;
    long targeted, notified, failed, dlq;
    long abandoned;       /* records not attempted (lease in doubt): never complete the chunk then */
    int64_t first_ms, last_ms;
} qc_chunk_result_t;
void qc_job_chunk_done(qc_job_t *job, const qc_chunk_result_t *res);
qc_disp_t *qc_job_disp(qc_job_t *job);
void qc_job_set_chunk(qc_job_t *j, qc_chunk_t *c);
/** The job could not send because its lease may have expired. */
void qc_job_mark_late(qc_job_t *j);
/** Lets jobs waiting for in-flight room claim their next chunk. */
void qc_jobs_kick(qc_disp_t *d);
const qc_msg_job_t *qc_job_msg(qc_job_t *job);
/** True while the lease may still be held (monotonic estimate). */
bool qc_job_lease_ok(qc_job_t *job);
const char *qc_job_seg(qc_job_t *job);
/** For a cancel job: did the alert reach slot @p slot? (true for others) */
bool qc_job_eligible(qc_job_t *job, long slot);

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

/* main.c: leaves the consumer group until Redis answers quickly again */
void qc_disp_degraded(qc_disp_t *d);

/* dlq */
void qc_disp_dead_letter(qc_disp_t *d, const qc_msg_job_t *job, const char *sub_id,
                         const char *channel, const char *reason, int attempts);

#endif
