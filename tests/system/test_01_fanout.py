"""A real recorded earthquake fanned out end to end: every subscriber the
published intensity equation says will feel it gets exactly one signed
webhook, counted at the receiving sink; a subscriber far away gets none."""

import json
import os

from conftest import REPO, gen_subscribers, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


def test_vrancea_1977_reaches_everyone_once(stack, sink):
    lines = gen_subscribers(3000, sink, seed=7, prefix="fan-")
    # Two far below threshold: Lisbon and Oslo must not be warned.
    far = [{"id": "fan-lisbon", "lat": 38.72, "lon": -9.14, "lang": "en", "min_mmi": 4,
            "channels": {"webhook": {"url": sink + "/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}},
           {"id": "fan-oslo", "lat": 59.91, "lon": 10.75, "lang": "en",
            "channels": {"webhook": {"url": sink + "/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}}]
    lines += [(json.dumps(f) + "\n").encode() for f in far]
    assert lib.import_subscribers(stack.api, stack.token, lines) == len(lines)

    with open(EVENT, "rb") as f:
        t0, reply = lib.post_event(stack.api, stack.token, f.read())
    ev = lib.alert_of(reply)
    assert ev["event_id"] == "demo-vrancea-1977"
    assert abs(ev["magnitude"] - 7.4) < 1e-6 and abs(ev["depth_km"] - 94.0) < 1e-6
    assert ev["origin_time"].endswith("Z")
    # the Vrancea source has a model of its own, named in the decision
    assert ev["regime"] == "vrancea" and ev["model"] == "VACAREANU2015+WGRW12", ev
    alert = ev["alert_id"]
    st = wait_alert_complete(stack, alert)

    subs = lib.parse_subscribers(lines)
    expected, borderline = lib.classify(subs, lib.load_event(EVENT))
    # The sink may still be answering the last requests when Redis says done.
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 10, 0.1, "sink to catch up")
    full = lib.sink_ids(sink, alert)
    ledger = {k: v for k, v in full.items() if k.startswith("fan-")}
    result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
    result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
    print("fanout:", json.dumps(result))
    assert result["duplicates"] == 0
    assert result["missed"] == 0
    assert result["unexpected"] == 0
    assert len(full) == st["targeted"] == st["notified"]
    assert "fan-lisbon" not in ledger and "fan-oslo" not in ledger
    # most of Romania in front of the Carpathian arc feels a deep M7.4
    # (behind it, in Transylvania, the model attenuates faster)
    assert len(expected) > 2000
    summary = lib.sink_summary(sink, alert)
    assert summary["bad_signature"] == 0 and summary["duplicate_id_mismatch"] == 0


def test_repeat_of_same_event_alerts_nobody_again(stack, sink):
    with open(EVENT, "rb") as f:
        doc = f.read()
    # Not a drill this time: the real 1977 origin time is stale.
    status, body = lib.http_request("POST", stack.api + "/v1/events", doc,
                                    {"Authorization": "Bearer " + stack.token})
    assert status == 200
    ev = json.loads(body)["events"][0]
    assert ev["decision"] == "ignored" and ev["reason"] == "stale"
    assert ev.get("alert_id") is None


def test_fdsn_text_event_alerts(stack, sink):
    """The same quake as FDSN event text (the format of fdsnws-event, which
    INFP runs), told apart from GeoJSON by its Content-Type."""
    doc = (b"#EventID | Time | Latitude | Longitude | Depth/km | Author | Catalog | Contributor | "
           b"ContributorID | MagType | Magnitude | MagAuthor | EventLocationName\r\n"
           b"infp-1977|1977-03-04T19:21:54.1|45.77|26.76|94|INFP|ROMPLUS|INFP|1|Mw|7.4|INFP|VRANCEA, ROMANIA\r\n")
    status, body = lib.http_request("POST", stack.api + "/v1/events?replay=now", doc,
                                    {"Authorization": "Bearer " + stack.token, "Content-Type": "text/plain"})
    assert status == 200, body
    ev = json.loads(body)["events"][0]
    assert ev["event_id"] == "infp-1977" and ev["source"] == "romplus"
    assert abs(ev["magnitude"] - 7.4) < 1e-9 and abs(ev["depth_km"] - 94) < 1e-9
    assert ev["decision"] == "alert"
    st = wait_alert_complete(stack, ev["alert_id"])
    assert st["notified"] == st["targeted"] > 0
