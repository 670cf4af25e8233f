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

#endif
