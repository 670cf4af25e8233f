/* telegram.c: a fake of the Telegram Bot API, enough for sendMessage.
 *
 * https://core.telegram.org/bots/api#making-requests: /bot<token>/<method>,
 * parameters as JSON, form or query string; every answer is
 * {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":...,
 * "parameters":{"retry_after":N}}. sendMessage
 * (https://core.telegram.org/bots/api#sendmessage) answers the Message
 * (https://core.telegram.org/bots/api#message). Recipient = chat_id, text =
 * text. getMe answers the bot and is not recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sink.h"

#define TG_TEXT_MAX 4096 /* characters after entity parsing */

typedef struct tg_error {
    const char *name;
    int status;
    const char *description;
} tg_error_t;

/* Descriptions as the Bot API words them (observed answers; the API
 * documents only their shape). */
static const tg_error_t tg_errors[] = {
    {"chat_not_found", 400, "Bad Request: chat not found"},
    {"blocked", 403, "Forbidden: bot was blocked by the user"},
    {"deactivated", 403, "Forbidden: user is deactivated"},
    {"kicked", 403, "Forbidden: bot was kicked from the channel chat"},
    {"not_enough_rights", 400, "Bad Request: not enough rights to send text messages to the chat"},
    {"too_many", 429, NULL},
};
#define NERRORS (sizeof(tg_errors) / sizeof(tg_errors[0]))

static const tg_error_t *error_find(const char *name)
{
    for (size_t i = 0; i < NERRORS; i++)
        if (strcmp(tg_errors[i].name, name) == 0)
            return &tg_errors[i];
    return NULL;
}

int sink_telegram_error_status(const char *error)
{
    const tg_error_t *e = error_find(error);

    return e ? e->status : 0;
}

static void tg_error(struct evhttp_request *req, int status, const char *description,
                     long retry_after)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);
    char tmr[64];

    if (status == 429) {
        if (retry_after < 0)
            retry_after = 1;
        snprintf(tmr, sizeof(tmr), "Too Many Requests: retry after %ld", retry_after);
        description = tmr;
    }
    sink_retry_after_header(req, retry_after);
    evbuffer_add_printf(b, "{\"ok\":false,\"error_code\":%d,\"description\":", status);
    sink_json_string(b, description, strlen(description));
    if (retry_after >= 0)
        evbuffer_add_printf(b, ",\"parameters\":{\"retry_after\":%ld}", retry_after);
    evbuffer_add(b, "}\n", 2);
    sink_reply(req, status, NULL);
}

void sink_telegram_fault(struct evhttp_request *req, int status, const char *error,
                         long retry_after)
{
    const tg_error_t *e = error ? error_find(error) : NULL;
    const char *d;

    if (e != NULL && e->description != NULL)
        d = e->description;
    else if (error != NULL && e == NULL)
        d = error; /* a description given verbatim */
    else if (status == 400)
        d = "Bad Request: chat not found";
    else if (status == 403)
        d = "Forbidden: bot was blocked by the user";
    else
        d = sink_reason(status);
    tg_error(req, status, d, retry_after);
}

/* The request's parameters: a JSON body, or a form body, or the query. */
typedef struct tg_params {
    json_t *json;
    struct evkeyvalq form;
    char num[32];  /* chat_id given as a JSON integer, as text */
} tg_params_t;

static int params_load(struct evhttp_request *req, tg_params_t *p)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "Content-Type");
    size_t len = evbuffer_get_length(in);
    const char *q;

    memset(p, 0, sizeof(*p));
    TAILQ_INIT(&p->form);
    if (len > 0 && ct != NULL && strncmp(ct, "application/json", 16) == 0) {
        json_error_t jerr;

        p->json = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
        return json_is_object(p->json) ? 0 : -1;
    }
    if (len > 0)
        return sink_form_parse((const char *)evbuffer_pullup(in, -1), len, &p->form);
    q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    return q ? sink_form_parse(q, strlen(q), &p->form) : 0;
}

/* @returns parameter @p name as a string (integers printed), or NULL. */
static const char *param(tg_params_t *p, const char *name)
{
    json_t *v;

    if (p->json == NULL)
        return evhttp_find_header(&p->form, name);
    v = json_object_get(p->json, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(p->num, sizeof(p->num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return p->num;
    }
    return NULL;
}

static void params_free(tg_params_t *p)
{
    json_decref(p->json);
    evhttp_clear_headers(&p->form);
}

static bool is_int(const char *z)
{
    if (*z == '-')
        z++;
    if (*z == '\0')
        return false;
    for (; *z; z++)
        if (*z < '0' || *z > '9')
            return false;
    return true;
}

static size_t utf8_chars(const char *z)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)z; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

static long long bot_id(const sink_t *s)
{
    long long id = strtoll(s->conf->telegram_token, NULL, 10);

    return id > 0 ? id : 1;
}

static void add_bot(struct evbuffer *b, const sink_t *s)
{
    evbuffer_add_printf(b, "{\"id\":%lld,\"is_bot\":true,\"first_name\":\"quakecast fake\","
                           "\"username\":\"quakecast_fake_bot\"}",
                        bot_id(s));
}

/* A Chat object (https://core.telegram.org/bots/api#chat) for @p chat_id. */
static void add_chat(struct evbuffer *b, const char *chat_id)
{
    if (chat_id[0] == '@') {
        /* channel ids are -100 followed by the channel's own id */
        unsigned long long h = sink_fnv1a64(chat_id, strlen(chat_id)) % 10000000000ULL;

        evbuffer_add_printf(b, "{\"id\":-100%010llu,\"title\":", h);
        sink_json_string(b, chat_id + 1, strlen(chat_id + 1));
        evbuffer_add(b, ",\"username\":", 12);
        sink_json_string(b, chat_id + 1, strlen(chat_id + 1));
        evbuffer_add_printf(b, ",\"type\":\"channel\"}");
    } else if (chat_id[0] == '-') {
        evbuffer_add_printf(b, "{\"id\":%s,\"title\":\"quakecast group\",\"type\":\"%s\"}",
                            chat_id, strncmp(chat_id, "-100", 4) == 0 ? "supergroup" : "group");
    } else {
        evbuffer_add_printf(b, "{\"id\":%s,\"first_name\":\"Subscriber\",\"type\":\"private\"}",
                            chat_id);
    }
}

static void send_message(sink_t *s, struct evhttp_request *req)
{
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_TELEGRAM);
    const char *chat_id, *text, *mode;
    struct evbuffer *b;
    tg_params_t p;
    sink_msg_t m;

    memset(&m, 0, sizeof(m));
    if (params_load(req, &p) != 0) {
        ps->bad_request++;
        params_free(&p);
        tg_error(req, 400, "Bad Request: can't parse JSON object", -1);
        return;
    }
    chat_id = param(&p, "chat_id");
    /* chat_id first: param() reuses one buffer for integers */
    if (chat_id == NULL || chat_id[0] == '\0') {
        tg_error(req, 400, "Bad Request: chat_id is empty", -1);
        goto bad;
    }
    if ((chat_id[0] != '@' && !is_int(chat_id)) || strlen(chat_id) > SINK_SUB_MAX) {
        tg_error(req, 400, "Bad Request: chat not found", -1);
        goto bad;
    }
    m.rcpt = strdup(chat_id);
    text = param(&p, "text");
    mode = param(&p, "parse_mode");
    if (m.rcpt == NULL) {
        tg_error(req, 500, "Internal Server Error", -1);
        goto bad;
    }
    if (text == NULL || text[0] == '\0') {
        tg_error(req, 400, "Bad Request: message text is empty", -1);
    } else if (utf8_chars(text) > TG_TEXT_MAX) {
        tg_error(req, 400, "Bad Request: message is too long", -1);
    } else if (mode != NULL && mode[0] != '\0' && strcmp(mode, "HTML") != 0 &&
               strcmp(mode, "MarkdownV2") != 0 && strcmp(mode, "Markdown") != 0) {
        tg_error(req, 400, "Bad Request: unsupported parse_mode", -1);
    } else if ((b = evbuffer_new()) == NULL) {
        tg_error(req, 500, "Internal Server Error", -1);
    } else {
        evbuffer_add_printf(b, "{\"ok\":true,\"result\":{\"message_id\":%llu,\"from\":",
                            (unsigned long long)++s->tg_message_id);
        add_bot(b, s);
        evbuffer_add(b, ",\"chat\":", 8);
        add_chat(b, m.rcpt);
        evbuffer_add_printf(b, ",\"date\":%lld,\"text\":", (long long)time(NULL));
        sink_json_string(b, text, strlen(text));
        evbuffer_add(b, "}}\n", 3);
        m.provider = SINK_P_TELEGRAM;
        m.rlen = strlen(m.rcpt);
        m.text = text;
        m.tlen = strlen(text);
        m.alert = NULL;
        m.has_id = false;
        m.id_hash = 0;
        m.ok_status = 200;
        m.ok_body = b;
        sink_deliver(s, req, &m);
        free((char *)m.rcpt);
        params_free(&p);
        return;
    }
    free((char *)m.rcpt);
bad:
    ps->bad_request++;
    params_free(&p);
}

void sink_telegram_request(sink_t *s, struct evhttp_request *req, const char *path)
{
    const char *tok = path + 4, *slash = strchr(tok, '/');
    const char *want = s->conf->telegram_token;
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_TELEGRAM);

    ps->requests++;
    if ((size_t)(slash - tok) != strlen(want) || memcmp(tok, want, strlen(want)) != 0) {
        ps->unauthorized++;
        tg_error(req, 401, "Unauthorized", -1);
        return;
    }
    /* the Bot API's method names are case-insensitive */
    if (strcasecmp(slash + 1, "sendMessage") == 0) {
        send_message(s, req);
    } else if (strcasecmp(slash + 1, "getMe") == 0) {
        struct evbuffer *b = evhttp_request_get_output_buffer(req);

        evbuffer_add(b, "{\"ok\":true,\"result\":", 20);
        add_bot(b, s);
        evbuffer_add(b, "}\n", 2);
        sink_reply(req, 200, NULL);
    } else {
        tg_error(req, 404, "Not Found", -1);
    }
}
