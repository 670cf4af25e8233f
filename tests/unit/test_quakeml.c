/* test_quakeml.c: the QuakeML parser against every document in
 * tests/data/quakeml/ (see the README there) and against crafted quirks and
 * hostile input.
 *
 * Expected values were read from the files with python3's xml.etree and
 * datetime (origin and magnitude chosen by the rules in quakeml.c, depth
 * converted from metres by hand), not from this parser's output. */
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

#define DATA_DIR "tests/data/quakeml/"

#define AUTO QC_EV_AUTOMATIC
#define REV QC_EV_REVIEWED

static const ft_expect_t expects[] = {
    /* INGV fdsnws: preferred magnitude ML 1.3 of two; version = the
     * magnitude's creationTime 2021-01-01T02:55:39, the latest */
    { "ingv_fdsnws_20210101-010910__25883521__INGV-EVENT.qml", 0, "25883521", "ingv",
      1609463350220LL, 42.8343, 13.1877, 8.4, true, 1.3, "ml", "earthquake", REV,
      1609469739000LL, "7 km SE Castelsantangelo sul Nera (MC)", false, NULL },
    /* origin creationTime 2021-01-05T08:54:03 (version 200 of it) */
    { "ingv_fdsnws_20210101-021358__25883901__INGV-EVENT.qml", 0, "25883901", "ingv",
      1609467238519LL, 40.827333, 14.133667, 1.64, true, 1.0, "md", "earthquake", REV,
      1609836843000LL, "4 km SE Pozzuoli (NA)", false, NULL },
    /* IRIS ws/event: depth in km (29.0, 9.0), times without a zone, no
     * evaluation mode, no creationTime */
    { "obspy_iris_events_tohoku2011.xml", 0, "3279407", "iris.edu", 1299822384120LL, 38.297,
      142.373, 29.0, true, 9.1, "mw", "earthquake", AUTO, 1299822384120LL,
      "NEAR EAST COAST OF HONSHU, JAPAN", false, NULL },
    { "obspy_iris_events_tohoku2011.xml", 1, "2318174", "iris.edu", 1157862393610LL, 9.614,
      121.961, 9.0, true, 9.8, "ms", "earthquake", AUTO, 1157862393610LL, "SULU SEA", false,
      NULL },
    /* QuakeML 1.0 (NERIES): type "null", depth in metres, "+00:00" zone,
     * source from agencyURI ".../organization/EMSC" */
    { "obspy_neries_emsc_events_quakeml1.0.xml", 0, "20120404_0000041", "emsc", 1333549302300LL,
      41.818, 79.689, 1.0, true, 4.4, "mb", "earthquake", REV, 1333557650000LL, "KYRGYZSTAN",
      false, NULL },
    { "obspy_neries_emsc_events_quakeml1.0.xml", 1, "20120404_0000038", "emsc", 1333549117000LL,
      39.342, 41.044, 14.4, true, 4.3, "ml", "earthquake", REV, 1333557650000LL,
      "EASTERN TURKEY", false, NULL },
    { "obspy_neries_emsc_events_quakeml1.0.xml", 2, "20120404_0000039", "emsc", 1333548526000LL,
      38.017, 37.736, 7.0, true, 3.0, "ml", "earthquake", REV, 1333557650000LL,
      "CENTRAL TURKEY", false, NULL },
    /* the preferred ones are the second origin (2012-12-12) and magnitude (2) */
    { "obspy_preferred.xml", 0, "3279407", "iris.edu", 1355291184120LL, 38.297, 142.373, 29.0,
      true, 2.0, "mw", "earthquake", AUTO, 1355291184120LL, "NEAR EAST COAST OF HONSHU, JAPAN",
      false, NULL },
    /* the specification's example: 155.5297 m, as the standard says */
    { "obspy_qml-example-1.2-RC3_spec.xml", 0, "2806038g", "nz.org.geonet", 1192027239055LL,
      -38.28462, 176.00703, 0.1555297, true, 3.662, "ml", "earthquake", REV, 1192027239055LL, "",
      false, NULL },
    /* a mining explosion is returned with its type; version = the
     * magnitude's creationTime 2025-11-20T09:14:10.766538Z */
    { "obspy_rses_quarryblast_mining_explosion.xml", 0, "230826094944/-32.73/116.39", "rses",
      1693043383871LL, -32.7399, 116.3876, 1.4625, true, 2.64, "mlv", "mining explosion", REV,
      1763630050766LL, "Western Australia", false, NULL },
    /* ComCat: ids from catalog:eventsource + eventid, USGS's spelling
     * "quarry_blast" kept, depth 10 m */
    { "obspy_usgs_event_ci37285320.xml", 0, "ci37285320", "ci", 1415233482240LL, 35.0476667,
      -117.6623333, 0.01, true, 1.54, "ml", "quarry_blast", REV, 1415311367340LL, "", false,
      NULL },
    { "obspy_usgs_event_ci37285320.xml", 1, "uw60916552", "uw", 1415999268200LL, 42.138,
      -120.2807, 0.0, true, 1.6, "md", "quarry", REV, 1416492088031LL, "", false, NULL },
    /* no magnitude at all; the second hypocentre is 1865 m above sea level */
    { "obspy_westaus_events_rses.xml", 0, "200828VEqeMv", "rses", 1598596003312LL, -32.39879,
      116.256529, 2.583, false, 0.0, "", "earthquake", AUTO, 1642762761926LL, "", false, NULL },
    { "obspy_westaus_events_rses.xml", 1, "200828otwrPi", "rses", 1598654836255LL, -30.343448,
      117.710643, -1.865, false, 0.0, "", "earthquake", AUTO, 1642762761926LL, "", false, NULL },
    /* no preferred ids: the origin the only magnitude refers to (BINDER,
     * manual/reviewed here, automatic/preliminary in the moment tensor) */
    { "usgs_product_focal-mechanism_nc72852151_fm1_quakeml.xml", 0, "nc72852151", "nc",
      1501286558870LL, 40.7636681, -125.1918335, 4.54, true, 5.07, "mw", "earthquake", REV,
      1501289356000LL, "", false, NULL },
    { "usgs_product_moment-tensor_nc72852151_mt1_quakeml.xml", 0, "nc72852151", "nc",
      1501286558870LL, 40.7636681, -125.1918335, 4.54, true, 5.07, "mw", "earthquake", AUTO,
      1501286851000LL, "", false, NULL },
    /* the deep Bolivia 1994 event, 631.3 km */
    { "usgs_product_origin_usp0006dzc_quakeml.xml", 0, "usp0006dzc", "us", 771121996230LL,
      -13.841, -67.553, 631.3, true, 8.2, "mw", "earthquake", REV, 771121996230LL, "", false,
      NULL },
    /* 1374 picks; its descriptions are a region number and a felt report,
     * neither a place */
    { "usgs_product_phase-data_usp0006dzc_quakeml_large.xml", 0, "usp0006dzc", "us",
      771121996230LL, -13.841, -67.553, 631.3, true, 8.2, "mw", "earthquake", REV,
      771121996230LL, "", false, NULL },
};

static void test_files(void)
{
    ft_check_files(qc_feed_quakeml_parse, DATA_DIR, expects, sizeof(expects) / sizeof(expects[0]));
}

#define QML_HEAD "<?xml version=\"1.0\"?>\n" \
    "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\" " \
    "xmlns=\"http://quakeml.org/xmlns/bed/1.2\"><eventParameters publicID=\"smi:x/ep\">"
#define QML_TAIL "</eventParameters></q:quakeml>"
#define ORIGIN(t, lat, lon, dep) "<origin publicID=\"smi:x/o1\"><time><value>" t "</value></time>" \
    "<latitude><value>" lat "</value></latitude><longitude><value>" lon "</value></longitude>" \
    "<depth><value>" dep "</value></depth>"

/* Upper-case statuses, a negative magnitude, an explicit rejection, the
 * "not existing" type, no type at all, a missing depth, the bed-rt
 * namespace, an unqualified root prefix. */
static void test_quirks(void)
{
    qc_event_t ev;

    if (ft_parse_one(qc_feed_quakeml_parse, QML_HEAD
                     "<event publicID=\"smi:org.gfz-potsdam.de/geofon/gfz2021abcd\">"
                     ORIGIN("2021-05-02T12:34:56.5+02:00", "45.5", "26.5", "-500")
                     "<evaluationMode>MANUAL</evaluationMode></origin>"
                     "<magnitude publicID=\"smi:x/m1\"><mag><value>-0.4</value></mag>"
                     "<type>ML</type></magnitude></event>" QML_TAIL, &ev)) {
        CHECK_STR(ev.id, "org.gfz-potsdam.de/geofon/gfz2021abcd");
        CHECK_STR(ev.source, "org.gfz-potsdam.de");
        CHECK_INT(ev.origin_ms, 1619951696500LL);
        CHECK_NEAR(ev.depth_km, -0.5, 1e-12);
        CHECK(ev.has_mag);
        CHECK_NEAR(ev.mag, -0.4, 1e-12);
        CHECK_STR(ev.mag_type, "ml");
        CHECK_STR(ev.type, "earthquake"); /* no <type> */
        CHECK_INT(ev.status, QC_EV_REVIEWED);
        CHECK_INT(ev.version, ev.origin_ms);
    }

    if (ft_parse_one(qc_feed_quakeml_parse, QML_HEAD
                     "<event publicID=\"quakeml:eu.emsc/event/20210502_0000083\"><type>earthquake</type>"
                     ORIGIN("2021-05-02T12:00:00Z", "1", "2", "3000")
                     "<evaluationStatus>REJECTED</evaluationStatus></origin></event>" QML_TAIL, &ev)) {
        CHECK_STR(ev.id, "20210502_0000083");
        CHECK_STR(ev.source, "eu.emsc");
        CHECK_INT(ev.status, QC_EV_DELETED);
        CHECK(!ev.has_mag);
    }

    if (ft_parse_one(qc_feed_quakeml_parse, QML_HEAD
                     "<event publicID=\"smi:x/event/7\"><type>not existing</type>"
                     "<creationInfo><agencyID>XX</agencyID><creationTime>2021-05-03T00:00:00Z"
                     "</creationTime></creationInfo>"
                     "<origin publicID=\"smi:x/o1\"><time><value>2021-05-02T12:00:00Z</value></time>"
                     "<latitude><value>1</value></latitude><longitude><value>2</value></longitude>"
                     "</origin></event>" QML_TAIL, &ev)) {
        CHECK_STR(ev.id, "7");
        CHECK_STR(ev.source, "xx");
        CHECK_STR(ev.type, "not existing");
        CHECK_INT(ev.status, QC_EV_DELETED);
        CHECK_NEAR(ev.depth_km, 10.0, 1e-12); /* no depth: the default */
        CHECK_INT(ev.version, 1620000000000LL);
    }

    /* the real-time namespace, an empty <mag><value/> (a null magnitude),
     * and a dangling preferredOriginID (the first origin is taken) */
    if (ft_parse_one(qc_feed_quakeml_parse,
                     "<quakeml xmlns=\"http://quakeml.org/xmlns/quakeml/1.2\">"
                     "<eventParameters xmlns=\"http://quakeml.org/xmlns/bed-rt/1.2\" publicID=\"smi:a/b\">"
                     "<event publicID=\"smi:a/event/e1\"><preferredOriginID>smi:gone</preferredOriginID>"
                     ORIGIN("2000-01-01T00:00:00", "-10", "-20", "33000") "</origin>"
                     "<magnitude publicID=\"smi:a/m\"><mag><value></value></mag></magnitude>"
                     "</event></eventParameters></quakeml>", &ev)) {
        CHECK_STR(ev.id, "e1");
        CHECK_INT(ev.origin_ms, 946684800000LL);
        CHECK_NEAR(ev.depth_km, 33.0, 1e-12);
        CHECK(!ev.has_mag);
    }

    /* an id longer than the field keeps its specific end */
    if (ft_parse_one(qc_feed_quakeml_parse, QML_HEAD
                     "<event publicID=\"smi:a/very/long/path/that/has/no/evt/marker/in/it/at/all/"
                     "and/goes/on/and/on/12345\">"
                     ORIGIN("2000-01-01T00:00:00Z", "0", "0", "0") "</origin></event>" QML_TAIL, &ev)) {
        CHECK_INT(strlen(ev.id), 63);
        CHECK(strstr(ev.id, "on/and/on/12345") != NULL);
    }
}

static void test_empty_catalog(void)
{
    qc_event_t *evs = NULL;
    size_t n = 7;
    char err[256] = "";
    int rc = ft_parse_str(qc_feed_quakeml_parse, QML_HEAD QML_TAIL, &evs, &n, err, sizeof(err));

    CHECK_INT(rc, 0);
    CHECK_INT(n, 0);
    CHECK(evs == NULL);
}

/* External entities, entity expansion, network: refused before anything
 * is fetched or expanded. */
static void test_hostile(void)
{
    ft_refuse_str(qc_feed_quakeml_parse,
                  "<?xml version=\"1.0\"?><!DOCTYPE q [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                  "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\">&x;</q:quakeml>",
                  QC_ERR_PARSE, "DOCTYPE");
    ft_refuse_str(qc_feed_quakeml_parse,
                  "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                  "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
                  "<lolz>&lol3;</lolz>", QC_ERR_PARSE, "DOCTYPE");
    ft_refuse_str(qc_feed_quakeml_parse,
                  "<!DOCTYPE q:quakeml SYSTEM \"http://example.invalid/q.dtd\">"
                  "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\"/>",
                  QC_ERR_PARSE, "DOCTYPE");
    /* an undeclared entity is a well-formedness error, nothing fetched */
    ft_refuse_str(qc_feed_quakeml_parse,
                  "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\">&ext;</q:quakeml>",
                  QC_ERR_PARSE, "not well-formed");
    /* XInclude is not processed: the include element is just unknown */
    ft_refuse_str(qc_feed_quakeml_parse,
                  "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\" "
                  "xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"/etc/passwd\"/>"
                  "</q:quakeml>", QC_ERR_INVAL, "no eventParameters");
}

static void test_too_big(void)
{
    size_t len = 16u * 1024u * 1024u + 1;
    char *big = malloc(len);
    qc_event_t *evs = NULL;
    size_t n = 3;
    char err[256] = "";
    int rc;

    CHECK(big != NULL);
    if (!big)
        return;
    memset(big, ' ', len);
    rc = qc_feed_quakeml_parse(big, len, &evs, &n, err, sizeof(err));
    ft_check_refused(rc, evs, n, err, QC_ERR_TOOBIG, "over the limit", "17 MB of spaces");
    free(big);
}

static void test_invalid(void)
{
    ft_refuse_str(qc_feed_quakeml_parse, "", QC_ERR_PARSE, "empty");
    ft_refuse_str(qc_feed_quakeml_parse, "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\">",
                  QC_ERR_PARSE, "not well-formed");
    ft_refuse_str(qc_feed_quakeml_parse, "{\"type\": \"FeatureCollection\"}", QC_ERR_PARSE,
                  "not well-formed");
    ft_refuse_str(qc_feed_quakeml_parse, "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/>",
                  QC_ERR_PARSE, "not QuakeML 1.2 or 1.0: root element <alert>");
    ft_refuse_str(qc_feed_quakeml_parse, "<quakeml xmlns=\"http://quakeml.org/xmlns/quakeml/2.0\"/>",
                  QC_ERR_PARSE, "not QuakeML 1.2 or 1.0");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\"/>" QML_TAIL,
                  QC_ERR_INVAL, "event 0 (1): no origin");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event/>" QML_TAIL, QC_ERR_INVAL, "no publicID");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\">"
                  ORIGIN("2021-05-02T12:00:00Z", "91", "2", "3") "</origin></event>" QML_TAIL,
                  QC_ERR_INVAL, "latitude out of range");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\">"
                  ORIGIN("2021-05-02T12:00:00Z", "1", "2", "3000000000") "</origin></event>" QML_TAIL,
                  QC_ERR_INVAL, "depth out of range");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\">"
                  ORIGIN("yesterday", "1", "2", "3") "</origin></event>" QML_TAIL,
                  QC_ERR_INVAL, "origin time");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\">"
                  ORIGIN("2021-05-02T12:00:00Z", "nan", "2", "3") "</origin></event>" QML_TAIL,
                  QC_ERR_INVAL, "latitude/value");
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\">"
                  ORIGIN("2021-05-02T12:00:00Z", "1", "2", "3") "</origin>"
                  "<magnitude publicID=\"smi:m\"><mag><value>big</value></mag></magnitude></event>"
                  QML_TAIL, QC_ERR_INVAL, "mag/value is not a number");
    /* a type that does not fit could hide "quarry blast ..." */
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD "<event publicID=\"smi:x/event/1\">"
                  "<type>quarry blast of a very long and particular kind</type>"
                  ORIGIN("2021-05-02T12:00:00Z", "1", "2", "3") "</origin></event>" QML_TAIL,
                  QC_ERR_INVAL, "type longer than");
    /* one bad event fails the document, naming it */
    ft_refuse_str(qc_feed_quakeml_parse, QML_HEAD
                  "<event publicID=\"smi:x/event/1\">" ORIGIN("2021-05-02T12:00:00Z", "1", "2", "3")
                  "</origin></event><event publicID=\"smi:x/event/2\">"
                  ORIGIN("2021-05-02T12:00:00Z", "1", "200", "3") "</origin></event>" QML_TAIL,
                  QC_ERR_INVAL, "event 1 (2): longitude out of range");
}

QC_TESTS(QC_CASE(test_files), QC_CASE(test_quirks), QC_CASE(test_empty_catalog),
         QC_CASE(test_hostile), QC_CASE(test_too_big), QC_CASE(test_invalid))
