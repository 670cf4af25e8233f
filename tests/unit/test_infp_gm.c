/* test_infp_gm.c: the INFP ground-motion JSON parser against the document
 * in tests/data/infp_romania/ (see the README there) and against crafted
 * ones.
 *
 * Expected values were read from the file with python3's json module (all
 * 106 stations carry the same eq_* values) and datetime. */
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

#define DATA_DIR "tests/data/infp_romania/"

static const ft_expect_t expects[] = {
    /* 2014-11-22 19:14:17 UTC Vrancea, 45.8683 N 27.1517 E, 40.9 km, Mw 5.4;
     * eq_id 1416683657.0 is that time in Unix seconds */
    { "infp_groundmotion_params_20141122_Vrancea_Mw5.4_gm_1416683657.json", 0, "1416683657",
      "infp", 1416683657000LL, 45.8683, 27.1517, 40.9, true, 5.4, "mw", "earthquake",
      QC_EV_AUTOMATIC, 1416683657000LL, "", false, NULL },
};

static void test_files(void)
{
    ft_check_files(qc_feed_infp_gm_parse, DATA_DIR, expects, sizeof(expects) / sizeof(expects[0]));
}

#define STATION(name, id, origin, mw) "\"" name "_param\": {\"eq_id\": " id ", \"eq_origin\": \"" \
    origin "\", \"eq_lat\": 45.5, \"eq_lon\": 26.5, \"eq_depth\": 130.0" mw ", \"sta_name\": \"" \
    name "\", \"PGA_HNE\": 1.5}"

static void test_crafted(void)
{
    qc_event_t ev;

    /* an id given as a string, no magnitude, other members skipped */
    if (ft_parse_one(qc_feed_infp_gm_parse, "{\"version\": 2, \"stations\": [], "
                     STATION("BUC1", "\"infp2026abc\"", "2026/11/25T18:00:00.5", "") ", "
                     STATION("VRI", "\"infp2026abc\"", "2026/11/25T18:00:00.5", "") "}", &ev)) {
        CHECK_STR(ev.id, "infp2026abc");
        CHECK_INT(ev.origin_ms, 1795629600500LL);
        CHECK_NEAR(ev.depth_km, 130.0, 1e-12);
        CHECK(!ev.has_mag);
        CHECK_STR(ev.mag_type, "");
    }
    ft_refuse_str(qc_feed_infp_gm_parse, "{"
                  STATION("BUC1", "1416683657.0", "2014/11/22T19:14:17", ", \"eq_Mw\": 5.4") ", "
                  STATION("VRI", "1416683657.0", "2014/11/22T19:14:17", ", \"eq_Mw\": 5.6") "}",
                  QC_ERR_INVAL, "stations BUC1_param and VRI_param name different earthquakes");
    ft_refuse_str(qc_feed_infp_gm_parse, "{" STATION("BUC1", "1.5", "2014/11/22T19:14:17", "") "}",
                  QC_ERR_INVAL, "BUC1_param: eq_id is not a whole number");
    ft_refuse_str(qc_feed_infp_gm_parse, "{" STATION("BUC1", "7", "22.11.2014 19:14", "") "}",
                  QC_ERR_INVAL, "eq_origin is not a date-time");
    ft_refuse_str(qc_feed_infp_gm_parse, "{" STATION("BUC1", "7", "2014/11/22T19:14:17",
                  ", \"eq_Mw\": \"big\"") "}", QC_ERR_INVAL, "eq_Mw is not a number");
    ft_refuse_str(qc_feed_infp_gm_parse, "{\"A_param\": {\"eq_id\": 7}}", QC_ERR_INVAL,
                  "eq_origin missing");
    ft_refuse_str(qc_feed_infp_gm_parse, "{\"A_param\": {\"eq_id\": 7, \"eq_origin\": "
                  "\"2014/11/22T19:14:17\", \"eq_lat\": 145, \"eq_lon\": 1}}", QC_ERR_INVAL,
                  "latitude out of range");
}

static void test_invalid(void)
{
    ft_refuse_str(qc_feed_infp_gm_parse, "", QC_ERR_PARSE, "empty");
    ft_refuse_str(qc_feed_infp_gm_parse, "{", QC_ERR_PARSE, "invalid JSON");
    ft_refuse_str(qc_feed_infp_gm_parse, "[]", QC_ERR_PARSE, "top level is not a JSON object");
    ft_refuse_str(qc_feed_infp_gm_parse, "{\"type\": \"FeatureCollection\", \"features\": []}",
                  QC_ERR_PARSE, "no station object with eq_id");
}

QC_TESTS(QC_CASE(test_files), QC_CASE(test_crafted), QC_CASE(test_invalid))
