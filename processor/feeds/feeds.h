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

#endif
