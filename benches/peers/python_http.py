#!/usr/bin/env python3
"""The HTTP-mode benchmark app for Bolt for Python (benches/http.sh; BENCHMARKS.md, "HTTP mode").

    SLACK_SIGNING_SECRET=... python3 python_http.py

Bolt's own development server (`app.start`, http.server), request verification on (the
default), a local `authorize` (no Web API call), and the listeners every app of this benchmark
has: `app_mention` (does nothing) and `/bench` (acks, then sleeps 1 s). Prints `PORT=<n>` once
listening; exits when stdin closes.
"""

import os
import socket
import sys
import threading
import time

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult


def authorize(enterprise_id, team_id, logger):
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-bench",
        bot_id="B0FAKEBOT1",
        bot_user_id="U0FAKEBOT1",
    )


app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], authorize=authorize)


@app.event("app_mention")
def mention(event):
    pass


@app.command("/bench")
def bench(ack):
    ack()
    time.sleep(float(os.environ.get("BENCH_SLEEP_S", "1")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exit_on_eof():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_on_eof, daemon=True).start()
port = free_port()
print(f"PORT={port}", flush=True)
app.start(port=port, path="/slack/events")
