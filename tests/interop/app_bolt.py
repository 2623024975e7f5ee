"""The interop bot as a slack_bolt app in Socket Mode, run by cli/tests/interop_app.rs against
`slack-rtm serve`, which also runs the same bot written with slack_rtm::app::App and compares
what both answered: acks (with their payloads) and Web API calls. Runs until its stdin closes.
Environment: SLACK_API_URL, SLACK_APP_TOKEN, SLACK_BOT_TOKEN."""
import os
import sys

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.web import WebClient

token = os.environ["SLACK_BOT_TOKEN"]
app = App(token=token, client=WebClient(token=token, base_url=os.environ["SLACK_API_URL"]))


@app.message("hello")
def hello(message, say):
    # The echo of this reply contains "hello" too: Bolt ignores the bot's own messages.
    say(f"hello <@{message['user']}>!")


@app.event("app_mention")
def mention(event, say):
    say(text=f"Hi <@{event['user']}>", thread_ts=event["ts"])


@app.command("/deploy")
def deploy(ack, command):
    ack(response_type="ephemeral", text=f"Deploying {command['text'] or 'staging'}")


@app.action("approve")
def approve(ack, body, say):
    ack()
    say(f"<@{body['user']['id']}> approved {body['actions'][0]['value']}")


@app.view("deploy_modal")
def submit(ack, view):
    env = view["state"]["values"]["env"]["env_input"]["value"]
    if env in ("prod", "staging"):
        ack()
    else:
        ack(response_action="errors", errors={"env": "prod or staging"})


handler = SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"])
handler.connect()
print("connected", flush=True)
sys.stdin.read()
handler.close()
print("closed", flush=True)
