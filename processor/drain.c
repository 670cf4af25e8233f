/* drain.c: the processor's clean stop. On the first SIGTERM (or SIGINT) it
 * stops taking events from quake.events (the consumer stays paused, so the
 * group hands the partitions to another processor when this one leaves),
 * reports not ready on /readyz (so a load balancer stops sending it work),
 * refuses new POST /v1/events, and keeps serving until the requests it holds
 * are answered and the decision in flight is finished, for at most
 * QUAKECAST_SHUTDOWN_GRACE_S. A second signal stops at once. What is left at
 * the deadline is logged: a held request's client sees its connection close
 * and retries; an unfinished decision's offset is not committed, so another
 * processor decides that event again (decisions are idempotent). */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>

#include "processor.h"
#include "qc/clock.h"
#include "qc/log.h"

#define DRAIN_POLL_MS 20

static void stop(qc_proc_t *p, const char *event)
{
    char ms[24], held[24], deciding[24];
    snprintf(ms, sizeof ms, "%lld", (long long)(qc_mono_ms() - p->drain_started_ms));
    snprintf(held, sizeof held, "%ld", qc_http_held());
    snprintf(deciding, sizeof deciding, "%d", p->deciding);
    qc_log(event[0] == 'd' && event[1] == 'r' ? QC_LOG_INFO : QC_LOG_WARN, event, "ms", ms, "held_requests", held,
           "deciding", deciding, NULL);
    event_base_loopexit(p->base, NULL);
}

/* Nothing held for two ticks in a row: the reply to the last held request
 * was queued on the first, and libevent writes it out in the loop turns in
 * between (exiting at once would close the socket with the reply unsent). */
static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    qc_proc_t *p = arg;
    bool idle = qc_http_held() <= 0 && p->deciding == 0;
    p->drain_idle_ticks = idle ? p->drain_idle_ticks + 1 : 0;
    if (p->drain_idle_ticks >= 2)
        stop(p, "drained");
    else if (qc_mono_ms() - p->drain_started_ms >= p->conf.shutdown_grace_s * 1000)
        stop(p, "drain_timeout");
}

void qc_drain_start(qc_proc_t *p)
{
    if (p->draining) { /* the second signal: no more waiting */
        stop(p, "drain_abandoned");
        return;
    }
    p->draining = true;
    p->drain_started_ms = qc_mono_ms();
    qc_kcons_pause(p->events, true);
    char grace[24], held[24], deciding[24];
    snprintf(grace, sizeof grace, "%ld", p->conf.shutdown_grace_s);
    snprintf(held, sizeof held, "%ld", qc_http_held());
    snprintf(deciding, sizeof deciding, "%d", p->deciding);
    qc_log(QC_LOG_INFO, "draining", "grace_s", grace, "held_requests", held, "deciding", deciding, NULL);
    p->drain_tick = event_new(p->base, -1, EV_PERSIST, on_drain_tick, p);
    struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
    if (!p->drain_tick || event_add(p->drain_tick, &tv))
        stop(p, "drain_failed");
}

void qc_drain_free(qc_proc_t *p)
{
    if (p->drain_tick)
        event_free(p->drain_tick);
    p->drain_tick = NULL;
}
