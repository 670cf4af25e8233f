"""Webhook egress (issue 16, A): the dispatcher checks the address it is
about to connect to, not only the URL's text at sign-up. The stack allows
exactly 127.0.0.1/32 (where the sink listens), so a webhook to another
loopback address, to the IPv4-mapped form of one or to ::1 is refused when
the socket would be opened: a permanent error, dead-lettered with the
address and its range after one attempt, counted and logged, while a
subscriber of the same alert on the allowed address is served. (That a
host *name* resolving to loopback is refused the same way is asserted
against curl's own resolver in tests/unit/test_httpc.c.)"""

import json
import os
import urllib.parse

from conftest import SECRET, lib, wait_alert_complete, wait_until
from test_10_channels import BUCHAREST, EVENT, dead_letters


def hook(url):
    return {"webhook": {"url": url, "secret": SECRET}}


def test_refused_addresses_are_dead_lettered(stack, sink):
    port = urllib.parse.urlsplit(sink).port
    refused = {
        "eg-lo2": ("http://127.0.0.2:%d/hook" % port, "127.0.0.2 (loopback)"),
        "eg-mapped": ("http://[::ffff:127.0.0.3]:%d/hook" % port, "::ffff:127.0.0.3 (loopback)"),
        "eg-v6": ("http://[::1]:%d/hook" % port, "::1 (loopback)"),
    }
    subs = {sid: url for sid, (url, _) in refused.items()}
    subs["eg-ok"] = sink + "/hook"
    lines = [(json.dumps({"id": sid, "lat": BUCHAREST[0], "lon": BUCHAREST[1], "lang": "en",
                          "channels": hook(url)}) + "\n").encode() for sid, url in subs.items()]
    assert lib.import_subscribers(stack.api, stack.token, lines) == len(lines)
    urls = stack.dispatcher_urls()
    before = sum(stack.metric(u, "quakecast_webhook_egress_refused_total") for u in urls)

    with open(EVENT, "rb") as f:
        _, reply = lib.post_event(stack.api, stack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    wait_alert_complete(stack, alert)

    wait_until(lambda: "eg-ok" in lib.sink_ids(sink, alert), 30, 0.1, "the allowed webhook")
    letters = wait_until(lambda: (lambda d: d if len(d) >= len(refused) else None)(
        [d for d in dead_letters(stack, alert) if d["subscriber_id"].startswith("eg-")]), 30, 0.2, "dead letters")
    by = {d["subscriber_id"]: d for d in letters}
    assert set(by) == set(refused), letters
    for sid, (_, why) in refused.items():
        assert by[sid]["channel"] == "webhook"
        assert by[sid]["reason"] == "permanent: egress refused: " + why, by[sid]
        assert by[sid]["attempts"] == 1, by[sid]
    after = sum(stack.metric(u, "quakecast_webhook_egress_refused_total") for u in urls)
    assert after - before == len(refused)

    logged = ""
    logs = os.path.join(stack.dir, "logs")
    for name in os.listdir(logs):
        if name.startswith("dispatcher"):
            with open(os.path.join(logs, name), errors="replace") as f:
                logged += "".join(l for l in f if "webhook_egress_refused" in l)
    for sid, (_, why) in refused.items():
        assert any(json.loads(l).get("subscriber") == sid and json.loads(l).get("address") == why
                   for l in logged.splitlines()), (sid, logged)
