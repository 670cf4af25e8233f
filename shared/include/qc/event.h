/* event.h: a seismic event normalised from any feed format. Every parser
 * (processor/feeds/) produces these; association and the decision read them. */
#ifndef QC_EVENT_H
#define QC_EVENT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum qc_event_status {
    QC_EV_AUTOMATIC = 0, /**< machine solution, may change */
    QC_EV_REVIEWED,      /**< reviewed by a seismologist */
    QC_EV_DELETED,       /**< retracted by its source */
} qc_event_status_t;

typedef struct qc_event {
    char id[64];          /**< the source's own id, e.g. "us7000abcd" */
    char source[32];      /**< network code, lower case: "us", "emsc", "infp" */
    int64_t origin_ms;    /**< origin time, Unix ms UTC */
    double lat, lon;      /**< degrees, WGS84 */
    double depth_km;      /**< positive down; negative (above sea level) kept */
    double mag;           /**< valid only if has_mag */
    bool has_mag;
    char mag_type[16];    /**< "mww", "ml", ... (lower case), "" if unknown */
    char type[32];        /**< "earthquake", "quarry blast", ... (lower case) */
    qc_event_status_t status;
    int64_t version;      /**< source's revision stamp (updated ms); larger is newer */
    char place[128];      /**< human description of the region, may be "" */
    bool test;            /**< the source marked it a test or exercise (CAP status
                               Test/Exercise, ShakeAlert category "test"): never
                               alert the public on it */
    char references[256]; /**< what a CAP Update/Cancel revises: the alert's
                               "sender,identifier,sent" entries, space-separated;
                               "" for other formats */
} qc_event_t;

/** @returns true if @p type names an earthquake ("earthquake", "" or
 *  unknown types treated as earthquakes by the feeds). Non-tectonic types
 *  such as "quarry blast", "explosion", "ice quake" return false. */
bool qc_event_is_earthquake(const char *type);

/** @returns "automatic", "reviewed" or "deleted". */
const char *qc_event_status_str(qc_event_status_t s);

#endif
