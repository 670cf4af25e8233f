/* metrics.h: Prometheus counters, gauges and histograms, rendered in the
 * text exposition format. Series are registered once at start-up and kept
 * as pointers, so the hot path is one atomic add. Label values must never
 * carry personal data. */
#ifndef QC_METRICS_H
#define QC_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
typedef struct qc_metrics qc_metrics_t;
typedef struct qc_series qc_series_t;

typedef double (*qc_gauge_fn)(void *opaque);

/** @returns a registry, or NULL. Caller frees with qc_metrics_destroy(). */
qc_metrics_t *qc_metrics_new(void);
void qc_metrics_destroy(qc_metrics_t *m);

/** Registers (or returns the existing) counter @p name with @p labels
 *  (e.g. "reason=\"bad_json\"", or NULL). Owned by the registry.
 *  @returns NULL only on allocation failure. */
qc_series_t *qc_metrics_counter(qc_metrics_t *m, const char *name, const char *labels, const char *help);
qc_series_t *qc_metrics_gauge(qc_metrics_t *m, const char *name, const char *labels, const char *help);
/** A gauge computed at scrape time by @p fn(@p opaque). */
qc_series_t *qc_metrics_gauge_fn(qc_metrics_t *m, const char *name, const char *labels,
                                 const char *help, qc_gauge_fn fn, void *opaque);
/** A histogram with @p n upper bounds (ascending, +Inf implied). */
qc_series_t *qc_metrics_histogram(qc_metrics_t *m, const char *name, const char *labels,
                                  const char *help, const double *bounds, size_t n);

/** NULL-safe, so a failed registration never crashes the hot path. */
void qc_counter_add(qc_series_t *s, uint64_t n);
void qc_gauge_set(qc_series_t *s, double v);
void qc_gauge_add(qc_series_t *s, double v);
void qc_hist_observe(qc_series_t *s, double v);
/** Current value of a counter or gauge (tests, decisions). */
double qc_series_value(const qc_series_t *s);

/** Appends the whole registry in Prometheus text format. @returns 0 or error. */
int qc_metrics_render(qc_metrics_t *m, struct evbuffer *out);

#endif
