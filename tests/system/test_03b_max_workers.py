"""More dispatchers than max_workers on a segment (issue 3, fault test 4):
the highest number of simultaneous lease holders ever seen on any run
(kept by acquire.lua as leases_max) never exceeds the run's max_workers,
while dispatchers were refused for it (BUSY). Two extra dispatchers join
under a second consumer group, so every job of the alert exists twice and
twice as many workers ask for each segment as it allows."""

import json
import os
import subprocess

from conftest import REPO, gen_subscribers, lib, wait_alert_complete

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


def test_lease_holders_never_exceed_max_workers(stack, sink):
    env, stack.env = stack.env, dict(stack.env, QUAKECAST_KAFKA_X_GROUP_ID="second-group")
    try:
        for name in ("dispatcher-3", "dispatcher-4"):
            stack.run("start", name)
    finally:
        stack.env = env
    try:
        lines = gen_subscribers(8000, sink, seed=33, prefix="maxw-")
        lib.import_subscribers(stack.api, stack.token, lines)
        lib.http_json("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 30, "count": 6000}).encode(),
                      content_type="application/json", expect=(200, 201, 204))
        try:
            with open(EVENT, "rb") as f:
                _, reply = lib.post_event(stack.api, stack.token, f.read())
            alert = lib.alert_of(reply)["alert_id"]
            wait_alert_complete(stack, alert)
        finally:
            lib.http_request("DELETE", sink + "/_sink/faults")
        port = stack.vars["QUAKECAST_REDIS_PORT"]

        def redis(*args):
            return subprocess.run(["redis-cli", "-c", "-p", port, *args], capture_output=True, text=True,
                                  check=True).stdout.split("\n")
        worst, refused, runs = 0, 0, 0
        for run in redis("LRANGE", "qc:{alert}:%s:runs" % alert, "0", "-1"):
            if not run:
                continue
            seg, rev = run.rsplit(":", 1)
            maxw, seen, busy = redis("HMGET", "qc:run:{%s}:%s:%s" % (seg, alert, rev), "maxw", "leases_max",
                                     "leases_refused")[:3]
            runs += 1
            assert int(seen or 0) <= int(maxw), (run, maxw, seen)
            worst = max(worst, int(seen or 0))
            refused += int(busy or 0)
        print("max_workers test: runs %d, most holders at once %d, refusals %d" % (runs, worst, refused))
        assert runs > 0 and worst >= 1
        assert refused > 0, "no dispatcher was ever refused: the bound was not put to the test"
    finally:
        for name in ("dispatcher-3", "dispatcher-4"):
            stack.run("stop", name, check=False)
