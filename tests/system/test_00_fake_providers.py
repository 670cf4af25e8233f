"""Test 00: the fake providers of qc-fake-sink speak each provider's wire
protocol, count what they accept, and inject faults and rate limits as
tests/fakes/README.md says. No quakecast process is involved: each test
starts its own sink on ephemeral loopback ports and talks to it with the
standard library (urllib, smtplib) and the curl and openssl command lines.
"""

import base64
import email.message
import email.policy
import json
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("QUAKECAST_BUILD_DIR", os.path.join(REPO, "build"))
SINK = os.environ.get("QC_SINK_BIN", os.path.join(BUILD, "tests", "fakes", "qc-fake-sink"))
MAKE_ACCOUNT = os.path.join(REPO, "tests", "fakes", "make-fcm-account")

SID, TOKEN = "AC" + "0123456789abcdef" * 2, "twilio-secret-token"
BOT = "123456789:AAFakeTelegramBotTokenForQuakecastTests"
SMTP_USER, SMTP_PASSWORD = "mailer", "s3cret p4ss"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def key(provider, text):
    return "%s:%016x" % (provider, fnv1a64(text.encode()))


class Sink:
    def __init__(self, tmp, *args):
        self.dir = str(tmp)
        ready = os.path.join(self.dir, "ready")
        sready = os.path.join(self.dir, "smtp-ready")
        self.log = open(os.path.join(self.dir, "sink.log"), "w")
        self.proc = subprocess.Popen([SINK, "--port", "0", "--ready-file", ready, *args],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(ready):
            assert self.proc.poll() is None, "sink exited: " + self.logtext()
            assert time.monotonic() < deadline, "sink not ready"
            time.sleep(0.02)
        with open(ready) as f:
            self.url = "http://127.0.0.1:%d" % int(f.read())
        self.smtp_port = None
        if os.path.exists(sready):
            with open(sready) as f:
                self.smtp_port = int(f.read())

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
        text = self.logtext()
        assert self.proc.returncode == 0, text
        assert "AddressSanitizer" not in text and "runtime error" not in text, text

    def request(self, method, path, body=None, headers=None):
        """@returns (status, headers, parsed JSON or text)."""
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        try:
            return status, hdrs, json.loads(raw)
        except ValueError:
            return status, hdrs, raw.decode()

    def summary(self, provider=None):
        return self.request("GET", "/_sink/summary" + ("?provider=" + provider if provider else ""))[2]

    def ids(self, provider=None):
        _, _, text = self.request("GET", "/_sink/ids" + ("?provider=" + provider if provider else ""))
        if isinstance(text, dict):
            return [text]
        return [json.loads(line) for line in text.splitlines() if line]

    def faults(self, *rules):
        status, _, body = self.request("POST", "/_sink/faults", json.dumps(list(rules)).encode())
        assert status == 200, body

    # --- providers ---------------------------------------------------------
    def twilio(self, to, body, sid=SID, token=TOKEN, sender="+15005550006"):
        auth = base64.b64encode(("%s:%s" % (sid, token)).encode()).decode()
        form = urllib.parse.urlencode({"To": to, "From": sender, "Body": body}).encode()
        return self.request("POST", "/2010-04-01/Accounts/%s/Messages.json" % sid, form,
                            {"Authorization": "Basic " + auth,
                             "Content-Type": "application/x-www-form-urlencoded"})

    def telegram(self, chat_id, text, token=BOT, as_form=False, **extra):
        fields = dict(chat_id=chat_id, text=text, **extra)
        if as_form:
            body, ct = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        else:
            body, ct = json.dumps(fields).encode(), "application/json"
        return self.request("POST", "/bot%s/sendMessage" % token, body, {"Content-Type": ct})

    def fcm_token(self, assertion, grant="urn:ietf:params:oauth:grant-type:jwt-bearer"):
        form = urllib.parse.urlencode({"grant_type": grant, "assertion": assertion}).encode()
        return self.request("POST", "/token", form,
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def fcm_send(self, access_token, message, project="quakecast-test"):
        headers = {"Content-Type": "application/json"}
        if access_token:
            headers["Authorization"] = "Bearer " + access_token
        return self.request("POST", "/v1/projects/%s/messages:send" % project,
                            json.dumps({"message": message}).encode(), headers)


@pytest.fixture
def start(tmp_path):
    sinks = []

    def _start(*args):
        d = tmp_path / ("sink%d" % len(sinks))
        d.mkdir()
        s = Sink(d, *args)
        sinks.append(s)
        return s
    yield _start
    for s in sinks:
        s.stop()


# ---- helpers: an FCM service account and its JWTs ---------------------------

@pytest.fixture(scope="module")
def account(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command line to make a service account")
    d = str(tmp_path_factory.mktemp("fcm"))
    subprocess.run([sys.executable, MAKE_ACCOUNT, d], check=True, capture_output=True)
    with open(os.path.join(d, "service-account.json")) as f:
        sa = json.load(f)
    other = os.path.join(d, "other")
    subprocess.run([sys.executable, MAKE_ACCOUNT, other], check=True, capture_output=True)
    return {"dir": d, "sa": sa, "pub": os.path.join(d, "public-key.pem"),
            "key": os.path.join(d, "private-key.pem"),
            "other_key": os.path.join(other, "private-key.pem")}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(keyfile, claims, alg="RS256"):
    signing = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile], input=signing.encode(),
                         check=True, capture_output=True).stdout
    return signing + "." + b64url(sig)


def claims(sa, aud, **over):
    now = int(time.time())
    c = {"iss": sa["client_email"], "scope": FCM_SCOPE, "aud": aud, "iat": now, "exp": now + 3600}
    c.update(over)
    return c


# ---- webhook: unchanged -----------------------------------------------------

def test_webhook_still_works_with_providers_on(start, account):
    s = start("--telegram-token", BOT, "--fcm-public-key", account["pub"])
    body = json.dumps({"subscriber_id": "sub-1", "alert_id": "a-1"}).encode()
    st, _, r = s.request("POST", "/hook", body, {"webhook-id": "msg_1"})
    assert (st, r) == (200, {"ok": True})
    # /bot without a second slash and /tokens are not provider paths
    st, _, r = s.request("POST", "/bot", body, {"webhook-id": "msg_2"})
    assert st == 200
    rows = s.ids("webhook")
    assert rows[0]["provider"] == "webhook" and rows[0]["recipient"] == "sub-1"
    assert rows[0]["count"] == 2
    summ = s.summary()
    assert summ["received"] == 2 and summ["providers"]["webhook"]["max_per_second"] == 2


# ---- Twilio -----------------------------------------------------------------

def test_twilio(start):
    s = start("--twilio-sid", SID, "--twilio-token", TOKEN)
    st, _, r = s.twilio("+40700000001", "Cutremur M5.8 Vrancea", token="wrong")
    assert st == 401 and r["code"] == 20003 and r["status"] == 401
    assert r["more_info"] == "https://www.twilio.com/docs/errors/20003"

    st, _, r = s.twilio("+40700000001", "Cutremur M5.8 Vrancea")
    assert st == 201, r
    assert r["sid"].startswith("SM") and len(r["sid"]) == 34 and r["status"] == "queued"
    assert (r["to"], r["from"], r["body"]) == ("+40700000001", "+15005550006", "Cutremur M5.8 Vrancea")
    st, _, r = s.twilio("+40700000001", "Cutremur M5.8 Vrancea")
    assert st == 201
    st, _, r = s.twilio("+40700000001", "Cutremur M5.8 Vrancea (update)")
    assert st == 201

    st, _, r = s.twilio("0700000001", "x")
    assert st == 400 and r["code"] == 21211

    s.faults({"provider": "twilio", "status": 400, "error": 21211, "match_recipient": "+40700000002"},
             {"provider": "twilio", "error": 21610, "count": 1},
             {"provider": "twilio", "status": 503, "count": 1})
    st, _, r = s.twilio("+40700000002", "Cutremur M5.8 Vrancea")
    assert st == 400 and r["code"] == 21211
    st, _, r = s.twilio("+40700000003", "Cutremur M5.8 Vrancea")
    assert st == 400 and r["code"] == 21610 and r["message"] == "Attempt to send to unsubscribed recipient"
    st, _, r = s.twilio("+40700000003", "Cutremur M5.8 Vrancea")
    assert st == 503 and r["code"] == 20503
    st, _, r = s.twilio("+40700000003", "Cutremur M5.8 Vrancea")
    assert st == 201

    summ = s.summary("twilio")
    assert summ["provider"] == "twilio"
    assert (summ["received"], summ["distinct"], summ["duplicates"]) == (4, 3, 1)
    assert summ["unauthorized"] == 1 and summ["bad_request"] == 1
    assert summ["faulted"] == {"400": 2, "503": 1}
    rows = {(r["alert_id"], r["recipient"]): r for r in s.ids("twilio")}
    assert rows[(key("twilio", "Cutremur M5.8 Vrancea"), "+40700000001")]["count"] == 2
    assert (key("twilio", "Cutremur M5.8 Vrancea (update)"), "+40700000001") in rows
    _, _, alerts = s.request("GET", "/_sink/alerts?provider=twilio")
    texts = sorted(json.loads(l)["text"] for l in alerts.splitlines())
    assert texts == ["Cutremur M5.8 Vrancea", "Cutremur M5.8 Vrancea (update)"]
    _, _, last = s.request("GET", "/_sink/last?provider=twilio")
    assert "Body=Cutremur" in last["body"] and last["recipient"] == "+40700000003"


# ---- Telegram ---------------------------------------------------------------

def test_telegram(start):
    s = start("--telegram-token", BOT)
    st, _, r = s.telegram("42", "hi", token="123:nope")
    assert st == 401 and r == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    st, _, r = s.telegram(42, "<b>Cutremur</b> M6.1", parse_mode="HTML", disable_web_page_preview=True)
    assert st == 200 and r["ok"] is True
    assert r["result"]["chat"]["id"] == 42 and r["result"]["text"] == "<b>Cutremur</b> M6.1"
    st, _, r = s.telegram("@quakecast_ro", "Cutremur M6.1", as_form=True)
    assert st == 200 and r["result"]["chat"]["type"] == "channel"
    st, _, r = s.telegram("42", "")
    assert st == 400 and r["description"] == "Bad Request: message text is empty"
    st, _, r = s.telegram("42", "x", parse_mode="Bogus")
    assert st == 400

    s.faults({"provider": "telegram", "error": "blocked", "match_recipient": "43"},
             {"provider": "telegram", "status": 400, "match_recipient": "44"})
    st, _, r = s.telegram(43, "Cutremur M6.1")
    assert st == 403 and r == {"ok": False, "error_code": 403,
                               "description": "Forbidden: bot was blocked by the user"}
    st, _, r = s.telegram(44, "Cutremur M6.1")
    assert st == 400 and r["description"] == "Bad Request: chat not found"
    s.request("DELETE", "/_sink/faults")

    # 429 with retry_after: in the body and the header; a retry before it
    # counts in early_retry, one after it does not
    s.faults({"provider": "telegram", "status": 429, "retry_after": 1, "count": 1})
    st, hdrs, r = s.telegram(45, "Cutremur M6.1")
    assert st == 429 and hdrs["Retry-After"] == "1"
    assert r == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                 "parameters": {"retry_after": 1}}
    st, _, _ = s.telegram(45, "Cutremur M6.1")
    assert st == 200
    assert s.summary()["early_retry"] == 1
    assert 0 < s.summary("telegram")["early_retry_max_us"] <= 1000000
    assert '"event":"early_retry","provider":"telegram","recipient":"***"' in s.logtext()
    time.sleep(1.05)
    st, _, _ = s.telegram(45, "Cutremur M6.1")
    assert st == 200
    summ = s.summary("telegram")
    assert summ["early_retry"] == 1 and summ["faulted"] == {"403": 1, "400": 1, "429": 1}
    assert summ["duplicates"] == 1  # chat 45 got the same text twice
    st, _, r = s.request("GET", "/bot%s/getMe" % BOT)
    assert st == 200 and r["result"]["is_bot"] is True


# ---- FCM --------------------------------------------------------------------

def test_fcm(start, account):
    s = start("--fcm-public-key", account["pub"], "--fcm-token-ttl", "2",
              "--fcm-issuer", account["sa"]["client_email"])
    aud = s.url + "/token"
    sa = account["sa"]
    st, _, r = s.fcm_token(make_jwt(account["other_key"], claims(sa, aud)))
    assert st == 400 and r["error"] == "invalid_grant" and "Signature" in r["error_description"]
    st, _, r = s.fcm_token(make_jwt(account["key"], claims(sa, aud, exp=int(time.time()) + 7200)))
    assert st == 400 and r["error"] == "invalid_grant"
    st, _, r = s.fcm_token(make_jwt(account["key"], claims(sa, aud, scope="https://example.org/x")))
    assert st == 400
    st, _, r = s.fcm_token(make_jwt(account["key"], claims(sa, "https://example.org/aud")))
    assert st == 400
    st, _, r = s.fcm_token("x.y.z", grant="password")
    assert st == 400 and r["error"] == "unsupported_grant_type"

    st, _, r = s.fcm_token(make_jwt(account["key"], claims(sa, aud)))
    assert st == 200 and r["token_type"] == "Bearer" and r["expires_in"] == 2
    tok = r["access_token"]

    msg = {"token": "tok-A" * 30, "notification": {"title": "Cutremur", "body": "M6.1 Vrancea"},
           "data": {"alert_id": "a1"}, "android": {"priority": "high"}}
    st, _, r = s.fcm_send(None, msg)
    assert st == 401 and r["error"]["status"] == "UNAUTHENTICATED"
    st, _, r = s.fcm_send(tok, msg)
    assert st == 200 and r["name"].startswith("projects/quakecast-test/messages/0:")
    st, _, r = s.fcm_send(tok, {"topic": "ro-all", "notification": {"body": "M6.1 Vrancea"}})
    assert st == 200
    st, _, r = s.fcm_send(tok, {"token": "a", "topic": "b"})
    assert st == 400 and r["error"]["details"][0]["errorCode"] == "INVALID_ARGUMENT"
    st, _, r = s.fcm_send(tok, {"token": "a", "data": {"n": 1}})
    assert st == 400

    s.faults({"provider": "fcm", "error": "UNREGISTERED", "match_recipient": "dead-token"},
             {"provider": "fcm", "status": 429, "retry_after": 3, "count": 1},
             {"provider": "fcm", "status": 503, "count": 1})
    st, _, r = s.fcm_send(tok, {"token": "dead-token", "notification": {"body": "M6.1 Vrancea"}})
    assert st == 404 and r == {"error": {
        "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                     "errorCode": "UNREGISTERED"}]}}
    st, hdrs, r = s.fcm_send(tok, msg)
    assert st == 429 and hdrs["Retry-After"] == "3"
    assert r["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert r["error"]["details"][0]["errorCode"] == "QUOTA_EXCEEDED"
    st, _, r = s.fcm_send(tok, msg)
    assert st == 503 and r["error"]["details"][0]["errorCode"] == "UNAVAILABLE"

    # without notification.body: data.body, else the sorted compact JSON of data
    data = {"z": "1", "a": "Adăpostiți-vă"}
    assert s.fcm_send(tok, {"token": "t2", "data": data})[0] == 200
    assert s.fcm_send(tok, {"token": "t3", "data": {"body": "M6.1 Vrancea"}})[0] == 200
    rows = {r["recipient"]: r for r in s.ids("fcm")}
    assert rows["t2"]["alert_id"] == key("fcm", json.dumps(data, sort_keys=True, separators=(",", ":"),
                                                           ensure_ascii=False))
    assert rows["t3"]["alert_id"] == key("fcm", "M6.1 Vrancea")

    assert rows["tok-A" * 30]["alert_id"] == key("fcm", "M6.1 Vrancea")
    assert rows["topic:ro-all"]["count"] == 1
    summ = s.summary("fcm")
    assert summ["tokens_issued"] == 1 and summ["token_rejected"] == 5
    assert summ["early_retry"] == 1  # the 503 came within the 3 s it was given

    time.sleep(2.1)  # the access token expires
    st, _, r = s.fcm_send(tok, msg)
    assert st == 401
    assert s.summary("fcm")["expired_token"] == 1


# ---- SMTP -------------------------------------------------------------------

def mail(subject, plain, html, msgid, to):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "alerts@quakecast.test"
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    m["Message-ID"] = msgid
    m.set_content(plain, cte="quoted-printable")
    m.add_alternative(html, subtype="html")
    return m


PLAIN = "Cutremur M6.1 în Vrancea.\n.Adăpostiți-vă!\n" + "x" * 100


def test_smtp(start, tmp_path):
    s = start("--smtp-port", "0", "--smtp-ready-file", str(tmp_path / "sink0" / "smtp-ready"),
              "--smtp-user", SMTP_USER, "--smtp-password", SMTP_PASSWORD)
    assert s.smtp_port
    rcpts = ["ana@example.org", "bob@example.org"]
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        code, caps = c.ehlo()
        assert code == 250 and b"AUTH PLAIN LOGIN" in caps
        with pytest.raises(smtplib.SMTPSenderRefused):  # 530: no AUTH yet
            c.sendmail("alerts@quakecast.test", rcpts, b"x")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            c.login(SMTP_USER, "wrong")
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.login(SMTP_USER, SMTP_PASSWORD)  # smtplib prefers PLAIN
        m = mail("Cutremur", PLAIN, "<p>Cutremur</p>", "<a1@quakecast.test>", rcpts)
        assert c.send_message(m) == {}
        # the same connection, another message: a retry with a new Message-ID
        m = mail("Cutremur", PLAIN, "<p>Cutremur</p>", "<a1-retry@quakecast.test>", rcpts[:1])
        assert c.send_message(m) == {}
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.ehlo()
        c.esmtp_features["auth"] = "LOGIN"
        c.login(SMTP_USER, SMTP_PASSWORD)

    k = key("smtp", PLAIN.rstrip())
    rows = {r["recipient"]: r for r in s.ids("smtp")}
    assert set(rows) == set(rcpts) and rows["ana@example.org"]["alert_id"] == k
    assert rows["ana@example.org"]["count"] == 2 and rows["ana@example.org"]["id_mismatch"]
    summ = s.summary("smtp")
    assert (summ["received"], summ["duplicates"], summ["duplicate_id_mismatch"]) == (3, 1, 1)
    # 530 for MAIL before AUTH, 535 twice: smtplib tries PLAIN, then LOGIN
    assert summ["messages"] == 2 and summ["unauthorized"] == 3 and summ["connections"] == 3
    _, _, last = s.request("GET", "/_sink/last?provider=smtp")
    assert last["rcpt"] == rcpts[:1] and last["message_id"] == "<a1-retry@quakecast.test>"
    assert "text/html" in last["body"]

    # faults: 550 for one recipient at RCPT, 451 at the end of DATA, 421 closes
    s.faults({"provider": "smtp", "smtp_code": 550, "match_recipient": "dead@example.org"},
             {"provider": "smtp", "smtp_code": 451, "smtp_stage": "data", "count": 1},
             {"provider": "smtp", "smtp_code": 421, "smtp_stage": "data", "count": 1})
    m = mail("Cutremur", "Update: M6.0", "<p>Update</p>", "<a2@quakecast.test>", rcpts)
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.login(SMTP_USER, SMTP_PASSWORD)
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("alerts@quakecast.test", ["dead@example.org", "ana@example.org"],
                       m.as_bytes())
        assert e.value.smtp_code == 451
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            c.sendmail("alerts@quakecast.test", ["dead@example.org"], m.as_bytes())
        assert e.value.recipients["dead@example.org"][0] == 550
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("alerts@quakecast.test", ["ana@example.org"], m.as_bytes())
        assert e.value.smtp_code == 421
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.login(SMTP_USER, SMTP_PASSWORD)
        assert c.sendmail("alerts@quakecast.test", ["ana@example.org"], m.as_bytes()) == {}
    summ = s.summary("smtp")
    assert summ["faulted"] == {"550": 2, "451": 1, "421": 1}
    rows = {(r["alert_id"], r["recipient"]): r for r in s.ids("smtp")}
    assert rows[(key("smtp", "Update: M6.0"), "ana@example.org")]["count"] == 1


def make_cert(d):
    cert, keyf = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", keyf, "-out", cert], check=True, capture_output=True)
    return cert, keyf


def test_smtp_starttls_and_libcurl(start, tmp_path):
    cert, keyf = make_cert(str(tmp_path))
    s = start("--smtp-port", "0", "--smtp-ready-file", str(tmp_path / "sink0" / "smtp-ready"),
              "--smtp-user", SMTP_USER, "--smtp-password", SMTP_PASSWORD,
              "--smtp-tls-cert", cert, "--smtp-tls-key", keyf)
    ctx = ssl.create_default_context(cafile=cert)
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        c.starttls(context=ctx)
        c.ehlo()
        assert not c.has_extn("starttls")
        c.login(SMTP_USER, SMTP_PASSWORD)
        m = mail("Cutremur", "Over TLS", "<p>TLS</p>", "<t1@quakecast.test>", ["tls@example.org"])
        assert c.send_message(m) == {}
    if shutil.which("curl") is None:
        pytest.skip("no curl command line to check libcurl's SMTP client")
    msg = tmp_path / "mail.txt"
    msg.write_bytes(b"From: alerts@quakecast.test\r\nTo: c1@example.org\r\n"
                    b"Message-ID: <curl-1@quakecast.test>\r\nSubject: x\r\n\r\n"
                    b"Via libcurl\r\n.leading dot\r\n")
    for tls in ([], ["--ssl-reqd", "--cacert", cert]):
        for auth in ([], ["--login-options", "AUTH=PLAIN"], ["--login-options", "AUTH=LOGIN"]):
            r = subprocess.run(["curl", "-sS", "--url", "smtp://127.0.0.1:%d" % s.smtp_port,
                                "--mail-from", "alerts@quakecast.test", "--mail-rcpt", "c1@example.org",
                                "--mail-rcpt", "c2@example.org", "-u", SMTP_USER + ":" + SMTP_PASSWORD,
                                "-T", str(msg), *tls, *auth], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
    rows = {(r["alert_id"], r["recipient"]): r["count"] for r in s.ids("smtp")}
    k = key("smtp", "Via libcurl\n.leading dot")
    assert rows[(k, "c1@example.org")] == 6 and rows[(k, "c2@example.org")] == 6
    assert rows[(key("smtp", "Over TLS"), "tls@example.org")] == 1
    summ = s.summary("smtp")
    assert summ["duplicate_id_mismatch"] == 0 and summ["messages"] == 7


# ---- rate limits, early retries, delays, drops -------------------------------

def test_rate_limit_and_early_retry(start):
    s = start("--telegram-token", BOT, "--rate-limit", "telegram=5",
              "--twilio-sid", SID, "--twilio-token", TOKEN)
    answers = [s.telegram(1000 + i, "Cutremur M6.1") for i in range(12)]
    assert [a[0] for a in answers].count(200) == 5
    refused = [(1000 + i, a) for i, a in enumerate(answers) if a[0] == 429]
    assert len(refused) == 7
    chat, (st, hdrs, r) = refused[0]
    assert hdrs["Retry-After"] == "1" and r["parameters"] == {"retry_after": 1}
    summ = s.summary("telegram")
    assert summ["rate_limited"] == 7 and summ["max_per_second"] == 5 and summ["early_retry"] == 0
    s.telegram(chat, "Cutremur M6.1")  # before the second it was given
    assert s.summary("telegram")["early_retry"] == 1
    time.sleep(1.1)
    assert all(s.telegram(c, "Cutremur M6.1")[0] == 200 for c, _ in refused[1:6])
    summ = s.summary("telegram")
    assert summ["early_retry"] == 1 and summ["max_per_second"] == 5

    # a delayed success is recorded when answered; a drop closes the connection
    s.faults({"provider": "twilio", "delay_ms": 300, "count": 1},
             {"provider": "twilio", "drop": True, "count": 1})
    t0 = time.monotonic()
    st, _, r = s.twilio("+40700000009", "Cutremur M6.1")
    assert st == 201 and time.monotonic() - t0 >= 0.3
    with pytest.raises(Exception):
        s.twilio("+40700000009", "Cutremur M6.1")
    summ = s.summary("twilio")
    assert summ["received"] == 1 and summ["faulted"] == {"drop": 1}
    # reset clears the windows and the counters, keeps nothing else
    s.request("POST", "/_sink/reset")
    summ = s.summary()
    assert summ["rate_limited"] == 0 and summ["providers"]["telegram"]["max_per_second"] == 0


def test_latency(start):
    """--latency: successes come after a log-normal delay around the median
    (sigma 0 here: exactly it), faults and other providers at once."""
    s = start("--telegram-token", BOT, "--twilio-sid", SID, "--twilio-token", TOKEN,
              "--latency", "telegram=250:0")
    t0 = time.monotonic()
    st, _, _ = s.telegram(7001, "Cutremur M6.1")
    took = time.monotonic() - t0
    assert st == 200 and 0.24 <= took < 2.0, took
    t0 = time.monotonic()
    assert s.twilio("+40700000010", "Cutremur M6.1")[0] == 201
    assert time.monotonic() - t0 < 0.2
    s.faults({"provider": "telegram", "status": 503, "count": 1})
    t0 = time.monotonic()
    assert s.telegram(7002, "Cutremur M6.1")[0] == 503
    assert time.monotonic() - t0 < 0.2
    assert s.summary("telegram")["received"] == 1
    for bad in ("telegram=-1", "telegram=5:9", "nobody=5", "telegram=5:x", "telegram"):
        r = subprocess.run([SINK, "--port", "0", "--latency", bad], capture_output=True, text=True, timeout=10)
        assert r.returncode != 0 and "--latency" in r.stderr, (bad, r.returncode, r.stderr)
