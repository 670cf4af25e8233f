/* api/selfsvc.c: wires the routes of issue 6 (self-service sign-up and
 * management, admin listing and export, inbound SMS, the alert list and the
 * web pages) into the processor's HTTP server, with their metrics. No
 * metric carries a label from a request: no personal data, no unbounded
 * series. */
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "apiutil.h"
#include "qc/log.h"
#include "qc/msg.h"

/* /v1/subscribers exactly: POST is the public sign-up, GET the admin list. */
static void subscribers_root(struct evhttp_request *req, const char *rest, void *opaque)
{
    qc_proc_t *p = opaque;
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_POST: qc_api_signup(p, req); break;
    case EVHTTP_REQ_GET: qc_api_subscribers_list(p, req); break;
    default: qc_http_reply_error(req, 405, "method_not_allowed", "use POST (sign up) or GET (admin list)", NULL);
    }
}

static int split_prefixes(qc_selfsvc_t *ss, const char *list)
{
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ", ");
        if (n > 0) {
            char **grown = realloc(ss->sms_prefixes, (ss->n_sms_prefixes + 1) * sizeof *grown);
            if (!grown)
                return -1;
            ss->sms_prefixes = grown;
            if (!(ss->sms_prefixes[ss->n_sms_prefixes] = strndup(s, n)))
                return -1;
            ss->n_sms_prefixes++;
        }
        s += n;
        while (*s == ',' || *s == ' ')
            s++;
    }
    return 0;
}

int qc_selfsvc_start(qc_proc_t *p)
{
    qc_selfsvc_t *ss = calloc(1, sizeof *ss);
    if (!ss)
        return -1;
    p->selfsvc = ss;
    if (split_prefixes(ss, p->conf.signup_sms_prefixes))
        return -1;
    for (size_t i = 0; i < ss->n_sms_prefixes; i++)
        if (ss->sms_prefixes[i][0] != '+' || strspn(ss->sms_prefixes[i] + 1, "0123456789") != strlen(ss->sms_prefixes[i] + 1)) {
            qc_log(QC_LOG_ERROR, "config_invalid", "key", "QUAKECAST_SIGNUP_SMS_PREFIXES", "error",
                   "each prefix is + and digits", NULL);
            return -1;
        }
    qc_metrics_t *m = p->metrics;
    const char *h_su = "Public sign-ups, by outcome";
    ss->m_signup_pending = qc_metrics_counter(m, "quakecast_signups_total", "result=\"pending\"", h_su);
    ss->m_signup_rejected = qc_metrics_counter(m, "quakecast_signups_total", "result=\"rejected\"", h_su);
    ss->m_signup_limited = qc_metrics_counter(m, "quakecast_signups_total", "result=\"rate_limited\"", h_su);
    const char *h_vf = "Verification attempts, by outcome";
    ss->m_verify_ok = qc_metrics_counter(m, "quakecast_verifications_total", "result=\"verified\"", h_vf);
    ss->m_verify_wrong = qc_metrics_counter(m, "quakecast_verifications_total", "result=\"wrong\"", h_vf);
    ss->m_verify_locked = qc_metrics_counter(m, "quakecast_verifications_total", "result=\"locked\"", h_vf);
    ss->m_verify_limited = qc_metrics_counter(m, "quakecast_verifications_total", "result=\"rate_limited\"", h_vf);
    ss->m_auth_failed = qc_metrics_counter(m, "quakecast_auth_failures_total", "endpoint=\"subscribers\"",
                                           "Requests refused for missing or wrong credentials");
    ss->m_forbidden = qc_metrics_counter(m, "quakecast_subscriber_forbidden_total", NULL,
                                         "Subscriber tokens used on another subscriber");
    const char *h_sms = "Inbound SMS webhooks, by what they asked";
    ss->m_sms_stop = qc_metrics_counter(m, "quakecast_sms_inbound_total", "action=\"stop\"", h_sms);
    ss->m_sms_start = qc_metrics_counter(m, "quakecast_sms_inbound_total", "action=\"start\"", h_sms);
    ss->m_sms_other = qc_metrics_counter(m, "quakecast_sms_inbound_total", "action=\"ignored\"", h_sms);
    ss->m_sms_bad_sig = qc_metrics_counter(m, "quakecast_sms_inbound_total", "action=\"bad_signature\"", h_sms);
    ss->m_notices = qc_metrics_counter(m, "quakecast_notices_queued_total", NULL, "Verification messages queued on quake.notices");
    ss->m_notices_failed = qc_metrics_counter(m, "quakecast_notices_failed_total", NULL,
                                              "Verification messages Kafka did not take");
    ss->m_patched = qc_metrics_counter(m, "quakecast_subscribers_changed_total", "change=\"patch\"", "Subscriber changes through the API");
    ss->m_deleted = qc_metrics_counter(m, "quakecast_subscribers_changed_total", "change=\"delete\"", "Subscriber changes through the API");
    qc_kprod_warm(p->producer, QC_TOPIC_NOTICES);
    if (qc_httpd_route(p->httpd, "/v1/subscribers", true, subscribers_root, p) ||
        qc_httpd_route(p->httpd, "/v1/sms/inbound", true, qc_api_sms_inbound, p) ||
        qc_httpd_route(p->httpd, "/v1/alerts", true, qc_api_alerts_list, p) ||
        qc_httpd_route(p->httpd, "/", true, qc_api_pages, p) ||
        qc_httpd_route(p->httpd, "/dashboard", true, qc_api_pages, p) ||
        qc_httpd_route(p->httpd, "/static/", false, qc_api_pages, p))
        return -1;
    qc_log(QC_LOG_INFO, "selfservice", "inbound_sms", p->conf.twilio_auth_token[0] ? "on" : "off", NULL);
    return 0;
}

void qc_selfsvc_stop(qc_proc_t *p)
{
    qc_selfsvc_t *ss = p->selfsvc;
    if (!ss)
        return;
    for (size_t i = 0; i < ss->n_sms_prefixes; i++)
        free(ss->sms_prefixes[i]);
    free(ss->sms_prefixes);
    free(ss);
    p->selfsvc = NULL;
}
