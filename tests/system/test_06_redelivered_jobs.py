"""Jobs redelivered after their work was done send nothing (issue 3, fault
test 7). A dispatcher joining under a new consumer group reads every job
ever published on quake.dispatch, as if all their offsets had been lost:
each must find its run done and hand nothing off."""

import os

from conftest import REPO, gen_subscribers, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


def test_redelivered_jobs_send_nothing(stack, sink):
    lines = gen_subscribers(500, sink, seed=51, prefix="redo-")
    lib.import_subscribers(stack.api, stack.token, lines)
    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    wait_alert_complete(stack, alert)
    before = lib.sink_summary(sink)["received"]

    env = dict(stack.env, QUAKECAST_KAFKA_X_GROUP_ID="replay-everything")
    old_env, stack.env = stack.env, env
    try:
        stack.run("start", "dispatcher-3")
    finally:
        stack.env = old_env
    # The stack's ports: the processor at base+3, dispatcher-N at base+10+N.
    port = int(stack.vars["QUAKECAST_API_URL"].rsplit(":", 1)[1]) - 3 + 13
    url = "http://127.0.0.1:%d" % port
    try:
        wait_until(lambda: stack.metric(url, "quakecast_jobs_total") > 0, 60, 0.2, "replayed jobs")
        # Settled when nothing is active and the count stops moving.
        last = [-1.0]

        def settled():
            n = stack.metric(url, "quakecast_jobs_total")
            done = n == last[0] and stack.metric(url, "quakecast_jobs_active") == 0
            last[0] = n
            return done
        wait_until(settled, 60, 1.0, "replay to settle")
        replayed = stack.metric(url, "quakecast_jobs_total")
        sent = stack.metric(url, 'quakecast_notifications_total{result="sent"}')
        print("replayed jobs:", replayed, "sent:", sent)
        assert replayed >= 10
        assert sent == 0
        assert lib.sink_summary(sink)["received"] == before
    finally:
        stack.run("stop", "dispatcher-3", check=False)
