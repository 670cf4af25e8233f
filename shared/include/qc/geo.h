/* geo.h: distances on the Earth and the geographic cells subscribers are
 * grouped by. */
#ifndef QC_GEO_H
#define QC_GEO_H

#include <stdbool.h>
#include <stdint.h>

#define QC_EARTH_RADIUS_KM 6371.0088 /* IUGG mean radius */

/** The largest great-circle distance on the sphere (half its circumference),
 *  km: no two points are farther apart than this. */
#define QC_GEO_MAX_DISTANCE_KM (3.14159265358979323846 * QC_EARTH_RADIUS_KM)

/** Great-circle (haversine) distance in km between two WGS84 points, on the
 *  sphere of radius QC_EARTH_RADIUS_KM (within about 0.5% of the ellipsoidal
 *  distance).
 *  @returns the distance in [0, QC_GEO_MAX_DISTANCE_KM], or NaN if either
 *  point fails qc_geo_valid(). */
double qc_geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/** Hypocentral distance in km: sqrt(epicentral^2 + depth^2).
 *  @returns NaN if either argument is NaN. */
double qc_geo_hypo_km(double epi_km, double depth_km);

/** Initial bearing, degrees clockwise from north in [0, 360), of the great
 *  circle from point 1 to point 2 (0 if they coincide). */
double qc_geo_azimuth_deg(double lat1, double lon1, double lat2, double lon2);

/** The point @p dist_km from (@p lat, @p lon) along the great circle that
 *  leaves it at bearing @p az_deg (clockwise from north), on the same
 *  sphere as qc_geo_distance_km(). */
void qc_geo_destination(double lat, double lon, double az_deg, double dist_km, double *lat2, double *lon2);

/** @returns true if lat/lon are finite and in range (lat in [-90, 90],
 *  lon in [-180, 180] degrees). */
bool qc_geo_valid(double lat, double lon);

#endif
