"""kill -9 of the Kafka broker leading the most quake.dispatch partitions,
mid-alert, on three brokers (issue 16, E, its Kafka half): the processor
and two dispatchers run on the stack's kafka-cluster shape (three KRaft
nodes, topics at three replicas and min.insync.replicas=2, idempotent
producers with acks=all; one Redis, so that only Kafka fails over here;
test_42 is the Redis Cluster's half). The broker is not restarted: the
alert must complete on the other two, nobody missed. QUAKECAST_TEST_BROKER_KILL_SUBSCRIBERS sets the
size (default 100,000). Own stack on QUAKECAST_TEST_PORT_BASE + 100;
release pass of tests/run only (QUAKECAST_TEST_CLUSTER_SHAPE)."""

import json
import os
import subprocess
import time

import pytest

from conftest import BUILD, PORT_BASE, REPO, STACK, Stack, client_env, gen_subscribers, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


@pytest.fixture(scope="module")
def kstack(tmp_path_factory):
    if os.environ.get("QUAKECAST_TEST_CLUSTER_SHAPE", "1") == "0":
        pytest.skip("QUAKECAST_TEST_CLUSTER_SHAPE=0")
    state = str(tmp_path_factory.mktemp("kafka-cluster-stack"))
    env = dict(os.environ, QUAKECAST_STACK_DIR=state, QUAKECAST_PORT_BASE=str(PORT_BASE + 100),
               QUAKECAST_BUILD_DIR=BUILD, QUAKECAST_TOPOLOGY="kafka-cluster", QUAKECAST_DISPATCHERS="2",
               QUAKECAST_LEASE_MS="3000", QUAKECAST_MAX_INFLIGHT="1024")
    t0 = time.monotonic()
    up = subprocess.run([STACK, "up"], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        subprocess.run([STACK, "down"], env=env, capture_output=True)
        pytest.fail("kafka-cluster stack up failed:\n" + up.stdout + up.stderr)
    print("kafka-cluster: up in %.1f s" % (time.monotonic() - t0))
    try:
        yield Stack(state, env)
    finally:
        subprocess.run([STACK, "down", "--purge"], env=env, capture_output=True)


def dispatch_leaders(stack):
    # the kafka-cluster shape's links are authenticated: log in as `stack env` says
    out = subprocess.run([os.path.join(BUILD, "tests", "tools", "qc-kafka-topics"), "--no-config", stack.bootstrap,
                          "quake.dispatch"], capture_output=True, text=True, timeout=60,
                         env=client_env(stack.vars)).stdout
    return json.loads(out)["leaders"] if out.strip() else {}


def test_broker_kill_mid_alert(kstack, sink):
    n = int(os.environ.get("QUAKECAST_TEST_BROKER_KILL_SUBSCRIBERS", "100000"))
    t_imp = time.monotonic()
    lines = gen_subscribers(n, sink, seed=161, prefix="bk-")
    lib.import_subscribers(kstack.api, kstack.token, lines)
    print("kafka-cluster: %d subscribers imported in %.1f s" % (n, time.monotonic() - t_imp))
    subs = lib.parse_subscribers(lines)
    expected, borderline = lib.classify(subs, lib.load_event(EVENT))
    leaders = dispatch_leaders(kstack)
    victim = max(leaders, key=lambda b: leaders[b])
    with open(EVENT, "rb") as f:
        t0, reply = lib.post_event(kstack.api, kstack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    wait_until(lambda: lib.sink_summary(sink, alert)["received"] > 2000, 60, 0.02, "hand-offs before the kill")
    assert lib.sink_summary(sink, alert)["distinct"] < len(expected)
    killed_at = time.monotonic()
    kstack.run("kill", "kafka-%s" % victim, "KILL")
    st = wait_alert_complete(kstack, alert, timeout_s=300)
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 60, 0.1, "sink to catch up")
    full = lib.sink_ids(sink, alert)
    ledger = {k: v for k, v in full.items() if k.startswith("bk-")}
    result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
    result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
    result.update({"killed": "kafka-%s" % victim, "its_dispatch_partitions": leaders[victim],
                   "completed_after_kill_s": round(time.monotonic() - killed_at, 1)})
    print("kafka broker kill:", json.dumps(result))
    assert result["missed"] == 0
    assert result["unexpected"] == 0
    # Kafka redelivers jobs whose offsets were not committed: the leases and
    # delivered bits in Redis keep that from sending again; at most what the
    # dispatchers held in flight is repeated.
    assert result["duplicates"] <= 2 * 1024
