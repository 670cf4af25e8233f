"""The /metrics of a processor and of a dispatcher, after an alert went
out, pass Prometheus's own checker: `promtool check metrics` (the text
exposition format parsed by Prometheus's parser, plus its naming lint:
counters end in _total, units are base units and spelt out in the name,
every metric has HELP). promtool is built by deploy/local/install-deps into
$QUAKECAST_CACHE_DIR/tools/promtool-<version> (issue 17)."""

import json
import os
import re
import subprocess
import time
import uuid

import pytest

from conftest import REPO, SECRET, lib, wait_alert_complete, wait_until

CACHE = os.environ.get("QUAKECAST_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "quakecast")
# An otherwise empty place (see test_30): only this test's subscriber.
WELLINGTON = (-41.2865, 174.7762)


def promtool():
    with open(os.path.join(REPO, "deploy", "local", "install-deps")) as f:
        version = re.search(r"^PROMTOOL_VERSION=(\S+)$", f.read(), re.M).group(1)
    path = os.path.join(CACHE, "tools", "promtool-" + version, "promtool")
    if not os.access(path, os.X_OK):
        pytest.fail("no %s: deploy/local/install-deps builds it" % path)
    return path


def check_metrics(text):
    r = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_metrics_pass_promtool_after_an_alert(stack, sink):
    tag = uuid.uuid4().hex[:8]
    line = json.dumps({"id": "prom-" + tag, "lat": WELLINGTON[0], "lon": WELLINGTON[1],
                       "channels": {"webhook": {"url": sink + "/hook", "secret": SECRET}}}) + "\n"
    lib.import_subscribers(stack.api, stack.token, [line.encode()])
    now = int(time.time() * 1000)
    quake = json.dumps({
        "type": "Feature", "id": "prom" + tag,
        "properties": {"mag": 7.0, "place": "Cook Strait, New Zealand", "time": now - 3000, "updated": now,
                       "status": "reviewed", "type": "earthquake", "net": "prom", "code": tag, "magType": "mww"},
        "geometry": {"type": "Point", "coordinates": [174.6, -41.5, 25.0]},
    }).encode()
    _, reply = lib.post_event(stack.api, stack.token, quake, replay="now")
    alert = lib.alert_of(reply)["alert_id"]
    wait_alert_complete(stack, alert)
    wait_until(lambda: sum(stack.metric(u, "quakecast_notifications_total") for u in stack.dispatcher_urls()) > 0,
               30, 0.2, "a notification counted")

    targets = [("processor", stack.api)] + [("dispatcher", u) for u in stack.dispatcher_urls()]
    failures = []
    texts = {}
    for name, url in targets:
        status, body = lib.http_request("GET", url + "/metrics")
        assert status == 200, (name, status)
        texts[url] = text = body.decode()
        rc, out = check_metrics(text)
        print("promtool check metrics (%s %s): status %d%s" % (name, url, rc, ("\n" + out) if out else ""))
        if rc != 0 or out:
            failures.append("%s %s: status %d\n%s" % (name, url, rc, out))
    assert not failures, "\n".join(failures)
    # The checker saw real data: decisions on the processor, and on the
    # dispatcher that sent, notifications and send-duration buckets.
    assert re.search(r'^quakecast_decisions_total\{decision="alert"\} [1-9]', texts[stack.api], re.M)
    sent = [t for u, t in texts.items() if u != stack.api and
            re.search(r'^quakecast_notifications_total\{result="sent"\} [1-9]', t, re.M)]
    assert sent and re.search(r"^quakecast_send_seconds_count [1-9]", sent[0], re.M), list(texts)


def test_promtool_refuses_bad_exposition():
    """The checker is real: a counter without _total, and a metric named
    in milliseconds, are flagged."""
    rc, out = check_metrics("# HELP quakecast_sends Sends.\n# TYPE quakecast_sends counter\nquakecast_sends 1\n"
                            "# HELP quakecast_wait_milliseconds Wait.\n# TYPE quakecast_wait_milliseconds gauge\n"
                            "quakecast_wait_milliseconds 3\n")
    assert rc != 0, out
    assert "quakecast_sends" in out and "_total" in out, out
    assert "quakecast_wait_milliseconds" in out, out
