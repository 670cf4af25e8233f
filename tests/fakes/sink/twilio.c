/* twilio.c: a fake of Twilio's Messages API, enough for an SMS driver.
 *
 * POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP
 * basic auth AccountSid:AuthToken; 201 with the message resource
 * (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
 * Errors are Twilio's JSON error object with its numeric codes
 * (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions,
 * https://www.twilio.com/docs/api/errors). Recipient = To, text = Body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sink.h"

#define TWILIO_PREFIX "/2010-04-01/Accounts/"
#define TWILIO_BODY_MAX 1600 /* characters, error 21617 */

typedef struct twilio_error {
    long code;
    int status;
    const char *message;
} twilio_error_t;

/* Codes from https://www.twilio.com/docs/api/errors/<code>. */
static const twilio_error_t twilio_errors[] = {
    {20003, 401, "Authenticate"},
    {20004, 405, "Method not allowed"},
    {20404, 404, "The requested resource was not found"},
    {20429, 429, "Too Many Requests"},
    {20500, 500, "An internal server error has occurred"},
    {20503, 503, "Service is unavailable. Please try again"},
    {21211, 400, "Invalid 'To' Phone Number"},
    {21408, 400, "Permission to send an SMS has not been enabled for the region "
                 "indicated by the 'To' number"},
    {21602, 400, "Message body is required."},
    {21603, 400, "A 'From' or 'MessagingServiceSid' parameter is required to send a message"},
    {21604, 400, "A 'To' phone number is required."},
    {21610, 400, "Attempt to send to unsubscribed recipient"},
    {21612, 400, "The 'To' phone number is not currently reachable via SMS"},
    {21614, 400, "'To' number is not a valid mobile number"},
    {21617, 400, "The concatenated message body exceeds the 1600 character limit."},
    {30007, 400, "Message filtered"},
};
#define NERRORS (sizeof(twilio_errors) / sizeof(twilio_errors[0]))

static const twilio_error_t *error_find(long code)
{
    for (size_t i = 0; i < NERRORS; i++)
        if (twilio_errors[i].code == code)
            return &twilio_errors[i];
    return NULL;
}

int sink_twilio_error_status(long code)
{
    const twilio_error_t *e = error_find(code);

    return e ? e->status : 0;
}

/* The code Twilio gives for a bare HTTP status. */
static long default_code(int status)
{
    switch (status) {
    case 400: return 21211;
    case 401: return 20003;
    case 404: return 20404;
    case 405: return 20004;
    case 429: return 20429;
    case 503: return 20503;
    default: return status >= 500 ? 20500 : 20000 + status;
    }
}

static void twilio_error(struct evhttp_request *req, int status, long code, long retry_after)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);
    const twilio_error_t *e;

    if (code < 0)
        code = default_code(status);
    e = error_find(code);
    sink_retry_after_header(req, retry_after);
    evbuffer_add_printf(b, "{\"code\":%ld,\"message\":", code);
    if (e != NULL)
        sink_json_string(b, e->message, strlen(e->message));
    else
        evbuffer_add_printf(b, "\"Error %ld\"", code);
    evbuffer_add_printf(b, ",\"more_info\":\"https://www.twilio.com/docs/errors/%ld\","
                           "\"status\":%d}\n",
                        code, status);
    sink_reply(req, status, NULL);
}

void sink_twilio_fault(struct evhttp_request *req, int status, long code, long retry_after)
{
    twilio_error(req, status, code, retry_after);
}

/* E.164: '+', a non-zero digit, at most 15 digits in all
 * (https://www.twilio.com/docs/glossary/what-e164). */
static bool is_e164(const char *n)
{
    size_t digits = 0;

    if (n[0] != '+' || n[1] < '1' || n[1] > '9')
        return false;
    for (const char *p = n + 1; *p; p++, digits++)
        if (*p < '0' || *p > '9')
            return false;
    return digits >= 7 && digits <= 15;
}

/* Characters (code points) of UTF-8 @p s, and whether all are ASCII. */
static size_t utf8_chars(const char *s, bool *ascii)
{
    size_t n = 0;

    *ascii = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80)
            *ascii = false;
        if ((*p & 0xc0) != 0x80)
            n++;
    }
    return n;
}

static void add_field(struct evbuffer *b, const char *name, const char *v)
{
    evbuffer_add_printf(b, ",\"%s\":", name);
    if (v != NULL)
        sink_json_string(b, v, strlen(v));
    else
        evbuffer_add(b, "null", 4);
}

/* The message resource Twilio answers a create with. */
static struct evbuffer *message_json(sink_t *s, const char *sid_acct, const char *to,
                                     const char *from, const char *mss, const char *body,
                                     size_t chars, bool ascii)
{
    struct evbuffer *b = evbuffer_new();
    char sid[35], date[40];
    time_t now = time(NULL);
    struct tm tm;
    size_t segments;

    if (b == NULL)
        return NULL;
    snprintf(sid, sizeof(sid), "SM%016llx%016llx", (unsigned long long)sink_rand(s),
             (unsigned long long)sink_rand(s));
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    /* GSM-7 fits 160 characters (153 per part when split), UCS-2 70 (67) */
    if (ascii)
        segments = chars <= 160 ? 1 : (chars + 152) / 153;
    else
        segments = chars <= 70 ? 1 : (chars + 66) / 67;
    evbuffer_add(b, "{\"account_sid\":", 15);
    sink_json_string(b, sid_acct, strlen(sid_acct));
    evbuffer_add_printf(b, ",\"api_version\":\"2010-04-01\"");
    add_field(b, "body", body);
    add_field(b, "date_created", date);
    evbuffer_add_printf(b, ",\"date_sent\":null");
    add_field(b, "date_updated", date);
    evbuffer_add_printf(b, ",\"direction\":\"outbound-api\",\"error_code\":null,"
                           "\"error_message\":null");
    add_field(b, "from", from);
    add_field(b, "messaging_service_sid", mss);
    evbuffer_add_printf(b, ",\"num_media\":\"0\",\"num_segments\":\"%zu\",\"price\":null,"
                           "\"price_unit\":\"USD\",\"sid\":\"%s\",\"status\":\"%s\","
                           "\"subresource_uris\":{\"media\":"
                           "\"/2010-04-01/Accounts/%s/Messages/%s/Media.json\"}",
                        segments, sid, from != NULL ? "queued" : "accepted", sid_acct, sid);
    add_field(b, "to", to);
    evbuffer_add_printf(b, ",\"uri\":\"/2010-04-01/Accounts/%s/Messages/%s.json\"}\n",
                        sid_acct, sid);
    return b;
}

void sink_twilio_request(sink_t *s, struct evhttp_request *req, const char *path)
{
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_TWILIO);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Authorization");
    const char *sid = s->conf->twilio_sid, *to, *from, *mss, *body;
    size_t sidlen = strlen(sid), len, chars;
    struct evkeyvalq form;
    sink_msg_t m;
    bool ascii;

    ps->requests++;
    if (auth == NULL || strcmp(auth, s->twilio_basic) != 0) {
        ps->unauthorized++;
        twilio_error(req, 401, 20003, -1);
        return;
    }
    /* the path's AccountSid must be the one authenticated */
    if (strncmp(path, TWILIO_PREFIX, strlen(TWILIO_PREFIX)) != 0 ||
        strncmp(path + strlen(TWILIO_PREFIX), sid, sidlen) != 0 ||
        path[strlen(TWILIO_PREFIX) + sidlen] != '/') {
        ps->unauthorized++;
        twilio_error(req, 401, 20003, -1);
        return;
    }
    if (strcmp(path + strlen(TWILIO_PREFIX) + sidlen, "/Messages.json") != 0) {
        twilio_error(req, 404, 20404, -1);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        twilio_error(req, 405, 20004, -1);
        return;
    }
    len = evbuffer_get_length(in);
    if (sink_form_parse(len ? (const char *)evbuffer_pullup(in, -1) : "", len, &form) != 0) {
        ps->bad_request++;
        evhttp_clear_headers(&form);
        twilio_error(req, 400, 21604, -1);
        return;
    }
    to = evhttp_find_header(&form, "To");
    from = evhttp_find_header(&form, "From");
    mss = evhttp_find_header(&form, "MessagingServiceSid");
    body = evhttp_find_header(&form, "Body");
    if (from != NULL && from[0] == '\0')
        from = NULL;
    if (mss != NULL && mss[0] == '\0')
        mss = NULL;
    if (to == NULL || to[0] == '\0') {
        twilio_error(req, 400, 21604, -1);
    } else if (strlen(to) > SINK_SUB_MAX || !is_e164(to)) {
        twilio_error(req, 400, 21211, -1);
    } else if (from == NULL && mss == NULL) {
        twilio_error(req, 400, 21603, -1);
    } else if (body == NULL || body[0] == '\0') {
        twilio_error(req, 400, 21602, -1);
    } else if ((chars = utf8_chars(body, &ascii)) > TWILIO_BODY_MAX) {
        twilio_error(req, 400, 21617, -1);
    } else {
        memset(&m, 0, sizeof(m));
        m.provider = SINK_P_TWILIO;
        m.rcpt = to;
        m.rlen = strlen(to);
        m.text = body;
        m.tlen = strlen(body);
        m.ok_status = 201;
        m.ok_body = message_json(s, sid, to, from, mss, body, chars, ascii);
        if (m.ok_body == NULL)
            sink_reply(req, 500, "{\"code\":20500,\"message\":\"out of memory\"}\n");
        else
            sink_deliver(s, req, &m);
        evhttp_clear_headers(&form);
        return;
    }
    ps->bad_request++;
    evhttp_clear_headers(&form);
}
