/* test_geo.c: haversine and hypocentral distances, coordinate validity. */
#include "qc/geo.h"
#include "qctest.h"

#include <math.h>

#define PI 3.14159265358979323846

/* Spherical law of cosines on the same sphere: a formula independent of
 * the haversine one, equal to it in exact arithmetic. Good to ~1 m at the
 * distances used here. */
static double cosine_law_km(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * PI / 180.0, p2 = lat2 * PI / 180.0;
    double dl = (lon2 - lon1) * PI / 180.0;
    double c = sin(p1) * sin(p2) + cos(p1) * cos(p2) * cos(dl);
    return QC_EARTH_RADIUS_KM * acos(c > 1.0 ? 1.0 : c);
}

static void test_bucharest_cluj(void)
{
    /* Bucharest 44.43N 26.10E, Cluj-Napoca 46.77N 23.60E. Reference:
     * 325.052 km on the WGS84 ellipsoid, by Vincenty's inverse formula
     * (T. Vincenty 1975, Survey Review 23(176), 88-93), run once in Python
     * for this test. A sphere differs from the ellipsoid by up to ~0.5%. */
    double d = qc_geo_distance_km(44.43, 26.10, 46.77, 23.60);
    CHECK_NEAR(d, 325.052, 325.052 * 0.005);
    CHECK_NEAR(d, cosine_law_km(44.43, 26.10, 46.77, 23.60), 1e-3);
    /* symmetric */
    CHECK_NEAR(qc_geo_distance_km(46.77, 23.60, 44.43, 26.10), d, 1e-9);
}

static void test_exact_arcs(void)
{
    /* Arcs whose length on the sphere is known in closed form. */
    double one_degree = QC_EARTH_RADIUS_KM * PI / 180.0; /* 111.195 km */
    CHECK_NEAR(qc_geo_distance_km(10.0, 20.0, 11.0, 20.0), one_degree, 1e-6);
    CHECK_NEAR(qc_geo_distance_km(0.0, 0.0, 0.0, 1.0), one_degree, 1e-6);
    CHECK_NEAR(qc_geo_distance_km(0.0, 0.0, 0.0, 90.0), QC_EARTH_RADIUS_KM * PI / 2.0, 1e-6);
    CHECK_NEAR(qc_geo_distance_km(0.0, 0.0, 90.0, 0.0), QC_EARTH_RADIUS_KM * PI / 2.0, 1e-6);
    /* across the antimeridian: 179E to 179W is 2 degrees, not 358 */
    CHECK_NEAR(qc_geo_distance_km(0.0, 179.0, 0.0, -179.0), 2.0 * one_degree, 1e-6);
}

static void test_zero_distance(void)
{
    CHECK_NEAR(qc_geo_distance_km(45.77, 26.76, 45.77, 26.76), 0.0, 1e-9);
    CHECK_NEAR(qc_geo_distance_km(0.0, 0.0, 0.0, 0.0), 0.0, 1e-9);
    /* one point, two spellings */
    CHECK_NEAR(qc_geo_distance_km(90.0, 0.0, 90.0, 123.0), 0.0, 1e-6);
    CHECK_NEAR(qc_geo_distance_km(10.0, 180.0, 10.0, -180.0), 0.0, 1e-6);
}

static void test_antipodes(void)
{
    double half = PI * QC_EARTH_RADIUS_KM; /* 20015.1 km */
    CHECK_NEAR(QC_GEO_MAX_DISTANCE_KM, half, 1e-9);
    CHECK_NEAR(qc_geo_distance_km(0.0, 0.0, 0.0, 180.0), half, 1e-6);
    CHECK_NEAR(qc_geo_distance_km(90.0, 0.0, -90.0, 0.0), half, 1e-6);
    CHECK_NEAR(qc_geo_distance_km(45.0, 10.0, -45.0, -170.0), half, 1e-6);
    /* Haversine is ill-conditioned next to the antipode (asin near 1): an
     * error of 1 ulp in its argument costs ~0.2 m here. Harmless for us. */
    CHECK_NEAR(qc_geo_distance_km(44.43, 26.10, -44.43, -153.90), half, 1e-3);
    /* never past the antipode, never NaN from rounding */
    for (double lat = -90.0; lat <= 90.0; lat += 7.5)
        for (double lon = -180.0; lon <= 180.0; lon += 15.0) {
            double d = qc_geo_distance_km(lat, lon, -lat, lon >= 0.0 ? lon - 180.0 : lon + 180.0);
            CHECK(!isnan(d) && d <= half + 1e-6 && d >= half - 1e-6);
        }
}

static void test_valid(void)
{
    CHECK(qc_geo_valid(0.0, 0.0));
    CHECK(qc_geo_valid(45.77, 26.76));
    CHECK(qc_geo_valid(90.0, 180.0));
    CHECK(qc_geo_valid(-90.0, -180.0));
    CHECK(!qc_geo_valid(NAN, 0.0));
    CHECK(!qc_geo_valid(0.0, NAN));
    CHECK(!qc_geo_valid(INFINITY, 0.0));
    CHECK(!qc_geo_valid(0.0, -INFINITY));
    CHECK(!qc_geo_valid(90.0001, 0.0));
    CHECK(!qc_geo_valid(-90.0001, 0.0));
    CHECK(!qc_geo_valid(0.0, 180.0001));
    CHECK(!qc_geo_valid(0.0, -180.0001));
    CHECK(!qc_geo_valid(1e300, 1e300));
}

static void test_invalid_distance_is_nan(void)
{
    CHECK(isnan(qc_geo_distance_km(NAN, 0.0, 0.0, 0.0)));
    CHECK(isnan(qc_geo_distance_km(0.0, 0.0, 0.0, INFINITY)));
    CHECK(isnan(qc_geo_distance_km(91.0, 0.0, 0.0, 0.0)));
    CHECK(isnan(qc_geo_distance_km(0.0, 0.0, 0.0, 181.0)));
}

static void test_hypo(void)
{
    CHECK_NEAR(qc_geo_hypo_km(30.0, 40.0), 50.0, 1e-12);
    CHECK_NEAR(qc_geo_hypo_km(0.0, 94.0), 94.0, 1e-12);
    CHECK_NEAR(qc_geo_hypo_km(157.7, 0.0), 157.7, 1e-12);
    CHECK_NEAR(qc_geo_hypo_km(0.0, 0.0), 0.0, 1e-12);
    CHECK(isnan(qc_geo_hypo_km(NAN, 10.0)));
    CHECK(isnan(qc_geo_hypo_km(10.0, NAN)));
    CHECK(isnan(qc_geo_hypo_km(NAN, INFINITY)));
}

/* Azimuth and destination agree with the distance: going d km along the
 * bearing to a point lands on it; cardinal bearings on the sphere. */
static void test_azimuth_destination(void)
{
    CHECK_NEAR(qc_geo_azimuth_deg(0, 0, 10, 0), 0.0, 1e-9);
    CHECK_NEAR(qc_geo_azimuth_deg(0, 0, 0, 10), 90.0, 1e-9);
    CHECK_NEAR(qc_geo_azimuth_deg(0, 0, -10, 0), 180.0, 1e-9);
    CHECK_NEAR(qc_geo_azimuth_deg(0, 0, 0, -10), 270.0, 1e-9);
    /* Vrancea 1977 epicentre to Bucharest: south-west, about 160 km */
    double az = qc_geo_azimuth_deg(45.77, 26.76, 44.4268, 26.1025);
    double d = qc_geo_distance_km(45.77, 26.76, 44.4268, 26.1025);
    CHECK(az > 195 && az < 205);
    CHECK(d > 155 && d < 162);
    double la, lo;
    qc_geo_destination(45.77, 26.76, az, d, &la, &lo);
    CHECK_NEAR(la, 44.4268, 1e-6);
    CHECK_NEAR(lo, 26.1025, 1e-6);
    /* across the antimeridian, longitude wraps into [-180, 180) */
    qc_geo_destination(0, 179.5, 90, 111.195, &la, &lo);
    CHECK_NEAR(la, 0.0, 1e-6);
    CHECK_NEAR(lo, -179.5, 1e-3);
}

QC_TESTS(QC_CASE(test_azimuth_destination), QC_CASE(test_bucharest_cluj), QC_CASE(test_exact_arcs), QC_CASE(test_zero_distance),
         QC_CASE(test_antipodes), QC_CASE(test_valid), QC_CASE(test_invalid_distance_is_nan),
         QC_CASE(test_hypo))
