"""Earliest deadline first (issue 13): with a provider quota far below the
demand, the people the S wave reaches first are handed off first, read from
the fake provider's own receive times, and nobody is sent twice.

60 SMS subscribers stand on a line across one geographic cell off the
Danube delta (0.25 degrees, 200-240 km from the 1977 Vrancea epicentre,
where nobody else of the test base lives: one segment, one chunk), imported
farthest first, so the order their records are stored and claimed in is
the opposite of the order their S waves arrive (about 6 s apart). The
session's SMS quota (40/s for all dispatchers) makes them queue. A
first-in-first-out dispatcher hands off the farthest first (rank correlation
near -1); earliest deadline first the nearest."""

import json
import os

from conftest import REPO, lib, wait_alert_complete, wait_until
from providers import RATE_SMS

import qc_ipe

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
N = 60


def spearman(xs, ys):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        for k, i in enumerate(order):
            r[i] = float(k)
        return r
    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy)


def test_earliest_deadline_first_under_a_quota(stack, providers):
    providers.reset()
    ev = lib.load_event(EVENT)
    # the cell [44.5, 44.75] x [29.25, 29.5], open sea: its nearest corner
    # to the epicentre first
    people = []
    for k in range(N):
        f = k / (N - 1)
        lat, lon = 44.749 - f * 0.24, 29.251 + f * 0.24
        phone = "+4072%07d" % k
        due = qc_ipe.s_arrival_s(ev["depth_km"], qc_ipe.distance_km(ev["lat"], ev["lon"], lat, lon))
        people.append((phone, lat, lon, due))
    lines = [(json.dumps({"id": "edf-%03d" % k, "lat": lat, "lon": lon, "lang": "en",
                          "channels": {"sms": {"phone": phone}}}) + "\n").encode()
             for k, (phone, lat, lon, _) in reversed(list(enumerate(people)))]  # farthest first
    assert lib.import_subscribers(stack.api, stack.token, lines) == N
    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    wait_until(lambda: sum(1 for r in providers.rows("twilio") if r.startswith("+4072")) == N, 90, 0.2,
               "every SMS")
    wait_alert_complete(stack, alert)
    got = {}
    for line in providers._req("GET", "/_sink/ids?provider=twilio").decode().splitlines():
        if line.strip():
            row = json.loads(line)
            if row["recipient"].startswith("+4072"):
                got.setdefault(row["recipient"], []).append(row)
    # nobody twice
    assert all(len(v) == 1 and v[0]["count"] == 1 for v in got.values()), \
        {k: v for k, v in got.items() if len(v) != 1 or v[0]["count"] != 1}
    firsts = [got[p][0]["first_ms"] for p, _, _, _ in people]
    dues = [d for _, _, _, d in people]
    rho = spearman(dues, firsts)
    span = (max(firsts) - min(firsts)) / 1000.0
    print("edf: %d SMS over %.1f s at %d/s; rank correlation of hand-off time with S arrival %.2f"
          % (N, span, RATE_SMS, rho))
    assert span >= N / RATE_SMS * 0.5  # the quota made them queue
    assert rho > 0.8, rho
    # the nearest tenth was handed off before the farthest tenth
    tenth = N // 10
    assert max(firsts[:tenth]) < min(firsts[-tenth:])
