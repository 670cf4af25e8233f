"""Fixtures for the system tests: a real local stack (Redis, Kafka KRaft,
processor, dispatchers) started by deploy/local/stack on private ports and
a temporary state folder, and the fake webhook sink. Everything started
here is stopped here, also when a test fails. After the stack stops, its
logs are scanned for sanitizer reports (the ASan+UBSan pass of tests/run):
any report fails the run."""

import os
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import qc_demo_lib as lib  # noqa: E402

BUILD = os.environ.get("QUAKECAST_BUILD_DIR", os.path.join(REPO, "build"))
PORT_BASE = int(os.environ.get("QUAKECAST_TEST_PORT_BASE", "17500"))
STACK = os.path.join(REPO, "deploy", "local", "stack")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")


class Stack:
    def __init__(self, state_dir, env):
        self.dir = state_dir
        self.env = env
        out = self.run("env").stdout
        self.vars = lib.parse_kv_lines(out)
        self.api = self.vars["QUAKECAST_API_URL"]
        self.token = self.vars["QUAKECAST_API_TOKEN"]
        self.bootstrap = self.vars["QUAKECAST_KAFKA_BOOTSTRAP"]

    def run(self, *args, check=True):
        return subprocess.run([STACK, *args], env=self.env, check=check, capture_output=True, text=True)

    def ps(self):
        procs = {}
        for line in self.run("ps").stdout.splitlines():
            name, pid = line.split()
            procs[name] = int(pid)
        return procs

    def dispatcher_urls(self):
        return self.run("env").stdout.split("QUAKECAST_DISPATCHER_URLS=")[1].splitlines()[0].split()

    def metric(self, url, name):
        """Sum of every series of @name at @url/metrics."""
        total = 0.0
        _, body = lib.http_request("GET", url + "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def healthy(self):
        for url in [self.api] + self.dispatcher_urls():
            status, _ = lib.http_request("GET", url + "/healthz")
            if status != 200:
                return False
        return True


@pytest.fixture(scope="session")
def stack(tmp_path_factory, providers):
    state = str(tmp_path_factory.mktemp("stack"))
    env = dict(os.environ)
    env.update(providers.env)  # every dispatcher has every channel on
    env.update({
        "QUAKECAST_STACK_DIR": state,
        "QUAKECAST_PORT_BASE": str(PORT_BASE),
        "QUAKECAST_DISPATCHERS": "2",
        "QUAKECAST_BUILD_DIR": BUILD,
        "QUAKECAST_LEASE_MS": "3000",
        "QUAKECAST_MAX_INFLIGHT": "1024",
        # test_13: the institute's pushes are signed with a key of its own
        "QUAKECAST_SOURCE_SECRETS": "infp=" + SECRET + ",emsc=whsec_c2Vjb25kLXNvdXJjZS1rZXk=",
        # test_2x: sign-up rate limits are per client address; each test
        # gives its own in X-Forwarded-For, as a proxy in front would
        "QUAKECAST_TRUST_PROXY": "1",
    })
    up = subprocess.run([STACK, "up"], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        subprocess.run([STACK, "down"], env=env)
        pytest.fail("stack up failed:\n" + up.stdout + up.stderr)
    s = Stack(state, env)
    yield s
    subprocess.run([STACK, "down"], env=env, capture_output=True)
    reports = []
    logs = os.path.join(state, "logs")
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        with open(os.path.join(logs, name), errors="replace") as f:
            text = f.read()
        if SANITIZER_RE.search(text):
            reports.append(name + ":\n" + text[-4000:])
    if reports:
        pytest.fail("sanitizer reports in the stack's logs:\n" + "\n".join(reports))


@pytest.fixture(scope="session")
def sink(tmp_path_factory):
    d = tmp_path_factory.mktemp("sink")
    ready = os.path.join(str(d), "ready")
    log = open(os.path.join(str(d), "sink.log"), "w")
    proc = subprocess.Popen([os.path.join(BUILD, "tests", "fakes", "qc-fake-sink"), "--port", "0",
                             "--ready-file", ready, "--secret", SECRET], stdout=log, stderr=log)
    try:
        yield lib.wait_ready_file(ready, proc)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def gen_subscribers(count, sink_url, seed=1, prefix=None):
    args = [sys.executable, os.path.join(REPO, "tools", "gen-subscribers"), "--count", str(count),
            "--seed", str(seed), "--webhook-url", sink_url + "/hook", "--secret", SECRET]
    if prefix:
        args += ["--id-prefix", prefix]
    out = subprocess.run(args, check=True, capture_output=True).stdout
    return [line + b"\n" for line in out.splitlines() if line.strip()]


def wait_until(cond, timeout_s=60.0, interval_s=0.1, what="condition"):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval_s)
    raise AssertionError("timed out waiting for " + what)


def wait_alert_complete(stack, alert_id, timeout_s=90.0):
    def done():
        try:
            st = lib.alert_status(stack.api, stack.token, alert_id)
        except lib.DemoError as err:
            # 503 while Redis restarts is an answer, not a failure: ask again.
            if "HTTP 503" in str(err):
                return None
            raise
        return st if st.get("state") == "complete" else None
    try:
        return wait_until(done, timeout_s, 0.2, "alert %s to complete" % alert_id)
    except AssertionError:
        print_unfinished_runs(stack, alert_id)
        raise


def single_shape_only(stack, why):
    """Skips a test that is about the one Redis / one broker of the single
    shape when the suite runs on QUAKECAST_TOPOLOGY=cluster."""
    if stack.vars.get("QUAKECAST_TOPOLOGY", "single") != "single":
        pytest.skip("single shape only: " + why)


def print_unfinished_runs(stack, alert_id):
    """On a timeout: the run state of every segment run not done, to see why."""
    port = stack.vars["QUAKECAST_REDIS_PORT"]

    def redis(*args):
        return subprocess.run(["redis-cli", "-c", "-p", port, *args], capture_output=True, text=True).stdout.split("\n")
    for run in redis("LRANGE", "qc:{alert}:%s:runs" % alert_id, "0", "-1"):
        if not run:
            continue
        seg, rev = run.rsplit(":", 1)
        key = "qc:run:{%s}:%s:%s" % (seg, alert_id, rev)
        state = redis("HGETALL", key)
        fields = dict(zip(state[0::2], state[1::2]))
        if fields.get("state") != "done":
            print("unfinished", key, fields, "leases", redis("HGETALL", key + ":l"), "chunks", redis("HGETALL", key + ":c"))


from providers import providers  # noqa: E402,F401  (the fixture, defined there)


def client_env(stack_vars):
    """os.environ plus what `stack env` gives a client besides addresses:
    with authenticated links (QUAKECAST_STACK_AUTH=1), the admin user's
    Kafka SASL/TLS settings and Redis credentials, for the test tools."""
    env = dict(os.environ)
    env.update({k: v for k, v in stack_vars.items()
                if k.startswith("QUAKECAST_KAFKA_X_") or k in ("QUAKECAST_REDIS_USER", "QUAKECAST_REDIS_PASSWORD_FILE")})
    return env


def redis_cli(stack_vars, port, *args, timeout=10, user=None):
    """redis-cli to the stack's Redis node on @port; with authenticated
    links as @user (default: the admin user `stack env` names), whose
    password is in the stack's secrets folder."""
    env, login = dict(os.environ), []
    user = user or stack_vars.get("QUAKECAST_REDIS_USER")
    if user:
        secrets = os.path.dirname(stack_vars["QUAKECAST_REDIS_PASSWORD_FILE"])
        with open(os.path.join(secrets, user)) as f:
            env["REDISCLI_AUTH"] = f.read().strip()
        login = ["--no-auth-warning", "--user", user]
    return subprocess.run(["redis-cli", *login, "-h", "127.0.0.1", "-p", str(port), *args], env=env,
                          capture_output=True, text=True, timeout=timeout).stdout.strip()
