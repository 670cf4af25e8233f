/* cap.c: OASIS Common Alerting Protocol 1.2 earthquake alerts to qc_event_t.
 *
 * Element names and values are those of the OASIS standard "Common
 * Alerting Protocol Version 1.2" (CAP-V1.2, 1 July 2010), section 3.2,
 * namespace urn:oasis:names:tc:emergency:cap:1.2:
 *   alert/{identifier, sender, sent, status (Actual|Exercise|System|Test|
 *     Draft), msgType (Alert|Update|Cancel|Ack|Error), references}
 *   alert/info/{language, category, event, eventCode, onset, headline,
 *     parameter/{valueName, value}, area/{areaDesc, circle}}
 * "references" is a space-separated list of "sender,identifier,sent"; a
 * circle is "lat,lon radius" (WGS 84, radius in km). CAP 1.1
 * (urn:oasis:names:tc:emergency:cap:1.1), still sent by many, names all of
 * these alike and is read too.
 *
 * CAP has no earthquake vocabulary of its own, so what is read is how
 * seismic networks fill it (OASIS Appendix A.3, the TriNet/CISN alerts;
 * NRCan's CAP-CP early-warning alerts):
 * - the info block: category Geo, and an event text naming an earthquake
 *   (any case: "quake", "seism", "sismo", "cutremur", ...) or an eventCode
 *   value "earthquake" (CAP-CP Event list) or "EQW" (SAME "earthquake
 *   warning"); among several (one per language), the first in English, else
 *   the first. A CAP alert without one is QC_ERR_INVAL "not an earthquake
 *   alert: <event>";
 * - parameters, matched by valueName folded to lower-case letters and
 *   digits: eventid, magnitude ("3.4 Ml": value and type), depth (with a
 *   unit: km by default, "mi", "m"), latitude/longitude, origintime;
 * - epicentre: the Latitude/Longitude parameters, else the centre of the
 *   first area circle (TriNet sends the epicentre as a circle of radius 0).
 *   An earthquake alert with neither is QC_ERR_INVAL: the polygons of an
 *   early-warning alert (NRCan) are where to warn, not where the quake is;
 * - origin time: the parameter, else info/onset, else info/effective
 *   (aggregators set these to the origin); alert/sent is when the message
 *   was written, so an earthquake alert with none of the three is
 *   QC_ERR_INVAL "no origin time" rather than a guess (a Cancel keeps the
 *   earliest referenced sent, else its own, only to order revisions);
 * - id: the EventID parameter, else the identifier of the earliest message
 *   referenced, else alert/identifier, so that an Update or Cancel keeps
 *   the id of the alert it revises; source: the sender's domain without
 *   its top level, lower case ("alerts@infp.ro": "infp", TriNet's
 *   "trinet@caltech.edu": "caltech");
 *   version: alert/sent;
 * - msgType Cancel: status deleted; a Cancel without info (allowed by the
 *   standard) gives an event at 0,0 without magnitude that only names what
 *   is retracted. The references are kept in the event;
 * - status Test and Exercise set the event's test flag; System and Draft,
 *   and msgType Ack and Error, are not alerts: QC_ERR_INVAL. */
#include "feeds.h"

#include <libxml/tree.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed_util.h"
#include "feed_xml.h"
#include "qc/clock.h"
#include "qc/err.h"

#define CAP_NS_12 "urn:oasis:names:tc:emergency:cap:1.2"
#define CAP_NS_11 "urn:oasis:names:tc:emergency:cap:1.1"

#define MI_KM 1.609344
#define FT_KM 0.0003048

typedef struct parse_ctx {
    char *errstr;
    size_t errstr_size;
} parse_ctx_t;

/* The parameters read from the chosen info block. */
typedef struct cap_params {
    xmlNode *event_id, *mag, *depth, *lat, *lon, *time;
} cap_params_t;

/* CAP 1.1 and 1.2 name everything read here alike; all elements are in
 * the namespace of the root. */
static const char *ns_of(const xmlNode *n)
{
    return n && n->ns && n->ns->href ? (const char *)n->ns->href : NULL;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
    return n ? qc_xml_child(n, ns_of(n), name) : NULL;
}

static xmlNode *next(const xmlNode *n, const char *name)
{
    return qc_xml_next(n, ns_of(n), name);
}

/* Folds @p s into @p buf: ASCII letters lower-cased and digits, all else
 * dropped ("Origin Time" and "origin_time" both give "origintime"). */
static void fold_name(const char *s, char *buf, size_t size)
{
    size_t n = 0;

    for (; *s && n + 1 < size; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            buf[n++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            buf[n++] = c;
    }
    buf[n] = '\0';
}

static bool name_in(const char *folded, const char *const *names)
{
    for (; *names; names++) {
        if (strcmp(folded, *names) == 0)
            return true;
    }
    return false;
}

/* @returns true if the event text names an earthquake. ASCII case is
 * folded; the words cover the languages CAP earthquake alerts are sent in
 * near us and in the Americas. */
static bool names_quake(const char *event)
{
    static const char *const words[] = {
        "quake", "seism", "sismo", "sísmico", "cutremur", "erdbeben", "terremoto",
        "tremblement de terre", "tremblements de terre",
    };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasestr(event, words[i]))
            return true;
    }
    return false;
}

static bool is_quake_info(const xmlNode *info)
{
    char text[256], name[128];
    bool geo = false;

    for (xmlNode *c = child(info, "category"); c; c = next(c, "category")) {
        if (qc_xml_text(c, text, sizeof(text)) && strcasecmp(text, "Geo") == 0)
            geo = true;
    }
    if (!geo)
        return false;
    qc_xml_text(child(info, "event"), text, sizeof(text));
    if (names_quake(text))
        return true;
    for (xmlNode *c = child(info, "eventCode"); c; c = next(c, "eventCode")) {
        qc_xml_text(child(c, "valueName"), name, sizeof(name));
        if (qc_xml_text(child(c, "value"), text, sizeof(text)) &&
            (strcasecmp(text, "earthquake") == 0 ||
             (strcasecmp(name, "SAME") == 0 && strcasecmp(text, "EQW") == 0)))
            return true;
    }
    return false;
}

/* The info block to read: among those for which @p want holds (all if
 * NULL), the first in English, else the first; NULL if none. */
static xmlNode *choose_info(const xmlNode *alert, bool (*want)(const xmlNode *))
{
    char lang[32];
    xmlNode *first = NULL;

    for (xmlNode *i = child(alert, "info"); i; i = next(i, "info")) {
        if (want && !want(i))
            continue;
        /* CAP: language absent means "en-US" */
        if (!qc_xml_text(child(i, "language"), lang, sizeof(lang)) || !lang[0] ||
            strncasecmp(lang, "en", 2) == 0)
            return i;
        if (!first)
            first = i;
    }
    return first;
}

static cap_params_t read_params(const xmlNode *info)
{
    static const char *const ids[] = { "eventid", "eqid", "earthquakeid", NULL };
    static const char *const mags[] = { "magnitude", "mag", "eqmagnitude", "eventmagnitude",
                                        "earthquakemagnitude", NULL };
    static const char *const depths[] = { "depth", "eqdepth", "eventdepth", "depthkm",
                                          "hypocentredepth", "hypocenterdepth", NULL };
    static const char *const lats[] = { "latitude", "lat", "eventlatitude",
                                        "epicenterlatitude", "epicentrelatitude", NULL };
    static const char *const lons[] = { "longitude", "lon", "lng", "long", "eventlongitude",
                                        "epicenterlongitude", "epicentrelongitude", NULL };
    static const char *const times[] = { "origintime", "origindatetime", "eventtime",
                                         "eqtime", "earthquaketime", NULL };
    cap_params_t p = { NULL, NULL, NULL, NULL, NULL, NULL };
    char name[128], folded[128];

    for (xmlNode *c = child(info, "parameter"); c; c = next(c, "parameter")) {
        xmlNode *v = child(c, "value");

        if (!qc_xml_text(child(c, "valueName"), name, sizeof(name)) || !v)
            continue;
        fold_name(name, folded, sizeof(folded));
        if (!p.event_id && name_in(folded, ids))
            p.event_id = v;
        else if (!p.mag && name_in(folded, mags))
            p.mag = v;
        else if (!p.depth && name_in(folded, depths))
            p.depth = v;
        else if (!p.lat && name_in(folded, lats))
            p.lat = v;
        else if (!p.lon && name_in(folded, lons))
            p.lon = v;
        else if (!p.time && name_in(folded, times))
            p.time = v;
    }
    return p;
}

/* Splits "11.8 mi." into the number and what follows it (trimmed).
 * @returns false if it does not start with a finite decimal number. */
static bool number_and_rest(const char *s, double *out, const char **rest)
{
    const char *p = s, *end;

    while (*p == ' ')
        p++;
    if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.'))
        return false;
    for (end = p; (*end >= '0' && *end <= '9') || *end == '.' || *end == '-' || *end == '+' ||
                  *end == 'e' || *end == 'E'; end++)
        ;
    if (!qc_feed_number(p, (size_t)(end - p), out))
        return false;
    while (*end == ' ')
        end++;
    *rest = end;
    return true;
}

/* Depth with an optional unit. @returns false if the unit is unknown. */
static bool read_depth(const char *s, double *km)
{
    const char *unit;
    double v;
    char u[16];

    if (!number_and_rest(s, &v, &unit))
        return false;
    fold_name(unit, u, sizeof(u));
    if (!u[0] || strcmp(u, "km") == 0 || strcmp(u, "kilometers") == 0 ||
        strcmp(u, "kilometres") == 0)
        *km = v;
    else if (strcmp(u, "mi") == 0 || strcmp(u, "mile") == 0 || strcmp(u, "miles") == 0)
        *km = v * MI_KM;
    else if (strcmp(u, "m") == 0 || strcmp(u, "meters") == 0 || strcmp(u, "metres") == 0)
        *km = v / 1000.0;
    else if (strcmp(u, "ft") == 0 || strcmp(u, "feet") == 0)
        *km = v * FT_KM;
    else
        return false;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Steps *p over the next white-space separated entry of a references list.
 * @returns its length (0 at the end); *start points at it. */
static size_t next_entry(const char **p, const char **start)
{
    while (is_space(**p))
        (*p)++;
    *start = *p;
    while (**p && !is_space(**p))
        (*p)++;
    return (size_t)(*p - *start);
}

/* The earliest message of a references list: its identifier and sent
 * time. @returns false if the list names none that parses. */
static bool earliest_reference(const char *refs, char *ident, size_t ident_size, int64_t *sent)
{
    const char *p = refs, *start, *c1, *c2, *end;
    bool found = false;
    size_t len;

    while ((len = next_entry(&p, &start)) > 0) {
        int64_t t;

        end = start + len;
        c1 = memchr(start, ',', len);
        c2 = c1 ? memchr(c1 + 1, ',', (size_t)(end - c1 - 1)) : NULL;
        if (!c2 || c2 == c1 + 1 || (size_t)(c2 - c1 - 1) >= ident_size ||
            qc_iso8601_parse(c2 + 1, (size_t)(end - c2 - 1), &t) != 0)
            continue;
        if (!found || t < *sent) {
            memcpy(ident, c1 + 1, (size_t)(c2 - c1 - 1));
            ident[c2 - c1 - 1] = '\0';
            *sent = t;
            found = true;
        }
    }
    return found;
}

/* Copies the entries of the references list that are printable ASCII, one
 * space apart, as many whole ones as fit. */
static void keep_references(qc_event_t *ev, const char *refs)
{
    const char *p = refs, *start;
    size_t len, n = 0;

    while ((len = next_entry(&p, &start)) > 0) {
        if (!qc_feed_is_ident(start, len))
            continue;
        if (n + (n ? 1 : 0) + len >= sizeof(ev->references))
            break;
        if (n)
            ev->references[n++] = ' ';
        memcpy(ev->references + n, start, len);
        n += len;
    }
    ev->references[n] = '\0';
}

/* The source: the label before the top-level domain of the sender's
 * address (alerts@infp.ro: "infp", trinet@caltech.edu: "caltech"), else
 * what comes before '@' or the first '.', else "cap". */
static void set_source(qc_event_t *ev, const char *sender)
{
    const char *at = strchr(sender, '@'), *dom, *end, *p;
    size_t len;

    if (at && (end = strrchr(at + 1, '.')) != NULL && end > at + 1) {
        for (dom = end; dom > at + 1 && dom[-1] != '.'; dom--)
            ;
        if (qc_feed_is_ident(dom, (size_t)(end - dom)) &&
            qc_feed_copy_lower(ev->source, sizeof(ev->source), dom, (size_t)(end - dom)))
            return;
    }
    p = sender;
    len = strcspn(p, "@.:/ ");
    if (!qc_feed_is_ident(p, len) || !qc_feed_copy_lower(ev->source, sizeof(ev->source), p, len))
        memcpy(ev->source, "cap", sizeof("cap"));
}

/* Reads the earthquake described by @p info into @p ev (id, time, and
 * version are set by the caller). */
static int read_quake(parse_ctx_t *ctx, const xmlNode *info, const cap_params_t *p,
                      qc_event_t *ev)
{
    char buf[256];
    const char *rest;
    xmlNode *area, *circle = NULL;

    if (p->lat || p->lon) {
        if (!qc_xml_number(p->lat, &ev->lat) || !qc_xml_number(p->lon, &ev->lon))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): "
                                "Latitude and Longitude parameters are not both numbers", ev->id);
    } else {
        for (area = child(info, "area"); area && !circle; area = next(area, "area"))
            circle = child(area, "circle");
        if (!circle)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): "
                                "earthquake alert without an epicentre (no area circle, no "
                                "Latitude/Longitude parameters)", ev->id);
        /* "32.9525,-115.5527 0" */
        qc_xml_text(circle, buf, sizeof(buf));
        char *comma = strchr(buf, ',');
        if (!comma || !qc_feed_number(buf, (size_t)(comma - buf), &ev->lat) ||
            !number_and_rest(comma + 1, &ev->lon, &rest))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): area "
                                "circle \"%.60s\" is not \"lat,lon radius\"", ev->id, buf);
    }

    ev->depth_km = QC_FEED_DEFAULT_DEPTH_KM;
    if (p->depth && (!qc_xml_text(p->depth, buf, sizeof(buf)) || !read_depth(buf, &ev->depth_km)))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): Depth "
                            "parameter \"%.40s\" is not a number with a known unit", ev->id, buf);

    if (p->mag) {
        if (!qc_xml_text(p->mag, buf, sizeof(buf)) || !number_and_rest(buf, &ev->mag, &rest))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): "
                                "Magnitude parameter \"%.40s\" is not a number", ev->id, buf);
        ev->has_mag = true;
        if (*rest && (!qc_feed_is_ident(rest, strlen(rest)) ||
                      !qc_feed_copy_lower(ev->mag_type, sizeof(ev->mag_type), rest, strlen(rest))))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): "
                                "Magnitude type \"%.40s\" is not a short code", ev->id, rest);
    }

    area = child(info, "area");
    if (qc_xml_text(child(area, "areaDesc"), buf, sizeof(buf)) || buf[0])
        qc_feed_copy_text(ev->place, sizeof(ev->place), buf, strlen(buf));
    else if (qc_xml_text(child(info, "headline"), buf, sizeof(buf)) || buf[0])
        qc_feed_copy_text(ev->place, sizeof(ev->place), buf, strlen(buf));
    return 0;
}

static int parse_alert(parse_ctx_t *ctx, const xmlNode *alert, qc_event_t *ev)
{
    char identifier[256], sender[256], text[256], refs[1024], orig[256], status[32], msg_type[32];
    int64_t sent, ref_sent = 0;
    bool have_ref;
    xmlNode *info;
    cap_params_t p = { NULL, NULL, NULL, NULL, NULL, NULL };
    const char *what;
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (!qc_xml_text(child(alert, "identifier"), identifier, sizeof(identifier)) || !identifier[0])
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: no identifier "
                            "(or one over %zu bytes)", sizeof(identifier) - 1);
    qc_xml_text(child(alert, "sender"), sender, sizeof(sender));
    if (!qc_xml_text(child(alert, "sent"), text, sizeof(text)) ||
        qc_iso8601_parse(text, strlen(text), &sent) != 0)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%.64s): sent "
                            "missing or not a date-time", identifier);
    qc_xml_text(child(alert, "status"), status, sizeof(status));
    qc_xml_text(child(alert, "msgType"), msg_type, sizeof(msg_type));

    if (strcasecmp(status, "Test") == 0 || strcasecmp(status, "Exercise") == 0)
        ev->test = true;
    else if (strcasecmp(status, "Actual") != 0)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%.64s): status "
                            "\"%.20s\" is not an alert to act on (Actual, Test or Exercise)",
                            identifier, status);
    if (strcasecmp(msg_type, "Cancel") == 0)
        ev->status = QC_EV_DELETED;
    else if (strcasecmp(msg_type, "Alert") != 0 && strcasecmp(msg_type, "Update") != 0)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%.64s): msgType "
                            "\"%.20s\" is not Alert, Update or Cancel", identifier, msg_type);

    info = choose_info(alert, is_quake_info);
    if (!info && (child(alert, "info") || ev->status != QC_EV_DELETED)) {
        /* name what it is about, in English if the alert has it */
        xmlNode *any = choose_info(alert, NULL);
        char category[32];

        if (!any)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%.64s): "
                                "%s without an info block", identifier, msg_type);
        qc_xml_text(child(any, "event"), text, sizeof(text));
        qc_xml_text(child(any, "category"), category, sizeof(category));
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: not an "
                            "earthquake alert: %.80s (category %.20s)", text,
                            category[0] ? category : "none");
    }
    if (info)
        p = read_params(info);

    if (!qc_xml_text(child(alert, "references"), refs, sizeof(refs))) {
        /* over the buffer: drop the entry that was cut */
        char *sp = refs + strlen(refs);
        while (sp > refs && !is_space(sp[-1]))
            sp--;
        *sp = '\0';
    }
    have_ref = earliest_reference(refs, orig, sizeof(orig), &ref_sent);
    keep_references(ev, refs);

    /* the id: EventID parameter, else the first alert's identifier */
    if (p.event_id && qc_xml_text(p.event_id, text, sizeof(text)) && text[0]) {
        if (!qc_feed_is_ident(text, strlen(text)) || strlen(text) >= sizeof(ev->id))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%.64s): "
                                "EventID parameter longer than %zu bytes or not printable ASCII",
                                identifier, sizeof(ev->id) - 1);
        memcpy(ev->id, text, strlen(text) + 1);
    } else {
        const char *id = have_ref ? orig : identifier;
        if (!qc_feed_is_ident(id, strlen(id)) || strlen(id) >= sizeof(ev->id))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: identifier "
                                "\"%.64s\" longer than %zu bytes or not printable ASCII", id,
                                sizeof(ev->id) - 1);
        memcpy(ev->id, id, strlen(id) + 1);
    }
    set_source(ev, sender);
    ev->version = sent;
    memcpy(ev->type, "earthquake", sizeof("earthquake"));

    if (info) {
        rc = read_quake(ctx, info, &p, ev);
        if (rc)
            return rc;
    }
    /* The origin time: when the earth moved, never when a message was
     * written. alert/sent (and a referenced message's sent) is the second
     * kind, so it is no fallback: an earthquake alert with no origin time
     * is refused. A Cancel without info needs none. */
    if (p.time) {
        if (!qc_xml_text(p.time, text, sizeof(text)) ||
            qc_iso8601_parse(text, strlen(text), &ev->origin_ms) != 0)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): "
                                "OriginTime parameter is not an ISO 8601 time", ev->id);
    } else if (info && qc_xml_text(child(info, "onset"), text, sizeof(text)) && text[0]) {
        if (qc_iso8601_parse(text, strlen(text), &ev->origin_ms) != 0)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): onset "
                                "is not a date-time", ev->id);
    } else if (info && qc_xml_text(child(info, "effective"), text, sizeof(text)) && text[0]) {
        if (qc_iso8601_parse(text, strlen(text), &ev->origin_ms) != 0)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): "
                                "effective is not a date-time", ev->id);
    } else if (ev->status == QC_EV_DELETED) {
        ev->origin_ms = have_ref ? ref_sent : sent; /* a retraction: only its order matters */
    } else {
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): no origin "
                            "time: neither an OriginTime parameter nor info/onset or "
                            "info/effective (alert/sent is when the message was written)",
                            ev->id);
    }

    if (!qc_feed_plausible(ev, &what))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "cap: (%s): %s out of "
                            "range", ev->id, what);
    return 0;
}

int qc_feed_cap_parse(const char *buf, size_t len, qc_event_t **out, size_t *n, char *errstr,
                      size_t errstr_size)
{
    parse_ctx_t ctx = { .errstr = errstr, .errstr_size = errstr_size };
    xmlDoc *doc = NULL;
    xmlNode *root;
    qc_event_t *ev = NULL;
    int rc;

    if (!out || !n)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "cap: no output arguments");
    *out = NULL;
    *n = 0;
    rc = qc_xml_parse(buf, len, "cap", &doc, errstr, errstr_size);
    if (rc)
        return rc;
    root = xmlDocGetRootElement(doc);
    if (!qc_xml_is(root, CAP_NS_12, "alert") && !qc_xml_is(root, CAP_NS_11, "alert")) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "cap: not CAP 1.2 (or 1.1): root "
                          "element <%.40s> in namespace \"%.80s\"", (const char *)root->name,
                          root->ns && root->ns->href ? (const char *)root->ns->href : "");
        goto out_doc;
    }
    ev = malloc(sizeof(*ev));
    if (!ev) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_NOMEM, "cap: out of memory");
        goto out_doc;
    }
    rc = parse_alert(&ctx, root, ev);
    if (rc)
        goto out_ev;
    *out = ev;
    ev = NULL; /* owned by the caller now */
    *n = 1;

out_ev:
    free(ev);
out_doc:
    xmlFreeDoc(doc);
    return rc;
}
