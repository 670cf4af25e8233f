/* metrics.c: a small Prometheus registry. Each binary runs its loop on one
 * thread, but values are atomics so helper threads (if any) may update. */
#include "qc/metrics.h"
#include "qc/err.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_COUNTER, S_GAUGE, S_GAUGE_FN, S_HIST } series_kind_t;

struct qc_series {
    series_kind_t kind;
    char *name, *labels, *help;
    _Atomic uint64_t count;      /* counter value, histogram count */
    _Atomic uint64_t gauge_bits; /* gauge as double bits; histogram sum bits */
    qc_gauge_fn fn;
    void *opaque;
    double *bounds;
    _Atomic uint64_t *buckets;   /* histogram: n bounds (+Inf = count) */
    size_t nbounds;
    struct qc_series *next;
};

struct qc_metrics {
    qc_series_t *head, *tail; /* registration order, kept for stable output */
};

qc_metrics_t *qc_metrics_new(void) { return calloc(1, sizeof(qc_metrics_t)); }

void qc_metrics_destroy(qc_metrics_t *m)
{
    if (!m)
        return;
    for (qc_series_t *s = m->head, *n; s; s = n) {
        n = s->next;
        free(s->name);
        free(s->labels);
        free(s->help);
        free(s->bounds);
        free((void *)s->buckets);
        free(s);
    }
    free(m);
}

static qc_series_t *find(qc_metrics_t *m, const char *name, const char *labels)
{
    for (qc_series_t *s = m->head; s; s = s->next)
        if (!strcmp(s->name, name) && !strcmp(s->labels, labels ? labels : ""))
            return s;
    return NULL;
}

static qc_series_t *add(qc_metrics_t *m, series_kind_t kind, const char *name,
                        const char *labels, const char *help)
{
    if (!m)
        return NULL;
    qc_series_t *s = find(m, name, labels);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->name = strdup(name);
    s->labels = strdup(labels ? labels : "");
    s->help = strdup(help ? help : "");
    if (!s->name || !s->labels || !s->help) {
        free(s->name);
        free(s->labels);
        free(s->help);
        free(s);
        return NULL;
    }
    /* Keep series of one name together so HELP/TYPE print once. */
    qc_series_t *last_same = NULL;
    for (qc_series_t *p = m->head; p; p = p->next)
        if (!strcmp(p->name, name))
            last_same = p;
    if (last_same) {
        s->next = last_same->next;
        last_same->next = s;
        if (m->tail == last_same)
            m->tail = s;
    } else if (m->tail) {
        m->tail->next = s;
        m->tail = s;
    } else {
        m->head = m->tail = s;
    }
    return s;
}

qc_series_t *qc_metrics_counter(qc_metrics_t *m, const char *name, const char *labels, const char *help)
{
    return add(m, S_COUNTER, name, labels, help);
}

qc_series_t *qc_metrics_gauge(qc_metrics_t *m, const char *name, const char *labels, const char *help)
{
    return add(m, S_GAUGE, name, labels, help);
}

qc_series_t *qc_metrics_gauge_fn(qc_metrics_t *m, const char *name, const char *labels,
                                 const char *help, qc_gauge_fn fn, void *opaque)
{
    qc_series_t *s = add(m, S_GAUGE_FN, name, labels, help);
    if (s) {
        s->fn = fn;
        s->opaque = opaque;
    }
    return s;
}

qc_series_t *qc_metrics_histogram(qc_metrics_t *m, const char *name, const char *labels,
                                  const char *help, const double *bounds, size_t n)
{
    qc_series_t *s = add(m, S_HIST, name, labels, help);
    if (!s || s->bounds)
        return s;
    s->bounds = malloc(n * sizeof *bounds);
    s->buckets = calloc(n ? n : 1, sizeof *s->buckets);
    if (!s->bounds || !s->buckets)
        return NULL; /* freed with the registry */
    memcpy(s->bounds, bounds, n * sizeof *bounds);
    s->nbounds = n;
    return s;
}

static uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
static double u2d(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }

void qc_counter_add(qc_series_t *s, uint64_t n)
{
    if (s)
        atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

void qc_gauge_set(qc_series_t *s, double v)
{
    if (s)
        atomic_store_explicit(&s->gauge_bits, d2u(v), memory_order_relaxed);
}

static void atomic_add_double(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, d2u(u2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void qc_gauge_add(qc_series_t *s, double v)
{
    if (s)
        atomic_add_double(&s->gauge_bits, v);
}

void qc_hist_observe(qc_series_t *s, double v)
{
    if (!s || s->kind != S_HIST)
        return;
    for (size_t i = 0; i < s->nbounds; i++)
        if (v <= s->bounds[i])
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_add_double(&s->gauge_bits, v);
}

double qc_series_value(const qc_series_t *s)
{
    if (!s)
        return 0;
    switch (s->kind) {
    case S_COUNTER: return (double)atomic_load(&s->count);
    case S_GAUGE: return u2d(atomic_load(&s->gauge_bits));
    case S_GAUGE_FN: return s->fn(s->opaque);
    case S_HIST: return (double)atomic_load(&s->count);
    }
    return 0;
}

static void put_labels(struct evbuffer *out, const char *labels, const char *extra)
{
    if (!*labels && !extra)
        return;
    evbuffer_add_printf(out, "{%s%s%s}", labels, (*labels && extra) ? "," : "", extra ? extra : "");
}

static void put_double(struct evbuffer *out, double v)
{
    if (isinf(v))
        evbuffer_add_printf(out, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        evbuffer_add_printf(out, "NaN");
    else
        evbuffer_add_printf(out, "%.17g", v);
}

int qc_metrics_render(qc_metrics_t *m, struct evbuffer *out)
{
    const char *prev = "";
    for (qc_series_t *s = m->head; s; s = s->next) {
        if (strcmp(prev, s->name) != 0) {
            const char *type = s->kind == S_COUNTER ? "counter" : s->kind == S_HIST ? "histogram" : "gauge";
            evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name, type);
            prev = s->name;
        }
        if (s->kind == S_HIST) {
            for (size_t i = 0; i < s->nbounds; i++) {
                char le[48];
                snprintf(le, sizeof le, "le=\"%.6g\"", s->bounds[i]);
                evbuffer_add_printf(out, "%s_bucket", s->name);
                put_labels(out, s->labels, le);
                evbuffer_add_printf(out, " %llu\n", (unsigned long long)atomic_load(&s->buckets[i]));
            }
            evbuffer_add_printf(out, "%s_bucket", s->name);
            put_labels(out, s->labels, "le=\"+Inf\"");
            evbuffer_add_printf(out, " %llu\n%s_sum", (unsigned long long)atomic_load(&s->count), s->name);
            put_labels(out, s->labels, NULL);
            evbuffer_add_printf(out, " ");
            put_double(out, u2d(atomic_load(&s->gauge_bits)));
            evbuffer_add_printf(out, "\n%s_count", s->name);
            put_labels(out, s->labels, NULL);
            evbuffer_add_printf(out, " %llu\n", (unsigned long long)atomic_load(&s->count));
            continue;
        }
        evbuffer_add_printf(out, "%s", s->name);
        put_labels(out, s->labels, NULL);
        evbuffer_add_printf(out, " ");
        if (s->kind == S_COUNTER)
            evbuffer_add_printf(out, "%llu", (unsigned long long)atomic_load(&s->count));
        else
            put_double(out, qc_series_value(s));
        evbuffer_add_printf(out, "\n");
    }
    return 0;
}
