//! The fake's App facet (SPEC §10 Testing): delivery helpers that take the payload's shape and
//! return what was delivered, the response URLs they hand out (served and recorded), the
//! trigger ids `views.open` checks, the bot's own posts echoed to Socket Mode apps, and the
//! fake's ids as public constants.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::state::Shared;
use super::FakeSlack;

/// The fake workspace's `team_id` (unless [`FakeSlackBuilder::team`](super::FakeSlackBuilder::team) changes it).
pub const FAKE_TEAM_ID: &str = "T0FAKE0001";
/// The bot's user id (unless [`FakeSlackBuilder::bot_user`](super::FakeSlackBuilder::bot_user)
/// changes it); `auth.test` answers it as `user_id`.
pub const FAKE_BOT_USER_ID: &str = "U0FAKEBOT1";
/// The bot's `bot_id` (in `auth.test` and in the bot's own messages).
pub const FAKE_BOT_ID: &str = "B0FAKEBOT1";
/// The app's id (`api_app_id`).
pub const FAKE_APP_ID: &str = "A0FAKEAPP1";
/// The person who sends messages, runs commands and clicks, unless a delivery names another.
pub const FAKE_USER_ID: &str = "U0FAKEUSR1";
/// `#general`, where deliveries happen unless they name another channel.
pub const FAKE_CHANNEL_ID: &str = "C0FAKE0001";
/// How long a trigger id works for `views.open` / `views.push` (Slack's 3 s).
pub const TRIGGER_TTL: Duration = Duration::from_secs(3);

const VERIFICATION_TOKEN: &str = "fakeVerificationToken";

/// What to deliver: a slash command, a click, a modal submission, a shortcut, an options
/// request, a message or any event, shaped as Slack sends it. Unset fields take the fake's
/// defaults ([`FAKE_USER_ID`] in [`FAKE_CHANNEL_ID`]).
///
/// ```
/// use serde_json::json;
/// use slack_rtm::testing::Delivery;
/// let submit = Delivery::view_submission("deploy_modal")
///     .private_metadata("C0FAKE0001")
///     .state("env_block", "env", json!({"type": "static_select",
///         "selected_option": {"value": "prod", "text": {"type": "plain_text", "text": "prod"}}}));
/// # let _ = submit;
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Delivery does nothing until passed to FakeSlack::deliver"]
pub struct Delivery {
    kind: DeliveryKind,
    id: String,
    text: String,
    user: Option<String>,
    channel: Option<String>,
    thread_ts: Option<String>,
    block_id: Option<String>,
    value: Option<String>,
    action: Option<Value>,
    private_metadata: String,
    state: Map<String, Value>,
    event: Option<Value>,
    message_ts: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeliveryKind {
    Command,
    Action,
    ViewSubmission,
    ViewClosed,
    GlobalShortcut,
    MessageShortcut,
    Options,
    Message,
    Event,
}

impl Delivery {
    fn new(kind: DeliveryKind, id: &str) -> Delivery {
        Delivery {
            kind,
            id: id.to_owned(),
            text: String::new(),
            user: None,
            channel: None,
            thread_ts: None,
            block_id: None,
            value: None,
            action: None,
            private_metadata: String::new(),
            state: Map::new(),
            event: None,
            message_ts: None,
        }
    }

    /// A slash command (`/deploy`) with its text.
    pub fn command(command: &str, text: &str) -> Delivery {
        let mut d = Delivery::new(DeliveryKind::Command, command);
        d.text = text.to_owned();
        d
    }

    /// A click on a button with this `action_id` (in a message of the bot's), as
    /// `block_actions`.
    pub fn action(action_id: &str) -> Delivery {
        Delivery::new(DeliveryKind::Action, action_id)
    }

    /// A modal with this `callback_id`, submitted.
    pub fn view_submission(callback_id: &str) -> Delivery {
        Delivery::new(DeliveryKind::ViewSubmission, callback_id)
    }

    /// A modal with this `callback_id`, closed (`view_closed`).
    pub fn view_closed(callback_id: &str) -> Delivery {
        Delivery::new(DeliveryKind::ViewClosed, callback_id)
    }

    /// A global shortcut (`shortcut`) with this `callback_id`.
    pub fn global_shortcut(callback_id: &str) -> Delivery {
        Delivery::new(DeliveryKind::GlobalShortcut, callback_id)
    }

    /// A message shortcut (`message_action`) with this `callback_id`, on a message.
    pub fn message_shortcut(callback_id: &str) -> Delivery {
        Delivery::new(DeliveryKind::MessageShortcut, callback_id)
    }

    /// An external select's options request (`block_suggestion`) for this `action_id`, with
    /// what the user typed ([`value`](Delivery::value)).
    pub fn options(action_id: &str) -> Delivery {
        Delivery::new(DeliveryKind::Options, action_id)
    }

    /// A `message` event with this text (from [`FAKE_USER_ID`], in [`FAKE_CHANNEL_ID`]).
    pub fn message(text: &str) -> Delivery {
        let mut d = Delivery::new(DeliveryKind::Message, "message");
        d.text = text.to_owned();
        d
    }

    /// Any Events API event, as given (`{"type": "app_mention", …}`).
    pub fn event(event: Value) -> Delivery {
        let mut d = Delivery::new(DeliveryKind::Event, "");
        d.event = Some(event);
        d
    }

    /// Who acts. Defaults to [`FAKE_USER_ID`].
    pub fn user(mut self, user_id: &str) -> Self {
        self.user = Some(user_id.to_owned());
        self
    }

    /// Where. Defaults to [`FAKE_CHANNEL_ID`].
    pub fn channel(mut self, channel_id: &str) -> Self {
        self.channel = Some(channel_id.to_owned());
        self
    }

    /// A message (or the clicked message) in the thread of `ts`.
    pub fn thread_ts(mut self, ts: &str) -> Self {
        self.thread_ts = Some(ts.to_owned());
        self
    }

    /// The block of a click or an options request. Defaults to `fake-block`.
    pub fn block_id(mut self, block_id: &str) -> Self {
        self.block_id = Some(block_id.to_owned());
        self
    }

    /// A button's `value`; for an options request, what the user typed.
    pub fn value(mut self, value: &str) -> Self {
        self.value = Some(value.to_owned());
        self
    }

    /// The whole action object of a click (replaces the button the fake makes; `action_id`
    /// and `block_id` are filled in when missing): a select with `selected_option`, say.
    pub fn action_json(mut self, action: Value) -> Self {
        self.action = Some(action);
        self
    }

    /// The modal's `private_metadata`.
    pub fn private_metadata(mut self, metadata: &str) -> Self {
        self.private_metadata = metadata.to_owned();
        self
    }

    /// One input's state in a submitted modal: `state.values[block_id][action_id] = value`.
    pub fn state(mut self, block_id: &str, action_id: &str, value: Value) -> Self {
        let block = self
            .state
            .entry(block_id.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(b) = block.as_object_mut() {
            b.insert(action_id.to_owned(), value);
        }
        self
    }

    /// The `ts` of the message a click or a message shortcut comes from.
    pub fn message_ts(mut self, ts: &str) -> Self {
        self.message_ts = Some(ts.to_owned());
        self
    }
}

/// What the fake delivered (or built, with [`FakeSlack::payload`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Delivered {
    /// The Socket Mode envelope id (empty for [`FakeSlack::payload`]).
    pub envelope_id: String,
    /// The envelope type: `events_api`, `slash_commands` or `interactive`.
    pub envelope_type: String,
    /// Whether the envelope accepts a response payload.
    pub accepts_response_payload: bool,
    /// The payload, as Slack sends it.
    pub payload: Value,
    /// The `response_url` (served by the fake; [`FakeSlack::response_url_posts`]).
    pub response_url: Option<String>,
    /// The `trigger_id` (valid for `views.open` for 3 s).
    pub trigger_id: Option<String>,
    /// The Events API `event_id`.
    pub event_id: Option<String>,
    /// The modal's view id.
    pub view_id: Option<String>,
    /// The `ts` of the message (sent, clicked or shortcut).
    pub message_ts: Option<String>,
}

impl Delivered {
    /// The payload as Slack POSTs it over HTTP: the headers (`Content-Type`) and the body —
    /// JSON for events, form fields for slash commands, a form with one `payload` field for
    /// interactivity. Unsigned (add `X-Slack-Signature` yourself when the App has a secret).
    pub fn http_parts(&self) -> (Vec<(String, String)>, Vec<u8>) {
        let form = "application/x-www-form-urlencoded";
        let (content_type, body) = match self.envelope_type.as_str() {
            "events_api" => ("application/json", self.payload.to_string()),
            // Exactly the bytes `serve --deliver` and `http_delivery` send.
            "slash_commands" => (form, super::deliver::command_form(&self.payload)),
            _ => (form, super::deliver::interactive_body(&self.payload)),
        };
        (
            vec![("Content-Type".to_owned(), content_type.to_owned())],
            body.into_bytes(),
        )
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1_700_000_000, |d| d.as_secs())
}

fn fresh_id(prefix: &str) -> String {
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut m = rand::random::<u64>();
    let mut id = String::from(prefix);
    for _ in 0..10 {
        id.push(char::from(alphabet[usize::try_from(m % 36).unwrap_or(0)]));
        m /= 36;
    }
    id
}

/// The Events API body (`event_callback`) around `event`, as Slack wraps it.
pub(crate) fn event_callback(shared: &Shared, event: Value, event_id: &str) -> Value {
    let c = &shared.config;
    json!({
        "token": VERIFICATION_TOKEN,
        "team_id": c.team_id,
        "context_team_id": c.team_id,
        "context_enterprise_id": null,
        "api_app_id": FAKE_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now_secs(),
        "authorizations": [{
            "enterprise_id": null,
            "team_id": c.team_id,
            "user_id": c.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-fake-{:016x}", rand::random::<u64>()),
    })
}

/// A message the bot posted comes back to Socket Mode apps as an event, as Slack does.
pub(crate) fn echo_to_socket_mode(shared: &Shared, event: Value) {
    let payload = event_callback(shared, event, &fresh_id("Ev"));
    super::socket_mode::push_event_envelope(shared, payload);
}

/// `views.open` / `views.push`: the trigger id must be one the fake issued, within 3 s.
pub(crate) fn check_trigger(shared: &Shared, trigger_id: Option<&str>) -> Option<&'static str> {
    let state = shared.lock();
    if !state.app.check_triggers {
        return None;
    }
    match trigger_id.and_then(|t| state.app.triggers.get(t)) {
        None => Some("invalid_trigger_id"),
        Some(at) if at.elapsed() > TRIGGER_TTL => Some("expired_trigger_id"),
        Some(_) => None,
    }
}

impl FakeSlack {
    fn issue_trigger(&self) -> String {
        let id = format!(
            "{}.{}.{:032x}",
            rand::random::<u32>(),
            rand::random::<u32>(),
            rand::random::<u128>()
        );
        let mut state = self.shared.lock();
        state
            .app
            .triggers
            .retain(|_, at| at.elapsed() <= TRIGGER_TTL);
        state.app.triggers.insert(id.clone(), Instant::now());
        id
    }

    fn issue_response_url(&self, what: &str) -> String {
        let c = &self.shared.config;
        let path = format!("/{what}/{}/{:016x}", c.team_id, rand::random::<u64>());
        let scheme = if c.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", c.addr)
    }

    /// Builds what Slack would send for `delivery` (issuing its trigger id and response URL)
    /// without sending it: for [`App::dispatch`](crate::app::App::dispatch)-style tests, with
    /// [`Delivered::http_parts`].
    pub fn payload(&self, delivery: &Delivery) -> Delivered {
        let c = &self.shared.config;
        let user = delivery.user.as_deref().unwrap_or(FAKE_USER_ID).to_owned();
        let channel = delivery
            .channel
            .as_deref()
            .unwrap_or(FAKE_CHANNEL_ID)
            .to_owned();
        let team = json!({"id": c.team_id, "domain": c.team_domain});
        let user_json =
            json!({"id": user, "username": "alice", "name": "alice", "team_id": c.team_id});
        let ts = || self.shared.next_ts();
        let mut out = Delivered {
            envelope_id: String::new(),
            envelope_type: "interactive".into(),
            accepts_response_payload: true,
            payload: Value::Null,
            response_url: None,
            trigger_id: None,
            event_id: None,
            view_id: None,
            message_ts: None,
        };
        match delivery.kind {
            DeliveryKind::Command => {
                let response_url = self.issue_response_url("commands");
                let trigger = self.issue_trigger();
                out.envelope_type = "slash_commands".into();
                out.payload = json!({
                    "token": VERIFICATION_TOKEN,
                    "team_id": c.team_id,
                    "team_domain": c.team_domain,
                    "channel_id": channel,
                    "channel_name": "general",
                    "user_id": user,
                    "user_name": "alice",
                    "command": delivery.id,
                    "text": delivery.text,
                    "api_app_id": FAKE_APP_ID,
                    "is_enterprise_install": "false",
                    "response_url": response_url,
                    "trigger_id": trigger,
                });
                out.response_url = Some(response_url);
                out.trigger_id = Some(trigger);
            }
            DeliveryKind::Action => {
                let response_url = self.issue_response_url("actions");
                let trigger = self.issue_trigger();
                let message_ts = delivery.message_ts.clone().unwrap_or_else(ts);
                let block_id = delivery.block_id.as_deref().unwrap_or("fake-block");
                let mut action = delivery.action.clone().unwrap_or_else(|| {
                    json!({
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Click", "emoji": true},
                        "value": delivery.value.as_deref().unwrap_or(""),
                    })
                });
                if let Some(a) = action.as_object_mut() {
                    a.entry("action_id").or_insert_with(|| json!(delivery.id));
                    a.entry("block_id").or_insert_with(|| json!(block_id));
                    a.entry("action_ts").or_insert_with(|| json!(ts()));
                }
                let mut container = json!({
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel,
                    "is_ephemeral": false,
                });
                let mut message = json!({
                    "type": "message",
                    "user": c.bot_user_id,
                    "bot_id": FAKE_BOT_ID,
                    "ts": message_ts,
                    "text": "Click the button",
                });
                if let Some(thread) = &delivery.thread_ts {
                    container["thread_ts"] = json!(thread);
                    message["thread_ts"] = json!(thread);
                }
                out.payload = json!({
                    "type": "block_actions",
                    "user": user_json,
                    "api_app_id": FAKE_APP_ID,
                    "token": VERIFICATION_TOKEN,
                    "container": container,
                    "trigger_id": trigger,
                    "team": team,
                    "enterprise": null,
                    "is_enterprise_install": false,
                    "channel": {"id": channel, "name": "general"},
                    "message": message,
                    "state": {"values": {}},
                    "response_url": response_url,
                    "actions": [action],
                });
                out.response_url = Some(response_url);
                out.trigger_id = Some(trigger);
                out.message_ts = Some(message_ts);
            }
            DeliveryKind::ViewSubmission | DeliveryKind::ViewClosed => {
                let trigger = self.issue_trigger();
                let view_id = fresh_id("V");
                let kind = if delivery.kind == DeliveryKind::ViewClosed {
                    out.accepts_response_payload = false;
                    "view_closed"
                } else {
                    "view_submission"
                };
                out.payload = json!({
                    "type": kind,
                    "team": team,
                    "user": user_json,
                    "api_app_id": FAKE_APP_ID,
                    "token": VERIFICATION_TOKEN,
                    "trigger_id": trigger,
                    "view": {
                        "id": view_id,
                        "team_id": c.team_id,
                        "type": "modal",
                        "callback_id": delivery.id,
                        "private_metadata": delivery.private_metadata,
                        "title": {"type": "plain_text", "text": "Fake modal"},
                        "blocks": [],
                        "state": {"values": Value::Object(delivery.state.clone())},
                        "hash": format!("{}.{:08x}", now_secs(), rand::random::<u32>()),
                        "app_id": FAKE_APP_ID,
                        "bot_id": FAKE_BOT_ID,
                    },
                    "response_urls": [],
                    "is_enterprise_install": false,
                    "enterprise": null,
                });
                if kind == "view_closed" {
                    out.payload["is_cleared"] = json!(false);
                }
                out.trigger_id = Some(trigger);
                out.view_id = Some(view_id);
            }
            DeliveryKind::GlobalShortcut => {
                let trigger = self.issue_trigger();
                out.accepts_response_payload = false;
                out.payload = json!({
                    "type": "shortcut",
                    "token": VERIFICATION_TOKEN,
                    "action_ts": ts(),
                    "team": team,
                    "user": user_json,
                    "is_enterprise_install": false,
                    "enterprise": null,
                    "callback_id": delivery.id,
                    "trigger_id": trigger,
                });
                out.trigger_id = Some(trigger);
            }
            DeliveryKind::MessageShortcut => {
                let trigger = self.issue_trigger();
                let response_url = self.issue_response_url("actions");
                let message_ts = delivery.message_ts.clone().unwrap_or_else(ts);
                out.accepts_response_payload = false;
                out.payload = json!({
                    "type": "message_action",
                    "token": VERIFICATION_TOKEN,
                    "action_ts": ts(),
                    "team": team,
                    "user": user_json,
                    "channel": {"id": channel, "name": "general"},
                    "is_enterprise_install": false,
                    "enterprise": null,
                    "callback_id": delivery.id,
                    "trigger_id": trigger,
                    "response_url": response_url,
                    "message_ts": message_ts,
                    "message": {"type": "message", "user": user, "ts": message_ts,
                                "text": delivery.text},
                });
                out.trigger_id = Some(trigger);
                out.response_url = Some(response_url);
                out.message_ts = Some(message_ts);
            }
            DeliveryKind::Options => {
                out.payload = json!({
                    "type": "block_suggestion",
                    "user": user_json,
                    "container": {"type": "message", "message_ts": ts(), "channel_id": channel},
                    "api_app_id": FAKE_APP_ID,
                    "token": VERIFICATION_TOKEN,
                    "action_id": delivery.id,
                    "block_id": delivery.block_id.as_deref().unwrap_or("fake-block"),
                    "value": delivery.value.as_deref().unwrap_or(""),
                    "team": team,
                    "channel": {"id": channel, "name": "general"},
                    "enterprise": null,
                    "is_enterprise_install": false,
                });
            }
            DeliveryKind::Message | DeliveryKind::Event => {
                let event = match (&delivery.event, delivery.kind) {
                    (Some(e), _) => e.clone(),
                    _ => {
                        let ts = ts();
                        let mut e = json!({
                            "client_msg_id": random_client_msg_id(),
                            "type": "message",
                            "text": delivery.text,
                            "user": user,
                            "ts": ts,
                            "team": c.team_id,
                            "channel": channel,
                            "event_ts": ts,
                            "channel_type": "channel",
                        });
                        if let Some(thread) = &delivery.thread_ts {
                            e["thread_ts"] = json!(thread);
                        }
                        out.message_ts = Some(ts);
                        e
                    }
                };
                let event_id = fresh_id("Ev");
                out.envelope_type = "events_api".into();
                out.accepts_response_payload = false;
                out.payload = event_callback(&self.shared, event, &event_id);
                out.event_id = Some(event_id);
            }
        }
        out
    }

    /// Delivers `delivery` to the Socket Mode app (one ready socket, as
    /// [`send_envelope`](FakeSlack::send_envelope)) and returns what was delivered: its
    /// `envelope_id`, `response_url`, `trigger_id`, ids.
    ///
    /// ```no_run
    /// # use slack_rtm::testing::{Delivery, FakeSlack};
    /// # let fake = FakeSlack::start()?;
    /// let sent = fake.deliver(&Delivery::command("/deploy", "prod"));
    /// let ack = fake.wait_for_socket_ack(&sent.envelope_id, std::time::Duration::from_secs(5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn deliver(&self, delivery: &Delivery) -> Delivered {
        let mut out = self.payload(delivery);
        out.envelope_id = self.send_envelope(
            &out.envelope_type,
            out.payload.clone(),
            out.accepts_response_payload,
        );
        out
    }

    /// Whether `views.open` / `views.push` check their `trigger_id` (issued by a delivery,
    /// at most 3 s old; else `invalid_trigger_id` / `expired_trigger_id`). Default `true`.
    pub fn set_check_trigger_ids(&self, yes: bool) {
        self.shared.lock().app.check_triggers = yes;
    }
}

fn random_client_msg_id() -> String {
    let n = rand::random::<u128>();
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
