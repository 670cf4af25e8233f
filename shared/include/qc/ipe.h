/* ipe.h: predicted shaking intensity (MMI) and warning time. */
#ifndef QC_IPE_H
#define QC_IPE_H

/** S-wave speed used for the warning time, km/s (DESIGN.md section 6). */
#define QC_S_WAVE_KM_S 3.5

/** Bounds qc_ipe_mmi() clamps to. */
#define QC_IPE_MMI_MIN 1.0
#define QC_IPE_MMI_MAX 10.0

/** Predicted Modified Mercalli Intensity at hypocentral distance
 *  @p rhypo_km from an event of moment magnitude @p mag (see ipe.c for the
 *  equation and its citation). Clamped to [1, 10]. The median of the
 *  equation, without site amplification; its scatter is about 0.8 MMI.
 *  @returns NaN if @p mag or @p rhypo_km is NaN or infinite, or
 *  @p rhypo_km < 0. */
double qc_ipe_mmi(double mag, double rhypo_km);

/** Seconds from origin until the S-wave reaches hypocentral distance
 *  @p rhypo_km. */
double qc_ipe_s_arrival_s(double rhypo_km);

/** The largest epicentral distance, km, at which an event of moment
 *  magnitude @p mag at depth @p depth_km is still predicted to reach
 *  @p mmi (qc_ipe_mmi() of the hypocentral distance >= @p mmi), to within
 *  0.01 km, never more than QC_GEO_MAX_DISTANCE_KM. Used to choose the
 *  geographic cells an event can reach.
 *  @returns that distance (>= 0); -1.0 if @p mmi is not reached even at the
 *  epicentre; NaN if an argument is NaN or infinite or @p depth_km < 0. */
double qc_ipe_max_distance_km(double mag, double depth_km, double mmi);

/** The intensity as a Roman numeral ("I" .. "X"), rounded and clamped, as
 *  people read MMI in messages. */
const char *qc_ipe_mmi_roman(double mmi);

/* ---- models per tectonic regime ---- */

#include <stdbool.h>

#include "qc/regime.h"

/** The intensity models quakecast predicts with; one per tectonic regime
 *  (see ipe.c and docs/INTENSITY.md for the equations and citations). The
 *  numbers travel in job messages: never renumber. */
typedef enum qc_ipe_model {
    QC_IPE_AWW12 = 0,    /**< Allen, Wald & Worden (2012), hypocentral: active shallow crust */
    QC_IPE_VRANCEA = 1,  /**< the Vrancea intermediate-depth source */
    QC_IPE_INTRASLAB = 2, /**< intraslab (intermediate-depth) events elsewhere */
    QC_IPE_STABLE = 3,   /**< stable continental regions */
    QC_IPE_MODEL_COUNT
} qc_ipe_model_t;

/** What a prediction needs of an earthquake. */
typedef struct qc_quake {
    qc_ipe_model_t model;
    double lat, lon;    /**< epicentre, degrees */
    double depth_km;    /**< hypocentre depth */
    double mag;         /**< moment magnitude */
} qc_quake_t;

/** The model for a regime. */
qc_ipe_model_t qc_ipe_model_for(qc_regime_t g);

/** Short stable name of a model, as messages, the API and CAP carry it
 *  ("AWW2012", ...); "unknown" out of range. */
const char *qc_ipe_model_name(qc_ipe_model_t m);

/** True if the model's intensity depends on distance alone (a circle
 *  bounds where it reaches a level); false for a regional, direction-
 *  dependent one. */
bool qc_ipe_model_isotropic(qc_ipe_model_t m);

/** The model's citation in one line. */
const char *qc_ipe_model_citation(qc_ipe_model_t m);

/** Predicted intensity at a site (MMI; the Vrancea model's EMS-98 is read
 *  as MMI, see docs/INTENSITY.md), clamped to [QC_IPE_MMI_MIN,
 *  QC_IPE_MMI_MAX]. NaN for an invalid quake or site. */
double qc_ipe_at(const qc_quake_t *q, double lat, double lon);

/** Half an intensity unit: a threshold of VI is met by a prediction shown
 *  as VI, i.e. from 5.5 (people read intensities as rounded numerals). */
#define QC_IPE_THRESHOLD_MARGIN 0.5

/** True if a predicted intensity @p mmi reaches a subscriber's threshold
 *  @p min_mmi as people read it: the numeral shown (qc_ipe_mmi_roman(), the
 *  rounded value) is at least the threshold. False for NaN. */
bool qc_ipe_reaches(double mmi, double min_mmi);

/** An upper bound of qc_ipe_at() over the cell [lat0, lat0+size] x
 *  [lon0, lon0+size]: a cell below a threshold by this bound has nobody
 *  above it. */
double qc_ipe_cell_max(const qc_quake_t *q, double lat0, double lon0, double size_deg);

/** The largest epicentral distance, km, along bearing @p az_deg at which
 *  qc_ipe_at() >= @p mmi (to 0.1 km, sampled every 5 km, at most
 *  @p max_km); -1 if no point of the bearing reaches it. For the outline of
 *  the warned area. */
double qc_ipe_reach_km(const qc_quake_t *q, double az_deg, double mmi, double max_km);

#endif
