/* pending.c: POST /v1/events waits for the decision on its events, which
 * any processor of the consumer group may take. The decider publishes
 * "corr\njson" on the Redis channel qc:decisions; every processor listens
 * and answers the requests it holds. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "qc/log.h"

typedef struct waiter {
    char corr[40];
    qc_pending_cb cb;
    void *opaque;
    struct event *timer;
    qc_pending_t *pd;
    struct waiter *next;
} waiter_t;

struct qc_pending {
    qc_proc_t *p;
    waiter_t *head; /* few at a time: a list is enough */
};

qc_pending_t *qc_pending_new(qc_proc_t *p)
{
    qc_pending_t *pd = calloc(1, sizeof *pd);
    if (pd)
        pd->p = p;
    return pd;
}

static void unlink_waiter(qc_pending_t *pd, waiter_t *w)
{
    for (waiter_t **pp = &pd->head; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            return;
        }
}

static void free_waiter(waiter_t *w)
{
    if (w->timer)
        event_free(w->timer);
    free(w);
}

void qc_pending_destroy(qc_pending_t *pd)
{
    if (!pd)
        return;
    for (waiter_t *w = pd->head, *n; w; w = n) {
        n = w->next;
        free_waiter(w);
    }
    free(pd);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    waiter_t *w = arg;
    unlink_waiter(w->pd, w);
    w->cb(NULL, w->opaque);
    free_waiter(w);
}

int qc_pending_add(qc_pending_t *pd, const char *corr, int timeout_ms, qc_pending_cb cb, void *opaque)
{
    waiter_t *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    snprintf(w->corr, sizeof w->corr, "%s", corr);
    w->cb = cb;
    w->opaque = opaque;
    w->pd = pd;
    w->timer = evtimer_new(pd->p->base, on_timeout, w);
    if (!w->timer) {
        free(w);
        return -1;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    evtimer_add(w->timer, &tv);
    w->next = pd->head;
    pd->head = w;
    return 0;
}

void qc_pending_deliver(qc_pending_t *pd, const char *corr, const char *json)
{
    for (waiter_t *w = pd->head; w; w = w->next)
        if (!strcmp(w->corr, corr)) {
            unlink_waiter(pd, w);
            w->cb(json, w->opaque);
            free_waiter(w);
            return;
        }
}

void qc_pending_publish(qc_proc_t *p, const char *corr, const char *json)
{
    if (!corr[0])
        return;
    size_t n = strlen(corr) + 1 + strlen(json);
    char *payload = malloc(n + 1);
    if (!payload)
        return;
    snprintf(payload, n + 1, "%s\n%s", corr, json);
    if (qc_redis_cmd(p->redis, NULL, NULL, "PUBLISH qc:decisions %s", payload))
        qc_log(QC_LOG_WARN, "decision_publish_failed", "corr", corr, NULL);
    free(payload);
}
