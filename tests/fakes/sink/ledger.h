/* ledger.h: what the fake sink received, stored compactly enough for
 * millions of deliveries.
 *
 * One entry per (alert_id, subscriber_id) pair: 32 bytes plus the subscriber
 * id bytes in an arena plus ~8-16 bytes of hash table, so a run with
 * 1,000,000 subscribers costs well under 100 MB. Every 2xx delivery also
 * appends 4 bytes (its receive time) to its alert, for /_sink/times.
 *
 * Single-threaded: the event loop that owns the sink owns its ledger. */
#ifndef SINK_LEDGER_H
#define SINK_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define SINK_SUB_MAX 64     /**< longest subscriber_id accepted (bytes) */
#define SINK_ALERT_MAX 256  /**< longest alert_id accepted (bytes) */
#define SINK_ALERT_ALL UINT32_MAX /**< alert filter meaning "every alert" */
#define SINK_ALERT_NONE (UINT32_MAX - 1) /**< an alert never seen */

typedef struct sink_ledger sink_ledger_t;

/** Request-level counters that are not attributable to one alert. */
typedef struct sink_counters {
    uint64_t bad_signature;   /**< 401: missing/invalid signature or stale ts */
    uint64_t stale_timestamp; /**< subset of bad_signature: ts out of tolerance */
    uint64_t bad_request;     /**< 400: not JSON, ids missing or too long */
    uint64_t missing_id;      /**< 2xx deliveries without a webhook-id header */
    uint64_t client_gone;     /**< delayed deliveries whose client closed first */
} sink_counters_t;

/** @returns a new empty ledger, or NULL when out of memory. */
sink_ledger_t *sink_ledger_new(void);
/** Frees @p l; accepts NULL. */
void sink_ledger_destroy(sink_ledger_t *l);
/** Forgets every delivery and counter; bumps the generation so that streams
 *  started before the reset stop. @returns 0 or QC_ERR_NOMEM. */
int sink_ledger_reset(sink_ledger_t *l);
/** @returns a number that changes on every reset. */
uint64_t sink_ledger_generation(const sink_ledger_t *l);
/** @returns the counters, valid until the ledger is destroyed. */
sink_counters_t *sink_ledger_counters(sink_ledger_t *l);

/** Finds or creates the alert @p id (@p len bytes, not NUL-terminated).
 *  @returns 0 and sets *idx, QC_ERR_TOOBIG if @p len > SINK_ALERT_MAX, or
 *  QC_ERR_NOMEM. */
int sink_ledger_alert(sink_ledger_t *l, const char *id, size_t len, uint32_t *idx);
/** Looks up alert @p id (NUL-terminated) without creating it.
 *  @returns true and sets *idx if it exists. */
bool sink_ledger_alert_find(const sink_ledger_t *l, const char *id, uint32_t *idx);

/** Records one accepted delivery of alert @p alert to subscriber @p sub
 *  (@p sublen bytes, 1..SINK_SUB_MAX) whose webhook-id hashed to @p id_hash,
 *  received at @p wall_ms (Unix ms) / @p mono_ms (CLOCK_MONOTONIC ms).
 *  @returns 0, QC_ERR_INVAL or QC_ERR_NOMEM. */
int sink_ledger_record(sink_ledger_t *l, uint32_t alert, const char *sub,
                       size_t sublen, uint64_t id_hash, int64_t wall_ms,
                       int64_t mono_ms);

/** Counts one request of @p alert (SINK_ALERT_ALL if unknown) answered with
 *  fault @p status (an HTTP status, or 0 for a dropped connection). */
void sink_ledger_fault(sink_ledger_t *l, uint32_t alert, int status);

/** Appends the summary object of @p alert (or SINK_ALERT_ALL) to @p out
 *  as one line of JSON without a newline. An @p alert that does not exist
 *  (SINK_ALERT_NONE) gives an all-zero summary named @p unknown_id. */
void sink_ledger_summary_json(const sink_ledger_t *l, uint32_t alert,
                              const char *unknown_id, struct evbuffer *out);

/** Appends NDJSON lines for entries of @p alert (or SINK_ALERT_ALL),
 *  starting at entry *cursor, until about @p max_bytes were added.
 *  Advances *cursor. @returns true when no entry is left. */
bool sink_ledger_ids_ndjson(const sink_ledger_t *l, uint32_t alert,
                            size_t *cursor, struct evbuffer *out,
                            size_t max_bytes);

/** Copies the receive times (Unix ms) of every 2xx delivery of @p alert (or
 *  SINK_ALERT_ALL), sorted ascending, into a malloc'd array (caller frees;
 *  NULL when *n == 0). @returns 0 or QC_ERR_NOMEM. */
int sink_ledger_times(const sink_ledger_t *l, uint32_t alert, int64_t **out,
                      size_t *n);

/** @returns bytes of memory held by the ledger (entries, strings, tables,
 *  times), for the benchmark's memory-per-subscriber figure. */
size_t sink_ledger_memory(const sink_ledger_t *l);

/** 64-bit FNV-1a of @p len bytes at @p p. */
uint64_t sink_hash(const void *p, size_t len);

/** Appends @p len bytes at @p s to @p out as a JSON string with quotes.
 *  @p s must be valid UTF-8 (jansson guarantees it for parsed strings). */
void sink_json_string(struct evbuffer *out, const char *s, size_t len);

#endif
