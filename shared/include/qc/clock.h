/* clock.h: the two clocks. Monotonic for every deadline and lease, wall
 * clock only for timestamps shown to people or stored for them. */
#ifndef QC_CLOCK_H
#define QC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/** @returns CLOCK_MONOTONIC in milliseconds. */
int64_t qc_mono_ms(void);
/** @returns CLOCK_MONOTONIC in microseconds. */
int64_t qc_mono_us(void);
/** @returns wall clock (UTC) in milliseconds since the Unix epoch. */
int64_t qc_wall_ms(void);

/** Formats @p ms (Unix ms, UTC) as ISO 8601 "YYYY-MM-DDTHH:MM:SS.mmmZ".
 *  @returns 0, or QC_ERR_INVAL if @p bufsz < 25. */
int qc_iso8601_format(int64_t ms, char *buf, size_t bufsz);

/** Parses an ISO 8601 date-time ("2021-05-02T12:34:56.789Z", "+02:00"
 *  offsets, no zone = UTC, a space instead of 'T', fraction optional).
 *  @returns 0 and sets *ms, or QC_ERR_PARSE. */
int qc_iso8601_parse(const char *s, size_t len, int64_t *ms);

#endif
