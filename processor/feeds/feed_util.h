/* feed_util.h: what every feed parser needs to turn foreign fields into a
 * qc_event_t: the reason for a failure, identifiers, lower-cased codes,
 * human text cut at a character boundary, strict numbers, and the bounds
 * a plausible hypocentre lies in. Internal to processor/feeds/. */
#ifndef QC_FEED_UTIL_H
#define QC_FEED_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qc/event.h"

/* Depth NEIC assigns a hypocentre without a depth solution; used when a
 * document carries none. */
#define QC_FEED_DEFAULT_DEPTH_KM 10.0

/* Plausibility bounds, the same as usgs_geojson.c and fdsn_text.c. Depth:
 * nothing is above ~-10 km (a summit) or below ~800 km (the deepest slab
 * earthquakes); a margin on each side. Magnitude: no scale reaches 10.5;
 * microseismicity goes below 0. Time: year 1 to year 3000. */
#define QC_FEED_DEPTH_MIN_KM (-100.0)
#define QC_FEED_DEPTH_MAX_KM 1000.0
#define QC_FEED_MAG_MIN (-10.0)
#define QC_FEED_MAG_MAX 12.0
#define QC_FEED_TIME_MIN_MS (-62135596800000LL)
#define QC_FEED_TIME_MAX_MS 32503680000000LL

/** Writes the reason to @p errstr (may be NULL), made printable ASCII since
 *  it goes into HTTP answers and log lines, and returns @p err. */
int qc_feed_fail(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** @returns true if @p s (@p len bytes) is a non-empty run of printable
 *  ASCII without spaces: what may go into Redis keys, URLs and log lines. */
bool qc_feed_is_ident(const char *s, size_t len);

/** Copies @p len bytes ASCII-lower-cased into @p dst of @p size bytes.
 *  @returns false (dst unspecified) if they do not fit or hold control
 *  characters. */
bool qc_feed_copy_lower(char *dst, size_t size, const char *src, size_t len);

/** Copies human-readable text, cut at a UTF-8 character boundary so the
 *  result stays valid UTF-8, runs of white space and control characters
 *  squeezed to one space (the text goes into SMS and log lines), leading
 *  and trailing spaces dropped. */
void qc_feed_copy_text(char *dst, size_t size, const char *src, size_t len);

/** Reads a finite decimal number (optional sign, digits, '.', exponent)
 *  filling all of @p s after leading and trailing white space; no "nan",
 *  "inf" or hex floats. @returns false if it is not one. */
bool qc_feed_number(const char *s, size_t len, double *out);

/** @returns true if the event's coordinates, depth, magnitude and time lie
 *  in the bounds above; otherwise false with *what naming the first field
 *  out of them ("latitude", "longitude", "depth", "magnitude", "time"). */
bool qc_feed_plausible(const qc_event_t *ev, const char **what);

#endif
