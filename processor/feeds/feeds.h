/* feeds.h: parsers that turn feed documents into normalised qc_event_t.
 *
 * Every parser has the same contract: it reads @p len bytes at @p buf (not
 * necessarily NUL-terminated), and on success sets *out to a malloc'd array
 * of *n events (caller frees with free(); *out may be NULL when *n == 0) and
 * returns 0. On failure it returns a negative qc_err_t (QC_ERR_PARSE for a
 * document that is not of the format, QC_ERR_INVAL for a structurally valid
 * document with invalid values) and writes the reason to @p errstr. Events
 * that are valid but not earthquakes are returned (their type says so); the
 * caller decides to ignore them. */
#ifndef QC_FEEDS_H
#define QC_FEEDS_H

#include <stddef.h>
#include "qc/event.h"

int qc_feed_usgs_geojson_parse(const char *buf, size_t len, qc_event_t **out,
                               size_t *n, char *errstr, size_t errstr_size);

/** FDSN event text (fdsnws-event format=text, '|'-separated, '#' comment
 *  lines, optional "#EventID | Time | ..." header naming the columns).
 *  Catalog gives the source (lower case, "fdsn" if empty); no EventType
 *  column means "earthquake"; status is automatic, version the origin time. */
int qc_feed_fdsn_text_parse(const char *buf, size_t len, qc_event_t **out,
                            size_t *n, char *errstr, size_t errstr_size);

/** QuakeML 1.2 Basic Event Description (q:quakeml/eventParameters/event),
 *  and QuakeML 1.0 as EMSC/NERIES served it: one event per event element,
 *  from its preferred origin and magnitude (falling back to the magnitude's
 *  origin, then the first ones). Depth is converted from metres. id and
 *  source come from ComCat's catalog attributes or the publicID; status
 *  from evaluationMode/Status ("rejected" or type "not existing": deleted);
 *  version is the latest creationInfo/creationTime. */
int qc_feed_quakeml_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                          char *errstr, size_t errstr_size);

/** OASIS CAP 1.2 alert with an earthquake info block (category Geo, event
 *  or eventCode naming an earthquake): one event, epicentre from
 *  Latitude/Longitude parameters or the first area circle, magnitude,
 *  depth and origin time from parameters. msgType Cancel gives status
 *  deleted (with what the alert references); status Test/Exercise sets
 *  test. Anything else (weather, Amber alert, System, Draft, Ack, Error) is
 *  QC_ERR_INVAL with the reason ("not an earthquake alert: ..."). */
int qc_feed_cap_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                      char *errstr, size_t errstr_size);

/** ShakeAlert event_message XML (DM messages and the eqinfo2gm contour and
 *  map messages, read for their core_info): one event, source
 *  "shakealert"; message_type delete gives status deleted; category test
 *  sets test. A system_status message is QC_ERR_INVAL. */
int qc_feed_shakealert_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                             char *errstr, size_t errstr_size);

/** EMSC seismicportal JSON: the fdsnws-event format=json FeatureCollection
 *  (or one Feature) and the real-time websocket message
 *  {"action": "create"|"update", "data": Feature}. Source "emsc", id the
 *  EMSC unid, evtype codes (ke, km, kx, ...) turned into QuakeML event
 *  types, version properties.lastupdate. */
int qc_feed_emsc_json_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                            char *errstr, size_t errstr_size);

/** INFP (Romania) ground-motion parameter JSON, the input of its ShakeMap:
 *  {"<station>_param": {"eq_id", "eq_origin", "eq_lat", "eq_lon",
 *  "eq_depth", "eq_Mw", ...}, ...}. One event, source "infp"; every station
 *  must name the same one. */
int qc_feed_infp_gm_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                          char *errstr, size_t errstr_size);

/** The document formats POST /v1/events takes. */
typedef enum qc_feed_format {
    QC_FEED_UNKNOWN = 0,
    QC_FEED_USGS_GEOJSON,
    QC_FEED_FDSN_TEXT,
    QC_FEED_QUAKEML,
    QC_FEED_CAP,
    QC_FEED_SHAKEALERT,
    QC_FEED_EMSC_JSON,
    QC_FEED_INFP_GM,
} qc_feed_format_t;

/** Picks the format of a document: from @p content_type (may be NULL) when
 *  it names one (application/geo+json, text/plain,
 *  application/quakeml+xml, application/cap+xml), else by looking at the
 *  document: XML by its root element (quakeml, alert, event_message),
 *  JSON by its shape (EMSC websocket {action, data}; a FeatureCollection or
 *  Feature from EMSC by its unid/source_catalog properties, else USGS;
 *  INFP's "<station>_param" objects), anything else FDSN text.
 *  @returns QC_FEED_UNKNOWN only for XML with another root element. */
qc_feed_format_t qc_feed_detect(const char *buf, size_t len, const char *content_type);

/** Parses with the parser of @p fmt (the contract above). QC_FEED_UNKNOWN
 *  fails with QC_ERR_PARSE naming what was found. */
int qc_feed_parse(qc_feed_format_t fmt, const char *buf, size_t len, qc_event_t **out,
                  size_t *n, char *errstr, size_t errstr_size);

/** @returns a static name: "usgs_geojson", "fdsn_text", "quakeml", "cap",
 *  "shakealert", "emsc_json", "infp_gm" or "unknown". */
const char *qc_feed_format_name(qc_feed_format_t fmt);

#endif
