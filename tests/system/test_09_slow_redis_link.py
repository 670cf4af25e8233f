"""The link from one dispatcher to Redis slowed past the lease time (issue
3, fault test 9). A TCP proxy of the test's own sits between that
dispatcher and Redis and, once switched, holds every byte for 5 s. The
dispatcher must stop starting sends once it cannot renew (no send starts
after its lease expired), the others take its work over, and nobody is
missed."""

import asyncio
import json
import os
import socket
import subprocess
import threading
import time

from conftest import BUILD, REPO, gen_subscribers, lib, single_shape_only, wait_alert_complete, wait_until

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
LEASE_S = 3.0


class SlowProxy:
    """127.0.0.1:port -> Redis; delay_s is applied to every chunk, both ways."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.delay_s = 0.0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _client(self, reader, writer):
        try:
            r2, w2 = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, w2), self._pipe(r2, writer))

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_slow_redis_link(stack, sink, tmp_path):
    single_shape_only(stack, "its delaying proxy speaks to one Redis, and the cluster client would follow "
                      "the nodes' own addresses around it")
    proxy = SlowProxy(int(stack.vars["QUAKECAST_REDIS_PORT"]))
    port = free_port()
    env = dict(stack.env, QUAKECAST_KAFKA_BOOTSTRAP=stack.bootstrap,
               QUAKECAST_REDIS_URL="redis://127.0.0.1:%d/0" % proxy.port, QUAKECAST_HTTP_ADDR="127.0.0.1",
               QUAKECAST_HTTP_PORT=str(port), QUAKECAST_INSTANCE="slow-1", QUAKECAST_WEBHOOK_ALLOW_PRIVATE="1",
               QUAKECAST_WEBHOOK_ALLOW_CIDRS="127.0.0.1/32")
    log = open(str(tmp_path / "slow-1.log"), "w")
    proc = subprocess.Popen([os.path.join(BUILD, "dispatcher", "quakecast-dispatcher")], env=env,
                            stdout=log, stderr=log)
    url = "http://127.0.0.1:%d" % port
    try:
        def ready():
            assert proc.poll() is None, "slow-1 exited"
            try:
                return lib.http_request("GET", url + "/readyz")[0] == 200
            except lib.DemoError:
                return False  # not listening yet
        wait_until(ready, 60, 0.2, "slow-1 ready")
        lines = gen_subscribers(12000, sink, seed=91, prefix="slow-")
        lib.import_subscribers(stack.api, stack.token, lines)
        subs = lib.parse_subscribers(lines)
        expected, borderline = lib.classify(subs, lib.load_event(EVENT))
        lib.http_json("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 40, "count": 8000}).encode(),
                      content_type="application/json", expect=(200, 201, 204))
        try:
            t0_mono = time.monotonic()
            with open(EVENT, "rb") as f:
                t0, reply = lib.post_event(stack.api, stack.token, f.read())
            alert = lib.alert_of(reply)["alert_id"]
            wait_until(lambda: stack.metric(url, "quakecast_records_held") > 0, 30, 0.01, "slow-1 to hold work")
            proxy.delay_s = 5.0
            slowed_at = time.monotonic()
            assert lib.sink_summary(sink, alert)["distinct"] < len(expected)
            # Past this point slow-1 can no longer know its lease is live.
            time.sleep(LEASE_S + 0.5)
            started_at_expiry = stack.metric(url, "quakecast_sends_started_total")
        finally:
            lib.http_request("DELETE", sink + "/_sink/faults")
        st = wait_alert_complete(stack, alert, timeout_s=150)
        started_at_end = stack.metric(url, "quakecast_sends_started_total")
        skipped = stack.metric(url, 'quakecast_sends_skipped_total{reason="lease_expired"}')
        wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 30, 0.1, "sink to catch up")
        full = lib.sink_ids(sink, alert)
        ledger = {k: v for k, v in full.items() if k.startswith("slow-")}
        result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
        result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
        result.update({"slow_sends_started_after_expiry": started_at_end - started_at_expiry,
                       "slow_sends_skipped": skipped, "slowed_for_s": round(time.monotonic() - slowed_at, 1)})
        print("slow link test:", json.dumps(result))
        dups = sorted((v[1] - t0, v[2] - t0, k) for k, v in full.items() if v[0] > 1)
        print("duplicates first/last ms after t0 (sample):", dups[:3], dups[-3:], "slowed at ms:",
              int((slowed_at - t0_mono) * 1000))
        assert started_at_end == started_at_expiry
        assert result["missed"] == 0
        assert result["unexpected"] == 0
        # Duplicates are reported, not asserted: the guarantee under test is
        # that the slowed dispatcher starts nothing once its lease may be
        # gone. Alone this run shows about 450 (slow-1's in-flight, resent by
        # whoever reclaims); after the other fault tests it showed 3,453,
        # more than one dispatcher's in-flight bound: an open question.
    finally:
        proc.kill()
        proc.wait(10)
        log.close()
        proxy.close()
