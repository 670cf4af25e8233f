"""The processor's clean stop (issue 14): on SIGTERM it reports not ready,
refuses new events with 503, answers the request it holds and only then
exits, with status 0, inside QUAKECAST_SHUTDOWN_GRACE_S.

A processor of its own (not the session stack's) holds a POST /v1/events
for its whole decision timeout: its Kafka bootstrap is a port nobody
listens on, so no decision can come and the request is answered "pending"
when QUAKECAST_DECISION_TIMEOUT_MS runs out. A processor that stopped at
once would reset that connection instead."""

import os
import signal
import socket
import subprocess
import threading
import time

from conftest import BUILD, REPO, lib, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
DECISION_TIMEOUT_MS = 2500
GRACE_S = 8


def answers(url):
    try:
        return lib.http_request("GET", url, timeout=2)[0] == 200
    except lib.DemoError:  # not listening yet
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_answers_held_request_then_exits(stack, tmp_path):
    port, dead_kafka = free_port(), free_port()
    api = "http://127.0.0.1:%d" % port
    env = dict(os.environ)
    env.update({
        "QUAKECAST_HTTP_ADDR": "127.0.0.1",
        "QUAKECAST_HTTP_PORT": str(port),
        "QUAKECAST_REDIS_URL": stack.vars["QUAKECAST_REDIS_URL"],
        "QUAKECAST_KAFKA_BOOTSTRAP": "127.0.0.1:%d" % dead_kafka,
        "QUAKECAST_API_TOKEN": "drain-test-token",
        "QUAKECAST_INSTANCE": "drain-test",
        "QUAKECAST_DECISION_TIMEOUT_MS": str(DECISION_TIMEOUT_MS),
        "QUAKECAST_SHUTDOWN_GRACE_S": str(GRACE_S),
    })
    logpath = tmp_path / "processor.log"
    with open(logpath, "w") as logf:
        proc = subprocess.Popen([os.path.join(BUILD, "processor", "quakecast-processor")], env=env,
                                stdout=logf, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: answers(api + "/healthz"), 30, 0.05,
                   "the drain test's processor to listen")
        with open(EVENT, "rb") as f:
            doc = f.read()
        answer = {}

        def post():
            try:
                answer["status"], answer["body"] = lib.http_request(
                    "POST", api + "/v1/events?replay=now", doc,
                    {"Authorization": "Bearer drain-test-token", "Content-Type": "application/geo+json"})
            except lib.DemoError as e:
                answer["error"] = str(e)
            answer["at"] = time.monotonic()
            answer["alive"] = proc.poll() is None

        t = threading.Thread(target=post)
        t.start()
        wait_until(lambda: stack.metric(api, "quakecast_events_received_total") >= 1, 10, 0.01,
                   "the event to be received and held")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # While it drains: not ready, and new events go elsewhere.
        status, body = lib.http_request("GET", api + "/readyz", timeout=2)
        assert status == 503 and b"shutting down" in body, (status, body)
        status, body = lib.http_request("POST", api + "/v1/events", doc,
                                        {"Authorization": "Bearer drain-test-token",
                                         "Content-Type": "application/geo+json"}, timeout=2)
        assert status == 503 and b"shutting_down" in body, (status, body)
        t.join(DECISION_TIMEOUT_MS / 1000 + 5)
        tail = lambda: logpath.read_text()[-3000:]  # noqa: E731 - the processor's side, on failure
        assert "error" not in answer, (answer, tail())
        assert answer["status"] == 202, (answer, tail())  # "pending": the timeout ran out, but it was answered
        assert answer["alive"], "the processor exited before answering the request it held"
        rc = proc.wait(GRACE_S + 5)
        took = time.monotonic() - sent
        assert rc == 0, (rc, tail())
        assert took < GRACE_S, "drain took %.1f s, longer than the grace period" % took
        text = logpath.read_text()
        assert '"event":"draining"' in text and '"event":"drained"' in text, text[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
