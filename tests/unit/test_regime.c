/* test_regime.c: the tectonic regime of real earthquakes from the compiled-in
 * table (shared/data/tectonic_regions.txt), and the table parser's refusals. */
#include "qc/regime.h"
#include "qctest.h"

#include <string.h>

static void test_real_events(void)
{
    char err[200] = "";
    qc_regions_t *r = qc_regions_load(NULL, err, sizeof err);
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    static const struct {
        const char *what;
        double lat, lon, depth;
        qc_regime_t want;
    } ev[] = {
        /* the Vrancea intermediate-depth events (ROMPLUS) */
        { "Vrancea 1940", 45.80, 26.70, 133, QC_REGIME_VRANCEA },
        { "Vrancea 1977", 45.77, 26.76, 94, QC_REGIME_VRANCEA },
        { "Vrancea 1986", 45.53, 26.47, 131, QC_REGIME_VRANCEA },
        { "Vrancea 1990", 45.83, 26.89, 91, QC_REGIME_VRANCEA },
        { "Vrancea 2004", 45.78, 26.73, 99, QC_REGIME_VRANCEA },
        /* a shallow event under Vrancea is crustal */
        { "Vrancea crustal", 45.70, 26.60, 10, QC_REGIME_ACTIVE_SHALLOW },
        /* intraslab elsewhere: Puebla-Morelos 2017 (57 km), Hindu Kush, Chile */
        { "Mexico 2017", 18.55, -98.49, 57, QC_REGIME_INTRASLAB },
        { "Hindu Kush 2015", 36.52, 70.37, 212, QC_REGIME_INTRASLAB },
        { "Bolivia 1994 deep", -13.84, -67.55, 631, QC_REGIME_INTRASLAB },
        /* shallow crustal near plate margins */
        { "Northridge 1994", 34.21, -118.54, 18, QC_REGIME_ACTIVE_SHALLOW },
        { "Kahramanmaras 2023", 37.23, 37.02, 10, QC_REGIME_ACTIVE_SHALLOW },
        { "Myanmar 2025", 22.01, 95.92, 10, QC_REGIME_ACTIVE_SHALLOW },
        { "L'Aquila 2009", 42.34, 13.38, 8, QC_REGIME_ACTIVE_SHALLOW },
        { "Tohoku 2011", 38.30, 142.37, 29, QC_REGIME_ACTIVE_SHALLOW },
        /* stable continental interiors */
        { "Mineral, Virginia 2011", 37.91, -77.94, 6, QC_REGIME_STABLE },
        { "New Madrid area", 36.50, -89.60, 10, QC_REGIME_STABLE },
        { "Tennant Creek 1988", -19.79, 133.93, 6, QC_REGIME_STABLE },
        { "Latur 1993", 18.07, 76.45, 7, QC_REGIME_STABLE },
        { "Kaliningrad 2004", 54.84, 20.18, 16, QC_REGIME_STABLE },
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        const char *region = NULL;
        qc_regime_t g = qc_regions_classify(r, ev[i].lat, ev[i].lon, ev[i].depth, &region);
        if (g != ev[i].want)
            fprintf(stderr, "  %s: %s (region %s), expected %s\n", ev[i].what, qc_regime_name(g),
                    region ? region : "?", qc_regime_name(ev[i].want));
        CHECK_INT(g, ev[i].want);
        CHECK(region != NULL);
    }
    qc_regions_destroy(r);
}

static void refuse(const char *text, const char *why)
{
    char err[200] = "";
    qc_regions_t *r = qc_regions_parse(text, strlen(text), err, sizeof err);
    CHECK(r == NULL);
    if (!strstr(err, why))
        fprintf(stderr, "  got \"%s\", expected \"%s\"\n", err, why);
    CHECK(strstr(err, why) != NULL);
    qc_regions_destroy(r);
}

static void test_bad_tables(void)
{
    refuse("", "the last region must cover everywhere");
    refuse("a stable 0 50 1,1 2,2 3,1\n", "the last region must cover everywhere");
    refuse("a bogus 0 50 *\n", "line 1: region a: regime must be one of");
    refuse("# c\n\na active_shallow 50 10 *\n", "line 3: region a: depth range");
    refuse("a stable 0 50 1,1 2,2\nz active_shallow 0 800 *\n", "at least three vertices");
    refuse("a stable 0 50 1,1 2,2 500,1\nz active_shallow 0 800 *\n", "vertex \"500,1\"");
    refuse("a stable 0 50\nz active_shallow 0 800 *\n", "polygon missing");
    refuse("a stable 0 50 * x\nz active_shallow 0 800 *\n", "unexpected text");
    refuse("z active_shallow 0 300 *\n", "at least 700 km");
}

static void test_first_match_and_names(void)
{
    const char *t = "box vrancea 60 220 25.9,45.1 27.3,45.1 27.3,46.3 25.9,46.3\n"
                    "deep intraslab 50 800 *\n"
                    "rest active_shallow 0 800 *\n";
    char err[200];
    qc_regions_t *r = qc_regions_parse(t, strlen(t), err, sizeof err);
    CHECK(r != NULL);
    if (!r)
        return;
    const char *name = NULL;
    CHECK_INT(qc_regions_classify(r, 45.7, 26.6, 100, &name), QC_REGIME_VRANCEA);
    CHECK_STR(name, "box");
    CHECK_INT(qc_regions_classify(r, 45.7, 26.6, 55, &name), QC_REGIME_INTRASLAB); /* above the box */
    CHECK_STR(name, "deep");
    CHECK_INT(qc_regions_classify(r, 45.7, 28.0, 100, &name), QC_REGIME_INTRASLAB);
    CHECK_INT(qc_regions_classify(r, 45.7, 26.6, 49.9, &name), QC_REGIME_ACTIVE_SHALLOW);
    CHECK_STR(name, "rest");
    qc_regions_destroy(r);
    CHECK_STR(qc_regime_name(QC_REGIME_VRANCEA), "vrancea");
    qc_regime_t g;
    CHECK(qc_regime_from_name("stable", 6, &g) && g == QC_REGIME_STABLE);
    CHECK(!qc_regime_from_name("stab", 4, &g));
}

QC_TESTS(QC_CASE(test_real_events), QC_CASE(test_bad_tables), QC_CASE(test_first_match_and_names))
