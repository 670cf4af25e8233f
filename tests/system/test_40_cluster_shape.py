"""The local stack's cluster shape (issue 16, C): QUAKECAST_TOPOLOGY=cluster
starts a Redis Cluster of three primaries with a replica each and three
KRaft Kafka nodes; `ps` names them, `env` hands clients every address and
the topic settings, the topics have three replicas of which two must be in
sync, and `kill` reaches each node: after kill -9 of the broker leading the
most quake.dispatch partitions writes still succeed, and after kill -9 of
a Redis primary its replica takes its slots over. Runs its own stack on
QUAKECAST_TEST_PORT_BASE + 100 (infrastructure only, `up --infra`: the
processor and dispatchers on this shape are test_42's). Its links are
authenticated (Redis ACL users, Kafka SASL_SSL): the tools log in as the
admin user `stack env` names."""

import json
import os
import subprocess
import time

import pytest

from conftest import BUILD, PORT_BASE, STACK, client_env, lib, redis_cli, wait_until

TOPICS = ("quake.events", "quake.dispatch", "quake.dlq", "quake.alerts", "quake.notices")
# `stack env` of the module's stack: the cluster shape's links are
# authenticated, so the tools log in with what it prints.
VARS = {}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # tests/run runs this once, in the release pass: it exercises the stack
    # script and the brokers, not the sanitized binaries.
    if os.environ.get("QUAKECAST_TEST_CLUSTER_SHAPE", "1") == "0":
        pytest.skip("QUAKECAST_TEST_CLUSTER_SHAPE=0")
    state = str(tmp_path_factory.mktemp("cluster-stack"))
    env = dict(os.environ, QUAKECAST_STACK_DIR=state, QUAKECAST_PORT_BASE=str(PORT_BASE + 100),
               QUAKECAST_BUILD_DIR=BUILD, QUAKECAST_TOPOLOGY="cluster",
               # its default, asserted below, whatever the session's shape says
               QUAKECAST_STACK_AUTH="1")

    def run(*args, check=True):
        return subprocess.run([STACK, *args], env=env, check=check, capture_output=True, text=True)

    t0 = time.monotonic()
    up = run("up", "--infra", check=False)
    print("cluster shape: up --infra in %.1f s" % (time.monotonic() - t0))
    if up.returncode != 0:
        run("down", check=False)
        pytest.fail("cluster stack up failed:\n" + up.stdout + up.stderr)
    VARS.update(lib.parse_kv_lines(run("env").stdout))
    try:
        yield run
    finally:
        t0 = time.monotonic()
        run("down", "--purge", check=False)
        print("cluster shape: down in %.1f s" % (time.monotonic() - t0))


def topics(bootstrap, configs=True):
    tool = [os.path.join(BUILD, "tests", "tools", "qc-kafka-topics")] + ([] if configs else ["--no-config"])
    out = subprocess.run(tool + [bootstrap], capture_output=True, text=True, timeout=60, env=client_env(VARS)).stdout
    return {t["topic"]: t for t in map(json.loads, filter(str.strip, out.splitlines()))}


def cli(port, *args):
    return redis_cli(VARS, port, *args)


def slot_owner(port, slot):
    """Port of the primary serving @slot, as the node at @port sees it."""
    for line in cli(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        if len(f) < 9 or "master" not in f[2] or "fail" in f[2]:
            continue
        for r in f[8:]:
            lo, _, hi = r.partition("-")
            if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                return int(f[1].split("@")[0].rsplit(":", 1)[1])
    return None


def test_cluster_shape(cluster):
    t0 = time.monotonic()

    def mark(what):
        print("cluster shape: %s at %.1f s" % (what, time.monotonic() - t0))
    names = [line.split()[0] for line in cluster("ps").stdout.splitlines()]
    assert names == ["redis-%d" % i for i in range(1, 7)] + ["kafka-%d" % i for i in range(1, 4)]
    env = lib.parse_kv_lines(cluster("env").stdout)
    assert env["QUAKECAST_TOPOLOGY"] == "cluster"
    kports = [int(p) for p in env["QUAKECAST_KAFKA_PORTS"].split()]
    rports = [int(p) for p in env["QUAKECAST_REDIS_PORTS"].split()]
    assert env["QUAKECAST_KAFKA_BOOTSTRAP"] == ",".join("127.0.0.1:%d" % p for p in kports) and len(kports) == 3
    assert env["QUAKECAST_REDIS_URL"] == "redis-cluster://" + ",".join("127.0.0.1:%d" % p for p in rports)
    assert len(rports) == 6
    assert env["QUAKECAST_TOPIC_REPLICATION"] == "3" and env["QUAKECAST_TOPIC_MIN_INSYNC"] == "2"
    assert env["QUAKECAST_KAFKA_X_ENABLE_IDEMPOTENCE"] == "true"
    # authenticated links (test_44 checks them): the tools below log in
    assert env["QUAKECAST_STACK_AUTH"] == "1" and env["QUAKECAST_KAFKA_X_SECURITY_PROTOCOL"] == "SASL_SSL"

    # Every topic: three replicas, all in sync, two needed for a write.
    bootstrap = env["QUAKECAST_KAFKA_BOOTSTRAP"]
    # (each broker learns new topics from the metadata log a moment later)
    t = wait_until(lambda: (lambda t: t if all(n in t and t[n]["isr"] == 3 for n in TOPICS) else None)(
        topics(bootstrap)), 30, 0.5, "every topic's metadata on every broker")
    for name in TOPICS:
        assert (t[name]["replicas"], t[name]["isr"], t[name]["min_insync"]) == (3, 3, 2), t[name]
    assert t["quake.dispatch"]["partitions"] == 32

    # kill -9 of the broker leading the most quake.dispatch partitions:
    # its partitions get new leaders and writes with acks=all go on.
    leaders = t["quake.dispatch"]["leaders"]
    victim = max(leaders, key=lambda b: leaders[b])
    mark("checked; killing kafka-%s" % victim)
    cluster("kill", "kafka-%s" % victim, "KILL")
    put = os.path.join(BUILD, "tests", "tools", "qc-kafka-put")

    def led_elsewhere():
        d = topics(bootstrap, False).get("quake.dispatch")
        return d and victim not in d["leaders"]
    wait_until(led_elsewhere, 60, 0.5, "quake.dispatch led by the other two brokers")
    mark("new leaders")
    for i in range(5):
        subprocess.run([put, bootstrap, "quake.dispatch", "k%d" % i], input=b"x", check=True, timeout=30,
                       env=client_env(VARS))
    wait_until(lambda: topics(bootstrap, False)["quake.dispatch"]["isr"] == 2, 60, 0.5, "kafka-%s out of the ISRs" % victim)
    mark("writes go on without it")
    cluster("start", "kafka-%s" % victim)
    wait_until(lambda: topics(bootstrap, False)["quake.dispatch"]["isr"] == 3, 90, 0.5, "the broker back in sync")

    # kill -9 of the Redis primary serving one key's slot: its replica is
    # promoted and the key is writable again.
    mark("kafka-%s back in sync" % victim)
    slot = int(cli(rports[0], "CLUSTER", "KEYSLOT", "{fo}"))
    owner = slot_owner(rports[0], slot)
    assert owner in rports
    assert cli(owner, "SET", "{fo}k", "before") == "OK"
    assert cli(owner, "WAIT", "1", "5000") == "1"
    name = "redis-%d" % (rports.index(owner) + 1)
    cluster("kill", name, "KILL")
    other = next(p for p in rports if p != owner)

    def promoted():
        p = slot_owner(other, slot)
        return p if p not in (None, owner) else None
    new_owner = wait_until(promoted, 60, 0.2, "a replica promoted for slot %d" % slot)
    mark("replica promoted")
    assert cli(new_owner, "GET", "{fo}k") == "before"
    assert cli(new_owner, "SET", "{fo}k", "after") == "OK"
    # the old primary comes back as a replica of the new one
    cluster("start", name)
    wait_until(lambda: "role:slave" in cli(owner, "INFO", "replication"), 60, 0.2, name + " back as a replica")
    assert names == [line.split()[0] for line in cluster("ps").stdout.splitlines()]
    mark("old primary back as a replica")
