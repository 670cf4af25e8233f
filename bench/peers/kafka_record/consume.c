/* consume.c: the consumer group of the kafka-record peer: each record is
 * one subscriber; render the message, sign it as quakecast does (Standard
 * Webhooks) and POST it, up to --max-sends at once through one libcurl
 * multi handle (keep-alive, --connections per host), as a Kafka Connect
 * HTTP sink task would. Offsets are stored (and auto-committed) only up to
 * the first record of each partition not yet answered, so the peer is
 * at-least-once like Connect.
 *
 * One thread, one poll: curl_multi_poll() waits on libcurl's sockets and on
 * the pipe librdkafka writes to when its consumer queue becomes non-empty
 * (rd_kafka_queue_io_event_enable). */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kr.h"
#include "qc/clock.h"
#include "qc/geo.h"
#include "qc/ipe.h"
#include "qc/sign.h"

typedef struct kr_send {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    int32_t part;
    int64_t offset;
    int attempts;
    struct kr_send *next; /* free list */
} kr_send_t;

/* In-flight offsets of one partition in consumption order: a ring. */
typedef struct kr_part {
    int64_t *off;
    unsigned char *done;
    size_t head, count, cap;
    int64_t store; /* next offset to store, -1 = nothing new */
} kr_part_t;

typedef struct kr_cons {
    const kr_opts_t *o;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int rfd, wfd;
    CURLM *multi;
    kr_send_t *pool, *free;
    int inflight;
    kr_part_t *parts;
    int nparts;
    long sent, failed, retries, bad;
    int assigned;
} kr_cons_t;

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p;
    (void)u;
    return sz * n;
}

static void write_ready(const kr_cons_t *c)
{
    if (!c->o->ready_file)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", c->o->ready_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "assigned %d\n", c->assigned);
    if (fclose(f) == 0)
        rename(tmp, c->o->ready_file);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    kr_cons_t *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        c->assigned = parts->cnt;
    } else {
        rd_kafka_assign(rk, NULL);
        c->assigned = 0;
    }
    /* A revoked partition's ring is forgotten: its records may come again
     * to the next owner (at-least-once), as in Connect. */
    for (int i = 0; i < c->nparts; i++) {
        c->parts[i].head = c->parts[i].count = 0;
        c->parts[i].store = -1;
    }
    write_ready(c);
}

static kr_part_t *part_of(kr_cons_t *c, int32_t p)
{
    if (p < 0)
        return NULL;
    if (p >= c->nparts) {
        int n = p + 1;
        kr_part_t *np = realloc(c->parts, (size_t)n * sizeof *np);
        if (!np)
            return NULL;
        memset(np + c->nparts, 0, (size_t)(n - c->nparts) * sizeof *np);
        c->parts = np;
        c->nparts = n;
    }
    kr_part_t *kp = &c->parts[p];
    if (!kp->off) {
        kp->cap = (size_t)c->o->max_sends + 1;
        kp->off = calloc(kp->cap, sizeof *kp->off);
        kp->done = calloc(kp->cap, 1);
        kp->store = -1;
        if (!kp->off || !kp->done)
            return NULL;
    }
    return kp;
}

static void part_done(kr_cons_t *c, int32_t p, int64_t offset)
{
    kr_part_t *kp = p < c->nparts ? &c->parts[p] : NULL;
    if (!kp || !kp->off)
        return;
    for (size_t k = 0; k < kp->count; k++) {
        size_t i = (kp->head + k) % kp->cap;
        if (kp->off[i] == offset) {
            kp->done[i] = 1;
            break;
        }
    }
    while (kp->count && kp->done[kp->head]) {
        kp->store = kp->off[kp->head] + 1;
        kp->done[kp->head] = 0;
        kp->head = (kp->head + 1) % kp->cap;
        kp->count--;
    }
}

static void flush_stores(kr_cons_t *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (int p = 0; p < c->nparts; p++) {
        if (c->parts[p].store < 0)
            continue;
        if (!l)
            l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(l, c->o->topic, p)->offset = c->parts[p].store;
        c->parts[p].store = -1;
    }
    if (l) {
        rd_kafka_offsets_store(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

static void release(kr_cons_t *c, kr_send_t *s)
{
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    free(s->body);
    s->body = NULL;
    s->next = c->free;
    c->free = s;
    c->inflight--;
}

/* Builds and starts the POST of one record. @returns 0, or -1 when the
 * record is unusable (counted in bad, its offset settled). */
static int start_record(kr_cons_t *c, const rd_kafka_message_t *m)
{
    const kr_opts_t *o = c->o;
    json_error_t jerr;
    json_t *rec = json_loadb(m->payload, m->len, 0, &jerr);
    const char *id = NULL, *lang = "en", *url = NULL, *secret = NULL;
    double lat = 0, lon = 0;
    int ok = rec && json_unpack(rec, "{s:s,s:F,s:F,s?s,s:{s:{s:s,s:s}}}", "id", &id, "lat", &lat, "lon", &lon,
                                "lang", &lang, "channels", "webhook", "url", &url, "secret", &secret) == 0;
    kr_send_t *s = c->free;
    char *json = NULL;
    if (ok && s) {
        double hypo = qc_geo_hypo_km(qc_geo_distance_km(o->lat, o->lon, lat, lon), o->depth_km);
        double mmi = qc_ipe_mmi(o->mag, hypo);
        double secs = qc_ipe_s_arrival_s(hypo) - (double)(qc_wall_ms() - o->origin_ms) / 1000.0;
        char text[512];
        long sl = lround(secs);
        if (sl > 0)
            snprintf(text, sizeof text, "EARTHQUAKE M%.1f. Strong shaking (intensity %.0f) in ~%ld s. "
                     "Drop, Cover, Hold On!", o->mag, mmi, sl);
        else
            snprintf(text, sizeof text, "EARTHQUAKE M%.1f: shaking now (intensity %.0f). Drop, Cover, Hold On!",
                     o->mag, mmi);
        json_t *body = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:s,s:s,s:f,s:f,s:f,s:I,s:s}", "subscriber_id", id,
                                 "alert_id", o->alert_id, "event_id", o->event_id, "magnitude", o->mag, "mmi", mmi,
                                 "seconds_to_shaking", secs > 0 ? secs : 0.0, "message", text, "lang", lang,
                                 "latitude", o->lat, "longitude", o->lon, "depth_km", o->depth_km, "origin_ms",
                                 (json_int_t)o->origin_ms, "kind", "alert");
        json = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
        json_decref(body);
    }
    unsigned char key[128];
    int keylen = ok && json ? qc_sign_secret_decode(secret, key, sizeof key) : -1;
    char msg_id[200], sig[QC_SIGN_V1_LEN];
    int64_t ts = qc_wall_ms() / 1000;
    if (keylen > 0)
        snprintf(msg_id, sizeof msg_id, "kr_%s_%s", o->alert_id, id);
    if (keylen <= 0 || qc_sign_v1(key, (size_t)keylen, msg_id, ts, json, strlen(json), sig)) {
        free(json);
        json_decref(rec);
        c->bad++;
        return -1;
    }
    char h[256];
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(h, sizeof h, "webhook-id: %s", msg_id);
    hdrs = hdrs ? curl_slist_append(hdrs, h) : NULL;
    snprintf(h, sizeof h, "webhook-timestamp: %lld", (long long)ts);
    hdrs = hdrs ? curl_slist_append(hdrs, h) : NULL;
    snprintf(h, sizeof h, "webhook-signature: %s", sig);
    hdrs = hdrs ? curl_slist_append(hdrs, h) : NULL;
    hdrs = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL; /* no 100-continue round trip */
    if (!hdrs || curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK) {
        curl_slist_free_all(hdrs);
        free(json);
        json_decref(rec);
        c->bad++;
        return -1;
    }
    json_decref(rec); /* url was copied by libcurl */
    c->free = s->next;
    s->hdrs = hdrs;
    s->body = json;
    s->part = m->partition;
    s->offset = m->offset;
    s->attempts = 1;
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    c->inflight++;
    curl_multi_add_handle(c->multi, s->easy);
    return 0;
}

static void on_record(kr_cons_t *c, rd_kafka_message_t *m)
{
    kr_part_t *kp = part_of(c, m->partition);
    if (!kp)
        return;
    size_t i = (kp->head + kp->count) % kp->cap;
    kp->off[i] = m->offset;
    kp->done[i] = 0;
    kp->count++;
    if (start_record(c, m))
        part_done(c, m->partition, m->offset);
}

static void on_finished(kr_cons_t *c, CURLMsg *msg)
{
    kr_send_t *s = NULL;
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    CURLcode res = msg->data.result;
    curl_multi_remove_handle(c->multi, s->easy);
    if (res == CURLE_OK && status >= 200 && status < 300) {
        c->sent++;
    } else if (s->attempts < c->o->max_attempts && (res != CURLE_OK || status == 429 || status >= 500)) {
        s->attempts++;
        c->retries++;
        curl_multi_add_handle(c->multi, s->easy);
        return;
    } else {
        c->failed++;
    }
    part_done(c, s->part, s->offset);
    release(c, s);
}

static int setup(kr_cons_t *c)
{
    const kr_opts_t *o = c->o;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kr_conf_set(conf, "bootstrap.servers", o->bootstrap) || kr_conf_set(conf, "group.id", o->group) ||
        kr_conf_set(conf, "client.id", o->instance) || kr_conf_set(conf, "auto.offset.reset", "earliest") ||
        kr_conf_set(conf, "enable.auto.commit", "true") || kr_conf_set(conf, "enable.auto.offset.store", "false") ||
        kr_conf_set(conf, "fetch.wait.max.ms", "10")) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        fprintf(stderr, "kafka-record: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    int fds[2];
    if (!c->q || pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    c->rfd = fds[0];
    c->wfd = fds[1];
    rd_kafka_queue_io_event_enable(c->q, c->wfd, "1", 1);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        fprintf(stderr, "kafka-record: subscribe: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    c->multi = curl_multi_init();
    c->pool = calloc((size_t)o->max_sends, sizeof *c->pool);
    if (!c->multi || !c->pool)
        return -1;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->connections);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)o->connections);
    for (int i = 0; i < o->max_sends; i++) {
        kr_send_t *s = &c->pool[i];
        s->easy = curl_easy_init();
        if (!s->easy)
            return -1;
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (char *)s);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "kafka-record/bench");
        s->next = c->free;
        c->free = s;
    }
    write_ready(c);
    return 0;
}

static void teardown(kr_cons_t *c)
{
    if (c->rk) {
        if (c->q)
            rd_kafka_queue_io_event_enable(c->q, -1, NULL, 0);
        rd_kafka_consumer_close(c->rk);
        if (c->q)
            rd_kafka_queue_destroy(c->q);
        rd_kafka_destroy(c->rk);
    }
    if (c->pool) {
        for (int i = 0; i < c->o->max_sends; i++) {
            if (c->pool[i].easy) {
                if (c->multi)
                    curl_multi_remove_handle(c->multi, c->pool[i].easy);
                curl_easy_cleanup(c->pool[i].easy);
            }
            curl_slist_free_all(c->pool[i].hdrs);
            free(c->pool[i].body);
        }
        free(c->pool);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    for (int p = 0; p < c->nparts; p++) {
        free(c->parts[p].off);
        free(c->parts[p].done);
    }
    free(c->parts);
    if (c->rfd > 0)
        close(c->rfd);
    if (c->wfd > 0)
        close(c->wfd);
}

int kr_consume(const kr_opts_t *o)
{
    kr_cons_t c = { .o = o, .rfd = -1, .wfd = -1 };
    int rc = setup(&c);
    while (!rc && !kr_stop) {
        while (c.inflight < o->max_sends) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c.rk, 0);
            if (!m)
                break;
            if (!m->err)
                on_record(&c, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "kafka-record: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        int running = 0;
        curl_multi_perform(c.multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c.multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                on_finished(&c, msg);
        flush_stores(&c);
        struct curl_waitfd wfd = { .fd = c.rfd, .events = CURL_WAIT_POLLIN };
        /* New records wake us through the pipe only when there is room. */
        curl_multi_poll(c.multi, c.inflight < o->max_sends ? &wfd : NULL, c.inflight < o->max_sends ? 1 : 0,
                        100, NULL);
        char buf[64];
        while (read(c.rfd, buf, sizeof buf) > 0)
            ;
    }
    printf("{\"event\":\"stopped\",\"instance\":\"%s\",\"sent\":%ld,\"failed\":%ld,\"retries\":%ld,\"bad\":%ld}\n",
           o->instance, c.sent, c.failed, c.retries, c.bad);
    fflush(stdout);
    teardown(&c);
    return rc;
}
