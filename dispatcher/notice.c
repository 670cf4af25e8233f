/* notice.c: one-off messages from quake.notices: the verification codes of
 * self-service sign-ups (processor/api/signup.c). Each carries the packed
 * subscriber record (the address), the channel and the rendered text, and
 * goes through that channel's driver as a single message: no segment, no
 * lease, no bits. Transient failures are retried a few times with
 * back-off while the code is still valid; after that, or on a permanent
 * failure, the person asks for a new code.
 *
 * Offsets are stored when a notice is settled (sent or given up), in
 * order per partition (offsets.c), so a dispatcher that dies with notices
 * in flight leaves them to the next member of the group: a code may then
 * arrive twice, the same code, with the same idempotency key.
 *
 * Notices skip the shared provider rate limits: sign-ups are limited per
 * client address and per destination before a notice exists. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notice.h"
#include "qc/clock.h"
#include "qc/log.h"

#define NOTICE_ATTEMPTS 4

typedef struct notice {
    qc_notices_t *owner;
    qc_msg_notice_t m;       /* record points into rec */
    qc_subscriber_t sub;
    qc_msg_job_t job;        /* zeroed but for an id: drivers read a few fields */
    qc_send_t s;
    int attempts;
    int32_t partition;
    int64_t offset;
    struct event *retry;
    struct notice *prev, *next;
} notice_t;

struct qc_notices {
    qc_disp_t *d;
    struct offtrack *offsets;
    notice_t *live;          /* in flight or waiting to retry */
};

qc_notices_t *qc_notices_new(qc_disp_t *d)
{
    qc_notices_t *n = calloc(1, sizeof *n);
    if (!n || !(n->offsets = qc_offtrack_new())) {
        free(n);
        return NULL;
    }
    n->d = d;
    return n;
}

static void notice_free(notice_t *x)
{
    if (x->retry)
        event_free(x->retry);
    free(x);
}

void qc_notices_destroy(qc_notices_t *n)
{
    if (!n)
        return;
    for (notice_t *x = n->live, *next; x; x = next) {
        next = x->next;
        notice_free(x);
    }
    qc_offtrack_destroy(n->offsets);
    free(n);
}

static void settle(notice_t *x, bool sent, const char *detail)
{
    qc_notices_t *n = x->owner;
    qc_disp_t *d = n->d;
    qc_counter_add(sent ? d->m_notices_sent : d->m_notices_failed, 1);
    if (!sent)
        qc_log(QC_LOG_WARN, "notice_failed", "notice_id", x->m.id, "channel", qc_channel_name((qc_channel_t)x->m.channel),
               "reason", detail ? detail : "", NULL);
    int64_t next = qc_offtrack_settle(n->offsets, x->partition, x->offset);
    if (next >= 0)
        qc_kcons_store(d->notices_in, QC_TOPIC_NOTICES, x->partition, next);
    if (x->prev)
        x->prev->next = x->next;
    else
        n->live = x->next;
    if (x->next)
        x->next->prev = x->prev;
    notice_free(x);
}

static void start(notice_t *x);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    start(arg);
}

/* The driver's answer; never called inside start()'s send call. */
static void on_done(qc_send_t *s, qc_send_outcome_t o, long retry_after_s, const char *detail)
{
    notice_t *x = s->opaque;
    if (o == QC_SEND_OK) {
        settle(x, true, NULL);
        return;
    }
    long wait_ms = retry_after_s > 0 ? retry_after_s * 1000 : 500L << x->attempts;
    if (o != QC_SEND_TRANSIENT || x->attempts >= NOTICE_ATTEMPTS || qc_wall_ms() + wait_ms >= x->m.expires_ms) {
        settle(x, false, detail);
        return;
    }
    if (!x->retry && !(x->retry = evtimer_new(x->owner->d->base, on_retry, x))) {
        settle(x, false, "out of memory");
        return;
    }
    struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
    evtimer_add(x->retry, &tv);
}

static void start(notice_t *x)
{
    qc_disp_t *d = x->owner->d;
    const qc_channel_driver_t *drv = d->drivers[x->m.channel];
    x->attempts++;
    x->s = (qc_send_t){ .sub = &x->sub, .job = &x->job, .text = x->m.text, .idem_key = x->m.id,
                        .subject = x->m.subject[0] ? x->m.subject : "quakecast", .done = on_done, .opaque = x };
    if (!drv || drv->send(d, d->chstate[x->m.channel], &x->s))
        settle(x, false, drv ? "could not start the request" : "channel off on this dispatcher");
}

void qc_notice_on_message(rd_kafka_message_t *msg, void *opaque)
{
    qc_disp_t *d = opaque;
    qc_notices_t *n = d->notices;
    if (msg->err) {
        rd_kafka_message_destroy(msg);
        return;
    }
    notice_t *x = calloc(1, sizeof *x);
    char err[160] = "";
    if (!x) {
        rd_kafka_message_destroy(msg);
        return;
    }
    x->owner = n;
    x->partition = msg->partition;
    x->offset = msg->offset;
    qc_offtrack_begin(n->offsets, x->partition, x->offset);
    x->next = n->live;
    if (n->live)
        n->live->prev = x;
    n->live = x;
    /* The record is a view into the Kafka message: unpack it before the
     * message goes. */
    qc_msg_notice_t m;
    int rc = qc_msg_notice_unpack(msg->payload, msg->len, &m, err, sizeof err);
    if (!rc && (m.channel >= QC_CH_NULL || strcmp(m.kind, "verify"))) {
        snprintf(err, sizeof err, "unknown notice kind or channel");
        rc = -1;
    }
    if (!rc)
        rc = qc_subscriber_unpack(m.record, m.record_len, &x->sub, err, sizeof err);
    rd_kafka_message_destroy(msg);
    if (rc) {
        qc_counter_add(d->m_notices_bad, 1);
        qc_log(QC_LOG_WARN, "notice_bad", "error", err, NULL);
        settle(x, false, err);
        return;
    }
    x->m = m;
    x->m.record = NULL;
    x->m.record_len = 0;
    snprintf(x->job.alert_id, sizeof x->job.alert_id, "verify");
    if (x->m.expires_ms && qc_wall_ms() >= x->m.expires_ms) {
        settle(x, false, "expired before it could be sent");
        return;
    }
    if (!(x->sub.channels & (1u << x->m.channel))) {
        settle(x, false, "the record has no such channel");
        return;
    }
    start(x);
}
