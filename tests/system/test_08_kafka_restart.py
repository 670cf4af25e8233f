"""The Kafka broker killed with kill -9 and restarted mid-alert (issue 3,
fault test 6): the alert completes and nobody is missed."""

import json
import os
import time

from conftest import REPO, gen_subscribers, lib, single_shape_only, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
INFLIGHT_BOUND = 1024


def test_kafka_restart_mid_alert(stack, sink):
    single_shape_only(stack, "restarts the one broker (the cluster's analogue, a broker killed mid-alert, "
                      "is test_41)")
    lines = gen_subscribers(12000, sink, seed=71, prefix="kfk-")
    lib.import_subscribers(stack.api, stack.token, lines)
    subs = lib.parse_subscribers(lines)
    expected, borderline = lib.classify(subs, lib.load_event(EVENT))
    lib.http_json("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 40, "count": 8000}).encode(),
                  content_type="application/json", expect=(200, 201, 204))
    try:
        with open(EVENT, "rb") as f:
            t0, reply = lib.post_event(stack.api, stack.token, f.read())
        alert = lib.alert_of(reply)["alert_id"]
        wait_until(lambda: lib.sink_summary(sink, alert)["received"] > 500, 30, 0.02, "hand-offs before the crash")
        assert lib.sink_summary(sink, alert)["distinct"] < len(expected)
        stack.run("kill", "kafka", "KILL")
        time.sleep(1.0)
        stack.run("start", "kafka")
    finally:
        lib.http_request("DELETE", sink + "/_sink/faults")
    st = wait_alert_complete(stack, alert, timeout_s=150)
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 30, 0.1, "sink to catch up")
    full = lib.sink_ids(sink, alert)
    ledger = {k: v for k, v in full.items() if k.startswith("kfk-")}
    result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
    result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
    print("kafka restart:", json.dumps(result))
    assert result["missed"] == 0
    assert result["unexpected"] == 0
    # Work in Redis goes on while the broker is away: no one is sent twice
    # beyond what dispatchers had in flight.
    assert result["duplicates"] <= INFLIGHT_BOUND * 2
    assert stack.healthy()
