/* test_ttime.c: iasp91 travel times (shared/data/iasp91.txt) against an
 * independent computation: a separate script (phases s/S and p/P only,
 * ObsPy 1.5.1 TauP, model iasp91) run once on 2026-12-06; its rows below
 * are the grid points both tables share, where no head wave comes first. */
#include "qc/ttime.h"
#include "qctest.h"

#include <math.h>

#define KM_PER_DEG 111.19492664455873 /* ObsPy kilometer2degrees, R = 6371 km */

static void test_independent_rows(void)
{
    static const struct {
        double depth, deg, p, s;
    } rows[] = {
        { 0, 0.0, 0.000, 0.000 },       { 0, 0.5, 9.586, 16.547 },     { 0, 1.4, 26.775, 46.330 },
        { 0, 5.0, 76.274, 135.902 },    { 10, 0.0, 1.724, 2.976 },     { 10, 0.5, 9.732, 16.800 },
        { 90, 0.0, 12.594, 22.230 },    { 90, 0.5, 14.720, 26.005 },   { 90, 1.4, 24.467, 43.395 },
        { 90, 5.0, 72.575, 129.682 },   { 90, 10.0, 140.665, 251.679 }, { 100, 0.0, 13.837, 24.457 },
        { 100, 1.4, 25.003, 44.363 },   { 100, 5.0, 72.665, 129.810 }, { 100, 10.0, 140.621, 251.526 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        /* the grid is in degrees of 111.195 km; ours converts with
         * 6371.0088 km, a 1e-6 relative difference */
        double km = rows[i].deg * KM_PER_DEG;
        CHECK_NEAR(qc_ttime_s(rows[i].depth, km), rows[i].s, 0.01);
        CHECK_NEAR(qc_ttime_p(rows[i].depth, km), rows[i].p, 0.01);
    }
}

static void test_shape(void)
{
    /* 1977 Vrancea to Bucharest: 94 km deep, ~158 km away. A single
     * crustal speed (3.5 km/s over the hypocentral distance) said 52.5 s;
     * iasp91 has the S wave there after ~44 s */
    double s = qc_ttime_s(94, 158);
    CHECK(s > 43.0 && s < 45.5);
    /* between the grid depths 90 and 100, between their times */
    CHECK(s > qc_ttime_s(90, 158) && s < qc_ttime_s(100, 158));
    /* S after P everywhere; both grow with distance beyond the epicentre */
    for (double d = 0; d <= 700; d += 50)
        for (double x = 0; x <= 2000; x += 20) {
            CHECK(qc_ttime_s(d, x) >= qc_ttime_p(d, x));
            if (x >= 20)
                CHECK(qc_ttime_s(d, x) > qc_ttime_s(d, x - 20) - 1e-9);
        }
    /* past the table (20 degrees) the last slope continues */
    CHECK(qc_ttime_s(10, 3000) > qc_ttime_s(10, 2200));
    /* deeper than the table: its deepest row plus the extra depth */
    CHECK(qc_ttime_s(750, 0) > qc_ttime_s(700, 0));
}

static void test_invalid(void)
{
    CHECK(isnan(qc_ttime_s(NAN, 10)));
    CHECK(isnan(qc_ttime_s(10, NAN)));
    CHECK(isnan(qc_ttime_s(-1, 10)));
    CHECK(isnan(qc_ttime_s(10, -1)));
    CHECK(isnan(qc_ttime_p(INFINITY, 10)));
}

QC_TESTS(QC_CASE(test_independent_rows), QC_CASE(test_shape), QC_CASE(test_invalid))
