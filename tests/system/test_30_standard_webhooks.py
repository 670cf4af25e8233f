"""Real webhook deliveries verified by the official Standard Webhooks
library (PyPI `standardwebhooks`, pinned in deploy/local/install-deps, run
from its venv), not by our own verifier (issue 17).

Two alerts reach four subscribers near an otherwise empty place, each
delivery caught raw (headers and body bytes) by a receiver run here:

* "one": a single secret: its signature verifies, another secret's does not;
* "rot": rotating (previous_secret valid for an hour): two space-separated
  `v1,` signatures, and the library accepts the message with either secret;
* "done": a rotation that ended: only the new secret signs, the old one is
  refused;
* "retry": its first delivery is answered 503; the retry carries the same
  `webhook-id` (the idempotency key) and a fresh valid signature.

The library is the judge: a message verifies when
`Webhook(secret).verify(body, headers)` returns the parsed body."""

import http.server
import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from conftest import lib, wait_alert_complete, wait_until

CACHE = os.environ.get("QUAKECAST_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "quakecast")
VENV_PY = os.path.join(CACHE, "st-venv", "bin", "python3")

NEW = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD = "whsec_b2xkLXNlY3JldC1iZWluZy1yb3RhdGVk"      # "old-secret-being-rotated"
OTHER = "whsec_dW5yZWxhdGVkLXNlY3JldC0xMjM0"        # "unrelated-secret-1234"
# Santiago de Chile and a quake off Valparaiso: no other test puts
# subscribers there, so only this test's four are alerted.
SANTIAGO = (-33.4489, -70.6693)
QUAKE = (-33.05, -71.62, 30.0)

VERIFY = r"""
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
cases = json.load(sys.stdin)
out = []
for c in cases:
    res = {}
    for s in c["secrets"]:
        try:
            body = Webhook(s).verify(c["body"].encode("latin-1"), c["headers"])
            res[s] = body.get("alert_id") if isinstance(body, dict) else "?"
        except WebhookVerificationError as e:
            res[s] = "refused: %s" % e
    out.append(res)
json.dump(out, sys.stdout)
"""


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.got = []           # (path, headers, body bytes, status answered)
        self.fail_first = set()  # paths whose first request gets 503
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        srv = self.server
        with srv.lock:
            first = self.path in srv.fail_first
            srv.fail_first.discard(self.path)
            status = 503 if first else 200
            srv.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    srv = Receiver()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def quake(tag):
    return json.dumps({
        "type": "Feature", "id": "swh" + tag,
        "properties": {"mag": 7.2, "place": "off Valparaiso, Chile", "time": int(time.time() * 1000) - 3000,
                       "updated": int(time.time() * 1000), "status": "reviewed", "type": "earthquake",
                       "net": "swh", "code": tag, "magType": "mww"},
        "geometry": {"type": "Point", "coordinates": [QUAKE[1], QUAKE[0], QUAKE[2]]},
    }).encode()


def verify(cases):
    """Runs the library on each {"headers", "body", "secrets"}; @returns,
    per case, {secret: alert_id or "refused: ..."}."""
    if not os.path.exists(VENV_PY):
        pytest.fail("no %s: deploy/local/install-deps installs standardwebhooks there" % VENV_PY)
    r = subprocess.run([VENV_PY, "-c", VERIFY], input=json.dumps(cases), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_deliveries_verify_with_the_reference_library(stack, receiver):
    tag = uuid.uuid4().hex[:8]
    base = "http://127.0.0.1:%d/" % receiver.server_address[1]
    now = int(time.time())
    webhook = {
        "one": {"secret": NEW},
        "rot": {"secret": NEW, "previous_secret": OLD, "previous_secret_until": now + 3600},
        "done": {"secret": NEW, "previous_secret": OLD, "previous_secret_until": now - 60},
        "retry": {"secret": NEW},
    }
    ids = {k: "swh-%s-%s" % (tag, k) for k in webhook}
    lines = []
    for k, wh in webhook.items():
        wh = dict(wh, url=base + k)
        lines.append((json.dumps({"id": ids[k], "lat": SANTIAGO[0], "lon": SANTIAGO[1], "lang": "en",
                                  "channels": {"webhook": wh}}) + "\n").encode())
    lib.import_subscribers(stack.api, stack.token, lines)
    # The stored subscriber shows its rotation back.
    _, body = lib.http_request("GET", "%s/v1/subscribers/%s" % (stack.api, ids["rot"]),
                               headers={"Authorization": "Bearer " + stack.token})
    stored = json.loads(body)["channels"]["webhook"]
    assert stored["previous_secret"] == OLD and stored["previous_secret_until"] == now + 3600, stored

    receiver.fail_first.add("/retry")
    alerts = []
    for n in range(2):
        _, reply = lib.post_event(stack.api, stack.token, quake("%s%d" % (tag, n)), replay="now")
        alert = lib.alert_of(reply)["alert_id"]
        wait_alert_complete(stack, alert)
        alerts.append(alert)
    # 4 subscribers x 2 alerts, plus the one 503.
    wait_until(lambda: len([g for g in receiver.got if g[3] == 200]) >= 8, 30, 0.1, "8 accepted deliveries")
    got = list(receiver.got)
    ok = [g for g in got if g[3] == 200]
    assert len(ok) == 8 and len(got) == 9, [(g[0], g[3]) for g in got]
    for k in webhook:
        assert sorted(json.loads(g[2])["alert_id"] for g in ok if g[0] == "/" + k) == sorted(alerts), k

    cases = [{"headers": g[1], "body": g[2].decode("latin-1"), "secrets": [NEW, OLD, OTHER]} for g in got]
    verdicts = verify(cases)
    for (path, headers, body, status), v in zip(got, verdicts):
        alert = json.loads(body)["alert_id"]
        sigs = headers["webhook-signature"].split(" ")
        assert all(s.startswith("v1,") for s in sigs), headers
        assert v[NEW] == alert, (path, v)
        assert v[OTHER].startswith("refused"), (path, v)
        if path == "/rot":
            # Both secrets sign during the rotation, the new one first.
            assert len(sigs) == 2, headers
            assert v[OLD] == alert, (path, v)
        else:
            assert len(sigs) == 1, headers
            assert v[OLD].startswith("refused"), (path, v)

    # The retried delivery: the refused attempt and its retry are one
    # message to the receiver (same webhook-id), each signed validly.
    retry = [g for g in got if g[0] == "/retry"]
    first = [g for g in retry if json.loads(g[2])["alert_id"] == json.loads(retry[0][2])["alert_id"]]
    assert [g[3] for g in first] == [503, 200], [(g[0], g[3]) for g in retry]
    assert first[0][1]["webhook-id"] == first[1][1]["webhook-id"]
    # (the body is rebuilt for the retry: seconds_to_shaking has moved on)
    assert json.loads(first[1][2])["subscriber_id"] == ids["retry"]
    # Every other message has its own id.
    assert len({g[1]["webhook-id"] for g in ok}) == 8
