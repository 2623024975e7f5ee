//! [`Ctx`], what a listener gets: the request, who the App is for it, the clients to answer
//! with, and the ack; plus typed views of the common payloads.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::ack::{Ack, AckCell};
use super::auth::Authorization;
use super::error::AppError;
use super::parse::{Incoming, Kind};
use super::request::AppResponse;
use crate::chat::ChatMessage;
use crate::web::{SlackResponse, WebClient};

/// A request as a listener (and a middleware) sees it. Owned, `Clone + Send + 'static`: move it
/// to another thread and ack, say or respond from there.
///
/// ```no_run
/// # use slack_rtm::app::{Ack, App};
/// # let app = App::builder().bot_token("xoxb-…").build().unwrap();
/// app.command("/deploy", |ctx| {
///     let cmd = ctx.command().unwrap_or_default();
///     ctx.ack_with(Ack::text(&format!("deploying {}…", cmd.text)))?;
///     // The ack is out: the slow part runs here, off the request path.
///     ctx.respond(serde_json::json!({"text": "deployed"}))?;
///     Ok(())
/// });
/// ```
#[derive(Clone)]
pub struct Ctx {
    req: Arc<Incoming>,
    shared: Arc<Shared>,
    matches: Arc<Vec<Option<String>>>,
}

struct Shared {
    auth: Authorization,
    client: WebClient,
    ack: Arc<AckCell>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("kind", &self.req.kind.name())
            .field("authorization", &self.shared.auth)
            .field("body", &self.req.body)
            .field("matches", &self.matches)
            .finish_non_exhaustive()
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The first of these JSON pointers that holds a non-empty string.
fn first<'a>(v: &'a Value, pointers: &[&str]) -> Option<&'a str> {
    pointers.iter().find_map(|p| str_at(v, p))
}

pub(crate) fn team_id(b: &Value) -> Option<&str> {
    first(
        b,
        &[
            "/team_id",
            "/team/id",
            "/user/team_id",
            "/view/team_id",
            "/event/team",
        ],
    )
}

pub(crate) fn enterprise_id(b: &Value) -> Option<&str> {
    first(
        b,
        &[
            "/enterprise_id",
            "/enterprise/id",
            "/authorizations/0/enterprise_id",
            "/user/enterprise_id",
        ],
    )
}

pub(crate) fn is_enterprise_install(b: &Value) -> bool {
    let flag = |v: Option<&Value>| match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    flag(b.get("is_enterprise_install"))
        || flag(b.pointer("/authorizations/0/is_enterprise_install"))
}

pub(crate) fn user_id(b: &Value) -> Option<&str> {
    first(
        b,
        &[
            "/user_id",
            "/user/id",
            "/event/user",
            "/event/user/id",
            "/event/message/user",
            "/event/previous_message/user",
        ],
    )
}

fn channel_id(b: &Value) -> Option<&str> {
    first(
        b,
        &[
            "/channel_id",
            "/channel/id",
            "/container/channel_id",
            "/event/channel",
            "/event/channel/id",
            "/event/item/channel",
            "/event/channel_id",
        ],
    )
}

fn thread_ts(b: &Value) -> Option<&str> {
    first(
        b,
        &[
            "/event/thread_ts",
            "/event/message/thread_ts",
            "/message/thread_ts",
            "/container/thread_ts",
        ],
    )
}

impl Ctx {
    pub(crate) fn new(
        req: Arc<Incoming>,
        auth: Authorization,
        client: WebClient,
        ack: Arc<AckCell>,
    ) -> Ctx {
        Ctx {
            req,
            shared: Arc::new(Shared { auth, client, ack }),
            matches: Arc::new(Vec::new()),
        }
    }

    /// The same request with a listener's regex captures.
    pub(crate) fn with_matches(&self, matches: Vec<Option<String>>) -> Ctx {
        Ctx {
            req: self.req.clone(),
            shared: self.shared.clone(),
            matches: Arc::new(matches),
        }
    }

    pub(crate) fn incoming(&self) -> &Incoming {
        &self.req
    }

    pub(crate) fn ack_cell(&self) -> &Arc<AckCell> {
        &self.shared.ack
    }

    /// The whole request body: the Events API JSON (`event_callback`), the interaction's
    /// payload, or a slash command's fields (a JSON object of strings).
    pub fn body(&self) -> &Value {
        &self.req.body
    }

    /// The payload, as Bolt defines it: the event for events, the first action for
    /// `block_actions`, the view for `view_submission` / `view_closed`, the whole body
    /// otherwise.
    pub fn payload(&self) -> &Value {
        super::listener::payload(&self.req)
    }

    /// The Events API event (`body.event`), for events.
    pub fn event(&self) -> Option<&Value> {
        match self.req.kind {
            Kind::Event => self.req.body.get("event"),
            _ => None,
        }
    }

    /// The slash command, for commands.
    pub fn command(&self) -> Option<SlashCommand<'_>> {
        (self.req.kind == Kind::Command).then(|| SlashCommand::new(&self.req.body))
    }

    /// The first action, for `block_actions`.
    pub fn action(&self) -> Option<BlockAction<'_>> {
        match self.req.kind {
            Kind::BlockActions => self.req.body.pointer("/actions/0").map(BlockAction::new),
            _ => None,
        }
    }

    /// The view, for `view_submission` and `view_closed`.
    pub fn view(&self) -> Option<ViewSubmission<'_>> {
        match self.req.kind {
            Kind::ViewSubmission | Kind::ViewClosed => {
                self.req.body.get("view").map(ViewSubmission::new)
            }
            _ => None,
        }
    }

    /// The workspace the request comes from.
    pub fn team_id(&self) -> Option<&str> {
        team_id(&self.req.body).or(self.shared.auth.team_id.as_deref())
    }

    /// The Enterprise Grid organization, if any.
    pub fn enterprise_id(&self) -> Option<&str> {
        enterprise_id(&self.req.body).or(self.shared.auth.enterprise_id.as_deref())
    }

    /// The user who acted: the event's `user`, the command's `user_id`, the interaction's
    /// `user.id`.
    pub fn user_id(&self) -> Option<&str> {
        user_id(&self.req.body)
    }

    /// The channel of the request, when there is one (`say` posts there).
    pub fn channel_id(&self) -> Option<&str> {
        channel_id(&self.req.body)
    }

    /// The thread the request belongs to (`thread_ts` of the event or of the clicked message).
    pub fn thread_ts(&self) -> Option<&str> {
        thread_ts(&self.req.body)
    }

    /// The bot's user id in this workspace (from `auth.test` or the `authorize` hook).
    pub fn bot_user_id(&self) -> Option<&str> {
        self.shared.auth.bot_user_id.as_deref()
    }

    /// The bot's `B…` id in this workspace.
    pub fn bot_id(&self) -> Option<&str> {
        self.shared.auth.bot_id.as_deref()
    }

    /// Who the App is for this request: tokens and ids.
    pub fn authorization(&self) -> &Authorization {
        &self.shared.auth
    }

    /// How many times Slack has retried this delivery (`X-Slack-Retry-Num`, Socket Mode's
    /// `retry_attempt`); `None` on a first delivery.
    pub fn retry_num(&self) -> Option<u32> {
        self.req.retry_num.filter(|n| *n > 0)
    }

    /// Why Slack retried (`http_timeout`, `timeout`, …).
    pub fn retry_reason(&self) -> Option<&str> {
        self.req.retry_reason.as_deref().filter(|r| !r.is_empty())
    }

    /// A `regex::Regex` matcher's captures (the groups, or the whole match when the regex has
    /// none); empty for other matchers.
    pub fn matches(&self) -> &[Option<String>] {
        &self.matches
    }

    /// The Web API client with the request's authorized token (the bot's, else the user's),
    /// and the App's network options. An App with neither a bot token nor an `authorize` hook
    /// has no token to give it: its calls then fail with `invalid_auth`.
    pub fn client(&self) -> &WebClient {
        &self.shared.client
    }

    /// Posts `text` to the request's channel with `chat.postMessage`.
    ///
    /// # Errors
    ///
    /// [`AppError::NoChannel`] when the request has no channel (a global shortcut, a modal
    /// submission); [`AppError::Web`] when the call fails.
    pub fn say(&self, text: &str) -> Result<SlackResponse, AppError> {
        self.say_with(ChatMessage::new("", text))
    }

    /// Posts `message` with `chat.postMessage`; an empty `channel` means the request's channel.
    ///
    /// ```no_run
    /// # use slack_rtm::{app::App, ChatMessage};
    /// # let app = App::builder().bot_token("xoxb-…").build().unwrap();
    /// app.event("app_mention", |ctx| {
    ///     let ts = ctx.event().and_then(|e| e["ts"].as_str()).unwrap_or_default();
    ///     ctx.say_with(ChatMessage::new("", "on it").thread_ts(ts))?;
    ///     Ok(())
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`say`](Ctx::say).
    pub fn say_with(&self, message: ChatMessage<'_>) -> Result<SlackResponse, AppError> {
        let mut message = message;
        if message.channel.is_empty() {
            message.channel = self.channel_id().ok_or(AppError::NoChannel)?;
        }
        Ok(self.shared.client.chat_post_message_with(&message)?)
    }

    /// Posts `message` (a JSON object: `text`, `blocks`, `response_type`, `replace_original`,
    /// `delete_original`, …) to the request's `response_url` (or the first of a modal's
    /// `response_urls`), without a token, through the App's proxy and TLS settings. A
    /// `response_url` works up to 5 times within 30 minutes.
    ///
    /// # Errors
    ///
    /// [`AppError::NoResponseUrl`] when the request has none; [`AppError::Web`] when the post
    /// fails.
    pub fn respond(&self, message: Value) -> Result<(), AppError> {
        let url = first(
            &self.req.body,
            &["/response_url", "/response_urls/0/response_url"],
        )
        .ok_or(AppError::NoResponseUrl)?;
        self.shared.client.post_response_url(url, &message)?;
        Ok(())
    }

    /// Acks the request now, bare. Needed only to ack before slow work: a listener that
    /// returns without acking is acked bare then. On an event (acked on arrival) it does
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`AppError::AckLate`] after the ack deadline, [`AppError::AlreadyAcked`] on a second
    /// ack.
    pub fn ack(&self) -> Result<(), AppError> {
        if self.req.kind.is_event() {
            return Ok(());
        }
        self.shared.ack.ack(AppResponse::ok())
    }

    /// Acks the request with an answer: a command's reply, a modal's `response_action`, an
    /// external select's options.
    ///
    /// # Errors
    ///
    /// As [`ack`](Ctx::ack); [`AppError::NotAckable`] on an event;
    /// [`AppError::AckRefused`] when the transport refuses it (the request stays pending).
    pub fn ack_with(&self, ack: Ack) -> Result<(), AppError> {
        if self.req.kind.is_event() {
            return Err(AppError::NotAckable);
        }
        self.shared.ack.ack(ack.into_response())
    }

    /// True once the request has been acked (by the listener, the App or the deadline).
    pub fn is_acked(&self) -> bool {
        self.shared.ack.acked_by().is_some()
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A slash command's fields ([`Ctx::command`]). Missing fields are empty strings; unknown ones
/// stay in `raw`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SlashCommand<'a> {
    /// `/deploy`.
    pub command: &'a str,
    /// What the user typed after the command.
    pub text: &'a str,
    /// Who ran it.
    pub user_id: &'a str,
    /// Where.
    pub channel_id: &'a str,
    /// The workspace.
    pub team_id: &'a str,
    /// Where [`Ctx::respond`] posts.
    pub response_url: &'a str,
    /// For `views.open` (valid for 3 s).
    pub trigger_id: &'a str,
    /// Every field (a JSON object of strings).
    pub raw: Option<&'a Value>,
}

impl<'a> SlashCommand<'a> {
    fn new(v: &'a Value) -> SlashCommand<'a> {
        SlashCommand {
            command: s(v, "command"),
            text: s(v, "text"),
            user_id: s(v, "user_id"),
            channel_id: s(v, "channel_id"),
            team_id: s(v, "team_id"),
            response_url: s(v, "response_url"),
            trigger_id: s(v, "trigger_id"),
            raw: Some(v),
        }
    }
}

/// The action of a `block_actions` request ([`Ctx::action`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct BlockAction<'a> {
    /// The element's `action_id`.
    pub action_id: &'a str,
    /// The block's `block_id`.
    pub block_id: &'a str,
    /// A button's `value`.
    pub value: Option<&'a str>,
    /// A select's `selected_option` (`{"text": …, "value": …}`).
    pub selected_option: Option<&'a Value>,
    /// The whole action.
    pub raw: Option<&'a Value>,
}

impl<'a> BlockAction<'a> {
    fn new(v: &'a Value) -> BlockAction<'a> {
        BlockAction {
            action_id: s(v, "action_id"),
            block_id: s(v, "block_id"),
            value: v.get("value").and_then(Value::as_str),
            selected_option: v.get("selected_option").filter(|o| o.is_object()),
            raw: Some(v),
        }
    }
}

/// The view of a `view_submission` (or `view_closed`) request ([`Ctx::view`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ViewSubmission<'a> {
    /// The modal's `callback_id`.
    pub callback_id: &'a str,
    /// What the App put in `private_metadata` when it opened the modal.
    pub private_metadata: &'a str,
    /// The view's `V…` id.
    pub id: &'a str,
    /// The whole view.
    pub raw: Option<&'a Value>,
}

impl<'a> ViewSubmission<'a> {
    fn new(v: &'a Value) -> ViewSubmission<'a> {
        ViewSubmission {
            callback_id: s(v, "callback_id"),
            private_metadata: s(v, "private_metadata"),
            id: s(v, "id"),
            raw: Some(v),
        }
    }

    /// The state of one input (`state.values[block_id][action_id]`), as Slack sent it.
    pub fn state(&self, block_id: &str, action_id: &str) -> Option<&'a Value> {
        self.raw?
            .get("state")?
            .get("values")?
            .get(block_id)?
            .get(action_id)
    }

    /// What the user entered in one input: a text input's `value`, or the `value` of a
    /// select's `selected_option`, or a picker's `selected_date` / `selected_time` /
    /// `selected_user` / `selected_channel` / `selected_conversation`.
    pub fn value(&self, block_id: &str, action_id: &str) -> Option<&'a str> {
        let state = self.state(block_id, action_id)?;
        state
            .get("value")
            .and_then(Value::as_str)
            .or_else(|| {
                state
                    .pointer("/selected_option/value")
                    .and_then(Value::as_str)
            })
            .or_else(|| {
                [
                    "selected_date",
                    "selected_time",
                    "selected_user",
                    "selected_channel",
                    "selected_conversation",
                ]
                .iter()
                .find_map(|k| state.get(*k).and_then(Value::as_str))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_come_from_every_shape() {
        let event = json!({"team_id": "T1", "event": {"type": "message", "user": "U1",
            "channel": "C1", "thread_ts": "1.2"}});
        assert_eq!(team_id(&event), Some("T1"));
        assert_eq!(user_id(&event), Some("U1"));
        assert_eq!(channel_id(&event), Some("C1"));
        assert_eq!(thread_ts(&event), Some("1.2"));
        let command = json!({"team_id": "T1", "user_id": "U2", "channel_id": "C2"});
        assert_eq!(user_id(&command), Some("U2"));
        assert_eq!(channel_id(&command), Some("C2"));
        let click = json!({"team": {"id": "T3"}, "user": {"id": "U3", "team_id": "T3"},
            "container": {"channel_id": "C3", "thread_ts": "9.9"}, "enterprise": null,
            "is_enterprise_install": false});
        assert_eq!(team_id(&click), Some("T3"));
        assert_eq!(user_id(&click), Some("U3"));
        assert_eq!(channel_id(&click), Some("C3"));
        assert_eq!(thread_ts(&click), Some("9.9"));
        assert_eq!(enterprise_id(&click), None);
        assert!(!is_enterprise_install(&click));
        let org = json!({"is_enterprise_install": "true", "enterprise": {"id": "E1"}});
        assert!(is_enterprise_install(&org));
        assert_eq!(enterprise_id(&org), Some("E1"));
        let modal = json!({"user": {"id": "U4"}, "view": {"team_id": "T4"}});
        assert_eq!(channel_id(&modal), None);
        assert_eq!(team_id(&modal), Some("T4"));
        let edited = json!({"event": {"type": "message", "subtype": "message_changed",
            "message": {"user": "U5"}, "channel": "C5"}});
        assert_eq!(user_id(&edited), Some("U5"));
        let created = json!({"event": {"type": "channel_created", "channel": {"id": "C6"}}});
        assert_eq!(channel_id(&created), Some("C6"));
    }

    #[test]
    fn typed_views_never_fail_on_unknown_or_missing_fields() {
        let raw = json!({"command": "/d", "text": "prod", "future_field": [1]});
        let c = SlashCommand::new(&raw);
        assert_eq!((c.command, c.text, c.user_id), ("/d", "prod", ""));
        assert_eq!(c.raw.unwrap()["future_field"], json!([1]));
        let a = json!({"action_id": "pick", "block_id": "b",
            "selected_option": {"value": "v1", "text": {"type": "plain_text", "text": "V"}}});
        let a = BlockAction::new(&a);
        assert_eq!(a.value, None);
        assert_eq!(a.selected_option.unwrap()["value"], "v1");
        let view = json!({"callback_id": "m", "private_metadata": "C1|1.2", "state": {"values": {
            "env": {"pick": {"type": "static_select", "selected_option": {"value": "prod"}}},
            "why": {"text": {"type": "plain_text_input", "value": "hotfix"}},
            "when": {"date": {"type": "datepicker", "selected_date": "2026-12-04"}},
            "empty": {"text": {"type": "plain_text_input", "value": null}}}}});
        let v = ViewSubmission::new(&view);
        assert_eq!(v.private_metadata, "C1|1.2");
        assert_eq!(v.value("env", "pick"), Some("prod"));
        assert_eq!(v.value("why", "text"), Some("hotfix"));
        assert_eq!(v.value("when", "date"), Some("2026-12-04"));
        assert_eq!(v.value("empty", "text"), None);
        assert_eq!(v.value("nope", "x"), None);
        assert_eq!(v.state("why", "text").unwrap()["type"], "plain_text_input");
    }
}
