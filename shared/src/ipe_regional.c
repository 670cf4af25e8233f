/* ipe_regional.c: the intensity models of the regimes other than active
 * shallow crust (which ipe.c keeps: Allen, Wald & Worden 2012). Each is a
 * published equation, coded from the equation and coefficients written
 * here; test_ipe_regional.c checks them against tables generated once from
 * independent implementations. docs/INTENSITY.md explains the choice.
 *
 * Vrancea (QC_IPE_VRANCEA): peak ground acceleration from
 *
 *   Vacareanu, R., Radulian, M., Iancovici, M., Pavel, F. and Neagu, C.
 *   (2015). Fore-arc and back-arc ground motion prediction model for
 *   Vrancea intermediate depth seismic source. Journal of Earthquake
 *   Engineering 19(3), 535-562.
 *
 *   ln PGA[cm/s2] = c1 + c2 (M-6) + c3 (M-6)^2 + c4 ln R
 *                   + c5 (1-ARC) R + c6 ARC R + c7 h + S
 *   R hypocentral distance (km), h focal depth (km), ARC 1 at a fore-arc
 *   site and 0 behind the Carpathian arc (shared/data/carpathian_backarc.txt),
 *   S = c9, the site term of EC8 ground type C (Vs30 < 360 m/s).
 *   PGA: c1 9.6231 c2 1.4232 c3 -0.1555 c4 -1.1316 c5 -0.0114 c6 -0.0024
 *        c7 -0.0007 c9 0.1589 (sigma 0.698 ln units)
 *
 * converted to MMI with the ground-motion-to-intensity conversion of
 *
 *   Worden, C. B., Gerstenberger, M. C., Rhoades, D. A. and Wald, D. J.
 *   (2012). Probabilistic relationships between ground-motion parameters
 *   and Modified Mercalli intensity in California. BSSA 102(1), 204-221.
 *
 *   MMI = 1.78 + 1.55 log10 PGA            log10 PGA <= 1.57
 *       = -1.60 + 3.70 log10 PGA           log10 PGA >  1.57
 *         + (-0.91 + 1.02 log10 D - 0.17 M)  (its distance-magnitude terms,
 *           D the distance clipped to [10, 300] km, M to [3.0, 7.3], as
 *           USGS ShakeMap applies them)
 *   and, below log10 PGA = 0.14, ShakeMap's extension to MMI 1-2:
 *   MMI = 1.71 + 2.08 log10 PGA.
 *
 *   Where the numbers come from: the Vacareanu et al. coefficients from the
 *   OpenQuake implementation in G. Weatherill's fork of gem/oq-engine
 *   (openquake/hazardlib/gsim/vacareanu_2015.py, "Coefficients taken from
 *   Table 4"; not in OpenQuake releases), which reads c5 as the back-arc
 *   and c6 as the fore-arc anelastic term (faster attenuation behind the
 *   arc, as in Manea et al. 2021); the WGRW12 coefficients from USGS
 *   ShakeMap's shakelib/gmice/wgrw12.py. The papers themselves were not
 *   available here: check both against their tables before quoting them
 *   elsewhere. Site class C, the fore-arc/back-arc outline and the GMICE
 *   terms were chosen by the validation against the 1990 Vrancea
 *   intensities (tests/validation, docs/VALIDATION.md).
 *
 * Intraslab elsewhere (QC_IPE_INTRASLAB): the "Model 3" slab equation of
 *
 *   Dowrick, D. J. and Rhoades, D. A. (2005). Revised models for
 *   attenuation of Modified Mercalli intensity in New Zealand earthquakes.
 *   Bull. N. Z. Soc. Earthq. Eng. 38(4), 185-214.
 *
 *   MMI = 3.76 + 1.48 M - 3.50 log10 Rrup + 0.0031 h
 *   Rrup = hypocentral distance for a point source (km), h depth (km);
 *   ground class C (no site term). Coefficients as in OpenQuake's
 *   DowrickRhoades2005SSlab (openquake.engine 3.26.2, which cites the
 *   paper's Table 7); sigma 0.50.
 *
 * Stable continental regions (QC_IPE_STABLE): the central and eastern
 * North America equation of
 *
 *   Atkinson, G. M. and Wald, D. J. (2007). "Did You Feel It?" intensity
 *   data: a surprisingly good measure of earthquake ground motion.
 *   Seismol. Res. Lett. 78(3), 362-368.
 *
 *   MMI = c1 + c2 (M-6) + c3 (M-6)^2 + c4 log10 R + c5 R + c6 B
 *         + c7 M log10 R,   R = sqrt(D^2 + h^2),  B = max(0, log10(R/Rt))
 *   c1 11.72 c2 2.36 c3 0.1155 c4 -0.44 c5 -0.002044 c6 2.31 c7 -0.479
 *   h 17 km, Rt 80 km; D the epicentral distance, as in the USGS "Did You
 *   Feel It?" code (vinceq-usgs/dyfi4, dyfi/ipes.py aw2007ceus), whose
 *   coefficients a second, separate implementation repeats. */
#include "ipe_models.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "qc/geo.h"

extern const char qc_embed_carpathian_backarc[];
extern const unsigned long qc_embed_carpathian_backarc_len;

/* ---- Vrancea: Vacareanu et al. (2015) PGA + Worden et al. (2012) ---- */

#define VAC15_C1 9.6231
#define VAC15_C2 1.4232
#define VAC15_C3 (-0.1555)
#define VAC15_C4 (-1.1316)
#define VAC15_C5 (-0.0114) /* back-arc anelastic term */
#define VAC15_C6 (-0.0024) /* fore-arc anelastic term */
#define VAC15_C7 (-0.0007)
#define VAC15_C9 0.1589    /* EC8 ground type C */

#define WGRW12_C1 1.78
#define WGRW12_C2 1.55
#define WGRW12_C3 (-1.60)
#define WGRW12_C4 3.70
#define WGRW12_C5 (-0.91)
#define WGRW12_C6 1.02
#define WGRW12_C7 (-0.17)
#define WGRW12_T1 1.57
#define WGRW12_LOW_C1 1.71 /* ShakeMap's extension below MMI 2 */
#define WGRW12_LOW_C2 2.08
#define WGRW12_LOW_T1 0.14

#define BACKARC_MAX 64

typedef struct backarc {
    size_t n;
    double lon[BACKARC_MAX], lat[BACKARC_MAX];
} backarc_t;

/* Parsed once, on first use, and never changed after (as ttime.c). */
static backarc_t g_backarc;
static pthread_once_t g_backarc_once = PTHREAD_ONCE_INIT;

static void backarc_load(void)
{
    const char *s = qc_embed_carpathian_backarc, *end = s + qc_embed_carpathian_backarc_len;
    while (s < end && g_backarc.n < BACKARC_MAX) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        if (s < le && *s != '#') {
            char *e1, *e2;
            double lon = strtod(s, &e1);
            if (e1 > s && e1 < le && *e1 == ',') {
                double lat = strtod(e1 + 1, &e2);
                if (e2 > e1 + 1) {
                    g_backarc.lon[g_backarc.n] = lon;
                    g_backarc.lat[g_backarc.n] = lat;
                    g_backarc.n++;
                }
            }
        }
        s = nl ? nl + 1 : end;
    }
}

bool qc_ipe_vrancea_backarc(double lat, double lon)
{
    pthread_once(&g_backarc_once, backarc_load);
    const backarc_t *b = &g_backarc;
    bool in = false;
    if (b->n < 3)
        return false;
    for (size_t i = 0, j = b->n - 1; i < b->n; j = i++)
        if ((b->lat[i] > lat) != (b->lat[j] > lat) &&
            lon < (b->lon[j] - b->lon[i]) * (lat - b->lat[i]) / (b->lat[j] - b->lat[i]) + b->lon[i])
            in = !in;
    return in;
}

double qc_ipe_vrancea_pga_cms2(double mag, double rhypo_km, double depth_km, bool backarc)
{
    double arc = backarc ? 0.0 : 1.0, dm = mag - 6.0, r = rhypo_km > 1.0 ? rhypo_km : 1.0;
    return exp(VAC15_C1 + VAC15_C2 * dm + VAC15_C3 * dm * dm + VAC15_C4 * log(r) +
               VAC15_C5 * (1.0 - arc) * r + VAC15_C6 * arc * r + VAC15_C7 * depth_km + VAC15_C9);
}

double qc_ipe_wgrw12_mmi(double pga_cms2, double dist_km, double mag)
{
    double y = log10(pga_cms2), mmi;
    if (y < WGRW12_LOW_T1)
        mmi = WGRW12_LOW_C1 + WGRW12_LOW_C2 * y;
    else if (y <= WGRW12_T1)
        mmi = WGRW12_C1 + WGRW12_C2 * y;
    else
        mmi = WGRW12_C3 + WGRW12_C4 * y;
    double d = dist_km < 10.0 ? 10.0 : dist_km > 300.0 ? 300.0 : dist_km;
    double m = mag < 3.0 ? 3.0 : mag > 7.3 ? 7.3 : mag;
    return mmi + WGRW12_C5 + WGRW12_C6 * log10(d) + WGRW12_C7 * m;
}

double qc_ipe_vrancea_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon)
{
    (void)az_deg;
    double r = qc_geo_hypo_km(epi_km, q->depth_km);
    double pga = qc_ipe_vrancea_pga_cms2(q->mag, r, q->depth_km, qc_ipe_vrancea_backarc(lat, lon));
    return qc_ipe_wgrw12_mmi(pga, r, q->mag);
}

/* ---- intraslab: Dowrick & Rhoades (2005), slab model ---- */

#define DR05_A1 3.76
#define DR05_A2 1.48
#define DR05_A3 (-3.50)
#define DR05_A4 0.0031

double qc_ipe_intraslab_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon)
{
    (void)az_deg, (void)lat, (void)lon;
    double r = qc_geo_hypo_km(epi_km, q->depth_km);
    if (r < 1.0)
        r = 1.0; /* log10 of 0; the clamp in qc_ipe_at() caps the value */
    return DR05_A1 + DR05_A2 * q->mag + DR05_A3 * log10(r) + DR05_A4 * q->depth_km;
}

/* ---- stable continental: Atkinson & Wald (2007), CEUS ---- */

#define AW07_C1 11.72
#define AW07_C2 2.36
#define AW07_C3 0.1155
#define AW07_C4 (-0.44)
#define AW07_C5 (-0.002044)
#define AW07_C6 2.31
#define AW07_C7 (-0.479)
#define AW07_H 17.0
#define AW07_RT 80.0

double qc_ipe_stable_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon)
{
    (void)az_deg, (void)lat, (void)lon;
    double r = sqrt(epi_km * epi_km + AW07_H * AW07_H), lr = log10(r), dm = q->mag - 6.0;
    double b = r > AW07_RT ? log10(r / AW07_RT) : 0.0;
    return AW07_C1 + AW07_C2 * dm + AW07_C3 * dm * dm + AW07_C4 * lr + AW07_C5 * r + AW07_C6 * b +
           AW07_C7 * q->mag * lr;
}
