/* main.c: quakecast-processor start-up: configuration, the loop, and the
 * one-shot --create-topics command used by the local stack and the Helm
 * hook. */
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "processor.h"
#include "qc/clock.h"
#include "qc/err.h"
#include "qc/log.h"
#include "qc/msg.h"
#include "qc/subscriber.h"

#define OFF(f) offsetof(qc_pconf_t, f)
const qc_conf_def_t qc_pconf_defs[] = {
    { "QUAKECAST_HTTP_ADDR", QC_CONF_STR, "0.0.0.0", 1, 0, OFF(http_addr), 0, "Address the API listens on" },
    { "QUAKECAST_HTTP_PORT", QC_CONF_INT, "8080", 0, 65535, OFF(http_port), 0, "Port of the API, pages, /healthz, /readyz, /metrics" },
    { "QUAKECAST_KAFKA_BOOTSTRAP", QC_CONF_STR, "127.0.0.1:9092", 1, 0, OFF(kafka_bootstrap), 0, "Kafka bootstrap servers" },
    { "QUAKECAST_REDIS_URL", QC_CONF_STR, "redis://127.0.0.1:6379/0", 1, 0, OFF(redis_url), 0, "Redis URL; redis-cluster://host:port,... for a Redis Cluster (seed nodes)" },
    { "QUAKECAST_REDIS_USER", QC_CONF_STR, "", 1, 0, OFF(redis_user), 0, "Redis ACL user sent with AUTH at connect (deploy/redis/acl-users: 'processor'); empty: none" },
    { "QUAKECAST_REDIS_PASSWORD", QC_CONF_STR, "", 1, 0, OFF(redis_password), QC_CONF_SECRET, "Password of QUAKECAST_REDIS_USER (alone: the default user's)" },
    { "QUAKECAST_API_TOKEN", QC_CONF_STR, "", 1, 0, OFF(api_token), QC_CONF_SECRET, "Admin bearer token (required)" },
    { "QUAKECAST_LOG_LEVEL", QC_CONF_STR, "info", 1, 0, OFF(log_level), 0, "debug, info, warn or error" },
    { "QUAKECAST_INSTANCE", QC_CONF_STR, "processor", 1, 0, OFF(instance), 0, "Name of this process in logs and Kafka client ids" },
    { "QUAKECAST_MAX_EVENT_AGE", QC_CONF_INT, "600", 1, 86400 * 30, OFF(max_event_age_s), 0, "Events older than this many seconds are ignored as stale" },
    { "QUAKECAST_WEBHOOK_ALLOW_PRIVATE", QC_CONF_BOOL, "0", 1, 0, OFF(webhook_allow_private), 0, "Accept plain-http, loopback and private webhook targets (local stack, tests)" },
    { "QUAKECAST_DEFAULT_MIN_MMI", QC_CONF_INT, "4", 1, 10, OFF(default_min_mmi), 0, "Intensity threshold of subscribers who set none" },
    { "QUAKECAST_MIN_MAGNITUDE", QC_CONF_DOUBLE, "3.0", 0, 10, OFF(min_magnitude), 0, "Magnitude floor: smaller events alert nobody" },
    { "QUAKECAST_ASSOC_WINDOW_S", QC_CONF_DOUBLE, "60", 0, 3600, OFF(assoc_window_s), 0, "Reports whose origin times differ by at most this are candidates for one alert" },
    { "QUAKECAST_ASSOC_KM", QC_CONF_DOUBLE, "100", 0, 2000, OFF(assoc_km), 0, "...and whose epicentres are at most this far apart" },
    { "QUAKECAST_ASSOC_MAG", QC_CONF_DOUBLE, "1.0", 0, 5, OFF(assoc_mag), 0, "...and whose magnitudes differ by at most this" },
    { "QUAKECAST_SOURCE_SECRETS", QC_CONF_STR, "", 1, 0, OFF(source_secrets), QC_CONF_SECRET, "Seismic sources allowed to push events with a signature: name=whsec_<base64>,... (Standard Webhooks signing, header X-Quakecast-Source: name)" },
    { "QUAKECAST_CAP_SENDER", QC_CONF_STR, "quakecast.invalid", 1, 0, OFF(cap_sender), 0, "CAP <sender> of issued alerts (no spaces or commas; e.g. your domain)" },
    { "QUAKECAST_CAP_SENDER_NAME", QC_CONF_STR, "quakecast earthquake early warning", 1, 0, OFF(cap_sender_name), 0, "CAP <senderName>: who people are told the warning comes from" },
    { "QUAKECAST_REGIONS_FILE", QC_CONF_STR, "", 1, 0, OFF(regions_file), 0, "Tectonic regions table that picks each event's intensity model (format of shared/data/tectonic_regions.txt); empty: the compiled-in table" },
    { "QUAKECAST_PUSH_AREA_PREFIX", QC_CONF_STR, "qc", 0, 0, OFF(push_area_prefix), 0, "Area broadcasts on push (the dispatcher's setting of the same name): GET /v1/areas names the FCM topic <prefix>_<cell>_i<threshold> an app subscribes to; empty: off" },
    { "QUAKECAST_TELEGRAM_AREA_PREFIX", QC_CONF_STR, "", 0, 0, OFF(telegram_area_prefix), 0, "Area broadcasts on Telegram (the dispatcher's setting of the same name): GET /v1/areas names the channel @<prefix>_<cell>_i<threshold>; empty: off" },
    { "QUAKECAST_PLAN_ORDER", QC_CONF_STR, "deadline", 1, 0, OFF(plan_order), 0, "Order segment jobs are planned in: deadline (the S wave's earliest arrival first) or registry (as the registry lists them, like a generic job queue; for benchmarks)" },
    { "QUAKECAST_POLL_USGS_URL", QC_CONF_STR, "", 1, 0, OFF(poll_usgs_url), 0, "USGS GeoJSON summary feed to poll (e.g. .../summary/all_hour.geojson); empty: off" },
    { "QUAKECAST_POLL_FDSN_URL", QC_CONF_STR, "", 1, 0, OFF(poll_fdsn_url), 0, "FDSN event web service query URL to poll (format=text or a GeoJSON format); empty: off" },
    { "QUAKECAST_POLL_INTERVAL_S", QC_CONF_INT, "30", 1, 3600, OFF(poll_interval_s), 0, "Seconds between polls of each feed" },
    { "QUAKECAST_POLL_MAX_BACKOFF_S", QC_CONF_INT, "600", 1, 86400, OFF(poll_max_backoff_s), 0, "Longest pause after failed polls" },
    { "QUAKECAST_POLL_MAX_BYTES", QC_CONF_INT, "16777216", 65536, 1073741824, OFF(poll_max_bytes), 0, "Largest feed document accepted" },
    { "QUAKECAST_ALERT_DEADLINE", QC_CONF_INT, "600", 10, 86400, OFF(alert_deadline_s), 0, "Seconds after origin past which sending stops (a late warning is noise)" },
    { "QUAKECAST_TOPIC_REPLICATION", QC_CONF_INT, "1", 1, 16, OFF(topic_replication), 0, "Replicas of each topic made by --create-topics (3 on a production cluster)" },
    { "QUAKECAST_TOPIC_MIN_INSYNC", QC_CONF_INT, "1", 1, 16, OFF(topic_min_insync), 0, "min.insync.replicas of each topic made by --create-topics: with acks=all a write needs this many replicas (2 with 3 replicas); at most QUAKECAST_TOPIC_REPLICATION" },
    { "QUAKECAST_DISPATCH_PARTITIONS", QC_CONF_INT, "32", 1, 10000, OFF(dispatch_partitions), 0, "Partitions of quake.dispatch (bounds dispatcher replicas)" },
    { "QUAKECAST_IMPORT_MAX_BYTES", QC_CONF_INT, "67108864", 1024, 1073741824, OFF(import_max_bytes), 0, "Largest accepted import or event body" },
    { "QUAKECAST_DECISION_TIMEOUT_MS", QC_CONF_INT, "10000", 100, 120000, OFF(decision_timeout_ms), 0, "How long POST /v1/events waits for the decision" },
    { "QUAKECAST_DISPATCHER_RATE", QC_CONF_DOUBLE, "20000", 1, 1e9, OFF(dispatcher_rate), 0, "Measured hand-offs per second of one dispatcher (sizes warm capacity)" },
    { "QUAKECAST_HANDOFF_TARGET", QC_CONF_DOUBLE, "5", 0.1, 3600, OFF(handoff_target_s), 0, "Seconds in which the whole base should be handed off" },
    { "QUAKECAST_PUBLIC_URL", QC_CONF_STR, "", 1, 0, OFF(public_url), 0, "Base URL clients use (https://warn.example.org); Twilio signs inbound SMS webhooks over it; empty: http://<Host>" },
    { "QUAKECAST_TRUST_PROXY", QC_CONF_BOOL, "0", 1, 0, OFF(trust_proxy), 0, "Behind a proxy: the client address for rate limits is the last X-Forwarded-For entry" },
    { "QUAKECAST_TWILIO_AUTH_TOKEN", QC_CONF_STR, "", 1, 0, OFF(twilio_auth_token), QC_CONF_SECRET, "Twilio auth token: checks X-Twilio-Signature of inbound SMS (STOP/START); empty: inbound SMS off" },
    { "QUAKECAST_SIGNUP_ALLOW_PRIVATE", QC_CONF_BOOL, "0", 1, 0, OFF(signup_allow_private), 0, "Public sign-up may give plain-http, loopback and private webhook targets" },
    { "QUAKECAST_SIGNUP_SMS_PREFIXES", QC_CONF_STR, "+40,+373", 1, 0, OFF(signup_sms_prefixes), 0, "E.164 prefixes public sign-up sends codes to (premium-rate pumping); empty: any" },
    { "QUAKECAST_PUBLIC_MAX_BYTES", QC_CONF_INT, "16384", 256, 1048576, OFF(public_max_bytes), 0, "Largest public request body (sign-up, verify, PATCH, inbound SMS)" },
    { "QUAKECAST_JSON_MAX_DEPTH", QC_CONF_INT, "8", 2, 64, OFF(json_max_depth), 0, "Deepest JSON nesting accepted in public bodies" },
    { "QUAKECAST_VERIFY_TTL", QC_CONF_INT, "600", 30, 86400, OFF(verify_ttl_s), 0, "Seconds a verification code stays valid" },
    { "QUAKECAST_VERIFY_MAX_TRIES", QC_CONF_INT, "5", 1, 100, OFF(verify_max_tries), 0, "Wrong codes after which a sign-up is locked" },
    { "QUAKECAST_LIMIT_SIGNUP_IP", QC_CONF_INT, "10", 1, 1000000, OFF(limit_signup_ip), 0, "Sign-ups per client address per window" },
    { "QUAKECAST_LIMIT_SIGNUP_DEST", QC_CONF_INT, "3", 1, 1000000, OFF(limit_signup_dest), 0, "Sign-ups per phone number (or address, chat, URL) per window" },
    { "QUAKECAST_LIMIT_VERIFY_IP", QC_CONF_INT, "30", 1, 1000000, OFF(limit_verify_ip), 0, "Verification attempts per client address per window" },
    { "QUAKECAST_LIMIT_WINDOW", QC_CONF_INT, "3600", 1, 604800, OFF(limit_window_s), 0, "Seconds of the sign-up and verification rate-limit windows" },
    { "QUAKECAST_SHUTDOWN_GRACE_S", QC_CONF_INT, "10", 0, 3600, OFF(shutdown_grace_s), 0, "Longest clean stop on SIGTERM: answer held requests, finish the decision in flight (Kubernetes' grace period must be longer)" },
    { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static void usage(void)
{
    fprintf(stderr, "usage: quakecast-processor [--create-topics | --help | --config-markdown]\n\n"
                    "Configuration (environment):\n");
    qc_conf_print_help(stderr, qc_pconf_defs);
    fprintf(stderr, "  QUAKECAST_KAFKA_X_<PROPERTY>      any librdkafka property ('_' = '.')\n");
}

/* The one place the topics are defined: the local stack, docker compose and
 * the chart's hook Job all run this (settings through QUAKECAST_TOPIC_*
 * and QUAKECAST_DISPATCH_PARTITIONS). */
static int create_topics(const qc_pconf_t *c)
{
    const char *names[] = { QC_TOPIC_EVENTS, QC_TOPIC_DISPATCH, QC_TOPIC_DLQ, QC_TOPIC_ALERTS, QC_TOPIC_NOTICES };
    int parts[] = { 4, (int)c->dispatch_partitions, 4, 1, 4 };
    char err[512];
    if (c->topic_min_insync > c->topic_replication) {
        qc_log(QC_LOG_ERROR, "create_topics_failed", "error",
               "QUAKECAST_TOPIC_MIN_INSYNC is above QUAKECAST_TOPIC_REPLICATION: no write could succeed", NULL);
        return 1;
    }
    if (qc_kafka_create_topics(c->kafka_bootstrap, names, parts, 5, (int)c->topic_replication,
                               (int)c->topic_min_insync, 15000, err, sizeof err)) {
        qc_log(QC_LOG_ERROR, "create_topics_failed", "error", err, NULL);
        return 1;
    }
    qc_log(QC_LOG_INFO, "topics_ready", "bootstrap", c->kafka_bootstrap, NULL);
    return 0;
}

static bool is_ready(void *opaque, char *why, size_t whysz)
{
    qc_proc_t *p = opaque;
    if (p->draining) {
        snprintf(why, whysz, "shutting down");
        return false;
    }
    if (!qc_redis_up(p->redis) || !qc_redis_up(p->redis_sub)) {
        snprintf(why, whysz, "redis not connected");
        return false;
    }
    if (!qc_kcons_assigned(p->events)) {
        snprintf(why, whysz, "no partitions of %s assigned yet", QC_TOPIC_EVENTS);
        return false;
    }
    return true;
}

/* Sizing inputs: subscriber count and live dispatchers (their heartbeats in
 * the qc:dispatchers sorted set, scored by wall ms). */
static void on_stats(redisReply *r, void *opaque)
{
    qc_proc_t *p = opaque;
    if (r && r->type == REDIS_REPLY_STRING)
        p->subscribers = strtol(r->str, NULL, 10);
}

static void on_dispatchers(redisReply *r, void *opaque)
{
    qc_proc_t *p = opaque;
    if (r && r->type == REDIS_REPLY_INTEGER)
        p->dispatchers_live = r->integer;
    p->sizing = qc_sizing_compute(p->subscribers, p->dispatchers_live);
}

static double g_subscribers(void *o) { return (double)((qc_proc_t *)o)->subscribers; }
static double g_dispatchers(void *o) { return (double)((qc_proc_t *)o)->dispatchers_live; }
static double g_desired(void *o)
{
    qc_proc_t *p = o;
    return (double)qc_sizing_dispatchers_desired(p->subscribers, p->conf.dispatcher_rate,
                                                 p->conf.handoff_target_s, 1);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    qc_proc_t *p = arg;
    if (!qc_redis_up(p->redis))
        return;
    char since[32];
    snprintf(since, sizeof since, "%lld", (long long)(qc_wall_ms() - 15000));
    qc_redis_cmd(p->redis, on_stats, p, "HGET qc:{reg}:stats subscribers");
    qc_redis_cmd(p->redis, on_dispatchers, p, "ZCOUNT qc:dispatchers %s +inf", since);
}

static void on_decision_msg(redisReply *r, void *opaque)
{
    qc_proc_t *p = opaque;
    /* ["message", channel, payload] where payload = corr "\n" json */
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return;
    char *payload = r->element[2]->str;
    char *nl = strchr(payload, '\n');
    if (!nl)
        return;
    *nl = '\0';
    qc_pending_deliver(p->pending, payload, nl + 1);
}

static void on_sub_state(qc_redis_t *r, bool up, void *opaque)
{
    if (up)
        qc_redis_subscribe(r, "qc:decisions", on_decision_msg, opaque);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    qc_proc_t *p = arg;
    (void)what;
    qc_log(QC_LOG_INFO, "shutdown", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    qc_drain_start(p);
}

static void register_metrics(qc_proc_t *p)
{
    qc_metrics_t *m = p->metrics;
    p->m_imported = qc_metrics_counter(m, "quakecast_subscribers_imported_total", NULL, "Subscribers stored by imports");
    p->m_import_rejected = qc_metrics_counter(m, "quakecast_subscribers_rejected_total", NULL, "Import lines rejected");
    p->m_events_in = qc_metrics_counter(m, "quakecast_events_received_total", NULL, "Events received by the API");
    p->m_events_bad = qc_metrics_counter(m, "quakecast_bad_input_total", "kind=\"event_document\"", "Bad input refused, by kind");
    p->m_auth_failed = qc_metrics_counter(m, "quakecast_auth_failures_total", "endpoint=\"events\"", "Requests refused for missing or wrong credentials");
    p->m_kafka_bad = qc_metrics_counter(m, "quakecast_bad_input_total", "kind=\"kafka_record\"", "Bad input refused, by kind");
    p->m_alerts = qc_metrics_counter(m, "quakecast_decisions_total", "decision=\"alert\"", "Event decisions");
    p->m_updates = qc_metrics_counter(m, "quakecast_decisions_total", "decision=\"update\"", "Event decisions");
    p->m_duplicates = qc_metrics_counter(m, "quakecast_decisions_total", "decision=\"duplicate\"", "Event decisions");
    p->m_ignored = qc_metrics_counter(m, "quakecast_decisions_total", "decision=\"ignored\"", "Event decisions");
    p->m_jobs = qc_metrics_counter(m, "quakecast_dispatch_jobs_total", NULL, "Segment jobs produced");
    p->m_jobs_failed = qc_metrics_counter(m, "quakecast_dispatch_jobs_failed_total", NULL, "Segment jobs Kafka did not take");
    static const double plan_b[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };
    p->m_plan_seconds = qc_metrics_histogram(m, "quakecast_plan_seconds", NULL,
                                             "Time from event consumed to jobs produced", plan_b, 10);
    qc_metrics_gauge_fn(m, "quakecast_subscribers", NULL, "Subscribers in the registry", g_subscribers, p);
    qc_metrics_gauge_fn(m, "quakecast_dispatchers_live", NULL, "Dispatchers with a recent heartbeat", g_dispatchers, p);
    qc_metrics_gauge_fn(m, "quakecast_dispatchers_desired", NULL,
                        "Dispatchers needed to hand off every subscriber within QUAKECAST_HANDOFF_TARGET",
                        g_desired, p);
}

int main(int argc, char **argv)
{
    qc_proc_t p;
    memset(&p, 0, sizeof p);
    char err[512];
    int rc = 1;
    bool topics = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--create-topics"))
            topics = true;
        else if (!strcmp(argv[i], "--config-markdown")) {
            qc_conf_print_markdown(stdout, qc_pconf_defs);
            return 0;
        } else {
            usage();
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (qc_conf_load(qc_pconf_defs, &p.conf, err, sizeof err)) {
        fprintf(stderr, "quakecast-processor: configuration: %s\n", err);
        return 2;
    }
    qc_log_level_t lvl = QC_LOG_INFO;
    if (qc_log_level_parse(p.conf.log_level, &lvl)) {
        fprintf(stderr, "quakecast-processor: configuration: QUAKECAST_LOG_LEVEL: '%s' is not a level\n",
                p.conf.log_level);
        goto out_conf;
    }
    qc_log_init("processor", lvl);
    if ((p.conf.push_area_prefix[0] && !qc_area_prefix_valid(p.conf.push_area_prefix)) ||
        (p.conf.telegram_area_prefix[0] && !qc_area_prefix_valid(p.conf.telegram_area_prefix))) {
        fprintf(stderr, "quakecast-processor: configuration: QUAKECAST_PUSH_AREA_PREFIX / QUAKECAST_TELEGRAM_AREA_PREFIX: "
                        "a letter, then up to 11 letters, digits or _\n");
        goto out_conf;
    }
    if (strcmp(p.conf.plan_order, "deadline") && strcmp(p.conf.plan_order, "registry")) {
        fprintf(stderr, "quakecast-processor: configuration: QUAKECAST_PLAN_ORDER: deadline or registry\n");
        goto out_conf;
    }
    if (topics) {
        rc = create_topics(&p.conf);
        goto out_conf;
    }
    if (!p.conf.api_token[0]) {
        fprintf(stderr, "quakecast-processor: configuration: QUAKECAST_API_TOKEN is required\n");
        goto out_conf;
    }
    p.regions = qc_regions_load(p.conf.regions_file, err, sizeof err);
    if (!p.regions) {
        fprintf(stderr, "quakecast-processor: configuration: QUAKECAST_REGIONS_FILE: %s\n", err);
        goto out_conf;
    }
    qc_redis_auth_t rauth;
    if (qc_redis_auth_set(&rauth, p.conf.redis_user, p.conf.redis_password, err, sizeof err)) {
        fprintf(stderr, "quakecast-processor: configuration: QUAKECAST_REDIS_USER/PASSWORD: %s\n", err);
        goto out_conf;
    }
    OPENSSL_cleanse(p.conf.redis_password, strlen(p.conf.redis_password));
    qc_sha256(p.conf.api_token, strlen(p.conf.api_token), p.token_sha);
    /* From here on only the hash exists: requests are checked against it. */
    OPENSSL_cleanse(p.conf.api_token, strlen(p.conf.api_token));
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    p.base = event_base_new();
    p.metrics = qc_metrics_new();
    if (!p.base || !p.metrics)
        goto out;
    register_metrics(&p);
    p.sizing = qc_sizing_compute(0, 1);
    p.redis = qc_redis_new(p.base, p.conf.redis_url, &rauth, NULL, &p, err, sizeof err);
    p.redis_sub = p.redis ? qc_redis_new(p.base, p.conf.redis_url, &rauth, on_sub_state, &p, err, sizeof err) : NULL;
    qc_redis_auth_wipe(&rauth); /* each connection holds its own copy */
    if (!p.redis || !p.redis_sub) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", err, NULL);
        goto out;
    }
    char cid[128];
    snprintf(cid, sizeof cid, "quakecast-%s", p.conf.instance);
    p.producer = qc_kprod_new(p.base, p.conf.kafka_bootstrap, cid, err, sizeof err);
    const char *topics_in[] = { QC_TOPIC_EVENTS };
    p.events = p.producer ? qc_kcons_new(p.base, p.conf.kafka_bootstrap, "quakecast-processor", cid,
                                         topics_in, 1, qc_decide_on_message, &p, err, sizeof err)
                          : NULL;
    if (p.producer) {
        qc_kprod_warm(p.producer, QC_TOPIC_DISPATCH);
        qc_kprod_warm(p.producer, QC_TOPIC_EVENTS);
    }
    p.pending = qc_pending_new(&p);
    if (!p.producer || !p.events || !p.pending) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", err, NULL);
        goto out;
    }
    p.httpd = qc_httpd_new(p.base, p.conf.http_addr, (int)p.conf.http_port, p.metrics, is_ready, &p,
                           err, sizeof err);
    if (!p.httpd) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", err, NULL);
        goto out;
    }
    qc_httpd_route(p.httpd, "/v1/subscribers/import", true, qc_api_import, &p);
    qc_httpd_route(p.httpd, "/v1/subscribers/", false, qc_api_subscribers, &p);
    qc_httpd_route(p.httpd, "/v1/events", true, qc_api_events, &p);
    qc_httpd_route(p.httpd, "/v1/alerts/", false, qc_api_alerts, &p);
    qc_httpd_route(p.httpd, "/v1/areas", true, qc_api_areas, &p);
    if (qc_selfsvc_start(&p)) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", "self-service routes", NULL);
        goto out;
    }
    if (p.conf.poll_usgs_url[0] || p.conf.poll_fdsn_url[0]) {
        qc_httpc_opts_t ho = { .max_total_connections = 4, .max_host_connections = 2, .timeout_ms = 20000,
                               .max_body = p.conf.poll_max_bytes };
        p.http = qc_httpc_new(p.base, &ho);
        if (!p.http || (p.conf.poll_usgs_url[0] && !(p.poll_usgs = qc_poller_new(&p, "usgs", p.conf.poll_usgs_url, false))) ||
            (p.conf.poll_fdsn_url[0] && !(p.poll_fdsn = qc_poller_new(&p, "fdsn", p.conf.poll_fdsn_url, true)))) {
            qc_log(QC_LOG_ERROR, "startup_failed", "error", "feed pollers", NULL);
            goto out;
        }
    }
    p.tick = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
    struct timeval one = { 1, 0 };
    event_add(p.tick, &one);
    p.sigint = evsignal_new(p.base, SIGINT, on_signal, &p);
    p.sigterm = evsignal_new(p.base, SIGTERM, on_signal, &p);
    event_add(p.sigint, NULL);
    event_add(p.sigterm, NULL);
    char port[16];
    snprintf(port, sizeof port, "%d", qc_httpd_port(p.httpd));
    qc_log(QC_LOG_INFO, "started", "port", port, "instance", p.conf.instance, NULL);
    event_base_dispatch(p.base);
    rc = 0;
out:
    if (p.tick)
        event_free(p.tick);
    if (p.sigint)
        event_free(p.sigint);
    if (p.sigterm)
        event_free(p.sigterm);
    qc_drain_free(&p);
    qc_httpd_destroy(p.httpd);
    qc_selfsvc_stop(&p);
    qc_httpc_destroy(p.http); /* aborts polls in flight without callbacks */
    qc_kcons_destroy(p.events);
    qc_kprod_destroy(p.producer, 2000);
    qc_pending_destroy(p.pending);
    qc_redis_destroy(p.redis_sub);
    qc_redis_destroy(p.redis); /* a poll claim in flight is answered NULL: pollers after */
    qc_poller_destroy(p.poll_usgs);
    qc_poller_destroy(p.poll_fdsn);
    qc_metrics_destroy(p.metrics);
    qc_regions_destroy(p.regions);
    if (p.base)
        event_base_free(p.base);
    curl_global_cleanup();
out_conf:
    qc_conf_free(qc_pconf_defs, &p.conf);
    return rc;
}
