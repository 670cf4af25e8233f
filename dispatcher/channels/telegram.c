/* channels/telegram.c: Telegram Bot API sendMessage, to a subscriber's chat
 * and, once per alert, to the broadcast channel (one post reaches every
 * member of a public channel, which is how Romania's institute already
 * publishes).
 *
 * Wire format (https://core.telegram.org/bots/api#making-requests and
 * #sendmessage): POST <url>/bot<token>/sendMessage with a JSON body
 * {chat_id, text, disable_web_page_preview}; the answer is
 * {"ok":true,"result":{...}} or {"ok":false,"error_code":N,"description":
 * "...","parameters":{"retry_after":S}}. 429 carries retry_after in the
 * body (#responseparameters). A chat that is gone ("chat not found") or a
 * user who blocked the bot (403) will not read anything again: the channel
 * is dead for that subscriber. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"

typedef struct tg {
    char url[512];        /* <base>/bot<token>/sendMessage */
    const char *channel;  /* "@name" or a numeric id, NULL: no broadcast */
} tg_t;

static int tg_init(qc_disp_t *d, void **state, char *why, size_t whysz)
{
    if (!d->conf.telegram_token[0]) {
        snprintf(why, whysz, "QUAKECAST_TELEGRAM_BOT_TOKEN not set");
        return 0;
    }
    tg_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    const char *base = d->conf.telegram_url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if ((size_t)snprintf(t->url, sizeof t->url, "%.*s/bot%s/sendMessage", (int)bl, base, d->conf.telegram_token) >=
        sizeof t->url) {
        snprintf(why, whysz, "QUAKECAST_TELEGRAM_URL too long");
        free(t);
        return -1;
    }
    t->channel = d->conf.telegram_channel[0] ? d->conf.telegram_channel : NULL;
    *state = t;
    qc_httpc_warm(d->http, t->url, 2);
    return 1;
}

static void tg_destroy(void *state) { free(state); }

static void on_done(const qc_httpc_result_t *res, void *opaque)
{
    qc_send_t *s = opaque;
    char detail[200];
    if (res->err) {
        snprintf(detail, sizeof detail, "%s", res->curl_error[0] ? res->curl_error : "network error");
        s->done(s, QC_SEND_TRANSIENT, -1, detail);
        return;
    }
    json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
    const char *desc = json_string_value(json_object_get(j, "description"));
    snprintf(detail, sizeof detail, "HTTP %ld %s", res->status, desc ? desc : "");
    qc_send_outcome_t o = qc_http_outcome(res->status, 0);
    long retry = res->retry_after_s;
    json_t *ra = json_object_get(json_object_get(j, "parameters"), "retry_after");
    if (json_is_integer(ra) && json_integer_value(ra) >= 0 && json_integer_value(ra) < 86400)
        retry = (long)json_integer_value(ra);
    if (o == QC_SEND_OK && !json_is_true(json_object_get(j, "ok")))
        o = QC_SEND_TRANSIENT; /* a 2xx that is not the API's answer */
    if (res->status == 403 || (res->status == 400 && desc && strstr(desc, "chat not found")))
        o = QC_SEND_DEAD;
    json_decref(j);
    s->done(s, o, o == QC_SEND_TRANSIENT ? retry : -1, o == QC_SEND_OK ? NULL : detail);
}

static int post(qc_disp_t *d, tg_t *t, const char *chat, qc_send_t *s)
{
    json_t *body = json_pack("{s:s,s:s,s:b}", "chat_id", chat, "text", s->text, "disable_web_page_preview", 1);
    char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!js)
        return -1;
    static const char *const headers[] = { "Content-Type: application/json", NULL };
    int rc = qc_httpc_request(d->http, "POST", t->url, headers, js, strlen(js), on_done, s);
    free(js);
    return rc;
}

static int tg_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    return post(d, state, s->sub->telegram_chat, s);
}

static const char *tg_route(void *state)
{
    return ((tg_t *)state)->channel;
}

static int tg_broadcast(qc_disp_t *d, void *state, qc_send_t *s)
{
    tg_t *t = state;
    char chat[48];
    if (s->route) { /* an area's channel: its public username */
        snprintf(chat, sizeof chat, "@%s", s->route);
        return post(d, t, chat, s);
    }
    return t->channel ? post(d, t, t->channel, s) : -1;
}

const qc_channel_driver_t qc_channel_telegram = { .name = "telegram", .init = tg_init, .destroy = tg_destroy,
                                                  .send = tg_send, .broadcast_route = tg_route,
                                                  .broadcast = tg_broadcast };
