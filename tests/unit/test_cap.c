/* test_cap.c: the CAP parser against every document in tests/data/cap/
 * (see the README there: one earthquake alert, one early-warning alert
 * without an epicentre, and alerts about everything but earthquakes) and
 * against crafted alerts: Cancel, Test, parameters, malformed values.
 *
 * Expected values were read from the files by eye; times converted with
 * python3's datetime; 11.8 mi = 11.8 * 1.609344 km. */
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

#define DATA_DIR "tests/data/cap/"

/* No CAP document of the data set names its origin time (the OASIS example
 * A.3 of an earthquake says "8:30 PM" only in prose), so each file is
 * refused below and the fields are checked on built documents. */

/* Every CAP document of the data set is refused, with the reason. */
static void test_refused_files(void)
{
    static const struct {
        const char *file, *reason;
    } refused[] = {
        { "alertswiss_POA-1222963954-5.xml",
          "not an earthquake alert: Falling rocks, landslide (category none)" },
        { "gdacs_tropical_cyclone_green.xml",
          "not an earthquake alert: Tropical Cyclone (category Met)" },
        { "ireland_met_eireann_smallcraft.xml",
          "not an earthquake alert: Small Craft (category Met)" },
        { "kazakhstan_kazhydromet_en.xml",
          "not an earthquake alert: Freezing rain, icing (category Met)" },
        /* three languages: the reason names the English one */
        { "macao_smg_monsoon_multilang.xml",
          "not an earthquake alert: STRONG MONSOON SIGNAL (category Met)" },
        /* an early-warning alert, but its polygons are where to warn, not
         * where the earthquake is, and it carries no magnitude */
        { "nrcan_eew_cap-cp_SYN_CascadiaShallow_M9.3_test.xml",
          "cap: (SYN_CascadiaShallow_M9.3): earthquake alert without an epicentre" },
        { "oasis_cap12_spec_example1_homeland_security.xml",
          "not an earthquake alert: Homeland Security Advisory System Update (category Security)" },
        { "oasis_cap12_spec_example2_severe_thunderstorm.xml",
          "not an earthquake alert: SEVERE THUNDERSTORM (category Met)" },
        { "oasis_cap12_spec_example4_amber_alert.xml",
          "not an earthquake alert: Child Abduction (category Rescue)" },
        /* Cyrillic event name: the reason is kept printable ASCII */
        { "russia_mecom_wind_ru.xml", "not an earthquake alert: ?????????? (category Met)" },
        /* OASIS A.3: an earthquake Update whose origin time is only in the
         * prose; its sent (and the first alert's) is when it was written */
        { "oasis_cap12_spec_example3_earthquake_update_TRI13970876.xml",
          "cap: (13970876): no origin time: neither an OriginTime parameter nor info/onset or "
          "info/effective (alert/sent is when the message was written)" },
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ft_refuse_file(qc_feed_cap_parse, DATA_DIR, refused[i].file, QC_ERR_INVAL,
                       refused[i].reason);
}

#define CAP_HEAD(status, type) "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
    "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>EQ-2.3</identifier>" \
    "<sender>alerts@infp.ro</sender><sent>2026-11-25T20:00:10+02:00</sent>" \
    "<status>" status "</status><msgType>" type "</msgType><scope>Public</scope>"
#define REFS "<references>alerts@infp.ro,EQ-2.2,2026-11-25T20:00:05+02:00 " \
    "alerts@infp.ro,EQ-2.1,2026-11-25T20:00:02+02:00</references>"
#define INFO_EQ "<info><category>Geo</category><event>Cutremur</event>" \
    "<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>"
#define PARAM(name, value) "<parameter><valueName>" name "</valueName><value>" value \
    "</value></parameter>"

/* Parameters naming everything, in the spellings networks use. */
static void test_parameters(void)
{
    qc_event_t ev;

    if (ft_parse_one(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ
                     PARAM("Origin Time", "2026-11-25T17:59:58.5Z") PARAM("Latitude", "45.7")
                     PARAM("LONGITUDE", "26.6") PARAM("Depth", "95000 m")
                     PARAM("Magnitude", "6.1") PARAM("EventID", "infp2026wxyz")
                     "<area><areaDesc>Vrancea, Romania</areaDesc></area></info></alert>", &ev)) {
        CHECK_STR(ev.id, "infp2026wxyz");
        CHECK_STR(ev.source, "infp");
        CHECK_INT(ev.origin_ms, 1795629598500LL);
        CHECK_NEAR(ev.lat, 45.7, 1e-12);
        CHECK_NEAR(ev.lon, 26.6, 1e-12);
        CHECK_NEAR(ev.depth_km, 95.0, 1e-12);
        CHECK(ev.has_mag);
        CHECK_NEAR(ev.mag, 6.1, 1e-12);
        CHECK_STR(ev.mag_type, "");
        CHECK_STR(ev.place, "Vrancea, Romania");
        CHECK_INT(ev.version, 1795629610000LL);
        CHECK_INT(ev.status, QC_EV_AUTOMATIC);
        CHECK(!ev.test);
        CHECK_STR(ev.references, "");
    }

    /* no EventID: the id is the earliest referenced alert's; the origin
     * time from info/effective; no depth: the default; SAME code EQW on an
     * English event name; the test flag from status Exercise; CAP 1.1 */
    if (ft_parse_one(qc_feed_cap_parse,
                     "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.1\"><identifier>EQ-2.3"
                     "</identifier><sender>alerts@infp.ro</sender>"
                     "<sent>2026-11-25T20:00:10+02:00</sent><status>Exercise</status>"
                     "<msgType>Update</msgType>" REFS
                     "<info><language>ro-RO</language><category>Geo</category><event>Cutremur"
                     "</event><effective>2026-11-25T20:00:01+02:00</effective><area><areaDesc>ro</areaDesc><circle>45.7,26.6 0</circle></area></info>"
                     "<info><category>Geo</category><event>Warning</event>"
                     "<effective>2026-11-25T20:00:02+02:00</effective><eventCode><valueName>SAME</valueName><value>EQW</value></eventCode>"
                     "<area><areaDesc>Vrancea</areaDesc><circle>45.8,26.7 10</circle></area>"
                     "</info></alert>", &ev)) {
        CHECK_STR(ev.id, "EQ-2.1");
        CHECK_INT(ev.origin_ms, 1795629602000LL);
        CHECK_NEAR(ev.lat, 45.8, 1e-12); /* the English info */
        CHECK_NEAR(ev.lon, 26.7, 1e-12);
        CHECK_NEAR(ev.depth_km, 10.0, 1e-12);
        CHECK(!ev.has_mag);
        CHECK(ev.test);
        CHECK_STR(ev.place, "Vrancea");
        CHECK_STR(ev.references, "alerts@infp.ro,EQ-2.2,2026-11-25T20:00:05+02:00 "
                                 "alerts@infp.ro,EQ-2.1,2026-11-25T20:00:02+02:00");
    }
}

/* A Cancel retracts: status deleted, what it cancels in references. */
static void test_cancel(void)
{
    qc_event_t ev;

    /* without info, as the standard allows */
    if (ft_parse_one(qc_feed_cap_parse, CAP_HEAD("Actual", "Cancel") REFS "</alert>", &ev)) {
        CHECK_STR(ev.id, "EQ-2.1");
        CHECK_STR(ev.source, "infp");
        CHECK_INT(ev.status, QC_EV_DELETED);
        CHECK_STR(ev.type, "earthquake");
        CHECK(!ev.has_mag);
        CHECK_NEAR(ev.lat, 0.0, 0.0);
        CHECK_NEAR(ev.lon, 0.0, 0.0);
        CHECK_INT(ev.origin_ms, 1795629602000LL);
        CHECK_INT(ev.version, 1795629610000LL);
        CHECK(strstr(ev.references, "EQ-2.1") != NULL);
    }
    /* with the earthquake info */
    if (ft_parse_one(qc_feed_cap_parse, CAP_HEAD("Test", "Cancel") REFS INFO_EQ
                     PARAM("EventID", "infp2026wxyz") PARAM("Magnitude", "4.2 Mw")
                     "<area><areaDesc>x</areaDesc><circle>45.7,26.6 0</circle></area></info>"
                     "</alert>", &ev)) {
        CHECK_STR(ev.id, "infp2026wxyz");
        CHECK_INT(ev.status, QC_EV_DELETED);
        CHECK(ev.test);
        CHECK_NEAR(ev.mag, 4.2, 1e-12);
        CHECK_STR(ev.mag_type, "mw");
    }
}

static void test_invalid(void)
{
    ft_refuse_str(qc_feed_cap_parse, "", QC_ERR_PARSE, "empty");
    ft_refuse_str(qc_feed_cap_parse, "<alert>", QC_ERR_PARSE, "not well-formed");
    ft_refuse_str(qc_feed_cap_parse, "<alert/>", QC_ERR_PARSE, "not CAP 1.2 (or 1.1): root element <alert>");
    ft_refuse_str(qc_feed_cap_parse, "<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\"/>",
                  QC_ERR_PARSE, "root element <quakeml>");
    ft_refuse_str(qc_feed_cap_parse, "<!DOCTYPE alert [<!ENTITY a \"b\">]>"
                  "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">&a;</alert>",
                  QC_ERR_PARSE, "DOCTYPE");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("System", "Alert") INFO_EQ "</info></alert>",
                  QC_ERR_INVAL, "status \"System\" is not an alert to act on");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Draft", "Alert") INFO_EQ "</info></alert>",
                  QC_ERR_INVAL, "status \"Draft\"");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Ack") "</alert>", QC_ERR_INVAL,
                  "msgType \"Ack\" is not Alert, Update or Cancel");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") "</alert>", QC_ERR_INVAL,
                  "Alert without an info block");
    /* a Cancel of a weather alert is no earthquake either */
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Cancel") REFS
                  "<info><category>Met</category><event>Fog</event></info></alert>",
                  QC_ERR_INVAL, "not an earthquake alert: Fog (category Met)");
    /* an earthquake named, but not category Geo */
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert")
                  "<info><category>Safety</category><event>Earthquake drill</event></info></alert>",
                  QC_ERR_INVAL, "not an earthquake alert");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ
                  "<area><areaDesc>x</areaDesc><circle>45.7;26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "is not \"lat,lon radius\"");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ
                  "<onset>2026-11-25T20:00:01+02:00</onset>"
                  "<area><areaDesc>x</areaDesc><circle>95.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "latitude out of range");
    /* sent is when the message was written: no origin time is refused,
     * also on an Update whose first alert's sent is referenced */
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ PARAM("Magnitude", "6.1")
                  "<area><areaDesc>x</areaDesc><circle>45.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "cap: (EQ-2.3): no origin time");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Update") REFS INFO_EQ PARAM("Magnitude", "6.1")
                  "<area><areaDesc>x</areaDesc><circle>45.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "cap: (EQ-2.1): no origin time");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ
                  "<effective>yesterday</effective><area><areaDesc>x</areaDesc>"
                  "<circle>45.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "effective is not a date-time");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ PARAM("Latitude", "45")
                  "</info></alert>", QC_ERR_INVAL, "Latitude and Longitude parameters");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ PARAM("Depth", "10 leagues")
                  "<area><areaDesc>x</areaDesc><circle>45.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "Depth parameter \"10 leagues\"");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ PARAM("Magnitude", "strong")
                  "<area><areaDesc>x</areaDesc><circle>45.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "Magnitude parameter \"strong\" is not a number");
    ft_refuse_str(qc_feed_cap_parse, CAP_HEAD("Actual", "Alert") INFO_EQ
                  PARAM("OriginTime", "at dawn")
                  "<area><areaDesc>x</areaDesc><circle>45.7,26.6 0</circle></area></info></alert>",
                  QC_ERR_INVAL, "OriginTime parameter");
    ft_refuse_str(qc_feed_cap_parse,
                  "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier>"
                  "<sent>tomorrow</sent></alert>", QC_ERR_INVAL, "sent missing or not a date-time");
}

QC_TESTS(QC_CASE(test_refused_files), QC_CASE(test_parameters),
         QC_CASE(test_cancel), QC_CASE(test_invalid))
