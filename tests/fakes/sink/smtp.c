/* smtp.c: a fake SMTP server (RFC 5321) on the sink's event loop, enough for
 * libcurl's smtp:// client and Python's smtplib: EHLO/HELO, AUTH PLAIN and
 * LOGIN (RFC 4954, RFC 4616), MAIL, RCPT, DATA with dot-unstuffing (RFC 5321
 * §4.5.2), RSET, NOOP, VRFY, QUIT, several messages a connection, and
 * STARTTLS (RFC 3207) when built with libevent_openssl and given a
 * certificate. Replies carry enhanced status codes (RFC 3463).
 *
 * Every accepted message records one delivery per RCPT recipient, keyed on
 * the message's text (see mime.c); faults answer an SMTP code at RCPT or at
 * the end of DATA, hold the reply, or drop the connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#ifdef SINK_HAVE_TLS
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#include "mime.h"
#include "qc/err.h"
#include "qc/sign.h"
#include "sink.h"

#define SMTP_HOST "quakecast-fake-smtp"
#define SMTP_LINE_MAX 65536  /* longest command or text line we wait for */
#define SMTP_MAX_RCPT 100    /* RFC 5321 §4.5.3.1.8: at least 100 */

typedef enum smtp_state {
    ST_CMD,
    ST_AUTH_PLAIN,
    ST_AUTH_LOGIN_USER,
    ST_AUTH_LOGIN_PASS,
    ST_DATA,
    ST_HELD,     /* a fault holds the reply; reading is off */
    ST_CLOSING,  /* the last reply is being flushed */
} smtp_state_t;

typedef enum hold_kind { HOLD_CODE, HOLD_RCPT_OK, HOLD_DATA_OK, HOLD_DROP } hold_kind_t;

typedef struct smtp_conn {
    struct smtp_conn *prev, *next;
    sink_t *s;
    struct bufferevent *bev;
    struct event *ev_hold;       /* the fault delay timer */
    smtp_state_t state;
    bool greeted, authed, tls, free_scheduled;
    char *mail_from;             /* NULL = no transaction open */
    char **rcpt;
    size_t nrcpt, rcap;
    struct evbuffer *data;       /* DATA, dot-unstuffed, CRLF lines */
    bool data_toobig;
    char login_user[256];
    /* the held reply */
    hold_kind_t hold;
    int hold_code;
    bool hold_data_stage;
    char *hold_rcpt;
} smtp_conn_t;

typedef struct sink_smtp {
    struct evconnlistener *lev;
    smtp_conn_t *conns;
#ifdef SINK_HAVE_TLS
    SSL_CTX *ssl_ctx;
#endif
} sink_smtp_t;

static void conn_process(smtp_conn_t *c);

/* ---- replies and closing --------------------------------------------------- */

static void reply(smtp_conn_t *c, const char *line)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    evbuffer_add(out, line, strlen(line));
    evbuffer_add(out, "\r\n", 2);
}

static void conn_destroy(smtp_conn_t *c)
{
    sink_smtp_t *sm = c->s->smtp;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        sm->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->ev_hold != NULL)
        event_free(c->ev_hold);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    for (size_t i = 0; i < c->nrcpt; i++)
        free(c->rcpt[i]);
    free(c->rcpt);
    free(c->mail_from);
    free(c->hold_rcpt);
    if (c->data != NULL)
        evbuffer_free(c->data);
    free(c);
}

static void conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_destroy(arg);
}

/* Never frees @p c inside one of its own bufferevent callbacks: the free
 * runs from the loop on its next turn. */
static void conn_close(smtp_conn_t *c)
{
    struct timeval now = {0, 0};

    c->state = ST_CLOSING;
    if (c->free_scheduled)
        return;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return; /* write_cb closes once the reply is out */
    if (event_base_once(c->s->base, -1, EV_TIMEOUT, conn_free_cb, c, &now) == 0)
        c->free_scheduled = true;
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    smtp_conn_t *c = arg;

    if (c->state == ST_CLOSING)
        conn_close(c);
}

static void reply_close(smtp_conn_t *c, const char *line)
{
    reply(c, line);
    conn_close(c);
}

static void txn_reset(smtp_conn_t *c)
{
    free(c->mail_from);
    c->mail_from = NULL;
    for (size_t i = 0; i < c->nrcpt; i++)
        free(c->rcpt[i]);
    c->nrcpt = 0;
    if (c->data != NULL)
        evbuffer_drain(c->data, evbuffer_get_length(c->data));
    c->data_toobig = false;
}

/* The reply line of fault code @p code. */
static void fault_reply(smtp_conn_t *c, int code)
{
    char line[160];
    const char *text;

    switch (code) {
    case 421: text = "4.7.0 " SMTP_HOST " Service not available, closing transmission channel"; break;
    case 450: text = "4.2.1 Mailbox unavailable, try again later"; break;
    case 451: text = "4.3.0 Local error in processing"; break;
    case 452: text = "4.3.1 Insufficient system storage"; break;
    case 550: text = "5.1.1 Mailbox unavailable"; break;
    case 552: text = "5.3.4 Message size exceeds fixed limit"; break;
    case 553: text = "5.1.3 Mailbox name not allowed"; break;
    case 554: text = "5.7.1 Transaction failed"; break;
    default: text = code < 500 ? "4.0.0 Injected temporary failure" : "5.0.0 Injected failure";
    }
    snprintf(line, sizeof(line), "%d %s", code, text);
    if (code == 421)
        reply_close(c, line);
    else
        reply(c, line);
}

int sink_smtp_fault_code(const sink_fault_t *f)
{
    if (f->smtp_code != 0)
        return f->smtp_code;
    if (f->status == 0)
        return 0;
    if (f->status == 429)
        return 450;
    if (f->status == 503)
        return 421;
    return f->status >= 500 ? 451 : 550;
}

/* ---- the ledger -------------------------------------------------------------- */

/* Records the message in c->data for every recipient and answers 250. */
static void data_accept(smtp_conn_t *c, const char *key, size_t klen, const char *text,
                        size_t tlen, const char *msgid)
{
    sink_t *s = c->s;
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_SMTP);
    int64_t wall = sink_now_ms(CLOCK_REALTIME), mono = sink_now_ms(CLOCK_MONOTONIC);
    uint64_t id_hash = msgid ? sink_hash(msgid, strlen(msgid)) : 0;
    struct evbuffer *ex;
    char line[80], *extra = NULL;
    uint32_t alert;

    if (sink_ledger_alert_p(s->ledger, SINK_P_SMTP, key, klen, text, tlen, &alert) != 0) {
        reply(c, "451 4.3.0 Ledger out of memory");
        return;
    }
    for (size_t i = 0; i < c->nrcpt; i++)
        if (sink_ledger_record(s->ledger, alert, c->rcpt[i], strlen(c->rcpt[i]), id_hash,
                               wall, mono) != 0) {
            reply(c, "451 4.3.0 Ledger out of memory");
            return;
        }
    ps->messages++;
    if (msgid == NULL)
        ps->missing_id++;
    /* /_sink/last: the envelope with the message */
    if ((ex = evbuffer_new()) != NULL) {
        size_t n;

        evbuffer_add(ex, "\"mail_from\":", 12);
        sink_json_string(ex, c->mail_from, strlen(c->mail_from));
        evbuffer_add(ex, ",\"rcpt\":[", 9);
        for (size_t i = 0; i < c->nrcpt; i++) {
            if (i)
                evbuffer_add(ex, ",", 1);
            sink_json_string(ex, c->rcpt[i], strlen(c->rcpt[i]));
        }
        evbuffer_add(ex, "],\"message_id\":", 15);
        if (msgid)
            sink_json_string(ex, msgid, strlen(msgid));
        else
            evbuffer_add(ex, "null", 4);
        n = evbuffer_get_length(ex);
        if ((extra = malloc(n + 1)) != NULL) {
            evbuffer_remove(ex, extra, n);
            extra[n] = '\0';
        }
        evbuffer_free(ex);
    }
    {
        size_t dlen = evbuffer_get_length(c->data);

        sink_last_set(s, SINK_P_SMTP, dlen ? (const char *)evbuffer_pullup(c->data, -1) : "",
                      dlen, c->rcpt[0], strlen(c->rcpt[0]), key, extra);
    }
    snprintf(line, sizeof(line), "250 2.0.0 Ok: queued as %016llx",
             (unsigned long long)sink_rand(s));
    reply(c, line);
}

/* Key, text and Message-ID of c->data. @returns malloc'd text or NULL. */
static char *data_parse(smtp_conn_t *c, char key[SINK_KEYED_MAX], size_t *klen,
                        size_t *tlen, char **msgid)
{
    size_t dlen = evbuffer_get_length(c->data);
    const char *msg = dlen ? (const char *)evbuffer_pullup(c->data, -1) : "";
    char *text = sink_mime_text(msg, dlen, tlen);

    *msgid = sink_mime_message_id(msg, dlen);
    if (text != NULL)
        *klen = sink_keyed(SINK_P_SMTP, text, *tlen, key);
    return text;
}

static bool peer_gone(smtp_conn_t *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    char ch;
    ssize_t n;

    if (fd < 0)
        return true;
    n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- faults ---------------------------------------------------------------- */

static void hold_fire(evutil_socket_t fd, short what, void *arg);

/* Applies rule @p fi at RCPT (@p rcpt) or at the end of DATA: answers its
 * code now, or holds the reply on a timer. Takes ownership of @p rcpt. */
static void fault_apply(smtp_conn_t *c, int fi, bool data_stage, char *rcpt, uint32_t alert)
{
    sink_t *s = c->s;
    const sink_fault_t *f = &s->faults[fi];
    int code = sink_smtp_fault_code(f);

    if (f->delay_ms > 0 || f->drop) {
        struct timeval tv = {f->delay_ms / 1000, (f->delay_ms % 1000) * 1000};

        c->hold = f->drop ? HOLD_DROP : code ? HOLD_CODE : data_stage ? HOLD_DATA_OK
                                                                      : HOLD_RCPT_OK;
        c->hold_code = code;
        c->hold_data_stage = data_stage;
        free(c->hold_rcpt);
        c->hold_rcpt = rcpt;
        c->state = ST_HELD;
        bufferevent_disable(c->bev, EV_READ);
        if (c->ev_hold == NULL)
            c->ev_hold = evtimer_new(s->base, hold_fire, c);
        if (c->ev_hold == NULL || evtimer_add(c->ev_hold, &tv) != 0) {
            c->state = ST_CMD;
            reply(c, "451 4.3.0 Out of memory");
        }
    } else {
        sink_ledger_fault(s->ledger, alert, SINK_P_SMTP, code);
        free(rcpt);
        if (data_stage)
            txn_reset(c);
        fault_reply(c, code);
    }
    sink_fault_consume(s, (size_t)fi);
}

static int rcpt_add(smtp_conn_t *c, char *rcpt)
{
    if (c->nrcpt == c->rcap) {
        size_t cap = c->rcap ? c->rcap * 2 : 4;
        char **r = realloc(c->rcpt, cap * sizeof(*r));

        if (r == NULL)
            return QC_ERR_NOMEM;
        c->rcpt = r;
        c->rcap = cap;
    }
    c->rcpt[c->nrcpt++] = rcpt;
    return 0;
}

static void hold_fire(evutil_socket_t fd, short what, void *arg)
{
    smtp_conn_t *c = arg;
    sink_t *s = c->s;
    char key[SINK_KEYED_MAX], *text = NULL, *msgid = NULL;
    size_t klen = 0, tlen = 0;
    uint32_t alert = SINK_ALERT_ALL;

    c->state = ST_CMD;
    if (c->hold_data_stage && (text = data_parse(c, key, &klen, &tlen, &msgid)) != NULL &&
        sink_ledger_alert_p(s->ledger, SINK_P_SMTP, key, klen, text, tlen, &alert) != 0)
        alert = SINK_ALERT_ALL;
    switch (c->hold) {
    case HOLD_DROP:
        sink_ledger_fault(s->ledger, alert, SINK_P_SMTP, 0);
        conn_close(c);
        break;
    case HOLD_CODE:
        sink_ledger_fault(s->ledger, alert, SINK_P_SMTP, c->hold_code);
        if (c->hold_data_stage)
            txn_reset(c);
        fault_reply(c, c->hold_code);
        break;
    case HOLD_RCPT_OK:
        if (rcpt_add(c, c->hold_rcpt) == 0) {
            c->hold_rcpt = NULL;
            reply(c, "250 2.1.5 Ok");
        } else {
            reply(c, "451 4.3.0 Out of memory");
        }
        break;
    case HOLD_DATA_OK:
        if (peer_gone(c)) {
            sink_ledger_counters(s->ledger)->client_gone++;
            sink_ledger_pstats(s->ledger, SINK_P_SMTP)->client_gone++;
            conn_close(c);
        } else if (text == NULL) {
            reply(c, "451 4.3.0 Out of memory");
        } else {
            data_accept(c, key, klen, text, tlen, msgid);
        }
        txn_reset(c);
        break;
    }
    free(text);
    free(msgid);
    if (c->state == ST_CMD) {
        bufferevent_enable(c->bev, EV_READ);
        conn_process(c); /* commands that arrived meanwhile */
    }
}

/* ---- commands -------------------------------------------------------------- */

/* @returns the address inside "<...>" after "FROM:" / "TO:" (malloc'd),
 * or NULL; *params points after it. An empty "<>" gives "". */
static char *path_arg(const char *arg, const char **params)
{
    const char *lt, *gt;

    arg += strspn(arg, " ");
    if ((lt = strchr(arg, '<')) != arg || (gt = strchr(lt, '>')) == NULL)
        return NULL;
    *params = gt + 1;
    return strndup(lt + 1, (size_t)(gt - lt - 1));
}

static bool auth_check(smtp_conn_t *c, const char *user, const char *pass)
{
    const sink_config_t *conf = c->s->conf;
    bool ok = strcmp(user, conf->smtp_user) == 0 && strcmp(pass, conf->smtp_password) == 0;

    if (ok) {
        c->authed = true;
        reply(c, "235 2.7.0 Authentication successful");
    } else {
        sink_ledger_pstats(c->s->ledger, SINK_P_SMTP)->unauthorized++;
        reply(c, "535 5.7.8 Authentication credentials invalid");
    }
    c->state = ST_CMD;
    return ok;
}

/* AUTH PLAIN's message: [authzid] NUL authcid NUL passwd (RFC 4616 §2). */
static void auth_plain(smtp_conn_t *c, const char *b64)
{
    unsigned char buf[768];
    int n = qc_base64_decode(b64, strlen(b64), buf, sizeof(buf) - 1);
    const char *user, *pass, *end;

    if (n < 0) {
        c->state = ST_CMD;
        reply(c, "501 5.5.2 Cannot decode response");
        return;
    }
    buf[n] = '\0';
    end = (const char *)buf + n;
    user = memchr(buf, '\0', (size_t)n);
    pass = user ? memchr(user + 1, '\0', (size_t)(end - user - 1)) : NULL;
    if (user == NULL || pass == NULL) {
        c->state = ST_CMD;
        reply(c, "501 5.5.2 Malformed PLAIN response");
        return;
    }
    auth_check(c, user + 1, pass + 1);
}

/* Decodes a base64 AUTH LOGIN line into @p out. @returns false if bad. */
static bool b64_line(const char *b64, char *out, size_t outsz)
{
    int n = qc_base64_decode(b64, strlen(b64), (unsigned char *)out, outsz - 1);

    if (n < 0 || memchr(out, '\0', (size_t)n) != NULL)
        return false;
    out[n] = '\0';
    return true;
}

static void cmd_auth(smtp_conn_t *c, const char *arg)
{
    char mech[16], ir[1024] = "";
    int n = sscanf(arg, "%15s %1023s", mech, ir);

    if (c->s->conf->smtp_user == NULL) {
        reply(c, "503 5.5.1 Error: authentication not enabled");
    } else if (c->authed) {
        reply(c, "503 5.5.1 Error: already authenticated");
    } else if (c->mail_from != NULL) {
        reply(c, "503 5.5.1 Error: MAIL transaction in progress");
    } else if (n < 1) {
        reply(c, "501 5.5.4 Syntax: AUTH mechanism");
    } else if (strcasecmp(mech, "PLAIN") == 0) {
        if (n == 2 && strcmp(ir, "=") != 0) {
            auth_plain(c, ir);
        } else {
            c->state = ST_AUTH_PLAIN;
            reply(c, "334 ");
        }
    } else if (strcasecmp(mech, "LOGIN") == 0) {
        if (n == 2) {
            if (!b64_line(ir, c->login_user, sizeof(c->login_user))) {
                reply(c, "501 5.5.2 Cannot decode response");
                return;
            }
            c->state = ST_AUTH_LOGIN_PASS;
            reply(c, "334 UGFzc3dvcmQ6"); /* "Password:" */
        } else {
            c->state = ST_AUTH_LOGIN_USER;
            reply(c, "334 VXNlcm5hbWU6"); /* "Username:" */
        }
    } else {
        reply(c, "504 5.5.4 Unrecognized authentication type");
    }
}

static void auth_line(smtp_conn_t *c, const char *line)
{
    char pass[512];

    if (strcmp(line, "*") == 0) {
        c->state = ST_CMD;
        reply(c, "501 5.7.0 Authentication cancelled");
        return;
    }
    switch (c->state) {
    case ST_AUTH_PLAIN:
        auth_plain(c, line);
        break;
    case ST_AUTH_LOGIN_USER:
        if (!b64_line(line, c->login_user, sizeof(c->login_user))) {
            c->state = ST_CMD;
            reply(c, "501 5.5.2 Cannot decode response");
            return;
        }
        c->state = ST_AUTH_LOGIN_PASS;
        reply(c, "334 UGFzc3dvcmQ6");
        break;
    default:
        if (!b64_line(line, pass, sizeof(pass))) {
            c->state = ST_CMD;
            reply(c, "501 5.5.2 Cannot decode response");
            return;
        }
        auth_check(c, c->login_user, pass);
        break;
    }
}

static void cmd_ehlo(smtp_conn_t *c, bool ehlo)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    txn_reset(c);
    c->greeted = true;
    if (!ehlo) {
        reply(c, "250 " SMTP_HOST);
        return;
    }
    evbuffer_add_printf(out, "250-" SMTP_HOST "\r\n250-8BITMIME\r\n250-SIZE %ld\r\n"
                             "250-ENHANCEDSTATUSCODES\r\n",
                        c->s->conf->max_body);
    if (c->s->conf->smtp_user != NULL)
        evbuffer_add_printf(out, "250-AUTH PLAIN LOGIN\r\n");
#ifdef SINK_HAVE_TLS
    if (c->s->smtp->ssl_ctx != NULL && !c->tls)
        evbuffer_add_printf(out, "250-STARTTLS\r\n");
#endif
    evbuffer_add_printf(out, "250 SMTPUTF8\r\n");
}

static void cmd_mail(smtp_conn_t *c, const char *arg)
{
    const char *params;
    char *from;

    if (!c->greeted) {
        reply(c, "503 5.5.1 Error: send HELO/EHLO first");
        return;
    }
    if (c->s->conf->smtp_user != NULL && !c->authed) {
        sink_ledger_pstats(c->s->ledger, SINK_P_SMTP)->unauthorized++;
        reply(c, "530 5.7.0 Authentication required");
        return;
    }
    if (c->mail_from != NULL) {
        reply(c, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    if (strncasecmp(arg, "FROM:", 5) != 0 || (from = path_arg(arg + 5, &params)) == NULL) {
        reply(c, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return;
    }
    /* SIZE=n (RFC 1870) announces the size: refuse early what won't fit */
    for (const char *p = params; (p = strcasestr(p, "SIZE=")) != NULL; p += 5) {
        if (p[-1] == ' ' && strtol(p + 5, NULL, 10) > c->s->conf->max_body) {
            free(from);
            reply(c, "552 5.3.4 Message size exceeds fixed limit");
            return;
        }
    }
    c->mail_from = from;
    reply(c, "250 2.1.0 Ok");
}

static void cmd_rcpt(smtp_conn_t *c, const char *arg)
{
    sink_t *s = c->s;
    sink_pstats_t *ps = sink_ledger_pstats(s->ledger, SINK_P_SMTP);
    const char *params;
    char *to;
    int fi;

    if (c->mail_from == NULL) {
        reply(c, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (strncasecmp(arg, "TO:", 3) != 0 || (to = path_arg(arg + 3, &params)) == NULL) {
        reply(c, "501 5.5.4 Syntax: RCPT TO:<address>");
        return;
    }
    if (to[0] == '\0' || strlen(to) > SINK_SUB_MAX || strchr(to, '@') == NULL) {
        free(to);
        ps->bad_request++;
        reply(c, "501 5.1.3 Bad recipient address syntax");
        return;
    }
    if (c->nrcpt >= SMTP_MAX_RCPT) {
        free(to);
        reply(c, "452 4.5.3 Error: too many recipients");
        return;
    }
    ps->requests++;
    if (!sink_rate_admit(&s->rate, SINK_P_SMTP, sink_now_ms(CLOCK_MONOTONIC),
                         &ps->max_per_second)) {
        free(to);
        ps->rate_limited++;
        reply(c, "450 4.7.1 Rate limit exceeded, try again later");
        return;
    }
    fi = s->nfaults ? sink_fault_match(s, SINK_P_SMTP, SINK_STAGE_REQUEST, to, strlen(to),
                                       NULL, 0)
                    : -1;
    if (fi >= 0) {
        fault_apply(c, fi, false, to, SINK_ALERT_ALL);
        return;
    }
    if (rcpt_add(c, to) != 0) {
        free(to);
        reply(c, "451 4.3.0 Out of memory");
        return;
    }
    reply(c, "250 2.1.5 Ok");
}

static void data_end(smtp_conn_t *c)
{
    sink_t *s = c->s;
    char key[SINK_KEYED_MAX], *text, *msgid = NULL;
    size_t klen = 0, tlen = 0;
    uint32_t alert = SINK_ALERT_ALL;
    int fi = -1;

    c->state = ST_CMD;
    if (c->data_toobig) {
        txn_reset(c);
        reply(c, "552 5.3.4 Message size exceeds fixed limit");
        return;
    }
    if ((text = data_parse(c, key, &klen, &tlen, &msgid)) == NULL) {
        txn_reset(c);
        free(msgid);
        reply(c, "451 4.3.0 Out of memory");
        return;
    }
    if (s->nfaults) {
        if (sink_ledger_alert_p(s->ledger, SINK_P_SMTP, key, klen, text, tlen, &alert) != 0)
            alert = SINK_ALERT_ALL;
        for (size_t i = 0; i < c->nrcpt && fi < 0; i++)
            fi = sink_fault_match(s, SINK_P_SMTP, SINK_STAGE_DATA, c->rcpt[i],
                                  strlen(c->rcpt[i]), key, klen);
    }
    if (fi >= 0) {
        /* a held success still needs the transaction: reset after */
        fault_apply(c, fi, true, NULL, alert);
    } else {
        data_accept(c, key, klen, text, tlen, msgid);
        txn_reset(c);
    }
    free(text);
    free(msgid);
}

static void data_line(smtp_conn_t *c, const char *line, size_t n)
{
    if (n == 1 && line[0] == '.') {
        data_end(c);
        return;
    }
    /* dot-unstuffing (RFC 5321 §4.5.2) */
    if (line[0] == '.') {
        line++;
        n--;
    }
    if (c->data_toobig)
        return;
    if (evbuffer_get_length(c->data) + n + 2 > (size_t)c->s->conf->max_body) {
        c->data_toobig = true;
        return;
    }
    evbuffer_add(c->data, line, n);
    evbuffer_add(c->data, "\r\n", 2);
}

#ifdef SINK_HAVE_TLS
static void read_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

static void cmd_starttls(smtp_conn_t *c)
{
    SSL_CTX *ctx = c->s->smtp->ssl_ctx;
    struct bufferevent *tls;
    SSL *ssl;

    if (ctx == NULL) {
        reply(c, "454 4.7.0 TLS not available");
        return;
    }
    if (c->tls) {
        reply(c, "503 5.5.1 Error: TLS already active");
        return;
    }
    if ((ssl = SSL_new(ctx)) == NULL) {
        reply(c, "454 4.7.0 TLS not available: out of memory");
        return;
    }
    /* the 220 goes out in clear, ahead of the handshake, through the
     * underlying bufferevent the filter writes to */
    reply(c, "220 2.0.0 Ready to start TLS");
    tls = bufferevent_openssl_filter_new(c->s->base, c->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (tls == NULL) {
        SSL_free(ssl);
        conn_close(c);
        return;
    }
    c->bev = tls; /* owns the plain bufferevent now */
    c->tls = true;
    /* RFC 3207 §4.2: forget everything learnt before TLS */
    c->greeted = false;
    c->authed = false;
    txn_reset(c);
    bufferevent_setcb(tls, read_cb, write_cb, event_cb, c);
    {
        struct timeval idle = {c->s->conf->idle_timeout_s, 0};

        bufferevent_set_timeouts(tls, &idle, &idle);
    }
    bufferevent_enable(tls, EV_READ | EV_WRITE);
}
#endif

static void command(smtp_conn_t *c, char *line)
{
    char *arg = line + strcspn(line, " ");
    size_t vlen = (size_t)(arg - line);

    arg += strspn(arg, " ");
#define IS(verb) (vlen == strlen(verb) && strncasecmp(line, verb, vlen) == 0)
    if (IS("EHLO")) {
        cmd_ehlo(c, true);
    } else if (IS("HELO")) {
        cmd_ehlo(c, false);
    } else if (IS("MAIL")) {
        cmd_mail(c, arg);
    } else if (IS("RCPT")) {
        cmd_rcpt(c, arg);
    } else if (IS("DATA")) {
        if (c->mail_from == NULL) {
            reply(c, "503 5.5.1 Error: need MAIL command");
        } else if (c->nrcpt == 0) {
            reply(c, "554 5.5.1 Error: no valid recipients");
        } else {
            if (c->data == NULL && (c->data = evbuffer_new()) == NULL) {
                reply(c, "451 4.3.0 Out of memory");
                return;
            }
            c->state = ST_DATA;
            reply(c, "354 End data with <CR><LF>.<CR><LF>");
        }
    } else if (IS("AUTH")) {
        cmd_auth(c, arg);
    } else if (IS("RSET")) {
        txn_reset(c);
        reply(c, "250 2.0.0 Ok");
    } else if (IS("NOOP")) {
        reply(c, "250 2.0.0 Ok");
    } else if (IS("VRFY")) {
        reply(c, "252 2.0.0 Cannot VRFY user, but will accept message");
    } else if (IS("HELP")) {
        reply(c, "214 2.0.0 EHLO HELO AUTH MAIL RCPT DATA RSET NOOP VRFY QUIT STARTTLS");
    } else if (IS("QUIT")) {
        reply_close(c, "221 2.0.0 Bye");
    } else if (IS("STARTTLS")) {
#ifdef SINK_HAVE_TLS
        cmd_starttls(c);
#else
        reply(c, "454 4.7.0 TLS not available");
#endif
    } else {
        reply(c, "500 5.5.2 Error: command not recognized");
    }
#undef IS
}

/* Handles every complete line in the input, until a fault holds the reply
 * or the connection closes. */
static void conn_process(smtp_conn_t *c)
{
    while (c->state != ST_HELD && c->state != ST_CLOSING) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t n;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);

        if (line == NULL) {
            if (evbuffer_get_length(in) > SMTP_LINE_MAX)
                reply_close(c, "500 5.5.0 Line too long");
            return;
        }
        if (c->state == ST_DATA)
            data_line(c, line, n);
        else if (c->state == ST_CMD)
            command(c, line);
        else
            auth_line(c, line);
        free(line);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    conn_process(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    smtp_conn_t *c = arg;

    if ((what & BEV_EVENT_TIMEOUT) && c->state != ST_CLOSING) {
        /* RFC 5321 §4.5.3.2: a server may close an idle session */
        bufferevent_enable(c->bev, EV_WRITE);
        reply_close(c, "421 4.4.2 " SMTP_HOST " Error: timeout exceeded");
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        /* nothing more can be written: close without flushing */
        evbuffer_drain(bufferevent_get_output(c->bev),
                       evbuffer_get_length(bufferevent_get_output(c->bev)));
        if (c->state == ST_HELD && c->ev_hold != NULL)
            event_del(c->ev_hold);
        conn_close(c);
    }
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    sink_t *s = arg;
    struct timeval idle = {s->conf->idle_timeout_s, 0};
    smtp_conn_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->s = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = s->smtp->conns;
    if (c->next != NULL)
        c->next->prev = c;
    s->smtp->conns = c;
    sink_ledger_pstats(s->ledger, SINK_P_SMTP)->connections++;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_set_timeouts(c->bev, &idle, &idle);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    reply(c, "220 " SMTP_HOST " ESMTP quakecast fake");
}

/* ---- set-up ---------------------------------------------------------------- */

#ifdef SINK_HAVE_TLS
static int tls_setup(sink_smtp_t *sm, const sink_config_t *conf, char *errstr, size_t errsz)
{
    if (conf->smtp_tls_cert == NULL)
        return 0;
    sm->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (sm->ssl_ctx == NULL ||
        SSL_CTX_use_certificate_chain_file(sm->ssl_ctx, conf->smtp_tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(sm->ssl_ctx, conf->smtp_tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(sm->ssl_ctx) != 1) {
        char e[256];

        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        snprintf(errstr, errsz, "--smtp-tls-cert/--smtp-tls-key: %s", e);
        return QC_ERR_INVAL;
    }
    SSL_CTX_set_min_proto_version(sm->ssl_ctx, TLS1_2_VERSION);
    return 0;
}
#endif

int sink_smtp_setup(sink_t *s, evutil_socket_t fd, char *errstr, size_t errsz)
{
    sink_smtp_t *sm = calloc(1, sizeof(*sm));

    if (sm == NULL) {
        evutil_closesocket(fd);
        snprintf(errstr, errsz, "out of memory");
        return QC_ERR_NOMEM;
    }
    s->smtp = sm;
#ifdef SINK_HAVE_TLS
    if (tls_setup(sm, s->conf, errstr, errsz) != 0) {
        evutil_closesocket(fd);
        return QC_ERR_INVAL;
    }
#else
    if (s->conf->smtp_tls_cert != NULL) {
        evutil_closesocket(fd);
        snprintf(errstr, errsz, "--smtp-tls-cert: built without libevent_openssl");
        return QC_ERR_UNSUPPORTED;
    }
#endif
    sm->lev = evconnlistener_new(s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (sm->lev == NULL) {
        evutil_closesocket(fd);
        snprintf(errstr, errsz, "evconnlistener_new failed");
        return QC_ERR_IO;
    }
    return 0;
}

void sink_smtp_cleanup(sink_t *s)
{
    sink_smtp_t *sm = s->smtp;

    if (sm == NULL)
        return;
    while (sm->conns != NULL)
        conn_destroy(sm->conns);
    if (sm->lev != NULL)
        evconnlistener_free(sm->lev);
#ifdef SINK_HAVE_TLS
    SSL_CTX_free(sm->ssl_ctx);
#endif
    free(sm);
    s->smtp = NULL;
}
