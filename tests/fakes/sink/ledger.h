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

#define SINK_SUB_MAX 255    /**< longest recipient the ledger stores (bytes) */
#define SINK_WEBHOOK_SUB_MAX 64 /**< longest webhook subscriber_id accepted */
#define SINK_TEXT_KEEP 1024 /**< bytes of a provider text kept for /_sink/alerts */
#define SINK_ALERT_MAX 256  /**< longest alert_id accepted (bytes) */
#define SINK_ALERT_ALL UINT32_MAX /**< alert filter meaning "every alert" */
#define SINK_ALERT_NONE (UINT32_MAX - 1) /**< an alert never seen */

typedef struct sink_ledger sink_ledger_t;

/** Who a delivery came through. Webhooks are keyed by their alert_id; the
 *  others by "<provider>:<16 hex FNV-1a-64 of the text>". */
typedef enum sink_provider {
    SINK_P_WEBHOOK = 0,
    SINK_P_TWILIO,
    SINK_P_TELEGRAM,
    SINK_P_FCM,
    SINK_P_SMTP,
    SINK_P_COUNT
} sink_provider_t;

#define SINK_P_ANY (-1) /**< provider filter meaning "every provider" */

/** @returns "webhook", "twilio", ... for @p p (a sink_provider_t). */
const char *sink_provider_name(int p);
/** @returns the provider named @p name, or SINK_P_ANY if none is. */
int sink_provider_parse(const char *name);

/** Per-provider request counters (GET /_sink/summary "providers"). */
typedef struct sink_pstats {
    uint64_t requests;       /**< requests routed to the provider */
    uint64_t unauthorized;   /**< 401 / SMTP 535 / missing AUTH */
    uint64_t bad_request;    /**< refused for their fields */
    uint64_t rate_limited;   /**< refused by --rate-limit */
    uint64_t early_retry;    /**< came before a retry-after we gave */
    uint64_t early_retry_max_us; /**< how early the earliest of those was */
    uint64_t max_per_second; /**< most admitted in any 1000 ms window */
    uint64_t client_gone;    /**< delayed successes whose client left */
    uint64_t tokens_issued;  /**< fcm: access tokens issued */
    uint64_t token_rejected; /**< fcm: bad JWT assertions */
    uint64_t expired_token;  /**< fcm: bearer tokens used after expiry */
    uint64_t connections;    /**< smtp: connections accepted */
    uint64_t messages;       /**< smtp: messages accepted (DATA) */
    uint64_t missing_id;     /**< smtp: accepted messages without Message-ID */
} sink_pstats_t;

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
/** Like sink_ledger_alert() for a provider key: a new alert remembers
 *  @p provider and the first SINK_TEXT_KEEP bytes of @p text (may be NULL). */
int sink_ledger_alert_p(sink_ledger_t *l, int provider, const char *id, size_t len,
                        const char *text, size_t textlen, uint32_t *idx);
/** @returns the counters of @p provider, valid until the ledger is destroyed. */
sink_pstats_t *sink_ledger_pstats(sink_ledger_t *l, int provider);

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

/** Counts one request of @p alert (SINK_ALERT_ALL if unknown) to
 *  @p provider answered with fault @p status (an HTTP status or SMTP code,
 *  or 0 for a dropped connection). */
void sink_ledger_fault(sink_ledger_t *l, uint32_t alert, int provider, int status);

/** Appends the summary object of @p alert (or SINK_ALERT_ALL) to @p out
 *  as one line of JSON without a newline. An @p alert that does not exist
 *  (SINK_ALERT_NONE) gives an all-zero summary named @p unknown_id.
 *  @p provider (or SINK_P_ANY) restricts SINK_ALERT_ALL to its alerts and
 *  adds its counters at the top level. */
void sink_ledger_summary_json(const sink_ledger_t *l, uint32_t alert, int provider,
                              const char *unknown_id, struct evbuffer *out);

/** Appends one NDJSON line per alert of @p provider (or SINK_P_ANY):
 *  alert_id, provider, text, received, distinct. */
void sink_ledger_alerts_ndjson(const sink_ledger_t *l, int provider,
                               struct evbuffer *out);

/** Appends NDJSON lines for entries of @p alert (or SINK_ALERT_ALL) of
 *  @p provider (or SINK_P_ANY),
 *  starting at entry *cursor, until about @p max_bytes were added.
 *  Advances *cursor. @returns true when no entry is left. */
bool sink_ledger_ids_ndjson(const sink_ledger_t *l, uint32_t alert, int provider,
                            size_t *cursor, struct evbuffer *out,
                            size_t max_bytes);

/** Copies the receive times (Unix ms) of every 2xx delivery of @p alert (or
 *  SINK_ALERT_ALL) of @p provider (or SINK_P_ANY), sorted ascending, into a
 *  malloc'd array (caller frees; NULL when *n == 0).
 *  @returns 0 or QC_ERR_NOMEM. */
int sink_ledger_times(const sink_ledger_t *l, uint32_t alert, int provider,
                      int64_t **out, size_t *n);

/** @returns bytes of memory held by the ledger (entries, strings, tables,
 *  times), for the benchmark's memory-per-subscriber figure. */
size_t sink_ledger_memory(const sink_ledger_t *l);

/** 64-bit FNV-1a of @p len bytes at @p p, with a finaliser that spreads
 *  the low bits (for hash tables). */
uint64_t sink_hash(const void *p, size_t len);
/** Plain 64-bit FNV-1a (no finaliser): the provider ledger keys, which
 *  tests recompute. */
uint64_t sink_fnv1a64(const void *p, size_t len);

/** Appends @p len bytes at @p s to @p out as a JSON string with quotes.
 *  @p s must be valid UTF-8 (jansson guarantees it for parsed strings). */
void sink_json_string(struct evbuffer *out, const char *s, size_t len);

/** @returns true if @p len bytes at @p s are valid UTF-8 (no NUL check). */
bool sink_utf8_valid(const char *s, size_t len);

#endif
