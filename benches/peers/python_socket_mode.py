#!/usr/bin/env python3
"""The Socket Mode benchmark of examples/bench_socket_mode.rs, for Python's builtin
`slack_sdk.socket_mode.SocketModeClient`.

    python3 python_socket_mode.py --server target/profiling/slack-rtm --handler sleep|noop ...

It spawns `slack-rtm serve --bench` (the fake Slack in its own process), connects the builtin
SocketModeClient to it (a WebClient with `base_url`, the library's defaults otherwise:
`concurrency=10`), registers a request listener that acks the envelope **first**
(`send_socket_mode_response`, as slack_sdk's docs show), reads the event's text, then sleeps
(`--handler sleep`) or returns (`--handler noop`), has the server send the envelopes and
prints the server's ack report as one `RESULT <json>` line with the same fields as the Rust
client. See BENCHMARKS.md ("Socket Mode"). Needs slack_sdk only.
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time

APP_TOKEN = "xapp-1-A0FAKEAPP1-1-bench"


class Server:
    def __init__(self, path):
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [path, "serve", "--bench"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, name="bench-server-out", daemon=True).start()
        first = self.lines.get(timeout=10)
        if not first.startswith("SLACK_API_URL="):
            raise RuntimeError(f"unexpected first server line {first!r}")
        self.url = first[len("SLACK_API_URL="):]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def command(self, cmd, timeout):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no answer to {cmd!r} within {timeout} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line.startswith("BENCH "):
                answer = json.loads(line[len("BENCH "):])
                if answer.get("cmd") == "error":
                    raise RuntimeError(f"the server refused {cmd!r}: {answer.get('message')}")
                return answer

    def close(self):
        # EOF on stdin stops a --bench server; kill it (by pid) if it lingers.
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def run(args, server, result):
    import slack_sdk
    from slack_sdk.socket_mode import SocketModeClient
    from slack_sdk.socket_mode.response import SocketModeResponse
    from slack_sdk.web import WebClient

    result["client"] = f"python slack_sdk.socket_mode builtin ({slack_sdk.version.__version__})"
    lock = threading.Lock()
    counts = {"handled": 0, "touched": 0, "first": None, "last": None}
    all_handled = threading.Event()
    sleep = args.sleep_ms / 1000 if args.handler == "sleep" else 0

    def on_request(client, req):
        if req.type != "events_api":
            return
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        n = len((req.payload.get("event") or {}).get("text") or "")
        with lock:
            counts["handled"] += 1
            counts["touched"] += n
            if counts["handled"] == 1:
                counts["first"] = time.perf_counter()
            if counts["handled"] == args.envelopes:
                counts["last"] = time.perf_counter()
                all_handled.set()
        if sleep:
            time.sleep(sleep)

    web = WebClient(token="xoxb-bench", base_url=server.url)
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web)
    client.socket_mode_request_listeners.append(on_request)
    client.connect()
    time.sleep(1)
    result["rss_idle_kb"] = status("VmRSS")
    flood_secs = args.envelopes / args.rate if args.rate > 0 else 0
    result["flood"] = server.command(f"!sm-flood {args.envelopes} {args.rate:g}", flood_secs + 60)
    result["report"] = server.command(f"!sm-report {args.wait_ms}", args.wait_ms / 1000 + 60)
    # Same wait as the Rust client for handlers that lag the acks.
    all_handled.wait(args.wait_ms / 1000)
    result["rss_peak_kb"] = status("VmHWM")
    with lock:
        result["handled"] = counts["handled"]
        result["touched"] = counts["touched"]
        first, last = counts["first"], counts["last"]
        result["handled_per_sec"] = (
            round((args.envelopes - 1) / (last - first)) if first and last and last > first else None
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True, help="the slack-rtm binary")
    p.add_argument("--handler", choices=["sleep", "noop"], default="sleep")
    p.add_argument("--sleep-ms", type=int, default=1000)
    p.add_argument("--envelopes", type=int, default=2000)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--wait-ms", type=int, default=5000)
    args = p.parse_args()

    result = {"client": "python slack_sdk.socket_mode builtin", "handler": args.handler,
              "sleep_ms": args.sleep_ms}
    code = 0
    server = None
    try:
        server = Server(args.server)
        run(args, server, result)
    except Exception as e:
        print(f"python_socket_mode: {type(e).__name__}: {e}", file=sys.stderr)
        result["error"] = f"{type(e).__name__}: {e}"
        code = 1
    finally:
        if server is not None:
            server.close()
    print("RESULT " + json.dumps(result), flush=True)
    # The thread pool holds a backlog of sleeping listeners: do not wait for it.
    os._exit(code)


if __name__ == "__main__":
    main()
