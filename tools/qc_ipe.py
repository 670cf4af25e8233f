"""qc_ipe: quakecast's intensity prediction, written again in Python.

The demo, the benchmark, the system tests and the validation report use it
to work out, independently of the processor and the dispatchers, which
subscribers an event should reach and how strongly. It is a second
implementation of the same published equations (shared/src/ipe.c,
shared/src/ipe_regional.c, shared/src/regime.c, shared/src/ttime.c),
written from the equations, not from the C code; it reads the same data
tables (shared/data/). `python3 tools/qc_ipe.py` checks it against the
reference tables the C unit tests use.

The regime of an event (shared/data/tectonic_regions.txt) picks the model:

- active_shallow: Allen, Wald & Worden (2012), J. Seismol. 16, 409-433,
  hypocentral-distance IPE:
      MMI = c0 + c1 M + c2 ln sqrt(R^2 + Rm^2) [+ c4 ln(R/50) if R > 50]
      Rm = m1 + m2 exp(M - 5); c0 2.085 c1 1.428 c2 -1.402 c4 0.078
      m1 -0.209 m2 2.042
- vrancea: Vacareanu et al. (2015), J. Earthq. Eng. 19, 535-562, PGA in
  cm/s2 (EC8 ground C, fore-arc/back-arc), then Worden et al. (2012), BSSA
  102, 204-221, MMI from PGA with its distance and magnitude terms:
      ln PGA = 9.6231 + 1.4232 (M-6) - 0.1555 (M-6)^2 - 1.1316 ln R
               + (-0.0114 back-arc | -0.0024 fore-arc) R - 0.0007 h + 0.1589
      MMI = 1.78 + 1.55 y (y <= 1.57) | -1.60 + 3.70 y (y > 1.57)
            | 1.71 + 2.08 y (y < 0.14), y = log10 PGA,
            + (-0.91 + 1.02 log10 clip(R,10,300) - 0.17 clip(M,3,7.3))
- intraslab: Dowrick & Rhoades (2005), Bull. NZSEE 38(4), 185-214, slab:
      MMI = 3.76 + 1.48 M - 3.50 log10 R + 0.0031 h
- stable: Atkinson & Wald (2007), SRL 78(3), 362-368, CEUS:
      MMI = 11.72 + 2.36 (M-6) + 0.1155 (M-6)^2 - 0.44 log10 R'
            - 0.002044 R' + 2.31 max(0, log10(R'/80)) - 0.479 M log10 R'
      R' = sqrt(D^2 + 17^2), D epicentral
R is the hypocentral distance, h the depth, M the moment magnitude; the
result is clamped to [1, 10]. A subscriber's threshold is met when the
rounded intensity reaches it: MMI >= min_mmi - 0.5 (QC_IPE_THRESHOLD_MARGIN).
S-wave arrival: iasp91 first S (shared/data/iasp91.txt), bilinear.

Python 3 standard library only.
"""

import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "shared", "data")

MMI_MIN = 1.0   # QC_IPE_MMI_MIN
MMI_MAX = 10.0  # QC_IPE_MMI_MAX
THRESHOLD_MARGIN = 0.5  # QC_IPE_THRESHOLD_MARGIN
EARTH_RADIUS_KM = 6371.0088  # QC_EARTH_RADIUS_KM
KM_PER_DEG = 111.19508  # ttime.c: degrees of arc on that sphere

MODEL_NAMES = {
    "active_shallow": "AWW2012",
    "vrancea": "VACAREANU2015+WGRW12",
    "intraslab": "DOWRICKRHOADES2005-SLAB",
    "stable": "ATKINSONWALD2007-CEUS",
}


# ---------------------------------------------------------------- geometry

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


def _inside(poly, lat, lon):
    """Even-odd rule in the lon/lat plane; poly is [(lon, lat), ...]."""
    inside = False
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


# ---------------------------------------------------------------- regions

def _load_regions(path=os.path.join(DATA, "tectonic_regions.txt")):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            name, regime, dmin, dmax = parts[0], parts[1], float(parts[2]), float(parts[3])
            poly = None
            if parts[4] != "*":
                poly = [tuple(float(v) for v in p.split(",")) for p in parts[4:]]
            rows.append((name, regime, dmin, dmax, poly))
    return rows


def _load_backarc(path=os.path.join(DATA, "carpathian_backarc.txt")):
    with open(path) as f:
        return [tuple(float(v) for v in line.split(","))
                for line in f if line.strip() and not line.startswith("#")]


def _load_ttime(path=os.path.join(DATA, "iasp91.txt")):
    depths, tables = None, {"P": ([], []), "S": ([], [])}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split()
            if parts[0] == "depths":
                depths = [float(v) for v in parts[1:]]
                continue
            xs, rows = tables[parts[0]]
            xs.append(float(parts[1]))
            rows.append([float(v) for v in parts[2:]])
    return depths, tables


REGIONS = _load_regions()
BACKARC = _load_backarc()
TT_DEPTHS, TT = _load_ttime()


def regime(lat, lon, depth_km):
    """(regime, region name) of a hypocentre: the first row of the regions
    table whose depth range and polygon hold it."""
    for name, reg, dmin, dmax, poly in REGIONS:
        if dmin <= depth_km < dmax and (poly is None or _inside(poly, lat, lon)):
            return reg, name
    return ("intraslab" if depth_km >= 50 else "active_shallow"), "deep"


def backarc(lat, lon):
    """True behind the Carpathian arc (shared/data/carpathian_backarc.txt)."""
    return _inside(BACKARC, lat, lon)


# ---------------------------------------------------------------- models

def aww12(mag, rhypo):
    rm = -0.209 + 2.042 * math.exp(mag - 5.0)
    v = 2.085 + 1.428 * mag - 1.402 * math.log(math.sqrt(rhypo * rhypo + rm * rm))
    if rhypo > 50.0:
        v += 0.078 * math.log(rhypo / 50.0)
    return v


def vacareanu15_pga(mag, rhypo, depth, behind_arc):
    dm = mag - 6.0
    r = max(rhypo, 1.0)
    anel = -0.0114 if behind_arc else -0.0024
    return math.exp(9.6231 + 1.4232 * dm - 0.1555 * dm * dm - 1.1316 * math.log(r)
                    + anel * r - 0.0007 * depth + 0.1589)


def wgrw12(pga_cms2, dist, mag):
    y = math.log10(pga_cms2)
    if y < 0.14:
        v = 1.71 + 2.08 * y
    elif y <= 1.57:
        v = 1.78 + 1.55 * y
    else:
        v = -1.60 + 3.70 * y
    d = min(max(dist, 10.0), 300.0)
    m = min(max(mag, 3.0), 7.3)
    return v - 0.91 + 1.02 * math.log10(d) - 0.17 * m


def dr05_slab(mag, rhypo, depth):
    return 3.76 + 1.48 * mag - 3.50 * math.log10(max(rhypo, 1.0)) + 0.0031 * depth


def aw07_ceus(mag, epi):
    r = math.sqrt(epi * epi + 17.0 * 17.0)
    lr = math.log10(r)
    b = math.log10(r / 80.0) if r > 80.0 else 0.0
    dm = mag - 6.0
    return 11.72 + 2.36 * dm + 0.1155 * dm * dm - 0.44 * lr - 0.002044 * r + 2.31 * b - 0.479 * mag * lr


def predict(reg, mag, depth, ev_lat, ev_lon, lat, lon):
    """Predicted MMI at lat/lon, clamped to [1, 10], by the regime's model."""
    epi = distance_km(ev_lat, ev_lon, lat, lon)
    r = hypo_km(epi, depth)
    if reg == "vrancea":
        v = wgrw12(vacareanu15_pga(mag, r, depth, backarc(lat, lon)), r, mag)
    elif reg == "intraslab":
        v = dr05_slab(mag, r, depth)
    elif reg == "stable":
        v = aw07_ceus(mag, epi)
    else:
        v = aww12(mag, r)
    return min(max(v, MMI_MIN), MMI_MAX)


def mmi_at(mag, depth_km, ev_lat, ev_lon, lat, lon):
    """Predicted MMI at lat/lon for an event at ev_lat/ev_lon, depth_km,
    by the model its tectonic regime picks (as qc_ipe_at())."""
    if not all(math.isfinite(v) for v in (mag, depth_km, ev_lat, ev_lon, lat, lon)) or depth_km < 0:
        return math.nan
    reg, _ = regime(ev_lat, ev_lon, depth_km)
    return predict(reg, mag, depth_km, ev_lat, ev_lon, lat, lon)


def model_name(ev_lat, ev_lon, depth_km):
    return MODEL_NAMES[regime(ev_lat, ev_lon, depth_km)[0]]


def reaches(mmi, min_mmi):
    """A threshold is met when the rounded intensity reaches it."""
    return mmi >= min_mmi - THRESHOLD_MARGIN


def _tt(kind, depth_km, epi_km):
    xs, rows = TT[kind]
    extra = 0.0
    dmax = TT_DEPTHS[-1]
    if depth_km > dmax:
        extra = (depth_km - dmax) / (4.5 if kind == "S" else 8.0)
        depth_km = dmax
    x = epi_km / KM_PER_DEG

    def bracket(a, v):
        if v <= a[0]:
            return 0
        if v >= a[-1]:
            return len(a) - 2
        lo, hi = 0, len(a) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if a[mid] <= v:
                lo = mid
            else:
                hi = mid
        return lo
    i, j = bracket(xs, x), bracket(TT_DEPTHS, depth_km)
    fx = (x - xs[i]) / (xs[i + 1] - xs[i])
    fz = max(0.0, (depth_km - TT_DEPTHS[j]) / (TT_DEPTHS[j + 1] - TT_DEPTHS[j]))
    t0 = rows[i][j] + fx * (rows[i + 1][j] - rows[i][j])
    t1 = rows[i][j + 1] + fx * (rows[i + 1][j + 1] - rows[i][j + 1])
    return t0 + fz * (t1 - t0) + extra


def s_arrival_s(depth_km, epi_km):
    """Seconds from origin until the first S wave (iasp91) reaches a place
    epi_km from the epicentre of a source depth_km deep."""
    return _tt("S", depth_km, epi_km)


# OpenQuake's verification table for AllenEtAl2012Rhypo (gem/oq-engine
# openquake/hazardlib/tests/gsim/data/a12ipe/AWW_IPE_RHYPO_MEAN.csv),
# and OpenQuake 3.26.2's DowrickRhoades2005SSlab (Vs30 760), as in
# tests/unit/test_ipe.c and test_ipe_regional.c: (mag, rhypo or depth/epi, mmi).
OQ_AWW12 = ((5.0, 10.0, 5.9736099), (6.0, 50.0, 5.1603881), (7.0, 100.0, 5.6632662),
            (7.0, 300.0, 4.2223319))
OQ_DR05 = ((6, 57, 0, 6.67114), (7, 57, 100, 7.08288), (7, 150, 300, 5.74548))


def _selftest():
    bad = 0
    for m, r, want in OQ_AWW12:
        bad += abs(aww12(m, r) - want) > 1e-6
    for m, h, e, want in OQ_DR05:
        bad += abs(dr05_slab(m, hypo_km(e, h), h) - want) > 1e-5
    # Vacareanu 2015 + WGRW12 (test_ipe_regional.c): M7.5, 94 km, epi 50, fore-arc
    r = hypo_km(50, 94)
    bad += abs(wgrw12(vacareanu15_pga(7.5, r, 94, False), r, 7.5) - 7.89936) > 2e-4
    bad += abs(aw07_ceus(6, 100) - 5.10232) > 1e-4
    bad += abs(s_arrival_s(90, 1.4 * 111.19492664455873) - 43.395) > 0.01
    assert regime(45.77, 26.76, 94)[0] == "vrancea"
    assert regime(18.55, -98.49, 57)[0] == "intraslab"
    assert regime(37.23, 37.02, 10)[0] == "active_shallow"
    buc = mmi_at(7.4, 94, 45.77, 26.76, 44.4268, 26.1025)
    print("qc_ipe: %s; 1977 Vrancea at Bucharest: %s %.2f (AWW2012 %.2f), S after %.1f s"
          % ("all reference values match" if not bad else "%d MISMATCHES" % bad,
             model_name(45.77, 26.76, 94), buc,
             aww12(7.4, hypo_km(distance_km(45.77, 26.76, 44.4268, 26.1025), 94)),
             s_arrival_s(94, distance_km(45.77, 26.76, 44.4268, 26.1025))))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(_selftest())
