/* qc-kafka-dlq: prints every record of quake.dlq (from the beginning to
 * the current end) as one JSON line, for the system tests that check what
 * was dead-lettered. Test tool only: it blocks. */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc/kafka.h"

#include "qc/msg.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: qc-kafka-dlq BOOTSTRAP [TOPIC]\n");
        return 2;
    }
    const char *topic = argc > 2 ? argv[2] : QC_TOPIC_DLQ;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* A group id is required to consume; nothing is committed under it. */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "qc-kafka-dlq", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        qc_kafka_conf_from_env(conf, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1) {
        fprintf(stderr, "no metadata for %s\n", topic);
        return 1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    int remaining = 0;
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi, 10000))
            continue;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(parts, topic, i)->offset = lo;
            remaining++;
        }
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_assign(rk, parts);
    /* Read each partition up to the end it had when we started. */
    int64_t *end = calloc((size_t)parts->cnt + 1, sizeof *end);
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo;
        rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &end[i], 10000);
    }
    int idle = 0;
    while (remaining > 0 && idle < 50) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            idle++;
            continue;
        }
        idle = 0;
        if (!m->err) {
            qc_msg_dlq_t d;
            char e[128];
            if (qc_msg_dlq_unpack(m->payload, m->len, &d, e, sizeof e) == 0) {
                json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I}", "alert_id", d.alert_id, "seg", d.seg,
                                      "subscriber_id", d.subscriber_id, "channel", d.channel, "reason", d.reason,
                                      "attempts", d.attempts, "ts_ms", (json_int_t)d.ts_ms);
                char *s = json_dumps(j, JSON_COMPACT);
                puts(s);
                free(s);
                json_decref(j);
            } else {
                printf("{\"undecodable\":\"%s\"}\n", e);
            }
            for (int i = 0; i < parts->cnt; i++)
                if (parts->elems[i].partition == m->partition && m->offset + 1 >= end[i] && end[i] >= 0) {
                    end[i] = -1;
                    remaining--;
                }
        }
        rd_kafka_message_destroy(m);
    }
    free(end);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return remaining == 0 ? 0 : 1;
}
