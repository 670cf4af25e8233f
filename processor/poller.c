/* poller.c: pulls event feeds for sites that do not push: a USGS GeoJSON
 * summary feed and an FDSN event web service (INFP runs one). Off unless
 * a URL is configured.
 *
 * Each poll is a conditional GET (RFC 9110 section 13.1: If-None-Match
 * with the last ETag, If-Modified-Since with the last Last-Modified), so an
 * unchanged feed costs a 304 and no parsing. Of several processors, one
 * polls each feed per interval (a SET NX PX claim in Redis), so a feed is
 * not fetched N times. Failures back off (doubling up to the cap, at least
 * what Retry-After says). Only reports not seen before (id and version)
 * are published on quake.events, where they are decided like pushed ones. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feeds/feeds.h"
#include "processor.h"
#include "qc/clock.h"
#include "qc/log.h"
#include "qc/msg.h"

#define SEEN_MAX 4096 /* (id, version) pairs remembered per feed */

struct qc_poller {
    qc_proc_t *p;
    char name[16];              /* "usgs" or "fdsn": metrics label, claim key */
    const char *url;
    bool fdsn;                  /* add starttime= to each request */
    long backoff_ms;            /* 0 when healthy */
    char etag[QC_HTTPC_VALIDATOR_MAX], last_modified[QC_HTTPC_VALIDATOR_MAX];
    struct event *timer;
    bool inflight;
    char (*seen)[96];           /* ring of "id|version" */
    size_t nseen, seen_pos;
    qc_series_t *m_ok, *m_not_modified, *m_error, *m_events;
};

static void schedule(qc_poller_t *po, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(po->timer, &tv);
}

static void failed(qc_poller_t *po, const char *why, long retry_after_s)
{
    long interval = po->p->conf.poll_interval_s * 1000;
    po->backoff_ms = po->backoff_ms ? po->backoff_ms * 2 : interval * 2;
    if (po->backoff_ms > po->p->conf.poll_max_backoff_s * 1000)
        po->backoff_ms = po->p->conf.poll_max_backoff_s * 1000;
    if (retry_after_s > 0 && retry_after_s * 1000 > po->backoff_ms)
        po->backoff_ms = retry_after_s * 1000;
    qc_counter_add(po->m_error, 1);
    qc_log(QC_LOG_WARN, "feed_poll_failed", "feed", po->name, "error", why, NULL);
    schedule(po, po->backoff_ms);
}

static bool seen_before(qc_poller_t *po, const qc_event_t *e)
{
    char key[96];
    snprintf(key, sizeof key, "%.63s|%lld", e->id, (long long)e->version);
    for (size_t i = 0; i < po->nseen; i++)
        if (!strcmp(po->seen[i], key))
            return true;
    snprintf(po->seen[po->seen_pos], sizeof po->seen[0], "%s", key);
    po->seen_pos = (po->seen_pos + 1) % SEEN_MAX;
    if (po->nseen < SEEN_MAX)
        po->nseen++;
    return false;
}

static void publish(qc_poller_t *po, const qc_event_t *evs, size_t n)
{
    qc_proc_t *p = po->p;
    int64_t now = qc_wall_ms();
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        /* Old reports would only be decided "stale": keep them off Kafka. */
        if (now - evs[i].origin_ms > p->conf.max_event_age_s * 1000 || seen_before(po, &evs[i]))
            continue;
        qc_msg_event_t m;
        memset(&m, 0, sizeof m);
        m.ev = evs[i];
        m.received_ms = now;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        if (qc_msg_event_pack(&m, &sb) == 0 &&
            qc_kprod_send(p->producer, QC_TOPIC_EVENTS, m.ev.id, strlen(m.ev.id), sb.data, sb.size, NULL, NULL) == 0)
            sent++;
        else
            qc_log(QC_LOG_ERROR, "event_produce_failed", "event_id", m.ev.id, "feed", po->name, NULL);
        msgpack_sbuffer_destroy(&sb);
    }
    qc_counter_add(po->m_events, sent);
}

static void on_response(const qc_httpc_result_t *res, void *opaque)
{
    qc_poller_t *po = opaque;
    po->inflight = false;
    char why[300];
    if (res->err) {
        failed(po, res->curl_error, -1);
        return;
    }
    if (res->status == 304) {
        qc_counter_add(po->m_not_modified, 1);
        po->backoff_ms = 0;
        schedule(po, po->p->conf.poll_interval_s * 1000);
        return;
    }
    if (res->status == 204 && po->fdsn) {
        /* fdsnws-event: 204 = no events match (FDSN web service spec 1.2) */
        qc_counter_add(po->m_ok, 1);
        po->backoff_ms = 0;
        schedule(po, po->p->conf.poll_interval_s * 1000);
        return;
    }
    if (res->status != 200 || res->truncated) {
        snprintf(why, sizeof why, res->truncated ? "document larger than QUAKECAST_POLL_MAX_BYTES" : "HTTP %ld",
                 res->status);
        failed(po, why, res->retry_after_s);
        return;
    }
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    if (qc_feed_parse(qc_feed_detect(res->body, res->body_len, NULL), res->body, res->body_len, &evs, &n, err,
                      sizeof err)) {
        qc_counter_add(po->p->m_events_bad, 1);
        snprintf(why, sizeof why, "document rejected: %s", err);
        free(evs);
        failed(po, why, -1);
        return;
    }
    snprintf(po->etag, sizeof po->etag, "%s", res->etag);
    snprintf(po->last_modified, sizeof po->last_modified, "%s", res->last_modified);
    qc_counter_add(po->m_ok, 1);
    qc_counter_add(po->p->m_events_in, n);
    publish(po, evs, n);
    free(evs);
    po->backoff_ms = 0;
    schedule(po, po->p->conf.poll_interval_s * 1000);
}

static void poll_now(qc_poller_t *po)
{
    qc_proc_t *p = po->p;
    char url[2300], h_etag[300], h_lm[300];
    const char *headers[3] = { NULL, NULL, NULL };
    int nh = 0;
    if (po->fdsn && !strstr(po->url, "starttime=")) {
        /* Only events recent enough to matter (FDSN event service
         * parameter starttime, ISO 8601 UTC). */
        char since[32];
        time_t t = (time_t)((qc_wall_ms() / 1000) - p->conf.max_event_age_s);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(url, sizeof url, "%s%sstarttime=%s", po->url, strchr(po->url, '?') ? "&" : "?", since);
    } else {
        snprintf(url, sizeof url, "%s", po->url);
    }
    if (po->etag[0]) {
        snprintf(h_etag, sizeof h_etag, "If-None-Match: %s", po->etag);
        headers[nh++] = h_etag;
    }
    if (po->last_modified[0]) {
        snprintf(h_lm, sizeof h_lm, "If-Modified-Since: %s", po->last_modified);
        headers[nh++] = h_lm;
    }
    if (qc_httpc_request(p->http, "GET", url, headers, NULL, 0, on_response, po))
        failed(po, "request could not start", -1);
    else
        po->inflight = true;
}

static void on_claim(redisReply *r, void *opaque)
{
    qc_poller_t *po = opaque;
    if (r && r->type == REDIS_REPLY_STATUS)
        poll_now(po); /* ours this interval */
    else
        schedule(po, po->p->conf.poll_interval_s * 1000); /* another processor's, or Redis away */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    qc_poller_t *po = arg;
    if (po->inflight)
        return;
    qc_proc_t *p = po->p;
    long hold = p->conf.poll_interval_s * 1000 - 100;
    if (hold < 100)
        hold = 100;
    if (qc_redis_cmd(p->redis, on_claim, po, "SET qc:poll:%s %s NX PX %ld", po->name, p->conf.instance, hold))
        schedule(po, p->conf.poll_interval_s * 1000);
}

qc_poller_t *qc_poller_new(qc_proc_t *p, const char *name, const char *url, bool fdsn)
{
    qc_poller_t *po = calloc(1, sizeof *po);
    if (!po)
        return NULL;
    po->p = p;
    snprintf(po->name, sizeof po->name, "%s", name);
    po->url = url;
    po->fdsn = fdsn;
    po->seen = calloc(SEEN_MAX, sizeof *po->seen);
    po->timer = evtimer_new(p->base, on_timer, po);
    if (!po->seen || !po->timer) {
        qc_poller_destroy(po);
        return NULL;
    }
    char ok[64], nm[64], er[64], ev[64];
    snprintf(ok, sizeof ok, "feed=\"%s\",result=\"ok\"", name);
    snprintf(nm, sizeof nm, "feed=\"%s\",result=\"not_modified\"", name);
    snprintf(er, sizeof er, "feed=\"%s\",result=\"error\"", name);
    snprintf(ev, sizeof ev, "feed=\"%s\"", name);
    po->m_ok = qc_metrics_counter(p->metrics, "quakecast_feed_polls_total", ok, "Feed polls by result");
    po->m_not_modified = qc_metrics_counter(p->metrics, "quakecast_feed_polls_total", nm, "Feed polls by result");
    po->m_error = qc_metrics_counter(p->metrics, "quakecast_feed_polls_total", er, "Feed polls by result");
    po->m_events = qc_metrics_counter(p->metrics, "quakecast_feed_events_total", ev,
                                      "New event reports published from a polled feed");
    qc_log(QC_LOG_INFO, "feed_poller", "feed", name, "url", url, NULL);
    schedule(po, 10);
    return po;
}

void qc_poller_destroy(qc_poller_t *po)
{
    if (!po)
        return;
    if (po->timer)
        event_free(po->timer);
    free(po->seen);
    free(po);
}
