/* main.c: quakecast-dispatcher start-up, heartbeat and shutdown: the top
 * of the dispatcher (see dispatcher.h). It owns the loop, the consumers and
 * the jobs (job.h), posts broadcast routes (broadcast.h) and notices
 * (notice.h); nothing below calls into this file. */
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "area.h"
#include "broadcast.h"
#include "chunk.h"
#include "dispatcher.h"
#include "job.h"
#include "notice.h"
#include "sendq.h"
#include "qc/clock.h"
#include "qc/err.h"
#include "qc/log.h"

#define OFF(f) offsetof(qc_dconf_t, f)
static const qc_conf_def_t qc_dconf_defs[] = {
    { "QUAKECAST_HTTP_ADDR", QC_CONF_STR, "0.0.0.0", 1, 0, OFF(http_addr), 0, "Address of /healthz, /readyz, /metrics" },
    { "QUAKECAST_HTTP_PORT", QC_CONF_INT, "9090", 0, 65535, OFF(http_port), 0, "Port of /healthz, /readyz, /metrics" },
    { "QUAKECAST_KAFKA_BOOTSTRAP", QC_CONF_STR, "127.0.0.1:9092", 1, 0, OFF(kafka_bootstrap), 0, "Kafka bootstrap servers" },
    { "QUAKECAST_REDIS_URL", QC_CONF_STR, "redis://127.0.0.1:6379/0", 1, 0, OFF(redis_url), 0, "Redis URL; redis-cluster://host:port,... for a Redis Cluster (seed nodes)" },
    { "QUAKECAST_REDIS_USER", QC_CONF_STR, "", 1, 0, OFF(redis_user), 0, "Redis ACL user sent with AUTH at connect (deploy/redis/acl-users: 'dispatcher'); empty: none" },
    { "QUAKECAST_REDIS_PASSWORD", QC_CONF_STR, "", 1, 0, OFF(redis_password), QC_CONF_SECRET, "Password of QUAKECAST_REDIS_USER (alone: the default user's)" },
    { "QUAKECAST_LOG_LEVEL", QC_CONF_STR, "info", 1, 0, OFF(log_level), 0, "debug, info, warn or error" },
    { "QUAKECAST_INSTANCE", QC_CONF_STR, "dispatcher", 1, 0, OFF(instance), 0, "Name of this process (logs, heartbeats, Kafka client id)" },
    { "QUAKECAST_LEASE_MS", QC_CONF_INT, "10000", 500, 600000, OFF(lease_ms), 0, "Lease on a segment run; renewed every third of it" },
    { "QUAKECAST_MAX_INFLIGHT", QC_CONF_INT, "4096", 1, 1000000, OFF(max_inflight), 0, "Records claimed and not yet marked, per process: the bound on duplicates if it dies" },
    { "QUAKECAST_MAX_SENDS", QC_CONF_INT, "128", 1, 100000, OFF(max_sends), 0, "Provider calls in progress at once (libcurl's cost per call grows with the calls it holds)" },
    { "QUAKECAST_MAX_JOBS", QC_CONF_INT, "32", 1, 100000, OFF(max_jobs), 0, "Segment jobs worked on at once" },
    { "QUAKECAST_HTTP_CONNECTIONS", QC_CONF_INT, "64", 1, 10000, OFF(http_connections), 0, "Connections per provider host" },
    { "QUAKECAST_HTTP_TIMEOUT_MS", QC_CONF_INT, "5000", 100, 120000, OFF(http_timeout_ms), 0, "Timeout of one provider request" },
    { "QUAKECAST_RETRY_BASE_MS", QC_CONF_INT, "200", 1, 60000, OFF(retry_base_ms), 0, "First retry back-off (doubles, full jitter)" },
    { "QUAKECAST_RETRY_MAX_MS", QC_CONF_INT, "10000", 1, 600000, OFF(retry_max_ms), 0, "Back-off cap" },
    { "QUAKECAST_MAX_ATTEMPTS", QC_CONF_INT, "8", 1, 1000, OFF(max_attempts), 0, "Attempts per message before it is dead-lettered" },
    { "QUAKECAST_WEBHOOK_ALLOW_CIDRS", QC_CONF_STR, "", 1, 0, OFF(webhook_allow_cidrs), 0, "Comma-separated CIDRs webhooks may connect to although loopback, private, link-local or metadata (checked after DNS, at connect); empty: public addresses only" },
    { "QUAKECAST_HTTP2", QC_CONF_INT, "1", 0, 2, OFF(http2), 0, "0 HTTP/1.1, 1 HTTP/2 over TLS, 2 also h2c on plain http" },
    { "QUAKECAST_TWILIO_URL", QC_CONF_STR, "https://api.twilio.com", 1, 0, OFF(twilio_url), 0, "Twilio API base URL (SMS)" },
    { "QUAKECAST_TWILIO_ACCOUNT_SID", QC_CONF_STR, "", 1, 0, OFF(twilio_sid), 0, "Twilio Account SID; SMS is off without it" },
    { "QUAKECAST_TWILIO_AUTH_TOKEN", QC_CONF_STR, "", 1, 0, OFF(twilio_token), QC_CONF_SECRET, "Twilio auth token" },
    { "QUAKECAST_TWILIO_FROM", QC_CONF_STR, "", 1, 0, OFF(twilio_from), 0, "Sender number (E.164) or Messaging Service SID (MG...)" },
    { "QUAKECAST_TELEGRAM_URL", QC_CONF_STR, "https://api.telegram.org", 1, 0, OFF(telegram_url), 0, "Telegram Bot API base URL" },
    { "QUAKECAST_TELEGRAM_BOT_TOKEN", QC_CONF_STR, "", 1, 0, OFF(telegram_token), QC_CONF_SECRET, "Bot token; Telegram is off without it" },
    { "QUAKECAST_TELEGRAM_CHANNEL", QC_CONF_STR, "", 1, 0, OFF(telegram_channel), 0, "Broadcast channel (\"@name\" or id) posted once per alert; empty: none" },
    { "QUAKECAST_TELEGRAM_CHANNEL_LANG", QC_CONF_STR, "ro", 1, 0, OFF(telegram_channel_lang), 0, "Language of the channel post" },
    { "QUAKECAST_FCM_URL", QC_CONF_STR, "https://fcm.googleapis.com", 1, 0, OFF(fcm_url), 0, "FCM HTTP v1 base URL" },
    { "QUAKECAST_FCM_TOKEN_URL", QC_CONF_STR, "", 1, 0, OFF(fcm_token_url), 0, "OAuth2 token URL; empty: the credentials' token_uri" },
    { "QUAKECAST_FCM_CREDENTIALS", QC_CONF_STR, "", 1, 0, OFF(fcm_credentials), 0, "Path of the service-account JSON; push is off without it" },
    { "QUAKECAST_FCM_TOPIC", QC_CONF_STR, "", 1, 0, OFF(fcm_topic), 0, "FCM topic sent once per alert; empty: none" },
    { "QUAKECAST_FCM_TOPIC_LANG", QC_CONF_STR, "ro", 1, 0, OFF(fcm_topic_lang), 0, "Language of the topic message" },
    { "QUAKECAST_PUSH_AREA_PREFIX", QC_CONF_STR, "qc", 0, 0, OFF(push_area_prefix), 0, "Area broadcasts on push: subscribers whose push channel has \"area\": true listen to the FCM topic <prefix>_<cell>_i<threshold> (GET /v1/areas) and get one topic message per alert instead of a personal one; empty: off" },
    { "QUAKECAST_TELEGRAM_AREA_PREFIX", QC_CONF_STR, "", 0, 0, OFF(telegram_area_prefix), 0, "Area broadcasts on Telegram: the channel @<prefix>_<cell>_i<threshold> (created by the operator, the bot an admin) is posted to once per alert for subscribers whose telegram channel has \"area\": true; empty: off" },
    { "QUAKECAST_SEND_ORDER", QC_CONF_STR, "edf", 1, 0, OFF(send_order), 0, "Order of the send queue: edf (earliest S-wave arrival first, people already shaking after those who can act), nearest (earliest arrival first, nobody deferred) or fifo (as the records come; for benchmarks)" },
    { "QUAKECAST_SMTP_URL", QC_CONF_STR, "", 1, 0, OFF(smtp_url), 0, "smtp://host:587 or smtps://host:465; e-mail is off without it" },
    { "QUAKECAST_SMTP_USER", QC_CONF_STR, "", 1, 0, OFF(smtp_user), 0, "SMTP AUTH user; empty: no AUTH" },
    { "QUAKECAST_SMTP_PASSWORD", QC_CONF_STR, "", 1, 0, OFF(smtp_password), QC_CONF_SECRET, "SMTP AUTH password" },
    { "QUAKECAST_SMTP_FROM", QC_CONF_STR, "", 1, 0, OFF(smtp_from), 0, "Sender address" },
    { "QUAKECAST_SMTP_STARTTLS", QC_CONF_BOOL, "1", 1, 0, OFF(smtp_starttls), 0, "Require STARTTLS on smtp:// URLs" },
    { "QUAKECAST_RATE_PUSH", QC_CONF_DOUBLE, "10000", 0, 1e6, OFF(rate[QC_CH_PUSH]), 0, "FCM messages/s, all dispatchers together (FCM: 600k/min per project); 0 = no limit" },
    { "QUAKECAST_RATE_SMS", QC_CONF_DOUBLE, "0", 0, 1e6, OFF(rate[QC_CH_SMS]), 0, "SMS/s, all dispatchers together (your Twilio senders' throughput); 0 = no limit" },
    { "QUAKECAST_RATE_TELEGRAM", QC_CONF_DOUBLE, "30", 0, 1e6, OFF(rate[QC_CH_TELEGRAM]), 0, "Telegram messages/s per bot, all dispatchers together; 0 = no limit" },
    { "QUAKECAST_RATE_EMAIL", QC_CONF_DOUBLE, "0", 0, 1e6, OFF(rate[QC_CH_EMAIL]), 0, "E-mails/s, all dispatchers together; 0 = no limit" },
    { "QUAKECAST_RATE_WEBHOOK", QC_CONF_DOUBLE, "0", 0, 1e6, OFF(rate[QC_CH_WEBHOOK]), 0, "Webhooks/s, all dispatchers together; 0 = no limit" },
    { "QUAKECAST_RATE_BURST_MS", QC_CONF_INT, "100", 1, 10000, OFF(rate_burst_ms), 0, "Rate-limit bucket depth, as this much time at the rate (at most rate + burst in any second)" },
    { "QUAKECAST_SHUTDOWN_GRACE_S", QC_CONF_INT, "10", 0, 3600, OFF(shutdown_grace_s), 0, "On SIGTERM: seconds to finish sends in flight, hand leases and jobs back and exit; then (or on a second SIGTERM) it exits anyway" },
    { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

/* A lease we could not renew in time says the link to Redis is too slow
 * for us to work: leave the consumer group so our partitions go to others
 * (job.c hands over the jobs we hold), and measure the link again later. */
static void disp_degraded(qc_disp_t *d)
{
    d->degraded_until = qc_mono_ms() + 2 * d->conf.lease_ms;
    if (d->degraded)
        return;
    d->degraded = true;
    qc_log(QC_LOG_WARN, "redis_link_degraded", "action", "leaving the consumer group", NULL);
    qc_kcons_subscribe(d->jobs_in, false);
}

static void on_link_pong(redisReply *r, void *opaque)
{
    qc_disp_t *d = opaque;
    int64_t rtt = qc_mono_ms() - d->ping_sent;
    d->ping_sent = 0;
    if (!r || !d->degraded)
        return;
    if (rtt < d->conf.lease_ms / 4) {
        char ms[24];
        snprintf(ms, sizeof ms, "%lld", (long long)rtt);
        qc_log(QC_LOG_INFO, "redis_link_recovered", "rtt_ms", ms, NULL);
        d->degraded = false;
        qc_kcons_subscribe(d->jobs_in, true);
    } else {
        d->degraded_until = qc_mono_ms() + d->conf.lease_ms;
    }
}

static void on_linkcheck(evutil_socket_t fd, short what, void *arg)
{
    qc_disp_t *d = arg;
    if (!d->degraded || d->ping_sent || qc_mono_ms() < d->degraded_until)
        return;
    d->ping_sent = qc_mono_ms();
    if (qc_redis_cmd(d->redis, on_link_pong, d, "PING"))
        d->ping_sent = 0;
}

/* qc_job_hooks_t: what the jobs tell the loop */
static void hook_link_slow(void *user) { disp_degraded(user); }
static void hook_arrived(void *user, const qc_msg_job_t *msg)
{
    qc_disp_t *d = user;
    qc_bcast_job(d, msg);
    if (d->areas)
        qc_areas_plan(d->areas, msg);
}

static double g_degraded(void *o) { return ((qc_disp_t *)o)->degraded ? 1 : 0; }

static bool is_ready(void *opaque, char *why, size_t whysz)
{
    qc_disp_t *d = opaque;
    if (d->stopping) {
        snprintf(why, whysz, "stopping");
        return false;
    }
    if (d->degraded) {
        snprintf(why, whysz, "redis link too slow to hold leases");
        return false;
    }
    if (!qc_redis_up(d->redis) || !d->epoch) {
        snprintf(why, whysz, "redis not connected");
        return false;
    }
    if (!qc_kcons_assigned(d->jobs_in)) {
        snprintf(why, whysz, "no partitions of %s assigned yet", QC_TOPIC_DISPATCH);
        return false;
    }
    return true;
}

static void on_redis_state(qc_redis_t *r, bool up, void *opaque)
{
    qc_job_on_redis(opaque, up);
}

/* Heartbeat: the processor counts live dispatchers for sizing. */
static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    qc_disp_t *d = arg;
    if (qc_redis_up(d->redis) && !d->stopping)
        qc_redis_cmd(d->redis, NULL, NULL, "ZADD qc:dispatchers %lld %s", (long long)qc_wall_ms(), d->conf.instance);
}

static void stop_now(qc_disp_t *d, const char *event)
{
    if (d->exiting)
        return;
    d->exiting = true;
    char ms[24], left[24];
    snprintf(ms, sizeof ms, "%lld", (long long)(qc_mono_ms() - d->stop_started));
    snprintf(left, sizeof left, "%ld", qc_jobs_count(d));
    qc_log(strcmp(event, "shutdown_drained") ? QC_LOG_WARN : QC_LOG_INFO, event, "after_ms", ms, "jobs_left", left,
           NULL);
    event_base_loopexit(d->base, NULL);
}

/* hooks.drained: every job settled or handed back */
static void hook_drained(void *user) { stop_now(user, "shutdown_drained"); }

static void on_grace(evutil_socket_t fd, short what, void *arg) { stop_now(arg, "shutdown_grace_expired"); }

/* First SIGTERM/SIGINT: a clean stop (job.h, qc_jobs_stop): nothing new is
 * claimed, sends in flight finish, leases are released and jobs published
 * again for the other dispatchers, so nobody waits for a lease to expire.
 * A second signal, or the grace running out, exits at once: what is still
 * held is then left to lease expiry as after a crash. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    qc_disp_t *d = arg;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (d->stopping) {
        stop_now(d, "shutdown_forced"); /* a second signal */
        return;
    }
    d->stopping = true;
    d->stop_started = qc_mono_ms();
    char grace[24];
    snprintf(grace, sizeof grace, "%ld", d->conf.shutdown_grace_s);
    qc_log(QC_LOG_INFO, "shutdown", "signal", name, "grace_s", grace, NULL);
    struct timeval tv = { d->conf.shutdown_grace_s, 0 };
    d->grace = evtimer_new(d->base, on_grace, d);
    if (!d->grace || evtimer_add(d->grace, &tv)) {
        stop_now(d, "shutdown_grace_expired");
        return;
    }
    /* Sizing counts us out at once. */
    if (qc_redis_up(d->redis))
        qc_redis_cmd(d->redis, NULL, NULL, "ZREM qc:dispatchers %s", d->conf.instance);
    qc_kcons_pause(d->notices_in, true);
    qc_jobs_stop(d); /* may call hook_drained at once */
}

static double g_jobs(void *o) { return (double)((qc_disp_t *)o)->jobs_active; }
static double g_held(void *o) { return (double)((qc_disp_t *)o)->held_records; }

static void register_metrics(qc_disp_t *d)
{
    qc_metrics_t *m = d->metrics;
    d->m_jobs = qc_metrics_counter(m, "quakecast_jobs_total", NULL, "Segment jobs consumed");
    d->m_jobs_bad = qc_metrics_counter(m, "quakecast_bad_input_total", "kind=\"kafka_record\"", "Bad input refused, by kind");
    d->m_records_bad = qc_metrics_counter(m, "quakecast_bad_input_total", "kind=\"segment_record\"", "Bad input refused, by kind");
    d->m_leases_granted = qc_metrics_counter(m, "quakecast_leases_total", "result=\"granted\"", "Lease requests by result");
    d->m_leases_busy = qc_metrics_counter(m, "quakecast_leases_total", "result=\"busy\"", "Lease requests by result");
    d->m_leases_expired = qc_metrics_counter(m, "quakecast_leases_expired_total", NULL,
                                             "Expired leases of others purged by our acquires");
    d->m_sends_started = qc_metrics_counter(m, "quakecast_sends_started_total", NULL, "Provider calls started");
    d->m_leases_late = qc_metrics_counter(m, "quakecast_leases_lost_total", "reason=\"renew_late\"",
                                          "Leases given up because renewals did not come back in time");
    d->m_handed_over = qc_metrics_counter(m, "quakecast_jobs_handed_over_total", NULL,
                                          "Jobs published again because our Redis link was too slow to hold a lease");
    d->m_handed_back = qc_metrics_counter(m, "quakecast_jobs_handed_back_total", NULL,
                                          "Jobs published again at shutdown (SIGTERM), their leases released first");
    d->m_records_handed_back = qc_metrics_counter(m, "quakecast_records_handed_back_total", NULL,
                                                  "Unsent records of chunks handed back at shutdown, for their next owner");
    d->m_fenced = qc_metrics_counter(m, "quakecast_fence_rejections_total", NULL, "Writes refused because our lease had expired");
    d->m_chunks = qc_metrics_counter(m, "quakecast_chunks_total", NULL, "Chunks processed");
    d->m_chunks_reclaimed = qc_metrics_counter(m, "quakecast_chunks_reclaimed_total", NULL, "Chunks taken over from an expired lease holder");
    d->m_sent = qc_metrics_counter(m, "quakecast_notifications_total", "result=\"sent\"", "Notification outcomes");
    d->m_failed = qc_metrics_counter(m, "quakecast_notifications_total", "result=\"failed\"", "Notification outcomes");
    d->m_dlq = qc_metrics_counter(m, "quakecast_dead_letters_total", NULL, "Records sent to quake.dlq");
    d->m_retries = qc_metrics_counter(m, "quakecast_send_retries_total", NULL, "Transient failures retried");
    d->m_skipped_lease = qc_metrics_counter(m, "quakecast_sends_skipped_total", "reason=\"lease_expired\"", "Sends not started because the lease may have expired");
    d->m_fallbacks = qc_metrics_counter(m, "quakecast_channel_fallbacks_total", NULL,
                                        "Messages moved to a subscriber's next channel after the first failed for good");
    d->m_dead_marked = qc_metrics_counter(m, "quakecast_channels_marked_dead_total", NULL,
                                          "Subscriber channels marked dead (unregistered token, blocked bot, unsubscribed)");
    d->m_rl_waits = qc_metrics_counter(m, "quakecast_rate_limited_total", NULL,
                                       "Times a shared provider rate limit had no token and sends waited");
    d->m_bcast_sent = qc_metrics_counter(m, "quakecast_broadcasts_total", "result=\"sent\"", "Broadcast posts (Telegram channel, FCM topic)");
    d->m_bcast_failed = qc_metrics_counter(m, "quakecast_broadcasts_total", "result=\"failed\"", "Broadcast posts (Telegram channel, FCM topic)");
    d->m_notices_sent = qc_metrics_counter(m, "quakecast_notices_total", "result=\"sent\"", "One-off notices (verification codes), by outcome");
    d->m_notices_failed = qc_metrics_counter(m, "quakecast_notices_total", "result=\"failed\"", "One-off notices (verification codes), by outcome");
    d->m_notices_bad = qc_metrics_counter(m, "quakecast_bad_input_total", "kind=\"notice\"", "Bad input refused, by kind");
    d->m_inflight = qc_metrics_gauge(m, "quakecast_inflight_sends", NULL, "Sends in flight");
    static const double b[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
    d->m_send_seconds = qc_metrics_histogram(m, "quakecast_send_seconds", NULL, "Provider call duration", b, 12);
    qc_metrics_gauge_fn(m, "quakecast_jobs_active", NULL, "Jobs being worked on", g_jobs, d);
    qc_metrics_gauge_fn(m, "quakecast_redis_link_degraded", NULL,
                        "1 while Redis answers too slowly to hold leases (out of the consumer group)", g_degraded, d);
    qc_metrics_gauge_fn(m, "quakecast_records_held", NULL, "Records of claimed, uncompleted chunks", g_held, d);
    d->m_area_sent = qc_metrics_counter(m, "quakecast_area_broadcasts_total", "result=\"sent\"",
                                        "Area broadcasts (one push topic or Telegram channel message per alert, cell and threshold)");
    d->m_area_failed = qc_metrics_counter(m, "quakecast_area_broadcasts_total", "result=\"failed\"",
                                          "Area broadcasts (one push topic or Telegram channel message per alert, cell and threshold)");
    d->m_area_planned = qc_metrics_counter(m, "quakecast_area_planned_total", NULL,
                                           "Areas an alert reaches that this dispatcher started at once (the plan, area.c)");
    d->m_area_reached = qc_metrics_counter(m, "quakecast_area_reached_total", NULL,
                                           "People reached by their area's broadcast, who got no personal message on that channel");
    d->m_sent_late = qc_metrics_counter(m, "quakecast_sends_late_total", NULL,
                                        "Warnings handed to a provider after the S wave had reached the person");
}

/* Turns on each channel whose provider is configured, says which are off
 * and why, and gives limited channels their shared bucket. */
static int start_channels(qc_disp_t *d)
{
    const qc_channel_driver_t *all[QC_CH_COUNT_] = {
        [QC_CH_PUSH] = &qc_channel_fcm, [QC_CH_WEBHOOK] = &qc_channel_webhook,
        [QC_CH_TELEGRAM] = &qc_channel_telegram, [QC_CH_SMS] = &qc_channel_twilio,
        [QC_CH_EMAIL] = &qc_channel_smtp, [QC_CH_NULL] = &qc_channel_null,
    };
    d->sendq = qc_sendq_new(QC_CH_COUNT_);
    if (!d->sendq)
        return -1;
    for (int c = 0; c < QC_CH_COUNT_; c++) {
        const char *name = qc_channel_name((qc_channel_t)c);
        char why[256] = "";
        int on = all[c]->init ? all[c]->init(d, &d->chstate[c], why, sizeof why) : 1;
        if (on < 0) {
            qc_log(QC_LOG_ERROR, "startup_failed", "channel", name, "error", why[0] ? why : "out of memory", NULL);
            return -1;
        }
        if (on)
            d->drivers[c] = all[c];
        char rate[48] = "unlimited";
        if (on && d->conf.rate[c] > 0) {
            long burst = (long)(d->conf.rate[c] * (double)d->conf.rate_burst_ms / 1000.0);
            qc_rl_ops_t ops;
            qc_sends_rl_ops(d, &ops);
            d->rl[c] = qc_rl_new(d->base, d->redis, name, d->conf.rate[c], burst, &ops);
            if (!d->rl[c])
                return -1;
            snprintf(rate, sizeof rate, "%g/s", d->conf.rate[c]);
        }
        char lbl[48];
        snprintf(lbl, sizeof lbl, "channel=\"%s\"", name);
        d->m_sent_by[c] = qc_metrics_counter(d->metrics, "quakecast_channel_sent_total", lbl, "Messages handed to a provider, by channel");
        d->m_failed_by[c] = qc_metrics_counter(d->metrics, "quakecast_channel_failed_total", lbl,
                                               "Messages a channel gave up on (then the next channel is tried), by channel");
        qc_log(QC_LOG_INFO, "channel", "name", name, "state", on ? "on" : "off", "why", on ? "" : why, "rate", rate,
               NULL);
    }
    return 0;
}

static void stop_channels(qc_disp_t *d)
{
    qc_sendq_destroy(d->sendq); /* its items are the chunks' (freed with them) */
    d->sendq = NULL;
    for (int c = 0; c < QC_CH_COUNT_; c++) {
        qc_rl_destroy(d->rl[c]);
        if (d->drivers[c] && d->drivers[c]->destroy)
            d->drivers[c]->destroy(d->chstate[c]);
        d->rl[c] = NULL;
        d->drivers[c] = NULL;
    }
}

int main(int argc, char **argv)
{
    qc_disp_t d;
    memset(&d, 0, sizeof d);
    /* Lives as long as main(), so as long as every job. */
    const qc_job_hooks_t hooks = { .link_slow = hook_link_slow, .arrived = hook_arrived, .drained = hook_drained,
                                   .user = &d };
    char err[512];
    int rc = 1;
    if (argc > 1) {
        if (!strcmp(argv[1], "--config-markdown")) {
            qc_conf_print_markdown(stdout, qc_dconf_defs);
            return 0;
        }
        fprintf(stderr, "usage: quakecast-dispatcher [--help | --config-markdown]\n\nConfiguration (environment):\n");
        qc_conf_print_help(stderr, qc_dconf_defs);
        return strcmp(argv[1], "--help") ? 2 : 0;
    }
    if (qc_conf_load(qc_dconf_defs, &d.conf, err, sizeof err)) {
        fprintf(stderr, "quakecast-dispatcher: configuration: %s\n", err);
        return 2;
    }
    qc_log_level_t lvl;
    if (qc_log_level_parse(d.conf.log_level, &lvl)) {
        fprintf(stderr, "quakecast-dispatcher: configuration: QUAKECAST_LOG_LEVEL: not a level\n");
        goto out_conf;
    }
    qc_log_init("dispatcher", lvl);
    const char *bad = NULL;
    if (d.conf.push_area_prefix[0] && !qc_area_prefix_valid(d.conf.push_area_prefix))
        bad = "QUAKECAST_PUSH_AREA_PREFIX: a letter, then up to 11 letters, digits or _";
    else if (d.conf.telegram_area_prefix[0] && !qc_area_prefix_valid(d.conf.telegram_area_prefix))
        bad = "QUAKECAST_TELEGRAM_AREA_PREFIX: a letter, then up to 11 letters, digits or _";
    else if (strcmp(d.conf.send_order, "edf") && strcmp(d.conf.send_order, "nearest") &&
             strcmp(d.conf.send_order, "fifo"))
        bad = "QUAKECAST_SEND_ORDER: edf, nearest or fifo";
    if (bad) {
        fprintf(stderr, "quakecast-dispatcher: configuration: %s\n", bad);
        goto out_conf;
    }
    d.order = !strcmp(d.conf.send_order, "fifo") ? QC_ORDER_FIFO
              : !strcmp(d.conf.send_order, "nearest") ? QC_ORDER_NEAREST : QC_ORDER_EDF;
    qc_redis_auth_t rauth;
    if (qc_redis_auth_set(&rauth, d.conf.redis_user, d.conf.redis_password, err, sizeof err)) {
        fprintf(stderr, "quakecast-dispatcher: configuration: QUAKECAST_REDIS_USER/PASSWORD: %s\n", err);
        goto out_conf;
    }
    OPENSSL_cleanse(d.conf.redis_password, strlen(d.conf.redis_password));
    srand48((long)time(NULL) ^ (long)getpid());
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    d.base = event_base_new();
    d.metrics = qc_metrics_new();
    d.offsets = qc_offtrack_new();
    if (!d.base || !d.metrics || !d.offsets)
        goto out;
    register_metrics(&d);
    qc_httpc_opts_t ho = { .max_total_connections = d.conf.http_connections * 4,
                           .max_host_connections = d.conf.http_connections,
                           .timeout_ms = d.conf.http_timeout_ms, .connect_timeout_ms = 3000,
                           .http2 = (int)d.conf.http2 };
    d.http = qc_httpc_new(d.base, &ho);
    if (!d.http) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", "http client", NULL);
        goto out;
    }
    d.redis = qc_redis_new(d.base, d.conf.redis_url, &rauth, on_redis_state, &d, err, sizeof err);
    qc_redis_auth_wipe(&rauth); /* the connection holds its own copy */
    if (!d.redis) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", err, NULL);
        goto out;
    }
    if (start_channels(&d)) /* after Redis: the rate limiters' buckets live there */
        goto out;
    d.areas = qc_areas_new(&d, qc_chunk_area_resolved, &d);
    if (!d.areas)
        goto out;
    qc_jobs_init(&d, &hooks);
    char cid[128];
    snprintf(cid, sizeof cid, "quakecast-%s", d.conf.instance);
    d.producer = qc_kprod_new(d.base, d.conf.kafka_bootstrap, cid, err, sizeof err);
    const char *topics[] = { QC_TOPIC_DISPATCH };
    d.jobs_in = d.producer ? qc_kcons_new(d.base, d.conf.kafka_bootstrap, "quakecast-dispatcher", cid, topics, 1,
                                          qc_job_on_message, &d, err, sizeof err)
                           : NULL;
    if (d.producer) {
        qc_kprod_warm(d.producer, QC_TOPIC_DLQ);
        /* Jobs go back there at shutdown and when the Redis link is slow:
         * an unknown topic would hold the first of them for a metadata
         * refresh (about a second). */
        qc_kprod_warm(d.producer, QC_TOPIC_DISPATCH);
    }
    /* Verification codes: a group of their own, so a dispatcher out of the
     * jobs group (slow Redis link) still sends them. */
    const char *notice_topics[] = { QC_TOPIC_NOTICES };
    d.notices = d.jobs_in ? qc_notices_new(&d) : NULL;
    d.notices_in = d.notices ? qc_kcons_new(d.base, d.conf.kafka_bootstrap, "quakecast-dispatcher-notices", cid,
                                            notice_topics, 1, qc_notice_on_message, &d, err, sizeof err)
                             : NULL;
    if (!d.producer || !d.jobs_in || !d.notices_in) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", err, NULL);
        goto out;
    }
    d.httpd = qc_httpd_new(d.base, d.conf.http_addr, (int)d.conf.http_port, d.metrics, is_ready, &d, err, sizeof err);
    if (!d.httpd) {
        qc_log(QC_LOG_ERROR, "startup_failed", "error", err, NULL);
        goto out;
    }
    d.heartbeat = event_new(d.base, -1, EV_PERSIST, on_heartbeat, &d);
    struct timeval two = { 2, 0 };
    event_add(d.heartbeat, &two);
    d.linkcheck = event_new(d.base, -1, EV_PERSIST, on_linkcheck, &d);
    struct timeval half = { 0, 500 * 1000 };
    event_add(d.linkcheck, &half);
    d.sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
    d.sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
    event_add(d.sigint, NULL);
    event_add(d.sigterm, NULL);
    char port[16];
    snprintf(port, sizeof port, "%d", qc_httpd_port(d.httpd));
    qc_log(QC_LOG_INFO, "started", "port", port, "instance", d.conf.instance, NULL);
    event_base_dispatch(d.base);
    rc = 0;
out:
    if (d.heartbeat)
        event_free(d.heartbeat);
    if (d.linkcheck)
        event_free(d.linkcheck);
    if (d.sigint)
        event_free(d.sigint);
    if (d.sigterm)
        event_free(d.sigterm);
    if (d.grace)
        event_free(d.grace);
    qc_httpd_destroy(d.httpd);
    /* Delivery reports of hand-backs (the flush below) and Redis callbacks
     * (failures, when the client is destroyed below) still reach jobs:
     * they find no consumer or producer then and let go (job.c). */
    qc_kcons_destroy(d.jobs_in);
    qc_kcons_destroy(d.notices_in);
    d.jobs_in = d.notices_in = NULL;
    qc_kprod_destroy(d.producer, 2000);
    d.producer = NULL;
    qc_httpc_destroy(d.http);
    qc_sends_free_unanswered(&d); /* exits on the grace or a second signal leave sends in flight */
    qc_notices_destroy(d.notices); /* after the HTTP client: no callback comes later */
    if (d.areas)
        qc_areas_stop(d.areas); /* before Redis: its failed replies find the areas closed */
    qc_redis_destroy(d.redis);
    qc_jobs_free_all(&d);         /* after Redis: its failed replies have reached the jobs */
    qc_bcast_cleanup(&d);
    qc_areas_destroy(d.areas);
    stop_channels(&d);
    qc_offtrack_destroy(d.offsets);
    free(d.handback_parts); /* job.c's, found at stop */
    qc_metrics_destroy(d.metrics);
    if (d.base)
        event_base_free(d.base);
    curl_global_cleanup();
out_conf:
    qc_conf_free(qc_dconf_defs, &d.conf);
    return rc;
}
