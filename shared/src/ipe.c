/* ipe.c: the intensity prediction equation (IPE) and S-wave arrival time.
 *
 * Equation: the hypocentral-distance IPE of
 *
 *   Allen, T. I., Wald, D. J. and Worden, C. B. (2012). Intensity
 *   attenuation for active crustal regions. Journal of Seismology 16(3),
 *   409-433. doi:10.1007/s10950-012-9278-7
 *
 *   MMI = c0 + c1*M + c2*ln(sqrt(Rhypo^2 + Rm^2))           Rhypo <= 50 km
 *       + c4*ln(Rhypo / 50)                       added for Rhypo >  50 km
 *   Rm  = m1 + m2*exp(M - 5)
 *
 *   c0 = 2.085  c1 = 1.428  c2 = -1.402  c4 = 0.078  m1 = -0.209  m2 = 2.042
 *
 * with M the moment magnitude and Rhypo in km. The paper's site term S is
 * left out (taken as 0): we do not know the site of a subscriber cell.
 *
 * Why this one: quakecast serves intermediate-depth (80-160 km) Vrancea
 * events as well as shallow ones, so the distance must carry the depth.
 * The paper gives a rupture-distance and a hypocentral-distance model; a
 * warning is issued before any finite fault is known, and for a point
 * source at depth the hypocentral form is the one that sees the depth.
 * Its near-source term Rm saturates the intensity near the source.
 *
 * Where the numbers come from, and what was NOT checked:
 * - The coefficients are transcribed from OpenQuake's implementation,
 *   class AllenEtAl2012Rhypo in gem/oq-engine
 *   openquake/hazardlib/gsim/allen_2012_ipe.py (GEM Foundation), which cites
 *   this paper; a second, independent transcription (the Matlab function
 *   fct_GMPE_Allen2012.m, D. Landtwing, ETH Zurich, 2012) carries the same
 *   six numbers. test_ipe.c checks us against OpenQuake's verification
 *   table for this model, which was generated from an independent Matlab
 *   implementation.
 * - The paper itself was not available here, so the numbers of the
 *   equation and of the coefficient table for the hypocentral model could
 *   not be read; they are deliberately not quoted. (OpenQuake's earlier
 *   rupture-distance code in ROB-Seismology/nhlib labels that other model
 *   "Eqn. 1" with coefficients from "Table 2".) Check both against the
 *   paper before quoting them elsewhere.
 * - Range of the data, per secondary sources: Mw 5.0-7.9, distances up to
 *   300 km, shallow earthquakes in active crustal regions. Vrancea
 *   intermediate-depth events lie outside that tectonic setting; see
 *   test_ipe.c for the 1977 check, which predicts about 5.4 at Bucharest
 *   against an observed VIII-IX. A Vrancea-specific IPE (e.g. Sorensen,
 *   Stromeyer and Grunthal 2010, Soil Dyn. Earthq. Eng. 30(11), 1268-1278,
 *   EMS-98 intensity with an azimuthal correction) would be a regional
 *   refinement; its coefficients were not obtained here.
 *
 * Shape of the curve: decreasing in Rhypo for M <= 9.5 (at M 10 the c4
 * term makes it rise by < 0.01 MMI between 50 and 75 km); increasing in
 * M for every Rhypo >= 0.8 km (below that, for M near 5, it is not). The
 * median saturates near MMI 8.3-8.4, so the upper clamp only guards
 * against absurd inputs. */
#include "qc/ipe.h"
#include "qc/geo.h"
#include "ipe_models.h"

#include <math.h>

/* Allen, Wald and Worden (2012), hypocentral-distance model. */
#define AWW12_C0 2.085
#define AWW12_C1 1.428
#define AWW12_C2 (-1.402)
#define AWW12_C4 0.078
#define AWW12_M1 (-0.209)
#define AWW12_M2 2.042
#define AWW12_R_ANELASTIC_KM 50.0 /* c4 applies beyond this distance */

/* qc_ipe_max_distance_km() stops bisecting once the bracket is this narrow:
 * far below the size of any cell. */
#define QC_IPE_BISECT_TOL_KM 0.01

/* The unclamped median of the equation. */
static double aww12_mmi(double mag, double rhypo_km)
{
    double rm = AWW12_M1 + AWW12_M2 * exp(mag - 5.0);
    double mmi = AWW12_C0 + AWW12_C1 * mag +
                 AWW12_C2 * log(sqrt(rhypo_km * rhypo_km + rm * rm));
    if (rhypo_km > AWW12_R_ANELASTIC_KM)
        mmi += AWW12_C4 * log(rhypo_km / AWW12_R_ANELASTIC_KM);
    return mmi;
}

double qc_ipe_mmi(double mag, double rhypo_km)
{
    /* +inf distance would be harmless (MMI 1), but an infinite distance
     * only ever comes from a bug upstream; refuse it like NaN. */
    if (!isfinite(mag) || !isfinite(rhypo_km) || rhypo_km < 0.0)
        return NAN;

    double mmi = aww12_mmi(mag, rhypo_km);
    if (mmi < QC_IPE_MMI_MIN)
        return QC_IPE_MMI_MIN;
    if (mmi > QC_IPE_MMI_MAX)
        return QC_IPE_MMI_MAX;
    return mmi;
}

double qc_ipe_s_arrival_s(double rhypo_km)
{
    return rhypo_km / QC_S_WAVE_KM_S;
}

/* The predicted MMI at epicentral distance @p epi_km. */
static double mmi_at_epi(double mag, double depth_km, double epi_km)
{
    return qc_ipe_mmi(mag, qc_geo_hypo_km(epi_km, depth_km));
}

double qc_ipe_max_distance_km(double mag, double depth_km, double mmi)
{
    if (!isfinite(mag) || !isfinite(depth_km) || !isfinite(mmi) || depth_km < 0.0)
        return NAN;

    double lo = 0.0, hi = QC_GEO_MAX_DISTANCE_KM;
    double at_lo = mmi_at_epi(mag, depth_km, lo);
    if (isnan(at_lo))
        return NAN;
    if (at_lo < mmi)
        return -1.0;
    /* Every point on the Earth is reached, e.g. mmi <= 1 after the clamp. */
    if (mmi_at_epi(mag, depth_km, hi) >= mmi)
        return hi;

    /* Invariant: reached at lo, not reached at hi. The curve is monotone
     * (see the top of the file), so the crossing is unique. ~21 rounds. */
    while (hi - lo > QC_IPE_BISECT_TOL_KM) {
        double mid = lo + (hi - lo) / 2.0;
        if (mmi_at_epi(mag, depth_km, mid) >= mmi)
            lo = mid;
        else
            hi = mid;
    }
    /* lo, not the midpoint: the caller gets a distance where the threshold
     * is still met. */
    return lo;
}

const char *qc_ipe_mmi_roman(double mmi)
{
    static const char *const r[] = { "I", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X" };
    long i = isfinite(mmi) ? lround(mmi) : 1;
    return r[i < 1 ? 1 : i > 10 ? 10 : i];
}

/* ---- models per tectonic regime ---- */

typedef struct model {
    const char *name, *citation;
    /* unclamped median at epicentral distance epi_km, bearing az_deg from
     * the epicentre to the site (site given too, for regional terms) */
    double (*median)(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon);
    bool isotropic; /* median depends on epi_km only, and falls with it */
} model_t;

static double aww12_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon)
{
    (void)az_deg, (void)lat, (void)lon;
    return aww12_mmi(q->mag, qc_geo_hypo_km(epi_km, q->depth_km));
}

static const model_t models[QC_IPE_MODEL_COUNT] = {
    [QC_IPE_AWW12] = { "AWW2012", "Allen, Wald & Worden (2012), J. Seismol. 16, 409-433, hypocentral-distance IPE",
                       aww12_median, true },
    [QC_IPE_VRANCEA] = { QC_IPE_VRANCEA_NAME, QC_IPE_VRANCEA_CITATION, qc_ipe_vrancea_median, false },
    [QC_IPE_INTRASLAB] = { QC_IPE_INTRASLAB_NAME, QC_IPE_INTRASLAB_CITATION, qc_ipe_intraslab_median, true },
    [QC_IPE_STABLE] = { QC_IPE_STABLE_NAME, QC_IPE_STABLE_CITATION, qc_ipe_stable_median, true },
};

qc_ipe_model_t qc_ipe_model_for(qc_regime_t g)
{
    switch (g) {
    case QC_REGIME_VRANCEA:
        return QC_IPE_VRANCEA;
    case QC_REGIME_INTRASLAB:
        return QC_IPE_INTRASLAB;
    case QC_REGIME_STABLE:
        return QC_IPE_STABLE;
    default:
        return QC_IPE_AWW12;
    }
}

const char *qc_ipe_model_name(qc_ipe_model_t m)
{
    return (unsigned)m < QC_IPE_MODEL_COUNT ? models[m].name : "unknown";
}

bool qc_ipe_reaches(double mmi, double min_mmi)
{
    return mmi >= min_mmi - QC_IPE_THRESHOLD_MARGIN; /* false for NaN */
}

bool qc_ipe_model_isotropic(qc_ipe_model_t m)
{
    return (unsigned)m < QC_IPE_MODEL_COUNT ? models[m].isotropic : true;
}

const char *qc_ipe_model_citation(qc_ipe_model_t m)
{
    return (unsigned)m < QC_IPE_MODEL_COUNT ? models[m].citation : "";
}

static bool quake_valid(const qc_quake_t *q)
{
    return q && (unsigned)q->model < QC_IPE_MODEL_COUNT && qc_geo_valid(q->lat, q->lon) &&
           isfinite(q->mag) && isfinite(q->depth_km) && q->depth_km >= 0.0;
}

static double clamp_mmi(double v)
{
    if (isnan(v))
        return v;
    return v < QC_IPE_MMI_MIN ? QC_IPE_MMI_MIN : v > QC_IPE_MMI_MAX ? QC_IPE_MMI_MAX : v;
}

static double median_at(const qc_quake_t *q, double lat, double lon)
{
    double epi = qc_geo_distance_km(q->lat, q->lon, lat, lon);
    double az = qc_geo_azimuth_deg(q->lat, q->lon, lat, lon);
    return models[q->model].median(q, epi, az, lat, lon);
}

double qc_ipe_at(const qc_quake_t *q, double lat, double lon)
{
    if (!quake_valid(q) || !qc_geo_valid(lat, lon))
        return NAN;
    return clamp_mmi(median_at(q, lat, lon));
}

/* Samples per side of a cell for a model that is not a function of
 * distance alone, and the margin added for what falls between samples: a
 * 0.25 degree cell sampled 9 x 9 has samples ~3.5 km apart, where these
 * models change by well under 0.1 intensity units per km beyond 10 km. */
#define QC_IPE_CELL_SAMPLES 9
#define QC_IPE_CELL_MARGIN 0.25
/* For a distance-only model the nearest point of the lat/lon box is
 * nearest in the plane of degrees, which a great circle can beat by metres
 * (it bulges poleward): a hundredth of a unit covers that. */
#define QC_IPE_CELL_EPS 0.01

double qc_ipe_cell_max(const qc_quake_t *q, double lat0, double lon0, double size_deg)
{
    if (!quake_valid(q) || !isfinite(lat0) || !isfinite(lon0) || !(size_deg > 0))
        return NAN;
    /* the point of the cell nearest the epicentre */
    double la = q->lat < lat0 ? lat0 : q->lat > lat0 + size_deg ? lat0 + size_deg : q->lat;
    double lo = q->lon < lon0 ? lon0 : q->lon > lon0 + size_deg ? lon0 + size_deg : q->lon;
    if (la > 90.0)
        la = 90.0;
    if (lo > 180.0)
        lo = 180.0;
    double best = median_at(q, la, lo);
    if (!models[q->model].isotropic) {
        for (int i = 0; i < QC_IPE_CELL_SAMPLES; i++)
            for (int j = 0; j < QC_IPE_CELL_SAMPLES; j++) {
                double sla = lat0 + size_deg * i / (QC_IPE_CELL_SAMPLES - 1);
                double slo = lon0 + size_deg * j / (QC_IPE_CELL_SAMPLES - 1);
                if (!qc_geo_valid(sla, slo))
                    continue;
                double v = median_at(q, sla, slo);
                if (v > best)
                    best = v;
            }
        best += QC_IPE_CELL_MARGIN;
    } else {
        best += QC_IPE_CELL_EPS;
    }
    return clamp_mmi(best);
}

double qc_ipe_reach_km(const qc_quake_t *q, double az_deg, double mmi, double max_km)
{
    if (!quake_valid(q) || !isfinite(az_deg) || !isfinite(mmi) || !(max_km > 0))
        return NAN;
    /* A model with a regional term need not fall monotonically along a
     * bearing (Vrancea shakes Bucharest harder than places nearer the
     * epicentre), so walk the whole bearing in 5 km steps, keep the last
     * step that reaches @p mmi, and bisect the step after it. */
    const double step = 5.0;
    double last = -1.0, la, ln;
    for (double d = 0.0; d <= max_km; d += step) {
        qc_geo_destination(q->lat, q->lon, az_deg, d, &la, &ln);
        if (qc_ipe_at(q, la, ln) >= mmi)
            last = d;
    }
    if (last < 0.0 || last + step > max_km)
        return last < 0.0 ? -1.0 : last;
    double lo = last, hi = last + step;
    while (hi - lo > 0.1) {
        double mid = (lo + hi) / 2.0;
        qc_geo_destination(q->lat, q->lon, az_deg, mid, &la, &ln);
        if (qc_ipe_at(q, la, ln) >= mmi)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}
