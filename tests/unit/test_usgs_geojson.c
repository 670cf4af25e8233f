/* test_usgs_geojson.c: the USGS GeoJSON parser against every document in
 * tests/data/usgs_geojson/ (real feeds, fdsnws query results and ComCat
 * detail documents; see the README there) and against broken input.
 *
 * Expected values were read from the files with python3's json module, not
 * from this parser's output. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds.h"
#include "qc/err.h"
#include "qc/event.h"
#include "qctest.h"

#define DATA_DIR "tests/data/usgs_geojson/"

/* Depth the parser uses when coordinates carry null (historical events). */
#define DEPTH_NULL 10.0

/* Reads a whole file into a malloc'd buffer of exactly its size, without a
 * terminating NUL, so an over-read shows under ASan. Caller frees. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out_file;
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf)
        goto out_file;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out_file;
    }
    *len = (size_t)size;
out_file:
    fclose(f);
    return buf;
}

/* Parses @p len bytes copied into a buffer of exactly that length. */
static int parse_exact(const char *doc, size_t len, qc_event_t **evs, size_t *n,
                       char *err, size_t err_size)
{
    char *copy = malloc(len ? len : 1);
    int rc;

    if (!copy)
        return QC_ERR_NOMEM;
    memcpy(copy, doc, len);
    rc = qc_feed_usgs_geojson_parse(copy, len, evs, n, err, err_size);
    free(copy);
    return rc;
}

/* Parses a NUL-terminated literal without its NUL. */
static int parse_str(const char *doc, qc_event_t **evs, size_t *n, char *err, size_t err_size)
{
    return parse_exact(doc, strlen(doc), evs, n, err, err_size);
}

static int parse_file(const char *name, qc_event_t **evs, size_t *n, char *err, size_t err_size)
{
    char path[256];
    size_t len = 0;
    char *buf;
    int rc;

    snprintf(path, sizeof(path), DATA_DIR "%s", name);
    buf = read_file(path, &len);
    if (!buf) {
        snprintf(err, err_size, "cannot read %s", path);
        return QC_ERR_IO;
    }
    rc = qc_feed_usgs_geojson_parse(buf, len, evs, n, err, err_size);
    free(buf);
    return rc;
}

/* Per file: how many events, and how many of each quirk. */
struct file_counts {
    const char *file;
    size_t events;
    size_t non_earthquakes; /* type other than "earthquake" */
    size_t negative_mags;
    size_t negative_depths;
    size_t null_depths;     /* coordinates[2] null in the file */
    size_t depths_10km;     /* coordinates[2] exactly 10 in the file */
    size_t automatic;       /* status automatic, any case */
};

static const struct file_counts file_counts[] = {
    { "comcat_detail_ci3144585_northridge_M6.7.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "comcat_detail_tohoku2011_M9.1_includesuperseded.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "comcat_detail_us10007uph_png2017_M7.9_includesuperseded.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "comcat_detail_us2000ar20_mexico2017_M7.1.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "comcat_detail_usp0006dzc_bolivia1994_deep_M8.2.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "comcat_query_empty_result.geojson",
      0, 0, 0, 0, 0, 0, 0 },
    { "comcat_query_historical_1904-1912.geojson",
      85, 0, 0, 0, 25, 2, 51 },
    { "comcat_query_negative_mags_20170101-11.geojson",
      109, 0, 66, 1, 0, 2, 0 },
    { "comcat_query_northridge_1994.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "comcat_query_ridgecrest_20190706.geojson",
      123, 0, 0, 0, 0, 6, 0 },
    { "detail_us20002926_nepal_gorkha_2015_M7.8_red_with_cap_product.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "detail_us6000f65h_haiti_nippes_2021_M7.2_red_tsunami1.geojson",
      1, 0, 0, 0, 0, 1, 0 },
    { "detail_us7000n7n8_kamchatka_M7.0_green_tsunami1.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "detail_usp0001ccb_greece_1981_M6.7_alert_null.geojson",
      1, 0, 0, 0, 0, 0, 0 },
    { "feed_4.5_day_20171129.geojson",
      5, 0, 0, 0, 0, 1, 0 },
    { "feed_4.5_month_20140321.geojson",
      409, 0, 0, 0, 0, 71, 0 },
    { "feed_all_day_20140414.geojson",
      146, 1, 0, 0, 0, 2, 95 },
    { "feed_all_hour_20171203.geojson",
      8, 0, 0, 0, 0, 0, 7 },
    { "feed_all_week_20140415.geojson",
      1513, 27, 11, 4, 0, 17, 664 },
    { "feed_significant_month_20140324.geojson",
      12, 0, 0, 0, 0, 3, 0 },
    { "feed_significant_month_20200608.geojson",
      6, 0, 0, 0, 0, 0, 0 },
    { "feed_significant_week_20171211.geojson",
      4, 0, 0, 0, 0, 0, 0 },
};

/* One event of a file, at its index in the document. */
struct expect {
    const char *file;
    size_t index;
    const char *id;
    const char *source;
    int64_t origin_ms;
    double lat, lon, depth_km;
    bool has_mag;
    double mag;
    const char *mag_type;
    const char *type;
    qc_event_status_t status;
    int64_t version;
    const char *place;
};

/* The first and last event of every file, and the first event of every
 * quirk it holds: null depth, negative magnitude, negative depth, quarry and
 * quarry_blast types, upper-case status and magType, non-ASCII place. */
static const struct expect expects[] = {
    { "comcat_detail_ci3144585_northridge_M6.7.geojson", 0, "ci3144585", "ci", 758809855390LL, 34.213, -118.537, 18.202, true, 6.7, "mw", "earthquake", QC_EV_REVIEWED, 1597400716254LL,
      "1km NNW of Reseda, CA" }, /* status "reviewed", magType "mw" */
    { "comcat_detail_tohoku2011_M9.1_includesuperseded.geojson", 0, "official20110311054624120_30", "official", 1299822384120LL, 38.297, 142.373, 29.0, true, 9.1, "mww", "earthquake", QC_EV_REVIEWED, 1613488959454LL,
      "2011 Great Tohoku Earthquake, Japan" }, /* status "reviewed", magType "mww" */
    { "comcat_detail_us10007uph_png2017_M7.9_includesuperseded.geojson", 0, "us10007uph", "us", 1485059422960LL, -6.2464, 155.1718, 135.0, true, 7.9, "mww", "earthquake", QC_EV_REVIEWED, 1594394562046LL,
      "35 km WNW of Panguna, Papua New Guinea" }, /* status "reviewed", magType "mww" */
    { "comcat_detail_us2000ar20_mexico2017_M7.1.geojson", 0, "us2000ar20", "us", 1505844878090LL, 18.5499, -98.4887, 48.0, true, 7.1, "mww", "earthquake", QC_EV_REVIEWED, 1634734870975LL,
      "1 km S of Matzaco, Mexico" }, /* status "reviewed", magType "mww" */
    { "comcat_detail_usp0006dzc_bolivia1994_deep_M8.2.geojson", 0, "usp0006dzc", "us", 771121996230LL, -13.841, -67.553, 631.3, true, 8.2, "mw", "earthquake", QC_EV_REVIEWED, 1609876628133LL,
      "55 km NNW of Reyes, Bolivia" }, /* status "reviewed", magType "mw" */
    { "comcat_query_historical_1904-1912.geojson", 0, "ushis431", "ushis", -2062116240000LL, 64.66, -148.08, DEPTH_NULL, true, 7.3, "ms", "earthquake", QC_EV_REVIEWED, 1528145024000LL,
      "21 km S of Ester, Alaska" }, /* status "reviewed", magType "ms" */
    { "comcat_query_historical_1904-1912.geojson", 1, "ushis433", "ushis", -2047389240000LL, 50.73, -178.55, DEPTH_NULL, true, 7.3, "ms", "earthquake", QC_EV_REVIEWED, 1528145024000LL,
      "184 km SW of Adak, Alaska" }, /* status "reviewed", magType "ms" */
    { "comcat_query_historical_1904-1912.geojson", 6, "iscgem16957871", "iscgem", -2029616218000LL, 38.636, 15.784, 15.0, true, 7.2, "mw", "earthquake", QC_EV_AUTOMATIC, 1594331780965LL,
      "5 km W of San Nicol\xc3" "\xb2" ", Italy" }, /* status "automatic", magType "mw" */
    { "comcat_query_historical_1904-1912.geojson", 84, "ushis541", "ushis", -1803485976000LL, 57.5, -155.0, 90.0, true, 7.3, "mb", "earthquake", QC_EV_REVIEWED, 1528145024000LL,
      "33 km WSW of Karluk, Alaska" }, /* status "reviewed", magType "mb" */
    { "comcat_query_negative_mags_20170101-11.geojson", 0, "nn00582174", "nn", 1483232476250LL, 36.7686, -116.2609, 8.4, true, -0.2, "ml", "earthquake", QC_EV_REVIEWED, 1530555485172LL,
      "47 km ESE of Beatty, Nevada" }, /* status "reviewed", magType "ml" */
    { "comcat_query_negative_mags_20170101-11.geojson", 49, "nc72748635", "nc", 1483674996100LL, 37.6443333, -119.0281667, -0.8, true, -0.26, "md", "earthquake", QC_EV_REVIEWED, 1484095449445LL,
      "4 km W of Mammoth Lakes, California" }, /* status "reviewed", magType "md" */
    { "comcat_query_negative_mags_20170101-11.geojson", 108, "nn00573339", "nn", 1484086872398LL, 36.9805, -116.4279, 8.0, true, -0.1, "ml", "earthquake", QC_EV_REVIEWED, 1530555642404LL,
      "30 km ENE of Beatty, Nevada" }, /* status "reviewed", magType "ml" */
    { "comcat_query_northridge_1994.geojson", 0, "ci3144585", "ci", 758809855390LL, 34.213, -118.537, 18.202, true, 6.7, "mw", "earthquake", QC_EV_REVIEWED, 1597400716254LL,
      "1km NNW of Reseda, CA" }, /* status "reviewed", magType "mw" */
    { "comcat_query_ridgecrest_20190706.geojson", 0, "ci37219644", "ci", 1562383884540LL, 35.6596667, -117.4853333, 5.2, true, 3.62, "mlr", "earthquake", QC_EV_REVIEWED, 1613762254935LL,
      "14km SSW of Searles Valley, CA" }, /* status "reviewed", magType "mlr" */
    { "comcat_query_ridgecrest_20190706.geojson", 46, "us70004bq1", "us", 1562385497674LL, -27.4675, -66.7251, 34.13, true, 4.8, "mb", "earthquake", QC_EV_REVIEWED, 1569508225040LL,
      "28 km SSE of Hualf\xc3" "\xad" "n, Argentina" }, /* status "reviewed", magType "mb" */
    { "comcat_query_ridgecrest_20190706.geojson", 122, "ci38460983", "ci", 1562405441240LL, 35.9098333, -117.7323333, 4.15, true, 4.49, "mw", "earthquake", QC_EV_REVIEWED, 1569508238040LL,
      "16km E of Little Lake, CA" }, /* status "reviewed", magType "mw" */
    { "detail_us20002926_nepal_gorkha_2015_M7.8_red_with_cap_product.geojson", 0, "us20002926", "us", 1429942285950LL, 28.2305, 84.7314, 8.22, true, 7.8, "mww", "earthquake", QC_EV_REVIEWED, 1724604501155LL,
      "67 km NNE of Bharatpur, Nepal" }, /* status "reviewed", magType "mww" */
    { "detail_us6000f65h_haiti_nippes_2021_M7.2_red_tsunami1.geojson", 0, "us6000f65h", "us", 1628944148454LL, 18.4335, -73.4822, 10.0, true, 7.2, "mww", "earthquake", QC_EV_REVIEWED, 1712859709220LL,
      "Nippes, Haiti" }, /* status "reviewed", magType "mww" */
    { "detail_us7000n7n8_kamchatka_M7.0_green_tsunami1.geojson", 0, "us7000n7n8", "us", 1723921826820LL, 52.9308, 160.1331, 29.0, true, 7.0, "mww", "earthquake", QC_EV_REVIEWED, 1729957759040LL,
      "102 km E of Petropavlovsk-Kamchatsky, Russia" }, /* status "reviewed", magType "mww" */
    { "detail_usp0001ccb_greece_1981_M6.7_alert_null.geojson", 0, "usp0001ccb", "us", 351896018470LL, 38.222, 22.934, 33.0, true, 6.7, "ms", "earthquake", QC_EV_REVIEWED, 1651108347661LL,
      "5 km SW of Domvra\xc3" "\xad" "na, Greece" }, /* status "reviewed", magType "ms" */
    { "feed_4.5_day_20171129.geojson", 0, "us2000bvuk", "us", 1511960077500LL, -8.6801, 123.5794, 117.93, true, 4.5, "mb", "earthquake", QC_EV_REVIEWED, 1511961240040LL,
      "92km E of Watubuku, Indonesia" }, /* status "reviewed", magType "mb" */
    { "feed_4.5_day_20171129.geojson", 4, "us2000bvpw", "us", 1511912061990LL, 13.8004, -91.7342, 35.0, true, 4.5, "mb", "earthquake", QC_EV_REVIEWED, 1511916939684LL,
      "58km SSE of Champerico, Guatemala" }, /* status "reviewed", magType "mb" */
    { "feed_4.5_month_20140321.geojson", 0, "usc000njtg", "us", 1395413151830LL, 7.5645, 94.251, 10.0, true, 5.0, "mb", "earthquake", QC_EV_REVIEWED, 1395414270675LL,
      "112km ESE of Mohean, India" }, /* status "reviewed", magType "mb" */
    { "feed_4.5_month_20140321.geojson", 165, "nc72182306", "nc", 1394447298500LL, 40.7778, -125.1915, 19.3, true, 4.5, "mw", "earthquake", QC_EV_REVIEWED, 1395380383545LL,
      "85km WNW of Ferndale, California" }, /* status "REVIEWED", magType "Mw" */
    { "feed_4.5_month_20140321.geojson", 408, "usb000n0sk", "us", 1392823953610LL, -6.5491, 129.9801, 175.88, true, 4.5, "mb", "earthquake", QC_EV_REVIEWED, 1394734032000LL,
      "213km NW of Saumlaki, Indonesia" }, /* status "reviewed", magType "mb" */
    { "feed_all_day_20140414.geojson", 0, "nc72199065", "nc", 1397474951100LL, 35.5448, -120.7958, 4.3, true, 1.7, "md", "earthquake", QC_EV_AUTOMATIC, 1397476268811LL,
      "8km W of Templeton, California" }, /* status "AUTOMATIC", magType "Md" */
    { "feed_all_day_20140414.geojson", 80, "pr14103006", "pr", 1397432629300LL, 18.1287, -66.1735, 16.0, true, 1.9, "md", "earthquake", QC_EV_REVIEWED, 1397442564974LL,
      "1km S of Parcelas Nuevas, Puerto Rico" }, /* status "REVIEWED", magType "Md" */
    { "feed_all_day_20140414.geojson", 90, "uw60740681", "uw", 1397423580000LL, 49.4012, -120.4992, 0.0, true, 2.4, "md", "quarry", QC_EV_REVIEWED, 1397433697722LL,
      "6km S of Princeton, Canada" }, /* status "REVIEWED", magType "Md" */
    { "feed_all_day_20140414.geojson", 145, "ak11225695", "ak", 1397389976000LL, 61.0659, -149.3925, 28.2, true, 1.2, "ml", "earthquake", QC_EV_REVIEWED, 1397417916415LL,
      "32km ESE of Anchorage, Alaska" }, /* status "reviewed", magType "ml" */
    { "feed_all_hour_20171203.geojson", 0, "nc72934355", "nc", 1512342790490LL, 40.3699989, -122.1271667, 7.93, true, 1.93, "md", "earthquake", QC_EV_AUTOMATIC, 1512342889220LL,
      "17km ESE of Anderson, CA" }, /* status "automatic", magType "md" */
    { "feed_all_hour_20171203.geojson", 7, "us1000bknk", "us", 1512339997990LL, 4.6172, 127.6764, 114.05, true, 4.7, "mb", "earthquake", QC_EV_REVIEWED, 1512340670040LL,
      "254km SE of Pondaguitan, Philippines" }, /* status "reviewed", magType "mb" */
    { "feed_all_week_20140415.geojson", 0, "ak11229223", "ak", 1397562567000LL, 62.1778, -150.061, 18.3, true, 1.2, "ml", "earthquake", QC_EV_AUTOMATIC, 1397563705627LL,
      "11km W of Y, Alaska" }, /* status "automatic", magType "ml" */
    { "feed_all_week_20140415.geojson", 1, "nc72199610", "nc", 1397562218400LL, 37.654, -118.9043, 5.6, true, 0.8, "md", "earthquake", QC_EV_AUTOMATIC, 1397562769786LL,
      "6km E of Mammoth Lakes, California" }, /* status "AUTOMATIC", magType "Md" */
    { "feed_all_week_20140415.geojson", 30, "pr14105009", "pr", 1397552607900LL, 17.903, -67.15, 5.0, true, 2.0, "md", "earthquake", QC_EV_REVIEWED, 1397562584182LL,
      "8km SSE of Pole Ojea, Puerto Rico" }, /* status "REVIEWED", magType "Md" */
    { "feed_all_week_20140415.geojson", 116, "uw60741231", "uw", 1397508920700LL, 44.6445, -122.4258, 0.0, true, 1.7, "md", "quarry", QC_EV_REVIEWED, 1397517975232LL,
      "12km SSE of Mill City, Oregon" }, /* status "REVIEWED", magType "Md" */
    { "feed_all_week_20140415.geojson", 247, "ci37211552", "ci", 1397458945580LL, 33.5551667, -116.7623333, 5.66, true, -0.13, "ml", "earthquake", QC_EV_REVIEWED, 1397518034670LL,
      "8km W of Anza, California" }, /* status "reviewed", magType "ml" */
    { "feed_all_week_20140415.geojson", 304, "ci37211392", "ci", 1397431737810LL, 35.0431667, -117.6728333, 0.01, true, 1.66, "ml", "quarry_blast", QC_EV_REVIEWED, 1397509761899LL,
      "5km NNW of Boron, California" }, /* status "reviewed", magType "ml" */
    { "feed_all_week_20140415.geojson", 630, "ak11223933", "ak", 1397279752000LL, 63.5286, -151.4771, -9.9, true, 0.4, "ml", "earthquake", QC_EV_REVIEWED, 1397330266703LL,
      "126km W of Cantwell, Alaska" }, /* status "reviewed", magType "ml" */
    { "feed_all_week_20140415.geojson", 1512, "nn00443114", "nn", 1396959338502LL, 38.7081, -118.5702, 8.9505, true, 1.35, "ml", "earthquake", QC_EV_REVIEWED, 1396976815000LL,
      "20km NNE of Hawthorne, Nevada" }, /* status "reviewed", magType "ml" */
    { "feed_significant_month_20140324.geojson", 0, "usc000njrq", "us", 1395409267500LL, 7.7686, 94.3248, 10.0, true, 6.5, "mwb", "earthquake", QC_EV_REVIEWED, 1395661123139LL,
      "113km E of Mohean, India" }, /* status "reviewed", magType "mwb" */
    { "feed_significant_month_20140324.geojson", 6, "nc72182046", "nc", 1394428693400LL, 40.8287, -125.1338, 16.6, true, 6.8, "mw", "earthquake", QC_EV_REVIEWED, 1395371716772LL,
      "77km WNW of Ferndale, California" }, /* status "REVIEWED", magType "Mw" */
    { "feed_significant_month_20140324.geojson", 11, "usb000mzef", "us", 1393753074830LL, 12.5555, -87.6902, 60.0, true, 6.2, "mww", "earthquake", QC_EV_REVIEWED, 1394862637735LL,
      "33km SW of Jiquilillo, Nicaragua" }, /* status "reviewed", magType "mww" */
    { "feed_significant_month_20200608.geojson", 0, "us6000a5r3", "us", 1591260579782LL, 2.9231, 128.2477, 106.86, true, 6.4, "mww", "earthquake", QC_EV_REVIEWED, 1591382921040LL,
      "134 km NNE of Tobelo, Indonesia" }, /* status "reviewed", magType "mww" */
    { "feed_significant_month_20200608.geojson", 5, "ci38488354", "ci", 1589148460370LL, 33.0183333, -116.0201667, 10.16, true, 4.54, "mw", "earthquake", QC_EV_REVIEWED, 1591291653502LL,
      "17km SE of Ocotillo Wells, CA" }, /* status "reviewed", magType "mw" */
    { "feed_significant_week_20171211.geojson", 0, "us2000c1zn", "us", 1512726670300LL, 10.009, 140.1315, 20.27, true, 6.4, "mww", "earthquake", QC_EV_REVIEWED, 1512746163040LL,
      "50km WNW of Fais, Micronesia" }, /* status "reviewed", magType "mww" */
    { "feed_significant_week_20171211.geojson", 3, "us1000bm9m", "us", 1512447998330LL, 36.3731, -97.1491, 3.3, true, 4.2, "mwr", "earthquake", QC_EV_REVIEWED, 1512943321958LL,
      "15km NE of Perry, Oklahoma" }, /* status "reviewed", magType "mwr" */
};

static bool is_automatic(const qc_event_t *ev) { return ev->status == QC_EV_AUTOMATIC; }

static void test_every_file_counts(void)
{
    for (size_t i = 0; i < sizeof(file_counts) / sizeof(file_counts[0]); i++) {
        const struct file_counts *fc = &file_counts[i];
        qc_event_t *evs = NULL;
        size_t n = 99;
        size_t nq = 0, nm = 0, nd = 0, nn = 0, na = 0;
        char err[256] = "";
        int before = qct_failures;
        int rc = parse_file(fc->file, &evs, &n, err, sizeof(err));

        CHECK_INT(rc, 0);
        CHECK_INT(n, fc->events);
        CHECK(n > 0 || evs == NULL);
        for (size_t k = 0; rc == 0 && k < n; k++) {
            const qc_event_t *ev = &evs[k];
            nq += !qc_event_is_earthquake(ev->type);
            nm += ev->has_mag && ev->mag < 0;
            nd += ev->depth_km < 0;
            nn += ev->depth_km == DEPTH_NULL;
            na += is_automatic(ev);
            CHECK(ev->id[0] != '\0');
            CHECK(ev->source[0] != '\0');
            CHECK(ev->has_mag);
            CHECK(ev->lat >= -90 && ev->lat <= 90 && ev->lon >= -180 && ev->lon <= 180);
            CHECK(ev->version >= ev->origin_ms);
        }
        CHECK_INT(nq, fc->non_earthquakes);
        CHECK_INT(nm, fc->negative_mags);
        CHECK_INT(nd, fc->negative_depths);
        /* null depths become DEPTH_NULL, on top of those at 10 km */
        CHECK_INT(nn, fc->null_depths + fc->depths_10km);
        CHECK_INT(na, fc->automatic);
        if (qct_failures != before)
            fprintf(stderr, "  in %s (rc %d: %s)\n", fc->file, rc, err);
        free(evs);
    }
}

static void check_expect(const struct expect *x)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int before = qct_failures;
    int rc = parse_file(x->file, &evs, &n, err, sizeof(err));

    CHECK_INT(rc, 0);
    CHECK(x->index < n);
    if (rc == 0 && x->index < n) {
        const qc_event_t *ev = &evs[x->index];
        CHECK_STR(ev->id, x->id);
        CHECK_STR(ev->source, x->source);
        CHECK_INT(ev->origin_ms, x->origin_ms);
        CHECK_NEAR(ev->lat, x->lat, 1e-9);
        CHECK_NEAR(ev->lon, x->lon, 1e-9);
        CHECK_NEAR(ev->depth_km, x->depth_km, 1e-9);
        CHECK_INT(ev->has_mag, x->has_mag);
        if (x->has_mag)
            CHECK_NEAR(ev->mag, x->mag, 1e-9);
        CHECK_STR(ev->mag_type, x->mag_type);
        CHECK_STR(ev->type, x->type);
        CHECK_INT(ev->status, x->status);
        CHECK_INT(ev->version, x->version);
        CHECK_STR(ev->place, x->place);
    }
    if (qct_failures != before)
        fprintf(stderr, "  in %s event %zu (rc %d: %s)\n", x->file, x->index, rc, err);
    free(evs);
}

static void test_every_file_values(void)
{
    for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++)
        check_expect(&expects[i]);
}

/* includesuperseded detail documents list older origins in
 * properties.products.origin (PNG 2017: M8.0 at 153.8 km first, Tohoku:
 * M9.0/8.72 from other sources); the event is the top-level solution. */
static void test_superseded_origins_ignored(void)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";

    CHECK_INT(parse_file("comcat_detail_us10007uph_png2017_M7.9_includesuperseded.geojson",
                         &evs, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_NEAR(evs[0].mag, 7.9, 1e-9);
        CHECK_NEAR(evs[0].depth_km, 135.0, 1e-9);
        CHECK_NEAR(evs[0].lat, -6.2464, 1e-9);
        CHECK_INT(evs[0].version, 1594394562046LL); /* properties.updated */
    }
    free(evs);
    evs = NULL;
    CHECK_INT(parse_file("comcat_detail_tohoku2011_M9.1_includesuperseded.geojson",
                         &evs, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(evs[0].id, "official20110311054624120_30");
        CHECK_NEAR(evs[0].mag, 9.1, 1e-9);
        CHECK_NEAR(evs[0].depth_km, 29.0, 1e-9);
    }
    free(evs);
}

static void test_count_document_rejected(void)
{
    qc_event_t *evs = (qc_event_t *)&evs; /* must be reset */
    size_t n = 7;
    char err[256] = "";

    CHECK_INT(parse_file("comcat_count.json", &evs, &n, err, sizeof(err)), QC_ERR_PARSE);
    CHECK(evs == NULL);
    CHECK_INT(n, 0);
    CHECK(strstr(err, "not GeoJSON") != NULL);
    CHECK(strstr(err, "count") != NULL);
}

static void test_empty_collection(void)
{
    qc_event_t *evs = (qc_event_t *)&evs;
    size_t n = 7;
    char err[256] = "";

    CHECK_INT(parse_file("comcat_query_empty_result.geojson", &evs, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 0);
    CHECK(evs == NULL);
}

/* A buffer of exactly the document's length, followed in memory by bytes
 * that would change the result if read: the parser must stop at len. */
static void test_not_nul_terminated(void)
{
    static const char doc[] = "{\"type\":\"FeatureCollection\",\"features\":[]}";
    size_t len = sizeof(doc) - 1;
    char *buf = malloc(len + 8);
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";

    CHECK(buf != NULL);
    if (!buf)
        return;
    memcpy(buf, doc, len);
    memcpy(buf + len, "garbage!", 8);
    CHECK_INT(qc_feed_usgs_geojson_parse(buf, len, &evs, &n, err, sizeof(err)), 0);
    CHECK_INT(n, 0);
    /* one byte short of the document is truncated JSON */
    CHECK_INT(qc_feed_usgs_geojson_parse(buf, len - 1, &evs, &n, err, sizeof(err)),
              QC_ERR_PARSE);
    /* and the trailing bytes, if included, are trailing garbage */
    CHECK_INT(qc_feed_usgs_geojson_parse(buf, len + 8, &evs, &n, err, sizeof(err)),
              QC_ERR_PARSE);
    free(buf);
}

/* A minimal feature with fields to be filled in by the caller's format. */
#define FEATURE(props, geom) "{\"type\":\"Feature\",\"id\":\"xx1\",\"properties\":{" props \
    "},\"geometry\":" geom "}"
#define PROPS "\"net\":\"xx\",\"time\":1000,\"updated\":2000,\"mag\":5.5,\"magType\":\"Mw\"," \
    "\"type\":\"earthquake\",\"status\":\"reviewed\",\"place\":\"here\""
#define POINT(lon, lat, depth) "{\"type\":\"Point\",\"coordinates\":[" lon "," lat "," depth "]}"
#define COLLECTION(f) "{\"type\":\"FeatureCollection\",\"features\":[" f "]}"

static void test_minimal_feature(void)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";

    CHECK_INT(parse_str(FEATURE(PROPS, POINT("-10.5", "45.25", "12")), &evs, &n, err,
                        sizeof(err)), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(evs[0].id, "xx1");
        CHECK_STR(evs[0].source, "xx");
        CHECK_INT(evs[0].origin_ms, 1000);
        CHECK_INT(evs[0].version, 2000);
        CHECK_NEAR(evs[0].lon, -10.5, 0);
        CHECK_NEAR(evs[0].lat, 45.25, 0);
        CHECK_NEAR(evs[0].depth_km, 12, 0);
        CHECK(evs[0].has_mag);
        CHECK_NEAR(evs[0].mag, 5.5, 0);
        CHECK_STR(evs[0].mag_type, "mw");
        CHECK_INT(evs[0].status, QC_EV_REVIEWED);
        CHECK_STR(evs[0].place, "here");
    }
    free(evs);
}

/* Quirks that are handled, not rejected. */
static void test_quirks_accepted(void)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";

    /* null magnitude, upper-case DELETED, NET in upper case */
    CHECK_INT(parse_str(FEATURE("\"net\":\"XX\",\"time\":1000,\"mag\":null,\"status\":\"DELETED\"",
                                POINT("0", "0", "-2.5")), &evs, &n, err, sizeof(err)), 0);
    if (n == 1) {
        CHECK(!evs[0].has_mag);
        CHECK_INT(evs[0].status, QC_EV_DELETED);
        CHECK_STR(evs[0].source, "xx");
        CHECK_NEAR(evs[0].depth_km, -2.5, 0);
        CHECK_STR(evs[0].type, "earthquake"); /* missing type */
        CHECK_INT(evs[0].version, 1000);      /* missing updated */
        CHECK_STR(evs[0].mag_type, "");
        CHECK_STR(evs[0].place, "");
    }
    free(evs);
    evs = NULL;

    /* no mag, no status, no depth; id from properties.ids */
    CHECK_INT(parse_str("{\"type\":\"Feature\",\"properties\":{\"net\":\"us\",\"time\":-5,"
                        "\"ids\":\",,us1abc,at2,\",\"updated\":null,\"type\":\"Ice Quake\"},"
                        "\"geometry\":{\"type\":\"Point\",\"coordinates\":[180,-90]}}",
                        &evs, &n, err, sizeof(err)), 0);
    if (n == 1) {
        CHECK_STR(evs[0].id, "us1abc");
        CHECK(!evs[0].has_mag);
        CHECK_INT(evs[0].status, QC_EV_AUTOMATIC);
        CHECK_NEAR(evs[0].depth_km, DEPTH_NULL, 0);
        CHECK_INT(evs[0].origin_ms, -5);
        CHECK_INT(evs[0].version, -5);
        CHECK_STR(evs[0].type, "ice quake");
        CHECK(!qc_event_is_earthquake(evs[0].type));
    }
    free(evs);
    evs = NULL;

    /* id from net + code; time written as a real */
    CHECK_INT(parse_str("{\"type\":\"Feature\",\"properties\":{\"net\":\"ci\",\"code\":\"3144585\","
                        "\"time\":1.5e12},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2,3]}}",
                        &evs, &n, err, sizeof(err)), 0);
    if (n == 1) {
        CHECK_STR(evs[0].id, "ci3144585");
        CHECK_INT(evs[0].origin_ms, 1500000000000LL);
    }
    free(evs);
}

/* place is cut to fit, on a UTF-8 character boundary, control characters
 * turned into spaces. */
static void test_place_truncated(void)
{
    char doc[1024], place[400];
    qc_event_t *evs = NULL;
    size_t n = 0, k = 0;
    char err[256] = "";

    /* 126 ASCII bytes then a 2-byte character: it does not fit in 127 */
    memset(place, 'a', 126);
    k = 126;
    memcpy(place + k, "\xc3\xa9", 2);
    k += 2;
    memcpy(place + k, "tail", 4);
    k += 4;
    place[k] = '\0';
    snprintf(doc, sizeof(doc), "{\"type\":\"Feature\",\"id\":\"a1\",\"properties\":{\"net\":\"a\","
             "\"time\":1,\"place\":\"%s\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}",
             place);
    CHECK_INT(parse_str(doc, &evs, &n, err, sizeof(err)), 0);
    if (n == 1) {
        CHECK_INT(strlen(evs[0].place), 126);
        CHECK(evs[0].place[125] == 'a');
    }
    free(evs);
    evs = NULL;

    CHECK_INT(parse_str(FEATURE("\"net\":\"a\",\"time\":1,\"place\":\"line1\\nline2\\u0007\"",
                                POINT("1", "2", "3")), &evs, &n, err, sizeof(err)), 0);
    if (n == 1)
        CHECK_STR(evs[0].place, "line1 line2 ");
    free(evs);
}

/* Reasons go into HTTP answers and logs: printable ASCII only. */
static bool printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    }
    return true;
}

/* Input that is not a USGS GeoJSON document at all: QC_ERR_PARSE. */
static void test_rejects_non_geojson(void)
{
    static const char *const docs[] = {
        "",
        "   ",
        "{",
        "{\"type\":\"FeatureCollection\",\"features\":[",
        "[]",
        "[{\"type\":\"Feature\"}]",
        "42",
        "null",
        "\"FeatureCollection\"",
        "{}",
        "{\"type\":\"Polygon\"}",
        "{\"type\":7}",
        "{\"type\":\"FeatureCollection\"}",
        "{\"type\":\"FeatureCollection\",\"features\":{}}",
        "{\"type\":\"FeatureCollection\",\"features\":[]} trailing",
        "{\"type\":\"FeatureCollection\",\"type\":\"Feature\",\"features\":[]}",
        "{\"type\":\"FeatureCollection\",\"features\":[NaN]}",
        "{\"type\":\"FeatureCollection\",\"features\":[1e400]}",
        "\xef\xbb\xbf{\"type\":\"FeatureCollection\",\"features\":[]}",
        "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":\"\\u0000\"}",
        "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":\"\xff\"}",
        "\x01\xfe\xff",
        "{\"type\":\"FeatureCollection\",\"features\":[\x7f]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        qc_event_t *evs = (qc_event_t *)&evs;
        size_t n = 7;
        char err[256] = "";
        int rc = parse_str(docs[i], &evs, &n, err, sizeof(err));

        CHECK_INT(rc, QC_ERR_PARSE);
        CHECK(evs == NULL);
        CHECK_INT(n, 0);
        CHECK(err[0] != '\0');
        CHECK(printable(err));
        if (rc != QC_ERR_PARSE)
            fprintf(stderr, "  doc %zu: rc %d %s\n", i, rc, err);
    }
}

/* GeoJSON whose feature has invalid values: QC_ERR_INVAL, reason naming the
 * feature and the field. */
static void test_rejects_bad_feature(void)
{
    static const struct {
        const char *doc;
        const char *reason; /* substring of errstr */
    } cases[] = {
        { COLLECTION("{\"type\":\"Feature\",\"id\":\"a\",\"properties\":{" PROPS "}}"),
          "feature 0 (a): geometry" },
        { COLLECTION("{\"type\":\"Feature\",\"id\":\"a\",\"properties\":{" PROPS "},"
                     "\"geometry\":null}"), "geometry" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "0", "0")) "," FEATURE(PROPS, POINT("0", "91", "0"))),
          "feature 1 (xx1): latitude" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "-90.0001", "0"))), "latitude" },
        { COLLECTION(FEATURE(PROPS, POINT("180.5", "0", "0"))), "longitude" },
        { COLLECTION(FEATURE(PROPS, POINT("\"NaN\"", "0", "0"))), "longitude" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "\"nan\"", "0"))), "latitude" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "\"Infinity\"", "0"))), "latitude" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "null", "0"))), "latitude" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "0", "\"10\""))), "depth" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "0", "1001"))), "depth" },
        { COLLECTION(FEATURE(PROPS, POINT("0", "0", "-101"))), "depth" },
        { COLLECTION(FEATURE(PROPS, "{\"type\":\"Point\",\"coordinates\":[1]}")), "coordinates" },
        { COLLECTION(FEATURE(PROPS, "{\"type\":\"Point\",\"coordinates\":{}}")), "coordinates" },
        { COLLECTION(FEATURE(PROPS, "{\"type\":\"Point\"}")), "coordinates" },
        { COLLECTION(FEATURE(PROPS, "{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}")),
          "Point" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":\"1000\"", POINT("0", "0", "0"))),
          "properties.time" },
        { COLLECTION(FEATURE("\"net\":\"xx\"", POINT("0", "0", "0"))), "properties.time" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1e300", POINT("0", "0", "0"))),
          "properties.time" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"updated\":\"x\"", POINT("0", "0", "0"))),
          "properties.updated" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"mag\":\"NaN\"", POINT("0", "0", "0"))),
          "properties.mag" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"mag\":99", POINT("0", "0", "0"))),
          "properties.mag" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"status\":\"final\"", POINT("0", "0", "0"))),
          "properties.status" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"status\":1", POINT("0", "0", "0"))),
          "properties.status" },
        { COLLECTION(FEATURE("\"time\":1", POINT("0", "0", "0"))), "properties.net" },
        { COLLECTION(FEATURE("\"net\":\"x y\",\"time\":1", POINT("0", "0", "0"))), "properties.net" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"type\":7", POINT("0", "0", "0"))),
          "properties.type" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"type\":\"0123456789012345678901234567890123\"",
                             POINT("0", "0", "0"))), "properties.type" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"magType\":[]", POINT("0", "0", "0"))),
          "properties.magType" },
        { COLLECTION(FEATURE("\"net\":\"xx\",\"time\":1,\"place\":{}", POINT("0", "0", "0"))),
          "properties.place" },
        { COLLECTION("{\"type\":\"Feature\",\"properties\":{\"net\":\"xx\",\"time\":1},"
                     "\"geometry\":" POINT("0", "0", "0") "}"), "no id" },
        { COLLECTION("{\"type\":\"Feature\",\"id\":\"has space\",\"properties\":{\"net\":\"xx\","
                     "\"time\":1},\"geometry\":" POINT("0", "0", "0") "}"), "id" },
        { COLLECTION("{\"type\":\"Feature\",\"id\":\"0123456789012345678901234567890123456789"
                     "012345678901234567890123\",\"properties\":{\"net\":\"xx\",\"time\":1},"
                     "\"geometry\":" POINT("0", "0", "0") "}"), "longer than 63" },
        { COLLECTION("{\"type\":\"Feature\",\"id\":\"a\",\"geometry\":" POINT("0", "0", "0") "}"),
          "feature 0: properties" },
        { COLLECTION("{\"type\":\"Feature\",\"id\":\"a\",\"properties\":[],\"geometry\":"
                     POINT("0", "0", "0") "}"), "properties" },
        { COLLECTION("{\"type\":\"feature\"}"), "feature 0: type" },
        { COLLECTION("{\"id\":\"a\"}"), "feature 0: type" },
        { COLLECTION("1"), "feature 0: not an object" },
        { COLLECTION("{}, {}"), "feature 0" },
        { "{\"type\":\"Feature\",\"id\":\"a\",\"properties\":{" PROPS "}}", "feature 0 (a): geometry" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qc_event_t *evs = (qc_event_t *)&evs;
        size_t n = 7;
        char err[256] = "";
        int rc = parse_str(cases[i].doc, &evs, &n, err, sizeof(err));

        CHECK_INT(rc, QC_ERR_INVAL);
        CHECK(evs == NULL);
        CHECK_INT(n, 0);
        CHECK(strstr(err, cases[i].reason) != NULL);
        if (rc != QC_ERR_INVAL || !strstr(err, cases[i].reason))
            fprintf(stderr, "  case %zu: rc %d \"%s\", wanted \"%s\"\n", i, rc, err,
                    cases[i].reason);
    }
}

/* The input is NULL/empty, the output arguments or the reason buffer are
 * missing or tiny: no crash, no overflow. */
static void test_edge_arguments(void)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[4] = "zzz";
    char big[256] = "";

    CHECK_INT(qc_feed_usgs_geojson_parse(NULL, 0, &evs, &n, big, sizeof(big)), QC_ERR_PARSE);
    CHECK(strstr(big, "empty") != NULL);
    CHECK_INT(qc_feed_usgs_geojson_parse("", 0, &evs, &n, NULL, 0), QC_ERR_PARSE);
    CHECK_INT(qc_feed_usgs_geojson_parse("{}", 2, &evs, &n, err, sizeof(err)), QC_ERR_PARSE);
    CHECK_INT(strlen(err), 3);
    CHECK_INT(qc_feed_usgs_geojson_parse("{}", 2, &evs, &n, err, 0), QC_ERR_PARSE);
    CHECK_INT(qc_feed_usgs_geojson_parse("{}", 2, NULL, &n, NULL, 0), QC_ERR_INVAL);
    CHECK_INT(qc_feed_usgs_geojson_parse("{}", 2, &evs, NULL, NULL, 0), QC_ERR_INVAL);
}

/* Truncating a real feed anywhere is a parse error, never a crash or a
 * partial result. */
static void test_truncated_real_feed(void)
{
    size_t len = 0;
    char *buf = read_file(DATA_DIR "feed_all_hour_20171203.geojson", &len);
    int wrong = 0;

    CHECK(buf != NULL);
    if (!buf)
        return;
    /* the document ends with '}' and maybe a newline: every shorter prefix
     * that drops the '}' is truncated JSON */
    while (len > 0 && buf[len - 1] != '}')
        len--;
    for (size_t cut = 0; cut < len; cut++) {
        qc_event_t *evs = (qc_event_t *)&evs;
        size_t n = 7;
        char err[256];
        int rc = parse_exact(buf, cut, &evs, &n, err, sizeof(err));
        if (rc != QC_ERR_PARSE || evs != NULL || n != 0)
            wrong++;
    }
    CHECK_INT(wrong, 0);
    free(buf);
}

/* jansson stops at a nesting depth of 2048; deeper documents are a parse
 * error, not a stack overflow. */
static void test_deep_nesting(void)
{
    size_t depth = 200000, len = 0;
    char *doc = malloc(2 * depth + 64);
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";

    CHECK(doc != NULL);
    if (!doc)
        return;
    for (size_t i = 0; i < depth; i++)
        doc[len++] = '[';
    for (size_t i = 0; i < depth; i++)
        doc[len++] = ']';
    CHECK_INT(qc_feed_usgs_geojson_parse(doc, len, &evs, &n, err, sizeof(err)), QC_ERR_PARSE);
    CHECK(strstr(err, "invalid JSON") != NULL);

    /* the same inside a member of a valid-looking collection */
    len = 0;
    len += (size_t)snprintf(doc, 64, "{\"type\":\"FeatureCollection\",\"features\":[],\"x\":");
    for (size_t i = 0; i < depth / 2; i++)
        doc[len++] = '[';
    for (size_t i = 0; i < depth / 2; i++)
        doc[len++] = ']';
    doc[len++] = '}';
    CHECK_INT(qc_feed_usgs_geojson_parse(doc, len, &evs, &n, err, sizeof(err)), QC_ERR_PARSE);
    free(doc);
}

/* More than 100000 features is refused before any event is built. */
static void test_too_many_features(void)
{
    size_t count = 100001, len = 0;
    char *doc = malloc(2 * count + 64);
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";

    CHECK(doc != NULL);
    if (!doc)
        return;
    len += (size_t)snprintf(doc, 64, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; i < count; i++) {
        doc[len++] = '0';
        doc[len++] = ',';
    }
    doc[len - 1] = ']';
    doc[len++] = '}';
    CHECK_INT(qc_feed_usgs_geojson_parse(doc, len, &evs, &n, err, sizeof(err)), QC_ERR_TOOBIG);
    CHECK(strstr(err, "100001 features") != NULL);
    CHECK(evs == NULL);
    free(doc);
}

static void test_event_helpers(void)
{
    static const char *const quakes[] = {
        "earthquake", "", "Earthquake", "induced or triggered event", "not reported",
        "something new",
    };
    static const char *const others[] = {
        "quarry blast", "quarry", "quarry_blast", "Quarry Blast", "explosion",
        "mining explosion", "nuclear explosion", "chemical explosion", "ice quake",
        "sonic boom", "rock burst", "landslide", "other event", "experimental explosion",
        "acoustic noise", "snow_avalanche", "mine collapse", " Ice-Quake ",
    };

    for (size_t i = 0; i < sizeof(quakes) / sizeof(quakes[0]); i++)
        CHECK(qc_event_is_earthquake(quakes[i]));
    CHECK(qc_event_is_earthquake(NULL));
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        CHECK(!qc_event_is_earthquake(others[i]));
        if (qc_event_is_earthquake(others[i]))
            fprintf(stderr, "  \"%s\" taken as an earthquake\n", others[i]);
    }
    CHECK_STR(qc_event_status_str(QC_EV_AUTOMATIC), "automatic");
    CHECK_STR(qc_event_status_str(QC_EV_REVIEWED), "reviewed");
    CHECK_STR(qc_event_status_str(QC_EV_DELETED), "deleted");
}

QC_TESTS(QC_CASE(test_every_file_counts), QC_CASE(test_every_file_values),
         QC_CASE(test_superseded_origins_ignored), QC_CASE(test_count_document_rejected),
         QC_CASE(test_empty_collection), QC_CASE(test_not_nul_terminated),
         QC_CASE(test_minimal_feature), QC_CASE(test_quirks_accepted),
         QC_CASE(test_place_truncated), QC_CASE(test_rejects_non_geojson),
         QC_CASE(test_rejects_bad_feature), QC_CASE(test_edge_arguments),
         QC_CASE(test_truncated_real_feed), QC_CASE(test_deep_nesting),
         QC_CASE(test_too_many_features), QC_CASE(test_event_helpers))
