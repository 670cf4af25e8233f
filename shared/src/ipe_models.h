/* ipe_models.h: the regional intensity models behind qc_ipe_at() (ipe.c).
 * Each returns the unclamped median intensity at epicentral distance
 * @p epi_km and bearing @p az_deg (degrees from north, epicentre to site)
 * of the site (@p lat, @p lon). Internal to libqc. */
#ifndef QC_IPE_MODELS_H
#define QC_IPE_MODELS_H

#include "qc/ipe.h"

#include <stdbool.h>

#define QC_IPE_VRANCEA_NAME "VACAREANU2015+WGRW12"
#define QC_IPE_VRANCEA_CITATION "Vacareanu et al. (2015), J. Earthq. Eng. 19, 535-562, PGA, fore-arc/back-arc, " \
                                "EC8 ground C; MMI by Worden et al. (2012), BSSA 102, 204-221"
double qc_ipe_vrancea_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon);
/* its parts, for the tests: the site's side of the Carpathian arc, the
 * median PGA (cm/s2) and the conversion to MMI */
bool qc_ipe_vrancea_backarc(double lat, double lon);
double qc_ipe_vrancea_pga_cms2(double mag, double rhypo_km, double depth_km, bool backarc);
double qc_ipe_wgrw12_mmi(double pga_cms2, double dist_km, double mag);

#define QC_IPE_INTRASLAB_NAME "DOWRICKRHOADES2005-SLAB"
#define QC_IPE_INTRASLAB_CITATION "Dowrick & Rhoades (2005), Bull. NZSEE 38(4), 185-214, slab model"
double qc_ipe_intraslab_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon);

#define QC_IPE_STABLE_NAME "ATKINSONWALD2007-CEUS"
#define QC_IPE_STABLE_CITATION "Atkinson & Wald (2007), Seismol. Res. Lett. 78(3), 362-368, CEUS"
double qc_ipe_stable_median(const qc_quake_t *q, double epi_km, double az_deg, double lat, double lon);

#endif
