/* quakeml.c: QuakeML 1.2 Basic Event Description (and the QuakeML 1.0 that
 * EMSC/NERIES served) to qc_event_t.
 *
 * Field names and meanings are those of the QuakeML 1.2 BED specification
 * (Schorlemmer, Euchner, Kästli, Saul et al., "QuakeML - An XML
 * Representation of Seismological Data, Basic Event Description, Version
 * 1.2", and its XML Schema QuakeML-BED-1.2.xsd):
 *   q:quakeml/eventParameters/event[@publicID]
 *     preferredOriginID, preferredMagnitudeID  ResourceReference
 *     type                                     EventType
 *     description/{text,type}                  EventDescriptionType
 *     creationInfo/{agencyID,agencyURI,creationTime}
 *     origin[@publicID]/{time,latitude,longitude,depth}/value
 *       depth in metres, positive down; evaluationMode (automatic|manual),
 *       evaluationStatus (preliminary|confirmed|reviewed|final|rejected)
 *     magnitude[@publicID]/{mag/value,type,originID,evaluationMode,
 *       evaluationStatus}
 * QuakeML 1.0 (namespace .../quakeml/1.0 for root and content, as in
 * EMSC's NERIES service) names these fields the same way; it is read with
 * the same code. The "bed-rt" real-time namespace of 1.2 is accepted too.
 *
 * One qc_event_t per event element:
 * - origin: the preferred one; without a usable preferredOriginID, the
 *   origin of the preferred (else first) magnitude, else the first origin,
 *   so that location and magnitude come from one solution where possible;
 * - magnitude: the preferred one; else the first referring to the chosen
 *   origin; else the first; none (or no mag/value): has_mag false;
 * - id and source: ComCat's catalog:eventsource + catalog:eventid
 *   attributes when present (so the id matches the GeoJSON feeds: "ci37285320"),
 *   else taken from publicID: its eventid= query value, else what follows
 *   its last "/event/", else all of it after the scheme ("smi:"); the
 *   source is creationInfo/agencyID, else the last part of agencyURI, else
 *   the publicID's authority, lower case;
 * - status: evaluationStatus "rejected" or event type "not existing" (how
 *   QuakeML marks a retracted event) give deleted; evaluationMode "manual"
 *   or status confirmed/reviewed/final give reviewed; else automatic. Read
 *   from the origin, else the magnitude; any case;
 * - version: the latest creationInfo/creationTime of event, origin and
 *   magnitude (a later revision of any of them is newer), else the origin
 *   time; unreadable creation times are skipped (they are metadata);
 * - type: EventType as written ("quarry blast", "mining explosion" are
 *   returned, the caller ignores them); missing, empty or "null" (NERIES):
 *   "earthquake";
 * - place: description text, preferring "earthquake name", "region name",
 *   "nearest cities", then "Flinn-Engdahl region" unless it is a bare
 *   region number, then an untyped one; never prose such as "felt report".
 * Quirks handled: depth missing (QC_FEED_DEFAULT_DEPTH_KM) or negative
 * (above sea level); times without a zone (UTC) or with an offset; IRIS's
 * legacy ws/event service, which wrote depth in km instead of metres
 * (recognised by its publicIDs "smi:www.iris.edu/ws/event/...").
 * A bad event fails the whole document (QC_ERR_INVAL naming the event), as
 * the other parsers do. */
#include "feeds.h"

#include <libxml/tree.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed_util.h"
#include "feed_xml.h"
#include "qc/clock.h"
#include "qc/err.h"

#define QML_NS_ROOT_12 "http://quakeml.org/xmlns/quakeml/1.2"
#define QML_NS_BED_12 "http://quakeml.org/xmlns/bed/1.2"
#define QML_NS_BED_RT_12 "http://quakeml.org/xmlns/bed-rt/1.2"
#define QML_NS_10 "http://quakeml.org/xmlns/quakeml/1.0"
#define ANSS_NS_CATALOG "http://anss.org/xmlns/catalog/0.1"

#define QC_QML_MAX_EVENTS 100000u

/* IRIS's legacy event service put depth in km in QuakeML (the schema says
 * metres): its Tohoku 2011 origin reads <depth><value>29.0</value>. */
#define IRIS_WS_EVENT_PREFIX "smi:www.iris.edu/ws/event/"

/* Longest ResourceReference compared; longer ones do not match anything. */
#define QML_MAX_ID 512

typedef struct parse_ctx {
    char *errstr;
    size_t errstr_size;
    const char *ns; /* namespace of eventParameters and its content */
} parse_ctx_t;

/* One event's solution as chosen. */
typedef struct solution {
    xmlNode *origin, *mag;
} solution_t;

/* @returns the element child named @p name of the namespace in use. */
static xmlNode *child(const parse_ctx_t *ctx, const xmlNode *n, const char *name)
{
    return qc_xml_child(n, ctx->ns, name);
}

/* @returns the child of @p parent named @p name whose publicID is @p id. */
static xmlNode *find_by_id(const parse_ctx_t *ctx, const xmlNode *parent, const char *name,
                           const char *id)
{
    char pid[QML_MAX_ID];

    if (!id || !id[0])
        return NULL;
    for (xmlNode *c = child(ctx, parent, name); c; c = qc_xml_next(c, ctx->ns, name)) {
        if (qc_xml_attr(c, NULL, "publicID", pid, sizeof(pid)) && strcmp(pid, id) == 0)
            return c;
    }
    return NULL;
}

/* Picks origin and magnitude as the file comment says. */
static solution_t choose(const parse_ctx_t *ctx, const xmlNode *ev)
{
    char ref[QML_MAX_ID], oid[QML_MAX_ID];
    solution_t s = { NULL, NULL };
    xmlNode *pref_mag = NULL, *m;

    if (qc_xml_text(child(ctx, ev, "preferredMagnitudeID"), ref, sizeof(ref)))
        pref_mag = find_by_id(ctx, ev, "magnitude", ref);
    if (qc_xml_text(child(ctx, ev, "preferredOriginID"), ref, sizeof(ref)))
        s.origin = find_by_id(ctx, ev, "origin", ref);
    if (!s.origin) {
        m = pref_mag ? pref_mag : child(ctx, ev, "magnitude");
        if (qc_xml_text(child(ctx, m, "originID"), ref, sizeof(ref)))
            s.origin = find_by_id(ctx, ev, "origin", ref);
    }
    if (!s.origin)
        s.origin = child(ctx, ev, "origin");

    s.mag = pref_mag;
    if (!s.mag && s.origin && qc_xml_attr(s.origin, NULL, "publicID", oid, sizeof(oid))) {
        for (m = child(ctx, ev, "magnitude"); m && !s.mag;
             m = qc_xml_next(m, ctx->ns, "magnitude")) {
            if (qc_xml_text(child(ctx, m, "originID"), ref, sizeof(ref)) && strcmp(ref, oid) == 0)
                s.mag = m;
        }
    }
    if (!s.mag)
        s.mag = child(ctx, ev, "magnitude");
    return s;
}

/* @returns @p s without a leading "smi:" or "quakeml:" scheme. */
static const char *skip_scheme(const char *s)
{
    if (strncasecmp(s, "smi:", 4) == 0)
        return s + 4;
    if (strncasecmp(s, "quakeml:", 8) == 0)
        return s + 8;
    return s;
}

/* @returns the first case-insensitive occurrence of @p needle in @p hay. */
static const char *find_ci(const char *hay, const char *needle, bool last)
{
    size_t nl = strlen(needle);
    const char *found = NULL;

    for (const char *p = hay; *p; p++) {
        if (strncasecmp(p, needle, nl) == 0) {
            found = p;
            if (!last)
                break;
        }
    }
    return found;
}

/* Copies @p len bytes of @p s into the id, keeping the last bytes if it is
 * longer (the specific end of a long publicID). @returns false if it is no
 * identifier. */
static bool set_id(qc_event_t *ev, const char *s, size_t len)
{
    if (len >= sizeof(ev->id)) {
        s += len - (sizeof(ev->id) - 1);
        len = sizeof(ev->id) - 1;
    }
    if (!qc_feed_is_ident(s, len))
        return false;
    memcpy(ev->id, s, len);
    ev->id[len] = '\0';
    return true;
}

/* Sets the source to @p s lower-cased. @returns false if it does not fit or
 * is no identifier. */
static bool set_source(qc_event_t *ev, const char *s, size_t len)
{
    return qc_feed_is_ident(s, len) && qc_feed_copy_lower(ev->source, sizeof(ev->source), s, len);
}

static int parse_id(parse_ctx_t *ctx, size_t idx, const xmlNode *evn, qc_event_t *ev)
{
    char pid[QML_MAX_ID], esrc[32], eid[64], buf[QML_MAX_ID];
    const char *rest, *p, *end;
    xmlNode *ci;

    if (!qc_xml_attr(evn, NULL, "publicID", pid, sizeof(pid)) || !pid[0])
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu: "
                            "no publicID (or one over %d bytes)", idx, QML_MAX_ID - 1);

    /* ComCat: catalog:eventsource="ci" catalog:eventid="37285320" */
    if (qc_xml_attr(evn, ANSS_NS_CATALOG, "eventsource", esrc, sizeof(esrc)) &&
        qc_xml_attr(evn, ANSS_NS_CATALOG, "eventid", eid, sizeof(eid)) && esrc[0] && eid[0] &&
        strlen(esrc) + strlen(eid) < sizeof(ev->id) && set_source(ev, esrc, strlen(esrc))) {
        memcpy(buf, ev->source, strlen(ev->source));
        memcpy(buf + strlen(ev->source), eid, strlen(eid) + 1);
        if (set_id(ev, buf, strlen(buf)))
            return 0;
    }

    rest = skip_scheme(pid);
    if ((p = find_ci(rest, "eventid=", false)) != NULL) {
        p += strlen("eventid=");
        end = strchr(p, '&');
        if (!set_id(ev, p, end ? (size_t)(end - p) : strlen(p)))
            goto bad_id;
    } else if ((p = find_ci(rest, "/event/", true)) != NULL && p[strlen("/event/")]) {
        size_t len;

        p += strlen("/event/");
        len = strlen(p);
        while (len > 0 && p[len - 1] == '/')
            len--;
        if (!set_id(ev, p, len))
            goto bad_id;
    } else if (!set_id(ev, rest, strlen(rest))) {
        goto bad_id;
    }

    ci = child(ctx, evn, "creationInfo");
    if (qc_xml_text(child(ctx, ci, "agencyID"), buf, sizeof(buf)) &&
        set_source(ev, buf, strlen(buf)))
        return 0;
    if (qc_xml_text(child(ctx, ci, "agencyURI"), buf, sizeof(buf)) && (p = strrchr(buf, '/')) &&
        set_source(ev, p + 1, strlen(p + 1)))
        return 0;
    end = strchr(rest, '/');
    p = strncasecmp(rest, "www.", 4) == 0 ? rest + 4 : rest;
    if (end && end > p && set_source(ev, p, (size_t)(end - p)))
        return 0;
    set_source(ev, "quakeml", strlen("quakeml"));
    return 0;

bad_id:
    return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu: "
                        "publicID \"%.80s\" gives no printable ASCII id", idx, pid);
}

/* Status from evaluationStatus / evaluationMode of @p n.
 * @returns false if @p n carries neither. */
static bool read_status(const parse_ctx_t *ctx, const xmlNode *n, qc_event_status_t *st)
{
    char status[32], mode[32];
    bool has_status = qc_xml_text(child(ctx, n, "evaluationStatus"), status, sizeof(status)) &&
                      status[0];
    bool has_mode = qc_xml_text(child(ctx, n, "evaluationMode"), mode, sizeof(mode)) && mode[0];

    if (!has_status && !has_mode)
        return false;
    if (has_status && strcasecmp(status, "rejected") == 0)
        *st = QC_EV_DELETED;
    else if ((has_mode && strcasecmp(mode, "manual") == 0) ||
             (has_status && (strcasecmp(status, "confirmed") == 0 ||
                             strcasecmp(status, "reviewed") == 0 ||
                             strcasecmp(status, "final") == 0)))
        *st = QC_EV_REVIEWED;
    else
        *st = QC_EV_AUTOMATIC;
    return true;
}

/* Raises *version to the creationInfo/creationTime of @p n if later. */
static void newer(const parse_ctx_t *ctx, const xmlNode *n, int64_t *version, bool *have)
{
    char t[64];
    int64_t ms;

    if (qc_xml_text(child(ctx, child(ctx, n, "creationInfo"), "creationTime"), t, sizeof(t)) &&
        qc_iso8601_parse(t, strlen(t), &ms) == 0 && ms >= QC_FEED_TIME_MIN_MS &&
        ms <= QC_FEED_TIME_MAX_MS && (!*have || ms > *version)) {
        *version = ms;
        *have = true;
    }
}

/* The description to show as place (see the file comment). */
static void read_place(const parse_ctx_t *ctx, const xmlNode *evn, qc_event_t *ev)
{
    static const char *const prefs[] = {
        "earthquake name", "region name", "nearest cities", "Flinn-Engdahl region",
    };
    char text[512], type[64];
    int best = -1;

    for (xmlNode *d = child(ctx, evn, "description"); d;
         d = qc_xml_next(d, ctx->ns, "description")) {
        int rank = (int)(sizeof(prefs) / sizeof(prefs[0]));

        qc_xml_text(child(ctx, d, "text"), text, sizeof(text));
        if (!text[0])
            continue;
        qc_xml_text(child(ctx, d, "type"), type, sizeof(type));
        for (int i = 0; i < (int)(sizeof(prefs) / sizeof(prefs[0])); i++) {
            if (strcasecmp(type, prefs[i]) == 0)
                rank = i;
        }
        /* other types ("felt report", "tectonic summary") are prose */
        if (type[0] && rank == (int)(sizeof(prefs) / sizeof(prefs[0])))
            continue;
        /* "119": a Flinn-Engdahl region number, not a name */
        if (strspn(text, "0123456789") == strlen(text))
            continue;
        if (best < 0 || rank < best) {
            best = rank;
            qc_feed_copy_text(ev->place, sizeof(ev->place), text, strlen(text));
        }
    }
}

/* Reads <name><value>number</value></name> of the origin into *out.
 * @returns false if missing or not a number. */
static bool origin_value(const parse_ctx_t *ctx, const xmlNode *origin, const char *name,
                         double *out)
{
    return qc_xml_number(child(ctx, child(ctx, origin, name), "value"), out);
}

static int parse_event(parse_ctx_t *ctx, size_t idx, const xmlNode *evn, bool iris,
                       qc_event_t *ev)
{
    char buf[64];
    solution_t s;
    xmlNode *n;
    double depth_m;
    bool have_version = false;
    const char *what;
    int rc;

    memset(ev, 0, sizeof(*ev));
    rc = parse_id(ctx, idx, evn, ev);
    if (rc)
        return rc;

    n = child(ctx, evn, "type");
    if (n && (!qc_xml_text(n, buf, sizeof(ev->type)) ||
              !qc_feed_copy_lower(ev->type, sizeof(ev->type), buf, strlen(buf))))
        /* a cut type could turn "quarry blast ..." into an unknown type,
         * and unknown types count as earthquakes */
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): type longer than %zu bytes or holds control characters",
                            idx, ev->id, sizeof(ev->type) - 1);
    if (!ev->type[0] || strcmp(ev->type, "null") == 0)
        memcpy(ev->type, "earthquake", sizeof("earthquake"));

    s = choose(ctx, evn);
    if (!s.origin)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): no origin", idx, ev->id);

    if (!qc_xml_text(child(ctx, child(ctx, s.origin, "time"), "value"), buf, sizeof(buf)) ||
        qc_iso8601_parse(buf, strlen(buf), &ev->origin_ms) != 0)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): origin time/value missing or not an ISO 8601 time", idx, ev->id);
    if (!origin_value(ctx, s.origin, "latitude", &ev->lat))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): origin latitude/value missing or not a number", idx, ev->id);
    if (!origin_value(ctx, s.origin, "longitude", &ev->lon))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): origin longitude/value missing or not a number", idx, ev->id);
    n = child(ctx, s.origin, "depth");
    if (!n) {
        ev->depth_km = QC_FEED_DEFAULT_DEPTH_KM;
    } else if (!origin_value(ctx, s.origin, "depth", &depth_m)) {
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): origin depth/value missing or not a number", idx, ev->id);
    } else {
        ev->depth_km = iris ? depth_m : depth_m / 1000.0;
    }

    if (s.mag && qc_xml_number(child(ctx, child(ctx, s.mag, "mag"), "value"), &ev->mag)) {
        ev->has_mag = true;
    } else if (s.mag && qc_xml_text(child(ctx, child(ctx, s.mag, "mag"), "value"), buf,
                                     sizeof(buf)) && buf[0]) {
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): magnitude mag/value is not a number", idx, ev->id);
    }
    n = s.mag ? child(ctx, s.mag, "type") : NULL;
    if (n) {
        bool fits = qc_xml_text(n, buf, sizeof(ev->mag_type));

        if (buf[0] && (!fits || !qc_feed_is_ident(buf, strlen(buf)) ||
                       !qc_feed_copy_lower(ev->mag_type, sizeof(ev->mag_type), buf, strlen(buf))))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                                "(%s): magnitude type longer than %zu bytes or not printable "
                                "ASCII", idx, ev->id, sizeof(ev->mag_type) - 1);
    }

    if (!qc_feed_plausible(ev, &what))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "quakeml: event %zu "
                            "(%s): %s out of range", idx, ev->id, what);

    ev->status = QC_EV_AUTOMATIC;
    if (!read_status(ctx, s.origin, &ev->status) && s.mag)
        read_status(ctx, s.mag, &ev->status);
    if (strcmp(ev->type, "not existing") == 0)
        ev->status = QC_EV_DELETED;

    newer(ctx, evn, &ev->version, &have_version);
    newer(ctx, s.origin, &ev->version, &have_version);
    if (s.mag)
        newer(ctx, s.mag, &ev->version, &have_version);
    if (!have_version)
        ev->version = ev->origin_ms;

    read_place(ctx, evn, ev);
    return 0;
}

int qc_feed_quakeml_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                          char *errstr, size_t errstr_size)
{
    parse_ctx_t ctx = { .errstr = errstr, .errstr_size = errstr_size };
    xmlDoc *doc = NULL;
    xmlNode *root, *ep, *evn;
    qc_event_t *evs = NULL;
    size_t count = 0, i = 0;
    char pid[QML_MAX_ID];
    int rc;

    if (!out || !n)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "quakeml: no output arguments");
    *out = NULL;
    *n = 0;
    rc = qc_xml_parse(buf, len, "quakeml", &doc, errstr, errstr_size);
    if (rc)
        return rc;
    root = xmlDocGetRootElement(doc);
    if (qc_xml_is(root, QML_NS_ROOT_12, "quakeml")) {
        ep = qc_xml_child(root, QML_NS_BED_12, "eventParameters");
        ctx.ns = QML_NS_BED_12;
        if (!ep) {
            ep = qc_xml_child(root, QML_NS_BED_RT_12, "eventParameters");
            ctx.ns = QML_NS_BED_RT_12;
        }
    } else if (qc_xml_is(root, QML_NS_10, "quakeml")) {
        ctx.ns = QML_NS_10;
        ep = qc_xml_child(root, ctx.ns, "eventParameters");
    } else {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "quakeml: not QuakeML 1.2 or 1.0: "
                          "root element <%.40s> in namespace \"%.80s\"", (const char *)root->name,
                          root->ns && root->ns->href ? (const char *)root->ns->href : "");
        goto out_doc;
    }
    if (!ep) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "quakeml: no eventParameters");
        goto out_doc;
    }

    for (xmlNode *e = ep; e; e = qc_xml_next(e, ctx.ns, "eventParameters")) {
        for (evn = child(&ctx, e, "event"); evn; evn = qc_xml_next(evn, ctx.ns, "event"))
            count++;
    }
    if (count > QC_QML_MAX_EVENTS) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_TOOBIG, "quakeml: %zu events, over the "
                          "limit of %u", count, QC_QML_MAX_EVENTS);
        goto out_doc;
    }
    if (count == 0) {
        rc = 0;
        goto out_doc;
    }
    evs = calloc(count, sizeof(*evs));
    if (!evs) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_NOMEM, "quakeml: out of memory for %zu "
                          "events", count);
        goto out_doc;
    }
    for (xmlNode *e = ep; e; e = qc_xml_next(e, ctx.ns, "eventParameters")) {
        for (evn = child(&ctx, e, "event"); evn; evn = qc_xml_next(evn, ctx.ns, "event")) {
            bool iris = qc_xml_attr(evn, NULL, "publicID", pid, sizeof(pid)) &&
                        strncmp(pid, IRIS_WS_EVENT_PREFIX, strlen(IRIS_WS_EVENT_PREFIX)) == 0;

            rc = parse_event(&ctx, i, evn, iris, &evs[i]);
            if (rc)
                goto out_evs;
            i++;
        }
    }
    *out = evs;
    evs = NULL; /* owned by the caller now */
    *n = count;
    rc = 0;

out_evs:
    free(evs);
out_doc:
    xmlFreeDoc(doc);
    return rc;
}
