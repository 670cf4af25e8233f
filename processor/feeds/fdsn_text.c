/* fdsn_text.c: FDSN event text (fdsnws-event format=text) to qc_event_t.
 *
 * One event per line, fields separated by '|', lines starting with '#' are
 * comments. The usual first line is a header naming the columns:
 *   #EventID | Time | Latitude | Longitude | Depth/km | Author | Catalog |
 *   Contributor | ContributorID | MagType | Magnitude | MagAuthor |
 *   EventLocationName [| EventType]
 * When present it maps columns by name (and fixes the field count);
 * without it the standard order above is assumed, 13 or 14 fields.
 *
 * A bad line fails the whole document (QC_ERR_INVAL, reason naming the line
 * number), as the GeoJSON parser does for a bad feature. Accepted: CRLF line
 * ends, spaces around '|', empty fields (empty depth: the default depth;
 * empty magnitude: has_mag false; empty catalog: source "fdsn"), a UTF-8
 * byte order mark, blank lines. */
#include "feeds.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qc/clock.h"
#include "qc/err.h"

#define QC_FDSN_MAX_LINES 100000u
#define QC_FDSN_MAX_COLS 64u

/* Same defaults and plausibility bounds as usgs_geojson.c. */
#define QC_FDSN_DEFAULT_DEPTH_KM 10.0
#define QC_FDSN_DEPTH_MIN_KM (-100.0)
#define QC_FDSN_DEPTH_MAX_KM 1000.0
#define QC_FDSN_MAG_MIN (-10.0)
#define QC_FDSN_MAG_MAX 12.0
#define QC_FDSN_TIME_MIN_MS (-62135596800000LL)
#define QC_FDSN_TIME_MAX_MS 32503680000000LL

/* The columns read; the others (Author, Contributor...) are skipped. */
enum fdsn_col {
    COL_ID, COL_TIME, COL_LAT, COL_LON, COL_DEPTH, COL_CATALOG, COL_MAGTYPE,
    COL_MAG, COL_PLACE, COL_TYPE, COL_COUNT_
};

static const char *const col_names[COL_COUNT_] = {
    "EventID", "Time", "Latitude", "Longitude", "Depth/km", "Catalog", "MagType",
    "Magnitude", "EventLocationName", "EventType",
};

/* Positions in the standard order (no header). */
static const int std_pos[COL_COUNT_] = { 0, 1, 2, 3, 4, 6, 9, 10, 12, 13 };

/* A field: a view into the document, spaces trimmed. */
typedef struct field {
    const char *s;
    size_t len;
} field_t;

typedef struct parse_ctx {
    char *errstr;
    size_t errstr_size;
    int pos[COL_COUNT_];  /* field index of each column, -1 if absent */
    size_t ncols;         /* fields per data line; 0: 13 or 14 (no header) */
    bool have_header;
} parse_ctx_t;

static int fail(parse_ctx_t *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parse_ctx_t *ctx, int err, const char *fmt, ...)
{
    va_list ap;

    if (ctx->errstr && ctx->errstr_size > 0) {
        va_start(ap, fmt);
        vsnprintf(ctx->errstr, ctx->errstr_size, fmt, ap);
        va_end(ap);
        for (char *p = ctx->errstr; *p; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        }
    }
    return err;
}

static field_t trim(const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return (field_t){ s, len };
}

/* Splits a line at '|' into at most @p max fields.
 * @returns the number of fields there are (may exceed @p max). */
static size_t split(const char *s, size_t len, field_t *f, size_t max)
{
    size_t nf = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '|') {
            if (nf < max)
                f[nf] = trim(s + start, i - start);
            nf++;
            start = i + 1;
        }
    }
    return nf;
}

static bool is_ident(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

/* Copies lower-cased; @returns false if it does not fit or holds control
 * characters. */
static bool copy_lower(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return false;
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[len] = '\0';
    return true;
}

/* Copies human-readable text cut at a UTF-8 boundary, control characters
 * as spaces (it goes into SMS and log lines). */
static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;

    if (n < len) {
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[n] = '\0';
}

/* Reads a finite decimal number filling the whole field. */
static bool get_number(field_t f, double *out)
{
    char tmp[64];
    char *end;

    if (f.len == 0 || f.len >= sizeof(tmp))
        return false;
    for (size_t i = 0; i < f.len; i++) {
        char c = f.s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
              c == 'E'))
            return false; /* no "nan", "inf", hex floats, inner spaces */
    }
    memcpy(tmp, f.s, f.len);
    tmp[f.len] = '\0';
    *out = strtod(tmp, &end);
    return end == tmp + f.len && isfinite(*out);
}

/* @returns true if a '#' line (after the '#') names an EventID column. */
static bool names_eventid(const char *s, size_t len)
{
    field_t f[QC_FDSN_MAX_COLS];
    size_t nf = split(s, len, f, QC_FDSN_MAX_COLS);

    if (nf > QC_FDSN_MAX_COLS)
        nf = QC_FDSN_MAX_COLS;
    for (size_t i = 0; i < nf; i++) {
        if (f[i].len == strlen("EventID") && strncasecmp(f[i].s, "EventID", f[i].len) == 0)
            return true;
    }
    return false;
}

/* The header line (after '#'): maps the columns by name.
 * @returns 0, or QC_ERR_PARSE naming what is missing. */
static int parse_header(parse_ctx_t *ctx, size_t lineno, const char *s, size_t len)
{
    field_t f[QC_FDSN_MAX_COLS];
    size_t nf = split(s, len, f, QC_FDSN_MAX_COLS);

    if (nf > QC_FDSN_MAX_COLS)
        return fail(ctx, QC_ERR_PARSE, "fdsn text: line %zu: header of %zu columns, over "
                    "the limit of %u", lineno, nf, QC_FDSN_MAX_COLS);
    for (int c = 0; c < COL_COUNT_; c++)
        ctx->pos[c] = -1;
    for (size_t i = 0; i < nf; i++) {
        for (int c = 0; c < COL_COUNT_; c++) {
            if (ctx->pos[c] < 0 && f[i].len == strlen(col_names[c]) &&
                strncasecmp(f[i].s, col_names[c], f[i].len) == 0)
                ctx->pos[c] = (int)i;
        }
    }
    for (int c = COL_ID; c <= COL_LON; c++) {
        if (ctx->pos[c] < 0)
            return fail(ctx, QC_ERR_PARSE, "fdsn text: line %zu: header has no %s column",
                        lineno, col_names[c]);
    }
    ctx->ncols = nf;
    ctx->have_header = true;
    return 0;
}

/* @returns the field of column @p c, empty if the line has none. */
static field_t col(const parse_ctx_t *ctx, const field_t *f, size_t nf, int c)
{
    int p = ctx->pos[c];

    if (p < 0 || (size_t)p >= nf)
        return (field_t){ "", 0 };
    return f[p];
}

static int parse_line(parse_ctx_t *ctx, size_t lineno, const char *s, size_t len,
                      qc_event_t *ev)
{
    field_t f[QC_FDSN_MAX_COLS], v;
    size_t nf = split(s, len, f, QC_FDSN_MAX_COLS);

    memset(ev, 0, sizeof(*ev));
    if (ctx->have_header ? nf != ctx->ncols : (nf != 13 && nf != 14))
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu: %zu fields, expected %s%zu",
                    lineno, nf, ctx->have_header ? "" : "13 or ",
                    ctx->have_header ? ctx->ncols : (size_t)14);

    v = col(ctx, f, nf, COL_ID);
    if (!is_ident(v.s, v.len) || v.len >= sizeof(ev->id))
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu: EventID empty, longer than %zu "
                    "bytes or not printable ASCII", lineno, sizeof(ev->id) - 1);
    memcpy(ev->id, v.s, v.len);
    ev->id[v.len] = '\0';

    v = col(ctx, f, nf, COL_TIME);
    if (qc_iso8601_parse(v.s, v.len, &ev->origin_ms) != 0 ||
        ev->origin_ms < QC_FDSN_TIME_MIN_MS || ev->origin_ms > QC_FDSN_TIME_MAX_MS)
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): Time is not an ISO 8601 "
                    "time", lineno, ev->id);
    ev->version = ev->origin_ms;

    if (!get_number(col(ctx, f, nf, COL_LAT), &ev->lat) || ev->lat < -90.0 || ev->lat > 90.0)
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): Latitude is not a number "
                    "in [-90, 90]", lineno, ev->id);
    if (!get_number(col(ctx, f, nf, COL_LON), &ev->lon) || ev->lon < -180.0 ||
        ev->lon > 180.0)
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): Longitude is not a number "
                    "in [-180, 180]", lineno, ev->id);

    v = col(ctx, f, nf, COL_DEPTH);
    if (v.len == 0)
        ev->depth_km = QC_FDSN_DEFAULT_DEPTH_KM;
    else if (!get_number(v, &ev->depth_km) || ev->depth_km < QC_FDSN_DEPTH_MIN_KM ||
             ev->depth_km > QC_FDSN_DEPTH_MAX_KM)
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): Depth/km is not a number "
                    "in [%g, %g]", lineno, ev->id, QC_FDSN_DEPTH_MIN_KM, QC_FDSN_DEPTH_MAX_KM);

    v = col(ctx, f, nf, COL_CATALOG);
    if (v.len == 0)
        copy_lower(ev->source, sizeof(ev->source), "fdsn", strlen("fdsn"));
    else if (!is_ident(v.s, v.len) || !copy_lower(ev->source, sizeof(ev->source), v.s, v.len))
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): Catalog longer than %zu "
                    "bytes or not printable ASCII", lineno, ev->id, sizeof(ev->source) - 1);

    v = col(ctx, f, nf, COL_MAGTYPE);
    if (v.len > 0 && (!is_ident(v.s, v.len) ||
                      !copy_lower(ev->mag_type, sizeof(ev->mag_type), v.s, v.len)))
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): MagType longer than %zu "
                    "bytes or not printable ASCII", lineno, ev->id, sizeof(ev->mag_type) - 1);

    v = col(ctx, f, nf, COL_MAG);
    if (v.len == 0) {
        ev->has_mag = false;
    } else if (get_number(v, &ev->mag) && ev->mag >= QC_FDSN_MAG_MIN &&
               ev->mag <= QC_FDSN_MAG_MAX) {
        ev->has_mag = true;
    } else {
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): Magnitude is not empty or "
                    "a number in [%g, %g]", lineno, ev->id, QC_FDSN_MAG_MIN, QC_FDSN_MAG_MAX);
    }

    v = col(ctx, f, nf, COL_TYPE);
    if (v.len == 0)
        copy_lower(ev->type, sizeof(ev->type), "earthquake", strlen("earthquake"));
    else if (!copy_lower(ev->type, sizeof(ev->type), v.s, v.len))
        /* a cut type could turn "quarry blast ..." into an unknown type,
         * and unknown types count as earthquakes */
        return fail(ctx, QC_ERR_INVAL, "fdsn text: line %zu (%s): EventType longer than %zu "
                    "bytes or holds control characters", lineno, ev->id, sizeof(ev->type) - 1);

    ev->status = QC_EV_AUTOMATIC; /* the format carries no review status */
    v = col(ctx, f, nf, COL_PLACE);
    copy_text(ev->place, sizeof(ev->place), v.s, v.len);
    return 0;
}

int qc_feed_fdsn_text_parse(const char *buf, size_t len, qc_event_t **out,
                            size_t *n, char *errstr, size_t errstr_size)
{
    parse_ctx_t ctx = { .errstr = errstr, .errstr_size = errstr_size };
    qc_event_t *evs = NULL, *grown;
    size_t count = 0, cap = 0, lineno = 0, pos = 0;
    int rc;

    if (!out || !n)
        return fail(&ctx, QC_ERR_INVAL, "fdsn text: no output arguments");
    *out = NULL;
    *n = 0;
    if (!buf || len == 0)
        return fail(&ctx, QC_ERR_PARSE, "fdsn text: empty document");
    for (int c = 0; c < COL_COUNT_; c++)
        ctx.pos[c] = std_pos[c];
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */

    while (pos < len) {
        const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        field_t t;

        pos += llen + (nl ? 1 : 0);
        if (++lineno > QC_FDSN_MAX_LINES) {
            rc = fail(&ctx, QC_ERR_TOOBIG, "fdsn text: over the limit of %u lines",
                      QC_FDSN_MAX_LINES);
            goto out_evs;
        }
        if (llen > 0 && line[llen - 1] == '\r')
            llen--;
        t = trim(line, llen);
        if (t.len == 0)
            continue;
        if (t.s[0] == '#') {
            /* the header is a '#' line naming an EventID column, before
             * any data; other '#' lines are comments */
            if (!ctx.have_header && count == 0 && memchr(t.s, '|', t.len) &&
                names_eventid(t.s + 1, t.len - 1)) {
                rc = parse_header(&ctx, lineno, t.s + 1, t.len - 1);
                if (rc)
                    goto out_evs;
            }
            continue;
        }
        if (!ctx.have_header && count == 0 && !memchr(t.s, '|', t.len)) {
            rc = fail(&ctx, QC_ERR_PARSE, "fdsn text: not FDSN text (line %zu has no '|' "
                      "and there is no header)", lineno);
            goto out_evs;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            grown = realloc(evs, ncap * sizeof(*evs));
            if (!grown) {
                rc = fail(&ctx, QC_ERR_NOMEM, "fdsn text: out of memory for %zu events", ncap);
                goto out_evs;
            }
            evs = grown;
            cap = ncap;
        }
        rc = parse_line(&ctx, lineno, t.s, t.len, &evs[count]);
        if (rc)
            goto out_evs;
        count++;
    }
    if (count == 0 && !ctx.have_header) {
        rc = fail(&ctx, QC_ERR_PARSE, "fdsn text: not FDSN text (no header and no data lines)");
        goto out_evs;
    }
    if (count == 0) {
        free(evs);
        evs = NULL;
    }
    *out = evs;
    evs = NULL; /* owned by the caller now */
    *n = count;
    rc = 0;

out_evs:
    free(evs);
    return rc;
}
