/* channels/twilio.c: SMS through Twilio's Programmable Messaging API.
 *
 * Wire format (https://www.twilio.com/docs/messaging/api/message-resource
 * #create-a-message-resource): POST <url>/2010-04-01/Accounts/<AccountSid>/
 * Messages.json, HTTP basic auth AccountSid:AuthToken, form fields To,
 * From (or MessagingServiceSid for a sender pool) and Body; 201 with the
 * message resource when queued. Errors are {"code":N,"message":...,
 * "status":S}; the codes that mean the number will never take an SMS from
 * us make the channel dead (https://www.twilio.com/docs/api/errors):
 * 21211 invalid 'To' number, 21610 recipient replied STOP, 21614 not a
 * mobile number. 429 (code 20429) and 5xx are transient. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"

typedef struct tw {
    char url[512];
    char auth[512];      /* "Authorization: Basic ..." */
    const char *from;
    bool service;        /* from is a Messaging Service SID (MG...) */
} tw_t;

static int tw_init(qc_disp_t *d, void **state, char *why, size_t whysz)
{
    const qc_dconf_t *c = &d->conf;
    if (!c->twilio_sid[0] || !c->twilio_token[0] || !c->twilio_from[0]) {
        snprintf(why, whysz, "QUAKECAST_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM are needed");
        return 0;
    }
    tw_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    size_t bl = strlen(c->twilio_url);
    while (bl && c->twilio_url[bl - 1] == '/')
        bl--;
    char cred[300];
    unsigned char raw[300];
    int rl = snprintf((char *)raw, sizeof raw, "%s:%s", c->twilio_sid, c->twilio_token);
    if ((size_t)snprintf(t->url, sizeof t->url, "%.*s/2010-04-01/Accounts/%s/Messages.json", (int)bl, c->twilio_url,
                         c->twilio_sid) >= sizeof t->url ||
        rl < 0 || (size_t)rl >= sizeof raw || qc_b64(raw, (size_t)rl, cred, sizeof cred) < 0) {
        snprintf(why, whysz, "Twilio URL or credentials too long");
        free(t);
        return -1;
    }
    snprintf(t->auth, sizeof t->auth, "Authorization: Basic %s", cred);
    t->from = c->twilio_from;
    t->service = !strncmp(t->from, "MG", 2);
    *state = t;
    qc_httpc_warm(d->http, t->url, 2);
    return 1;
}

static void tw_destroy(void *state) { free(state); }

static void on_done(const qc_httpc_result_t *res, void *opaque)
{
    qc_send_t *s = opaque;
    char detail[200];
    if (res->err) {
        snprintf(detail, sizeof detail, "%s", res->curl_error[0] ? res->curl_error : "network error");
        s->done(s, QC_SEND_TRANSIENT, -1, detail);
        return;
    }
    qc_send_outcome_t o = qc_http_outcome(res->status, 0);
    if (o == QC_SEND_OK) {
        s->done(s, o, -1, NULL);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    json_int_t code = json_integer_value(json_object_get(j, "code"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    snprintf(detail, sizeof detail, "HTTP %ld code %lld %s", res->status, (long long)code, msg ? msg : "");
    if (code == 21211 || code == 21610 || code == 21614)
        o = QC_SEND_DEAD;
    json_decref(j);
    s->done(s, o, o == QC_SEND_TRANSIENT ? res->retry_after_s : -1, detail);
}

static int tw_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    tw_t *t = state;
    char form[2048];
    size_t n = 0;
    /* One SMS segment is 160 GSM-7 characters (3GPP TS 23.038; the texts
     * are plain ASCII for that reason): a long place name is dropped
     * rather than split the warning over two segments that may arrive
     * apart. */
    const char *text = s->text;
    char shorter[512];
    if (strlen(text) > 160 && s->job->place[0]) {
        qc_msg_job_t nameless = *s->job;
        nameless.place[0] = '\0';
        qc_render_message(shorter, sizeof shorter, s->sub->lang, &nameless, s->mmi, s->seconds);
        text = shorter;
    }
    if (qc_form_add(form, sizeof form, &n, "To", s->sub->sms_phone) ||
        qc_form_add(form, sizeof form, &n, t->service ? "MessagingServiceSid" : "From", t->from) ||
        qc_form_add(form, sizeof form, &n, "Body", text))
        return -1;
    const char *headers[] = { "Content-Type: application/x-www-form-urlencoded", t->auth, NULL };
    return qc_httpc_request(d->http, "POST", t->url, headers, form, n, on_done, s);
}

const qc_channel_driver_t qc_channel_twilio = { .name = "sms", .init = tw_init, .destroy = tw_destroy,
                                                .send = tw_send };
