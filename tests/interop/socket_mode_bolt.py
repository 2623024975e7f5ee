"""A tiny slack_bolt app in Socket Mode, run by tests/interop_socket_mode.rs against the
embedded fake Slack: answers app_mention through the Web API (say) and /deploy with an ack
payload. Runs until its stdin closes. Environment: SLACK_API_URL, SLACK_APP_TOKEN,
SLACK_BOT_TOKEN."""
import os
import sys

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.web import WebClient

token = os.environ["SLACK_BOT_TOKEN"]
app = App(token=token, client=WebClient(token=token, base_url=os.environ["SLACK_API_URL"]))


@app.event("app_mention")
def mention(event, say):
    say(text="hi from bolt", thread_ts=event["ts"])
    print("event", event["type"], flush=True)


@app.command("/deploy")
def deploy(ack, command):
    ack("deploying " + command["text"])
    print("command", command["command"], flush=True)


handler = SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"])
handler.connect()
print("connected", flush=True)
sys.stdin.read()
handler.close()
print("closed", flush=True)
