/* shakealert.c: ShakeAlert event messages (XML) to qc_event_t.
 *
 * Element and attribute names are those of the ShakeAlert message format
 * (USGS ShakeAlert "event_message" XML, written by the Decision Module
 * "dm" and by eqinfo2gm; see the ShakeAlert technical implementation
 * documents, "DM message" schema):
 *   event_message[@category (live|test), @message_type (new|update|delete),
 *                 @orig_sys, @version, @timestamp]
 *     core_info[@id]/{mag[@units], lat[@units=deg], lon[@units=deg],
 *                     depth[@units=km], orig_time[@units=UTC], likelihood}
 *     gm_info/...   (eqinfo2gm contour and map predictions: not read)
 * DM messages and eqinfo2gm contour/map messages share core_info, so all
 * three give the event they are about. system_status (a heartbeat) is not
 * an event: QC_ERR_INVAL.
 *
 * One event: id core_info@id, source "shakealert", magnitude type from
 * mag@units ("Mw": "mw"), type earthquake (ShakeAlert only locates
 * earthquakes), status automatic, or deleted for message_type "delete";
 * version @timestamp (the message's creation time), else origin time plus
 * @version; category "test" sets the test flag. Values may carry spaces
 * around them (the DM writes "6.9 "). */
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

typedef struct parse_ctx {
    char *errstr;
    size_t errstr_size;
    const char *ns; /* of the root element; ShakeAlert uses none */
} parse_ctx_t;

static int fail_field(parse_ctx_t *ctx, const char *id, const char *field)
{
    return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: (%s): "
                        "core_info %s missing or not a number", id, field);
}

static int parse_message(parse_ctx_t *ctx, const xmlNode *root, qc_event_t *ev)
{
    char buf[64], units[32];
    xmlNode *core, *n;
    double version;
    const char *what;

    memset(ev, 0, sizeof(*ev));
    core = qc_xml_child(root, ctx->ns, "core_info");
    if (!core)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: "
                            "event_message without core_info");
    if (!qc_xml_attr(core, NULL, "id", buf, sizeof(ev->id)) || !qc_feed_is_ident(buf, strlen(buf)))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: core_info "
                            "id missing, longer than %zu bytes or not printable ASCII",
                            sizeof(ev->id) - 1);
    memcpy(ev->id, buf, strlen(buf) + 1);
    memcpy(ev->source, "shakealert", sizeof("shakealert"));
    memcpy(ev->type, "earthquake", sizeof("earthquake"));

    if (!qc_xml_text(qc_xml_child(core, ctx->ns, "orig_time"), buf, sizeof(buf)) ||
        qc_iso8601_parse(buf, strlen(buf), &ev->origin_ms) != 0)
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: (%s): "
                            "core_info orig_time missing or not an ISO 8601 time", ev->id);
    if (!qc_xml_number(qc_xml_child(core, ctx->ns, "lat"), &ev->lat))
        return fail_field(ctx, ev->id, "lat");
    if (!qc_xml_number(qc_xml_child(core, ctx->ns, "lon"), &ev->lon))
        return fail_field(ctx, ev->id, "lon");

    n = qc_xml_child(core, ctx->ns, "depth");
    if (!n) {
        ev->depth_km = QC_FEED_DEFAULT_DEPTH_KM;
    } else if (!qc_xml_number(n, &ev->depth_km)) {
        return fail_field(ctx, ev->id, "depth");
    } else if (qc_xml_attr(n, NULL, "units", units, sizeof(units)) && units[0]) {
        if (strcasecmp(units, "m") == 0)
            ev->depth_km /= 1000.0;
        else if (strcasecmp(units, "km") != 0)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: (%s): "
                                "depth in unknown units \"%s\"", ev->id, units);
    }

    n = qc_xml_child(core, ctx->ns, "mag");
    if (n) {
        if (!qc_xml_number(n, &ev->mag))
            return fail_field(ctx, ev->id, "mag");
        ev->has_mag = true;
        if (qc_xml_attr(n, NULL, "units", units, sizeof(ev->mag_type)) && units[0] &&
            (!qc_feed_is_ident(units, strlen(units)) ||
             !qc_feed_copy_lower(ev->mag_type, sizeof(ev->mag_type), units, strlen(units))))
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: (%s): "
                                "mag units are not a short code", ev->id);
    }
    if (!qc_feed_plausible(ev, &what))
        return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: (%s): %s "
                            "out of range", ev->id, what);

    if (qc_xml_attr(root, NULL, "message_type", buf, sizeof(buf)) &&
        strcasecmp(buf, "delete") == 0)
        ev->status = QC_EV_DELETED;
    else
        ev->status = QC_EV_AUTOMATIC;
    ev->test = qc_xml_attr(root, NULL, "category", buf, sizeof(buf)) &&
               strcasecmp(buf, "test") == 0;

    if (qc_xml_attr(root, NULL, "timestamp", buf, sizeof(buf)) && buf[0]) {
        if (qc_iso8601_parse(buf, strlen(buf), &ev->version) != 0)
            return qc_feed_fail(ctx->errstr, ctx->errstr_size, QC_ERR_INVAL, "shakealert: (%s): "
                                "timestamp is not an ISO 8601 time", ev->id);
    } else if (qc_xml_attr(root, NULL, "version", buf, sizeof(buf)) &&
               qc_feed_number(buf, strlen(buf), &version) && version >= 0 && version < 1e9) {
        ev->version = ev->origin_ms + (int64_t)version;
    } else {
        ev->version = ev->origin_ms;
    }
    return 0;
}

int qc_feed_shakealert_parse(const char *buf, size_t len, qc_event_t **out, size_t *n,
                             char *errstr, size_t errstr_size)
{
    parse_ctx_t ctx = { .errstr = errstr, .errstr_size = errstr_size };
    xmlDoc *doc = NULL;
    xmlNode *root;
    qc_event_t *ev = NULL;
    int rc;

    if (!out || !n)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "shakealert: no output arguments");
    *out = NULL;
    *n = 0;
    rc = qc_xml_parse(buf, len, "shakealert", &doc, errstr, errstr_size);
    if (rc)
        return rc;
    root = xmlDocGetRootElement(doc);
    ctx.ns = root->ns && root->ns->href ? (const char *)root->ns->href : NULL;
    if (strcmp((const char *)root->name, "system_status") == 0) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_INVAL, "shakealert: system_status message "
                          "(a heartbeat), not an event");
        goto out_doc;
    }
    if (strcmp((const char *)root->name, "event_message") != 0) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "shakealert: not a ShakeAlert "
                          "event_message: root element <%.40s>", (const char *)root->name);
        goto out_doc;
    }
    ev = malloc(sizeof(*ev));
    if (!ev) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_NOMEM, "shakealert: out of memory");
        goto out_doc;
    }
    rc = parse_message(&ctx, root, ev);
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
