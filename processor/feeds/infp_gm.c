/* infp_gm.c: INFP ground-motion parameter JSON to qc_event_t.
 *
 * The National Institute for Earth Physics (INFP/NIEP, Romania) computes
 * per-station strong-motion parameters after an earthquake as the input of
 * its ShakeMap (the document of tests/data/infp_romania/, written by its
 * shakemap-data-encoder). There is no published specification; the shape,
 * as the recorded document has it, is one object per station:
 *   {"ADJ_param": {"eq_id": 1416683657.0, "eq_origin": "2014/11/22T19:14:17",
 *                  "eq_lat": 45.8683, "eq_lon": 27.1517, "eq_depth": 40.9,
 *                  "eq_Mw": 5.4, "sta_name": "ADJ", "PGA_HNE": ..., ...}, ...}
 * Every station repeats the earthquake (eq_*), which is what is read: one
 * event, source "infp", id eq_id written as an integer (the origin time in
 * Unix seconds, INFP's event number), origin eq_origin (UTC, '/' between
 * the date fields), depth km, magnitude Mw, type earthquake, status
 * automatic (nothing says it was reviewed), version the origin time. The
 * stations must agree on it: a document mixing two earthquakes is
 * QC_ERR_INVAL. */
#include "feeds.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_util.h"
#include "qc/clock.h"
#include "qc/err.h"

/* The recorded document (106 stations) is 0.3 MB. */
#define QC_INFP_MAX_BYTES (16u * 1024u * 1024u)

typedef struct infp_eq {
    const json_t *id, *origin, *lat, *lon, *depth, *mw;
} infp_eq_t;

static infp_eq_t read_eq(const json_t *st)
{
    infp_eq_t e = {
        json_object_get(st, "eq_id"), json_object_get(st, "eq_origin"),
        json_object_get(st, "eq_lat"), json_object_get(st, "eq_lon"),
        json_object_get(st, "eq_depth"), json_object_get(st, "eq_Mw"),
    };
    return e;
}

/* Absent in both counts as equal. */
static bool same_value(const json_t *a, const json_t *b)
{
    return a == b || (a && b && json_equal(a, b));
}

static bool same_eq(const infp_eq_t *a, const infp_eq_t *b)
{
    return same_value(a->id, b->id) && same_value(a->origin, b->origin) &&
           same_value(a->lat, b->lat) && same_value(a->lon, b->lon) &&
           same_value(a->depth, b->depth) && same_value(a->mw, b->mw);
}

static bool get_number(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

static int read_event(const infp_eq_t *e, const char *station, qc_event_t *ev, char *errstr,
                      size_t errstr_size)
{
    char t[32];
    double id;
    const char *what;
    size_t len;

    memset(ev, 0, sizeof(*ev));
    if (get_number(e->id, &id) && id >= 0 && id < 1e15 && id == floor(id)) {
        snprintf(ev->id, sizeof(ev->id), "%.0f", id);
    } else if (json_is_string(e->id) &&
               qc_feed_is_ident(json_string_value(e->id), json_string_length(e->id)) &&
               json_string_length(e->id) < sizeof(ev->id)) {
        memcpy(ev->id, json_string_value(e->id), json_string_length(e->id) + 1);
    } else {
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: %.40s: eq_id is not a "
                            "whole number or an id", station);
    }
    memcpy(ev->source, "infp", sizeof("infp"));
    memcpy(ev->type, "earthquake", sizeof("earthquake"));
    ev->status = QC_EV_AUTOMATIC;

    /* "2014/11/22T19:14:17": ISO 8601 once the slashes are dashes */
    len = json_is_string(e->origin) ? json_string_length(e->origin) : 0;
    if (len == 0 || len >= sizeof(t))
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: %.40s: eq_origin missing "
                            "or not a date-time", station);
    memcpy(t, json_string_value(e->origin), len);
    for (size_t i = 0; i < len && i < 10; i++) {
        if (t[i] == '/')
            t[i] = '-';
    }
    if (qc_iso8601_parse(t, len, &ev->origin_ms) != 0)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: %.40s: eq_origin is not "
                            "a date-time", station);
    ev->version = ev->origin_ms;

    if (!get_number(e->lat, &ev->lat) || !get_number(e->lon, &ev->lon))
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: %.40s: eq_lat or eq_lon "
                            "missing or not a number", station);
    if (!e->depth || json_is_null(e->depth))
        ev->depth_km = QC_FEED_DEFAULT_DEPTH_KM;
    else if (!get_number(e->depth, &ev->depth_km))
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: %.40s: eq_depth is not a "
                            "number", station);
    if (get_number(e->mw, &ev->mag)) {
        ev->has_mag = true;
        memcpy(ev->mag_type, "mw", sizeof("mw"));
    } else if (e->mw && !json_is_null(e->mw)) {
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: %.40s: eq_Mw is not a "
                            "number", station);
    }
    if (!qc_feed_plausible(ev, &what))
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: (%s): %s out of range",
                            ev->id, what);
    return 0;
}

int qc_feed_infp_gm_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                          char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    json_t *root;
    const json_t *st;
    const char *key, *first_key = NULL;
    infp_eq_t first = { NULL, NULL, NULL, NULL, NULL, NULL }, e;
    qc_event_t *ev = NULL;
    int rc;

    if (!out || !n)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: no output arguments");
    *out = NULL;
    *n = 0;
    if (!buf || len == 0)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "infp: empty document");
    if (len > QC_INFP_MAX_BYTES)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_TOOBIG, "infp: document of %zu bytes "
                            "over the limit of %u", len, QC_INFP_MAX_BYTES);
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "infp: invalid JSON at line %d "
                            "column %d: %s", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "infp: top level is not a JSON "
                          "object");
        goto out_root;
    }
    json_object_foreach((json_t *)root, key, st)
    {
        if (!json_is_object(st) || !json_object_get(st, "eq_id"))
            continue;
        e = read_eq(st);
        if (!first_key) {
            first = e;
            first_key = key;
        } else if (!same_eq(&first, &e)) {
            rc = qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "infp: stations %.40s and %.40s "
                              "name different earthquakes", first_key, key);
            goto out_root;
        }
    }
    if (!first_key) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "infp: not INFP ground-motion "
                          "parameters (no station object with eq_id)");
        goto out_root;
    }
    ev = malloc(sizeof(*ev));
    if (!ev) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_NOMEM, "infp: out of memory");
        goto out_root;
    }
    rc = read_event(&first, first_key, ev, errstr, errstr_size);
    if (rc)
        goto out_ev;
    *out = ev;
    ev = NULL; /* owned by the caller now */
    *n = 1;

out_ev:
    free(ev);
out_root:
    json_decref(root);
    return rc;
}
