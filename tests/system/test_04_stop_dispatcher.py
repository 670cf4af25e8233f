"""SIGSTOP a dispatcher past its lease, then SIGCONT (issue 3, fault test 2):
the others take its chunks over, its late writes are refused (fence
rejections counted by the stopped dispatcher), nobody is missed and the
extra sends stay within its in-flight bound."""

import json
import os
import time

from conftest import REPO, gen_subscribers, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
INFLIGHT_BOUND = 1024  # QUAKECAST_MAX_INFLIGHT set by the stack fixture
LEASE_S = 3.0          # QUAKECAST_LEASE_MS set by the stack fixture


def test_stopped_dispatcher_is_fenced(stack, sink):
    lines = gen_subscribers(12000, sink, seed=31, prefix="stop-")
    lib.import_subscribers(stack.api, stack.token, lines)
    subs = lib.parse_subscribers(lines)
    expected, borderline = lib.classify(subs, lib.load_event(EVENT))
    url = stack.dispatcher_urls()[0]
    fenced_before = stack.metric(url, "quakecast_fence_rejections_total")
    late_before = stack.metric(url, 'quakecast_leases_lost_total{reason="renew_late"}')
    lib.http_json("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 40, "count": 10000}).encode(),
                  content_type="application/json", expect=(200, 201, 204))
    pid = stack.ps()["dispatcher-1"]
    try:
        with open(EVENT, "rb") as f:
            t0, reply = lib.post_event(stack.api, stack.token, f.read())
        alert = lib.alert_of(reply)["alert_id"]
        wait_until(lambda: stack.metric(url, "quakecast_records_held") > 0, 30, 0.01,
                   "dispatcher-1 to hold a chunk")
        os.kill(pid, 19)  # SIGSTOP
        stopped_at = lib.sink_summary(sink, alert)["distinct"]
        assert stopped_at < len(expected), "alert finished before the stop: the test proves nothing"
        time.sleep(LEASE_S + 2.0)
    finally:
        os.kill(pid, 18)  # SIGCONT
        lib.http_request("DELETE", sink + "/_sink/faults")
    st = wait_alert_complete(stack, alert, timeout_s=120)
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 20, 0.1, "sink to catch up")
    # On waking up it either writes and is refused (fence rejection) or sees
    # first that it could not renew in time and writes nothing (lease lost
    # late); which comes first is the event loop's order after SIGCONT.
    def stale_writes():
        return (stack.metric(url, "quakecast_fence_rejections_total") - fenced_before
                + stack.metric(url, 'quakecast_leases_lost_total{reason="renew_late"}') - late_before)
    wait_until(lambda: stale_writes() > 0, 20, 0.1, "dispatcher-1 to find its lease gone")
    full = lib.sink_ids(sink, alert)
    ledger = {k: v for k, v in full.items() if k.startswith("stop-")}
    result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
    result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
    result["fence_rejections"] = stack.metric(url, "quakecast_fence_rejections_total") - fenced_before
    result["leases_lost_late"] = stack.metric(url, 'quakecast_leases_lost_total{reason="renew_late"}') - late_before
    print("stop test:", json.dumps(result))
    assert result["missed"] == 0
    assert result["unexpected"] == 0
    assert result["duplicates"] <= INFLIGHT_BOUND
    assert stack.healthy()
