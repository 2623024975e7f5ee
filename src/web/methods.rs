//! Typed helpers for the methods bots use most. Each is [`WebClient::api_call`] with the
//! method's required arguments named; every other argument goes through `api_call` (or, for
//! the list methods, the `params` they take).

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{to_params, Pages, SlackResponse, WebClient};
use crate::chat::ChatMessage;
use crate::error::Error;

impl WebClient {
    /// `chat.postMessage` with a channel and a text.
    pub fn chat_post_message(&self, channel: &str, text: &str) -> Result<SlackResponse, Error> {
        self.chat_post_message_with(&ChatMessage::new(channel, text))
    }

    /// `chat.postMessage` with every option of [`ChatMessage`] (thread, broadcast, blocks),
    /// sent as JSON.
    pub fn chat_post_message_with(&self, msg: &ChatMessage<'_>) -> Result<SlackResponse, Error> {
        self.api_call("chat.postMessage", &msg.params())
    }

    /// `chat.update`: replaces the text of the message `ts` in `channel`.
    pub fn chat_update(&self, channel: &str, ts: &str, text: &str) -> Result<SlackResponse, Error> {
        self.api_call(
            "chat.update",
            &json!({"channel": channel, "ts": ts, "text": text}),
        )
    }

    /// `chat.delete`: deletes the message `ts` in `channel`.
    pub fn chat_delete(&self, channel: &str, ts: &str) -> Result<SlackResponse, Error> {
        self.api_call("chat.delete", &json!({"channel": channel, "ts": ts}))
    }

    /// `chat.postEphemeral`: a message only `user` sees, in `channel`.
    pub fn chat_post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<SlackResponse, Error> {
        self.api_call(
            "chat.postEphemeral",
            &json!({"channel": channel, "user": user, "text": text}),
        )
    }

    /// `chat.getPermalink`: the `permalink` of the message `message_ts` in `channel`.
    pub fn chat_get_permalink(
        &self,
        channel: &str,
        message_ts: &str,
    ) -> Result<SlackResponse, Error> {
        self.api_call(
            "chat.getPermalink",
            &json!({"channel": channel, "message_ts": message_ts}),
        )
    }

    /// `reactions.add`: reacts with the emoji `name` (without colons) to the message
    /// `timestamp` in `channel`.
    pub fn reactions_add(
        &self,
        channel: &str,
        timestamp: &str,
        name: &str,
    ) -> Result<SlackResponse, Error> {
        self.api_call(
            "reactions.add",
            &json!({"channel": channel, "timestamp": timestamp, "name": name}),
        )
    }

    /// `reactions.remove`: takes the reaction `name` back from the message `timestamp`.
    pub fn reactions_remove(
        &self,
        channel: &str,
        timestamp: &str,
        name: &str,
    ) -> Result<SlackResponse, Error> {
        self.api_call(
            "reactions.remove",
            &json!({"channel": channel, "timestamp": timestamp, "name": name}),
        )
    }

    /// `conversations.info` for `channel`.
    pub fn conversations_info(&self, channel: &str) -> Result<SlackResponse, Error> {
        self.api_call("conversations.info", &json!({"channel": channel}))
    }

    /// `conversations.open`: the DM (one user) or group DM (several) with `users`.
    pub fn conversations_open(&self, users: &[&str]) -> Result<SlackResponse, Error> {
        self.api_call("conversations.open", &json!({"users": users.join(",")}))
    }

    /// `conversations.join`: the bot joins the public channel `channel`.
    pub fn conversations_join(&self, channel: &str) -> Result<SlackResponse, Error> {
        self.api_call("conversations.join", &json!({"channel": channel}))
    }

    /// `users.info` for `user`.
    pub fn users_info(&self, user: &str) -> Result<SlackResponse, Error> {
        self.api_call("users.info", &json!({"user": user}))
    }

    /// `auth.test`: who the token belongs to (`user_id`, `team_id`, `url`, ...).
    pub fn auth_test(&self) -> Result<SlackResponse, Error> {
        self.api_call("auth.test", &Value::Null)
    }

    /// Every page of `conversations.list`; `params` adds options such as
    /// `{"types": "public_channel,private_channel", "limit": 200}` (or `&()` for none).
    pub fn conversations_list(&self, params: &(impl Serialize + ?Sized)) -> Pages<'_> {
        self.pages("conversations.list", Map::new(), params)
    }

    /// Every page of `conversations.history` of `channel`, newest first; `params` adds
    /// options such as `{"oldest": "1700000000.000000", "limit": 100}` (or `&()`).
    pub fn conversations_history(
        &self,
        channel: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Pages<'_> {
        self.pages(
            "conversations.history",
            fields(&[("channel", channel)]),
            params,
        )
    }

    /// Every page of `conversations.replies`: the thread of the message `ts` in `channel`
    /// (the parent first); `params` adds options (or `&()`).
    pub fn conversations_replies(
        &self,
        channel: &str,
        ts: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Pages<'_> {
        self.pages(
            "conversations.replies",
            fields(&[("channel", channel), ("ts", ts)]),
            params,
        )
    }

    /// Every page of `conversations.members` of `channel`; `params` adds options (or `&()`).
    pub fn conversations_members(
        &self,
        channel: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Pages<'_> {
        self.pages(
            "conversations.members",
            fields(&[("channel", channel)]),
            params,
        )
    }

    /// Every page of `users.list`; `params` adds options such as `{"limit": 200}` (or `&()`).
    pub fn users_list(&self, params: &(impl Serialize + ?Sized)) -> Pages<'_> {
        self.pages("users.list", Map::new(), params)
    }

    /// `views.open`: opens the modal `view` (a JSON object, or any `Serialize` value) for the
    /// interaction `trigger_id`.
    pub fn views_open(
        &self,
        trigger_id: &str,
        view: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        self.view_call("views.open", "trigger_id", trigger_id, view)
    }

    /// `views.push`: pushes `view` onto the modal stack of the interaction `trigger_id`.
    pub fn views_push(
        &self,
        trigger_id: &str,
        view: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        self.view_call("views.push", "trigger_id", trigger_id, view)
    }

    /// `views.publish`: publishes `view` as the App Home of `user_id`.
    pub fn views_publish(
        &self,
        user_id: &str,
        view: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        self.view_call("views.publish", "user_id", user_id, view)
    }

    /// `views.update`: replaces the view `view_id` with `view`.
    pub fn views_update(
        &self,
        view_id: &str,
        view: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        self.view_call("views.update", "view_id", view_id, view)
    }

    fn view_call(
        &self,
        method: &str,
        key: &str,
        id: &str,
        view: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        let view = to_params(method, view)?;
        let mut params = Map::new();
        params.insert(key.into(), id.into());
        params.insert("view".into(), view);
        self.api_call(method, &params)
    }

    /// The pages of `method` with `required` arguments over `params`.
    fn pages(
        &self,
        method: &'static str,
        required: Map<String, Value>,
        params: &(impl Serialize + ?Sized),
    ) -> Pages<'_> {
        let merged = to_params(method, params).map(|extra| {
            let mut all = match extra {
                Value::Object(map) => map,
                // `null` adds nothing; other shapes are refused by `Pages`.
                Value::Null => Map::new(),
                other => return other,
            };
            all.extend(required);
            Value::Object(all)
        });
        Pages::new(self, method, merged)
    }
}

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::from(*v)))
        .collect()
}
