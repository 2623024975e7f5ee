#!/usr/bin/env bash
# The Socket Mode benchmark: envelope → ack latency while every handler sleeps 1 s, and
# envelopes/s with a no-op handler, for slack-rtm (examples/bench_socket_mode.rs), Python's
# builtin slack_sdk.socket_mode client and Node's @slack/socket-mode — each against its own
# `slack-rtm serve --bench` (the same fake Slack binary, in its own process, on loopback), one
# after the other, in one run; prints a side-by-side table. See BENCHMARKS.md ("Socket Mode").
#
#   benches/socket_mode.sh                 # 2,000 envelopes at 200/s, then 20,000 unpaced
#   benches/socket_mode.sh --smoke         # a few envelopes, slack-rtm only; fails unless
#                                          # every envelope was acked within 3 s
#
# The peers are installed (pip into a venv, npm into a folder) under $BENCH_PEERS_DIR
# (default: ${TMPDIR:-/tmp}/slack-rtm-bench-peers), never into the repository; a peer whose
# packages cannot be installed (registry unreachable) is skipped with one line. Results go to
# $BENCH_OUT (default: target/bench-socket-mode/<time>): one JSON file per client and round,
# machine.txt, results.md.
set -euo pipefail

usage() {
  cat <<'EOF2'
Usage: benches/socket_mode.sh [flags]

  --envelopes N        envelopes in the sleeping-handler round (default 2000)
  --rate R             their pace, envelopes per second (default 200)
  --noop-envelopes N   envelopes in the no-op round, sent unpaced (default 20000)
  --sleep-ms MS        how long the sleeping handler sleeps (default 1000)
  --wait-ms MS         how long after each flood the server waits for acks (default 5000)
  --only LIST          run only these, comma-separated: slack-rtm,python,node
  --profile NAME       cargo profile of the binaries (default profiling)
  --skip-install       use the peers already installed in $BENCH_PEERS_DIR
  --wait-quiet SECS    on a shared machine: before each run, wait up to SECS for a 3 s
                       window with the CPUs at least 90% idle
  --smoke              20 envelopes at 100/s and 200 unpaced, slack-rtm only; exit 1 unless
                       every envelope of both rounds was acked, all within 3 s
  -h, --help           show this help

Environment: BENCH_PEERS_DIR, BENCH_OUT, PY_PEER_PACKAGES, NODE_PEER_PACKAGES.
EOF2
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENVELOPES=2000
RATE=200
NOOP_ENVELOPES=20000
SLEEP_MS=1000
WAIT_MS=5000
ONLY=slack-rtm,python,node
PROFILE=profiling
INSTALL=1
WAIT_QUIET=0
SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --envelopes) ENVELOPES=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --noop-envelopes) NOOP_ENVELOPES=$2; shift ;;
    --sleep-ms) SLEEP_MS=$2; shift ;;
    --wait-ms) WAIT_MS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --profile) PROFILE=$2; shift ;;
    --skip-install) INSTALL=0 ;;
    --wait-quiet) WAIT_QUIET=$2; shift ;;
    --smoke) SMOKE=1; ENVELOPES=20; RATE=100; NOOP_ENVELOPES=200; ONLY=slack-rtm ;;
    -h|--help) usage; exit 0 ;;
    *) echo "socket_mode.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
PEERS=${BENCH_PEERS_DIR:-${TMPDIR:-/tmp}/slack-rtm-bench-peers}
OUT=${BENCH_OUT:-$ROOT/target/bench-socket-mode/$(date +%Y%m%d-%H%M%S)}
# The versions measured in BENCHMARKS.md (those of tests/interop_socket_mode.rs).
PY_PEER_PACKAGES=${PY_PEER_PACKAGES:-"slack-sdk==3.48.0"}
NODE_PEER_PACKAGES=${NODE_PEER_PACKAGES:-"@slack/socket-mode@3.1.0"}
mkdir -p "$OUT"

wants() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

echo "== building (profile: $PROFILE)"
(cd "$ROOT" && cargo build --profile "$PROFILE" --quiet --bin slack-rtm --example bench_socket_mode)
DIR=$ROOT/target/$PROFILE
[ "$PROFILE" = dev ] && DIR=$ROOT/target/debug
SERVER=$DIR/slack-rtm
BENCH=$DIR/examples/bench_socket_mode

HAVE_PY=0
HAVE_NODE=0
if wants python; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "skipping python: python3 not found"
  elif [ "$INSTALL" = 0 ]; then
    [ -x "$PEERS/sm-venv/bin/python" ] && HAVE_PY=1 || echo "skipping python: nothing installed in $PEERS/sm-venv"
  else
    echo "== installing the Python peer into $PEERS/sm-venv"
    # shellcheck disable=SC2086
    if { [ -x "$PEERS/sm-venv/bin/python" ] || python3 -m venv "$PEERS/sm-venv"; } \
      && timeout 300 "$PEERS/sm-venv/bin/pip" install --quiet --disable-pip-version-check $PY_PEER_PACKAGES; then
      HAVE_PY=1
    else
      echo "skipping python: could not install $PY_PEER_PACKAGES (registry unreachable?)"
    fi
  fi
fi
if wants node; then
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "skipping node: node or npm not found"
  elif [ "$INSTALL" = 0 ]; then
    [ -d "$PEERS/sm-node/node_modules/@slack/socket-mode" ] && HAVE_NODE=1 || echo "skipping node: nothing installed in $PEERS/sm-node"
  else
    echo "== installing the Node peer into $PEERS/sm-node"
    mkdir -p "$PEERS/sm-node"
    # shellcheck disable=SC2086
    if timeout 300 npm install --silent --no-audit --no-fund --prefix "$PEERS/sm-node" $NODE_PEER_PACKAGES; then
      HAVE_NODE=1
    else
      echo "skipping node: could not install $NODE_PEER_PACKAGES (registry unreachable?)"
    fi
  fi
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  [ "$HAVE_PY" = 1 ] && echo "python: $("$PEERS/sm-venv/bin/python" --version 2>&1)"
  [ "$HAVE_NODE" = 1 ] && echo "node: $(node --version)"
  echo "rounds: sleep ${SLEEP_MS} ms per envelope, $ENVELOPES envelopes at $RATE/s; no-op, $NOOP_ENVELOPES envelopes unpaced; acks awaited ${WAIT_MS} ms after each flood"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

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

run_one() { # name round envelopes rate command...
  local name=$1 round=$2 n=$3 rate=$4; shift 4
  echo "== $name, $round handler: $n envelopes at ${rate}/s (0: unpaced)"
  wait_quiet
  echo "load average before $name $round: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
  # Connect + flood + the ack wait + a margin for slow start-ups.
  local lim=$(( 90 + WAIT_MS / 1000 + n / 100 ))
  [ "$rate" != 0 ] && lim=$(( lim + n / rate ))
  set +e
  timeout -k 5 "$lim" "$@" --handler "$round" --sleep-ms "$SLEEP_MS" --envelopes "$n" \
    --rate "$rate" --wait-ms "$WAIT_MS" > "$OUT/$name-$round.out"
  local rc=$?
  set -e
  grep -v '^RESULT ' "$OUT/$name-$round.out" || true
  if grep -q '^RESULT ' "$OUT/$name-$round.out"; then
    grep '^RESULT ' "$OUT/$name-$round.out" | tail -1 | cut -c8- > "$OUT/$name-$round.json"
  else
    echo "{\"client\": \"$name\", \"handler\": \"$round\", \"error\": \"exit status $rc, no RESULT line\"}" > "$OUT/$name-$round.json"
  fi
  [ $rc -eq 0 ] || echo "   ($name $round exited with status $rc)"
}

for round in sleep noop; do
  if [ "$round" = sleep ]; then n=$ENVELOPES; rate=$RATE; else n=$NOOP_ENVELOPES; rate=0; fi
  if wants slack-rtm; then
    run_one slack-rtm "$round" "$n" "$rate" "$BENCH" --server "$SERVER"
  fi
  if [ "$HAVE_PY" = 1 ]; then
    run_one python "$round" "$n" "$rate" \
      "$PEERS/sm-venv/bin/python" "$ROOT/benches/peers/python_socket_mode.py" --server "$SERVER"
  fi
  if [ "$HAVE_NODE" = 1 ]; then
    run_one node "$round" "$n" "$rate" env NODE_PATH="$PEERS/sm-node/node_modules" \
      node "$ROOT/benches/peers/node_socket_mode.js" --server "$SERVER"
  fi
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo
if ! command -v python3 >/dev/null 2>&1; then
  # No table without python3; the smoke check still holds (slack-rtm's compact JSON).
  echo "python3 not found: no table (the JSON files are in $OUT)"
  [ "$SMOKE" = 1 ] || exit 0
  grep -Eq "\"acked_within_3s\":$ENVELOPES[,}]" "$OUT/slack-rtm-sleep.json" \
    && grep -Eq '"unacked":0[,}]' "$OUT/slack-rtm-sleep.json" \
    && grep -Eq '"unacked":0[,}]' "$OUT/slack-rtm-noop.json" \
    && { echo "smoke: every envelope acked, all within 3 s"; exit 0; }
  echo "smoke: FAILED: envelopes unacked or late"
  exit 1
fi
set +e
python3 - "$OUT" "$SMOKE" <<'EOF2' | tee "$OUT/results.md"
import json, os, sys

out, smoke = sys.argv[1], sys.argv[2] == "1"
rows = []
for name in ["slack-rtm", "python", "node"]:
    r = {}
    for rnd in ["sleep", "noop"]:
        p = os.path.join(out, f"{name}-{rnd}.json")
        if os.path.exists(p):
            with open(p) as f:
                r[rnd] = json.load(f)
    if r:
        rows.append((name, r))


def t(us):
    if us is None:
        return "unacked"
    if us < 1000:
        return f"{us:,.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:,.1f} ms"
    return f"{us / 1e6:,.2f} s"


def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"


def failed(res):
    return res is None or res.get("error") or not res.get("report")


sleep_ms = next((r[k].get("sleep_ms") for _, r in rows for k in r if r[k].get("sleep_ms")), 1000)
print(f"| client | handler sleeps {sleep_ms / 1000:g} s: acked ≤ 3 s / sent | ack p50 | p99 | max "
      "| no-op handler: acked envelopes/s | handled envelopes/s | ack p50 | p99 | handled (sleep / no-op) | RSS idle / peak MB (sleep round; no-op round) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
ok = True
for name, r in rows:
    s, q = r.get("sleep"), r.get("noop")
    client = next((x.get("client") for x in (s, q) if x and x.get("client")), name)
    cells = [client]
    if failed(s):
        ok = False
        cells += [f"failed: {(s or {}).get('error', 'no result')}", "", "", ""]
    else:
        rep = s["report"]
        cells += [f"{rep['acked_within_3s']:,} / {rep['n']:,}", t(rep["p50_us"]), t(rep["p99_us"]),
                  t(rep["max_us"]) if rep["unacked"] == 0 else f"{rep['unacked']:,} unacked after the wait"]
        ok &= rep["acked_within_3s"] == rep["n"]
    if failed(q):
        ok = False
        cells += [f"failed: {(q or {}).get('error', 'no result')}", "", "", ""]
    else:
        rep = q["report"]
        eps = rep.get("acked_per_sec")
        note = "" if rep["unacked"] == 0 else f" ({rep['unacked']:,} of {rep['n']:,} unacked)"
        hps = q.get("handled_per_sec")
        hnote = "" if q.get("handled") == rep["n"] else f" ({q.get('handled', 0):,} of {rep['n']:,} handled)"
        cells += [f"{eps:,.0f}{note}" if eps else "—", f"{hps:,.0f}" if hps else f"—{hnote}",
                  t(rep["p50_us"]), t(rep["p99_us"])]
        ok &= rep["unacked"] == 0
    cells.append(" / ".join("—" if failed(x) else f"{x.get('handled', 0):,}" for x in (s, q)))
    cells.append("; ".join("—" if failed(x) else f"{mb(x.get('rss_idle_kb'))} / {mb(x.get('rss_peak_kb'))}" for x in (s, q)))
    print("| " + " | ".join(cells) + " |")
sends = []
for name, r in rows:
    f = (r.get("noop") or {}).get("flood") or {}
    if f.get("send_secs"):
        sends.append(f"{name} {f['n'] / f['send_secs']:,.0f}/s")
if sends:
    print()
    print("The fake's own pace in the no-op round (envelopes it queued per second, the ceiling "
          "of that column): " + ", ".join(sends) + ".")
with open(os.path.join(out, "machine.txt")) as f:
    loads = [l.strip() for l in f if l.startswith("load average")]
print()
print("Machine load (1, 5, 15 min): " + "; ".join(loads) + ".")
if smoke:
    print()
    print("smoke: " + ("every envelope acked, all within 3 s" if ok else "FAILED: envelopes unacked or late"))
    sys.exit(0 if ok else 1)
EOF2
status=${PIPESTATUS[0]}
set -e
echo
echo "results: $OUT"
exit "$status"
