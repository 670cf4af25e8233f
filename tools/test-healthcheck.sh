#!/usr/bin/env bash
# ctest "healthcheck": qc-healthcheck against the fake sink (a real evhttp
# server like the services'), a closed port and a listener that never
# answers. Usage: test-healthcheck.sh QC_HEALTHCHECK QC_FAKE_SINK
set -euo pipefail

probe=$1
sink=$2
tmp=$(mktemp -d)
sink_pid=
silent_pid=
cleanup() {
  local rc=$?
  local pid
  for pid in $sink_pid $silent_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

fails=0
unset QUAKECAST_HTTP_PORT
# expect WANTED_STATUS ARGS...: runs the probe, compares its exit status.
expect() {
  local want=$1 got=0
  shift
  "$probe" "$@" >"$tmp/out" 2>&1 || got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL: qc-healthcheck $* exited $got, expected $want: $(cat "$tmp/out")"
    fails=$((fails + 1))
  else
    echo "ok: qc-healthcheck ${*@Q} -> $got"
  fi
}

"$sink" --port 0 --ready-file "$tmp/ready" >"$tmp/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 100); do [[ -s $tmp/ready ]] && break; sleep 0.05; done
port=$(tr -d '\n' <"$tmp/ready")
[[ $port =~ ^[0-9]+$ ]] || { echo "sink did not start: $(cat "$tmp/sink.log")"; exit 1; }

expect 0 -p "$port" /_sink/healthz
QUAKECAST_HTTP_PORT=$port expect 0 /_sink/healthz          # port from the environment
expect 1 -p "$port" /_sink/nothing-here                      # 404 is not 200
expect 0 -p "$port" -e 405 /hook                             # GET on a delivery path
expect 0 -H localhost -p "$port" /_sink/healthz              # a name, resolved
TOKEN=abc expect 0 -p "$port" -a TOKEN /_sink/healthz
expect 2 -p "$port" -a QC_HEALTHCHECK_UNSET_VAR /_sink/healthz
expect 2 -p "$port" 'relative'
expect 2 -p "$port" $'/a\r\nX: y'
expect 2 -p 70000 /healthz
expect 2 /healthz                                            # no port at all

# A closed port: take a free one from the kernel, then let it go.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 1 -p "$closed" /healthz

# A listener that accepts and never answers: the probe must give up on time.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    s.settimeout(1.0)
    try:
        conns.append(s.accept()[0])
    except OSError:
        pass
' >"$tmp/silent" &
silent_pid=$!
for _ in $(seq 100); do [[ -s $tmp/silent ]] && break; sleep 0.05; done
silent=$(tr -d '\n' <"$tmp/silent")
start=$(date +%s%N)
expect 1 -p "$silent" -t 300 /healthz
ms=$((($(date +%s%N) - start) / 1000000))
if [[ $ms -gt 2000 ]]; then
  echo "FAIL: a silent server held the probe for $ms ms (timeout 300 ms)"
  fails=$((fails + 1))
fi

echo "healthcheck: $fails failure(s)"
[[ $fails -eq 0 ]]
