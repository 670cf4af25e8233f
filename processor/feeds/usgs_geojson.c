/* usgs_geojson.c: USGS earthquake GeoJSON (summary feeds, fdsnws/event
 * query results, ComCat event detail documents) to qc_event_t.
 *
 * Accepted documents: a FeatureCollection (possibly empty) or a single
 * Feature (the detail document). A detail document carries every product in
 * properties.products, superseded origins included when it was asked with
 * includesuperseded; its top-level properties and geometry are ComCat's
 * preferred solution, so products are never read.
 *
 * A bad feature fails the whole document (QC_ERR_INVAL, reason naming the
 * feature index and id): the HTTP API answers 4xx with that reason, and a
 * poller logs it, rather than silently alerting on part of a feed.
 *
 * Quirks of real feeds that are accepted: null magnitude (has_mag false),
 * negative magnitude, negative depth (above sea level), null or missing depth
 * (historical events: QC_USGS_DEFAULT_DEPTH_KM), upper-case status
 * ("AUTOMATIC"), mixed-case magType ("Md"), missing type ("earthquake"),
 * missing status (automatic), missing updated (version = origin time),
 * missing id (first of properties.ids, then net + code), times before 1970. */
#include "feeds.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qc/err.h"

/* The largest summary feed (all_month) is about 10k features and 10 MB;
 * these leave room and still stop a hostile document before it costs real
 * memory. */
#define QC_USGS_MAX_BYTES (128u * 1024u * 1024u)
#define QC_USGS_MAX_FEATURES 100000u

/* NEIC's fixed depth for a hypocentre without a depth solution; used when
 * coordinates carry none (historical ComCat events, e.g. ushis*, have null). */
#define QC_USGS_DEFAULT_DEPTH_KM 10.0

/* Plausibility bounds. Depth: hypocentres above ~-10 km (a summit) or below
 * ~800 km (the deepest slab earthquakes) do not exist; a little margin on
 * each side. Magnitude: no scale reaches 10.5; microseismicity goes below 0.
 * Time: year 1 to year 3000, so historical catalogues pass. */
#define QC_USGS_DEPTH_MIN_KM (-100.0)
#define QC_USGS_DEPTH_MAX_KM 1000.0
#define QC_USGS_MAG_MIN (-10.0)
#define QC_USGS_MAG_MAX 12.0
#define QC_USGS_TIME_MIN_MS (-62135596800000LL)
#define QC_USGS_TIME_MAX_MS 32503680000000LL

/* Reason for a failure; the caller's buffer may be absent. */
typedef struct parse_ctx {
    char *errstr;
    size_t errstr_size;
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
        /* jansson quotes input bytes ("near '...'"); the reason goes into
         * HTTP answers and log lines, so it is kept printable ASCII */
        for (char *p = ctx->errstr; *p; p++) {
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        }
    }
    return err;
}

/* Identifiers end up in Redis keys, URLs and log lines: printable ASCII
 * without spaces only. */
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

/* Copies @p len bytes lower-cased into @p dst of @p size bytes.
 * @returns false if they do not fit. */
static bool copy_lower(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[len] = '\0';
    return true;
}

/* Copies a human-readable string, cut at a UTF-8 character boundary so the
 * result stays valid UTF-8 (jansson only hands out valid UTF-8), with
 * control characters turned into spaces because the text goes into SMS and
 * log lines. */
static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;

    if (n < len) {
        /* back off continuation bytes (10xxxxxx) to the lead byte, which is
         * then dropped along with its partial sequence */
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[n] = '\0';
}

/* First non-empty element of a ComCat list string such as ",us1,at2,".
 * @returns its length, 0 if none; *start points at it. */
static size_t first_list_item(const char *s, size_t len, const char **start)
{
    size_t i = 0, j;

    while (i < len && s[i] == ',')
        i++;
    j = i;
    while (j < len && s[j] != ',')
        j++;
    *start = s + i;
    return j - i;
}

/* Reads a millisecond time that is an integer, or a real holding one (some
 * producers write 1.5e12). @returns false if not a number or out of range. */
static bool get_time_ms(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t t = json_integer_value(v);
        if (t < QC_USGS_TIME_MIN_MS || t > QC_USGS_TIME_MAX_MS)
            return false;
        *out = (int64_t)t;
        return true;
    }
    if (json_is_real(v)) {
        double t = json_real_value(v);
        if (!isfinite(t) || t < (double)QC_USGS_TIME_MIN_MS || t > (double)QC_USGS_TIME_MAX_MS)
            return false;
        *out = (int64_t)llround(t);
        return true;
    }
    return false;
}

/* Reads a finite number. @returns false if @p v is not one. */
static bool get_number(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

/* The event id: the feature's "id", else the first of properties.ids, else
 * net + code. */
static int parse_id(parse_ctx_t *ctx, size_t idx, const json_t *feature,
                    const json_t *props, qc_event_t *ev)
{
    const json_t *id = json_object_get(feature, "id");
    const json_t *ids = json_object_get(props, "ids");
    const json_t *net = json_object_get(props, "net");
    const json_t *code = json_object_get(props, "code");
    const char *s = NULL;
    size_t len = 0;

    if (json_is_string(id) && json_string_length(id) > 0) {
        s = json_string_value(id);
        len = json_string_length(id);
    } else if (json_is_string(ids)) {
        len = first_list_item(json_string_value(ids), json_string_length(ids), &s);
    }
    if (len == 0 && json_is_string(net) && json_is_string(code)) {
        size_t nl = json_string_length(net), cl = json_string_length(code);
        if (nl + cl >= sizeof(ev->id) || !is_ident(json_string_value(net), nl) ||
            !is_ident(json_string_value(code), cl))
            return fail(ctx, QC_ERR_INVAL, "feature %zu: no id, and properties.net + code is "
                        "not an id", idx);
        memcpy(ev->id, json_string_value(net), nl);
        memcpy(ev->id + nl, json_string_value(code), cl);
        ev->id[nl + cl] = '\0';
        return 0;
    }
    if (len == 0)
        return fail(ctx, QC_ERR_INVAL, "feature %zu: no id (neither \"id\", properties.ids "
                    "nor properties.net and code)", idx);
    if (len >= sizeof(ev->id) || !is_ident(s, len))
        return fail(ctx, QC_ERR_INVAL, "feature %zu: id longer than %zu bytes or "
                    "not printable ASCII", idx, sizeof(ev->id) - 1);
    memcpy(ev->id, s, len);
    ev->id[len] = '\0';
    return 0;
}

/* geometry: {"type": "Point", "coordinates": [lon, lat, depth_km]}; depth
 * may be null or absent. */
static int parse_geometry(parse_ctx_t *ctx, size_t idx, const json_t *feature, qc_event_t *ev)
{
    const json_t *geom = json_object_get(feature, "geometry");
    const json_t *type, *coords, *depth;

    if (!json_is_object(geom))
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): geometry missing or not an object",
                    idx, ev->id);
    type = json_object_get(geom, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "Point") != 0)
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): geometry is not a Point", idx, ev->id);
    coords = json_object_get(geom, "coordinates");
    if (!json_is_array(coords) || json_array_size(coords) < 2)
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): geometry.coordinates is not an "
                    "array [lon, lat, depth]", idx, ev->id);
    if (!get_number(json_array_get(coords, 0), &ev->lon) || ev->lon < -180.0 || ev->lon > 180.0)
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): longitude is not a number in "
                    "[-180, 180]", idx, ev->id);
    if (!get_number(json_array_get(coords, 1), &ev->lat) || ev->lat < -90.0 || ev->lat > 90.0)
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): latitude is not a number in "
                    "[-90, 90]", idx, ev->id);
    depth = json_array_get(coords, 2);
    if (!depth || json_is_null(depth)) {
        ev->depth_km = QC_USGS_DEFAULT_DEPTH_KM;
    } else if (!get_number(depth, &ev->depth_km) || ev->depth_km < QC_USGS_DEPTH_MIN_KM ||
               ev->depth_km > QC_USGS_DEPTH_MAX_KM) {
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): depth is not a number in "
                    "[%g, %g] km", idx, ev->id, QC_USGS_DEPTH_MIN_KM, QC_USGS_DEPTH_MAX_KM);
    }
    return 0;
}

static int parse_status(parse_ctx_t *ctx, size_t idx, const json_t *props, qc_event_t *ev)
{
    const json_t *st = json_object_get(props, "status");
    const char *s;

    if (!st || json_is_null(st)) {
        ev->status = QC_EV_AUTOMATIC; /* assume it may still change */
        return 0;
    }
    if (!json_is_string(st))
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.status is not a string",
                    idx, ev->id);
    s = json_string_value(st);
    if (strcasecmp(s, "automatic") == 0)
        ev->status = QC_EV_AUTOMATIC;
    else if (strcasecmp(s, "reviewed") == 0)
        ev->status = QC_EV_REVIEWED;
    else if (strcasecmp(s, "deleted") == 0)
        ev->status = QC_EV_DELETED;
    else
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.status is not "
                    "automatic, reviewed or deleted", idx, ev->id);
    return 0;
}

/* properties: net, time, updated, mag, magType, type, status, place. */
static int parse_properties(parse_ctx_t *ctx, size_t idx, const json_t *props, qc_event_t *ev)
{
    const json_t *v;
    int rc;

    v = json_object_get(props, "net");
    if (json_is_string(v) && is_ident(json_string_value(v), json_string_length(v))) {
        if (!copy_lower(ev->source, sizeof(ev->source), json_string_value(v),
                        json_string_length(v)))
            return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.net longer than %zu "
                        "bytes", idx, ev->id, sizeof(ev->source) - 1);
    } else {
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.net missing or not a "
                    "network code", idx, ev->id);
    }

    if (!get_time_ms(json_object_get(props, "time"), &ev->origin_ms))
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.time is not a time in "
                    "Unix ms", idx, ev->id);

    v = json_object_get(props, "updated");
    if (!v || json_is_null(v))
        ev->version = ev->origin_ms;
    else if (!get_time_ms(v, &ev->version))
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.updated is not a time "
                    "in Unix ms", idx, ev->id);

    v = json_object_get(props, "mag");
    if (!v || json_is_null(v)) {
        ev->has_mag = false;
        ev->mag = 0.0;
    } else if (get_number(v, &ev->mag) && ev->mag >= QC_USGS_MAG_MIN &&
               ev->mag <= QC_USGS_MAG_MAX) {
        ev->has_mag = true;
    } else {
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.mag is not null or a "
                    "number in [%g, %g]", idx, ev->id, QC_USGS_MAG_MIN, QC_USGS_MAG_MAX);
    }

    v = json_object_get(props, "magType");
    if (json_is_string(v)) {
        if (!copy_lower(ev->mag_type, sizeof(ev->mag_type), json_string_value(v),
                        json_string_length(v)) ||
            (json_string_length(v) > 0 && !is_ident(json_string_value(v), json_string_length(v))))
            return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.magType longer than "
                        "%zu bytes or not printable ASCII", idx, ev->id, sizeof(ev->mag_type) - 1);
    } else if (v && !json_is_null(v)) {
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.magType is not a string",
                    idx, ev->id);
    }

    v = json_object_get(props, "type");
    if (!v || json_is_null(v)) {
        copy_lower(ev->type, sizeof(ev->type), "earthquake", strlen("earthquake"));
    } else if (!json_is_string(v) ||
               !copy_lower(ev->type, sizeof(ev->type), json_string_value(v),
                           json_string_length(v))) {
        /* a cut type could turn "quarry blast ..." into an unknown type, and
         * unknown types count as earthquakes */
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.type is not a string of "
                    "at most %zu bytes", idx, ev->id, sizeof(ev->type) - 1);
    }
    for (const char *p = ev->type; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.type holds control "
                        "characters", idx, ev->id);
    }

    rc = parse_status(ctx, idx, props, ev);
    if (rc)
        return rc;

    v = json_object_get(props, "place");
    if (json_is_string(v))
        copy_text(ev->place, sizeof(ev->place), json_string_value(v), json_string_length(v));
    else if (v && !json_is_null(v))
        return fail(ctx, QC_ERR_INVAL, "feature %zu (%s): properties.place is not a string",
                    idx, ev->id);
    return 0;
}

static int parse_feature(parse_ctx_t *ctx, size_t idx, const json_t *feature, qc_event_t *ev)
{
    const json_t *type, *props;
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(feature))
        return fail(ctx, QC_ERR_INVAL, "feature %zu: not an object", idx);
    type = json_object_get(feature, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "Feature") != 0)
        return fail(ctx, QC_ERR_INVAL, "feature %zu: type is not \"Feature\"", idx);
    props = json_object_get(feature, "properties");
    if (!json_is_object(props))
        return fail(ctx, QC_ERR_INVAL, "feature %zu: properties missing or not an object", idx);

    rc = parse_id(ctx, idx, feature, props, ev);
    if (rc)
        return rc;
    rc = parse_geometry(ctx, idx, feature, ev);
    if (rc)
        return rc;
    return parse_properties(ctx, idx, props, ev);
}

int qc_feed_usgs_geojson_parse(const char *buf, size_t len, qc_event_t **out,
                               size_t *n, char *errstr, size_t errstr_size)
{
    parse_ctx_t ctx = { .errstr = errstr, .errstr_size = errstr_size };
    json_error_t jerr;
    json_t *root = NULL;
    const json_t *type, *features = NULL;
    qc_event_t *evs = NULL;
    size_t count;
    int rc;

    if (!out || !n)
        return fail(&ctx, QC_ERR_INVAL, "usgs geojson: no output arguments");
    *out = NULL;
    *n = 0;
    if (!buf || len == 0)
        return fail(&ctx, QC_ERR_PARSE, "usgs geojson: empty document");
    if (len > QC_USGS_MAX_BYTES)
        return fail(&ctx, QC_ERR_TOOBIG, "usgs geojson: document of %zu bytes over the limit "
                    "of %u", len, QC_USGS_MAX_BYTES);

    /* Duplicate keys are refused: two readers of one document must not see
     * two different events. */
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(&ctx, QC_ERR_PARSE, "usgs geojson: invalid JSON at line %d column %d: %s",
                    jerr.line, jerr.column, jerr.text);

    if (!json_is_object(root)) {
        rc = fail(&ctx, QC_ERR_PARSE, "usgs geojson: top level is not a JSON object");
        goto out_root;
    }
    type = json_object_get(root, "type");
    if (!json_is_string(type)) {
        rc = fail(&ctx, QC_ERR_PARSE, "usgs geojson: not GeoJSON, top-level object has no "
                  "\"type\"%s", json_object_get(root, "count") ?
                  " (looks like an fdsnws count response)" : "");
        goto out_root;
    }
    if (strcmp(json_string_value(type), "FeatureCollection") == 0) {
        features = json_object_get(root, "features");
        if (!json_is_array(features)) {
            rc = fail(&ctx, QC_ERR_PARSE, "usgs geojson: FeatureCollection without a "
                      "\"features\" array");
            goto out_root;
        }
        count = json_array_size(features);
    } else if (strcmp(json_string_value(type), "Feature") == 0) {
        count = 1;
    } else {
        rc = fail(&ctx, QC_ERR_PARSE, "usgs geojson: type is not FeatureCollection or Feature");
        goto out_root;
    }
    if (count > QC_USGS_MAX_FEATURES) {
        rc = fail(&ctx, QC_ERR_TOOBIG, "usgs geojson: %zu features, over the limit of %u",
                  count, QC_USGS_MAX_FEATURES);
        goto out_root;
    }
    if (count == 0) {
        rc = 0;
        goto out_root;
    }

    evs = calloc(count, sizeof(*evs));
    if (!evs) {
        rc = fail(&ctx, QC_ERR_NOMEM, "usgs geojson: out of memory for %zu events", count);
        goto out_root;
    }
    for (size_t i = 0; i < count; i++) {
        rc = parse_feature(&ctx, i, features ? json_array_get(features, i) : root, &evs[i]);
        if (rc)
            goto out_evs;
    }
    *out = evs;
    evs = NULL; /* owned by the caller now */
    *n = count;
    rc = 0;

out_evs:
    free(evs);
out_root:
    json_decref(root);
    return rc;
}
