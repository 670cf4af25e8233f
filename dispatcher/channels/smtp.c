/* channels/smtp.c: e-mail through an SMTP relay, with libcurl's smtp:// or
 * smtps:// on the same multi handle and loop as the HTTP drivers
 * (connections are cached and reused between messages).
 *
 * The message is RFC 5322 with a multipart/alternative body (RFC 2046
 * section 5.1.4): text/plain first, then text/html, both UTF-8 and
 * quoted-printable free (the text is ASCII-safe or 8bit, announced by
 * Content-Transfer-Encoding: 8bit; relays offer 8BITMIME). The Message-ID
 * is the send's idempotency key, the same on every retry, so a mailbox
 * that received a message twice can tell. A 5xx reply is permanent, 4xx
 * and network failures transient (RFC 5321 section 4.2.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatcher.h"
#include "qc/clock.h"

typedef struct smtp {
    qc_httpc_mail_t tmpl;   /* url, credentials, from, starttls */
    char from_hdr[300];
    char domain[128];       /* of the sender, for Message-IDs */
} smtp_t;

static int smtp_init(qc_disp_t *d, void **state, char *why, size_t whysz)
{
    const qc_dconf_t *c = &d->conf;
    if (!c->smtp_url[0] || !c->smtp_from[0]) {
        snprintf(why, whysz, "QUAKECAST_SMTP_URL and QUAKECAST_SMTP_FROM are needed");
        return 0;
    }
    if (strncmp(c->smtp_url, "smtp://", 7) && strncmp(c->smtp_url, "smtps://", 8)) {
        snprintf(why, whysz, "QUAKECAST_SMTP_URL must be smtp:// or smtps://");
        return -1;
    }
    const char *at = strchr(c->smtp_from, '@');
    if (!at || strpbrk(c->smtp_from, "\r\n<>")) {
        snprintf(why, whysz, "QUAKECAST_SMTP_FROM is not an address");
        return -1;
    }
    smtp_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->tmpl = (qc_httpc_mail_t){ .url = c->smtp_url, .user = c->smtp_user, .password = c->smtp_password,
                                 .starttls = c->smtp_starttls && !strncmp(c->smtp_url, "smtp://", 7),
                                 .from = c->smtp_from };
    snprintf(s->from_hdr, sizeof s->from_hdr, "quakecast <%s>", c->smtp_from);
    snprintf(s->domain, sizeof s->domain, "%s", at + 1);
    *state = s;
    return 1;
}

static void smtp_destroy(void *state) { free(state); }

static void on_done(const qc_httpc_result_t *res, void *opaque)
{
    qc_send_t *s = opaque;
    char detail[200];
    if (!res->err) {
        s->done(s, QC_SEND_OK, -1, NULL);
        return;
    }
    snprintf(detail, sizeof detail, "SMTP %ld %s", res->status, res->curl_error);
    s->done(s, res->status >= 500 && res->status < 600 ? QC_SEND_PERMANENT : QC_SEND_TRANSIENT, -1, detail);
}

/* Escapes &, < and > for the HTML part. */
static size_t html_escape(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (; *in && n + 6 < outsz; in++) {
        const char *r = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;" : NULL;
        if (r) {
            size_t rl = strlen(r);
            memcpy(out + n, r, rl);
            n += rl;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
    return n;
}

static int smtp_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    smtp_t *t = state;
    const qc_subscriber_t *sub = s->sub;
    char subject[200], html[1600], date[64], msg[4096];
    if (s->subject)
        snprintf(subject, sizeof subject, "%s", s->subject);
    else
        qc_render_subject(subject, sizeof subject, sub->lang, s->job);
    html_escape(s->text, html, sizeof html);
    time_t now = (time_t)(qc_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    static const char boundary[] = "qc-alt-7c1e";
    int n = snprintf(msg, sizeof msg,
                     "From: %s\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n"
                     "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"%s\"\r\n"
                     "Auto-Submitted: auto-generated\r\n\r\n"
                     "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"
                     "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                     "<!doctype html><html lang=\"%s\"><body><p style=\"font-size:1.4em\"><strong>%s</strong></p>"
                     "</body></html>\r\n--%s--\r\n",
                     t->from_hdr, sub->email, subject, date, s->idem_key, t->domain, boundary, boundary, s->text,
                     boundary, sub->lang, html, boundary);
    if (n < 0 || (size_t)n >= sizeof msg)
        return -1;
    qc_httpc_mail_t m = t->tmpl;
    m.rcpt = sub->email;
    m.data = msg;
    m.data_len = (size_t)n;
    return qc_httpc_mail(d->http, &m, on_done, s);
}

const qc_channel_driver_t qc_channel_smtp = { .name = "email", .init = smtp_init, .destroy = smtp_destroy,
                                              .send = smtp_send };
