#!/usr/bin/env bash
# Runs the end-to-end benchmark (examples/bench.rs) for slack-rtm and for the peer clients —
# Python slack_sdk.rtm (v1), slack_sdk.rtm_v2 and Node @slack/rtm-api — one after the other,
# each against its own `slack-rtm serve --bench` (the same fake Slack binary, in its own
# process, on loopback), with the same workload, and prints a side-by-side table. Three rounds:
# ws:// (every client), wss:// (`serve --bench --tls`: slack-rtm, raw, sink, Python v1 with
# SSL_CERT_FILE, Node with its client's `tls: { ca }` option) and many clients (`bench --clients N`, N idle
# slack-rtm clients in one process, over ws and over TLS). benches/report.py turns the results
# into results.md (tables, SPEC §6 targets with measured values and ratios) and chart.svg.
# See BENCHMARKS.md.
#
#   benches/compare.sh --quick          # 100,000 events per flood, 200 clients, ~5 min
#   benches/compare.sh                  # 1,000,000 events per flood, 1,000 clients, ~10 min
#
# The peers are installed (pip into a venv, npm into a folder) under $BENCH_PEERS_DIR
# (default: ${TMPDIR:-/tmp}/slack-rtm-bench-peers), never into the repository. Results go to
# $BENCH_OUT (default: target/bench-compare/<time>): one JSON file per client, results.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benches/compare.sh [flags]

  --quick              100000 events per flood, 200 clients (default: 1000000, 1000)
  --smoke              CI: 300 events, 20 round trips, 20 clients, 1 s idle, the Rust
                       clients only (ws, wss, many clients), no install; exits 1 if any run
                       failed, stalled or miscounted (no timing is checked)
  --profile NAME       cargo profile to build and run (default: profiling)
  --events N           events per flood for every client
  --peer-events N      events per flood for the peers only (default: --events)
  --clients N          many-clients rounds: N idle slack-rtm clients in one process (default 1000)
  --tls-clients N      the same over TLS (default: --clients)
  --rtt N              round trips (default 2000)
  --rtt-gap-us US      pause between round trips (default 1000)
  --idle-secs S        idle window (default 10)
  --only LIST          run only these, comma-separated: slack-rtm,raw,sink,py-v1,py-v2,node
                       (ws://), slack-rtm-tls,raw-tls,sink-tls,py-v1-tls,node-tls (wss://),
                       clients-ws,clients-tls (many clients); default: all of them
  --skip-install       use the peers already installed in $BENCH_PEERS_DIR
  --wait-quiet SECS    on a shared machine: before each client, wait up to SECS for a 3 s
                       window with the CPUs at least 90% idle
  -h, --help           show this help

Environment: BENCH_PEERS_DIR, BENCH_OUT, PY_PEER_PACKAGES, NODE_PEER_PACKAGES.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
EVENTS=1000000
PEER_EVENTS=
RTT=2000
RTT_GAP_US=1000
IDLE_SECS=10
CLIENTS=1000
TLS_CLIENTS=
ONLY=slack-rtm,raw,sink,py-v1,py-v2,node,slack-rtm-tls,raw-tls,sink-tls,py-v1-tls,node-tls,clients-ws,clients-tls
INSTALL=1
WAIT_QUIET=0
SMOKE=0
PROFILE=profiling
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) EVENTS=100000; CLIENTS=200 ;;
    --smoke)
      SMOKE=1; EVENTS=300; RTT=20; IDLE_SECS=1; CLIENTS=20; INSTALL=0
      ONLY=slack-rtm,raw,sink,slack-rtm-tls,raw-tls,sink-tls,clients-ws,clients-tls ;;
    --profile) PROFILE=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --tls-clients) TLS_CLIENTS=$2; shift ;;
    --events) EVENTS=$2; shift ;;
    --peer-events) PEER_EVENTS=$2; shift ;;
    --rtt) RTT=$2; shift ;;
    --rtt-gap-us) RTT_GAP_US=$2; shift ;;
    --idle-secs) IDLE_SECS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --skip-install) INSTALL=0 ;;
    --wait-quiet) WAIT_QUIET=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
PEER_EVENTS=${PEER_EVENTS:-$EVENTS}
TLS_CLIENTS=${TLS_CLIENTS:-$CLIENTS}
PEERS=${BENCH_PEERS_DIR:-${TMPDIR:-/tmp}/slack-rtm-bench-peers}
OUT=${BENCH_OUT:-$ROOT/target/bench-compare/$(date +%Y%m%d-%H%M%S)}
# The versions measured in BENCHMARKS.md; override to try others.
PY_PEER_PACKAGES=${PY_PEER_PACKAGES:-"slack-sdk==3.48.0 aiohttp==3.14.5 websocket-client==1.9.2"}
NODE_PEER_PACKAGES=${NODE_PEER_PACKAGES:-"@slack/rtm-api@7.0.4"}
mkdir -p "$OUT"

wants() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

echo "== building (profile: $PROFILE; profiling is the release profile with line tables)"
(cd "$ROOT" && cargo build --profile "$PROFILE" --quiet --bin slack-rtm --example bench)
# `dev` builds into target/debug.
DIR=$PROFILE
[ "$PROFILE" = dev ] && DIR=debug
SERVER=$ROOT/target/$DIR/slack-rtm
BENCH=$ROOT/target/$DIR/examples/bench

if [ "$INSTALL" = 1 ]; then
  if wants py-v1 || wants py-v2 || wants py-v1-tls; then
    echo "== installing the Python peers into $PEERS/venv"
    [ -x "$PEERS/venv/bin/python" ] || python3 -m venv "$PEERS/venv"
    # shellcheck disable=SC2086
    "$PEERS/venv/bin/pip" install --quiet --disable-pip-version-check $PY_PEER_PACKAGES
  fi
  if wants node || wants node-tls; then
    echo "== installing the Node peer into $PEERS/node"
    mkdir -p "$PEERS/node"
    [ -f "$PEERS/node/package.json" ] || (cd "$PEERS/node" && npm init -y >/dev/null)
    # shellcheck disable=SC2086
    (cd "$PEERS/node" && npm install --silent --no-audit --no-fund $NODE_PEER_PACKAGES)
  fi
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "python: $("$PEERS/venv/bin/python" --version 2>&1 || echo none)"
  echo "node: $(node --version 2>/dev/null || echo none)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

# Many clients: one socket per client here and in the fake (which also runs two threads per
# connection): raise the descriptor limit where the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)" >> "$OUT/machine.txt"

# Every client run is bounded: idle + round trips + two floods at >= 5,000 events/s + margin.
limit() { echo $(( 120 + IDLE_SECS + RTT * (RTT_GAP_US + 2000) / 1000000 + 2 * $1 / 5000 )); }

# Percent of CPU time idle over the next 3 s (all CPUs).
idle_pct() {
  local a b
  a=$(awk '/^cpu / {print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  sleep 3
  b=$(awk '/^cpu / {print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk '{d = $4 - $2; print (d > 0) ? int(100 * ($3 - $1) / d) : 100}'
}

wait_quiet() {
  [ "$WAIT_QUIET" -gt 0 ] || return 0
  local deadline=$(( $(date +%s) + WAIT_QUIET )) idle
  while :; do
    idle=$(idle_pct)
    [ "$idle" -ge 90 ] && { echo "   (CPUs ${idle}% idle: starting)"; return 0; }
    [ "$(date +%s)" -ge "$deadline" ] && { echo "   (CPUs only ${idle}% idle after ${WAIT_QUIET} s: starting anyway)"; return 0; }
  done
}

run_client() { # name events command...
  local name=$1 events=$2; shift 2
  echo "== $name ($events events per flood)"
  wait_quiet
  echo "load average before $name: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
  local lim
  case $name in
    clients-*) lim=$((420 + IDLE_SECS)) ;; # up to 300 s to connect, the idle window, the stop
    *) lim=$(limit "$events") ;;
  esac
  set +e
  timeout -k 5 "$lim" "$@" > "$OUT/$name.out"
  local rc=$?
  set -e
  grep -v '^RESULT ' "$OUT/$name.out" || true
  if grep -q '^RESULT ' "$OUT/$name.out"; then
    grep '^RESULT ' "$OUT/$name.out" | tail -1 | cut -c8- > "$OUT/$name.json"
  else
    echo "{\"client\": \"$name\", \"error\": \"exit status $rc, no RESULT line\"}" > "$OUT/$name.json"
  fi
  [ $rc -eq 0 ] || echo "   ($name exited with status $rc)"
}

COMMON=(--rtt "$RTT" --rtt-gap-us "$RTT_GAP_US" --idle-secs "$IDLE_SECS")
wants slack-rtm && run_client slack-rtm "$EVENTS" "$BENCH" --server "$SERVER" --events "$EVENTS" "${COMMON[@]}"
wants raw && run_client raw "$EVENTS" "$BENCH" --client raw --no-ceiling --server "$SERVER" --events "$EVENTS" "${COMMON[@]}"
wants sink && run_client sink "$EVENTS" "$BENCH" --client sink --no-ceiling --server "$SERVER" --events "$EVENTS" "${COMMON[@]}"
wants py-v1 && run_client py-v1 "$PEER_EVENTS" "$PEERS/venv/bin/python" "$ROOT/benches/peers/python_rtm.py" --sdk v1 \
  --server "$SERVER" --events "$PEER_EVENTS" "${COMMON[@]}"
wants py-v2 && run_client py-v2 "$PEER_EVENTS" "$PEERS/venv/bin/python" "$ROOT/benches/peers/python_rtm.py" --sdk v2 \
  --server "$SERVER" --events "$PEER_EVENTS" "${COMMON[@]}"
wants node && run_client node "$PEER_EVENTS" env NODE_PATH="$PEERS/node/node_modules" node "$ROOT/benches/peers/node_rtm.js" \
  --server "$SERVER" --events "$PEER_EVENTS" "${COMMON[@]}"

# wss:// round: the same fake binary with --tls; each client trusts the CA it prints.
wants slack-rtm-tls && run_client slack-rtm-tls "$EVENTS" "$BENCH" --tls --server "$SERVER" --events "$EVENTS" "${COMMON[@]}"
wants raw-tls && run_client raw-tls "$EVENTS" "$BENCH" --tls --client raw --no-ceiling --server "$SERVER" --events "$EVENTS" "${COMMON[@]}"
wants sink-tls && run_client sink-tls "$EVENTS" "$BENCH" --tls --client sink --no-ceiling --server "$SERVER" --events "$EVENTS" "${COMMON[@]}"
wants py-v1-tls && run_client py-v1-tls "$PEER_EVENTS" "$PEERS/venv/bin/python" "$ROOT/benches/peers/python_rtm.py" --sdk v1 --tls \
  --server "$SERVER" --events "$PEER_EVENTS" "${COMMON[@]}"
# Node reads NODE_EXTRA_CA_CERTS at start-up, before the server has made its CA: node_rtm.js
# hands the CA to the client's own `tls: { ca }` option instead (see node_rtm.js).
wants node-tls && run_client node-tls "$PEER_EVENTS" env NODE_PATH="$PEERS/node/node_modules" \
  node "$ROOT/benches/peers/node_rtm.js" --tls \
  --server "$SERVER" --events "$PEER_EVENTS" "${COMMON[@]}"

# Many clients in one process, idle: RSS, threads and CPU per client.
wants clients-ws && run_client clients-ws 0 "$BENCH" --clients "$CLIENTS" --connect-secs 300 --server "$SERVER" --idle-secs "$IDLE_SECS"
wants clients-tls && run_client clients-tls 0 "$BENCH" --clients "$TLS_CLIENTS" --connect-secs 300 --tls --server "$SERVER" --idle-secs "$IDLE_SECS"

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo
python3 "$ROOT/benches/report.py" "$OUT" | tee "$OUT/results.md"
echo
echo "results: $OUT (results.md, chart.svg)"
if [ "$SMOKE" = 1 ]; then
  # Every run must have finished with every event counted; no timing is judged.
  python3 - "$OUT" "${ONLY//,/ }" <<'EOF'
import json, os, sys
out, names = sys.argv[1], sys.argv[2].split()
bad = []
for name in names:
    p = os.path.join(out, name + ".json")
    if not os.path.exists(p):
        bad.append(f"{name}: no result")
        continue
    with open(p) as f:
        r = json.load(f)
    if r.get("error"):
        bad.append(f"{name}: {r['error']}")
    for k, v in r.items():
        if (k.endswith("_stalled") and v is True) or (k.endswith("_read_ok") and v is False):
            bad.append(f"{name}: {k} = {v}")
    if r.get("mode") == "clients" and r.get("connected") != r.get("clients"):
        bad.append(f"{name}: {r.get('connected')} of {r.get('clients')} clients connected")
    if r.get("mode") != "clients" and not r.get("small_eps"):
        bad.append(f"{name}: no small flood")
if bad:
    print("smoke: FAILED:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"smoke: {len(names)} benchmark runs complete")
EOF
fi
