/* test_shakealert.c: the ShakeAlert parser against every document in
 * tests/data/shakealert/ (see the README there: DM event messages,
 * eqinfo2gm contour and map messages, a system status message) and against
 * crafted messages.
 *
 * Expected values were read from the files by eye (core_info and the
 * event_message attributes); times converted with python3's datetime. */
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

#define DATA_DIR "tests/data/shakealert/"

#define AUTO QC_EV_AUTOMATIC

/* Napa 2014-08-24T10:20:44.379Z, 38.2084 -122.2845, 8 km, Mw 5.7 */
#define NAPA "2014_Napa_M5.7", "shakealert", 1408875644379LL, 38.2084, -122.2845, 8.0, true, \
    5.7, "mw", "earthquake", AUTO
/* Loma Prieta 1989-10-17T05:04:00.000Z (written with a trailing space),
 * 37.04 -121.88, 5 km, Mw "6.9 " */
#define LOMA "1989_LomaPrieta_M6.9", "shakealert", 624603840000LL, 37.04, -121.88, 5.0, true, \
    6.9, "mw", "earthquake", AUTO

static const ft_expect_t expects[] = {
    /* all but the Vancouver message are category="test"; version = the
     * message timestamp */
    { "dm_event_message_1989_LomaPrieta_M6.9_new.xml", 0, LOMA, 624603844000LL, "", true, NULL },
    { "dm_event_message_2014_Napa_M5.7_new.xml", 0, NAPA, 1408875649529LL, "", true, NULL },
    /* category="live", message_type="update", version="1" */
    { "eqinfo2gm_contour_1946Vancouver_M7.3_update_v1.xml", 0, "01", "shakealert",
      1622561880000LL, 49.76, -125.34, 8.0, true, 7.3, "mw", "earthquake", AUTO,
      1622636846189LL, "", false, NULL },
    { "eqinfo2gm_contour_1989_LomaPrieta_M6.9.xml", 0, LOMA, 624603844000LL, "", true, NULL },
    { "eqinfo2gm_contour_2014_LaHabra_M5.1_test.xml", 0, "2014_LaHabra_M5.1", "shakealert",
      1396066182131LL, 33.9454, -117.9237, 8.0, true, 5.1, "mw", "earthquake", AUTO,
      1396066186131LL, "", true, NULL },
    { "eqinfo2gm_contour_2014_Napa_M5.7.xml", 0, NAPA, 1408875648379LL, "", true, NULL },
    /* timestamp with two fraction digits: 12:00:29.04Z */
    { "eqinfo2gm_contour_SYN_CascadiaShallow_M9.3.xml", 0, "SYN_CascadiaShallow_M9.3",
      "shakealert", 1381406400000LL, 49.2529, -127.6447, 21.353, true, 7.71, "mw", "earthquake",
      AUTO, 1381406429040LL, "", true, NULL },
    /* 2026 grid points after core_info: only core_info is read */
    { "eqinfo2gm_map_2014_Napa_M5.7_large.xml", 0, NAPA, 1408875648379LL, "", true, NULL },
};

static void test_files(void)
{
    ft_check_files(qc_feed_shakealert_parse, DATA_DIR, expects,
                   sizeof(expects) / sizeof(expects[0]));
    ft_refuse_file(qc_feed_shakealert_parse, DATA_DIR, "system_status.xml", QC_ERR_INVAL,
                   "shakealert: system_status message (a heartbeat), not an event");
}

#define CORE(id, extra) "<core_info id=\"" id "\"><mag units=\"Mw\">4.5</mag>" \
    "<lat units=\"deg\">45.75</lat><lon units=\"deg\">26.6</lon>" extra \
    "<orig_time units=\"UTC\">2026-11-25T18:00:00.000Z</orig_time></core_info>"

static void test_messages(void)
{
    qc_event_t ev;

    /* a deletion; no timestamp: origin time + version; depth in metres */
    if (ft_parse_one(qc_feed_shakealert_parse,
                     "<event_message category=\"live\" message_type=\"delete\" orig_sys=\"dm\" "
                     "version=\"3\">" CORE("1234", "<depth units=\"m\">90000</depth>")
                     "</event_message>", &ev)) {
        CHECK_STR(ev.id, "1234");
        CHECK_INT(ev.status, QC_EV_DELETED);
        CHECK(!ev.test);
        CHECK_INT(ev.version, 1795629600000LL + 3);
        CHECK_NEAR(ev.depth_km, 90.0, 1e-12);
    }
    /* no depth at all: the default; upper-case attribute values */
    if (ft_parse_one(qc_feed_shakealert_parse,
                     "<event_message category=\"TEST\" message_type=\"NEW\" "
                     "timestamp=\"2026-11-25T18:00:04Z\">" CORE("x", "") "</event_message>", &ev)) {
        CHECK_NEAR(ev.depth_km, 10.0, 1e-12);
        CHECK(ev.test);
        CHECK_INT(ev.status, QC_EV_AUTOMATIC);
        CHECK_INT(ev.version, 1795629604000LL);
    }
}

static void test_invalid(void)
{
    ft_refuse_str(qc_feed_shakealert_parse, "", QC_ERR_PARSE, "empty");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message>", QC_ERR_PARSE, "not well-formed");
    ft_refuse_str(qc_feed_shakealert_parse, "<alert/>", QC_ERR_PARSE,
                  "not a ShakeAlert event_message: root element <alert>");
    ft_refuse_str(qc_feed_shakealert_parse, "<!DOCTYPE event_message SYSTEM \"x.dtd\">"
                  "<event_message/>", QC_ERR_PARSE, "DOCTYPE");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message/>", QC_ERR_INVAL,
                  "event_message without core_info");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message><core_info><lat>1</lat></core_info>"
                  "</event_message>", QC_ERR_INVAL, "core_info id missing");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message><core_info id=\"a b\"/>"
                  "</event_message>", QC_ERR_INVAL, "core_info id missing");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message><core_info id=\"1\"><orig_time>"
                  "2026-11-25T18:00:00Z</orig_time><lat>x</lat></core_info></event_message>",
                  QC_ERR_INVAL, "(1): core_info lat missing or not a number");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message><core_info id=\"1\"><lat>1</lat>"
                  "</core_info></event_message>", QC_ERR_INVAL, "orig_time missing");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message>"
                  CORE("1", "<depth units=\"furlong\">3</depth>") "</event_message>",
                  QC_ERR_INVAL, "depth in unknown units");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message>"
                  CORE("1", "<depth units=\"km\">3000</depth>") "</event_message>",
                  QC_ERR_INVAL, "depth out of range");
    ft_refuse_str(qc_feed_shakealert_parse, "<event_message timestamp=\"soon\">"
                  CORE("1", "") "</event_message>", QC_ERR_INVAL, "timestamp");
}

QC_TESTS(QC_CASE(test_files), QC_CASE(test_messages), QC_CASE(test_invalid))
