/* geo.c: great-circle and hypocentral distances. */
#include "qc/geo.h"

#include <math.h>

#define QC_GEO_DEG2RAD (3.14159265358979323846 / 180.0)

bool qc_geo_valid(double lat, double lon)
{
    /* isfinite() first: NaN fails every comparison, but say so plainly. */
    return isfinite(lat) && isfinite(lon) && lat >= -90.0 && lat <= 90.0 &&
           lon >= -180.0 && lon <= 180.0;
}

double qc_geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    if (!qc_geo_valid(lat1, lon1) || !qc_geo_valid(lat2, lon2))
        return NAN;

    double phi1 = lat1 * QC_GEO_DEG2RAD, phi2 = lat2 * QC_GEO_DEG2RAD;
    double sdphi = sin((phi2 - phi1) / 2.0);
    double sdlam = sin((lon2 - lon1) * QC_GEO_DEG2RAD / 2.0);
    double a = sdphi * sdphi + cos(phi1) * cos(phi2) * sdlam * sdlam;

    /* Rounding can push a a hair past 1 for antipodal points, and asin()
     * of that is NaN. */
    if (a > 1.0)
        a = 1.0;
    return 2.0 * QC_EARTH_RADIUS_KM * asin(sqrt(a));
}

double qc_geo_hypo_km(double epi_km, double depth_km)
{
    /* hypot(NaN, inf) is inf by C99 F.9.4.3; a NaN input must stay visible. */
    if (isnan(epi_km) || isnan(depth_km))
        return NAN;
    return hypot(epi_km, depth_km);
}

/* Spherical trigonometry: the forward azimuth and the direct problem on the
 * sphere (e.g. Snyder, J. P. (1987), Map Projections: A Working Manual,
 * USGS Professional Paper 1395, equations 5-4b and 5-5/5-6). */
double qc_geo_azimuth_deg(double lat1, double lon1, double lat2, double lon2)
{
    double phi1 = lat1 * QC_GEO_DEG2RAD, phi2 = lat2 * QC_GEO_DEG2RAD;
    double dlam = (lon2 - lon1) * QC_GEO_DEG2RAD;
    double y = sin(dlam) * cos(phi2);
    double x = cos(phi1) * sin(phi2) - sin(phi1) * cos(phi2) * cos(dlam);
    if (x == 0.0 && y == 0.0)
        return 0.0;
    double az = atan2(y, x) / QC_GEO_DEG2RAD;
    return az < 0.0 ? az + 360.0 : az;
}

void qc_geo_destination(double lat, double lon, double az_deg, double dist_km, double *lat2, double *lon2)
{
    double phi1 = lat * QC_GEO_DEG2RAD, lam1 = lon * QC_GEO_DEG2RAD;
    double th = az_deg * QC_GEO_DEG2RAD, d = dist_km / QC_EARTH_RADIUS_KM;
    double sphi2 = sin(phi1) * cos(d) + cos(phi1) * sin(d) * cos(th);
    if (sphi2 > 1.0)
        sphi2 = 1.0;
    if (sphi2 < -1.0)
        sphi2 = -1.0;
    double phi2 = asin(sphi2);
    double lam2 = lam1 + atan2(sin(th) * sin(d) * cos(phi1), cos(d) - sin(phi1) * sphi2);
    double l = fmod(lam2 / QC_GEO_DEG2RAD + 540.0, 360.0) - 180.0;
    *lat2 = phi2 / QC_GEO_DEG2RAD;
    *lon2 = l;
}
