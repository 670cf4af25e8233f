#!/usr/bin/env python3
"""Writes shared/data/iasp91.txt: first-arrival P and S travel times of the
iasp91 Earth model (Kennett, B. L. N. and Engdahl, E. R. (1991), Traveltimes
for global earthquake location and phase identification, Geophys. J. Int.
105, 429-465), computed with ObsPy's TauP (Crotwell, Owens & Ritsema 1999,
Seismol. Res. Lett. 70, 154-160; ObsPy: Krischer et al. 2015, Comput. Sci.
Discov. 8, 014003).

Run once, by hand, in a virtualenv with ObsPy (never by the build or tests):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install obspy==1.5.1
    /tmp/venv/bin/python tools/data/gen_iasp91_table.py > shared/data/iasp91.txt

First arrival among the direct and turning rays and the Moho head waves:
P from p, P, Pn; S from s, S, Sn (diffracted waves start far past 20 degrees) (TauP names an upgoing leg
from the source in lower case). Including Sn makes the S time the earliest
S-type arrival, so the seconds of warning quakecast announces are never
more than the model allows.
"""
import sys

import obspy
from obspy.taup import TauPyModel
from obspy.taup.seismic_phase import SeismicPhase

DEPTHS = list(range(0, 301, 10)) + list(range(350, 701, 50))
DISTS = [round(0.1 * i, 1) for i in range(0, 201)]  # degrees, 0..20
P_PHASES = ["p", "P", "Pn"]
S_PHASES = ["s", "S", "Sn"]


def first(phases, deg):
    times = [a.time for ph in phases for a in ph.calc_time(float(deg))]
    return min(times) if times else float("nan")


def main():
    model = TauPyModel(model="iasp91").model
    rows = {"P": {}, "S": {}}
    for d in DEPTHS:
        tm = model.depth_correct(float(d))
        for kind, names in (("P", P_PHASES), ("S", S_PHASES)):
            phases = []
            for n in names:
                try:
                    phases.append(SeismicPhase(n, tm))
                except Exception:  # a head wave that cannot exist below the Moho
                    pass
            for x in DISTS:
                rows[kind].setdefault(x, []).append(first(phases, x))
        print("depth", d, file=sys.stderr, flush=True)
    out = sys.stdout
    out.write("# iasp91 first-arrival travel times, seconds (Kennett & Engdahl 1991),\n")
    out.write("# computed with ObsPy %s TauP by tools/data/gen_iasp91_table.py;\n" % obspy.__version__)
    out.write("# P: first of p, P, Pn; S: first of s, S, Sn.\n")
    out.write("# Rows: P|S, epicentral distance in degrees, then one time per depth.\n")
    out.write("depths " + " ".join(str(d) for d in DEPTHS) + "\n")
    for kind in ("P", "S"):
        for x in DISTS:
            out.write("%s %.1f %s\n" % (kind, x, " ".join("%.3f" % t for t in rows[kind][x])))


if __name__ == "__main__":
    main()
