"""SIGTERM to a dispatcher mid-alert (issue 14 item 4): a clean stop. The
test starts a dispatcher of its own (term-1, a third member of the group,
with its own log), waits until it holds leases and records, and sends it
SIGTERM. It must stop claiming, let its sends in flight finish, give its
chunk back (the records it settled marked, the rest unmarked), release its
leases, publish its jobs again for the others and exit within the grace.

The alert is a local one (M 5.0 at 10 km under Focșani, subscribers in
five towns around it), so the other dispatchers have room for more jobs:
a dispatcher at QUAKECAST_MAX_JOBS pauses its consumer, and a job handed
back to it waits behind the jobs queued before it (measured 1.5-2.6 s
with the countrywide Vrancea 1977 alert, every dispatcher at 32 jobs).

Measured: the time from the signal to the first delivery, by another
dispatcher, of a record term-1 gave back unsent. The records are those of
its `chunk_handed_back` log lines (segment, first slot, the settled bits);
their subscriber ids come from the segment's record list in Redis and
their delivery times from the fake sink's own ledger. It must be under a
second: without the hand-back the others wait for the lease (3 s here) to
expire, and without publishing the job again to a partition another
dispatcher owns they wait for a consumer-group rebalance (seconds)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from conftest import BUILD, REPO, SANITIZER_RE, SECRET, lib, wait_alert_complete, wait_until

# Towns within 25 km of Focșani (GeoNames rows from tests/data/cities).
TOWNS = [
    "678015,Focșani,RO,40,PPLA,77313,45.7,27.18333",
    "673881,Mărășești,RO,40,PPLA2,8844,45.88333,27.23333",
    "671398,Panciu,RO,40,PPLA2,8810,45.9,27.08333",
    "686669,Adjud,RO,40,PPL,17298,46.1,27.16667",
    "665355,Tecuci,RO,18,PPLA2,41154,45.84973,27.43441",
]
INFLIGHT_BOUND = 1024  # QUAKECAST_MAX_INFLIGHT set by the stack fixture
GRACE_S = 10           # QUAKECAST_SHUTDOWN_GRACE_S default


def sanitized_build():
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8") as f:
            return any(line.startswith("QC_SANITIZE:") and line.split("=", 1)[1].strip() for line in f)
    except OSError:
        return False


# The goal is under a second (measured 305-680 ms). The ASan+UBSan build
# runs every dispatcher several times slower, and the job handed back then
# waits longer in the receiving dispatcher's queues (measured 440-1,770 ms
# there): that pass checks memory safety, so its bound only catches a
# hand-over that waits for a lease or a rebalance (3 s and more).
HANDOVER_LIMIT_MS = 3000 if sanitized_build() else 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_lrange(port, key, start, stop):
    """LRANGE over RESP on a socket of our own: the records are binary
    (msgpack), which redis-cli would escape."""
    def arg(a):
        a = a.encode() if isinstance(a, str) else a
        return b"$%d\r\n%s\r\n" % (len(a), a)
    cmd = b"*4\r\n" + arg("LRANGE") + arg(key) + arg(str(start)) + arg(str(stop))
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
        s.sendall(cmd)
        f = s.makefile("rb")
        head = f.readline()
        assert head.startswith(b"*"), head
        out = []
        for _ in range(int(head[1:])):
            ln = f.readline()
            n = int(ln[1:])
            out.append(b"" if n < 0 else f.read(n + 2)[:-2])
        return out


def record_id(rec):
    """The subscriber id of a packed segment record: a msgpack array whose
    second element is the id (shared/src/subscriber.c). Only the forms the
    packer emits for these are read (see the msgpack spec, "array format
    family" and "str format family", github.com/msgpack/msgpack/blob/master/spec.md)."""
    if not rec:
        return None
    i = 0
    b = rec[i]
    if 0x90 <= b <= 0x9F:
        i += 1
    elif b == 0xDC:
        i += 3
    elif b == 0xDD:
        i += 5
    else:
        return None
    b = rec[i]  # version: positive fixint or uint8
    i += 1 if b <= 0x7F else 2 if b == 0xCC else 0
    b = rec[i]
    if 0xA0 <= b <= 0xBF:
        n, i = b - 0xA0, i + 1
    elif b == 0xD9:
        n, i = rec[i + 1], i + 2
    elif b == 0xDA:
        n, i = int.from_bytes(rec[i + 1:i + 3], "big"), i + 3
    else:
        return None
    return rec[i:i + n].decode()


def assert_no_sanitizer_report(path):
    """Our own dispatchers log outside the stack folder that conftest scans."""
    with open(path, encoding="utf-8", errors="replace") as f:
        reports = [line for line in f if SANITIZER_RE.search(line)]
    assert not reports, "sanitizer reports in %s:\n%s" % (path, "".join(reports[:20]))


def log_events(path, event):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"event":"%s"' % event in line:
                out.append(json.loads(line))
    return out


def local_event(tmp_path):
    doc = {"type": "Feature", "id": "demo-term-%d" % lib.now_ms(),
           "properties": {"mag": 5.0, "place": "Focșani, Romania", "time": lib.now_ms() - 1000,
                          "updated": lib.now_ms(), "status": "reviewed", "type": "earthquake", "net": "demo",
                          "code": "term", "magType": "mw", "title": "M 5.0 - Focșani, Romania"},
           "geometry": {"type": "Point", "coordinates": [27.18, 45.7, 10]}}
    path = str(tmp_path / "event.geojson")
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def gen_local_subscribers(count, sink_url, tmp_path):
    cities = str(tmp_path / "towns.csv")
    with open(cities, "w", encoding="utf-8") as f:
        f.write("geonameid,name,country,admin1,feature_code,population,lat,lon\n" + "\n".join(TOWNS) + "\n")
    args = [sys.executable, os.path.join(REPO, "tools", "gen-subscribers"), "--count", str(count), "--seed", "47",
            "--cities", cities, "--webhook-url", sink_url + "/hook", "--secret", SECRET, "--id-prefix", "term-"]
    out = subprocess.run(args, check=True, capture_output=True).stdout
    return [line + b"\n" for line in out.splitlines() if line.strip()]


def test_sigterm_hands_work_back(stack, sink, tmp_path):
    port = free_port()
    env = dict(stack.env, QUAKECAST_KAFKA_BOOTSTRAP=stack.bootstrap,
               QUAKECAST_REDIS_URL="redis://127.0.0.1:%s/0" % stack.vars["QUAKECAST_REDIS_PORT"],
               QUAKECAST_HTTP_ADDR="127.0.0.1", QUAKECAST_HTTP_PORT=str(port), QUAKECAST_INSTANCE="term-1",
               QUAKECAST_WEBHOOK_ALLOW_PRIVATE="1", QUAKECAST_WEBHOOK_ALLOW_CIDRS="127.0.0.1/32")
    env.pop("QUAKECAST_SHUTDOWN_GRACE_S", None)  # the default is under test
    logpath = str(tmp_path / "term-1.log")
    log = open(logpath, "w")
    proc = subprocess.Popen([os.path.join(BUILD, "dispatcher", "quakecast-dispatcher")], env=env,
                            stdout=log, stderr=log)
    url = "http://127.0.0.1:%d" % port
    try:
        def ready():
            assert proc.poll() is None, "term-1 exited"
            try:
                return lib.http_request("GET", url + "/readyz")[0] == 200
            except lib.DemoError:
                return False
        wait_until(ready, 60, 0.2, "term-1 ready")
        lines = gen_local_subscribers(6000, sink, tmp_path)
        event = local_event(tmp_path)
        lib.import_subscribers(stack.api, stack.token, lines)
        subs = lib.parse_subscribers(lines)
        expected, borderline = lib.classify(subs, lib.load_event(event))
        # Slow deliveries keep every dispatcher mid-chunk for a while.
        lib.http_json("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 40, "count": 6000}).encode(),
                      content_type="application/json", expect=(200, 201, 204))
        try:
            with open(event, "rb") as f:
                t0, reply = lib.post_event(stack.api, stack.token, f.read())
            alert = lib.alert_of(reply)["alert_id"]
            wait_until(lambda: stack.metric(url, "quakecast_records_held") > 0
                       and stack.metric(url, "quakecast_inflight_sends") > 0, 30, 0.005,
                       "term-1 to hold leases and send")
            granted = stack.metric(url, 'quakecast_leases_total{result="granted"}')
            held_jobs = stack.metric(url, "quakecast_jobs_active")
            others_jobs = [stack.metric(u, "quakecast_jobs_active") for u in stack.dispatcher_urls()]
            t_sig = lib.now_ms()
            proc.send_signal(signal.SIGTERM)
            mono_sig = time.monotonic()
            assert lib.sink_summary(sink, alert)["distinct"] < len(expected), "alert done before the signal"
            rc = proc.wait(GRACE_S + 5)
            exit_s = time.monotonic() - mono_sig
        finally:
            lib.http_request("DELETE", sink + "/_sink/faults")
        st = wait_alert_complete(stack, alert, timeout_s=120)
        wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 20, 0.1, "sink to catch up")
        full = lib.sink_ids(sink, alert)
        ledger = {k: v for k, v in full.items() if k.startswith("term-")}
        result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
        result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())

        drained = log_events(logpath, "shutdown_drained")
        chunks = log_events(logpath, "chunk_handed_back")
        jobs = log_events(logpath, "job_handed_back")
        # The records term-1 gave back unsent, and when the sink first got each.
        back_first = []
        for c in chunks:
            start, n, bits = int(c["start"]), int(c["records"]), bytes.fromhex(c["settled_bits"])
            recs = redis_lrange(stack.vars["QUAKECAST_REDIS_PORT"], "qc:seg:{%s}:r" % c["seg"], start, start + n - 1)
            for i, rec in enumerate(recs):
                if bits[i // 8] & (0x80 >> (i % 8)):
                    continue  # settled by term-1 before it let go
                sid = record_id(rec)
                if sid in full and full[sid][1] is not None:
                    back_first.append(full[sid][1])
        handover_ms = min(back_first) - t_sig if back_first else None
        result.update({"leases_granted_before_signal": granted, "jobs_active_at_signal": held_jobs,
                       "others_jobs_active_at_signal": others_jobs, "exit_s": round(exit_s, 3), "exit_code": rc,
                       "drained_after_ms": int(drained[0]["after_ms"]) if drained else None,
                       "jobs_handed_back": len(jobs), "chunks_handed_back": len(chunks),
                       "records_handed_back": sum(int(c["unsent"]) for c in chunks),
                       "handed_back_records_delivered": len(back_first),
                       "signal_to_first_send_by_another_ms": handover_ms})
        print("sigterm test:", json.dumps(result))
        assert_no_sanitizer_report(logpath)
        assert rc == 0
        assert drained, "term-1 did not log shutdown_drained (grace expired or forced?)"
        assert exit_s < GRACE_S
        assert jobs, "term-1 held jobs at the signal but handed none back"
        assert chunks and back_first, "term-1 gave back no unsent record: the test proves nothing"
        assert handover_ms is not None and handover_ms < HANDOVER_LIMIT_MS
        assert result["missed"] == 0
        assert result["unexpected"] == 0
        assert result["duplicates"] <= INFLIGHT_BOUND
        assert stack.healthy()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def start_dispatcher(stack, name, tmp_path, **extra):
    port = free_port()
    env = dict(stack.env, QUAKECAST_KAFKA_BOOTSTRAP=stack.bootstrap,
               QUAKECAST_REDIS_URL="redis://127.0.0.1:%s/0" % stack.vars["QUAKECAST_REDIS_PORT"],
               QUAKECAST_HTTP_ADDR="127.0.0.1", QUAKECAST_HTTP_PORT=str(port), QUAKECAST_INSTANCE=name,
               QUAKECAST_WEBHOOK_ALLOW_PRIVATE="1", QUAKECAST_WEBHOOK_ALLOW_CIDRS="127.0.0.1/32", **extra)
    logpath = str(tmp_path / (name + ".log"))
    log = open(logpath, "w")
    proc = subprocess.Popen([os.path.join(BUILD, "dispatcher", "quakecast-dispatcher")], env=env,
                            stdout=log, stderr=log)
    return proc, "http://127.0.0.1:%d" % port, logpath, log


def test_sigterm_grace_expires_and_second_signal(stack, sink, tmp_path):
    """Sends that hang (the sink answers after 3 s) keep a stopping
    dispatcher from draining: term-2 (grace 1 s) exits when the grace runs
    out, term-3 (default grace) on a second SIGTERM; both say so in the log,
    and what they held is taken over after their leases expire."""
    started = [start_dispatcher(stack, "term-2", tmp_path, QUAKECAST_SHUTDOWN_GRACE_S="1"),
               start_dispatcher(stack, "term-3", tmp_path)]
    try:
        for proc, url, _, _ in started:
            def ready(proc=proc, url=url):
                assert proc.poll() is None, "a dispatcher exited"
                try:
                    return lib.http_request("GET", url + "/readyz")[0] == 200
                except lib.DemoError:
                    return False
            wait_until(ready, 60, 0.2, url + " ready")
        lines = gen_local_subscribers(6000, sink, tmp_path)
        lines = [ln.replace(b'"term-', b'"grace-') for ln in lines]
        lib.import_subscribers(stack.api, stack.token, lines)
        subs = lib.parse_subscribers(lines)
        event = local_event(tmp_path)
        expected, borderline = lib.classify(subs, lib.load_event(event))
        lib.http_json("POST", sink + "/_sink/faults", json.dumps({"delay_ms": 3000, "count": 2000}).encode(),
                      content_type="application/json", expect=(200, 201, 204))
        try:
            with open(event, "rb") as f:
                t0, reply = lib.post_event(stack.api, stack.token, f.read())
            alert = lib.alert_of(reply)["alert_id"]
            for proc, url, _, _ in started:
                wait_until(lambda url=url: stack.metric(url, "quakecast_inflight_sends") > 0, 30, 0.005,
                           url + " to send")
            (p2, _, log2, _), (p3, _, log3, _) = started
            t = time.monotonic()
            p2.send_signal(signal.SIGTERM)
            p3.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            p3.send_signal(signal.SIGTERM)
            p3.wait(10)
            forced_s = time.monotonic() - t
            p2.wait(10)
            grace_s = time.monotonic() - t
        finally:
            lib.http_request("DELETE", sink + "/_sink/faults")
        expired = log_events(log2, "shutdown_grace_expired")
        forced = log_events(log3, "shutdown_forced")
        print("grace test:", json.dumps({"term2_exit_s": round(grace_s, 3), "term3_exit_s": round(forced_s, 3),
                                         "term2_jobs_left": expired[0]["jobs_left"] if expired else None}))
        assert_no_sanitizer_report(log2)
        assert_no_sanitizer_report(log3)
        assert expired and not log_events(log2, "shutdown_drained")
        assert int(expired[0]["jobs_left"]) > 0
        assert 1.0 <= grace_s < 4.0
        assert forced and forced_s < 2.0
        assert p2.returncode == 0 and p3.returncode == 0
        st = wait_alert_complete(stack, alert, timeout_s=120)
        wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= st["notified"], 20, 0.1, "sink to catch up")
        full = lib.sink_ids(sink, alert)
        ledger = {k: v for k, v in full.items() if k.startswith("grace-")}
        result = lib.tally(ledger, expected, borderline, st["targeted"], t0)
        result["duplicates"] = sum(max(c - 1, 0) for c, _, _ in full.values())
        print("grace test result:", json.dumps(result))
        assert result["missed"] == 0
        assert result["unexpected"] == 0
        assert result["duplicates"] <= 2 * INFLIGHT_BOUND  # two dispatchers left their leases to expire
    finally:
        for proc, _, _, log in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            log.close()
