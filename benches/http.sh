#!/usr/bin/env bash
# The HTTP-mode benchmark: signed Events API POSTs per second over keep-alive, and slash-command
# ack latency while every listener sleeps 1 s after acking, for slack-rtm (benches/http_app.rs:
# the App on app.http), Bolt for Python (benches/peers/python_http.py: `app.start`, its
# http.server) and Bolt for JS (benches/peers/node_http.js: HTTPReceiver) — each app in its own
# process on loopback, one after the other, driven by the same load driver
# (benches/http_load.rs), in one run; prints a side-by-side table. See BENCHMARKS.md
# ("HTTP mode").
#
#   benches/http.sh            # events: 16 connections for 5 s; commands: 8/s for 10 s, 100/s for 5 s
#   benches/http.sh --smoke    # slack-rtm only, 1 s rounds; fails unless every request got a 200
#                              # and every ack came within 3 s
#
# The peers are installed (pip --target, npm --prefix) under $BENCH_PEERS_DIR (default:
# ${TMPDIR:-/tmp}/slack-rtm-bench-peers), never into the repository; a peer whose packages cannot
# be installed (registry unreachable) is skipped with one line. Results go to $BENCH_OUT (default:
# target/bench-http/<time>): one JSON line per app and round, machine.txt, results.md.
set -euo pipefail

usage() {
  cat <<'EOF2'
Usage: benches/http.sh [flags]

  --connections N      connections of the events round (default 16)
  --event-seconds S    length of the events round (default 5)
  --low-rate R         commands per second of the first commands round (default 8: under the
                       10 workers of every app's default pool)
  --low-seconds S      its length (default 10)
  --high-rate R        commands per second of the second commands round (default 100)
  --high-seconds S     its length (default 5)
  --high-workers N     slack-rtm's App workers in the second round (default 200: 1 s listeners
                       at 100/s need 100)
  --only LIST          run only these, comma-separated: slack-rtm,python,node
  --profile NAME       cargo profile of the binaries (default profiling)
  --skip-install       use the peers already installed in $BENCH_PEERS_DIR
  --smoke              slack-rtm only, 1 s rounds; exit 1 unless every request got a 200 and
                       every ack came within 3 s
  -h, --help           show this help

Environment: BENCH_PEERS_DIR, BENCH_OUT, PY_PEER_PACKAGES, NODE_PEER_PACKAGES.
EOF2
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNECTIONS=16
EVENT_SECONDS=5
LOW_RATE=8
LOW_SECONDS=10
HIGH_RATE=100
HIGH_SECONDS=5
HIGH_WORKERS=200
ONLY=slack-rtm,python,node
PROFILE=profiling
INSTALL=1
SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) CONNECTIONS=$2; shift ;;
    --event-seconds) EVENT_SECONDS=$2; shift ;;
    --low-rate) LOW_RATE=$2; shift ;;
    --low-seconds) LOW_SECONDS=$2; shift ;;
    --high-rate) HIGH_RATE=$2; shift ;;
    --high-seconds) HIGH_SECONDS=$2; shift ;;
    --high-workers) HIGH_WORKERS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --profile) PROFILE=$2; shift ;;
    --skip-install) INSTALL=0 ;;
    --smoke) SMOKE=1; ONLY=slack-rtm; EVENT_SECONDS=1; LOW_SECONDS=1; HIGH_SECONDS=1; HIGH_RATE=20 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "http.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
PEERS=${BENCH_PEERS_DIR:-${TMPDIR:-/tmp}/slack-rtm-bench-peers}
OUT=${BENCH_OUT:-$ROOT/target/bench-http/$(date +%Y%m%d-%H%M%S)}
# The versions measured in BENCHMARKS.md (slack_bolt: that of tests/interop_http.rs).
PY_PEER_PACKAGES=${PY_PEER_PACKAGES:-"slack_sdk==3.48.0 slack_bolt==1.30.0"}
NODE_PEER_PACKAGES=${NODE_PEER_PACKAGES:-"@slack/bolt@4.7.3"}
SECRET=bench-signing-secret
mkdir -p "$OUT"

wants() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

echo "== building (profile: $PROFILE)"
(cd "$ROOT" && cargo build --profile "$PROFILE" --quiet -p slack-rtm-benches --bin http_load --bin http_app)
DIR=$ROOT/target/$PROFILE
[ "$PROFILE" = dev ] && DIR=$ROOT/target/debug
LOAD=$DIR/http_load

HAVE_PY=0
HAVE_NODE=0
PY_DIR=$PEERS/http-py
NODE_DIR=$PEERS/http-node
if wants python; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "skipping python: python3 not found"
  elif [ -d "$PY_DIR/slack_bolt" ]; then
    HAVE_PY=1
  elif [ "$INSTALL" = 0 ]; then
    echo "skipping python: nothing installed in $PY_DIR"
  else
    echo "== installing the Python peer into $PY_DIR"
    # shellcheck disable=SC2086
    if timeout 300 python3 -m pip install --quiet --disable-pip-version-check --no-input \
      --target "$PY_DIR" $PY_PEER_PACKAGES; then
      HAVE_PY=1
    else
      echo "skipping python: could not install $PY_PEER_PACKAGES (registry unreachable?)"
    fi
  fi
fi
if wants node; then
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "skipping node: node or npm not found"
  elif [ -d "$NODE_DIR/node_modules/@slack/bolt" ]; then
    HAVE_NODE=1
  elif [ "$INSTALL" = 0 ]; then
    echo "skipping node: nothing installed in $NODE_DIR"
  else
    echo "== installing the Node peer into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    # shellcheck disable=SC2086
    if timeout 300 npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" $NODE_PEER_PACKAGES; then
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
  [ "$HAVE_PY" = 1 ] && echo "python: $(python3 --version 2>&1), $PY_PEER_PACKAGES"
  [ "$HAVE_NODE" = 1 ] && echo "node: $(node --version), $NODE_PEER_PACKAGES"
  echo "rounds: events, $CONNECTIONS connections for $EVENT_SECONDS s; commands $LOW_RATE/s for $LOW_SECONDS s; commands $HIGH_RATE/s for $HIGH_SECONDS s (slack-rtm: --workers $HIGH_WORKERS)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

# Starts a fresh app (its command in "$@") for one round, reads its PORT= line, runs the round,
# then closes its stdin (it exits by itself) and waits: no round inherits another's backlog
# (Bolt for Python queues every acked event's listener on its 10-thread pool).
run_round() { # name round(events|low|high) command...
  local name=$1 round=$2; shift 2
  echo "== $name, $round"
  echo "load average before $name $round: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
  coproc APP { SLACK_SIGNING_SECRET=$SECRET exec "$@" 2>"$OUT/$name-$round.stderr"; }
  local pid=$APP_PID line port
  if ! read -r -t 60 line <&"${APP[0]}" || [ "${line#PORT=}" = "$line" ]; then
    echo "   ($name did not start; see $OUT/$name-$round.stderr)"
    kill "$pid" 2>/dev/null || true
    return 0
  fi
  port=${line#PORT=}
  local url=http://127.0.0.1:$port/slack/events
  local tag="s/^{/{\"app\":\"$name\",/"
  case "$round" in
    events) set -- events --connections "$CONNECTIONS" --seconds "$EVENT_SECONDS" ;;
    low) set -- commands --rate "$LOW_RATE" --seconds "$LOW_SECONDS" ;;
    high) set -- commands --rate "$HIGH_RATE" --seconds "$HIGH_SECONDS" ;;
  esac
  timeout 120 "$LOAD" --url "$url" --secret "$SECRET" "$@" | sed "$tag" \
    | tee -a "$OUT/results.jsonl" || true
  eval "exec ${APP[1]}>&-"
  # It exits when its stdin closes; listeners still sleeping hold it at most a few seconds.
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

run_app() { # name rounds command...
  local name=$1 rounds=$2 round; shift 2
  for round in $rounds; do
    run_round "$name" "$round" "$@"
  done
}

if wants slack-rtm; then
  run_app slack-rtm "events low high" "$DIR/http_app"
  run_app "slack-rtm-w$HIGH_WORKERS" high "$DIR/http_app" --workers "$HIGH_WORKERS"
fi
if [ "$HAVE_PY" = 1 ]; then
  run_app python "events low high" env PYTHONPATH="$PY_DIR" python3 "$ROOT/benches/peers/python_http.py"
fi
if [ "$HAVE_NODE" = 1 ]; then
  run_app node "events low high" env NODE_PATH="$NODE_DIR/node_modules" node "$ROOT/benches/peers/node_http.js"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"

if [ "$SMOKE" = 1 ]; then
  # Every request answered 200, every ack within 3 s (the compact JSON of http_load).
  if grep -q '"failed":[1-9]' "$OUT/results.jsonl" \
    || grep -q '"unanswered":[1-9]' "$OUT/results.jsonl" \
    || grep -q '"max_ms":null' "$OUT/results.jsonl" \
    || grep '"mode":"commands"' "$OUT/results.jsonl" | grep -Eq '"max_ms":([3-9][0-9]{3}|[0-9]{5,})'; then
    echo "smoke: FAILED (see $OUT/results.jsonl)"
    exit 1
  fi
  echo "smoke: every request answered 200, every ack within 3 s"
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 not found: no table (the JSON lines are in $OUT/results.jsonl)"
  exit 0
fi
python3 - "$OUT/results.jsonl" <<'PY' | tee "$OUT/results.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
apps = list(dict.fromkeys(r["app"] for r in rows))
names = {"slack-rtm": "slack-rtm App (10 workers)", "python": "Bolt for Python", "node": "Bolt for JS"}
for a in apps:
    if a.startswith("slack-rtm-w"):
        names[a] = f"slack-rtm App ({a[len('slack-rtm-w'):]} workers)"
ev = {r["app"]: r for r in rows if r["mode"] == "events"}
rates = sorted({r["rate"] for r in rows if r["mode"] == "commands"})
print("| app | signed events/s (keep-alive) | " + " | ".join(
    f"/bench at {r:g}/s: answered ≤ 3 s; ack p50 / p99 / max (ms)" for r in rates) + " |")
print("|---|---:|" + "---:|" * len(rates))
for a in apps:
    e = ev.get(a)
    cells = [f"{e['per_second']:,.0f}" + (f" ({e['failed']} failed)" if e and e["failed"] else "") if e else "–"]
    for rate in rates:
        c = [r for r in rows if r["app"] == a and r["mode"] == "commands" and r["rate"] == rate]
        if c:
            c = c[-1]
            ms = lambda v: "never" if v is None else f"{v:.2f}"
            n = c["ok"] + c["failed"] + c.get("unanswered", 0)
            cell = f"{c.get('within_3s', c['ok'])}/{n}; {ms(c['p50_ms'])} / {ms(c['p99_ms'])} / {ms(c['max_ms'])}"
            if c["failed"] or c.get("unanswered"):
                cell += f" ({c['failed']} failed, {c.get('unanswered', 0)} unanswered)"
            cells.append(cell)
        else:
            cells.append("–")
    print(f"| {names[a]} | " + " | ".join(cells) + " |")
if "slack-rtm" in ev:
    for a in ("node", "python"):
        if a in ev and ev[a]["per_second"] > 0:
            print(f"\nslack-rtm / {names[a]} events/s: {ev['slack-rtm']['per_second'] / ev[a]['per_second']:.1f}x")
PY
