"""The web pages in headless Chromium (issue 6): Debian's chromium driven
by playwright-core (tests/browser/run.mjs) signs a person up on a phone-
sized page (geolocation, map, town list, a refused number shown at its
field), also by Telegram (a refused chat id shown at its field), verifies
with the codes caught by the fake Twilio and Telegram, changes the
threshold, leaves; and watches the dashboard count up during an alert
slowed by the webhook sink. Any console error fails a page (a missing
icon, a CSP refusal, a script error), but for the API's own 4xx/5xx
answers the pages ask for and show. Screenshots are kept as test artifacts in
$QUAKECAST_ARTIFACTS_DIR (default <build>/artifacts/browser).

playwright-core comes from npm into a cache folder, pinned by
tests/browser/package.json and package-lock.json (npm ci); without
chromium or node the test is skipped, unless QUAKECAST_REQUIRE_BROWSER=1."""

import json
import os
import random
import shutil
import subprocess

import pytest

from conftest import BUILD, REPO, gen_subscribers, lib
from selfsvc import fresh_phone

BROWSER_DIR = os.path.join(REPO, "tests", "browser")
CACHE = os.path.join(os.environ.get("QUAKECAST_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "quakecast"), "browser")
EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")


def playwright_dir():
    """node_modules with the pinned playwright-core, installed once by npm ci."""
    if not (shutil.which("node") and shutil.which("npm") and os.path.exists("/usr/bin/chromium")):
        return None
    os.makedirs(CACHE, exist_ok=True)
    lock = os.path.join(BROWSER_DIR, "package-lock.json")
    stamp = os.path.join(CACHE, ".installed-lock")
    with open(lock) as f:
        want = f.read()
    have = open(stamp).read() if os.path.exists(stamp) else None
    if have != want or not os.path.isdir(os.path.join(CACHE, "node_modules", "playwright-core")):
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(BROWSER_DIR, name), CACHE)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=CACHE, check=True,
                       capture_output=True, timeout=300)
        with open(stamp, "w") as f:
            f.write(want)
    return CACHE


@pytest.fixture(scope="module")
def node_modules():
    d = playwright_dir()
    if not d:
        if os.environ.get("QUAKECAST_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium, node or npm missing (deploy/local/install-deps installs chromium)")
        pytest.skip("chromium, node or npm missing")
    return d


def run(stack, providers, node_modules, scenario, shots):
    env = dict(os.environ, QC_API_URL=stack.api, QC_ADMIN_TOKEN=stack.token, QC_PROVIDERS_URL=providers.url,
               QC_EVENT_FILE=EVENT, QC_SHOTS=shots, QC_PHONE=fresh_phone(), QC_SCENARIO=scenario,
               QC_TELEGRAM_CHAT=str(random.randint(100000000, 999999999)),
               NODE_PATH=os.path.join(node_modules, "node_modules"))
    # ES modules resolve from the script's folder, not NODE_PATH: run a copy
    # next to the installed node_modules.
    script = os.path.join(node_modules, "run.mjs")
    shutil.copy(os.path.join(BROWSER_DIR, "run.mjs"), script)
    r = subprocess.run(["node", script], env=env, capture_output=True, text=True, timeout=180)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"ok": False, "error": r.stderr[-3000:]}
    assert r.returncode == 0 and out["ok"], out.get("error", "") + "\n" + r.stderr[-2000:]
    return out


def artifacts():
    d = os.environ.get("QUAKECAST_ARTIFACTS_DIR") or os.path.join(BUILD, "artifacts")
    d = os.path.join(d, "browser")
    os.makedirs(d, exist_ok=True)
    return d


def test_signup_verify_manage_leave_in_chromium(stack, providers, node_modules):
    out = run(stack, providers, node_modules, "signup", artifacts())
    assert out["signup"]["id"].startswith("sub-")
    for name in ("01-signup-ro", "03-verify", "04-manage", "05-left"):
        assert os.path.getsize(os.path.join(artifacts(), name + ".png")) > 1000


def test_dashboard_counts_up_during_an_alert(stack, providers, sink, node_modules):
    # Enough webhook subscribers, each answered after 300 ms by the sink, so
    # the fan-out lasts several of the page's one-second polls. The alert also
    # reaches every earlier test's subscribers in Romania (80k in the full
    # suite), so the delay covers more than ours: 6000 held deliveries at
    # 300 ms take several seconds whatever else is delivered at full speed.
    lines = gen_subscribers(1500, sink, seed=26, prefix="brw")
    lib.import_subscribers(stack.api, stack.token, lines)
    lib.http_request("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 300, "count": 6000}).encode(),
                     {"Content-Type": "application/json"})
    try:
        out = run(stack, providers, node_modules, "dashboard", artifacts())
    finally:
        lib.http_request("DELETE", sink + "/_sink/faults")
    d = out["dashboard"]
    assert d["notified"] > 0 and len([n for n in d["seen"] if 0 < n < d["notified"]]) >= 2, d
    assert os.path.getsize(os.path.join(artifacts(), "06-dashboard-running.png")) > 1000
