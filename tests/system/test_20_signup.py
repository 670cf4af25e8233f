"""Self-service sign-up (issue 6): a person signs up, gets a code through
the dispatchers' drivers (read back at the fake Twilio and the fake SMTP
server), verifies, manages and leaves; nothing is stored before the code
comes back; codes expire and lock; rate limits per client address, per
phone number and on verification; every validation rule answers 4xx with
a machine-readable code and the field, and stores nothing."""

import json

import pytest

from selfsvc import (FAR, call, code_from_smtp, code_from_twilio, doc, fresh_ip, fresh_phone, redis,
                     registry_counts, signup_verified)


def test_sms_signup_verify_manage_leave(stack, providers):
    phone, ip = fresh_phone(), fresh_ip()
    before = registry_counts(stack)
    st, body = call(stack, "POST", "/v1/subscribers", doc(phone), ip=ip)
    assert st == 202, body
    sid = body["id"]
    assert body["status"] == "pending_verification" and body["channels"] == ["sms"]
    assert sid.startswith("sub-")
    # Nothing in the registry before verification.
    st, _ = call(stack, "GET", "/v1/subscribers/" + sid, token=stack.token)
    assert st == 404
    assert registry_counts(stack)["subscribers"] == before["subscribers"]
    ttl = int(redis(stack, "TTL", "qc:{reg}:pend:" + sid))
    assert 0 < ttl <= 600

    code, _ = code_from_twilio(providers, phone)
    wrong = "%06d" % ((int(code) + 1) % 10 ** 6)
    st, err = call(stack, "POST", "/v1/subscribers/%s/verify" % sid, {"code": wrong}, ip=ip)
    assert st == 422 and err["error"]["code"] == "wrong_code" and err["error"]["tries_left"] == 4
    st, v = call(stack, "POST", "/v1/subscribers/%s/verify" % sid, {"code": code}, ip=ip)
    assert st == 201, v
    token = v["token"]
    assert token.startswith("qcs_") and v["status"] == "active"
    # The token is stored hashed, never in clear.
    stored = redis(stack, "HGET", "qc:{reg}:subm:" + sid, "tok")
    assert len(stored) == 64 and token not in stored
    assert redis(stack, "EXISTS", "qc:{reg}:pend:" + sid) == "0"
    # A code works once.
    st, _ = call(stack, "POST", "/v1/subscribers/%s/verify" % sid, {"code": code}, ip=ip)
    assert st == 404

    st, got = call(stack, "GET", "/v1/subscribers/" + sid, token=token)
    assert st == 200, got
    assert got["channels"]["sms"]["phone"] == phone and got["min_mmi"] == 4
    consent = got["consent"]["sms"]
    assert consent["method"] == "code" and consent["source"] == "self_signup" and consent["verified_at"].endswith("Z")

    st, got = call(stack, "PATCH", "/v1/subscribers/" + sid, {"min_mmi": 6, "lang": "en"}, token=token)
    assert st == 200 and got["min_mmi"] == 6 and got["lang"] == "en"
    st, got = call(stack, "GET", "/v1/subscribers/" + sid, token=token)
    assert got["min_mmi"] == 6

    # The phone index finds the person (inbound STOP uses it).
    st, found = call(stack, "GET", "/v1/subscribers?phone=" + phone.replace("+", "%2B"), token=stack.token)
    assert st == 200 and [s["id"] for s in found["items"]] == [sid]

    st, _ = call(stack, "DELETE", "/v1/subscribers/" + sid, token=token)
    assert st == 204
    # Erased from every structure.
    st, _ = call(stack, "GET", "/v1/subscribers/" + sid, token=stack.token)
    assert st == 404
    assert redis(stack, "EXISTS", "qc:{reg}:subm:" + sid) == "0"
    st, found = call(stack, "GET", "/v1/subscribers?phone=" + phone.replace("+", "%2B"), token=stack.token)
    assert found["items"] == []
    assert registry_counts(stack)["subscribers"] == before["subscribers"]
    # ... and the token no longer opens anything.
    st, _ = call(stack, "GET", "/v1/subscribers/" + sid, token=token)
    assert st == 403


def test_email_signup_code_by_smtp(stack, providers):
    addr = "ana.%s@example.org" % fresh_ip().replace(".", "")
    d = {"lat": FAR[0], "lon": FAR[1], "lang": "en", "channels": {"email": {"address": addr}}}
    st, body = call(stack, "POST", "/v1/subscribers", d)
    assert st == 202, body
    code = code_from_smtp(providers, addr)
    st, v = call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"codes": {"email": code}})
    assert st == 201, v
    st, got = call(stack, "GET", "/v1/subscribers/" + body["id"], token=v["token"])
    assert got["channels"]["email"]["address"] == addr and "verified_at" in got["consent"]["email"]
    assert got["min_mmi"] == 4  # the default


def test_two_channels_need_both_codes(stack, providers):
    phone = fresh_phone()
    addr = "two.%s@example.org" % phone[1:]
    d = doc(phone)
    d["channels"]["email"] = {"address": addr}
    st, body = call(stack, "POST", "/v1/subscribers", d)
    assert st == 202 and sorted(body["channels"]) == ["email", "sms"]
    sms, _ = code_from_twilio(providers, phone)
    mail = code_from_smtp(providers, addr)
    st, err = call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"codes": {"sms": sms}})
    assert st == 422 and err["error"]["code"] == "wrong_code"
    st, v = call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"codes": {"sms": sms, "email": mail}})
    assert st == 201, v
    st, got = call(stack, "GET", "/v1/subscribers/" + body["id"], token=v["token"])
    assert set(got["consent"]) >= {"sms", "email"}


def test_code_locks_after_wrong_tries(stack, providers):
    phone, ip = fresh_phone(), fresh_ip()
    st, body = call(stack, "POST", "/v1/subscribers", doc(phone), ip=ip)
    code, _ = code_from_twilio(providers, phone)
    wrong = "%06d" % ((int(code) + 7) % 10 ** 6)
    statuses = [call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"code": wrong}, ip=ip)
                for _ in range(5)]
    assert [s for s, _ in statuses[:4]] == [422] * 4
    assert statuses[4][0] == 429 and statuses[4][1]["error"]["code"] == "too_many_attempts"
    # Locked: even the right code is refused now, and nothing was stored.
    st, err = call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"code": code}, ip=ip)
    assert st == 429 and err["error"]["code"] == "too_many_attempts"
    st, _ = call(stack, "GET", "/v1/subscribers/" + body["id"], token=stack.token)
    assert st == 404


def test_code_expires(stack, providers):
    phone = fresh_phone()
    st, body = call(stack, "POST", "/v1/subscribers", doc(phone))
    code, _ = code_from_twilio(providers, phone)
    # Time passes: the pending sign-up's TTL runs out.
    redis(stack, "PEXPIRE", "qc:{reg}:pend:" + body["id"], "1")
    import time
    time.sleep(0.05)
    st, err = call(stack, "POST", "/v1/subscribers/%s/verify" % body["id"], {"code": code})
    assert st == 404 and err["error"]["code"] == "not_found"


def test_rate_limit_per_client_address(stack, providers):
    ip = fresh_ip()
    results = [call(stack, "POST", "/v1/subscribers", doc(), ip=ip)[0] for _ in range(11)]
    assert results[:10] == [202] * 10
    st, err = call(stack, "POST", "/v1/subscribers", doc(), ip=ip)
    assert st == 429 and err["error"]["code"] == "rate_limited" and err["error"]["field"] == "client"
    # Another address is not affected.
    assert call(stack, "POST", "/v1/subscribers", doc(), ip=fresh_ip())[0] == 202


def test_rate_limit_per_phone_number(stack, providers):
    phone = fresh_phone()
    results = [call(stack, "POST", "/v1/subscribers", doc(phone), ip=fresh_ip())[0] for _ in range(3)]
    assert results == [202] * 3
    before = registry_counts(stack)
    st, err = call(stack, "POST", "/v1/subscribers", doc(phone), ip=fresh_ip())
    assert st == 429 and err["error"]["field"] == "channels.sms.phone"
    assert registry_counts(stack) == before  # no pending sign-up made


def test_rate_limit_on_verification(stack, providers):
    ip = fresh_ip()
    statuses = [call(stack, "POST", "/v1/subscribers/sub-0000000000000000000000%02d/verify" % i,
                     {"code": "123456"}, ip=ip)[0] for i in range(30)]
    assert set(statuses) == {404}
    st, err = call(stack, "POST", "/v1/subscribers/sub-000000000000000000000099/verify", {"code": "123456"}, ip=ip)
    assert st == 429 and err["error"]["code"] == "rate_limited"


def test_retry_after_header(stack):
    ip = fresh_ip()
    for _ in range(10):
        call(stack, "POST", "/v1/subscribers", doc(), ip=ip)
    import urllib.request
    req = urllib.request.Request(stack.api + "/v1/subscribers", data=json.dumps(doc()).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Forwarded-For": ip})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("not limited")
    except urllib.error.HTTPError as e:
        assert e.code == 429 and int(e.headers["Retry-After"]) > 0


# ---- validation: one case per rule; each is a 4xx with a code and the field, and stores nothing ----

LONG_LOCAL = "a" * 65 + "@example.org"
LONG_ADDR = "a@" + ".".join(["b" * 60] * 5) + ".org"   # over 254 octets
WH_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def wh(url):
    return {"webhook": {"url": url, "secret": WH_SECRET}}


CASES = [
    # (name, document changes, status, code, field)
    ("phone not E.164", {"channels": {"sms": {"phone": "0722123456"}}}, 422, "invalid_phone", "channels.sms.phone"),
    ("phone over 15 digits", {"channels": {"sms": {"phone": "+4072212345678901"}}}, 422, "invalid_phone", "channels.sms.phone"),
    ("phone with a 0 country code", {"channels": {"sms": {"phone": "+0722123456"}}}, 422, "invalid_phone", "channels.sms.phone"),
    ("phone with letters", {"channels": {"sms": {"phone": "+40722ABC456"}}}, 422, "invalid_phone", "channels.sms.phone"),
    ("phone country not served", {"channels": {"sms": {"phone": "+19005550123"}}}, 422, "phone_country_not_served", "channels.sms.phone"),
    ("e-mail without a dot domain", {"channels": {"email": {"address": "a@b"}}}, 422, "invalid_email", "channels.email.address"),
    ("e-mail local part over 64", {"channels": {"email": {"address": LONG_LOCAL}}}, 422, "invalid_email", "channels.email.address"),
    ("e-mail over 254", {"channels": {"email": {"address": LONG_ADDR}}}, 422, "invalid_email", "channels.email.address"),
    ("e-mail with two @", {"channels": {"email": {"address": "a@b@example.org"}}}, 422, "invalid_email", "channels.email.address"),
    ("e-mail with a space", {"channels": {"email": {"address": "a b@example.org"}}}, 422, "invalid_email", "channels.email.address"),
    ("latitude over 90", {"lat": 90.5}, 422, "invalid_location", "lat"),
    ("longitude under -180", {"lon": -180.5}, 422, "invalid_location", "lon"),
    ("latitude a string", {"lat": "44.4"}, 422, "invalid_location", "lat"),
    ("latitude missing", {"lat": None}, 422, "invalid_location", "lat"),
    ("language not a code", {"lang": "Romanian"}, 422, "invalid_lang", "lang"),
    ("language a number", {"lang": 40}, 422, "invalid_lang", "lang"),
    ("threshold 0", {"min_mmi": 0}, 422, "invalid_min_mmi", "min_mmi"),
    ("threshold 11", {"min_mmi": 11}, 422, "invalid_min_mmi", "min_mmi"),
    ("threshold not an integer", {"min_mmi": 4.5}, 422, "invalid_min_mmi", "min_mmi"),
    ("webhook plain http", {"channels": wh("http://hooks.example.org/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook loopback", {"channels": wh("https://127.0.0.1/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook localhost", {"channels": wh("https://localhost/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook private 10/8", {"channels": wh("https://10.1.2.3/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook private 192.168/16", {"channels": wh("https://192.168.1.1/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook link-local metadata", {"channels": wh("https://169.254.169.254/latest/meta-data")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook IPv6 loopback", {"channels": wh("https://[::1]/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook IPv6 link-local", {"channels": wh("https://[fe80::1]/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook decimal IPv4", {"channels": wh("https://2130706433/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook user information", {"channels": wh("https://hooks.example.org@127.0.0.1/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook not a URL", {"channels": wh("ftp://example.org/q")}, 422, "invalid_webhook", "channels.webhook.url"),
    ("webhook weak secret", {"channels": {"webhook": {"url": "https://hooks.example.org/q", "secret": "x"}}}, 422, "invalid_webhook", "channels.webhook.secret"),
    ("no channel", {"channels": {}}, 422, "no_channel", "channels"),
    ("unknown channel", {"channels": {"pigeon": {}}}, 422, "unknown_channel", "channels"),
    ("benchmark channel", {"channels": {"null": {}}}, 422, "unknown_channel", "channels"),
    ("own id", {"id": "ext-1"}, 422, "unknown_field", "id"),
    ("unknown field", {"admin": True}, 422, "unknown_field", "admin"),
]


@pytest.mark.parametrize("name,change,status,code,field", CASES, ids=[c[0] for c in CASES])
def test_validation_rule(stack, name, change, status, code, field):
    d = doc()
    d.update(change)
    if d.get("lat", 0) is None:
        del d["lat"]
    before = registry_counts(stack)
    st, err = call(stack, "POST", "/v1/subscribers", d)
    assert st == status, err
    assert err["error"]["code"] == code and err["error"].get("field") == field, err
    assert registry_counts(stack) == before


RAW_CASES = [
    ("body too large", b'{"lat":44,"lon":26,"pad":"' + b"x" * 20000 + b'"}', "application/json", 413, "too_large"),
    ("JSON too deep", b'{"lat":' + b"[" * 20 + b"1" + b"]" * 20 + b"}", "application/json", 400, "too_deep"),
    ("not JSON", b"{lat: 44", "application/json", 400, "invalid_json"),
    ("duplicate key", b'{"lat":44,"lat":45}', "application/json", 400, "invalid_json"),
    ("not an object", b"[1,2]", "application/json", 400, "not_an_object"),
    ("form post", b"lat=44&lon=26", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("name,raw,ctype,status,code", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_body_rule(stack, name, raw, ctype, status, code):
    before = registry_counts(stack)
    st, err = call(stack, "POST", "/v1/subscribers", raw=raw, content_type=ctype)
    assert st == status and err["error"]["code"] == code, err
    assert registry_counts(stack) == before


VERIFY_CASES = [
    ("code too short", {"code": "12345"}, "invalid_code", "code"),
    ("code with letters", {"code": "12a456"}, "invalid_code", "code"),
    ("code a number", {"code": 123456}, "invalid_code", "code"),
    ("no code", {}, "missing_code", "code"),
    ("unknown channel in codes", {"codes": {"pigeon": "123456"}}, "unknown_channel", "codes"),
    ("unknown field", {"code": "123456", "x": 1}, "unknown_field", "x"),
]


@pytest.mark.parametrize("name,body,code,field", VERIFY_CASES, ids=[c[0] for c in VERIFY_CASES])
def test_verify_rule(stack, name, body, code, field):
    st, err = call(stack, "POST", "/v1/subscribers/sub-000000000000000000000001/verify", body)
    assert st == 422 and err["error"]["code"] == code and err["error"]["field"] == field, err


def test_patch_rules(stack, providers):
    sid, token, phone = signup_verified(stack, providers)
    for body, status, code, field in [
        ({"min_mmi": 12}, 422, "invalid_min_mmi", "min_mmi"),
        ({"lat": 100}, 422, "invalid_location", "lat"),
        ({"id": "other"}, 422, "unknown_field", "id"),
        ({"channels": {"email": {"address": "new@example.org"}}}, 403, "verification_required", "channels.email"),
        ({"channels": {"sms": {"phone": "+40722000000"}}}, 403, "verification_required", "channels.sms"),
        ({"channels": {"sms": None}}, 422, "no_channel", "channels"),
    ]:
        st, err = call(stack, "PATCH", "/v1/subscribers/" + sid, body, token=token)
        assert st == status and err["error"]["code"] == code and err["error"].get("field") == field, (body, err)
    st, got = call(stack, "GET", "/v1/subscribers/" + sid, token=token)
    assert got["min_mmi"] == 4 and got["channels"]["sms"]["phone"] == phone  # unchanged


# ---- quake.notices as the dispatchers read it ----

def _mp(v):
    """A minimal msgpack encoder (str, bytes, int >= 0, float32 via tuple, list, dict)."""
    import struct
    if isinstance(v, tuple):  # ("f32", x)
        return b"\xca" + struct.pack(">f", v[1])
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return struct.pack(">BQ", 0xcf, v) if v > 127 else bytes([v])
    if isinstance(v, str):
        b = v.encode()
        return bytes([0xd9, len(b)]) + b if len(b) < 256 else struct.pack(">BH", 0xda, len(b)) + b
    if isinstance(v, bytes):
        return bytes([0xc4, len(v)]) + v
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(_mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(_mp(k) + _mp(x) for k, x in v.items())
    raise TypeError(v)


def test_webhook_notice_and_bad_notices(stack, sink):
    """A verification notice to a webhook is signed like an alert and keyed
    by the notice id; undecodable notices are counted and skipped, the
    dispatchers keep running."""
    import os
    import subprocess
    import time
    from conftest import BUILD, SECRET, lib, wait_until
    put = os.path.join(BUILD, "tests", "tools", "qc-kafka-put")
    bad_before = sum(stack.metric(u, "quakecast_bad_input_total") for u in stack.dispatcher_urls())
    for garbage in (b"\xc1", b"\x81\xa1v\x01", _mp({"v": 1, "id": "x", "k": "verify", "ch": 1, "text": "t"})):
        subprocess.run([put, stack.bootstrap, "quake.notices", "bad"], input=garbage, check=True, timeout=30)
    rec = _mp([1, "sub-webhook-notice", ("f32", -46.4), ("f32", 168.3), "en", 4, 2, sink + "/hook", SECRET])
    notice = _mp({"v": 1, "id": "vfy-sub-webhook-notice-webhook", "k": "verify", "ch": 1, "subj": "Your code",
                  "text": "quakecast: your verification code is 424242.", "exp": int(time.time() * 1000) + 60000,
                  "rec": rec})
    subprocess.run([put, stack.bootstrap, "quake.notices", "sub-webhook-notice"], input=notice, check=True, timeout=30)

    # The sink checked the Standard Webhooks signature; alert_id is the
    # notice id (an alert-shaped body would carry "verify").
    def got():
        return "sub-webhook-notice" in lib.sink_ids(sink, "vfy-sub-webhook-notice-webhook")
    wait_until(got, 30, 0.1, "the notice at the webhook sink")
    wait_until(lambda: sum(stack.metric(u, "quakecast_bad_input_total") for u in stack.dispatcher_urls())
               >= bad_before + 3, 20, 0.2, "bad notices counted")
    assert stack.healthy()
