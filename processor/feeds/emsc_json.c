/* emsc_json.c: EMSC seismicportal JSON to qc_event_t.
 *
 * Two documents, one event shape. The FDSN event web service
 * (www.seismicportal.eu/fdsnws/event/1/query?format=json) answers a GeoJSON
 * FeatureCollection; the real-time service (the websocket
 * www.seismicportal.eu/standing_order/websocket) pushes one message per
 * new or revised event, {"action": "create"|"update", "data": Feature}.
 * A Feature is
 *   {"type": "Feature", "id": unid,
 *    "geometry": {"type": "Point", "coordinates": [lon, lat, -depth_km]},
 *    "properties": {"unid", "time", "lastupdate", "lat", "lon", "depth",
 *      "mag", "magtype", "evtype", "auth", "flynn_region", "source_id",
 *      "source_catalog"}}
 * Note the third coordinate: EMSC writes it as an altitude (negative
 * down), so properties.depth (km, positive down) is read first.
 *
 * One event per Feature: source "emsc" (whoever "auth" is: the unid is
 * EMSC's), id properties.unid else the Feature's id, time and version
 * (lastupdate; else the origin time) ISO 8601, status automatic (EMSC
 * publishes no review status), place flynn_region, magnitude null allowed.
 * evtype is an ISF event type code (ISC/NEIC/EMSC "Nomenclature of event
 * types", the IMS1.0/ISF bulletin format): a certainty letter (k known,
 * s suspected, f felt, d damaging) and a kind letter, turned into the
 * QuakeML 1.2 EventType the rest of quakecast knows: ke/se/fe/de
 * "earthquake", kr/sr "rock burst", ki/si "induced or triggered event",
 * km/sm "mining explosion", kh/sh "chemical explosion", kx/sx
 * "experimental explosion", kn/sn "nuclear explosion", ls "landslide",
 * qb "quarry blast", uk "not reported"; other values are kept as written.
 * A bad feature fails the whole document, as in usgs_geojson.c. */
#include "feeds.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed_util.h"
#include "qc/clock.h"
#include "qc/err.h"

/* seismicportal limits a query to 20,000 events per answer (its "limit"
 * parameter); these leave room. */
#define QC_EMSC_MAX_BYTES (64u * 1024u * 1024u)
#define QC_EMSC_MAX_FEATURES 100000u

typedef struct parse_ctx {
    char *errstr;
    size_t errstr_size;
} parse_ctx_t;

static const struct evtype_map {
    const char *code, *type;
} evtypes[] = {
    { "ke", "earthquake" },
    { "se", "earthquake" },
    { "fe", "earthquake" },
    { "de", "earthquake" },
    { "kr", "rock burst" },
    { "sr", "rock burst" },
    { "ki", "induced or triggered event" },
    { "si", "induced or triggered event" },
    { "km", "mining explosion" },
    { "sm", "mining explosion" },
    { "kh", "chemical explosion" },
    { "sh", "chemical explosion" },
    { "kx", "experimental explosion" },
    { "sx", "experimental explosion" },
    { "kn", "nuclear explosion" },
    { "sn", "nuclear explosion" },
    { "ls", "landslide" },
    { "qb", "quarry blast" },
    { "uk", "not reported" },
};

static bool get_number(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

/* An ISO 8601 string member. @returns 1 if read, 0 if absent or null, -1
 * if present but not a time. */
static int get_time(const json_t *obj, const char *key, int64_t *ms)
{
    const json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || qc_iso8601_parse(json_string_value(v), json_string_length(v), ms))
        return -1;
    return 1;
}

static int parse_type(parse_ctx_t *ctx, size_t idx, const json_t *props, qc_event_t *ev)
{
    const json_t *v = json_object_get(props, "evtype");
    const char *s;
    size_t len;

    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        memcpy(ev->type, "earthquake", sizeof("earthquake"));
        return 0;
    }
    if (!json_is_string(v))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.evtype is not a string", idx, ev->id);
    s = json_string_value(v);
    len = json_string_length(v);
    for (size_t i = 0; i < sizeof(evtypes) / sizeof(evtypes[0]); i++) {
        if (len == 2 && strncasecmp(s, evtypes[i].code, 2) == 0) {
            memcpy(ev->type, evtypes[i].type, strlen(evtypes[i].type) + 1);
            return 0;
        }
    }
    /* a cut type could turn "quarry blast ..." into an unknown type, and
     * unknown types count as earthquakes */
    if (!qc_feed_copy_lower(ev->type, sizeof(ev->type), s, len))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.evtype longer than %zu bytes or holds control "
                            "characters", idx, ev->id, sizeof(ev->type) - 1);
    return 0;
}

/* Latitude, longitude and depth: properties first, geometry second. */
static int parse_location(parse_ctx_t *ctx, size_t idx, const json_t *feature,
                          const json_t *props, qc_event_t *ev)
{
    const json_t *geom = json_object_get(feature, "geometry");
    const json_t *coords = json_object_get(geom, "coordinates");
    const json_t *v;
    double alt;

    if (!get_number(json_object_get(props, "lat"), &ev->lat) &&
        !get_number(json_array_get(coords, 1), &ev->lat))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): no latitude (properties.lat or geometry)", idx, ev->id);
    if (!get_number(json_object_get(props, "lon"), &ev->lon) &&
        !get_number(json_array_get(coords, 0), &ev->lon))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): no longitude (properties.lon or geometry)", idx, ev->id);
    v = json_object_get(props, "depth");
    if (get_number(v, &ev->depth_km))
        return 0;
    if (v && !json_is_null(v))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.depth is not a number", idx, ev->id);
    if (get_number(json_array_get(coords, 2), &alt))
        ev->depth_km = -alt;
    else
        ev->depth_km = QC_FEED_DEFAULT_DEPTH_KM;
    return 0;
}

static int parse_feature(parse_ctx_t *ctx, size_t idx, const json_t *feature, qc_event_t *ev)
{
    const json_t *props, *v;
    const char *what;
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(feature))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu: "
                            "not an object", idx);
    props = json_object_get(feature, "properties");
    if (!json_is_object(props))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu: "
                            "properties missing or not an object", idx);

    v = json_object_get(props, "unid");
    if (!json_is_string(v) || json_string_length(v) == 0)
        v = json_object_get(feature, "id");
    if (!json_is_string(v) || !qc_feed_is_ident(json_string_value(v), json_string_length(v)) ||
        json_string_length(v) >= sizeof(ev->id))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu: "
                            "no unid (or id) of at most %zu printable ASCII bytes", idx,
                            sizeof(ev->id) - 1);
    memcpy(ev->id, json_string_value(v), json_string_length(v) + 1);
    memcpy(ev->source, "emsc", sizeof("emsc"));

    if (get_time(props, "time", &ev->origin_ms) != 1)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.time missing or not an ISO 8601 time", idx, ev->id);
    switch (get_time(props, "lastupdate", &ev->version)) {
    case 0:
        ev->version = ev->origin_ms;
        break;
    case -1:
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.lastupdate is not an ISO 8601 time", idx, ev->id);
    }

    rc = parse_location(ctx, idx, feature, props, ev);
    if (rc)
        return rc;

    v = json_object_get(props, "mag");
    if (get_number(v, &ev->mag))
        ev->has_mag = true;
    else if (v && !json_is_null(v))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.mag is not null or a number", idx, ev->id);
    v = json_object_get(props, "magtype");
    if (json_is_string(v) && json_string_length(v) > 0 &&
        (!qc_feed_is_ident(json_string_value(v), json_string_length(v)) ||
         !qc_feed_copy_lower(ev->mag_type, sizeof(ev->mag_type), json_string_value(v),
                             json_string_length(v))))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): properties.magtype longer than %zu bytes or not printable "
                            "ASCII", idx, ev->id, sizeof(ev->mag_type) - 1);

    rc = parse_type(ctx, idx, props, ev);
    if (rc)
        return rc;
    ev->status = QC_EV_AUTOMATIC;
    v = json_object_get(props, "flynn_region");
    if (json_is_string(v))
        qc_feed_copy_text(ev->place, sizeof(ev->place), json_string_value(v),
                          json_string_length(v));

    if (!qc_feed_plausible(ev, &what))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "emsc: feature %zu "
                            "(%s): %s out of range", idx, ev->id, what);
    return 0;
}

int qc_feed_emsc_json_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                            char *errstr, size_t errstr_size)
{
    parse_ctx_t ctx = { .errstr = errstr, .errstr_size = errstr_size };
    json_error_t jerr;
    json_t *root;
    const json_t *doc, *type, *action, *features = NULL;
    qc_event_t *evs = NULL;
    size_t count;
    int rc;

    if (!out || !n)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "emsc: no output arguments");
    *out = NULL;
    *n = 0;
    if (!buf || len == 0)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "emsc: empty document");
    if (len > QC_EMSC_MAX_BYTES)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_TOOBIG, "emsc: document of %zu bytes "
                            "over the limit of %u", len, QC_EMSC_MAX_BYTES);
    /* duplicate keys refused, as in usgs_geojson.c: two readers of one
     * document must not see two different events */
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "emsc: invalid JSON at line %d "
                            "column %d: %s", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "emsc: top level is not a JSON "
                          "object");
        goto out_root;
    }

    doc = root;
    action = json_object_get(root, "action");
    if (action) {
        if (!json_is_string(action) || (strcmp(json_string_value(action), "create") != 0 &&
                                        strcmp(json_string_value(action), "update") != 0)) {
            rc = qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "emsc: websocket message "
                              "action is not \"create\" or \"update\"");
            goto out_root;
        }
        doc = json_object_get(root, "data");
        if (!json_is_object(doc)) {
            rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "emsc: websocket message "
                              "without a \"data\" object");
            goto out_root;
        }
    }
    type = json_object_get(doc, "type");
    if (json_is_string(type) && strcmp(json_string_value(type), "FeatureCollection") == 0) {
        features = json_object_get(doc, "features");
        if (!json_is_array(features)) {
            rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "emsc: FeatureCollection "
                              "without a \"features\" array");
            goto out_root;
        }
        count = json_array_size(features);
    } else if (json_is_string(type) && strcmp(json_string_value(type), "Feature") == 0) {
        count = 1;
    } else {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "emsc: not EMSC JSON (neither a "
                          "websocket message, a FeatureCollection nor a Feature)");
        goto out_root;
    }
    if (count > QC_EMSC_MAX_FEATURES) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_TOOBIG, "emsc: %zu features, over the "
                          "limit of %u", count, QC_EMSC_MAX_FEATURES);
        goto out_root;
    }
    if (count == 0) {
        rc = 0;
        goto out_root;
    }
    evs = calloc(count, sizeof(*evs));
    if (!evs) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_NOMEM, "emsc: out of memory for %zu "
                          "events", count);
        goto out_root;
    }
    for (size_t i = 0; i < count; i++) {
        rc = parse_feature(&ctx, i, features ? json_array_get(features, i) : doc, &evs[i]);
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
