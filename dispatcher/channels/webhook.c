/* channels/webhook.c: signed webhooks (Standard Webhooks: webhook-id,
 * webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>").
 * 2xx = handed off; 408, 425, 429 and 5xx are transient; other 4xx are
 * permanent (the receiver refuses this message for good). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatcher.h"
#include "qc/clock.h"
#include "qc/sign.h"

static void on_http_done(const qc_httpc_result_t *res, void *opaque)
{
    qc_send_t *s = opaque;
    char detail[160];
    if (res->err) {
        snprintf(detail, sizeof detail, "%s", res->curl_error && res->curl_error[0] ? res->curl_error : "network error");
        s->done(s, QC_SEND_TRANSIENT, -1, detail);
        return;
    }
    snprintf(detail, sizeof detail, "HTTP %ld", res->status);
    qc_send_outcome_t o = qc_http_outcome(res->status, 0);
    s->done(s, o, o == QC_SEND_TRANSIENT ? res->retry_after_s : -1, o == QC_SEND_OK ? NULL : detail);
}

static int webhook_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    (void)state;
    const qc_subscriber_t *sub = s->sub;
    const qc_msg_job_t *job = s->job;
    int64_t ts = qc_wall_ms() / 1000;
    json_t *body = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:s,s:s,s:f,s:f,s:f,s:I}", "subscriber_id", sub->id,
                             "alert_id", job->alert_id, "event_id", job->event_id, "magnitude", job->mag,
                             "mmi", s->mmi, "seconds_to_shaking", s->seconds > 0 ? s->seconds : 0.0,
                             "message", s->text, "lang", sub->lang, "latitude", job->lat, "longitude",
                             job->lon, "depth_km", job->depth_km, "origin_ms", (json_int_t)job->origin_ms);
    static const char *const kinds[] = { "alert", "update", "cancel" };
    if (body)
        json_object_set_new(body, "kind", json_string(kinds[job->kind <= QC_JOB_CANCEL ? job->kind : 0]));
    char *json = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(body);
    if (!json)
        return -1;
    unsigned char key[128];
    int keylen = qc_sign_secret_decode(sub->webhook_secret, key, sizeof key);
    char sig[QC_SIGN_V1_LEN];
    size_t jl = strlen(json);
    if (keylen <= 0 || qc_sign_v1(key, (size_t)keylen, s->idem_key, ts, json, jl, sig)) {
        free(json);
        return -1;
    }
    char h_id[200], h_ts[64], h_sig[96];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", s->idem_key);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", (long long)ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    const char *headers[] = { "Content-Type: application/json", h_id, h_ts, h_sig, "User-Agent: quakecast/0.1", NULL };
    int rc = qc_httpc_request(d->http, "POST", sub->webhook_url, headers, json, jl, on_http_done, s);
    free(json);
    return rc;
}

const qc_channel_driver_t qc_channel_webhook = { .name = "webhook", .send = webhook_send };
