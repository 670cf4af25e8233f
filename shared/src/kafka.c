/* kafka.c: librdkafka on a libevent loop. */
#include "qc/kafka.h"
#include "qc/config.h"
#include "qc/err.h"
#include "qc/log.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int qc_kafka_conf_from_env(rd_kafka_conf_t *conf, char *errstr, size_t errsz)
{
    static const char prefix[] = "QUAKECAST_KAFKA_X_";
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1))
            continue;
        const char *kv = *e + sizeof prefix - 1;
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv || (size_t)(eq - kv) >= 128)
            continue;
        char key[128];
        size_t n = (size_t)(eq - kv);
        /* <PROPERTY>_FILE: the value is the content of that file, as for
         * the binaries' own secrets (a mounted Kubernetes Secret holding
         * sasl.password). No librdkafka property name ends in ".file". */
        bool from_file = n > 5 && !strncmp(eq - 5, "_FILE", 5);
        if (from_file)
            n -= 5;
        for (size_t i = 0; i < n; i++)
            key[i] = kv[i] == '_' ? '.' : (char)tolower((unsigned char)kv[i]);
        key[n] = '\0';
        char *value = from_file ? qc_conf_read_secret_file(eq + 1, key, errstr, errsz) : NULL;
        if (from_file && !value)
            return QC_ERR_INVAL;
        rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, value ? value : eq + 1, errstr, errsz);
        if (value) {
            OPENSSL_cleanse(value, strlen(value));
            free(value);
        }
        if (res != RD_KAFKA_CONF_OK)
            return QC_ERR_INVAL;
    }
    return 0;
}

/* The pipe librdkafka writes to when a queue becomes non-empty. */
typedef struct qpipe {
    int rfd, wfd;
    struct event *ev;
    struct event *tick; /* safety net: poll now and then even without a wake-up */
} qpipe_t;

static int qpipe_open(qpipe_t *q, struct event_base *base, rd_kafka_queue_t *rkq,
                      event_callback_fn fn, void *arg)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return QC_ERR_IO;
    q->rfd = fds[0];
    q->wfd = fds[1];
    rd_kafka_queue_io_event_enable(rkq, q->wfd, "1", 1);
    q->ev = event_new(base, q->rfd, EV_READ | EV_PERSIST, fn, arg);
    q->tick = event_new(base, -1, EV_PERSIST, fn, arg);
    if (!q->ev || !q->tick)
        return QC_ERR_NOMEM;
    struct timeval tv = { 0, 100 * 1000 };
    event_add(q->ev, NULL);
    event_add(q->tick, &tv);
    return 0;
}

static void qpipe_drain(qpipe_t *q)
{
    char buf[256];
    while (read(q->rfd, buf, sizeof buf) > 0)
        ;
}

static void qpipe_close(qpipe_t *q)
{
    if (q->ev)
        event_free(q->ev);
    if (q->tick)
        event_free(q->tick);
    if (q->rfd > 0)
        close(q->rfd);
    if (q->wfd > 0)
        close(q->wfd);
    memset(q, 0, sizeof *q);
}

/* ---- producer ---- */

struct qc_kprod {
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    qpipe_t pipe;
};

typedef struct dr_ctx {
    qc_kprod_dr_cb cb;
    void *opaque;
} dr_ctx_t;

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    dr_ctx_t *d = m->_private;
    if (!d)
        return;
    if (d->cb)
        d->cb(m->err ? QC_ERR_KAFKA : 0, m->err ? rd_kafka_err2str(m->err) : "", d->opaque);
    free(d);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    qc_log(level <= 3 ? QC_LOG_ERROR : level <= 4 ? QC_LOG_WARN : QC_LOG_DEBUG, "kafka_log",
           "facility", fac, "message", buf, NULL);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    qc_log(QC_LOG_WARN, "kafka_error", "error", rd_kafka_err2name(err), "reason", reason, NULL);
}

static void prod_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    qc_kprod_t *p = arg;
    qpipe_drain(&p->pipe);
    while (rd_kafka_poll(p->rk, 0) > 0)
        ;
}

qc_kprod_t *qc_kprod_new(struct event_base *base, const char *bootstrap, const char *client_id,
                         char *errstr, size_t errsz)
{
    qc_kprod_t *p = calloc(1, sizeof *p);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!p || !conf) {
        snprintf(errstr, errsz, "out of memory");
        goto fail;
    }
    /* Low linger: a warning's first message must not wait for a batch. */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errsz) ||
        rd_kafka_conf_set(conf, "client.id", client_id, errstr, errsz) ||
        rd_kafka_conf_set(conf, "linger.ms", "1", errstr, errsz) ||
        /* Not idempotent: an idempotent producer first waits for a producer
         * id from the transaction coordinator, which on a fresh broker costs
         * the first alert a second or more. A duplicated job or event is
         * harmless: runs are created once and leases decide who works. */
        rd_kafka_conf_set(conf, "enable.idempotence", "false", errstr, errsz) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, errsz) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "30000", errstr, errsz) ||
        qc_kafka_conf_from_env(conf, errstr, errsz))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errsz);
    if (!p->rk)
        goto fail;
    conf = NULL; /* owned by rk now */
    p->mainq = rd_kafka_queue_get_main(p->rk);
    if (qpipe_open(&p->pipe, base, p->mainq, prod_readable, p)) {
        snprintf(errstr, errsz, "cannot create the Kafka wake-up pipe");
        goto fail;
    }
    return p;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    qc_kprod_destroy(p, 0);
    return NULL;
}

void qc_kprod_destroy(qc_kprod_t *p, int flush_ms)
{
    if (!p)
        return;
    if (p->rk && flush_ms > 0)
        rd_kafka_flush(p->rk, flush_ms);
    if (p->mainq) {
        rd_kafka_queue_io_event_enable(p->mainq, -1, NULL, 0);
        rd_kafka_queue_destroy(p->mainq);
    }
    qpipe_close(&p->pipe);
    if (p->rk)
        rd_kafka_destroy(p->rk);
    free(p);
}

int qc_kprod_send(qc_kprod_t *p, const char *topic, const void *key, size_t keylen,
                  const void *val, size_t vallen, qc_kprod_dr_cb cb, void *opaque)
{
    return qc_kprod_send_to(p, topic, RD_KAFKA_PARTITION_UA, key, keylen, val, vallen, cb, opaque);
}

int qc_kprod_send_to(qc_kprod_t *p, const char *topic, int32_t partition, const void *key, size_t keylen,
                     const void *val, size_t vallen, qc_kprod_dr_cb cb, void *opaque)
{
    dr_ctx_t *d = malloc(sizeof *d);
    if (!d)
        return QC_ERR_NOMEM;
    d->cb = cb;
    d->opaque = opaque;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key, keylen),
        RD_KAFKA_V_VALUE((void *)val, vallen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    if (err) {
        free(d);
        qc_log(QC_LOG_WARN, "kafka_produce_failed", "topic", topic, "error", rd_kafka_err2str(err), NULL);
        return QC_ERR_KAFKA;
    }
    return 0;
}

void qc_kprod_warm(qc_kprod_t *p, const char *topic)
{
    /* A topic handle makes librdkafka fetch and keep the topic's metadata. */
    rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, topic, NULL);
    if (t)
        rd_kafka_topic_destroy(t); /* librdkafka keeps the topic known */
}

int qc_kprod_outq(qc_kprod_t *p) { return rd_kafka_outq_len(p->rk); }

int qc_kprod_partition_count(qc_kprod_t *p, const char *topic, int timeout_ms)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!t)
        return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, t, &md, timeout_ms);
    int n = -1;
    if (!err && md && md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return n;
}

/* ---- consumer ---- */

struct qc_kcons {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    qpipe_t pipe;
    qc_kcons_msg_cb cb;
    void *opaque;
    bool paused;
    bool assigned;
    struct event *resume_ev;
    rd_kafka_topic_partition_list_t *topics; /* what we subscribe to */
    bool subscribed;
};

static void cons_poll(qc_kcons_t *c)
{
    /* Bounded per wake-up so HTTP and Redis callbacks get their turn. */
    for (int i = 0; i < 1000 && !c->paused; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
        if (!m)
            return;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                qc_log(QC_LOG_WARN, "kafka_consume_error", "error", rd_kafka_message_errstr(m), NULL);
            rd_kafka_message_destroy(m);
            continue;
        }
        c->cb(m, c->opaque);
    }
    if (!c->paused)
        event_active(c->resume_ev, 0, 0); /* more may be waiting */
}

static void cons_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    qc_kcons_t *c = arg;
    qpipe_drain(&c->pipe);
    cons_poll(c);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    qc_kcons_t *c = opaque;
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    /* Both protocols are handled: roundrobin is the default, and
     * QUAKECAST_KAFKA_X_PARTITION_ASSIGNMENT_STRATEGY=cooperative-sticky
     * switches to incremental (un)assignment. */
    bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_error_t *e = NULL;
        rd_kafka_resp_err_t re = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            re = rd_kafka_assign(rk, parts);
        if (e || re) {
            qc_log(QC_LOG_ERROR, "kafka_assign_failed", "error", e ? rd_kafka_error_string(e) : rd_kafka_err2str(re), NULL);
            if (e)
                rd_kafka_error_destroy(e);
            return;
        }
        c->assigned = true;
        qc_log(QC_LOG_INFO, "kafka_assigned", "partitions", n, NULL);
    } else {
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, NULL);
        }
        qc_log(QC_LOG_INFO, "kafka_revoked", "partitions", n, NULL);
    }
}

qc_kcons_t *qc_kcons_new(struct event_base *base, const char *bootstrap, const char *group,
                         const char *client_id, const char *const *topics, size_t ntopics,
                         qc_kcons_msg_cb cb, void *opaque, char *errstr, size_t errsz)
{
    qc_kcons_t *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *subs = NULL;
    if (!c || !conf) {
        snprintf(errstr, errsz, "out of memory");
        goto fail;
    }
    c->cb = cb;
    c->opaque = opaque;
    /* Offsets are stored by the application only once a message's work is
     * settled; the background committer then commits what was stored. */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errsz) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, errsz) ||
        rd_kafka_conf_set(conf, "client.id", client_id, errstr, errsz) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errsz) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "true", errstr, errsz) ||
        rd_kafka_conf_set(conf, "auto.commit.interval.ms", "500", errstr, errsz) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, errsz) ||
        /* A fetch returns as soon as one byte is there (fetch.min.bytes=1), so
         * this only bounds idle polling: 10 ms cost the broker a third of a
         * core for nothing, with the same first hand-off (bench/RESULTS.md). */
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "500", errstr, errsz) ||
        rd_kafka_conf_set(conf, "session.timeout.ms", "10000", errstr, errsz) ||
        rd_kafka_conf_set(conf, "heartbeat.interval.ms", "1000", errstr, errsz) ||
        rd_kafka_conf_set(conf, "max.poll.interval.ms", "600000", errstr, errsz) ||
        rd_kafka_conf_set(conf, "partition.assignment.strategy", "roundrobin", errstr, errsz) ||
        qc_kafka_conf_from_env(conf, errstr, errsz))
        goto fail;
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errsz);
    if (!c->rk)
        goto fail;
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    c->resume_ev = event_new(base, -1, 0, cons_readable, c);
    if (!c->q || !c->resume_ev || qpipe_open(&c->pipe, base, c->q, cons_readable, c)) {
        snprintf(errstr, errsz, "cannot set up the consumer queue");
        goto fail;
    }
    subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    c->topics = subs;
    if (qc_kcons_subscribe(c, true)) {
        snprintf(errstr, errsz, "subscribe failed");
        goto fail;
    }
    return c;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    qc_kcons_destroy(c);
    return NULL;
}

void qc_kcons_destroy(qc_kcons_t *c)
{
    if (!c)
        return;
    if (c->q) {
        rd_kafka_queue_io_event_enable(c->q, -1, NULL, 0);
    }
    if (c->rk)
        rd_kafka_consumer_close(c->rk);
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    qpipe_close(&c->pipe);
    if (c->resume_ev)
        event_free(c->resume_ev);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    if (c->topics)
        rd_kafka_topic_partition_list_destroy(c->topics);
    free(c);
}

int qc_kcons_subscribe(qc_kcons_t *c, bool on)
{
    if (on == c->subscribed)
        return 0;
    rd_kafka_resp_err_t err = on ? rd_kafka_subscribe(c->rk, c->topics) : rd_kafka_unsubscribe(c->rk);
    if (err) {
        qc_log(QC_LOG_ERROR, on ? "kafka_subscribe_failed" : "kafka_unsubscribe_failed", "error",
               rd_kafka_err2str(err), NULL);
        return QC_ERR_KAFKA;
    }
    c->subscribed = on;
    if (!on)
        c->assigned = false;
    return 0;
}

void qc_kcons_pause(qc_kcons_t *c, bool paused)
{
    bool was = c->paused;
    c->paused = paused;
    if (was && !paused)
        event_active(c->resume_ev, 0, 0);
}

bool qc_kcons_assigned(const qc_kcons_t *c) { return c->assigned; }

int qc_kcons_assignment(qc_kcons_t *c, const char *topic, int32_t *out, int max)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l))
        return -1;
    int n = 0;
    for (int i = 0; l && i < l->cnt; i++)
        if (!strcmp(l->elems[i].topic, topic) && n < max)
            out[n++] = l->elems[i].partition;
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    return n;
}

int qc_kcons_store(qc_kcons_t *c, const char *topic, int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
    if (!err && l->elems[0].err)
        err = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    return err ? QC_ERR_KAFKA : 0;
}

int qc_kafka_create_topics(const char *bootstrap, const char *const *names, const int *partitions,
                           size_t n, int replication, int min_insync, int timeout_ms, char *errstr, size_t errsz)
{
    int rc = QC_ERR_KAFKA;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_NewTopic_t **nt = calloc(n, sizeof *nt);
    rd_kafka_event_t *ev = NULL;
    if (!nt || rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errsz) ||
        qc_kafka_conf_from_env(conf, errstr, errsz))
        goto out;
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errsz);
    if (!rk)
        goto out;
    conf = NULL; /* owned by rk now */
    q = rd_kafka_queue_new(rk);
    for (size_t i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(names[i], partitions[i], replication, errstr, errsz);
        if (!nt[i])
            goto out;
        char mi[16];
        snprintf(mi, sizeof mi, "%d", min_insync);
        if (min_insync > 0 && rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", mi)) {
            snprintf(errstr, errsz, "cannot set min.insync.replicas on %s", names[i]);
            goto out;
        }
    }
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, timeout_ms, errstr, errsz);
    rd_kafka_CreateTopics(rk, nt, n, opt, q);
    rd_kafka_AdminOptions_destroy(opt);
    ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (!ev) {
        snprintf(errstr, errsz, "timed out creating topics");
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errsz, "%s", rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errstr, errsz, "%s: %s", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]));
            goto out;
        }
    }
    rc = 0;
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; nt && i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    if (q)
        rd_kafka_queue_destroy(q);
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rc;
}
