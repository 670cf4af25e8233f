/* msg.h: messages between processes, as msgpack maps with short keys and a
 * schema version "v". Decoders never trust their input: a record that does
 * not decode returns QC_ERR_PARSE with the reason, never crashes. */
#ifndef QC_MSG_H
#define QC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "qc/event.h"

#define QC_MSG_VERSION 1

#define QC_TOPIC_EVENTS "quake.events"
#define QC_TOPIC_DISPATCH "quake.dispatch"
#define QC_TOPIC_DLQ "quake.dlq"
#define QC_TOPIC_ALERTS "quake.alerts"
#define QC_TOPIC_NOTICES "quake.notices"

/** An ingested event on quake.events. */
typedef struct qc_msg_event {
    qc_event_t ev;
    char corr[40];        /**< correlation id of the HTTP request waiting, or "" */
    int64_t received_ms;  /**< wall clock at ingest */
    bool replay;          /**< a drill: origin already moved to received_ms */
} qc_msg_event_t;

/** ALERT: the first warning; UPDATE: a magnitude revised up (only those not
 *  yet reached); CANCEL: a retraction, to exactly those already warned. */
typedef enum qc_job_kind { QC_JOB_ALERT = 0, QC_JOB_UPDATE = 1, QC_JOB_CANCEL = 2 } qc_job_kind_t;

/** One worker slot of one segment run, on quake.dispatch. */
typedef struct qc_msg_job {
    char alert_id[24];
    char event_id[64];
    char seg[24];
    int slot;             /**< 0 .. max_workers-1 */
    int rev;              /**< alert revision: 0 the alert, 1.. upward revisions */
    qc_job_kind_t kind;
    double lat, lon, depth_km, mag;
    int model;            /**< qc_ipe_model_t the processor chose; absent: 0 (AWW2012) */
    double prev_mag;      /**< for updates: who had already been reached; NAN if none */
    int64_t origin_ms;
    int64_t deadline_ms;  /**< wall clock: after this, a warning is noise */
    int64_t issued_ms;    /**< wall clock when planned */
    int64_t due_ms;       /**< wall clock: the S wave reaches the segment's cell first; 0 unknown */
    bool slow;            /**< a segment of people reached through a quota-bound channel first
                               (qc_seg_group()): its chunks take a bounded share of the in-flight room */
    int slow_ch;          /**< a slow segment's provider lane (qc_seg_group_lane()): its own share; -1 none */
    char place[128];
} qc_msg_job_t;

/** A dead letter on quake.dlq. */
typedef struct qc_msg_dlq {
    char alert_id[24];
    char seg[24];
    char subscriber_id[65];
    char channel[16];
    char reason[256];
    int attempts;
    int64_t ts_ms;
} qc_msg_dlq_t;

/** A one-off message to one subscriber's channel, on quake.notices: the
 *  verification code of a sign-up. Not an alert: no lease, no segment. */
typedef struct qc_msg_notice {
    char id[80];          /**< notice id, also the idempotency key */
    char kind[16];        /**< "verify" */
    int channel;          /**< qc_channel_t the text goes to */
    char subject[128];    /**< e-mail subject */
    char text[512];       /**< the human message */
    int64_t expires_ms;   /**< wall clock: not worth sending after this */
    char *record;         /**< packed subscriber record (qc_subscriber_pack): the address */
    size_t record_len;    /**< unpack: a view into @p data, valid while it lives */
} qc_msg_notice_t;

int qc_msg_event_pack(const qc_msg_event_t *m, msgpack_sbuffer *buf);
int qc_msg_event_unpack(const char *data, size_t len, qc_msg_event_t *out, char *err, size_t errsz);
int qc_msg_job_pack(const qc_msg_job_t *m, msgpack_sbuffer *buf);
int qc_msg_job_unpack(const char *data, size_t len, qc_msg_job_t *out, char *err, size_t errsz);
int qc_msg_dlq_pack(const qc_msg_dlq_t *m, msgpack_sbuffer *buf);
int qc_msg_dlq_unpack(const char *data, size_t len, qc_msg_dlq_t *out, char *err, size_t errsz);
int qc_msg_notice_pack(const qc_msg_notice_t *m, msgpack_sbuffer *buf);
/** out->record points into @p data (no copy). */
int qc_msg_notice_unpack(const char *data, size_t len, qc_msg_notice_t *out, char *err, size_t errsz);

#endif
