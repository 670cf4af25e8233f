"""A segment record that does not decode (issue 3, fault test 8): that one
slot goes to quake.dlq with the reason, the rest of its chunk and the
alert are delivered, and no process falls over."""

import json
import os
import subprocess

from conftest import BUILD, REPO, gen_subscribers, lib, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


def index_key(sub_id):
    """qc_sub_index_key() of shared/src/subscriber.c: FNV-1a, 4096 buckets."""
    h = 2166136261
    for b in sub_id.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return "qc:{reg}:idx:%d" % (h & 4095)


def redis(stack, *args, stdin=None):
    port = stack.vars["QUAKECAST_REDIS_PORT"]
    return subprocess.run(["redis-cli", "-c", "-p", port, *args], input=stdin, check=True,
                          capture_output=True).stdout.decode().strip()


def test_undecodable_record_is_dead_lettered(stack, sink):
    lines = gen_subscribers(300, sink, seed=41, prefix="rec-")
    lib.import_subscribers(stack.api, stack.token, lines)
    subs = lib.parse_subscribers(lines)
    expected, borderline = lib.classify(subs, lib.load_event(EVENT))
    victim = sorted(expected)[0]
    seg, slot = redis(stack, "HGET", index_key(victim), victim).split(":")
    redis(stack, "-x", "LSET", "qc:seg:{%s}:r" % seg, slot, stdin=b"\xc1not msgpack")

    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    st = wait_alert_complete(stack, alert)
    assert st["dead_lettered"] >= 1
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 20, 0.1, "sink to catch up")
    ledger = {k: v for k, v in lib.sink_ids(sink, alert).items() if k.startswith("rec-")}
    assert victim not in ledger
    assert (expected - {victim}) <= set(ledger)

    def dead_letters():
        dump = subprocess.run([os.path.join(BUILD, "tests", "tools", "qc-kafka-dlq"), stack.bootstrap],
                              check=True, capture_output=True, text=True).stdout
        dead = [json.loads(line) for line in dump.splitlines() if line.strip()]
        return [d for d in dead if d.get("alert_id") == alert and d.get("subscriber_id") == "slot-" + slot
                and d.get("seg") == seg]
    # The record is produced when the chunk settles; Kafka may take a moment.
    mine = wait_until(dead_letters, 20, 0.2, "the dead letter on quake.dlq")
    assert len(mine) == 1, mine
    assert mine[0]["reason"]
    assert sum(stack.metric(u, 'quakecast_bad_input_total{kind="segment_record"}')
               for u in stack.dispatcher_urls()) >= 1
    assert stack.healthy()
