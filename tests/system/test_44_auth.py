"""Authenticated links (issue 16, part 4; docs/SECURITY.md). A stack of its
own (single shape, QUAKECAST_STACK_AUTH=1, on QUAKECAST_TEST_PORT_BASE +
200): Redis runs with the ACL file of deploy/redis/acl-users, the default
user off, and the processor and dispatchers log in as their own users;
Kafka's listener is SASL_SSL (SCRAM-SHA-512, TLS with the stack's CA).

- an alert reaches everyone with the ACLs on, and Redis's ACL LOG stays
  empty: the binaries never sent a command or touched a key outside their
  lists;
- each user is refused (NOPERM) a command, a key and a channel outside its
  list, also from inside a script; no password, or a wrong one, gets nothing;
- Kafka refuses a plain client, a wrong password and a client that does not
  trust the broker's CA;
- a dispatcher with a wrong Redis password says so (redis_auth_refused) and
  is not ready;
- Redis over TLS: hiredis 0.14 speaks no TLS, so the binaries reach Redis's
  TLS port through a TLS sidecar (stunnel, client mode, verifying the CA);
  a second alert runs with the processor and a dispatcher going only
  through it, and a sidecar that does not trust the certificate gets
  nothing through.
Release pass of tests/run only (QUAKECAST_TEST_CLUSTER_SHAPE), ~45 s."""

import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import (BUILD, PORT_BASE, REPO, SANITIZER_RE, STACK, Stack, client_env, gen_subscribers, lib,
                      redis_cli, wait_alert_complete, wait_until)

EVENT = os.path.join(REPO, "tests", "data", "events", "vrancea_1977.geojson")
BASE = PORT_BASE + 200
SIDECAR_PORT = BASE + 5       # stunnel: plain on loopback -> Redis's TLS port
BAD_SIDECAR_PORT = BASE + 6   # the same, trusting another CA
PROC_PORT = BASE + 7          # a processor started by hand
DISP_PORTS = (BASE + 8, BASE + 9)


@pytest.fixture(scope="module")
def astack(tmp_path_factory):
    # tests/run: the release pass, with the cluster shapes' tests
    if os.environ.get("QUAKECAST_TEST_CLUSTER_SHAPE", "1") == "0":
        pytest.skip("QUAKECAST_TEST_CLUSTER_SHAPE=0")
    state = str(tmp_path_factory.mktemp("auth-stack"))
    env = dict(os.environ, QUAKECAST_STACK_DIR=state, QUAKECAST_PORT_BASE=str(BASE), QUAKECAST_BUILD_DIR=BUILD,
               QUAKECAST_STACK_AUTH="1", QUAKECAST_DISPATCHERS="2", QUAKECAST_LEASE_MS="3000",
               # the single shape even when the session's suite runs on the cluster one
               QUAKECAST_TOPOLOGY="single")
    t0 = time.monotonic()
    up = subprocess.run([STACK, "up"], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        subprocess.run([STACK, "down"], env=env, capture_output=True)
        pytest.fail("stack up (authenticated links) failed:\n" + up.stdout + up.stderr)
    print("auth stack: up in %.1f s" % (time.monotonic() - t0))
    try:
        yield Stack(state, env)
    finally:
        subprocess.run([STACK, "down"], env=env, capture_output=True)
        reports = sanitizer_reports(os.path.join(state, "logs"))
        subprocess.run([STACK, "down", "--purge"], env=env, capture_output=True)
        assert not reports, "sanitizer reports in the auth stack's logs:\n" + "\n".join(reports)


def sanitizer_reports(folder):
    """ASan/UBSan reports in the logs of @folder (the ASan build's runs)."""
    out = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name), errors="replace") as f:
            text = f.read()
        if SANITIZER_RE.search(text):
            out.append(name + ":\n" + text[-4000:])
    return out


def secret(stack, kind, user):
    return os.path.join(stack.dir, "secrets", kind, user)


def admin(stack, *args):
    return redis_cli(stack.vars, stack.vars["QUAKECAST_REDIS_PORT"], *args)


def as_user(stack, user, *args):
    return redis_cli(stack.vars, stack.vars["QUAKECAST_REDIS_PORT"], *args, user=user)


def binary_env(stack, who, redis_url, http_port, instance, **extra):
    """What the stack gives a binary, logging in as @who, with Redis at @redis_url."""
    env = client_env(stack.vars)
    env.update({
        "QUAKECAST_KAFKA_BOOTSTRAP": stack.bootstrap, "QUAKECAST_REDIS_URL": redis_url,
        "QUAKECAST_API_TOKEN": stack.token, "QUAKECAST_HTTP_ADDR": "127.0.0.1",
        "QUAKECAST_HTTP_PORT": str(http_port), "QUAKECAST_INSTANCE": instance,
        "QUAKECAST_WEBHOOK_ALLOW_PRIVATE": "1", "QUAKECAST_WEBHOOK_ALLOW_CIDRS": "127.0.0.1/32",
        "QUAKECAST_LEASE_MS": "3000",
        "QUAKECAST_REDIS_USER": who, "QUAKECAST_REDIS_PASSWORD_FILE": secret(stack, "redis", who),
        "QUAKECAST_KAFKA_X_SASL_USERNAME": who,
        "QUAKECAST_KAFKA_X_SASL_PASSWORD_FILE": secret(stack, "kafka", who),
    })
    env.update(extra)
    return env


def start(binary, env, log_path):
    log = open(log_path, "w")
    return subprocess.Popen([os.path.join(BUILD, binary, "quakecast-" + binary)], env=env, stdout=log, stderr=log)


def ready(port):
    try:
        status, _ = lib.http_request("GET", "http://127.0.0.1:%d/readyz" % port, timeout=2)
    except lib.DemoError:  # not listening yet
        return False
    return status == 200


def stop(*procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def alert_tally(sink, alert, subs, event, status, t0, prefix):
    expected, borderline = lib.classify(subs, event)
    wait_until(lambda: lib.sink_summary(sink, alert)["distinct"] >= status["notified"], 60, 0.1,
               "sink to catch up")
    ledger = {k: v for k, v in lib.sink_ids(sink, alert).items() if k.startswith(prefix)}
    return lib.tally(ledger, expected, borderline, status["targeted"], t0)


SUBS = {}


def test_alert_with_acls(astack, sink):
    n = 3000
    lines = gen_subscribers(n, sink, seed=441, prefix="au-")
    lib.import_subscribers(astack.api, astack.token, lines)
    SUBS["lines"] = lines
    subs = lib.parse_subscribers(lines)
    # each binary is connected as its own user, none as default or admin
    users = {f.split("=", 1)[1] for line in admin(astack, "CLIENT", "LIST").splitlines()
             for f in line.split() if f.startswith("user=")}
    assert {"processor", "dispatcher"} <= users and "default" not in users, users
    admin(astack, "ACL", "LOG", "RESET")
    with open(EVENT, "rb") as f:
        t0, reply = lib.post_event(astack.api, astack.token, f.read())
    alert = lib.alert_of(reply)["alert_id"]
    st = wait_alert_complete(astack, alert)
    result = alert_tally(sink, alert, subs, lib.load_event(EVENT), st, t0, "au-")
    print("alert with ACLs:", json.dumps(result))
    assert result["missed"] == 0 and result["unexpected"] == 0
    assert result["notified"] > 100
    # Redis logs every command refused by an ACL: none from the binaries
    assert admin(astack, "ACL", "LOG") == ""
    logs = os.path.join(astack.dir, "logs")
    for name in ("processor.log", "dispatcher-1.log", "dispatcher-2.log"):
        with open(os.path.join(logs, name)) as f:
            text = f.read()
        assert "NOPERM" not in text and "redis_auth_refused" not in text and "NOAUTH" not in text, name


def test_acl_refusals(astack):
    port = astack.vars["QUAKECAST_REDIS_PORT"]
    # the ACL file is the one deploy/redis/acl-users derives from the code
    check = subprocess.run([os.path.join(REPO, "deploy", "redis", "acl-users"), "--check"], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr
    # the default user is off; a wrong password gets nothing
    plain = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "GET", "qc:epoch"], capture_output=True,
                           text=True, timeout=10).stdout
    assert plain.startswith("NOAUTH"), plain
    wrong = subprocess.run(["redis-cli", "--no-auth-warning", "--user", "processor", "-h", "127.0.0.1", "-p", port,
                            "PING"], env=dict(os.environ, REDISCLI_AUTH="not-the-password"), capture_output=True,
                           text=True, timeout=10)
    assert "WRONGPASS" in wrong.stdout + wrong.stderr
    assert as_user(astack, "processor", "PING") == "PONG"
    assert as_user(astack, "dispatcher", "PING") == "PONG"
    # allowed: what each uses
    assert as_user(astack, "processor", "ZCOUNT", "qc:dispatchers", "0", "+inf").isdigit()
    assert as_user(astack, "dispatcher", "ZADD", "qc:dispatchers", "1", "acl-probe") == "1"
    assert as_user(astack, "processor", "PUBLISH", "qc:decisions", "acl-probe").isdigit()
    refused = [
        # commands outside the lists
        ("processor", "FLUSHALL"), ("processor", "KEYS", "*"), ("processor", "CONFIG", "GET", "maxmemory"),
        ("processor", "SCRIPT", "FLUSH"), ("processor", "ACL", "LIST"),
        ("dispatcher", "DEL", "qc:epoch"), ("dispatcher", "PUBLISH", "qc:decisions", "x"),
        ("dispatcher", "SUBSCRIBE", "qc:decisions"), ("dispatcher", "MIGRATE", "127.0.0.1", "1", "qc:epoch", "0", "10"),
        # keys outside the patterns (the command itself is allowed)
        ("dispatcher", "HGETALL", "qc:{alert}:x"), ("dispatcher", "GET", "qc:{reg}:pend:x"), ("dispatcher", "LINDEX", "qc:{reg}:idx:1", "0"),
        ("processor", "SET", "qc:epoch", "1"), ("processor", "GET", "qc:rate:sms"), ("processor", "GET", "other:key"),
        # read-only for the processor
        ("processor", "ZADD", "qc:dispatchers", "1", "x"),
        # channel outside the list
        ("processor", "PUBLISH", "qc:other", "x"),
    ]
    for user, *cmd in refused:
        out = as_user(astack, user, *cmd)
        assert out.startswith("NOPERM"), (user, cmd, out)
    # inside a script Redis checks the caller's ACL too: a script may not
    # reach around the key patterns or the command list
    # (Redis 7.0 words it "The user executing the script can't ...")
    out = as_user(astack, "dispatcher", "EVAL", "return redis.call('GET', 'qc:pend:x')", "0")
    assert "user executing the script can't access" in out, out
    out = as_user(astack, "processor", "EVAL", "return redis.call('FLUSHALL')", "0")
    assert "user executing the script can't run this command" in out, out
    # and every refusal is in the ACL LOG, under the user who tried
    log = admin(astack, "ACL", "LOG", "100")
    assert "dispatcher" in log and "processor" in log
    as_user(astack, "dispatcher", "ZREM", "qc:dispatchers", "acl-probe")


def test_kafka_refuses_unauthenticated(astack, tmp_path):
    topics = os.path.join(BUILD, "tests", "tools", "qc-kafka-topics")
    ok = subprocess.run([topics, "--no-config", astack.bootstrap, "quake.dispatch"], capture_output=True, text=True,
                        timeout=60, env=client_env(astack.vars))
    assert ok.returncode == 0 and json.loads(ok.stdout)["partitions"] == 32, ok.stderr[-2000:]
    # another CA, for a client that trusts the wrong one
    other = str(tmp_path / "other-ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=not the stack's CA", "-keyout", str(tmp_path / "other-ca.key"),
                    "-out", other], check=True, capture_output=True)
    wrong_pw = str(tmp_path / "wrong-password")
    with open(wrong_pw, "w") as f:
        f.write("not-the-password\n")
    plain = {k: v for k, v in os.environ.items() if not k.startswith("QUAKECAST_KAFKA_X_")}
    cases = {
        "plain": plain,
        "wrong password": dict(client_env(astack.vars), QUAKECAST_KAFKA_X_SASL_PASSWORD_FILE=wrong_pw),
        "untrusted CA": dict(client_env(astack.vars), QUAKECAST_KAFKA_X_SSL_CA_LOCATION=other),
    }
    # each waits out the tool's 10 s metadata timeout: in parallel
    procs = {name: subprocess.Popen([topics, "--no-config", astack.bootstrap, "quake.dispatch"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, env in cases.items()}
    for name, p in procs.items():
        out, err = p.communicate(timeout=60)
        assert p.returncode != 0 and not out.strip(), (name, out, err[-1000:])
        if name == "wrong password":
            assert "SASL authentication" in err or "Authentication failed" in err, err[-1000:]
        if name == "untrusted CA":
            assert "certificate verify failed" in err, err[-1000:]


def test_wrong_redis_password_is_reported(astack, tmp_path):
    wrong = str(tmp_path / "wrong")
    with open(wrong, "w") as f:
        f.write("not-the-password\n")
    env = binary_env(astack, "dispatcher", astack.vars["QUAKECAST_REDIS_URL"], DISP_PORTS[0], "dispatcher-wrongpw",
                     QUAKECAST_REDIS_PASSWORD_FILE=wrong)
    log = str(tmp_path / "dispatcher-wrongpw.log")
    proc = start("dispatcher", env, log)
    try:
        def refused():
            with open(log) as f:
                return [json.loads(line) for line in f if '"redis_auth_refused"' in line]
        ev = wait_until(refused, 30, 0.1, "redis_auth_refused in the log")[0]
        assert "WRONGPASS" in ev["error"]
        assert "not-the-password" not in open(log).read()
        assert proc.poll() is None and not ready(DISP_PORTS[0])
    finally:
        stop(proc)
    assert not sanitizer_reports(str(tmp_path))


def stunnel_conf(path, ca, accept, connect, log):
    with open(path, "w") as f:
        f.write("foreground = yes\npid =\noutput = %s\n[redis]\nclient = yes\naccept = 127.0.0.1:%d\n"
                "connect = 127.0.0.1:%s\nverifyChain = yes\nCAfile = %s\ncheckIP = 127.0.0.1\n"
                % (log, accept, connect, ca))


@pytest.mark.skipif(not shutil.which("stunnel4"), reason="stunnel4 not installed (deploy/local/install-deps)")
def test_redis_through_tls_sidecar(astack, sink, tmp_path):
    tls_port = astack.vars["QUAKECAST_REDIS_TLS_PORT"]
    ca = astack.vars["QUAKECAST_KAFKA_X_SSL_CA_LOCATION"]
    good, bad = str(tmp_path / "sidecar.conf"), str(tmp_path / "bad-sidecar.conf")
    stunnel_conf(good, ca, SIDECAR_PORT, tls_port, str(tmp_path / "sidecar.log"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=not the stack's CA", "-keyout", str(tmp_path / "other-ca.key"),
                    "-out", str(tmp_path / "other-ca.pem")], check=True, capture_output=True)
    stunnel_conf(bad, str(tmp_path / "other-ca.pem"), BAD_SIDECAR_PORT, tls_port, str(tmp_path / "bad-sidecar.log"))
    sidecars = [subprocess.Popen(["stunnel4", c], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for c in (good, bad)]
    procs = []
    try:
        wait_until(lambda: redis_cli(astack.vars, SIDECAR_PORT, "PING", user="processor") == "PONG", 20, 0.1,
                   "PONG through the sidecar")
        # a sidecar that does not trust the server's certificate passes nothing
        assert redis_cli(astack.vars, BAD_SIDECAR_PORT, "PING", user="processor") != "PONG"
        with open(str(tmp_path / "bad-sidecar.log")) as f:
            assert "certificate verify failed" in f.read()
        # the binaries on Redis only through the sidecar: the stack's own stop
        for name in ("processor", "dispatcher-1", "dispatcher-2"):
            astack.run("stop", name)
        url = "redis://127.0.0.1:%d/0" % SIDECAR_PORT
        procs.append(start("processor", binary_env(astack, "processor", url, PROC_PORT, "processor-tls"),
                           str(tmp_path / "processor-tls.log")))
        for i, port in enumerate(DISP_PORTS):
            procs.append(start("dispatcher", binary_env(astack, "dispatcher", url, port, "dispatcher-tls-%d" % i),
                               str(tmp_path / ("dispatcher-tls-%d.log" % i))))
        for port in (PROC_PORT,) + DISP_PORTS:
            wait_until(lambda: ready(port), 60, 0.2, "port %d ready" % port)
        # a second quake, 250 km east of the first and under its own id
        with open(EVENT, "rb") as f:
            doc = json.loads(f.read())
        doc["id"] = doc.get("id", "ev") + "-tls"
        doc["geometry"]["coordinates"][0] += 3.0
        body = json.dumps(doc).encode()
        api = "http://127.0.0.1:%d" % PROC_PORT
        t0, reply = lib.post_event(api, astack.token, body)
        alert = lib.alert_of(reply)["alert_id"]

        def complete():
            st = lib.alert_status(api, astack.token, alert)
            return st if st.get("state") == "complete" else None
        st = wait_until(complete, 90, 0.2, "the alert through the sidecar to complete")
        subs = lib.parse_subscribers(SUBS.get("lines") or [])
        event = dict(lib.load_event(EVENT), lon=doc["geometry"]["coordinates"][0])
        result = alert_tally(sink, alert, subs, event, st, t0, "au-")
        print("alert through the TLS sidecar:", json.dumps(result))
        assert result["missed"] == 0 and result["unexpected"] == 0 and result["notified"] > 0
        # every connection of these binaries came in on the TLS port
        with open(str(tmp_path / "sidecar.log")) as f:
            assert f.read().count("connected remote server") >= 3
    finally:
        stop(*procs)
        stop(*sidecars)
    assert not sanitizer_reports(str(tmp_path))
