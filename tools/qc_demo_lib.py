"""qc_demo_lib: helpers shared by deploy/local/demo and tests/system/.

Small functions, one job each:

- HTTP with urllib (loopback only: proxies from the environment are
  ignored), JSON in and out;
- the local stack's KEY=value environment, the fake sink's ready file;
- subscriber import in NDJSON batches, event push, alert status;
- the fake sink's ledger (/_sink/summary, /_sink/ids, /_sink/reset);
- the set of subscribers an event should reach, computed here with the
  same intensity equation as the C code (tools/qc_ipe.py), so that a test
  does not have to trust the processor to check the processor;
- the final tally: notified, duplicates, missed, unexpected, borderline.

Python 3 standard library only. Every function raises DemoError with a
readable message when something is not as expected.
"""

import json
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qc_ipe  # noqa: E402  (tools/ is not a package)

#: Subscribers whose predicted MMI is within this of their threshold are
#: "borderline": rounding in either implementation may put them on either
#: side, so they count neither as missed nor as unexpected.
BORDERLINE_MMI = 0.05

#: Lines per POST /v1/subscribers/import.
IMPORT_BATCH_LINES = 20000


class DemoError(Exception):
    """Something the demo or a test relies on did not hold."""


def now_ms():
    """Wall-clock time, Unix ms (what the sink stamps deliveries with)."""
    return time.time_ns() // 1_000_000


def log(msg):
    """One line on stderr (stdout is kept for results)."""
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------- HTTP

# No proxy: everything the demo and the tests talk to is on loopback, and an
# http_proxy variable in the environment must not send it elsewhere.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(method, url, body=None, headers=None, timeout=30.0):
    """One HTTP request. @returns (status, body bytes). HTTP error statuses
    are returned, not raised; connection failures raise DemoError."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=dict(headers or {}))
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise DemoError("%s %s: %s" % (method, url, getattr(e, "reason", e)))


def http_json(method, url, body=None, content_type=None, token=None,
              timeout=30.0, expect=(200,)):
    """Request expecting a JSON answer with a status in @p expect.

    @p body is bytes sent as is, or any other value sent as JSON.
    @returns the parsed answer (None for an empty body)."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        content_type = content_type or "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    status, data = http_request(method, url, body, headers, timeout)
    if status not in expect:
        raise DemoError("%s %s: HTTP %d: %s" % (method, url, status,
                                                 _snippet(data)))
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError:
        raise DemoError("%s %s: answer is not JSON: %s"
                        % (method, url, _snippet(data)))


def wait_http_ok(url, timeout_s=60.0, interval_s=0.2):
    """Polls GET @p url until it answers 2xx. @returns the seconds waited."""
    start = time.monotonic()
    last = "no answer"
    while True:
        try:
            status, data = http_request("GET", url, timeout=5.0)
            if 200 <= status < 300:
                return time.monotonic() - start
            last = "HTTP %d: %s" % (status, _snippet(data))
        except DemoError as e:
            last = str(e)
        if time.monotonic() - start > timeout_s:
            raise DemoError("%s not ready after %.0f s (%s)"
                            % (url, timeout_s, last))
        time.sleep(interval_s)


def _snippet(data, limit=300):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------- stack and sink set-up

def parse_kv_lines(text):
    """KEY=value lines (as printed by `deploy/local/stack env`) to a dict.
    Accepts an `export ` prefix and quoted values; ignores other lines."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        if not sep or not key or not key.replace("_", "").isalnum():
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


def parse_ready_file(text):
    """The fake sink's base URL from its --ready-file contents.

    Accepts a URL, "host:port", a bare port, KEY=value lines (URL/PORT/
    HOST keys, any prefix) or a JSON object with "url" or "port"/"host".
    @returns "http://host:port" without a trailing slash."""
    text = text.strip()
    if not text:
        raise DemoError("sink ready file is empty")
    host, port, url = "127.0.0.1", None, None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            raise DemoError("sink ready file: bad JSON: %s" % _snippet(text))
        url = obj.get("url") or obj.get("base_url")
        port = obj.get("port")
        host = obj.get("host") or host
    elif "=" in text:
        kv = parse_kv_lines(text)
        for k, v in kv.items():
            if k.upper().endswith("URL"):
                url = url or v
            elif k.upper().endswith("PORT"):
                port = port or v
            elif k.upper().endswith("HOST"):
                host = v
    else:
        first = text.split()[0]
        if "://" in first:
            url = first
        elif first.isdigit():
            port = first
        elif ":" in first:
            host, _, port = first.rpartition(":")
    if url:
        return url.rstrip("/")
    if port is None or not str(port).isdigit() or int(port) <= 0:
        raise DemoError("sink ready file: no port in %r" % _snippet(text))
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return "http://%s:%d" % (host, int(port))


def wait_ready_file(path, proc=None, timeout_s=15.0):
    """Waits for @p path to hold the sink's address (written by the sink
    once it listens). @p proc (a Popen) dying first is an error.
    @returns the sink's base URL."""
    start = time.monotonic()
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if text.strip() and (text.endswith("\n") or
                                 time.monotonic() - start > 1.0):
                return parse_ready_file(text)
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            raise DemoError("sink exited with status %d before it was ready"
                            % proc.returncode)
        if time.monotonic() - start > timeout_s:
            raise DemoError("sink not ready after %.0f s (no %s)"
                            % (timeout_s, path))
        time.sleep(0.05)


# ------------------------------------------------------------ processor API

def import_subscribers(api_url, token, lines, batch_lines=IMPORT_BATCH_LINES,
                       progress=None):
    """POSTs NDJSON @p lines (bytes, each ending in a newline) to
    /v1/subscribers/import in batches. Every batch must come back as
    {"imported": N, "rejected": []} with N its number of lines.
    @p progress(done, total) is called after each batch.
    @returns the number imported."""
    url = api_url.rstrip("/") + "/v1/subscribers/import"
    total = len(lines)
    done = 0
    for start in range(0, total, batch_lines):
        batch = lines[start:start + batch_lines]
        reply = http_json("POST", url, b"".join(batch),
                          content_type="application/x-ndjson", token=token,
                          timeout=300.0)
        if not isinstance(reply, dict):
            raise DemoError("import: unexpected answer %r" % (reply,))
        imported = reply.get("imported")
        rejected = reply.get("rejected") or []
        if rejected:
            raise DemoError("import: %d of %d lines rejected, first: %s"
                            % (len(rejected), len(batch),
                               json.dumps(rejected[:3])))
        if imported != len(batch):
            raise DemoError("import: sent %d lines, %r imported, %d rejected"
                            % (len(batch), imported, len(rejected)))
        done += imported
        if progress:
            progress(done, total)
    return done


def post_event(api_url, token, geojson, replay="now"):
    """POSTs a USGS GeoJSON document (bytes) to /v1/events?replay=...
    @returns (t0_ms, reply): t0_ms is the wall time just before sending."""
    url = api_url.rstrip("/") + "/v1/events"
    if replay:
        url += "?replay=" + urllib.parse.quote(replay)
    t0 = now_ms()
    reply = http_json("POST", url, geojson,
                      content_type="application/geo+json", token=token,
                      expect=(200, 201, 202))
    return t0, reply


def alert_of(reply):
    """The first event of a POST /v1/events reply decided "alert".
    @returns that event (dict); raises DemoError showing the decisions."""
    events = (reply or {}).get("events") or []
    for ev in events:
        if ev.get("decision") == "alert" and ev.get("alert_id"):
            return ev
    raise DemoError("event not alerted: %s" % json.dumps(
        [{k: ev.get(k) for k in ("event_id", "decision", "reason")}
         for ev in events] or reply))


def alert_status(api_url, token, alert_id):
    """GET /v1/alerts/{alert_id}: state, segments, targeted, notified..."""
    url = "%s/v1/alerts/%s" % (api_url.rstrip("/"),
                               urllib.parse.quote(alert_id, safe=""))
    return http_json("GET", url, token=token, timeout=10.0)


# --------------------------------------------------------------- fake sink

def sink_summary(sink_url, alert_id=None):
    """GET /_sink/summary[?alert_id=]: received, distinct, duplicates,
    first_ms, last_ms, ..."""
    url = sink_url.rstrip("/") + "/_sink/summary"
    if alert_id is not None:
        url += "?alert_id=" + urllib.parse.quote(alert_id, safe="")
    return http_json("GET", url, timeout=10.0)


def sink_ids(sink_url, alert_id):
    """GET /_sink/ids?alert_id=: the sink's ledger for one alert.
    @returns {subscriber_id: (count, first_ms, last_ms)}."""
    url = "%s/_sink/ids?alert_id=%s" % (sink_url.rstrip("/"),
                                        urllib.parse.quote(alert_id, safe=""))
    status, data = http_request("GET", url, timeout=120.0)
    if status != 200:
        raise DemoError("GET %s: HTTP %d: %s" % (url, status, _snippet(data)))
    ledger = {}
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            sub = row["subscriber_id"]
            entry = (int(row["count"]), row.get("first_ms"), row.get("last_ms"))
        except (ValueError, KeyError, TypeError):
            raise DemoError("%s line %d: not a ledger row: %s"
                            % (url, n, _snippet(line)))
        if sub in ledger:  # one row per subscriber is the contract
            c, f, l = ledger[sub]
            entry = (c + entry[0], _min(f, entry[1]), _max(l, entry[2]))
        ledger[sub] = entry
    return ledger


def sink_reset(sink_url):
    """POST /_sink/reset: forget every delivery."""
    http_json("POST", sink_url.rstrip("/") + "/_sink/reset", b"",
              expect=(200, 204))


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


# ----------------------------------------------------- who should be reached

def load_event(path):
    """A USGS GeoJSON Feature (file) to {"id", "mag", "lat", "lon",
    "depth_km", "time_ms"}."""
    with open(path, "rb") as f:
        doc = json.loads(f.read())
    try:
        lon, lat, depth = doc["geometry"]["coordinates"][:3]
        props = doc["properties"]
        return {"id": doc.get("id"), "mag": float(props["mag"]),
                "lat": float(lat), "lon": float(lon),
                "depth_km": float(depth), "time_ms": props.get("time")}
    except (KeyError, TypeError, ValueError):
        raise DemoError("%s: not a USGS GeoJSON Feature with mag and "
                        "coordinates" % path)


def parse_subscribers(lines):
    """NDJSON subscriber lines (bytes or str) to a list of dicts."""
    return [json.loads(line) for line in lines if line.strip()]


def classify(subscribers, event, margin=BORDERLINE_MMI):
    """Which subscribers @p event should reach, by the published IPE
    (tools/qc_ipe.py: the model of the event's tectonic regime, written
    again from the equations of shared/src/ipe*.c).

    A subscriber is expected when its predicted MMI, rounded as people
    read it, reaches its min_mmi (default 4): MMI >= min_mmi - 0.5
    (qc_ipe.reaches); borderline when within @p margin of that edge.
    @returns (expected ids, borderline ids), two sets; borderline ids are
    in neither the expected set nor outside it."""
    mag, depth = event["mag"], event["depth_km"]
    elat, elon = event["lat"], event["lon"]
    expected, borderline = set(), set()
    for s in subscribers:
        level = qc_ipe.mmi_at(mag, depth, elat, elon, s["lat"], s["lon"])
        diff = level - (s.get("min_mmi", 4) - qc_ipe.THRESHOLD_MARGIN)
        if abs(diff) <= margin:
            borderline.add(s["id"])
        elif diff > 0:
            expected.add(s["id"])
    return expected, borderline


ROMAN = ("I", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def intensity_counts(subscribers, event, ledger):
    """Per predicted intensity as people read it (the rounded numeral, by
    tools/qc_ipe.py): how many subscribers are there, and how many the sink
    received. {"VII": {"subscribers": n, "notified": k}, ...}, strongest
    first; intensities below II are left out."""
    out = {}
    for s in subscribers:
        level = qc_ipe.mmi_at(event["mag"], event["depth_km"], event["lat"],
                              event["lon"], s["lat"], s["lon"])
        r = ROMAN[max(1, min(10, int(math.floor(level + 0.5))))]
        if r == "I":
            continue
        c = out.setdefault(r, {"subscribers": 0, "notified": 0})
        c["subscribers"] += 1
        c["notified"] += s["id"] in ledger
    order = {r: i for i, r in enumerate(ROMAN)}
    return dict(sorted(out.items(), key=lambda kv: -order[kv[0]]))


def tally(ledger, expected, borderline, targeted, t0_ms):
    """The result, counted from the sink's @p ledger (see sink_ids()).

    notified: distinct subscribers the sink received; duplicates: sum of
    (count - 1); missed: expected, not borderline, never received;
    unexpected: received, neither expected nor borderline; first_ms and
    last_ms: first and last receive time relative to @p t0_ms."""
    received = set(ledger)
    firsts = [e[1] for e in ledger.values() if e[1] is not None]
    lasts = [e[2] for e in ledger.values() if e[2] is not None]
    return {
        "targeted": targeted,
        "notified": len(received),
        "duplicates": sum(max(e[0] - 1, 0) for e in ledger.values()),
        "missed": len(expected - received),
        "unexpected": len(received - expected - borderline),
        "borderline": len(borderline),
        "first_ms": min(firsts) - t0_ms if firsts else None,
        "last_ms": max(lasts) - t0_ms if lasts else None,
    }


def verdict(result):
    """@returns the list of reasons the result is a failure (empty: pass):
    any duplicate, any missed subscriber, notified != targeted."""
    reasons = []
    if result["duplicates"] > 0:
        reasons.append("%d duplicate deliveries" % result["duplicates"])
    if result["missed"] > 0:
        reasons.append("%d expected subscribers never notified"
                       % result["missed"])
    if result["notified"] != result["targeted"]:
        reasons.append("notified %d != targeted %s"
                       % (result["notified"], result["targeted"]))
    return reasons


def fmt_int(n):
    """12345 -> '12,345' (None -> '?')."""
    return "?" if n is None else "{:,}".format(n)
