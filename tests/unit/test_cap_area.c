/* test_cap_area.c: the area of a CAP message follows the model. A Vrancea
 * alert (a direction-dependent model) gets a polygon: the reach of
 * intensity IV along 36 bearings, closed, farther towards Bucharest than
 * into Transylvania; a crustal one keeps its circle. Both stay valid CAP
 * (the official OASIS schema and our data-dictionary one) and name the
 * model. */
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_write.h"
#include "feeds.h"
#include "qc/geo.h"
#include "qctest.h"

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

static int validate(const char *xsd, const char *xml, size_t len)
{
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(xsd);
    xmlSchemaPtr schema = pc ? xmlSchemaParse(pc) : NULL;
    xmlSchemaFreeParserCtxt(pc);
    if (!schema)
        return -2;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "cap.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int rc = -1;
    if (doc) {
        xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
        xmlSchemaSetValidStructuredErrors(v, quiet, NULL);
        rc = xmlSchemaValidateDoc(v, doc);
        xmlSchemaFreeValidCtxt(v);
        xmlFreeDoc(doc);
    }
    xmlSchemaFree(schema);
    return rc;
}

static qc_event_t event(double lat, double lon, double depth, double mag)
{
    qc_event_t e;
    memset(&e, 0, sizeof e);
    snprintf(e.id, sizeof e.id, "t1");
    snprintf(e.source, sizeof e.source, "us");
    e.origin_ms = 1795636800000LL;
    e.lat = lat;
    e.lon = lon;
    e.depth_km = depth;
    e.mag = mag;
    e.has_mag = true;
    snprintf(e.type, sizeof e.type, "earthquake");
    snprintf(e.place, sizeof e.place, "test");
    return e;
}

/* The polygon's vertices ("lat,lon lat,lon ..."): count, closed. */
static int polygon_points(const char *xml, double *lat, double *lon, int max)
{
    const char *p = strstr(xml, "<polygon>");
    if (!p)
        return 0;
    p += strlen("<polygon>");
    int n = 0;
    while (n < max && *p && *p != '<') {
        char *end;
        lat[n] = strtod(p, &end);
        if (*end != ',')
            return -1;
        lon[n] = strtod(end + 1, &end);
        n++;
        p = end;
        while (*p == ' ')
            p++;
    }
    return n;
}

/* The CAP alert of @p e decided with @p model, checked against both
 * schemas. @returns the XML (caller frees) or NULL. */
static char *build_valid(const qc_event_t *e, qc_ipe_model_t model, const char *regime, size_t *len)
{
    qc_cap_msg_t m = { .alert_id = "a1", .kind = QC_JOB_ALERT, .ev = e, .sent_ms = e->origin_ms + 4000,
                       .expires_ms = e->origin_ms + 600000, .sender = "quakecast.example.ro",
                       .sender_name = "test", .model = model, .regime = regime };
    char *xml = qc_cap_build(&m, len);
    CHECK(xml != NULL);
    if (xml) {
        CHECK_INT(validate("tests/data/cap_schema/cap12-dictionary.xsd", xml, *len), 0);
        CHECK_INT(validate("tests/data/cap_oasis/CAP-v1.2-schema.xsd", xml, *len), 0);
    }
    return xml;
}

static void test_vrancea_polygon(void)
{
    qc_event_t e = event(45.77, 26.76, 94, 7.4);
    size_t len;
    char *xml = build_valid(&e, QC_IPE_VRANCEA, "vrancea", &len);
    if (!xml)
        return;
    CHECK(strstr(xml, "<circle>") == NULL);
    CHECK(strstr(xml, "<value>VACAREANU2015+WGRW12</value>") != NULL);
    CHECK(strstr(xml, "<valueName>TectonicRegime</valueName>") != NULL);
    double lat[64], lon[64];
    int n = polygon_points(xml, lat, lon, 64);
    CHECK_INT(n, 37); /* 36 bearings, the first repeated */
    if (n == 37) {
        CHECK_NEAR(lat[0], lat[36], 0.0);
        CHECK_NEAR(lon[0], lon[36], 0.0);
        /* bearing 220 (towards Bucharest) against 300 (Transylvania) */
        double sw = qc_geo_distance_km(45.77, 26.76, lat[22], lon[22]);
        double nw = qc_geo_distance_km(45.77, 26.76, lat[30], lon[30]);
        CHECK(sw > 2 * nw);
    }
    /* the severity from the strongest shaking predicted anywhere */
    CHECK(strstr(xml, "<severity>Extreme</severity>") != NULL || strstr(xml, "<severity>Severe</severity>") != NULL);
    /* our own reader gets the event back */
    qc_event_t *evs = NULL;
    size_t nev = 0;
    char err[256];
    CHECK_INT(qc_feed_cap_parse(xml, len, &evs, &nev, err, sizeof err), 0);
    CHECK(nev >= 1 && evs[0].origin_ms == e.origin_ms);
    free(evs);
    free(xml);
}

static void test_crustal_circle(void)
{
    qc_event_t e = event(37.226, 37.014, 10, 7.8);
    size_t len;
    char *xml = build_valid(&e, QC_IPE_AWW12, "active_shallow", &len);
    if (!xml)
        return;
    CHECK(strstr(xml, "<polygon>") == NULL);
    CHECK(strstr(xml, "<circle>37.2260,37.0140 ") != NULL);
    CHECK(strstr(xml, "<value>AWW2012</value>") != NULL);
    free(xml);
}

QC_TESTS(QC_CASE(test_vrancea_polygon), QC_CASE(test_crustal_circle))
