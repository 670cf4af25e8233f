/* ttime.h: seismic travel times from a 1-D Earth model (iasp91; table in
 * shared/data/iasp91_s.txt, compiled in, with its provenance). */
#ifndef QC_TTIME_H
#define QC_TTIME_H

/** Seconds from origin until the first S wave from a source @p depth_km deep
 *  reaches the surface @p epi_km away (epicentral distance along the
 *  Earth's surface): iasp91 (Kennett & Engdahl 1991), bilinear in depth and
 *  distance. Depths past the table use its deepest row plus the extra depth
 *  at 4.5 km/s; distances past it extend its last slope.
 *  @returns NaN for a NaN, infinite or negative argument. */
double qc_ttime_s(double depth_km, double epi_km);

/** The same for the first P wave (the earliest any network can detect). */
double qc_ttime_p(double depth_km, double epi_km);

#endif
