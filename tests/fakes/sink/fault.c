/* fault.c: fault rules of the fake sink (POST/GET/DELETE /_sink/faults).
 *
 * A rule answers a matching delivery with an error in the provider's own
 * format, a delay, or a dropped connection. Rules are tried in the order
 * they were queued; the first match wins. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "qc/err.h"
#include "sink.h"

#define DELAY_MAX_MS 600000

static bool str_eq(const char *z, const char *p, size_t len)
{
    return strlen(z) == len && memcmp(z, p, len) == 0;
}

int sink_fault_match(const sink_t *s, int provider, int stage, const char *rcpt,
                     size_t rlen, const char *alert, size_t alen)
{
    for (size_t i = 0; i < s->nfaults; i++) {
        const sink_fault_t *f = &s->faults[i];

        if (f->provider != SINK_P_ANY && f->provider != provider)
            continue;
        if (f->smtp_stage != stage)
            continue;
        if (f->match_subscriber != NULL &&
            (rcpt == NULL || !str_eq(f->match_subscriber, rcpt, rlen)))
            continue;
        if (f->match_alert != NULL && (alert == NULL || !str_eq(f->match_alert, alert, alen)))
            continue;
        return (int)i;
    }
    return -1;
}

static void fault_free(sink_fault_t *f)
{
    free(f->match_subscriber);
    free(f->match_alert);
    free(f->error);
    memset(f, 0, sizeof(*f));
}

void sink_fault_consume(sink_t *s, size_t i)
{
    sink_fault_t *f = &s->faults[i];

    if (f->remaining < 0 || --f->remaining > 0)
        return;
    fault_free(f);
    memmove(&s->faults[i], &s->faults[i + 1], (s->nfaults - i - 1) * sizeof(*f));
    s->nfaults--;
}

/* Reads an optional integer member @p key within [lo, hi] into *out.
 * @returns 0 (absent or null leaves *out), or QC_ERR_INVAL. */
static int opt_int(json_t *o, const char *key, long lo, long hi, long *out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return QC_ERR_INVAL;
    *out = (long)json_integer_value(v);
    return 0;
}

static int opt_str(json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || (*out = strdup(json_string_value(v))) == NULL)
        return QC_ERR_INVAL;
    return 0;
}

/* The status implied by a provider error when the rule gives none. */
static int status_of_error(const sink_fault_t *f)
{
    switch (f->provider) {
    case SINK_P_TWILIO:
        return sink_twilio_error_status(f->error_num);
    case SINK_P_TELEGRAM:
        return f->error ? sink_telegram_error_status(f->error) : 0;
    case SINK_P_FCM:
        return f->error ? sink_fcm_error_status(f->error) : 0;
    default:
        return 0;
    }
}

static int fault_parse(json_t *o, sink_fault_t *f, const char **err)
{
    json_t *v;
    long n;

    memset(f, 0, sizeof(*f));
    f->remaining = -1;
    f->retry_after = -1;
    f->error_num = -1;
    f->provider = SINK_P_ANY;
    if (!json_is_object(o)) {
        *err = "a fault is a JSON object";
        return QC_ERR_INVAL;
    }
    n = 0;
    if (opt_int(o, "status", 400, 599, &n) != 0) {
        *err = "status must be an integer 400..599";
        goto bad;
    }
    f->status = (int)n;
    if ((v = json_object_get(o, "count")) != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            *err = "count must be an integer >= 1";
            goto bad;
        }
        f->remaining = json_integer_value(v);
    }
    if (opt_int(o, "retry_after", 0, 86400, &f->retry_after) != 0) {
        *err = "retry_after must be an integer 0..86400";
        goto bad;
    }
    if (opt_int(o, "delay_ms", 0, DELAY_MAX_MS, &f->delay_ms) != 0) {
        *err = "delay_ms must be an integer 0..600000";
        goto bad;
    }
    if ((v = json_object_get(o, "drop")) != NULL && !json_is_null(v)) {
        if (!json_is_boolean(v)) {
            *err = "drop must be a boolean";
            goto bad;
        }
        f->drop = json_is_true(v);
    }
    if ((v = json_object_get(o, "provider")) != NULL && !json_is_null(v)) {
        if (!json_is_string(v) ||
            (f->provider = sink_provider_parse(json_string_value(v))) == SINK_P_ANY) {
            *err = "provider must be webhook, twilio, telegram, fcm or smtp";
            goto bad;
        }
    }
    n = 0;
    if (opt_int(o, "smtp_code", 400, 599, &n) != 0) {
        *err = "smtp_code must be an integer 400..599";
        goto bad;
    }
    f->smtp_code = (int)n;
    if ((v = json_object_get(o, "smtp_stage")) != NULL && !json_is_null(v)) {
        const char *st = json_is_string(v) ? json_string_value(v) : "";

        if (strcmp(st, "rcpt") == 0) {
            f->smtp_stage = SINK_STAGE_REQUEST;
        } else if (strcmp(st, "data") == 0) {
            f->smtp_stage = SINK_STAGE_DATA;
        } else {
            *err = "smtp_stage must be \"rcpt\" or \"data\"";
            goto bad;
        }
    }
    if ((f->smtp_code != 0 || f->smtp_stage != SINK_STAGE_REQUEST) &&
        f->provider == SINK_P_ANY)
        f->provider = SINK_P_SMTP;
    if ((f->smtp_code != 0 || f->smtp_stage != SINK_STAGE_REQUEST) &&
        f->provider != SINK_P_SMTP) {
        *err = "smtp_code and smtp_stage are for provider smtp";
        goto bad;
    }
    if ((v = json_object_get(o, "error")) != NULL && !json_is_null(v)) {
        if (json_is_integer(v)) {
            f->error_num = (long)json_integer_value(v);
        } else if (json_is_string(v)) {
            char *end;

            if ((f->error = strdup(json_string_value(v))) == NULL) {
                *err = "out of memory";
                goto bad;
            }
            n = strtol(f->error, &end, 10);
            if (end != f->error && *end == '\0')
                f->error_num = n;
        } else {
            *err = "error must be an integer or a string";
            goto bad;
        }
        if (f->provider == SINK_P_ANY || f->provider == SINK_P_WEBHOOK ||
            f->provider == SINK_P_SMTP) {
            *err = "error needs provider twilio, telegram or fcm";
            goto bad;
        }
        if (f->status == 0 && (f->status = status_of_error(f)) == 0) {
            *err = "unknown error for this provider: give status too";
            goto bad;
        }
    }
    if (f->status == 0 && f->delay_ms == 0 && !f->drop && f->smtp_code == 0) {
        *err = "a fault needs status, error, smtp_code, delay_ms > 0 or drop";
        goto bad;
    }
    if (opt_str(o, "match_recipient", &f->match_subscriber) != 0) {
        *err = "match_recipient must be a string";
        goto bad;
    }
    if (f->match_subscriber == NULL &&
        opt_str(o, "match_subscriber", &f->match_subscriber) != 0) {
        *err = "match_subscriber must be a string";
        goto bad;
    }
    if (opt_str(o, "match_alert", &f->match_alert) != 0) {
        *err = "match_alert must be a string";
        goto bad;
    }
    return 0;

bad:
    fault_free(f);
    return QC_ERR_INVAL;
}

void sink_faults_post(sink_t *s, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in), n;
    const char *err = "body must be a JSON object or array of objects";
    sink_fault_t parsed[SINK_MAX_FAULTS];
    json_error_t jerr;
    json_t *root;
    char body[64];

    root = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "", len, 0, &jerr);
    if (root == NULL)
        goto bad;
    n = json_is_array(root) ? json_array_size(root) : 1;
    if (n == 0 || s->nfaults + n > SINK_MAX_FAULTS) {
        err = "too many fault rules (max 64 queued)";
        goto bad;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_is_array(root) ? json_array_get(root, i) : root;

        if (fault_parse(o, &parsed[i], &err) != 0) {
            while (i-- > 0)
                fault_free(&parsed[i]);
            goto bad;
        }
    }
    memcpy(&s->faults[s->nfaults], parsed, n * sizeof(parsed[0]));
    s->nfaults += n;
    json_decref(root);
    snprintf(body, sizeof(body), "{\"ok\":true,\"rules\":%zu}\n", s->nfaults);
    sink_reply(req, 200, body);
    return;

bad:
    json_decref(root);
    {
        struct evbuffer *b = evhttp_request_get_output_buffer(req);

        evbuffer_add_printf(b, "{\"ok\":false,\"error\":");
        sink_json_string(b, err, strlen(err));
        evbuffer_add(b, "}\n", 2);
        sink_reply(req, 400, NULL);
    }
}

static void json_opt_string(struct evbuffer *b, const char *s)
{
    if (s != NULL)
        sink_json_string(b, s, strlen(s));
    else
        evbuffer_add(b, "null", 4);
}

void sink_faults_get(sink_t *s, struct evhttp_request *req)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    evbuffer_add_printf(b, "{\"rules\":[");
    for (size_t i = 0; i < s->nfaults; i++) {
        const sink_fault_t *f = &s->faults[i];

        evbuffer_add_printf(b,
                            "%s{\"status\":%d,\"count\":%" PRId64 ",\"retry_after\":%ld,"
                            "\"delay_ms\":%ld,\"drop\":%s,\"match_subscriber\":",
                            i ? "," : "", f->status, f->remaining, f->retry_after,
                            f->delay_ms, f->drop ? "true" : "false");
        json_opt_string(b, f->match_subscriber);
        evbuffer_add(b, ",\"match_alert\":", 15);
        json_opt_string(b, f->match_alert);
        evbuffer_add(b, ",\"provider\":", 12);
        json_opt_string(b, f->provider == SINK_P_ANY ? NULL : sink_provider_name(f->provider));
        evbuffer_add(b, ",\"error\":", 9);
        if (f->error == NULL && f->error_num >= 0)
            evbuffer_add_printf(b, "%ld", f->error_num);
        else
            json_opt_string(b, f->error);
        if (f->provider == SINK_P_SMTP)
            evbuffer_add_printf(b, ",\"smtp_code\":%d,\"smtp_stage\":\"%s\"",
                                sink_smtp_fault_code(f),
                                f->smtp_stage == SINK_STAGE_DATA ? "data" : "rcpt");
        evbuffer_add(b, "}", 1);
    }
    evbuffer_add_printf(b, "],\"pending\":%zu}\n", s->npending);
    sink_reply(req, 200, NULL);
}

void sink_faults_clear(sink_t *s)
{
    for (size_t i = 0; i < s->nfaults; i++)
        fault_free(&s->faults[i]);
    s->nfaults = 0;
}
