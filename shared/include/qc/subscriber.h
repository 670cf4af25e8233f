/* subscriber.h: the subscriber document (DESIGN.md section 7), its
 * validation, and its packed form: the msgpack record stored in a segment
 * and read by dispatchers. The same document is used by the API, the NDJSON
 * import and the export. */
#ifndef QC_SUBSCRIBER_H
#define QC_SUBSCRIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#define QC_SUB_RECORD_VERSION 1

typedef enum qc_channel {
    QC_CH_PUSH = 0,  /* fastest first: the order channels are tried in */
    QC_CH_WEBHOOK,
    QC_CH_TELEGRAM,
    QC_CH_SMS,
    QC_CH_EMAIL,
    QC_CH_NULL,      /* benchmark channel: everything but the send */
    QC_CH_COUNT_
} qc_channel_t;

typedef struct qc_subscriber {
    char id[65];
    double lat, lon;
    char lang[8];
    int min_mmi;               /* 1..10 */
    unsigned channels;         /* bit (1u << qc_channel_t) per configured channel */
    unsigned dead;             /* subset of channels the provider said are gone for good
                                  (unregistered token, blocked bot): not tried again */
    char webhook_url[1024];
    char webhook_secret[128];
    /* Secret rotation (Standard Webhooks 1.0.0, "Webhook headers": the
     * old key keeps signing for a set period, space-separated after the
     * new one): the secret being replaced, still signed with while now <
     * webhook_prev_until (Unix s). Empty when no rotation is under way. */
    char webhook_prev_secret[128];
    int64_t webhook_prev_until;
    char sms_phone[20];
    char email[255];
    char telegram_chat[32];
    char push_token[512];
    char push_platform[16];
    /* Channels (bit per qc_channel_t: push, telegram) on which the person
     * listens to their area's broadcast (the push topic or Telegram channel
     * of their cell and threshold, qc_area_topic()): reached by it, they get
     * no personal message there. */
    unsigned area;
} qc_subscriber_t;

typedef struct qc_sub_policy {
    bool allow_private_webhooks; /* loopback/private targets and plain http */
    int default_min_mmi;
} qc_sub_policy_t;

/** Validates @p doc into @p out. On failure returns QC_ERR_INVAL and sets
 *  *code (machine-readable, static), *field (static or NULL) and a message. */
int qc_subscriber_from_json(const json_t *doc, const qc_sub_policy_t *policy,
                            qc_subscriber_t *out, const char **code, const char **field,
                            char *msg, size_t msgsz);
/** @returns a new JSON document (caller decrefs), or NULL. */
json_t *qc_subscriber_to_json(const qc_subscriber_t *s);
/** Appends the packed record to @p buf. @returns 0 or QC_ERR_NOMEM. */
int qc_subscriber_pack(const qc_subscriber_t *s, msgpack_sbuffer *buf);
/** Decodes a packed record. @returns 0, or QC_ERR_PARSE with the reason in
 *  @p err for a record that does not decode (never crashes on bad bytes). */
int qc_subscriber_unpack(const char *data, size_t len, qc_subscriber_t *out,
                         char *err, size_t errsz);

const char *qc_channel_name(qc_channel_t c);
/** @returns the channel for a name, or -1. */
int qc_channel_from_name(const char *name);

/** The geographic cell a point belongs to ("la:lo" on a 0.25 degree grid),
 *  and the cell's bounds. */
#define QC_CELL_DEG 0.25
/** SET of the area routes that have listeners, "<p|t>|<lat>:<lon>|<band>"
 *  (push or Telegram, the cell's grid indices, the threshold): added by the
 *  registry (sub_store in shared/scripts/lib.lua) when a record listens
 *  there, never removed (a route nobody listens to any more costs one
 *  message per alert); read by the dispatchers' area plan. */
#define QC_AREA_ROUTES_KEY "qc:{reg}:areas"
void qc_cell_of(double lat, double lon, char *out, size_t outsz);
/** The segment group of a subscriber, the key their segment is chosen by:
 *  the cell, and "/qs", "/qe" or "/qt" after it when the first channel they
 *  are reached on is bound by a provider's quota (SMS, e-mail, Telegram: its channel
 *  posts as much as its personal messages). Keeping those people in
 *  segments of their own keeps a saturated provider from holding the chunks
 *  of everyone else: a chunk is marked done only when its last person was
 *  handed off. */
void qc_seg_group(const qc_subscriber_t *s, char *out, size_t outsz);
/** Whether a segment group (or a cell) names the quota-bound kind. */
bool qc_seg_group_slow(const char *group, size_t len);
/** The provider lane of a quota-bound group ("/qs" SMS, "/qe" e-mail,
 *  "/qt" Telegram): its qc_channel_t, or -1 (not quota-bound, or "/q" of
 *  records stored before the lanes). */
int qc_seg_group_lane(const char *group, size_t len);
/** Parses a cell name (or a segment group) back to the south-west corner.
 *  @returns 0 or error. */
int qc_cell_parse(const char *cell, size_t len, double *lat0, double *lon0);

/** The area broadcast route of a place and threshold on the 0.25 degree
 *  grid: "<prefix>_<N|S><|lat cell|>_<E|W><|lon cell|>_i<band>", e.g.
 *  qc_N177_E104_i4 for Bucharest from intensity IV. Letters, digits and
 *  '_' only, so it is a valid FCM topic ([a-zA-Z0-9-_.~%]+) and, after
 *  '@', a Telegram channel username (5-32 characters, starting with a
 *  letter). @returns 0, or QC_ERR_INVAL (bad prefix or band, too long). */
int qc_area_topic(const char *prefix, double lat, double lon, int band, char *out, size_t outsz);
/** A prefix qc_area_topic() accepts: a letter, then up to 11 letters, digits or '_'. */
bool qc_area_prefix_valid(const char *prefix);

/** The index bucket of a subscriber id ("qc:{reg}:idx:<b>"). */
void qc_sub_index_key(const char *id, char *out, size_t outsz);

#endif
