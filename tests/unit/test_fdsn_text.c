/* test_fdsn_text.c: the FDSN event text parser against
 * tests/data/fdsn_text/ (see the README there) and against broken input.
 *
 * Expected values were read from the file by eye and the times converted
 * with python3's datetime, not taken from this parser's output. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds.h"
#include "qc/err.h"
#include "qc/event.h"
#include "qctest.h"

#define DATA_DIR "tests/data/fdsn_text/"

#define HEADER "#EventID | Time | Latitude | Longitude | Depth/km | Author | Catalog | " \
    "Contributor | ContributorID | MagType | Magnitude | MagAuthor | EventLocationName"

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

/* Parses the string @p doc copied into a buffer of exactly its length (no
 * NUL after it). */
static int parse_str(const char *doc, qc_event_t **evs, size_t *n, char *err, size_t err_size)
{
    size_t len = strlen(doc);
    char *copy = malloc(len ? len : 1);
    int rc;

    if (!copy)
        return QC_ERR_NOMEM;
    memcpy(copy, doc, len);
    rc = qc_feed_fdsn_text_parse(copy, len, evs, n, err, err_size);
    free(copy);
    return rc;
}

/* Expects @p doc to fail with @p want, no output, and @p reason in the
 * error text. */
static void expect_fail(const char *doc, int want, const char *reason)
{
    qc_event_t *evs = NULL;
    size_t n = 99;
    char err[256] = "";
    int rc = parse_str(doc, &evs, &n, err, sizeof(err));

    CHECK_INT(rc, want);
    CHECK(evs == NULL);
    CHECK_INT(n, 0);
    if (!strstr(err, reason))
        fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n", err, reason);
    CHECK(strstr(err, reason) != NULL);
    free(evs);
}

static void test_obspy_file(void)
{
    size_t len = 0, n = 0;
    char *buf = read_file(DATA_DIR "obspy_events_fdsn_text.txt", &len);
    qc_event_t *evs = NULL;
    char err[256] = "";
    int rc;

    CHECK(buf != NULL);
    if (!buf)
        return;
    CHECK_INT(len, 315);
    rc = qc_feed_fdsn_text_parse(buf, len, &evs, &n, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        /* 3337497|2012-04-11T08:38:37.00000|2.237600|93.014400|26.300|ISC||ISC||MW|8.60|GCMT|SUMATRA */
        CHECK_STR(evs[0].id, "3337497");
        CHECK_INT(evs[0].origin_ms, 1334133517000LL);
        CHECK_INT(evs[0].version, 1334133517000LL);
        CHECK_NEAR(evs[0].lat, 2.2376, 1e-9);
        CHECK_NEAR(evs[0].lon, 93.0144, 1e-9);
        CHECK_NEAR(evs[0].depth_km, 26.3, 1e-9);
        CHECK_STR(evs[0].source, "fdsn"); /* Catalog is empty */
        CHECK(evs[0].has_mag);
        CHECK_NEAR(evs[0].mag, 8.6, 1e-9);
        CHECK_STR(evs[0].mag_type, "mw");
        CHECK_STR(evs[0].type, "earthquake");
        CHECK_INT(evs[0].status, QC_EV_AUTOMATIC);
        CHECK_STR(evs[0].place, "SUMATRA");

        /* 2413|1960-05-22T19:11:14.00000|-38.170000|-72.570000|0.000||||||8.50|| */
        CHECK_STR(evs[1].id, "2413");
        CHECK_INT(evs[1].origin_ms, -303281326000LL);
        CHECK_NEAR(evs[1].lat, -38.17, 1e-9);
        CHECK_NEAR(evs[1].lon, -72.57, 1e-9);
        CHECK_NEAR(evs[1].depth_km, 0.0, 1e-9);
        CHECK_STR(evs[1].source, "fdsn");
        CHECK(evs[1].has_mag);
        CHECK_NEAR(evs[1].mag, 8.5, 1e-9);
        CHECK_STR(evs[1].mag_type, "");
        CHECK_STR(evs[1].type, "earthquake");
        CHECK_STR(evs[1].place, "");
    }
    free(evs);
    free(buf);
}

/* CRLF line ends, no header (standard order), 14th column EventType,
 * empty depth and magnitude, spaces around '|', blank lines. */
static void test_crlf_no_header(void)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = parse_str("# a comment\r\n\r\n"
                       "us7000abcd | 2021-05-02T12:34:56.789Z | 45.5 | 26.1 |  | x | US | "
                       "| | Mww | 5.4 | us | ROMANIA | Quarry Blast\r\n"
                       "ev2|2021-05-02T12:00:00|1|2||||||ml|||\r\n", &evs, &n, err, sizeof(err));

    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_INT(rc, 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(evs[0].id, "us7000abcd");
        CHECK_INT(evs[0].origin_ms, 1619958896789LL);
        CHECK_NEAR(evs[0].depth_km, 10.0, 1e-9);
        CHECK_STR(evs[0].source, "us");
        CHECK_STR(evs[0].mag_type, "mww");
        CHECK_NEAR(evs[0].mag, 5.4, 1e-9);
        CHECK_STR(evs[0].place, "ROMANIA");
        CHECK_STR(evs[0].type, "quarry blast");
        CHECK_STR(evs[1].id, "ev2");
        CHECK(!evs[1].has_mag);
        CHECK_STR(evs[1].mag_type, "ml");
        CHECK_STR(evs[1].type, "earthquake");
        CHECK_STR(evs[1].place, "");
    }
    free(evs);
}

/* A header in another order maps columns by name. */
static void test_header_reordered(void)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = parse_str("#Latitude|Longitude|EventID|Time|Magnitude\n"
                       "10.5|-20.25|abc|2000-01-01T00:00:00|3.0", &evs, &n, err, sizeof(err));

    CHECK_INT(rc, 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(evs[0].id, "abc");
        CHECK_NEAR(evs[0].lat, 10.5, 1e-9);
        CHECK_NEAR(evs[0].lon, -20.25, 1e-9);
        CHECK_INT(evs[0].origin_ms, 946684800000LL);
        CHECK_NEAR(evs[0].mag, 3.0, 1e-9);
        CHECK_NEAR(evs[0].depth_km, 10.0, 1e-9);
    }
    free(evs);

    /* header only: a valid empty answer */
    n = 5;
    rc = parse_str(HEADER "\n", &evs, &n, err, sizeof(err));
    CHECK_INT(rc, 0);
    CHECK_INT(n, 0);
    CHECK(evs == NULL);
}

static void test_invalid(void)
{
    expect_fail("", QC_ERR_PARSE, "empty");
    expect_fail("hello world\n", QC_ERR_PARSE, "not FDSN text");
    expect_fail("{\"type\": \"FeatureCollection\"}", QC_ERR_PARSE, "not FDSN text");
    expect_fail("# only a comment\n\n", QC_ERR_PARSE, "not FDSN text");
    expect_fail(HEADER "\n1|2012-04-11T08:38:37|91.0|93.0|26|ISC||ISC||MW|8.6|GCMT|X\n",
                QC_ERR_INVAL, "line 2");
    expect_fail(HEADER "\n1|2012-04-11T08:38:37|2.0|193.0|26|ISC||ISC||MW|8.6|GCMT|X\n",
                QC_ERR_INVAL, "Longitude");
    expect_fail(HEADER "\n1|2012-04-11T08:38:37|abc|93.0|26|ISC||ISC||MW|8.6|GCMT|X\n",
                QC_ERR_INVAL, "Latitude");
    expect_fail(HEADER "\n1|2012-04-11T08:38:37|nan|93.0|26|ISC||ISC||MW|8.6|GCMT|X\n",
                QC_ERR_INVAL, "Latitude");
    expect_fail(HEADER "\n\n1|2012-04-11T08:38:37|2.0|93.0|26|ISC||ISC||MW|8.6\n",
                QC_ERR_INVAL, "line 3");
    expect_fail("1|2012-04-11T08:38:37|2.0|93.0|26|ISC||ISC||MW|8.6|GCMT\n",
                QC_ERR_INVAL, "fields");
    expect_fail(HEADER "\n1|yesterday|2.0|93.0|26|ISC||ISC||MW|8.6|GCMT|X\n",
                QC_ERR_INVAL, "Time");
    expect_fail(HEADER "\n|2012-04-11T08:38:37|2.0|93.0|26|ISC||ISC||MW|8.6|GCMT|X\n",
                QC_ERR_INVAL, "EventID");
    expect_fail(HEADER "\n1|2012-04-11T08:38:37|2.0|93.0|26|ISC||ISC||MW|big|GCMT|X\n",
                QC_ERR_INVAL, "Magnitude");
    expect_fail("#EventID|Time|Longitude\n1|2012-04-11T08:38:37|3\n", QC_ERR_PARSE,
                "Latitude");
}

/* The last line, without a newline, ends exactly at the buffer end, once
 * with an empty last field and once with a one-byte one. */
static void test_exact_size_buffer(void)
{
    static const char doc[] = HEADER "\r\nX1|2012-04-11T08:38:37.5|2.5|93|26.3|ISC|ISC|ISC||mb|6|GCMT|";
    size_t len = sizeof(doc) - 1;
    char *copy = malloc(len);
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc;

    CHECK(copy != NULL);
    if (!copy)
        return;
    memcpy(copy, doc, len);
    rc = qc_feed_fdsn_text_parse(copy, len, &evs, &n, err, sizeof(err));
    CHECK_INT(rc, 0);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(evs[0].place, "");
    free(evs);
    evs = NULL;
    free(copy);

    copy = malloc(len + 1);
    CHECK(copy != NULL);
    if (!copy)
        return;
    memcpy(copy, doc, len);
    copy[len] = 'Z'; /* EventLocationName */
    rc = qc_feed_fdsn_text_parse(copy, len + 1, &evs, &n, err, sizeof(err));
    CHECK_INT(rc, 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(evs[0].id, "X1");
        CHECK_INT(evs[0].origin_ms, 1334133517500LL);
        CHECK_STR(evs[0].source, "isc");
        CHECK_STR(evs[0].place, "Z");
    }
    free(evs);
    free(copy);
}

QC_TESTS(QC_CASE(test_obspy_file), QC_CASE(test_crlf_no_header), QC_CASE(test_header_reordered),
         QC_CASE(test_invalid), QC_CASE(test_exact_size_buffer))
