/* qc-kafka-topics: one JSON line per topic of the cluster at BOOTSTRAP
 * (or only TOPIC): partitions, replicas and in-sync replicas per partition
 * (fewest), partitions led by each broker, and min.insync.replicas (-1
 * with --no-config), for the
 * tests and for checking the cluster shape by hand
 * (deploy/local/stack with QUAKECAST_TOPOLOGY=cluster). Test tool only: it
 * blocks. */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc/kafka.h"

#define MAX_BROKERS 64

/* min.insync.replicas of @p topic, or -1. */
static int min_insync(rd_kafka_t *rk, const char *topic)
{
    char err[256];
    int value = -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opt, 10000, err, sizeof err);
    rd_kafka_DescribeConfigs(rk, &res, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            size_t ne;
            const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[i], &ne);
            for (size_t k = 0; k < ne; k++)
                if (!strcmp(rd_kafka_ConfigEntry_name(es[k]), "min.insync.replicas") &&
                    rd_kafka_ConfigEntry_value(es[k]))
                    value = (int)strtol(rd_kafka_ConfigEntry_value(es[k]), NULL, 10);
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return value;
}

int main(int argc, char **argv)
{
    /* --no-config: skip min.insync.replicas (one more request per topic),
     * for polling while a broker is down */
    bool configs = true;
    if (argc > 1 && !strcmp(argv[1], "--no-config")) {
        configs = false;
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: qc-kafka-topics [--no-config] BOOTSTRAP [TOPIC]\n");
        return 2;
    }
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof err) ||
        qc_kafka_conf_from_env(conf, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000)) {
        fprintf(stderr, "no metadata from %s\n", argv[1]);
        rd_kafka_destroy(rk);
        return 1;
    }
    int found = 0;
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *tp = &md->topics[t];
        if (argc > 2 ? strcmp(tp->topic, argv[2]) != 0 : tp->topic[0] == '_')
            continue;
        found++;
        int min_rep = 1 << 30, min_isr = 1 << 30;
        int led_id[MAX_BROKERS], led_n[MAX_BROKERS], nb = 0;
        for (int p = 0; p < tp->partition_cnt; p++) {
            const rd_kafka_metadata_partition_t *pp = &tp->partitions[p];
            if (pp->replica_cnt < min_rep)
                min_rep = pp->replica_cnt;
            if (pp->isr_cnt < min_isr)
                min_isr = pp->isr_cnt;
            int b = 0;
            while (b < nb && led_id[b] != pp->leader)
                b++;
            if (b == nb && nb < MAX_BROKERS) {
                led_id[nb] = pp->leader;
                led_n[nb++] = 0;
            }
            if (b < nb)
                led_n[b]++;
        }
        printf("{\"topic\":\"%s\",\"partitions\":%d,\"replicas\":%d,\"isr\":%d,\"min_insync\":%d,\"leaders\":{",
               tp->topic, tp->partition_cnt, tp->partition_cnt ? min_rep : 0, tp->partition_cnt ? min_isr : 0,
               configs ? min_insync(rk, tp->topic) : -1);
        for (int b = 0; b < nb; b++)
            printf("%s\"%d\":%d", b ? "," : "", led_id[b], led_n[b]);
        printf("}}\n");
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return found ? 0 : 1;
}
