"""The feed poller (issue 4): a processor configured with a USGS GeoJSON
feed URL fetches it with conditional GETs, publishes each new report once,
and the reports are decided and dispatched like pushed ones. The feed is a
local HTTP server that answers 304 to a matching If-None-Match."""

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import BUILD, SECRET, lib, wait_alert_complete, wait_until

BUCHAREST = (44.4268, 26.1025)


def feature(code, mag, origin_ms):
    return {"type": "Feature", "id": "us" + code,
            "properties": {"mag": mag, "place": "Vrancea, Romania", "time": origin_ms, "updated": origin_ms + 500,
                           "status": "automatic", "type": "earthquake", "net": "us", "code": code, "magType": "mww"},
            "geometry": {"type": "Point", "coordinates": [26.76, 45.77, 94.0]}}


class Feed:
    def __init__(self):
        self.features, self.version = [], 0
        self.hits = {"200": 0, "304": 0}
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                etag = '"v%d"' % feed.version
                if self.headers.get("If-None-Match") == etag:
                    feed.hits["304"] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = json.dumps({"type": "FeatureCollection", "metadata": {"generated": int(time.time() * 1000)},
                                   "features": feed.features}).encode()
                feed.hits["200"] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/geo+json")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/summary/all_hour.geojson" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, features):
        self.features = features
        self.version += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_polled_feed_alerts_once_per_report(stack, sink, tmp_path):
    tag = uuid.uuid4().hex[:8]
    lib.import_subscribers(stack.api, stack.token, [(json.dumps({
        "id": "poll-" + tag, "lat": BUCHAREST[0], "lon": BUCHAREST[1],
        "channels": {"webhook": {"url": sink + "/hook", "secret": SECRET}}}) + "\n").encode()])
    feed = Feed()
    now = int(time.time() * 1000) - 1000
    feed.set([feature("p1" + tag, 7.0, now)])
    port = free_port()
    env = dict(os.environ, QUAKECAST_KAFKA_BOOTSTRAP=stack.bootstrap, QUAKECAST_REDIS_URL=stack.vars["QUAKECAST_REDIS_URL"],
               QUAKECAST_API_TOKEN=stack.token, QUAKECAST_HTTP_ADDR="127.0.0.1", QUAKECAST_HTTP_PORT=str(port),
               QUAKECAST_INSTANCE="processor-poll", QUAKECAST_POLL_USGS_URL=feed.url, QUAKECAST_POLL_INTERVAL_S="1",
               QUAKECAST_WEBHOOK_ALLOW_PRIVATE="1")
    log = open(str(tmp_path / "processor-poll.log"), "w")
    proc = subprocess.Popen([os.path.join(BUILD, "processor", "quakecast-processor")], env=env, stdout=log,
                            stderr=log)
    redis = ["redis-cli", "-c", "-p", stack.vars["QUAKECAST_REDIS_PORT"]]

    def alert_of(code):
        out = subprocess.run(redis + ["HGET", "qc:{alert}:ev:us:us" + code, "alert"], capture_output=True, text=True)
        return out.stdout.strip() or None
    try:
        alert1 = wait_until(lambda: alert_of("p1" + tag), 60, 0.2, "the polled event to be decided")
        wait_alert_complete(stack, alert1)
        wait_until(lambda: lib.sink_ids(sink, alert1).get("poll-" + tag), 20, 0.1, "the warning")
        # Unchanged feed: conditional GETs answered 304.
        wait_until(lambda: feed.hits["304"] >= 2, 20, 0.2, "conditional polls")
        # A second report appears in the feed (the first one still listed):
        # another id, same place, 1.5 s later, M7.1: the same quake, so it
        # joins the first alert (as a revision up, reaching nobody new here).
        feed.set(feed.features + [feature("p2" + tag, 7.1, now + 1500)])
        alert2 = wait_until(lambda: alert_of("p2" + tag), 30, 0.2, "the second event")
        assert alert2 == alert1
        wait_alert_complete(stack, alert1)
        status, body = lib.http_request("GET", "http://127.0.0.1:%d/metrics" % port)
        published = sum(float(line.split()[-1]) for line in body.decode().splitlines()
                        if line.startswith('quakecast_feed_events_total{feed="usgs"}'))
        assert published == 2, body  # each report once, however many polls
        assert lib.sink_ids(sink, alert1)["poll-" + tag][0] == 1
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
    assert proc.returncode == 0
