"""The fake providers (Twilio, Telegram, FCM with its OAuth token endpoint,
SMTP) for the channel tests: one qc-fake-sink process with every provider
mode on, started before the stack so that the dispatchers are configured
against it (tests/fakes/README.md has the wire contract).

The session stack's dispatchers get DISPATCHER_ENV, so every dispatcher of
every test has all channels on; tests that do not use them are unaffected
(apart from one broadcast post per alert to the fake Telegram channel and
FCM topic)."""

import json
import os
import subprocess
import urllib.request

import pytest

from conftest import BUILD, lib

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "test-twilio-token"
TWILIO_FROM = "+40312345678"
TELEGRAM_TOKEN = "123456:TEST-telegram-token"
TELEGRAM_CHANNEL = "@quakecast_test"
FCM_TOPIC = "quakes-ro"
SMTP_USER, SMTP_PASSWORD = "quakecast", "smtp-secret"
SMTP_FROM = "alerts@quakecast.test"
# Shared rates, in messages per second for all dispatchers together; the
# fake refuses anything beyond its own limit, a little above ours
# (at most rate + burst may pass in any second: burst is 100 ms worth).
RATE_SMS = 40
FAKE_LIMIT_SMS = 46


class Providers:
    def __init__(self, url, smtp_port, env):
        self.url = url
        self.smtp_port = smtp_port
        self.env = env

    def _req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def reset(self):
        self._req("DELETE", "/_sink/faults")
        self._req("POST", "/_sink/reset", {})

    def fault(self, rule):
        self._req("POST", "/_sink/faults", rule)

    def summary(self, provider=None):
        return json.loads(self._req("GET", "/_sink/summary" + ("?provider=" + provider if provider else "")))

    def rows(self, provider):
        """{recipient: total deliveries} over every text (a retried message
        may carry a countdown that moved on, so its text differs)."""
        out = {}
        for line in self._req("GET", "/_sink/ids?provider=" + provider).decode().splitlines():
            if line.strip():
                row = json.loads(line)
                out[row["recipient"]] = out.get(row["recipient"], 0) + row["count"]
        return out

    def last(self, provider):
        return json.loads(self._req("GET", "/_sink/last?provider=" + provider))


@pytest.fixture(scope="session")
def providers(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("providers"))
    key, pub = os.path.join(d, "key.pem"), os.path.join(d, "pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True, capture_output=True)
    account = os.path.join(d, "service-account.json")
    with open(key) as f, open(account, "w") as out:
        json.dump({"type": "service_account", "project_id": "quakecast-test", "private_key_id": "k1",
                   "private_key": f.read(), "client_email": "dispatcher@quakecast-test.iam.gserviceaccount.com",
                   "token_uri": "https://oauth2.googleapis.com/token"}, out)
    ready, smtp_ready = os.path.join(d, "ready"), os.path.join(d, "smtp-ready")
    log = open(os.path.join(d, "providers.log"), "w")
    proc = subprocess.Popen([os.path.join(BUILD, "tests", "fakes", "qc-fake-sink"), "--port", "0",
                             "--ready-file", ready, "--twilio-sid", TWILIO_SID, "--twilio-token", TWILIO_TOKEN,
                             "--telegram-token", TELEGRAM_TOKEN, "--fcm-public-key", pub,
                             "--fcm-project", "quakecast-test",
                             "--fcm-issuer", "dispatcher@quakecast-test.iam.gserviceaccount.com",
                             "--smtp-port", "0", "--smtp-ready-file", smtp_ready,
                             "--smtp-user", SMTP_USER, "--smtp-password", SMTP_PASSWORD,
                             "--rate-limit", "twilio=%d" % FAKE_LIMIT_SMS], stdout=log, stderr=log)
    try:
        url = lib.wait_ready_file(ready, proc)
        with open(smtp_ready) as f:
            smtp_port = int(f.read().strip())
        env = {
            "QUAKECAST_TWILIO_URL": url, "QUAKECAST_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "QUAKECAST_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "QUAKECAST_TWILIO_FROM": TWILIO_FROM,
            "QUAKECAST_TELEGRAM_URL": url, "QUAKECAST_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "QUAKECAST_TELEGRAM_CHANNEL": TELEGRAM_CHANNEL, "QUAKECAST_TELEGRAM_AREA_PREFIX": "qctg",
            "QUAKECAST_FCM_URL": url, "QUAKECAST_FCM_TOKEN_URL": url + "/token",
            "QUAKECAST_FCM_CREDENTIALS": account, "QUAKECAST_FCM_TOPIC": FCM_TOPIC,
            "QUAKECAST_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port, "QUAKECAST_SMTP_USER": SMTP_USER,
            "QUAKECAST_SMTP_PASSWORD": SMTP_PASSWORD, "QUAKECAST_SMTP_FROM": SMTP_FROM,
            "QUAKECAST_SMTP_STARTTLS": "0",
            "QUAKECAST_RATE_SMS": str(RATE_SMS), "QUAKECAST_RATE_TELEGRAM": "0",
        }
        yield Providers(url, smtp_port, env)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
