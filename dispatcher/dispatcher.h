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
    int webhook_allow_private;
    long http2;
} qc_dconf_t;

extern const qc_conf_def_t qc_dconf_defs[];

typedef struct qc_disp qc_disp_t;
typedef struct qc_job qc_job_t;
typedef struct qc_chunk qc_chunk_t;
typedef struct qc_item qc_item_t;

/* ---- channel drivers ---- */

typedef enum qc_send_outcome {
    QC_SEND_OK = 0,       /* handed to the provider */
    QC_SEND_TRANSIENT,    /* try again later (timeouts, 5xx, 429) */
    QC_SEND_PERMANENT,    /* never: dead-letter it */
} qc_send_outcome_t;

/** What a driver needs for one send; valid until done() is called. */
typedef struct qc_send {
    const qc_subscriber_t *sub;
    const qc_msg_job_t *job;
    double mmi;
    double seconds;           /* to strong shaking; <= 0: shaking now */
    const char *text;         /* the rendered human message */
    const char *idem_key;     /* same across retries */
    void (*done)(struct qc_send *s, qc_send_outcome_t o, long retry_after_s, const char *detail);
    void *opaque;
} qc_send_t;

typedef struct qc_channel_driver {
    const char *name;
    /** Starts @p s; must call s->done exactly once, later, from the loop.
     *  @returns 0, or an error (then done is not called). */
    int (*send)(qc_disp_t *d, qc_send_t *s);
} qc_channel_driver_t;

extern const qc_channel_driver_t qc_channel_webhook;
extern const qc_channel_driver_t qc_channel_null;

struct qc_disp {
    qc_dconf_t conf;
    struct event_base *base;
    qc_httpd_t *httpd;
    qc_redis_t *redis;
    qc_kcons_t *jobs_in;
    qc_kprod_t *producer;     /* quake.dlq */
    qc_httpc_t *http;
    const qc_channel_driver_t *drivers[QC_CH_COUNT_]; /* NULL: channel off */
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
};

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

/* offsets.c: commit a partition's offset only up to its oldest unsettled job */
struct offtrack *qc_offtrack_new(void);
void qc_offtrack_destroy(struct offtrack *t);
void qc_offtrack_begin(struct offtrack *t, int32_t partition, int64_t offset);
/** @returns the offset to store (next to consume), or -1 if none advanced. */
int64_t qc_offtrack_settle(struct offtrack *t, int32_t partition, int64_t offset);

/* render.c */
size_t qc_render_message(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job,
                         double mmi, double seconds);
const char *qc_mmi_roman(double mmi);

/* main.c: leaves the consumer group until Redis answers quickly again */
void qc_disp_degraded(qc_disp_t *d);

/* dlq */
void qc_disp_dead_letter(qc_disp_t *d, const qc_msg_job_t *job, const char *sub_id,
                         const char *channel, const char *reason, int attempts);

#endif
