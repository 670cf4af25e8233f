/* kafka.h: librdkafka producers and consumers driven by a libevent loop.
 * librdkafka signals its queues through a pipe (rd_kafka_queue_io_event_enable,
 * as in librdkafka's tests/0040-io_event.c); the loop watches the pipe and
 * polls with a zero timeout, so no call blocks the loop.
 *
 * Client properties pass through from the environment: QUAKECAST_KAFKA_X_<P>
 * sets property <p> with '_' read as '.' (QUAKECAST_KAFKA_X_LINGER_MS=5 sets
 * linger.ms=5), as kcat's -X does. */
#ifndef QC_KAFKA_H
#define QC_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct event_base;
typedef struct qc_kprod qc_kprod_t;
typedef struct qc_kcons qc_kcons_t;

/** Delivery report: @p err is 0 or QC_ERR_KAFKA. */
typedef void (*qc_kprod_dr_cb)(int err, const char *errstr, void *opaque);

/** @returns NULL with errstr set on failure. */
qc_kprod_t *qc_kprod_new(struct event_base *base, const char *bootstrap, const char *client_id,
                         char *errstr, size_t errstr_size);
/** Flushes for at most @p flush_ms (blocking: only at shutdown), then frees. NULL ok. */
void qc_kprod_destroy(qc_kprod_t *p, int flush_ms);
/** Queues a message (key and value are copied). @p cb may be NULL.
 *  @returns 0 or QC_ERR_KAFKA (queue full, unknown topic...). */
int qc_kprod_send(qc_kprod_t *p, const char *topic, const void *key, size_t keylen,
                  const void *val, size_t vallen, qc_kprod_dr_cb cb, void *opaque);
/** As qc_kprod_send(), to @p partition (RD_KAFKA_PARTITION_UA: chosen by key). */
int qc_kprod_send_to(qc_kprod_t *p, const char *topic, int32_t partition, const void *key, size_t keylen,
                     const void *val, size_t vallen, qc_kprod_dr_cb cb, void *opaque);
/** @p topic's partition count from the broker, waiting at most @p
 *  timeout_ms (blocking: for shutdown only). @returns the count or -1. */
int qc_kprod_partition_count(qc_kprod_t *p, const char *topic, int timeout_ms);
/** Asks for @p topic's metadata now, so the first message to it (the first
 *  alert's jobs) does not wait for a metadata round trip. */
void qc_kprod_warm(qc_kprod_t *p, const char *topic);
/** Messages queued and not yet acknowledged. */
int qc_kprod_outq(qc_kprod_t *p);

/** Message callback: takes ownership of @p msg (rd_kafka_message_destroy). */
typedef void (*qc_kcons_msg_cb)(rd_kafka_message_t *msg, void *opaque);

/** A consumer-group member on @p topics with manual offset store: offsets are
 *  stored only by qc_kcons_store() and committed in the background. */
qc_kcons_t *qc_kcons_new(struct event_base *base, const char *bootstrap, const char *group,
                         const char *client_id, const char *const *topics, size_t ntopics,
                         qc_kcons_msg_cb cb, void *opaque, char *errstr, size_t errstr_size);
/** Leaves the group (commits stored offsets) and frees. NULL ok. */
void qc_kcons_destroy(qc_kcons_t *c);
/** Leaves (false) or rejoins (true) the consumer group: a member that
 *  cannot do its work lets the others take its partitions. */
int qc_kcons_subscribe(qc_kcons_t *c, bool on);
/** While paused no message callbacks are made (flow control). */
void qc_kcons_pause(qc_kcons_t *c, bool paused);
/** Stores @p next_offset (the offset after the last settled message) for
 *  commit. @returns 0 or QC_ERR_KAFKA (e.g. the partition was revoked). */
int qc_kcons_store(qc_kcons_t *c, const char *topic, int32_t partition, int64_t next_offset);
/** The partitions of @p topic assigned to this member now, into @p out (at
 *  most @p max). @returns how many, or -1. */
int qc_kcons_assignment(qc_kcons_t *c, const char *topic, int32_t *out, int max);
/** True once the group assigned partitions (readiness). */
bool qc_kcons_assigned(const qc_kcons_t *c);

/** Creates topics "name:partitions" idempotently (existing ones are fine),
 *  each with @p replication replicas and min.insync.replicas = @p min_insync
 *  (0: the broker's default), blocking for at most @p timeout_ms:
 *  for the --create-topics command only.
 *  @returns 0, or QC_ERR_KAFKA with errstr set. */
int qc_kafka_create_topics(const char *bootstrap, const char *const *names, const int *partitions,
                           size_t n, int replication, int min_insync, int timeout_ms, char *errstr,
                           size_t errstr_size);

/** Applies QUAKECAST_KAFKA_X_* from the environment to @p conf;
 *  QUAKECAST_KAFKA_X_<PROPERTY>_FILE sets the property to that file's
 *  content (secrets such as sasl.password). */
int qc_kafka_conf_from_env(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);

#endif
