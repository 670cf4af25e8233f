"""Helpers of the self-service tests (test_2x): requests with a client
address of the test's own (X-Forwarded-For; the stack trusts it), fresh
phone numbers, codes read back from the fake providers, Redis peeks."""

import itertools
import json
import random
import re
import subprocess
import time
import urllib.parse

from conftest import lib

_rng = random.Random()
_ip_counter = itertools.count(1)


def fresh_ip():
    n = next(_ip_counter) + _rng.randrange(1 << 20)
    return "198.18.%d.%d" % ((n >> 8) & 255, n & 255)


def fresh_phone():
    return "+4072%07d" % _rng.randrange(10 ** 7)


def call(stack, method, path, body=None, token=None, ip=None, raw=None, content_type="application/json",
         headers=None):
    """@returns (status, parsed JSON or None, response headers are not kept)."""
    h = {"Accept": "application/json", "X-Forwarded-For": ip or fresh_ip()}
    if token:
        h["Authorization"] = "Bearer " + token
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None and content_type:
        h["Content-Type"] = content_type
    h.update(headers or {})
    status, out = lib.http_request(method, stack.api + path, data, h)
    try:
        return status, json.loads(out) if out.strip() else None
    except ValueError:
        return status, out


# Far from every test event (Vrancea): people signed up here are never
# alerted, so the counts of the alert tests that share the stack stay theirs.
FAR = (-46.41, 168.35)


def doc(phone=None, **extra):
    d = {"lat": FAR[0], "lon": FAR[1], "lang": "ro", "min_mmi": 4,
         "channels": {"sms": {"phone": phone or fresh_phone()}}}
    d.update(extra)
    return d


def redis(stack, *args):
    port = stack.vars["QUAKECAST_REDIS_PORT"]
    return subprocess.run(["redis-cli", "-c", "-p", port, *args], capture_output=True, text=True, check=True).stdout.strip()


def registry_counts(stack):
    """What a refused request must leave as it was."""
    return {"subscribers": int(redis(stack, "HGET", "qc:{reg}:stats", "subscribers") or 0),
            "pending": len(pending_keys(stack))}


def pending_keys(stack):
    """KEYS answers for its own node only: on a Redis Cluster, every node's."""
    keys = set()
    for port in (stack.vars.get("QUAKECAST_REDIS_PORTS") or stack.vars["QUAKECAST_REDIS_PORT"]).split():
        out = subprocess.run(["redis-cli", "-p", port, "KEYS", "qc:{reg}:pend:*"], capture_output=True, text=True,
                             check=True).stdout
        keys.update(k for k in out.split("\n") if k)
    return keys


def code_from_twilio(providers, phone, after=None, timeout_s=20.0):
    """The 6-digit code of the last SMS the fake Twilio took for @phone."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            last = providers.last("twilio")
        except Exception:  # 404 before the first message
            last = None
        if last and last.get("recipient") == phone and last.get("body") != after:
            form = urllib.parse.parse_qs(last["body"])
            m = re.search(r"\b(\d{6})\b", form.get("Body", [""])[0])
            if m:
                return m.group(1), last["body"]
        time.sleep(0.1)
    raise AssertionError("no verification SMS reached the fake Twilio for " + phone)


def code_from_smtp(providers, address, timeout_s=20.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            last = providers.last("smtp")
        except Exception:
            last = None
        if last and address in (last.get("rcpt") or []):
            m = re.search(r"\b(\d{6})\b", last.get("body", ""))
            if m:
                return m.group(1)
        time.sleep(0.1)
    raise AssertionError("no verification e-mail reached the fake SMTP server for " + address)


def signup_verified(stack, providers, phone=None, ip=None, **extra):
    """Signs up by SMS and verifies. @returns (id, token, phone)."""
    phone = phone or fresh_phone()
    ip = ip or fresh_ip()
    st, body = call(stack, "POST", "/v1/subscribers", doc(phone, **extra), ip=ip)
    assert st == 202, body
    code, _ = code_from_twilio(providers, phone)
    st, v = call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"code": code}, ip=ip)
    assert st == 201, v
    return body["id"], v["token"], phone
