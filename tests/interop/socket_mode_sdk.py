"""A tiny slack_sdk.socket_mode app (the builtin client), run by tests/interop_socket_mode.rs
against the embedded fake Slack: acks events bare and answers /deploy with a payload.
Runs until its stdin closes. Environment: SLACK_API_URL, SLACK_APP_TOKEN, SLACK_BOT_TOKEN."""
import os
import sys
import threading

from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient

_lock = threading.Lock()


def emit(line: str) -> None:
    """One whole line per call: listeners run on a thread pool."""
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def process(client: SocketModeClient, req: SocketModeRequest) -> None:
    if req.type == "events_api":
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
        emit(f"event {req.payload['event']['type']}")
    elif req.type == "slash_commands":
        answer = {"text": "deploying " + req.payload["text"]}
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=answer)
        )
        emit(f"command {req.payload['command']}")


web = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
client = SocketModeClient(app_token=os.environ["SLACK_APP_TOKEN"], web_client=web)
client.socket_mode_request_listeners.append(process)
client.connect()
emit("connected")
sys.stdin.read()
client.close()
emit("closed")
