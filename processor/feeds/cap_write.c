/* cap_write.c: every alert revision issued as an OASIS Common Alerting
 * Protocol 1.2 message (CAP-v1.2-os, 2010): msgType Alert for the first
 * warning, Update for a magnitude revised up, Cancel for a retraction,
 * each Update/Cancel naming the earlier messages in <references>. The XML
 * follows the element order and cardinality of the standard's data
 * dictionary (section 3.2); tests/unit/test_cap_out.c validates it against
 * an XML Schema written from that dictionary and parses it back with our
 * own CAP reader.
 *
 * The message goes to quake.alerts (for relays: a cell-broadcast gateway,
 * a national aggregator) and is kept in Redis for GET /v1/alerts/{id}.cap. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap_write.h"
#include "qc/geo.h"
#include "qc/ipe.h"
#include "qc/log.h"

/* Appends printf output to a growing buffer; on overflow marks it bad. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool bad;
} sbuf_t;

__attribute__((format(printf, 2, 3))) static void put(sbuf_t *b, const char *fmt, ...)
{
    if (b->bad)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->bad = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->len + (size_t)n + 1)
            ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->bad = true;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
}

/* XML character data: & < > " escaped, control characters dropped (they
 * are not allowed in XML 1.0). */
/* The CAP area: where at least this intensity (largely observed: IV) is
 * predicted, outlined along this many bearings, out to this far. */
#define QC_CAP_AREA_MMI 4.0
#define QC_CAP_BEARINGS 36
#define QC_CAP_MAX_KM 1500.0

static void put_text(sbuf_t *b, const char *t)
{
    for (; t && *t; t++) {
        unsigned char c = (unsigned char)*t;
        if (c == '&')
            put(b, "&amp;");
        else if (c == '<')
            put(b, "&lt;");
        else if (c == '>')
            put(b, "&gt;");
        else if (c == '"')
            put(b, "&quot;");
        else if (c >= 0x20 || c == '\t' || c == '\n')
            put(b, "%c", c);
    }
}

static void elem(sbuf_t *b, const char *indent, const char *name, const char *text)
{
    put(b, "%s<%s>", indent, name);
    put_text(b, text);
    put(b, "</%s>\n", name);
}

/* CAP dateTime: "2002-05-24T16:49:00-07:00"; the standard forbids "Z"
 * (section 3.3.2), so UTC is written +00:00. */
void qc_cap_time(int64_t ms, char *out, size_t outsz)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

void qc_cap_identifier(const char *alert_id, int rev, char *out, size_t outsz)
{
    snprintf(out, outsz, "quakecast-%s-%d", alert_id, rev);
}

static void info(sbuf_t *b, const qc_cap_msg_t *m, bool ro)
{
    const qc_event_t *e = m->ev;
    bool cancel = m->kind == QC_JOB_CANCEL;
    qc_quake_t q = { .model = m->model, .lat = e->lat, .lon = e->lon,
                     .depth_km = e->depth_km > 0 ? e->depth_km : 0, .mag = e->mag };
    /* The area where intensity QC_CAP_AREA_MMI or more is predicted: the
     * reach along each bearing. Severity from the strongest shaking
     * predicted anywhere (a regional model's peak need not be at the
     * epicentre: Vrancea shakes Bucharest harder). */
    double reach[QC_CAP_BEARINGS], radius = -1.0, mmi = qc_ipe_at(&q, e->lat, e->lon);
    for (int k = 0; k < QC_CAP_BEARINGS; k++) {
        double az = 360.0 * k / QC_CAP_BEARINGS;
        reach[k] = qc_ipe_reach_km(&q, az, QC_CAP_AREA_MMI, QC_CAP_MAX_KM);
        if (reach[k] > radius)
            radius = reach[k];
        for (double dkm = 10.0; dkm <= reach[k]; dkm += 10.0) {
            double la, lo;
            qc_geo_destination(e->lat, e->lon, az, dkm, &la, &lo);
            double v = qc_ipe_at(&q, la, lo);
            if (v > mmi)
                mmi = v;
        }
    }
    const char *severity = cancel ? "Minor" : mmi >= 8 ? "Extreme" : mmi >= 6 ? "Severe" : mmi >= 4 ? "Moderate" : "Minor";
    char t[40], exp[40], buf[512];
    put(b, "  <info>\n");
    elem(b, "    ", "language", ro ? "ro-RO" : "en-US");
    elem(b, "    ", "category", "Geo");
    elem(b, "    ", "event", ro ? "Cutremur" : "Earthquake");
    elem(b, "    ", "responseType", cancel ? "AllClear" : "Shelter");
    elem(b, "    ", "urgency", cancel ? "Past" : "Immediate");
    elem(b, "    ", "severity", severity);
    elem(b, "    ", "certainty", cancel ? "Unlikely" : e->status == QC_EV_REVIEWED ? "Observed" : "Likely");
    put(b, "    <eventCode>\n");
    elem(b, "      ", "valueName", "quakecast:event_id");
    snprintf(buf, sizeof buf, "%s:%s", e->source, e->id);
    elem(b, "      ", "value", buf);
    put(b, "    </eventCode>\n");
    qc_cap_time(e->origin_ms, t, sizeof t);
    elem(b, "    ", "onset", t);
    qc_cap_time(m->expires_ms, exp, sizeof exp);
    elem(b, "    ", "expires", exp);
    elem(b, "    ", "senderName", m->sender_name);
    const char *place = e->place[0] ? e->place : (ro ? "regiunea epicentrala" : "the epicentral region");
    if (cancel)
        snprintf(buf, sizeof buf, ro ? "ANULAT: avertizarea de cutremur M%.1f %s" : "CANCELLED: earthquake warning M%.1f %s",
                 e->mag, place);
    else
        snprintf(buf, sizeof buf, ro ? "Cutremur M%.1f %s: zguduire puternica posibila" : "Earthquake M%.1f %s: strong shaking possible",
                 e->mag, place);
    elem(b, "    ", "headline", buf);
    if (cancel)
        snprintf(buf, sizeof buf, ro ? "Avertizarea a fost retrasa de sursa ei. Nu sunt asteptate zguduiri de la acest eveniment."
                                     : "The warning was retracted by its source. No shaking is expected from this event.");
    else
        snprintf(buf, sizeof buf,
                 ro ? "Cutremur de magnitudine %.1f la %.0f km adancime, %s. Intensitate prezisa pana la %s; "
                      "resimtit pana la ~%.0f km (model %s)."
                    : "Magnitude %.1f earthquake at %.0f km depth, %s. Predicted intensity up to %s; "
                      "felt up to about %.0f km away (model %s).",
                 e->mag, e->depth_km, place, qc_ipe_mmi_roman(mmi), radius > 0 ? radius : 0.0,
                 qc_ipe_model_name(m->model));
    elem(b, "    ", "description", buf);
    if (!cancel)
        elem(b, "    ", "instruction", ro ? "Apleaca-te, acopera-te, tine-te! Departe de ferestre; nu iesi pana nu se opreste."
                                          : "Drop, Cover, Hold On! Stay away from windows; do not go outside until the shaking stops.");
    static const char *const names[] = { "Magnitude", "MagnitudeType", "DepthKm", "OriginTime", "Latitude",
                                         "Longitude", "IntensityModel", "TectonicRegime" };
    char vals[8][48];
    snprintf(vals[0], sizeof vals[0], "%.1f", e->mag);
    snprintf(vals[1], sizeof vals[1], "%s", e->mag_type[0] ? e->mag_type : "unknown");
    snprintf(vals[2], sizeof vals[2], "%.1f", e->depth_km);
    snprintf(vals[3], sizeof vals[3], "%s", t);
    snprintf(vals[4], sizeof vals[4], "%.4f", e->lat);
    snprintf(vals[5], sizeof vals[5], "%.4f", e->lon);
    snprintf(vals[6], sizeof vals[6], "%s", qc_ipe_model_name(m->model));
    snprintf(vals[7], sizeof vals[7], "%s", m->regime ? m->regime : "unknown");
    for (int i = 0; i < 8; i++) {
        put(b, "    <parameter>\n");
        elem(b, "      ", "valueName", names[i]);
        elem(b, "      ", "value", vals[i]);
        put(b, "    </parameter>\n");
    }
    put(b, "    <area>\n");
    elem(b, "      ", "areaDesc", place);
    if (qc_ipe_model_isotropic(m->model) || radius <= 0) {
        /* circle: "lat,lon radius" in WGS 84 degrees and kilometres (3.2.4) */
        snprintf(buf, sizeof buf, "%.4f,%.4f %.1f", e->lat, e->lon, radius > 0 ? radius : 1.0);
        elem(b, "      ", "circle", buf);
    } else {
        /* polygon: the reach along each bearing, "lat,lon" pairs, the first
         * repeated last (3.2.4: at least four pairs, closed) */
        char poly[QC_CAP_BEARINGS * 24 + 32];
        size_t n = 0;
        for (int k = 0; k <= QC_CAP_BEARINGS && n < sizeof poly; k++) {
            int i = k % QC_CAP_BEARINGS;
            double la = e->lat, lo = e->lon;
            if (reach[i] > 0)
                qc_geo_destination(e->lat, e->lon, 360.0 * i / QC_CAP_BEARINGS, reach[i], &la, &lo);
            int w = snprintf(poly + n, sizeof poly - n, "%s%.4f,%.4f", k ? " " : "", la, lo);
            if (w < 0)
                break;
            n += (size_t)w;
        }
        elem(b, "      ", "polygon", poly);
    }
    put(b, "    </area>\n");
    put(b, "  </info>\n");
}

char *qc_cap_build(const qc_cap_msg_t *m, size_t *len)
{
    sbuf_t b = { 0 };
    char id[64], sent[40];
    qc_cap_identifier(m->alert_id, m->rev, id, sizeof id);
    qc_cap_time(m->sent_ms, sent, sizeof sent);
    put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n");
    elem(&b, "  ", "identifier", id);
    elem(&b, "  ", "sender", m->sender);
    elem(&b, "  ", "sent", sent);
    elem(&b, "  ", "status", m->exercise ? "Exercise" : "Actual");
    elem(&b, "  ", "msgType", m->kind == QC_JOB_CANCEL ? "Cancel" : m->kind == QC_JOB_UPDATE ? "Update" : "Alert");
    elem(&b, "  ", "scope", "Public");
    if (m->exercise)
        elem(&b, "  ", "note", "Drill (replayed event): not a real earthquake");
    if (m->references && m->references[0])
        elem(&b, "  ", "references", m->references);
    info(&b, m, false);
    info(&b, m, true);
    put(&b, "</alert>\n");
    if (b.bad) {
        free(b.s);
        return NULL;
    }
    *len = b.len;
    return b.s;
}
