"""A seismic source pushes events with a signature of its own instead of
the admin token (issue 4): Standard Webhooks signing with the source's
secret, named by X-Quakecast-Source. Each way of getting it wrong is a 401
and a metric, and nothing is decided."""

import base64
import hashlib
import hmac
import json
import time
import uuid

from conftest import SECRET, lib

BAD = "whsec_" + base64.b64encode(b"not-the-right-key-at-all").decode()


def doc(code):
    now = int(time.time() * 1000)
    return json.dumps({"type": "Feature", "id": "ro" + code,
                       "properties": {"mag": 4.1, "place": "Vrancea", "time": now, "updated": now,
                                      "status": "automatic", "type": "earthquake", "net": "ro", "code": code},
                       "geometry": {"type": "Point", "coordinates": [26.5, 45.6, 120]}}).encode()


def signed(secret, source, body, ts=None, msg_id=None):
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    ts = int(time.time()) if ts is None else ts
    sig = base64.b64encode(hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), ts, body), hashlib.sha256).digest())
    return {"X-Quakecast-Source": source, "webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": "v1," + sig.decode(), "Content-Type": "application/geo+json"}


def push(stack, headers, body):
    return lib.http_request("POST", stack.api + "/v1/events", body=body, headers=headers)


def refused(stack):
    return stack.metric(stack.api, 'quakecast_auth_failures_total{endpoint="events"}')


def test_signed_push_is_decided(stack):
    body = doc(uuid.uuid4().hex[:8])
    status, reply = push(stack, signed(SECRET, "infp", body), body)
    assert status == 200, reply
    ev = json.loads(reply)["events"][0]
    assert ev["decision"] in ("alert", "ignored", "duplicate"), ev  # decided, whatever the outcome


def test_each_wrong_signature_is_refused(stack):
    body = doc(uuid.uuid4().hex[:8])
    before = refused(stack)
    good = signed(SECRET, "infp", body)
    cases = {
        "no credentials": {"Content-Type": "application/geo+json"},
        "wrong key": signed(BAD, "infp", body),
        "another source's key": signed(SECRET, "emsc", body),
        "unknown source": signed(SECRET, "nobody", body),
        "stale timestamp": signed(SECRET, "infp", body, ts=int(time.time()) - 3600),
        "future timestamp": signed(SECRET, "infp", body, ts=int(time.time()) + 3600),
        "body changed": good,
        "missing id": {k: v for k, v in good.items() if k != "webhook-id"},
    }
    for name, headers in cases.items():
        sent = body + (b" " if name == "body changed" else b"")
        status, reply = push(stack, headers, sent)
        assert status == 401, (name, status, reply)
        assert json.loads(reply)["error"]["code"] == "unauthorized", name
    assert refused(stack) == before + len(cases)
