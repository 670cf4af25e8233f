/* produce.c: the topic and the records of the kafka-record peer. The
 * producer is set up as a throughput-minded team would set it up (batches
 * of up to 10,000 records, 5 ms linger, acks=all on one broker), and the
 * whole input is read before "ready", so only producing is timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kr.h"
#include "qc/clock.h"

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* @p failed, when given, counts records the broker did not take. */
static rd_kafka_t *new_producer(const kr_opts_t *o, long *failed)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kr_conf_set(conf, "bootstrap.servers", o->bootstrap) || kr_conf_set(conf, "client.id", "kafka-record-producer") ||
        kr_conf_set(conf, "linger.ms", "5") || kr_conf_set(conf, "batch.num.messages", "10000") ||
        kr_conf_set(conf, "queue.buffering.max.messages", "2000000") ||
        kr_conf_set(conf, "queue.buffering.max.kbytes", "2097151") || kr_conf_set(conf, "acks", "all")) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (failed) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, failed);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka-record: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return rk; /* conf is owned by rk now */
}

/* Partitions the broker reports for the topic; -1 on error. */
static int topic_partitions(rd_kafka_t *rk, const char *name)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (t && rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    if (t)
        rd_kafka_topic_destroy(t);
    return n;
}

int kr_create(const kr_opts_t *o)
{
    char errstr[512];
    int rc = -1;
    rd_kafka_t *rk = new_producer(o, NULL);
    if (!rk)
        return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions, 1, errstr, sizeof errstr);
    rd_kafka_event_t *ev = NULL;
    if (!nt) {
        fprintf(stderr, "kafka-record: NewTopic: %s\n", errstr);
        goto out_queue;
    }
    /* Admin API: rd_kafka_CreateTopics() answers on the queue given. */
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    if (!res) {
        fprintf(stderr, "kafka-record: CreateTopics: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
        goto out_topic;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
    if (cnt != 1 || (rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
                     rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)) {
        fprintf(stderr, "kafka-record: create %s: %s\n", o->topic,
                cnt == 1 ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
        goto out_topic;
    }
    /* Wait until the broker serves its metadata, so consumers start at once. */
    for (int i = 0; i < 100; i++) {
        if (topic_partitions(rk, o->topic) == o->partitions) {
            rc = 0;
            break;
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (rc)
        fprintf(stderr, "kafka-record: %s: metadata never showed %d partitions\n", o->topic, o->partitions);
out_topic:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
out_queue:
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    long *failed = rd_kafka_opaque(rk);
    (void)opaque;
    if (m->err)
        (*failed)++;
}

int kr_produce(const kr_opts_t *o)
{
    size_t len = 0;
    char *buf = read_all(o->input, &len);
    if (!buf)
        return -1;
    long failed = 0, produced = 0;
    rd_kafka_t *rk = new_producer(o, &failed);
    if (!rk) {
        free(buf);
        return -1;
    }
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, o->topic, NULL);
    if (!t || topic_partitions(rk, o->topic) < 1) {
        fprintf(stderr, "kafka-record: topic %s unknown\n", o->topic);
        goto fail;
    }
    printf("{\"event\":\"ready\",\"bytes\":%zu}\n", len);
    fflush(stdout);
    char go[64];
    if (!fgets(go, sizeof go, stdin))
        goto fail;
    printf("{\"event\":\"start\",\"t_ms\":%lld}\n", (long long)qc_wall_ms());
    fflush(stdout);
    for (size_t pos = 0; pos < len && !kr_stop;) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t ll = end - pos;
        char *line = buf + pos;
        pos = end + 1;
        if (ll == 0)
            continue;
        /* Key: the subscriber id, as a team keying records by person would. */
        const char *key = NULL;
        size_t kl = 0;
        char *id = memmem(line, ll, "\"id\":\"", 6);
        if (id) {
            key = id + 6;
            char *q = memchr(key, '"', (size_t)(line + ll - key));
            kl = q ? (size_t)(q - key) : 0;
        }
        for (;;) {
            /* No copy: the buffer outlives the final flush. */
            if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, 0, line, ll, key, kl, NULL) == 0)
                break;
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "kafka-record: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
                goto fail;
            }
            rd_kafka_poll(rk, 10);
        }
        produced++;
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 120000);
    printf("{\"event\":\"produced\",\"records\":%ld,\"failed\":%ld,\"flush\":\"%s\",\"t_ms\":%lld}\n", produced,
           failed, rd_kafka_err2name(fe), (long long)qc_wall_ms());
    fflush(stdout);
    /* Stay until the harness has read our CPU time and peak RSS. */
    while (!kr_stop && fgets(go, sizeof go, stdin))
        ;
    rd_kafka_topic_destroy(t);
    rd_kafka_destroy(rk);
    free(buf);
    return fe || failed ? -1 : 0;
fail:
    if (t)
        rd_kafka_topic_destroy(t);
    rd_kafka_destroy(rk);
    free(buf);
    return -1;
}
