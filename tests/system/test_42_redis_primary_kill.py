"""kill -9 of the Redis primary holding the most segments, mid-alert, on the
cluster shape (issue 16, E, its Redis half): the processor and two
dispatchers run on a Redis Cluster of three primaries with a replica each
(cluster-node-timeout 2000 ms) and three Kafka brokers. The primary is not
restarted: its replica must be promoted (a cluster failover), the alert must
complete, nobody missed, duplicates within the bound below.
QUAKECAST_TEST_REDIS_KILL_SUBSCRIBERS sets the size (default 100,000). Own
stack on QUAKECAST_TEST_PORT_BASE + 100; release pass of tests/run only
(QUAKECAST_TEST_CLUSTER_SHAPE).

The duplicate bound (docs/ARCHITECTURE.md, "Guarantees"): what a dispatcher
holds claimed and not completed is at most QUAKECAST_MAX_INFLIGHT records
(1024 here), and all of it may be sent again when the primary of its run
dies (its replies are lost; its lease may be too). Replication is
asynchronous, so the promoted replica may also lack the last completions
the dead primary acknowledged: at most one more chunk round per dispatcher,
again within MAX_INFLIGHT. So duplicates <= 2 x MAX_INFLIGHT per
dispatcher: 4,096 with two."""

import json
import os
import subprocess
import time

import pytest

from conftest import (BUILD, redis_cli, PORT_BASE, SANITIZER_RE, STACK, Stack, gen_subscribers, lib, wait_alert_complete,
                      wait_until)

EVENT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "tests", "data", "events", "vrancea_1977.geojson")
DISPATCHERS = 2
MAX_INFLIGHT = 1024


def crc16(data):
    """CRC16/XMODEM (poly 0x1021, init 0): the Redis Cluster key hash
    (cluster spec, "Key distribution model"; CRC16("123456789") = 0x31C3)."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def keyslot(key):
    s = key.find("{")
    if s >= 0:
        e = key.find("}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key.encode()) % 16384


@pytest.fixture(scope="module")
def cstack(tmp_path_factory):
    if os.environ.get("QUAKECAST_TEST_CLUSTER_SHAPE", "1") == "0":
        pytest.skip("QUAKECAST_TEST_CLUSTER_SHAPE=0")
    state = str(tmp_path_factory.mktemp("redis-cluster-stack"))
    env = dict(os.environ, QUAKECAST_STACK_DIR=state, QUAKECAST_PORT_BASE=str(PORT_BASE + 100),
               QUAKECAST_BUILD_DIR=BUILD, QUAKECAST_TOPOLOGY="cluster", QUAKECAST_DISPATCHERS=str(DISPATCHERS),
               QUAKECAST_LEASE_MS="3000", QUAKECAST_MAX_INFLIGHT=str(MAX_INFLIGHT))
    t0 = time.monotonic()
    up = subprocess.run([STACK, "up"], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        subprocess.run([STACK, "down"], env=env, capture_output=True)
        pytest.fail("cluster stack up failed:\n" + up.stdout + up.stderr)
    print("cluster: up in %.1f s" % (time.monotonic() - t0))
    try:
        yield Stack(state, env)
    finally:
        subprocess.run([STACK, "down"], env=env, capture_output=True)
        reports = []
        logs = os.path.join(state, "logs")
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                text = f.read()
            if SANITIZER_RE.search(text):
                reports.append(name + ":\n" + text[-4000:])
        subprocess.run([STACK, "down", "--purge"], env=env, capture_output=True)
        if reports:
            pytest.fail("sanitizer reports in the cluster stack's logs:\n" + "\n".join(reports))


VARS = {}  # the cluster stack's `stack env` (its links are authenticated)


def cli(port, *args):
    return redis_cli(VARS, port, "-c", *args, timeout=30) + "\n"


def primaries(port):
    """slot ranges -> primary port, from CLUSTER SLOTS (redis-cli's plain
    output: start, end, then per node host, port, id)."""
    out = redis_cli(VARS, port, "--json", "CLUSTER", "SLOTS", timeout=30)
    return [(r[0], r[1], r[2][1]) for r in json.loads(out)]


def node_roles(port):
    roles = {}
    for line in cli(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        roles[int(f[1].split("@")[0].rsplit(":", 1)[1])] = f[2]
    return roles


def test_redis_primary_kill_mid_alert(cstack, sink):
    n = int(os.environ.get("QUAKECAST_TEST_REDIS_KILL_SUBSCRIBERS", "100000"))
    VARS.update(cstack.vars)
    ports = [int(p) for p in cstack.vars["QUAKECAST_REDIS_PORTS"].split()]
    name_of = {p: "redis-%d" % (i + 1) for i, p in enumerate(ports)}
    t_imp = time.monotonic()
    lines = gen_subscribers(n, sink, seed=162, prefix="rk-")
    lib.import_subscribers(cstack.api, cstack.token, lines)
    print("cluster: %d subscribers imported in %.1f s" % (n, time.monotonic() - t_imp))
    subs = lib.parse_subscribers(lines)
    expected, borderline = lib.classify(subs, lib.load_event(EVENT))

    # Which primary holds the most segments (their records and runs)?
    segs = [s for s in cli(ports[0], "HKEYS", "qc:{reg}:segcat").split("\n") if s]
    assert segs, "no segments in the registry"
    ranges = primaries(ports[0])
    per = {}
    for s in segs:
        slot = keyslot("qc:seg:{%s}:r" % s)
        port = next(p for a, b, p in ranges if a <= slot <= b)
        per[port] = per.get(port, 0) + 1
    victim = max(per, key=lambda p: per[p])
    assert len(per) == 3, "segments on every primary: %s" % per
    roles = node_roles(ports[0])
    assert roles[victim].endswith("master"), roles

    # Every webhook answered 50 ms late: about 5,000 a second for both
    # dispatchers, so the kill lands mid-alert however fast the machine is
    # (an idle one finished the whole alert between two polls).
    # The session's sink may hold an earlier test's alert of the same id
    # (every stack numbers its alerts from a1: test_41's was also 100k).
    lib.sink_reset(sink)
    lib.http_json("POST", sink + "/_sink/faults", {"delay_ms": 50})
    try:
        with open(EVENT, "rb") as f:
            t0, reply = lib.post_event(cstack.api, cstack.token, f.read())
        alert = lib.alert_of(reply)["alert_id"]
        wait_until(lambda: lib.sink_summary(sink, alert)["received"] > 2000, 60, 0.02, "hand-offs before the kill")
        assert lib.sink_summary(sink, alert)["distinct"] < len(expected)
        killed_at = time.monotonic()
        cstack.run("kill", name_of[victim], "KILL")
    finally:
        lib.http_json("DELETE", sink + "/_sink/faults")

    # its replica takes over its slots
    other = next(p for p in ports if p != victim)

    def promoted():
        r = node_roles(other)
        live = sum(1 for v in r.values() if "master" in v and "fail" not in v)
        return r if "fail" in r.get(victim, "") and live == 3 else None
    roles_after = wait_until(promoted, 30, 0.2, "a replica promoted in place of %s" % name_of[victim])
    promoted_at = time.monotonic()

    st = wait_alert_complete(cstack, alert, timeout_s=300)
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 60, 0.1, "sink to catch up")
    full = lib.sink_ids(sink, alert)
    ledger = {k: v for k, v in full.items() if k.startswith("rk-")}
    result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
    result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
    result.update({"killed": name_of[victim], "its_segments": per[victim], "segments": len(segs),
                   "promoted_after_kill_s": round(promoted_at - killed_at, 1),
                   "completed_after_kill_s": round(time.monotonic() - killed_at, 1),
                   "new_primaries": sorted(name_of[p] for p, v in roles_after.items()
                                           if "master" in v and "fail" not in v)})
    print("redis primary kill:", json.dumps(result))
    assert result["missed"] == 0
    assert result["unexpected"] == 0
    assert result["duplicates"] <= 2 * MAX_INFLIGHT * DISPATCHERS
