"""No personal data in logs or metric labels (issue 6). Runs after the
other self-service tests of the session: the numbers and addresses they
signed up with (+4072..., +40733..., +40744..., ...@example.org) must
appear in no process's log and in no metric label."""

import os
import re

from conftest import lib
from selfsvc import signup_verified

PHONE = re.compile(r"\+407[0-9]{8}")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@example\.org")


def test_logs_and_metrics_carry_no_personal_data(stack, providers):
    signup_verified(stack, providers)  # at least one sign-up in this session
    logs = os.path.join(stack.dir, "logs")
    found = []
    for name in sorted(os.listdir(logs)):
        if not name.startswith(("processor", "dispatcher")):
            continue
        with open(os.path.join(logs, name), errors="replace") as f:
            for line in f:
                if PHONE.search(line) or EMAIL.search(line):
                    found.append("%s: %s" % (name, line.strip()[:200]))
    assert not found, "personal data in logs:\n" + "\n".join(found[:20])
    for url in [stack.api] + stack.dispatcher_urls():
        _, body = lib.http_request("GET", url + "/metrics")
        text = body.decode()
        assert not PHONE.search(text) and not EMAIL.search(text), url
        assert "quakecast_signups_total" in text or "quakecast_notices_total" in text
