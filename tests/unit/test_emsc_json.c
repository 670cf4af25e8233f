/* test_emsc_json.c: the EMSC JSON parser against every document in
 * tests/data/emsc/ (see the README there), against EMSC's own documented
 * websocket example once its trailing comma is taken out, and against an
 * FDSN web service answer written here in the service's format.
 *
 * Expected values were read from the files by eye; times converted with
 * python3's datetime. */
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

#define DATA_DIR "tests/data/emsc/"

static const ft_expect_t expects[] = {
    /* depth from properties.depth 38.0 (the geometry says -38.0) */
    { "emsc_websocket_create_20210502_prettyprinted.json", 0, "20210502_0000100", "emsc",
      1619959564000LL, -30.07, -71.53, 38.0, true, 2.7, "ml", "earthquake", QC_EV_AUTOMATIC,
      1619960460000LL, "OFFSHORE COQUIMBO, CHILE", false, NULL },
};

static void test_files(void)
{
    ft_check_files(qc_feed_emsc_json_parse, DATA_DIR, expects,
                   sizeof(expects) / sizeof(expects[0]));
    /* EMSC's documentation example is not JSON: a comma after the last
     * member, line 28 column 5 */
    ft_refuse_file(qc_feed_emsc_json_parse, DATA_DIR,
                   "emsc_websocket_official_docstring_example_INVALID_trailing_comma.json",
                   QC_ERR_PARSE, "emsc: invalid JSON at line 28 column 5");
}

/* The documentation example with its one syntax error mended. */
static void test_docstring_mended(void)
{
    static const char bad[] = "\"unid\": \"20250305_0000090\",";
    size_t len = 0;
    char *buf = ft_read_file(DATA_DIR "emsc_websocket_official_docstring_example_INVALID_trailing_"
                             "comma.json", &len);
    char *doc, *at;
    qc_event_t ev;

    CHECK(buf != NULL);
    if (!buf)
        return;
    doc = malloc(len + 1);
    CHECK(doc != NULL);
    if (doc) {
        memcpy(doc, buf, len);
        doc[len] = '\0';
        at = strstr(doc, bad);
        CHECK(at != NULL);
        if (at) {
            at[sizeof(bad) - 2] = ' '; /* the trailing comma */
            if (ft_parse_one(qc_feed_emsc_json_parse, doc, &ev)) {
                ft_expect_t x = { "docstring example, mended", 0, "20250305_0000090", "emsc",
                                  1741167907000LL, 40.115, 28.5381, 7.0, true, 1.4, "ml",
                                  "earthquake", QC_EV_AUTOMATIC, 1741169216102LL,
                                  "WESTERN TURKEY", false, NULL };
                ft_check_event(&ev, &x);
            }
        }
        free(doc);
    }
    free(buf);
}

/* An answer of www.seismicportal.eu/fdsnws/event/1/query?format=json,
 * written here in its format (the values are made up): a null magnitude,
 * no properties.depth (the geometry's altitude is used), a mining
 * explosion, an unknown evtype, an upper-case magtype. */
static const char fdsn_answer[] =
    "{\"type\":\"FeatureCollection\",\"metadata\":{\"totalCount\":3},\"features\":["
    "{\"geometry\":{\"type\":\"Point\",\"coordinates\":[26.62,45.68,-128.0]},\"type\":\"Feature\","
    "\"id\":\"20230207_0000048\",\"properties\":{\"lastupdate\":\"2023-02-08T07:23:00.0Z\","
    "\"magtype\":\"Mw\",\"evtype\":\"ke\",\"lon\":26.62,\"auth\":\"NIEP\",\"lat\":45.68,"
    "\"unid\":\"20230207_0000048\",\"mag\":null,\"time\":\"2023-02-07T02:30:57.2Z\","
    "\"source_id\":\"1219384\",\"source_catalog\":\"EMSC-RTS\",\"flynn_region\":\"ROMANIA\"}},"
    "{\"geometry\":{\"type\":\"Point\",\"coordinates\":[23.1,45.4,-0.5]},\"type\":\"Feature\","
    "\"id\":\"20230206_0000010\",\"properties\":{\"lastupdate\":\"2023-02-06T10:24:48Z\","
    "\"magtype\":\"ml\",\"evtype\":\"km\",\"lon\":23.1,\"lat\":45.4,\"depth\":0.5,"
    "\"unid\":\"20230206_0000010\",\"mag\":-0.3,\"time\":\"2023-02-06T01:17:34.5Z\","
    "\"flynn_region\":\"ROMANIA\"}},"
    "{\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2,-3]},\"type\":\"Feature\","
    "\"id\":\"20230206_0000011\",\"properties\":{\"evtype\":\"xq\",\"lat\":2,\"lon\":1,"
    "\"depth\":3,\"unid\":\"20230206_0000011\",\"mag\":2,\"time\":\"2023-02-06T01:17:34.5\"}}]}";

static void test_fdsn_answer(void)
{
    static const ft_expect_t x[] = {
        { "fdsn answer", 0, "20230207_0000048", "emsc", 1675737057200LL, 45.68, 26.62, 128.0,
          false, 0.0, "mw", "earthquake", QC_EV_AUTOMATIC, 1675840980000LL, "ROMANIA", false,
          NULL },
        { "fdsn answer", 1, "20230206_0000010", "emsc", 1675646254500LL, 45.4, 23.1, 0.5, true,
          -0.3, "ml", "mining explosion", QC_EV_AUTOMATIC, 1675679088000LL, "ROMANIA", false,
          NULL },
        /* no lastupdate: version = origin time; no zone: UTC */
        { "fdsn answer", 2, "20230206_0000011", "emsc", 1675646254500LL, 2.0, 1.0, 3.0, true,
          2.0, "", "xq", QC_EV_AUTOMATIC, 1675646254500LL, "", false, NULL },
    };
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = ft_parse_str(qc_feed_emsc_json_parse, fdsn_answer, &evs, &n, err, sizeof(err));

    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n && i < 3; i++)
        ft_check_event(&evs[i], &x[i]);
    free(evs);
}

/* Every ISF event type code EMSC uses. */
static void test_evtypes(void)
{
    static const struct {
        const char *code, *type;
        bool quake;
    } codes[] = {
        { "ke", "earthquake", true },
        { "se", "earthquake", true },
        { "fe", "earthquake", true },
        { "de", "earthquake", true },
        { "ki", "induced or triggered event", true },
        { "si", "induced or triggered event", true },
        { "uk", "not reported", true },
        { "KE", "earthquake", true },
        { "kr", "rock burst", false },
        { "sr", "rock burst", false },
        { "km", "mining explosion", false },
        { "sm", "mining explosion", false },
        { "kh", "chemical explosion", false },
        { "sh", "chemical explosion", false },
        { "kx", "experimental explosion", false },
        { "sx", "experimental explosion", false },
        { "kn", "nuclear explosion", false },
        { "sn", "nuclear explosion", false },
        { "ls", "landslide", false },
        { "qb", "quarry blast", false },
        { "Quarry Blast", "quarry blast", false },
    };
    char doc[512];
    qc_event_t ev;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        snprintf(doc, sizeof(doc), "{\"action\":\"update\",\"data\":{\"type\":\"Feature\","
                 "\"properties\":{\"unid\":\"u1\",\"time\":\"2023-02-06T01:17:34Z\",\"lat\":1,"
                 "\"lon\":2,\"depth\":3,\"mag\":4,\"evtype\":\"%s\"}}}", codes[i].code);
        if (ft_parse_one(qc_feed_emsc_json_parse, doc, &ev)) {
            CHECK_STR(ev.type, codes[i].type);
            CHECK_INT(qc_event_is_earthquake(ev.type), codes[i].quake);
        }
    }
}

static void test_invalid(void)
{
    ft_refuse_str(qc_feed_emsc_json_parse, "", QC_ERR_PARSE, "empty");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"action\":", QC_ERR_PARSE, "invalid JSON");
    ft_refuse_str(qc_feed_emsc_json_parse, "[1,2]", QC_ERR_PARSE, "top level is not a JSON object");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"a\":1,\"a\":2}", QC_ERR_PARSE, "duplicate");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"count\": 3}", QC_ERR_PARSE, "not EMSC JSON");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"action\":\"delete\",\"data\":{}}", QC_ERR_INVAL,
                  "action is not \"create\" or \"update\"");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"action\":\"create\"}", QC_ERR_PARSE,
                  "without a \"data\" object");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"FeatureCollection\"}", QC_ERR_PARSE,
                  "without a \"features\" array");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"Feature\",\"properties\":{\"unid\":\"a b\"}}",
                  QC_ERR_INVAL, "no unid");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"Feature\",\"properties\":{\"unid\":\"u\","
                  "\"time\":1675646254500}}", QC_ERR_INVAL, "(u): properties.time missing");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"Feature\",\"properties\":{\"unid\":\"u\","
                  "\"time\":\"2023-02-06T01:17:34Z\",\"lon\":2}}", QC_ERR_INVAL, "no latitude");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"Feature\",\"properties\":{\"unid\":\"u\","
                  "\"time\":\"2023-02-06T01:17:34Z\",\"lat\":1,\"lon\":200}}", QC_ERR_INVAL,
                  "longitude out of range");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"Feature\",\"properties\":{\"unid\":\"u\","
                  "\"time\":\"2023-02-06T01:17:34Z\",\"lat\":1,\"lon\":2,\"mag\":\"5\"}}",
                  QC_ERR_INVAL, "properties.mag is not null or a number");
    ft_refuse_str(qc_feed_emsc_json_parse, "{\"type\":\"Feature\",\"properties\":{\"unid\":\"u\","
                  "\"time\":\"2023-02-06T01:17:34Z\",\"lat\":1,\"lon\":2,\"lastupdate\":\"x\"}}",
                  QC_ERR_INVAL, "lastupdate");
}

QC_TESTS(QC_CASE(test_files), QC_CASE(test_docstring_mended), QC_CASE(test_fdsn_answer),
         QC_CASE(test_evtypes), QC_CASE(test_invalid))
