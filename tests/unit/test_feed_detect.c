/* test_feed_detect.c: which parser POST /v1/events picks for a document
 * (qc_feed_detect) over every event document of tests/data/, by sniffing
 * and by Content-Type, and the refusal of documents no parser reads (the
 * USGS PAGER products of tests/data/usgs_pager/, see the README there). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds.h"
#include "qc/err.h"
#include "qc/event.h"
#include "qctest.h"
#include "feedtest.h"

/* What sniffing (no Content-Type, or a generic one) picks per file. */
static const struct {
    const char *path;
    qc_feed_format_t fmt;
} sniffed[] = {
    { "tests/data/quakeml/obspy_usgs_event_ci37285320.xml", QC_FEED_QUAKEML },
    { "tests/data/quakeml/obspy_neries_emsc_events_quakeml1.0.xml", QC_FEED_QUAKEML },
    { "tests/data/quakeml/ingv_fdsnws_20210101-021358__25883901__INGV-EVENT.qml", QC_FEED_QUAKEML },
    /* no XML declaration, everything on one line */
    { "tests/data/quakeml/usgs_product_origin_usp0006dzc_quakeml.xml", QC_FEED_QUAKEML },
    { "tests/data/cap/oasis_cap12_spec_example3_earthquake_update_TRI13970876.xml", QC_FEED_CAP },
    { "tests/data/cap/russia_mecom_wind_ru.xml", QC_FEED_CAP },
    { "tests/data/shakealert/dm_event_message_1989_LomaPrieta_M6.9_new.xml",
      QC_FEED_SHAKEALERT }, /* no XML declaration */
    { "tests/data/shakealert/eqinfo2gm_map_2014_Napa_M5.7_large.xml", QC_FEED_SHAKEALERT },
    { "tests/data/shakealert/system_status.xml", QC_FEED_SHAKEALERT },
    { "tests/data/emsc/emsc_websocket_create_20210502_prettyprinted.json", QC_FEED_EMSC_JSON },
    /* not JSON: the USGS parser, the one JSON reader before, names the error */
    { "tests/data/emsc/emsc_websocket_official_docstring_example_INVALID_trailing_comma.json",
      QC_FEED_USGS_GEOJSON },
    { "tests/data/infp_romania/infp_groundmotion_params_20141122_Vrancea_Mw5.4_gm_1416683657.json",
      QC_FEED_INFP_GM },
    { "tests/data/usgs_geojson/feed_all_day_20140414.geojson", QC_FEED_USGS_GEOJSON },
    { "tests/data/usgs_geojson/comcat_detail_ci3144585_northridge_M6.7.geojson",
      QC_FEED_USGS_GEOJSON },
    { "tests/data/usgs_geojson/comcat_query_empty_result.geojson", QC_FEED_USGS_GEOJSON },
    { "tests/data/usgs_geojson/comcat_count.json", QC_FEED_USGS_GEOJSON },
    { "tests/data/fdsn_text/obspy_events_fdsn_text.txt", QC_FEED_FDSN_TEXT },
    { "tests/data/events/vrancea_1977.geojson", QC_FEED_USGS_GEOJSON },
    { "tests/data/usgs_pager/pager_us1000778i.xml", QC_FEED_UNKNOWN },
    { "tests/data/usgs_pager/pager_alerts_us2000h8ty.json", QC_FEED_USGS_GEOJSON },
    { "tests/data/usgs_pager/pager_event_nc72852151.json", QC_FEED_USGS_GEOJSON },
};

static void test_sniffing(void)
{
    static const char *const generic[] = { NULL, "application/json", "application/xml",
                                           "text/xml; charset=utf-8",
                                           "application/x-www-form-urlencoded" };

    for (size_t i = 0; i < sizeof(sniffed) / sizeof(sniffed[0]); i++) {
        size_t len = 0;
        char *buf = ft_read_file(sniffed[i].path, &len);

        CHECK(buf != NULL);
        if (!buf)
            continue;
        for (size_t k = 0; k < sizeof(generic) / sizeof(generic[0]); k++) {
            qc_feed_format_t got = qc_feed_detect(buf, len, generic[k]);
            if (got != sniffed[i].fmt)
                fprintf(stderr, "  %s (%s): %s, expected %s\n", sniffed[i].path,
                        generic[k] ? generic[k] : "no Content-Type", qc_feed_format_name(got),
                        qc_feed_format_name(sniffed[i].fmt));
            CHECK_INT(got, sniffed[i].fmt);
        }
        free(buf);
    }
}

/* A Content-Type naming a format decides, whatever the body. */
static void test_content_type(void)
{
    static const char body[] = "<q:quakeml/>";

    CHECK_INT(qc_feed_detect(body, strlen(body), "application/geo+json"), QC_FEED_USGS_GEOJSON);
    CHECK_INT(qc_feed_detect(body, strlen(body), "text/plain"), QC_FEED_FDSN_TEXT);
    CHECK_INT(qc_feed_detect(body, strlen(body), "Text/Plain; charset=UTF-8"), QC_FEED_FDSN_TEXT);
    CHECK_INT(qc_feed_detect("{}", 2, "application/quakeml+xml"), QC_FEED_QUAKEML);
    CHECK_INT(qc_feed_detect("{}", 2, "application/cap+xml"), QC_FEED_CAP);
    CHECK_INT(qc_feed_detect(body, strlen(body), "application/xml"), QC_FEED_QUAKEML);
    CHECK_INT(qc_feed_detect(body, strlen(body), "application/jsonx"), QC_FEED_QUAKEML);
}

/* What the sniffer makes of small and odd documents. */
static void test_shapes(void)
{
    static const struct {
        const char *doc;
        qc_feed_format_t fmt;
    } shapes[] = {
        { "", QC_FEED_FDSN_TEXT },
        { "   \r\n", QC_FEED_FDSN_TEXT },
        { "#EventID|Time|Latitude|Longitude\n", QC_FEED_FDSN_TEXT },
        { "\xef\xbb\xbf<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/>", QC_FEED_CAP },
        { "<?xml version=\"1.0\"?>\n<!-- a comment -->\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n"
          "<quakeml/>", QC_FEED_QUAKEML },
        { "<cap:alert xmlns:cap=\"urn:oasis:names:tc:emergency:cap:1.2\">", QC_FEED_CAP },
        { "<event_message>", QC_FEED_SHAKEALERT },
        { "<xml/>", QC_FEED_UNKNOWN },
        { "<", QC_FEED_UNKNOWN },
        { "<?xml", QC_FEED_UNKNOWN },
        { "<!--", QC_FEED_UNKNOWN },
        { "{\"action\":\"create\",\"data\":{}}", QC_FEED_EMSC_JSON },
        { "{\"type\":\"Feature\",\"properties\":{\"unid\":\"x\"}}", QC_FEED_EMSC_JSON },
        { "{\"type\":\"Feature\",\"properties\":{\"net\":\"us\"}}", QC_FEED_USGS_GEOJSON },
        { "{\"type\":\"Feature\",\"id\":\"20210502_0000100\",\"properties\":{}}",
          QC_FEED_EMSC_JSON },
        { "{\"type\":\"Feature\",\"id\":\"us210502_0000100\",\"properties\":{}}",
          QC_FEED_USGS_GEOJSON },
        { "{\"type\":\"FeatureCollection\",\"features\":[{\"properties\":"
          "{\"source_catalog\":\"EMSC-RTS\"}}]}", QC_FEED_EMSC_JSON },
        { "{\"type\":\"FeatureCollection\",\"features\":[]}", QC_FEED_USGS_GEOJSON },
        { "{\"X_param\":{\"eq_id\":1}}", QC_FEED_INFP_GM },
        { "[{\"eq_id\":1}]", QC_FEED_USGS_GEOJSON },
        { "{\"type\":\"FeatureCollection\",\"features\":[", QC_FEED_USGS_GEOJSON },
    };

    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        size_t len = strlen(shapes[i].doc);
        char *copy = malloc(len ? len : 1);
        qc_feed_format_t got;

        CHECK(copy != NULL);
        if (!copy)
            continue;
        memcpy(copy, shapes[i].doc, len);
        got = qc_feed_detect(copy, len, NULL);
        if (got != shapes[i].fmt)
            fprintf(stderr, "  \"%s\": %s, expected %s\n", shapes[i].doc,
                    qc_feed_format_name(got), qc_feed_format_name(shapes[i].fmt));
        CHECK_INT(got, shapes[i].fmt);
        free(copy);
    }
}

/* Detection and parsing together: what POST /v1/events answers. */
static void parse_any(const char *path, int want_rc, size_t want_n, const char *reason)
{
    size_t len = 0, n = 99;
    char *buf = ft_read_file(path, &len);
    qc_event_t *evs = NULL;
    char err[256] = "";
    int rc;

    CHECK(buf != NULL);
    if (!buf)
        return;
    rc = qc_feed_parse(qc_feed_detect(buf, len, NULL), buf, len, &evs, &n, err, sizeof(err));
    if (want_rc) {
        ft_check_refused(rc, evs, n, err, want_rc, reason, path);
    } else {
        if (rc)
            fprintf(stderr, "  %s: %s\n", path, err);
        CHECK_INT(rc, 0);
        CHECK_INT(n, want_n);
        free(evs);
    }
    free(buf);
}

static void test_parse_any(void)
{
    parse_any("tests/data/quakeml/obspy_neries_emsc_events_quakeml1.0.xml", 0, 3, NULL);
    /* detected as CAP, refused for want of an origin time */
    parse_any("tests/data/cap/oasis_cap12_spec_example3_earthquake_update_TRI13970876.xml",
              QC_ERR_INVAL, 0, "no origin time");
    parse_any("tests/data/cap/oasis_cap12_spec_example4_amber_alert.xml", QC_ERR_INVAL, 0,
              "not an earthquake alert: Child Abduction");
    parse_any("tests/data/shakealert/eqinfo2gm_contour_2014_Napa_M5.7.xml", 0, 1, NULL);
    parse_any("tests/data/emsc/emsc_websocket_create_20210502_prettyprinted.json", 0, 1, NULL);
    parse_any("tests/data/infp_romania/infp_groundmotion_params_20141122_Vrancea_Mw5.4_gm_"
              "1416683657.json", 0, 1, NULL);
    parse_any("tests/data/usgs_geojson/feed_significant_week_20171211.geojson", 0, 4, NULL);
    parse_any("tests/data/fdsn_text/obspy_events_fdsn_text.txt", 0, 2, NULL);
    /* USGS PAGER products are loss estimates about an event already
     * announced, not event documents: refused with a reason */
    parse_any("tests/data/usgs_pager/pager_us1000778i.xml", QC_ERR_PARSE, 0,
              "not an event document: XML root element <pager> (expected quakeml, alert or "
              "event_message)");
    parse_any("tests/data/usgs_pager/pager_event_nc72852151.json", QC_ERR_PARSE, 0,
              "usgs geojson: not GeoJSON, top-level object has no \"type\"");
    parse_any("tests/data/usgs_pager/pager_alerts_us2000h8ty.json", QC_ERR_PARSE, 0,
              "usgs geojson: not GeoJSON, top-level object has no \"type\"");
}

static void test_names(void)
{
    CHECK_STR(qc_feed_format_name(QC_FEED_QUAKEML), "quakeml");
    CHECK_STR(qc_feed_format_name(QC_FEED_CAP), "cap");
    CHECK_STR(qc_feed_format_name(QC_FEED_SHAKEALERT), "shakealert");
    CHECK_STR(qc_feed_format_name(QC_FEED_EMSC_JSON), "emsc_json");
    CHECK_STR(qc_feed_format_name(QC_FEED_INFP_GM), "infp_gm");
    CHECK_STR(qc_feed_format_name(QC_FEED_USGS_GEOJSON), "usgs_geojson");
    CHECK_STR(qc_feed_format_name(QC_FEED_FDSN_TEXT), "fdsn_text");
    CHECK_STR(qc_feed_format_name(QC_FEED_UNKNOWN), "unknown");
}

QC_TESTS(QC_CASE(test_sniffing), QC_CASE(test_content_type), QC_CASE(test_shapes),
         QC_CASE(test_parse_any), QC_CASE(test_names))
