/* kr.h: the "kafka-record" benchmark peer (bench/README.md). One Kafka
 * record per subscriber, produced by `produce`, consumed by a plain
 * librdkafka consumer group (`consume`, one process per "dispatcher") that
 * POSTs each record to its webhook URL, signed as quakecast signs: what a
 * Kafka Connect HTTP sink does. Not part of quakecast. */
#ifndef KR_H
#define KR_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Command-line options of all three modes (unused ones stay default). */
typedef struct kr_opts {
    const char *bootstrap;  /* Kafka bootstrap servers */
    const char *topic;      /* the records' topic */
    const char *group;      /* consume: consumer group id */
    const char *input;      /* produce: NDJSON subscriber lines, one record each */
    const char *ready_file; /* consume: gets "assigned N" after each rebalance */
    const char *instance;   /* consume: client.id */
    const char *alert_id;   /* consume: alert id put in every body */
    const char *event_id;   /* consume: event id put in every body */
    double mag, lat, lon, depth_km;
    int64_t origin_ms;
    int partitions;         /* create: partitions of the topic */
    int max_sends;          /* consume: POSTs in progress at once */
    int connections;        /* consume: connections per host */
    int max_attempts;       /* consume: attempts per record */
} kr_opts_t;

/** Sets a librdkafka property. @returns 0 or -1 (message on stderr). */
int kr_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/** Creates @p o->topic with @p o->partitions partitions (replication 1);
 *  an existing topic is fine. @returns 0 or -1. */
int kr_create(const kr_opts_t *o);

/** Loads @p o->input, connects, prints {"event":"ready"}, waits for a line
 *  on stdin, then produces every line as one record (key: the subscriber
 *  id) and flushes; prints "start" and "produced" lines with wall ms,
 *  then waits for stdin to close. @returns 0 or -1. */
int kr_produce(const kr_opts_t *o);

/** Consumes @p o->topic in group @p o->group until SIGTERM/SIGINT and
 *  POSTs every record. @returns 0 or -1. */
int kr_consume(const kr_opts_t *o);

/** Set by SIGTERM/SIGINT (the only global: a signal handler's flag). */
extern volatile sig_atomic_t kr_stop;

#endif
