"""A tiny slack_bolt app in Socket Mode, run by tests/interop_socket_mode.rs against the
embedded fake Slack: answers app_mention through the Web API (say) and /deploy with an ack
payload. Runs until its stdin closes. Environment: SLACK_API_URL, SLACK_APP_TOKEN,
SLACK_BOT_TOKEN."""
import os
import sys
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.web import WebClient


_lock = threading.Lock()


def emit(line: str) -> None:
    """One whole line per call: listeners run on a thread pool."""
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


token = os.environ["SLACK_BOT_TOKEN"]
app = App(token=token, client=WebClient(token=token, base_url=os.environ["SLACK_API_URL"]))


@app.event("app_mention")
def mention(event, say):
    say(text="hi from bolt", thread_ts=event["ts"])
    emit(f"event {event['type']}")


@app.command("/deploy")
def deploy(ack, command):
    ack("deploying " + command["text"])
    emit(f"command {command['command']}")


handler = SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"])
handler.connect()
emit("connected")
sys.stdin.read()
handler.close()
emit("closed")
