"""A Bolt for Python app in HTTP mode (Bolt's own `app.start` server), run by
tests/interop_http.rs and driven by the fake Slack's HTTP delivery (what `slack-rtm serve
--deliver` sends). Prints `PORT=<n>` once listening, then one line per listener that ran;
exits when stdin closes. Environment: SLACK_SIGNING_SECRET."""
import os
import socket
import sys
import threading

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult

_lock = threading.Lock()


def emit(line):
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def authorize(enterprise_id, team_id, logger):
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-interop",
        bot_id="B0FAKEBOT1",
        bot_user_id="U0FAKEBOT1",
    )


app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], authorize=authorize)


@app.event("app_mention")
def mention(event):
    emit("event app_mention " + event["text"])


@app.command("/deploy")
def deploy(ack, command):
    ack(f"deploying {command['text']}")
    emit("command /deploy " + command["text"])


@app.action("approve")
def approve(ack, action):
    ack()
    emit("action approve " + action["value"])


@app.view("deploy_modal")
def modal(ack):
    ack(response_action="errors", errors={"env": "pick one"})
    emit("view deploy_modal")


def exit_on_eof():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_on_eof, daemon=True).start()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
emit(f"PORT={port}")
app.start(port=port, path="/slack/events")
