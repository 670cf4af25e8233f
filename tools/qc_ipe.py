"""qc_ipe: the intensity prediction equation of shared/src/ipe.c, in Python.

The demo and the system tests use it to work out, independently of the
processor and the dispatchers, which subscribers an event should reach.
It must stay the same equation as the C code: when ipe.c changes, change
this file too. `python3 tools/qc_ipe.py` checks it against the same
verification table tests/unit/test_ipe.c uses.

Equation: the hypocentral-distance IPE of

    Allen, T. I., Wald, D. J. and Worden, C. B. (2012). Intensity
    attenuation for active crustal regions. Journal of Seismology 16(3),
    409-433. doi:10.1007/s10950-012-9278-7

    MMI = c0 + c1*M + c2*ln(sqrt(Rhypo^2 + Rm^2))           Rhypo <= 50 km
        + c4*ln(Rhypo / 50)                       added for Rhypo >  50 km
    Rm  = m1 + m2*exp(M - 5)

    c0 = 2.085  c1 = 1.428  c2 = -1.402  c4 = 0.078  m1 = -0.209  m2 = 2.042

M is the moment magnitude, Rhypo the hypocentral distance in km; no site
term. The result is clamped to [1, 10]. See the top of shared/src/ipe.c for
where the coefficients were taken from and what was not checked.

Distances as in shared/src/geo.c: haversine on a sphere of radius
6371.0088 km (IUGG mean radius), hypocentral = sqrt(epicentral^2 + depth^2).

Python 3 standard library only.
"""

import math

# Allen, Wald and Worden (2012), hypocentral-distance model.
C0 = 2.085
C1 = 1.428
C2 = -1.402
C4 = 0.078
M1 = -0.209
M2 = 2.042
R_ANELASTIC_KM = 50.0  # c4 applies beyond this distance

MMI_MIN = 1.0   # QC_IPE_MMI_MIN
MMI_MAX = 10.0  # QC_IPE_MMI_MAX
S_WAVE_KM_S = 3.5  # QC_S_WAVE_KM_S
EARTH_RADIUS_KM = 6371.0088  # QC_EARTH_RADIUS_KM


def mmi(mag, rhypo_km):
    """Predicted MMI at hypocentral distance rhypo_km (km) from an event of
    moment magnitude mag, clamped to [1, 10]; NaN for NaN/infinite input
    or a negative distance (as qc_ipe_mmi())."""
    if not (math.isfinite(mag) and math.isfinite(rhypo_km)) or rhypo_km < 0.0:
        return math.nan
    rm = M1 + M2 * math.exp(mag - 5.0)
    v = C0 + C1 * mag + C2 * math.log(math.sqrt(rhypo_km * rhypo_km + rm * rm))
    if rhypo_km > R_ANELASTIC_KM:
        v += C4 * math.log(rhypo_km / R_ANELASTIC_KM)
    return min(max(v, MMI_MIN), MMI_MAX)


def distance_km(lat1, lon1, lat2, lon2):
    """Great-circle (haversine) distance in km (as qc_geo_distance_km())."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    sdphi = math.sin((phi2 - phi1) / 2.0)
    sdlam = math.sin(math.radians(lon2 - lon1) / 2.0)
    a = sdphi * sdphi + math.cos(phi1) * math.cos(phi2) * sdlam * sdlam
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))


def hypo_km(epi_km, depth_km):
    """Hypocentral distance in km (as qc_geo_hypo_km())."""
    return math.hypot(epi_km, depth_km)


def mmi_at(mag, depth_km, ev_lat, ev_lon, lat, lon):
    """Predicted MMI at lat/lon for an event at ev_lat/ev_lon, depth_km."""
    return mmi(mag, hypo_km(distance_km(ev_lat, ev_lon, lat, lon), depth_km))


def s_arrival_s(rhypo_km):
    """Seconds from origin until the S-wave reaches rhypo_km."""
    return rhypo_km / S_WAVE_KM_S


# OpenQuake's verification table for this model (gem/oq-engine
# openquake/hazardlib/tests/gsim/data/a12ipe/AWW_IPE_RHYPO_MEAN.csv), the
# rows tests/unit/test_ipe.c checks the C code with: (mag, rhypo_km, mmi).
OQ_TABLE = (
    (5.0, 1.0, 8.1928149), (5.0, 5.0, 6.8801720), (5.0, 10.0, 5.9736099),
    (5.0, 20.0, 5.0191197), (5.0, 50.0, 3.7394023), (5.0, 100.0, 2.8223814),
    (5.0, 300.0, 1.3680280), (6.0, 1.0, 8.2797327), (6.0, 5.0, 7.8627966),
    (6.0, 10.0, 7.2488079), (6.0, 20.0, 6.4046804), (6.0, 50.0, 5.1603881),
    (6.0, 100.0, 4.2486195), (6.0, 300.0, 2.7958320), (7.0, 1.0, 8.2924672),
    (7.0, 5.0, 8.2206291), (7.0, 10.0, 8.0343509), (7.0, 20.0, 7.5721877),
    (7.0, 50.0, 6.5368604), (7.0, 100.0, 5.6632662), (7.0, 300.0, 4.2223319),
)


def _selftest():
    bad = [(m, r, want, mmi(m, r)) for m, r, want in OQ_TABLE
           if abs(mmi(m, r) - want) > 1e-6]
    for row in bad:
        print("qc_ipe: M%.1f R=%.0f km: want %.7f got %.7f" % row)
    assert math.isnan(mmi(math.nan, 10.0)) and math.isnan(mmi(6.0, -1.0))
    assert mmi(4.0, 5000.0) == MMI_MIN
    # Same plausibility numbers test_ipe.c prints for 1977 (Bucharest).
    epi = distance_km(45.77, 26.76, 44.43, 26.10)
    print("qc_ipe: %d/%d table rows match; 1977 Vrancea at Bucharest: "
          "epi %.1f km, hypo %.1f km, MMI %.2f"
          % (len(OQ_TABLE) - len(bad), len(OQ_TABLE), epi,
             hypo_km(epi, 94.0), mmi(7.4, hypo_km(epi, 94.0))))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(_selftest())
