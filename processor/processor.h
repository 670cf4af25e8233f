/* processor.h: the processor's daemon context, passed to every module. */
#ifndef QC_PROCESSOR_H
#define QC_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "qc/config.h"
#include "qc/httpc.h"
#include "qc/httpd.h"
#include "qc/kafka.h"
#include "qc/metrics.h"
#include "qc/redis.h"
#include "qc/regime.h"
#include "qc/sizing.h"

struct event_base;
struct event;

typedef struct qc_pconf {
    char *http_addr;
    long http_port;
    char *kafka_bootstrap;
    char *redis_url;
    char *redis_user, *redis_password;
    char *api_token;
    char *log_level;
    char *instance;
    long max_event_age_s;
    int webhook_allow_private;
    long default_min_mmi;
    double min_magnitude;
    long alert_deadline_s;
    double assoc_window_s, assoc_km, assoc_mag; /* association windows */
    long dispatch_partitions;
    long topic_replication;
    long topic_min_insync;
    long import_max_bytes;
    long decision_timeout_ms;
    double dispatcher_rate;     /* measured hand-offs/s per dispatcher, for sizing */
    double handoff_target_s;    /* whole base handed off within this */
    char *poll_usgs_url, *poll_fdsn_url; /* feeds to poll; "" = off */
    char *cap_sender, *cap_sender_name;
    char *regions_file;         /* tectonic regions table; "" = the compiled-in one */
    char *push_area_prefix, *telegram_area_prefix; /* area broadcast routes (GET /v1/areas); "": off */
    char *plan_order;           /* "deadline" (default) or "registry" (benchmarks) */
    char *source_secrets;       /* "name=whsec_...,...": sources that sign their pushes */
    long poll_interval_s, poll_max_backoff_s, poll_max_bytes;
    /* self-service sign-up (issue 6, api/selfsvc.c) */
    char *public_url;           /* as clients see us: Twilio signs this URL */
    int trust_proxy;            /* client address from X-Forwarded-For */
    char *twilio_auth_token;    /* checks inbound SMS webhooks; "" = off */
    int signup_allow_private;   /* public webhooks may target private hosts */
    char *signup_sms_prefixes;  /* "+40,+373": numbers sign-up accepts; "" = any */
    long public_max_bytes, json_max_depth;
    long verify_ttl_s, verify_max_tries;
    long limit_signup_ip, limit_signup_dest, limit_verify_ip, limit_window_s;
    long shutdown_grace_s;      /* drain.c: longest clean stop */
} qc_pconf_t;

extern const qc_conf_def_t qc_pconf_defs[];

typedef struct qc_pending qc_pending_t; /* pending.c */
typedef struct qc_poller qc_poller_t;   /* poller.c */
typedef struct qc_selfsvc qc_selfsvc_t; /* api/selfsvc.c */

typedef struct qc_proc {
    qc_pconf_t conf;
    struct event_base *base;
    /* I/O */
    qc_httpd_t *httpd;
    qc_redis_t *redis;       /* commands and scripts */
    qc_redis_t *redis_sub;   /* SUBSCRIBE only: decisions for waiting requests */
    qc_kprod_t *producer;
    qc_kcons_t *events;      /* consumer of quake.events */
    qc_pending_t *pending;
    qc_httpc_t *http;        /* feed polls (NULL when no feed is polled) */
    qc_poller_t *poll_usgs, *poll_fdsn;
    qc_selfsvc_t *selfsvc;   /* sign-up, verification, pages */
    unsigned char token_sha[32];
    qc_regions_t *regions;   /* tectonic regime of each event: picks its intensity model */
    /* sizing, refreshed every second */
    long subscribers;
    long dispatchers_live;
    qc_sizing_t sizing;
    struct event *tick;
    struct event *sigint, *sigterm;
    /* clean stop (drain.c) */
    bool draining;
    int deciding;            /* events of quake.events being decided (0 or 1) */
    struct event *drain_tick;
    int drain_idle_ticks;    /* consecutive ticks with nothing in flight */
    int64_t drain_started_ms;
    /* metrics */
    qc_metrics_t *metrics;
    qc_series_t *m_imported, *m_import_rejected;
    qc_series_t *m_events_in, *m_events_bad, *m_kafka_bad, *m_auth_failed;
    qc_series_t *m_alerts, *m_updates, *m_duplicates, *m_ignored;
    qc_series_t *m_jobs, *m_jobs_failed, *m_plan_seconds;
} qc_proc_t;

/* drain.c: SIGTERM stops taking events, reports not ready, answers what it
 * holds and exits once nothing is in flight or the grace period is over. */
void qc_drain_start(qc_proc_t *p);
void qc_drain_free(qc_proc_t *p);

/* api/import.c */
void qc_api_import(struct evhttp_request *req, const char *rest, void *opaque);
/* api/events.c */
void qc_api_events(struct evhttp_request *req, const char *rest, void *opaque);
/* api/subscribers.c */
void qc_api_subscribers(struct evhttp_request *req, const char *rest, void *opaque);
/* api/selfsvc.c: the routes of issue 6 (sign-up, verification, listing,
 * export, inbound SMS, alert list, pages) and their metrics */
int qc_selfsvc_start(qc_proc_t *p);
void qc_selfsvc_stop(qc_proc_t *p);
/* api/alerts.c */
void qc_api_alerts(struct evhttp_request *req, const char *rest, void *opaque);
/* api/areas.c: GET /v1/areas, the area broadcast routes of a place */
void qc_api_areas(struct evhttp_request *req, const char *rest, void *opaque);

/* decide.c: consumes quake.events */
void qc_decide_on_message(rd_kafka_message_t *msg, void *opaque);

/* pending.c: HTTP requests waiting for the decision on their events */
typedef void (*qc_pending_cb)(const char *decision_json, void *opaque);
qc_pending_t *qc_pending_new(qc_proc_t *p);
void qc_pending_destroy(qc_pending_t *pd);
/** Registers @p corr; @p cb gets the decision JSON or NULL on timeout. */
int qc_pending_add(qc_pending_t *pd, const char *corr, int timeout_ms, qc_pending_cb cb, void *opaque);
/** Publishes a decision for @p corr (from whichever processor decided). */
void qc_pending_publish(qc_proc_t *p, const char *corr, const char *decision_json);
/** Called for each message on the decisions channel. */
void qc_pending_deliver(qc_pending_t *pd, const char *corr, const char *json);

/* poller.c: conditional GETs of a feed, new reports onto quake.events */
qc_poller_t *qc_poller_new(qc_proc_t *p, const char *name, const char *url, bool fdsn);
void qc_poller_destroy(qc_poller_t *po);

/* planner.c */
typedef struct qc_plan_req qc_plan_req_t;

#endif
