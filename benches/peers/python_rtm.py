#!/usr/bin/env python3
"""The end-to-end benchmark of examples/bench.rs, for Python's slack_sdk RTM clients.

    python3 python_rtm.py --sdk v1|v2 --server target/profiling/slack-rtm [--events N] ...

It spawns `slack-rtm serve --bench` (the fake Slack in its own process), connects
`slack_sdk.rtm.RTMClient` (v1) or `slack_sdk.rtm_v2.RTMClient` (v2) to it with `base_url`,
and runs the same steps as the Rust bench, printing one `RESULT <json>` line with the same
fields. See BENCHMARKS.md for the definitions. With `--tls` the server is
`slack-rtm serve --bench --tls` and the client trusts the CA it prints through `SSL_CERT_FILE`
(set before the SDK, aiohttp or websocket-client are imported: they build their SSL contexts
from it). Needs slack_sdk, plus aiohttp for v1
(v2 uses slack_sdk's own websocket code).
"""

import argparse
import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time

TOKEN = "xoxb-bench-token"
HERE = os.path.dirname(os.path.abspath(__file__))


def event_text(size):
    with open(os.path.join(HERE, "..", "events", f"{size}.json")) as f:
        return f.read().strip()


# ----- the fake Slack, in its own process -----


class Server:
    def __init__(self, path, tls=False):
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [path, "serve", "--bench"] + (["--tls"] if tls else []),
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
        self.ca_file = None
        if tls:
            second = self.lines.get(timeout=10)
            if not second.startswith("SLACK_CA_FILE="):
                raise RuntimeError(f"unexpected second server line {second!r}")
            self.ca_file = second[len("SLACK_CA_FILE="):]

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


# ----- what the handlers share with the driver -----


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.touched = 0
        self.target = None
        self.done_at = None
        self.done = threading.Event()
        self.hello = threading.Event()

    def on_message(self, data):
        # Read a field, as real handlers do.
        n = len(data.get("text") or "")
        with self.lock:
            self.touched += n
            self.count += 1
            if self.count == self.target:
                self.done_at = time.perf_counter()
                self.done.set()

    def reset(self, target):
        with self.lock:
            self.count = 0
            self.touched = 0
            self.done_at = None
            self.done.clear()
            self.target = target


def typing_reply(probe):
    return {"type": "typing", "channel": probe.get("channel"), "seq": probe.get("seq")}


# ----- process measurements (Linux /proc) -----


def set_affinity(pids, cpus):
    """Pins every thread of `pids` (`taskset -a -p -c CPUS PID`); False when that fails."""
    for pid in pids:
        done = subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)],
                              stdout=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            print(f"python_rtm: taskset -a -p -c {cpus} {pid} failed; skipping the pinned series",
                  file=sys.stderr)
            return False
    return True


def cpu_ticks_ms():
    with open("/proc/self/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) * 10.0


def cpu_sched_ms():
    ns = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/schedstat") as f:
                ns += int(f.read().split()[0])
        except OSError:
            pass
    return ns / 1e6


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


# ----- the run -----


def flood(server, counters, n, size, stall):
    counters.reset(n)
    cpu0 = cpu_ticks_ms()
    started = time.perf_counter()
    server.command(f"!flood {n} {size}", 10)
    last = (0, time.perf_counter())
    stalled = False
    while not counters.done.wait(0.5):
        now = counters.count
        if now != last[0]:
            last = (now, time.perf_counter())
        elif time.perf_counter() - last[1] >= stall:
            stalled = True
            break
    with counters.lock:
        count, touched, done_at = counters.count, counters.touched, counters.done_at
    secs = (done_at or last[1]) - started
    cpu_ms = cpu_ticks_ms() - cpu0
    return count, secs, touched, stalled, cpu_ms


def measure(args, server, counters, result):
    if not counters.hello.wait(10):
        raise RuntimeError("no hello within 10 s")
    time.sleep(1)
    t0, s0 = cpu_ticks_ms(), cpu_sched_ms()
    time.sleep(args.idle_secs)
    t1, s1 = cpu_ticks_ms(), cpu_sched_ms()
    result.update(
        idle_secs=args.idle_secs,
        idle_cpu_ticks_ms=t1 - t0,
        idle_cpu_ms=round(s1 - s0, 2),
        rss_idle_kb=status("VmRSS"),
        threads_total=status("Threads"),
        # v1: the driver thread and the server-output reader (the main thread runs the
        # client's event loop); v2: the main thread (the driver) and the reader.
        threads_harness=2,
        threads_lib=None,
    )

    count, _, _, stalled, _ = flood(server, counters, 10_000, "small", 10)
    if stalled:
        result["warmup_stalled_at"] = count
        print(f"python_rtm: the warm-up flood stalled after {count} events", file=sys.stderr)
    elif args.rtt > 0:
        # Both processes on one CPU, back to back (rtt_1cpu_*); unpinned, back to back
        # (rtt_b2b_*); unpinned, --rtt-gap-us apart (rtt_*).
        pids = [os.getpid(), server.proc.pid]
        all_cpus = f"0-{os.cpu_count() - 1}"
        for prefix, gap_us, pinned in (("rtt_1cpu", 0, True), ("rtt_b2b", 0, False),
                                       ("rtt", args.rtt_gap_us, False)):
            if pinned and not set_affinity(pids, "0"):
                continue
            timeout = 30 + 2 * args.rtt * gap_us / 1e6
            try:
                rtt = server.command(f"!rtt {args.rtt} {gap_us}", timeout)
            finally:
                if pinned and not set_affinity(pids, all_cpus):
                    raise RuntimeError("cannot undo the CPU pinning")
            for key in ("n", "done", "timeouts", "gap_us", "min_us", "p50_us", "p90_us",
                        "p99_us", "max_us", "mean_us"):
                result[f"{prefix}_{key}"] = rtt.get(key)

    for size in args.sizes.split(","):
        if stalled:
            break
        count, secs, touched, stalled, cpu_ms = flood(server, counters, args.events, size, args.stall_secs)
        expected = args.events * len(json.loads(event_text(size))["text"])
        result[f"{size}_done"] = count
        result[f"{size}_secs"] = round(secs, 3)
        result[f"{size}_eps"] = round(count / secs) if secs > 0 else None
        result[f"{size}_stalled"] = stalled
        # The whole process's CPU time (utime + stime, 10 ms ticks) per event of the flood.
        result[f"{size}_cpu_us_per_event"] = round(1000 * cpu_ms / count, 3) if count else None
        result[f"{size}_read_ok"] = stalled or touched == expected
        if stalled:
            print(f"python_rtm: the {size} flood stalled after {count} of {args.events} events",
                  file=sys.stderr)
    result.update(
        rss_peak_kb=status("VmHWM"),
        rss_after_kb=status("VmRSS"),
        threads_after=status("Threads"),
    )


def run_v1(args, server, counters, result):
    import slack_sdk
    from slack_sdk.rtm import RTMClient

    result["client"] = f"python slack_sdk.rtm v1 ({slack_sdk.version.__version__})"
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    rtm = RTMClient(token=TOKEN, base_url=server.url, loop=loop)

    @RTMClient.run_on(event="hello")
    def on_hello(**payload):
        counters.hello.set()

    @RTMClient.run_on(event="message")
    def on_message(**payload):
        counters.on_message(payload["data"])

    @RTMClient.run_on(event="user_typing")
    def on_user_typing(**payload):
        payload["rtm_client"].send_over_websocket(payload=typing_reply(payload["data"]))

    errors = []

    def drive():
        try:
            measure(args, server, counters, result)
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            loop.call_soon_threadsafe(rtm.stop)

    driver = threading.Thread(target=drive, name="bench-driver", daemon=True)
    driver.start()
    try:
        rtm.start()  # the client's event loop runs on the main thread, as in a real bot
    except Exception as e:
        errors.append(e)
    driver.join(timeout=5)
    if errors:
        raise errors[0]


def run_v2(args, server, counters, result):
    import slack_sdk
    from slack_sdk.rtm_v2 import RTMClient

    result["client"] = f"python slack_sdk.rtm_v2 ({slack_sdk.version.__version__})"
    rtm = RTMClient(token=TOKEN, base_url=server.url)

    @rtm.on("hello")
    def on_hello(client, event):
        counters.hello.set()

    @rtm.on("message")
    def on_message(client, event):
        counters.on_message(event)

    @rtm.on("user_typing")
    def on_user_typing(client, event):
        client.send(typing_reply(event))

    rtm.connect()  # the client's threads run on their own; the main thread drives
    try:
        measure(args, server, counters, result)
    finally:
        try:
            rtm.close()
        except Exception:
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sdk", choices=["v1", "v2"], required=True)
    p.add_argument("--server", required=True, help="the slack-rtm binary")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--sizes", default="small,large")
    p.add_argument("--rtt", type=int, default=2000)
    p.add_argument("--rtt-gap-us", type=int, default=1000)
    p.add_argument("--idle-secs", type=int, default=10)
    p.add_argument("--stall-secs", type=int, default=10)
    p.add_argument("--tls", action="store_true", help="HTTPS/WSS: serve --tls, CA via SSL_CERT_FILE")
    args = p.parse_args()

    server = Server(args.server, args.tls)
    if server.ca_file:
        # OpenSSL reads it when a context loads the default verify paths.
        os.environ["SSL_CERT_FILE"] = server.ca_file
    counters = Counters()
    result = {"client": None, "events": args.events, "tls": args.tls}
    code = 0
    try:
        (run_v1 if args.sdk == "v1" else run_v2)(args, server, counters, result)
    except Exception as e:
        print(f"python_rtm: {type(e).__name__}: {e}", file=sys.stderr)
        result["error"] = str(e)
        code = 1
    finally:
        server.close()
    print("RESULT " + json.dumps(result), flush=True)
    # Library threads (v2's runners, aiohttp's) must not keep the process alive.
    os._exit(code)


if __name__ == "__main__":
    main()
