/* regime.h: the tectonic regime of an earthquake, from the table of regions
 * in shared/data/tectonic_regions.txt (compiled in; see that file for the
 * sources of every region and depth range). The regime picks the intensity
 * model (ipe.h). */
#ifndef QC_REGIME_H
#define QC_REGIME_H

#include <stdbool.h>
#include <stddef.h>

typedef enum qc_regime {
    QC_REGIME_ACTIVE_SHALLOW = 0, /**< shallow crust near plate margins */
    QC_REGIME_INTRASLAB = 1,      /**< intermediate depth, inside a subducted slab */
    QC_REGIME_STABLE = 2,         /**< stable continental interior */
    QC_REGIME_VRANCEA = 3,        /**< the Vrancea intermediate-depth source */
    QC_REGIME_COUNT
} qc_regime_t;

typedef struct qc_regions qc_regions_t;

/** Parses a regions table (the format of tectonic_regions.txt).
 *  @returns a table the caller frees with qc_regions_destroy(), or NULL
 *  with the line and the reason in @p errstr. The last usable line must
 *  match everywhere ("*" polygon covering every depth) so that every
 *  hypocentre gets a regime. */
qc_regions_t *qc_regions_parse(const char *text, size_t len, char *errstr, size_t errstr_size);

/** The compiled-in table, or, if @p path is non-NULL and non-empty, the file
 *  at @p path. Caller frees. NULL with the reason in @p errstr. */
qc_regions_t *qc_regions_load(const char *path, char *errstr, size_t errstr_size);

/** Accepts NULL. */
void qc_regions_destroy(qc_regions_t *r);

/** The regime of a hypocentre: the first region whose depth range and
 *  polygon hold it. @p region, if non-NULL, gets the region's name (valid
 *  while @p r lives). */
qc_regime_t qc_regions_classify(const qc_regions_t *r, double lat, double lon, double depth_km,
                                const char **region);

/** "active_shallow", "intraslab", "stable", "vrancea". */
const char *qc_regime_name(qc_regime_t g);

/** The regime of a name as written in the table; false if unknown. */
bool qc_regime_from_name(const char *name, size_t len, qc_regime_t *out);

#endif
