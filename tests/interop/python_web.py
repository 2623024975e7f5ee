"""Slack's own Python WebClient (slack_sdk) against `slack-rtm serve`.

Run by cli/tests/interop_web.rs with SLACK_API_URL set to the fake's Web API and slack_sdk on
PYTHONPATH. Exits 0 when every flow works; an assertion error otherwise.
"""

import os
import sys

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

api_url = os.environ["SLACK_API_URL"]
client = WebClient(token="xoxb-interop-token", base_url=api_url, timeout=10)


def step(name):
    print(f"ok: {name}", flush=True)


me = client.auth_test()
assert me["user_id"] == "U0FAKEBOT1", me.data
step("auth.test")

channel = "C0FAKE0001"
posted = client.chat_postMessage(channel=channel, text="hello from python")
ts = posted["ts"]
assert posted["channel"] == channel, posted.data
step("chat.postMessage")

client.chat_update(channel=channel, ts=ts, text="hello, edited")
step("chat.update")

reply = client.chat_postMessage(channel=channel, text="in the thread", thread_ts=ts)
step("chat.postMessage in a thread")

history = client.conversations_history(channel=channel)
texts = [m["text"] for m in history["messages"]]
assert texts == ["hello, edited"], texts
step("conversations.history")

replies = client.conversations_replies(channel=channel, ts=ts)
texts = [m["text"] for m in replies["messages"]]
assert texts == ["hello, edited", "in the thread"], texts
step("conversations.replies")

client.reactions_add(channel=channel, timestamp=ts, name="tada")
got = client.reactions_get(channel=channel, timestamp=ts)
assert got["message"]["reactions"][0]["name"] == "tada", got.data
client.reactions_remove(channel=channel, timestamp=ts, name="tada")
try:
    client.reactions_remove(channel=channel, timestamp=ts, name="tada")
    raise AssertionError("a second remove must fail")
except SlackApiError as e:
    assert e.response["error"] == "no_reaction", e.response.data
step("reactions.add/get/remove")

names = []
for page in client.conversations_list(limit=2):
    names.extend(c["name"] for c in page["channels"])
assert names == ["general", "random", "dev", "ops", "bots"], names
users = []
for page in client.users_list(limit=2):
    users.extend(u["id"] for u in page["members"])
assert len(users) == 5, users
step("paginated conversations.list and users.list")

link = client.chat_getPermalink(channel=channel, message_ts=reply["ts"])
assert "/archives/C0FAKE0001/p" in link["permalink"], link.data
client.chat_delete(channel=channel, ts=reply["ts"])
step("chat.getPermalink and chat.delete")

upload = client.files_upload_v2(
    channel=channel,
    filename="notes.txt",
    content="some notes\n",
    title="Notes",
    initial_comment="the notes",
)
assert upload["file"]["title"] == "Notes", upload.data
assert upload["file"]["size"] == len("some notes\n"), upload.data
step("files_upload_v2")

modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
opened = client.views_open(trigger_id="123.456", view=modal)
view_id = opened["view"]["id"]
client.views_update(view_id=view_id, view=modal)
client.views_push(trigger_id="123.457", view=modal)
client.views_publish(user_id="U0FAKEUSR1", view={"type": "home", "blocks": []})
step("views.open/update/push/publish")

print("all flows passed", flush=True)
sys.exit(0)
