#!/usr/bin/env bash
# Runs the end-to-end benchmark (examples/bench.rs) for slack-rtm and for the peer clients —
# Python slack_sdk.rtm (v1), slack_sdk.rtm_v2 and Node @slack/rtm-api — one after the other,
# each against its own `slack-rtm serve --bench` (the same fake Slack binary, in its own
# process, on loopback), with the same workload, and prints a side-by-side table.
# See BENCHMARKS.md.
#
#   benches/compare.sh --quick          # 100,000 events per flood, ~2.5 min
#   benches/compare.sh                  # 1,000,000 events per flood, ~4 min
#
# The peers are installed (pip into a venv, npm into a folder) under $BENCH_PEERS_DIR
# (default: ${TMPDIR:-/tmp}/slack-rtm-bench-peers), never into the repository. Results go to
# $BENCH_OUT (default: target/bench-compare/<time>): one JSON file per client, results.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benches/compare.sh [flags]

  --quick              100000 events per flood (default: 1000000)
  --events N           events per flood for every client
  --peer-events N      events per flood for the peers only (default: --events)
  --rtt N              round trips (default 2000)
  --rtt-gap-us US      pause between round trips (default 1000)
  --idle-secs S        idle window (default 10)
  --only LIST          run only these, comma-separated: slack-rtm,raw,sink,py-v1,py-v2,node
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
ONLY=slack-rtm,raw,sink,py-v1,py-v2,node
INSTALL=1
WAIT_QUIET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) EVENTS=100000 ;;
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
PEERS=${BENCH_PEERS_DIR:-${TMPDIR:-/tmp}/slack-rtm-bench-peers}
OUT=${BENCH_OUT:-$ROOT/target/bench-compare/$(date +%Y%m%d-%H%M%S)}
# The versions measured in BENCHMARKS.md; override to try others.
PY_PEER_PACKAGES=${PY_PEER_PACKAGES:-"slack-sdk==3.48.0 aiohttp==3.14.5 websocket-client==1.9.2"}
NODE_PEER_PACKAGES=${NODE_PEER_PACKAGES:-"@slack/rtm-api@7.0.4"}
mkdir -p "$OUT"

wants() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

echo "== building (profile: profiling, the release profile with line tables)"
(cd "$ROOT" && cargo build --profile profiling --quiet --bin slack-rtm --example bench)
SERVER=$ROOT/target/profiling/slack-rtm
BENCH=$ROOT/target/profiling/examples/bench

if [ "$INSTALL" = 1 ]; then
  if wants py-v1 || wants py-v2; then
    echo "== installing the Python peers into $PEERS/venv"
    [ -x "$PEERS/venv/bin/python" ] || python3 -m venv "$PEERS/venv"
    # shellcheck disable=SC2086
    "$PEERS/venv/bin/pip" install --quiet --disable-pip-version-check $PY_PEER_PACKAGES
  fi
  if wants node; then
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
  local lim; lim=$(limit "$events")
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

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo
python3 - "$OUT" <<'EOF' | tee "$OUT/results.md"
import json, os, sys

out = sys.argv[1]
order = ["slack-rtm", "py-v1", "py-v2", "node", "raw", "sink"]
rows = {}
for name in order:
    p = os.path.join(out, name + ".json")
    if os.path.exists(p):
        with open(p) as f:
            rows[name] = json.load(f)
node = rows.get("node", {})
ours = rows.get("slack-rtm", {})


def num(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}{unit}"
    return f"{int(v):,}{unit}"


def eps(r, size):
    v = r.get(f"{size}_eps")
    if v is None:
        return "—"
    if r.get(f"{size}_stalled"):
        return f"stalled after {r.get(size + '_done', 0):,} of {r.get('events', 0):,}"
    note = " (handler read mismatch!)" if r.get(f"{size}_read_ok") is False else ""
    return f"{v:,.0f}{note}"


def ratio(r, size, base):
    a, b = r.get(f"{size}_eps"), base.get(f"{size}_eps")
    if not a or not b or r.get(f"{size}_stalled") or base.get(f"{size}_stalled"):
        return "—"
    return f"{a / b:.2f}×"


def ceil_pct(r, size):
    a, c = r.get(f"{size}_eps"), ours.get(f"ceiling_{size}_eps")
    if not a or not c or r.get(f"{size}_stalled"):
        return "—"
    return f"{100 * a / c:.0f}%"


def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"


def threads(r):
    t = r.get("threads_total")
    if t is None:
        return "—"
    harness = r.get("threads_harness") or 0
    text = f"{t - harness}"
    after = r.get("threads_after")
    if after is not None and after != t:
        text += f" → {after - harness}"
    named = r.get("threads_lib")
    return text + (f" ({named} rtm-*)" if named else "")


gap = next((r["rtt_gap_us"] for r in rows.values() if r.get("rtt_gap_us") is not None), None)
gap_text = f"{gap / 1000:g} ms apart" if gap is not None else "apart"
print("| client | events/flood | small ev/s | ×Node | of ceiling | large ev/s | ×Node | of ceiling "
      f"| round trip p50 / p99 µs: 1 CPU, back to back | 2 CPUs, back to back | 2 CPUs, {gap_text} | idle CPU ms (stat ticks) / s | threads idle → flood | RSS idle / peak MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in order:
    r = rows.get(name)
    if r is None:
        continue
    if r.get("error") and not r.get("small_eps"):
        print(f"| {r.get('client') or name} | failed: {r['error']} |" + " |" * 12)
        continue
    print(
        f"| {r.get('client')} | {num(r.get('events'))} "
        f"| {eps(r, 'small')} | {ratio(r, 'small', node)} | {ceil_pct(r, 'small')} "
        f"| {eps(r, 'large')} | {ratio(r, 'large', node)} | {ceil_pct(r, 'large')} "
        f"| {num(r.get('rtt_1cpu_p50_us'))} / {num(r.get('rtt_1cpu_p99_us'))} "
        f"| {num(r.get('rtt_b2b_p50_us'))} / {num(r.get('rtt_b2b_p99_us'))} "
        f"| {num(r.get('rtt_p50_us'))} / {num(r.get('rtt_p99_us'))} "
        f"| {num(r.get('idle_cpu_ms'))} ({num(r.get('idle_cpu_ticks_ms'))}) / {num(r.get('idle_secs'))} "
        f"| {threads(r)} | {mb(r.get('rss_idle_kb'))} / {mb(r.get('rss_peak_kb'))} |"
    )
if ours.get("ceiling_small_eps"):
    print(f"| ceiling: tungstenite decode + serde_json::Value parse, 1 thread, in memory | — "
          f"| {ours['ceiling_small_eps']:,.0f} | | 100% | {ours.get('ceiling_large_eps', 0):,.0f} | | 100% "
          f"| — | — | — | — | — | — |")
raw = rows.get("raw", {})
if ours.get("rtt_p50_us") and raw.get("rtt_p50_us"):
    print()
    for prefix, what in (("rtt_1cpu", "1 CPU, back to back"), ("rtt_b2b", "2 CPUs, back to back"),
                         ("rtt", "2 CPUs, " + gap_text)):
        if ours.get(prefix + "_p50_us") is None or raw.get(prefix + "_p50_us") is None:
            continue
        print(f"Round trip added by slack-rtm over the raw one-thread client ({what}): "
              f"p50 {ours[prefix + '_p50_us'] - raw[prefix + '_p50_us']:+.1f} µs, "
              f"p99 {ours[prefix + '_p99_us'] - raw[prefix + '_p99_us']:+.1f} µs.")
with open(os.path.join(out, "machine.txt")) as f:
    loads = [l.strip() for l in f if l.startswith("load average")]
print()
print("Machine load (1, 5, 15 min): " + "; ".join(loads) + ".")
EOF
echo
echo "results: $OUT"
