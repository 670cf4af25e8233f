"""Shallow crustal earthquakes keep their model (issue 12): replays of the
6 February 2023 Kahramanmaras (Turkiye) Mw 7.8 and the 28 March 2025
Mandalay (Myanmar) Mw 7.7 earthquakes are decided with AWW2012 and reach
every subscriber within 30 km of the epicentre, once each; a town far away
and below its threshold gets nothing. Epicentres as USGS ComCat gives them
(us6000jllz: 37.226 N 37.014 E, 10 km; us7000pn9s: 22.011 N 95.936 E,
10 km)."""

import json
import math
import uuid

from conftest import SECRET, lib, wait_alert_complete, wait_until

EVENTS = {
    "turkey": (37.226, 37.014, 10.0, 7.8, (41.0082, 28.9784)),   # far: Istanbul
    "myanmar": (22.011, 95.936, 10.0, 7.7, (16.8409, 96.1735)),  # far: Yangon
}


def ring(lat, lon, km, n):
    """n points km from lat/lon, evenly around."""
    out = []
    for k in range(n):
        az = 2 * math.pi * k / n
        out.append((lat + km * math.cos(az) / 111.2, lon + km * math.sin(az) / (111.2 * math.cos(math.radians(lat)))))
    return out


def test_crustal_replays_reach_the_near_field(stack, sink):
    for name, (lat, lon, depth, mag, far) in EVENTS.items():
        tag = uuid.uuid4().hex[:8]
        near = [(lat, lon)] + ring(lat, lon, 10, 6) + ring(lat, lon, 29, 8)
        subs = [{"id": "cr-%s-%s-%d" % (name, tag, i), "lat": la, "lon": lo, "min_mmi": 6,
                 "channels": {"webhook": {"url": sink + "/hook", "secret": SECRET}}}
                for i, (la, lo) in enumerate(near)]
        # far away with a threshold of VII: predicted well below it
        subs.append({"id": "cr-%s-%s-far" % (name, tag), "lat": far[0], "lon": far[1], "min_mmi": 7,
                     "channels": {"webhook": {"url": sink + "/hook", "secret": SECRET}}})
        lib.import_subscribers(stack.api, stack.token, [(json.dumps(s) + "\n").encode() for s in subs])
        doc = json.dumps({
            "type": "Feature", "id": "rp" + tag,
            "properties": {"mag": mag, "place": name, "time": lib.now_ms(), "updated": lib.now_ms(),
                           "status": "reviewed", "type": "earthquake", "net": "rp", "code": tag, "magType": "mww"},
            "geometry": {"type": "Point", "coordinates": [lon, lat, depth]}}).encode()
        _, reply = lib.post_event(stack.api, stack.token, doc)
        ev = lib.alert_of(reply)
        assert ev["regime"] == "active_shallow" and ev["model"] == "AWW2012", ev
        alert = ev["alert_id"]
        wait_alert_complete(stack, alert)
        ids = [s["id"] for s in subs[:-1]]
        wait_until(lambda: all(i in lib.sink_ids(sink, alert) for i in ids), 20, 0.1, "the near field of " + name)
        got = lib.sink_ids(sink, alert)
        assert all(got[i][0] == 1 for i in ids), {i: got.get(i) for i in ids}
        assert subs[-1]["id"] not in got
