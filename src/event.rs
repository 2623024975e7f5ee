//! Typed events: [`Event`] and the structs it carries.
//!
//! Handlers receive the raw JSON in [`Payload::data`](crate::Payload::data); call
//! [`Payload::as_event`](crate::Payload::as_event) to get the same event as an [`Event`]:
//!
//! ```no_run
//! use slack_rtm::event::{Event, MessageSubtype};
//! use slack_rtm::{Payload, RtmClient};
//!
//! # fn main() -> Result<(), slack_rtm::Error> {
//! let client = RtmClient::builder("xoxb-...").build()?;
//! client.on("*", |p: &Payload| match p.as_event() {
//!     Event::Message(m) if m.subtype.is_none() => {
//!         let who = m.user_id().unwrap_or("someone");
//!         println!("{who} said {:?}", m.text.as_deref().unwrap_or_default());
//!     }
//!     Event::Message(m) if m.subtype == Some(MessageSubtype::MessageChanged) => {
//!         let new_text = m.message.as_ref().and_then(|n| n.text.as_deref());
//!         println!("edited in {:?}: {new_text:?}", m.channel_id());
//!     }
//!     Event::ReactionAdded(r) => println!("{} reacted :{}:", r.user.id(), r.reaction),
//!     Event::Unknown(raw) => println!("not typed (yet): {raw}"),
//!     Event::Malformed { kind, error, .. } => eprintln!("odd {kind} event: {error}"),
//!     _ => {}
//! });
//! client.start()
//! # }
//! ```
//!
//! # Decoding rules
//!
//! - **No event is ever dropped.** [`Event::from_value`] never fails and never panics. A type
//!   this crate does not model becomes [`Event::Unknown`] with the whole JSON value; a known
//!   type whose fields do not have the documented shape (say `"text": 5`) becomes
//!   [`Event::Malformed`] with the type, the decode error and the whole JSON value.
//! - The name used is the one the dispatcher uses: the frame's string `type`; an object with
//!   `reply_to` and no string `type` is a [`Reply`]; any other object, and any JSON that is not
//!   an object, is [`Event::Unknown`].
//! - Optional fields are `Option` (or empty when absent); a present field with the wrong JSON
//!   type makes the event [`Event::Malformed`]. The fields an event cannot do without
//!   (`reply_to` of a reply, `user` and `item` of a reaction, `channel` of a `channel_*`
//!   event...) are required the same way.
//! - Every field named `channel` or `user` is an [`IdOrObject`]: Slack sends an id string in
//!   most events and an object in a few (`channel_created`, `im_created`, `team_join`,
//!   `user_change`, ...). Both decode, [`IdOrObject::id`] works for both, and the object is kept.
//! - Timestamps (`ts`, `event_ts`, `thread_ts`, `deleted_ts`) stay strings, exactly as sent.
//! - Messages nest in messages (`message_changed`'s `message`, `thread_broadcast`'s `root`,
//!   ...) at most 8 deep; deeper is [`Event::Malformed`]. Slack nests one or two levels; the
//!   limit keeps the decoder's stack use small whatever the frame.
//! - [`Message`] keeps every field it does not name in [`Message::extra`] (`attachments`,
//!   `blocks`, `files`, `icons`, `type`, ...). The other structs name the fields that matter;
//!   the rest of the JSON is always at hand in [`Payload::data`](crate::Payload::data).
//! - Through [`Payload::as_event`](crate::Payload::as_event), the client's pseudo-events
//!   decode too: `open` as [`Event::Open`], `close` as [`Event::Close`], and a client-side
//!   `error` as [`Event::ClientError`]. A server `{"type":"error"}` frame is [`Event::Error`].
//!
//! The structs implement `Deserialize` and `Serialize` (absent optional fields are left out
//! when serializing); [`Event`] implements `Deserialize` through [`Event::from_value`], so
//! `serde_json::from_str::<Event>(text)` fails only when `text` is not JSON.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A server frame or pseudo-event, typed. See the [module docs](self) for the decoding rules.
///
/// Get one from a handler with [`Payload::as_event`](crate::Payload::as_event), or from any
/// JSON value with [`Event::from_value`]. New variants may be added in minor releases: an
/// event that is [`Unknown`](Event::Unknown) today may get its own variant later.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `hello`: the connection is ready; always the first frame.
    Hello,
    /// `goodbye`: Slack is about to close the connection (the client reconnects).
    Goodbye,
    /// `error`: an error frame from Slack, `{"type":"error","error":{"code","msg"}}`.
    Error(RtmError),
    /// `pong`: the answer to a ping.
    Pong(Pong),
    /// An acknowledgement of a message the client sent (no `type`, a `reply_to`).
    Reply(Reply),
    /// `message`, with any subtype (see [`Message::subtype`]).
    Message(Box<Message>),
    /// `user_typing`: someone is typing in a channel.
    UserTyping(UserTyping),
    /// `presence_change`: one user's presence (`user`) or several users' (`users`).
    PresenceChange(PresenceChange),
    /// `manual_presence_change`: your own presence was set manually.
    ManualPresenceChange(ManualPresenceChange),
    /// `reaction_added`.
    ReactionAdded(Box<Reaction>),
    /// `reaction_removed`.
    ReactionRemoved(Box<Reaction>),
    /// `member_joined_channel`: a user joined a channel you are in.
    MemberJoinedChannel(ChannelMember),
    /// `member_left_channel`: a user left a channel you are in.
    MemberLeftChannel(ChannelMember),
    /// `channel_joined`: you joined a channel (`channel` is an object).
    ChannelJoined(ChannelEvent),
    /// `channel_left`: you left a channel.
    ChannelLeft(ChannelEvent),
    /// `channel_created` (`channel` is an object with `name`, `created`, `creator`).
    ChannelCreated(ChannelEvent),
    /// `channel_deleted`.
    ChannelDeleted(ChannelEvent),
    /// `channel_archive` (with the `user` who archived it).
    ChannelArchive(ChannelEvent),
    /// `channel_unarchive` (with the `user` who unarchived it).
    ChannelUnarchive(ChannelEvent),
    /// `channel_rename` (`channel` is an object with the new `name`).
    ChannelRename(ChannelEvent),
    /// `channel_marked`: your read cursor moved to `ts`.
    ChannelMarked(ChannelEvent),
    /// `group_joined`: you joined a private channel (`channel` is an object).
    GroupJoined(ChannelEvent),
    /// `group_left`: you left a private channel.
    GroupLeft(ChannelEvent),
    /// `group_open`: you opened a private channel.
    GroupOpen(ChannelEvent),
    /// `group_close`: you closed a private channel.
    GroupClose(ChannelEvent),
    /// `group_deleted`.
    GroupDeleted(ChannelEvent),
    /// `group_rename` (`channel` is an object with the new `name`).
    GroupRename(ChannelEvent),
    /// `group_archive`.
    GroupArchive(ChannelEvent),
    /// `group_unarchive`.
    GroupUnarchive(ChannelEvent),
    /// `group_marked`: your read cursor moved to `ts`.
    GroupMarked(ChannelEvent),
    /// `im_created`: a direct message channel was opened with `user` (`channel` is an object).
    ImCreated(ChannelEvent),
    /// `im_open`.
    ImOpen(ChannelEvent),
    /// `im_close`.
    ImClose(ChannelEvent),
    /// `im_marked`: your read cursor moved to `ts`.
    ImMarked(ChannelEvent),
    /// `team_join`: a new member (`user` is the user object).
    TeamJoin(UserEvent),
    /// `user_change`: a user's profile changed (`user` is the user object).
    UserChange(UserEvent),
    /// `team_migration_started`: the socket closes next (the client reconnects).
    TeamMigrationStarted,
    /// `reconnect_url`: experimental and unsupported; the client ignores it.
    ReconnectUrl(ReconnectUrl),
    /// `pin_added`.
    PinAdded(Box<Pin>),
    /// `pin_removed`.
    PinRemoved(Box<Pin>),
    /// `emoji_changed`: a custom emoji was added, removed or renamed.
    EmojiChanged(EmojiChanged),
    /// The `open` pseudo-event: a websocket opened. Only from
    /// [`Payload::as_event`](crate::Payload::as_event), like the next two.
    Open(Open),
    /// The `close` pseudo-event: a connection ended.
    Close(Close),
    /// A client-side `error` pseudo-event; a server error frame is [`Event::Error`].
    ClientError(ClientError),
    /// Any other event, as received: a type this crate does not model, an object with neither
    /// a string `type` nor `reply_to`, or JSON that is not an object.
    Unknown(Value),
    /// A known type whose fields did not decode; nothing is lost.
    Malformed {
        /// The name it was dispatched under, e.g. `"message"` or `"reply"`.
        kind: String,
        /// Why it did not decode, e.g. ``invalid type: integer `5`, expected a string``.
        error: String,
        /// The whole JSON value, as received.
        raw: Value,
    },
}

impl Event {
    /// Decodes a server frame (a parsed JSON value). Never fails and never panics: see the
    /// [module docs](self) for what becomes [`Event::Unknown`] and [`Event::Malformed`].
    ///
    /// ```
    /// use slack_rtm::event::Event;
    /// use serde_json::json;
    ///
    /// let e = Event::from_value(&json!({"type": "message", "channel": "C1", "text": "hi"}));
    /// let Event::Message(m) = e else { panic!("a message") };
    /// assert_eq!(m.channel_id(), Some("C1"));
    ///
    /// let odd = json!({"type": "message", "text": 5});
    /// assert!(matches!(Event::from_value(&odd), Event::Malformed { raw, .. } if raw == odd));
    /// ```
    pub fn from_value(value: &Value) -> Event {
        match dispatch_name(value) {
            Some(name) => decode_named(name, value),
            None => Event::Unknown(value.clone()),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    /// Reads any JSON value and decodes it with [`Event::from_value`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        Value::deserialize(d).map(|v| Event::from_value(&v))
    }
}

/// The name an RTM server frame is dispatched under (see the crate docs): its string `type`;
/// `reply` for an object without one but with `reply_to` (an ack); `unknown` for any other
/// object. `None` when the frame is not a JSON object.
pub(crate) fn dispatch_name(v: &Value) -> Option<&str> {
    let obj = v.as_object()?;
    Some(match obj.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if obj.contains_key("reply_to") => "reply",
        None => "unknown",
    })
}

/// Decodes what the dispatcher delivered under `name`; `from_server` is false for the
/// pseudo-events the client makes (`open`, `close`, client `error`s).
pub(crate) fn from_dispatched(name: &str, data: &Value, from_server: bool) -> Event {
    match name {
        "open" if !from_server => decode("open", data, Event::Open),
        "close" if !from_server => decode("close", data, Event::Close),
        // A frame that was not JSON is dispatched as a client error but keeps its raw text, so
        // `from_server` is not enough here: server error frames always carry `type`.
        "error" if data.get("type").is_none() && data["source"] == "client" => {
            decode("error", data, Event::ClientError)
        }
        _ => Event::from_value(data),
    }
}

fn decode_named(name: &str, v: &Value) -> Event {
    match name {
        "hello" => Event::Hello,
        "goodbye" => Event::Goodbye,
        "team_migration_started" => Event::TeamMigrationStarted,
        "error" => decode(name, v, |f: ErrorFrame| Event::Error(f.error)),
        "pong" => decode(name, v, Event::Pong),
        "reply" => decode(name, v, Event::Reply),
        "message" => decode(name, v, |m| Event::Message(Box::new(m))),
        "user_typing" => decode(name, v, Event::UserTyping),
        "presence_change" => decode(name, v, Event::PresenceChange),
        "manual_presence_change" => decode(name, v, Event::ManualPresenceChange),
        "reaction_added" => decode(name, v, |r| Event::ReactionAdded(Box::new(r))),
        "reaction_removed" => decode(name, v, |r| Event::ReactionRemoved(Box::new(r))),
        "member_joined_channel" => decode(name, v, Event::MemberJoinedChannel),
        "member_left_channel" => decode(name, v, Event::MemberLeftChannel),
        "channel_joined" => decode(name, v, Event::ChannelJoined),
        "channel_left" => decode(name, v, Event::ChannelLeft),
        "channel_created" => decode(name, v, Event::ChannelCreated),
        "channel_deleted" => decode(name, v, Event::ChannelDeleted),
        "channel_archive" => decode(name, v, Event::ChannelArchive),
        "channel_unarchive" => decode(name, v, Event::ChannelUnarchive),
        "channel_rename" => decode(name, v, Event::ChannelRename),
        "channel_marked" => decode(name, v, Event::ChannelMarked),
        "group_joined" => decode(name, v, Event::GroupJoined),
        "group_left" => decode(name, v, Event::GroupLeft),
        "group_open" => decode(name, v, Event::GroupOpen),
        "group_close" => decode(name, v, Event::GroupClose),
        "group_deleted" => decode(name, v, Event::GroupDeleted),
        "group_rename" => decode(name, v, Event::GroupRename),
        "group_archive" => decode(name, v, Event::GroupArchive),
        "group_unarchive" => decode(name, v, Event::GroupUnarchive),
        "group_marked" => decode(name, v, Event::GroupMarked),
        "im_created" => decode(name, v, Event::ImCreated),
        "im_open" => decode(name, v, Event::ImOpen),
        "im_close" => decode(name, v, Event::ImClose),
        "im_marked" => decode(name, v, Event::ImMarked),
        "team_join" => decode(name, v, Event::TeamJoin),
        "user_change" => decode(name, v, Event::UserChange),
        "reconnect_url" => decode(name, v, Event::ReconnectUrl),
        "pin_added" => decode(name, v, |p| Event::PinAdded(Box::new(p))),
        "pin_removed" => decode(name, v, |p| Event::PinRemoved(Box::new(p))),
        "emoji_changed" => decode(name, v, Event::EmojiChanged),
        _ => Event::Unknown(v.clone()),
    }
}

/// Decodes `v` as a `T`, or keeps it whole in [`Event::Malformed`].
fn decode<'a, T: Deserialize<'a>>(
    kind: &str,
    v: &'a Value,
    wrap: impl FnOnce(T) -> Event,
) -> Event {
    match T::deserialize(v) {
        Ok(t) => wrap(t),
        Err(e) => Event::Malformed {
            kind: kind.to_string(),
            error: e.to_string(),
            raw: v.clone(),
        },
    }
}

/// Fuzzing hook, not an API: takes the bytes of a websocket text frame through the path the
/// dispatcher takes (UTF-8 text, JSON, dispatch name, typed decode as in `Payload::as_event`)
/// and returns the dispatch name, the parsed value and the event; `None` where the dispatcher
/// would report a client `error` instead.
#[doc(hidden)]
pub fn __fuzz_receive(bytes: &[u8]) -> Option<(String, Value, Event)> {
    // tungstenite only delivers text frames that are valid UTF-8.
    let text = std::str::from_utf8(bytes).ok()?;
    let value: Value = serde_json::from_str(text).ok()?;
    let name = dispatch_name(&value)?.to_string();
    let event = from_dispatched(&name, &value, true);
    Some((name, value, event))
}

/// Fuzzing hook, not an API: checks that the reader's top-level key scan agrees with a full
/// `serde_json` parse of `text` (`Err` says how it does not).
#[doc(hidden)]
pub fn __fuzz_scan(text: &str) -> Result<(), String> {
    crate::scan::check_against_serde(text)
}

// ----- lenient building blocks -----

/// A `channel` or `user` field: an id string in most events, an object with an `id` in some
/// (`channel_created`, `im_created`, `team_join`, `user_change`, ...). Both forms decode;
/// [`id`](IdOrObject::id) works for both and the object is kept.
///
/// ```
/// use slack_rtm::event::IdOrObject;
/// use serde_json::json;
///
/// let id: IdOrObject = serde_json::from_value(json!("C024BE91L")).unwrap();
/// let obj: IdOrObject =
///     serde_json::from_value(json!({"id": "C024BE91L", "name": "fun"})).unwrap();
/// assert_eq!(id.id(), obj.id());
/// assert_eq!((id.name(), obj.name()), (None, Some("fun")));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct IdOrObject {
    id: String,
    object: Option<Box<Map<String, Value>>>,
}

impl IdOrObject {
    /// The id, from either form.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The whole object (its `id` included), when Slack sent one.
    pub fn object(&self) -> Option<&Map<String, Value>> {
        self.object.as_deref()
    }

    /// A field of the object; `None` for the id form or a missing field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.object()?.get(field)
    }

    /// The object's `name`, when it has a string one (channels and users do).
    pub fn name(&self) -> Option<&str> {
        self.get("name")?.as_str()
    }
}

impl fmt::Display for IdOrObject {
    /// Writes the id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl Serialize for IdOrObject {
    /// Writes the form that was read: the object, or the id string.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.object {
            Some(obj) => obj.serialize(s),
            None => s.serialize_str(&self.id),
        }
    }
}

impl<'de> Deserialize<'de> for IdOrObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdOrObject, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdOrObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id string or an object with a string \"id\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<IdOrObject, E> {
                Ok(IdOrObject {
                    id: s.to_string(),
                    object: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdOrObject, A::Error> {
                let mut obj = Map::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    obj.insert(k, v);
                }
                match obj.get("id").and_then(Value::as_str) {
                    Some(id) => Ok(IdOrObject {
                        id: id.to_string(),
                        object: Some(Box::new(obj)),
                    }),
                    None => Err(de::Error::custom("an object without a string \"id\"")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// An error object as Slack sends it, in an `error` frame and in a failed [`Reply`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RtmError {
    /// Slack's code: 1 `Socket URL has expired`, 2 `message text is missing`, -1 `slow down,
    /// too many messages...` (observed); 0 when absent.
    pub code: i64,
    /// Slack's message; empty when absent.
    pub msg: String,
}

impl fmt::Display for RtmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.msg, self.code)
    }
}

/// `{"type":"error","error":{...}}`; a missing `error` object gives an empty [`RtmError`].
#[derive(Deserialize)]
struct ErrorFrame {
    #[serde(default)]
    error: RtmError,
}

/// How deep messages may nest in messages (`message`, `previous_message`, `root`, a pinned
/// item's `message`). Slack nests one or two levels; the limit bounds the decoder's stack use
/// whatever the input (each level costs kilobytes in a debug build).
const MAX_NESTING: u32 = 8;

thread_local! {
    /// How many nested messages the decoder on this thread is inside.
    static NESTING: Cell<u32> = const { Cell::new(0) };
}

/// Serde helper for a nested message: counts the depth and refuses to go past [`MAX_NESTING`].
fn nested<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<Message>>, D::Error> {
    struct Level;
    impl Drop for Level {
        fn drop(&mut self) {
            NESTING.with(|n| n.set(n.get().saturating_sub(1)));
        }
    }
    let depth = NESTING.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    let _level = Level;
    if depth > MAX_NESTING {
        return Err(de::Error::custom(format_args!(
            "messages nested more than {MAX_NESTING} deep"
        )));
    }
    Option::<Box<Message>>::deserialize(d)
}

/// Serde helper: leave `false` out when serializing.
fn is_false(b: &bool) -> bool {
    !*b
}

// ----- events -----

/// A `pong`: `reply_to` is the ping's id; the ping's extra fields come back in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pong {
    /// The id of the ping this answers.
    pub reply_to: u64,
    /// Every other field (`type` and the echoed ping fields, such as `time`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An acknowledgement of a message the client sent:
/// `{"ok":true,"reply_to":1,"ts":"…","text":"…"}` or
/// `{"ok":false,"reply_to":1,"error":{"code":2,"msg":"message text is missing"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reply {
    /// Whether Slack accepted the message.
    pub ok: bool,
    /// The `id` of the message this answers.
    pub reply_to: u64,
    /// The stored message's timestamp (for chat messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// The text as stored; Slack may have rewritten it (links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Why Slack refused the message, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RtmError>,
}

/// The subtype of a [`Message`]: the documented RTM ones, or [`Other`](MessageSubtype::Other).
///
/// Converts from and to the wire string: `MessageSubtype::from("bot_message")`,
/// [`as_str`](MessageSubtype::as_str).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageSubtype {
    /// `bot_message`: posted by a bot (`bot_id`, maybe `username` and `icons`; no `user`).
    BotMessage,
    /// `me_message`: a `/me` message.
    MeMessage,
    /// `message_changed`: an edit (hidden); the new version is in [`Message::message`].
    MessageChanged,
    /// `message_deleted`: a deletion (hidden); see [`Message::deleted_ts`].
    MessageDeleted,
    /// `message_replied`: a thread got a reply (hidden); the parent is in [`Message::message`].
    MessageReplied,
    /// `thread_broadcast`: a thread reply also sent to the channel; the parent is in
    /// [`Message::root`].
    ThreadBroadcast,
    /// `channel_join`: a member joined (maybe with an `inviter`).
    ChannelJoin,
    /// `channel_leave`: a member left.
    ChannelLeave,
    /// `channel_topic`: the topic changed ([`Message::topic`]).
    ChannelTopic,
    /// `channel_purpose`: the purpose changed ([`Message::purpose`]).
    ChannelPurpose,
    /// `channel_name`: the channel was renamed ([`Message::old_name`], [`Message::name`]).
    ChannelName,
    /// `channel_archive`.
    ChannelArchive,
    /// `channel_unarchive`.
    ChannelUnarchive,
    /// `channel_posting_permissions`: who may post changed.
    ChannelPostingPermissions,
    /// `group_join`.
    GroupJoin,
    /// `group_leave`.
    GroupLeave,
    /// `group_topic`.
    GroupTopic,
    /// `group_purpose`.
    GroupPurpose,
    /// `group_name`.
    GroupName,
    /// `group_archive`.
    GroupArchive,
    /// `group_unarchive`.
    GroupUnarchive,
    /// `file_share`: files were shared (in `extra["files"]`).
    FileShare,
    /// `file_comment`.
    FileComment,
    /// `file_mention`.
    FileMention,
    /// `pinned_item`.
    PinnedItem,
    /// `unpinned_item`.
    UnpinnedItem,
    /// `ekm_access_denied`: the content is hidden by Enterprise Key Management.
    EkmAccessDenied,
    /// Any other subtype, as sent.
    Other(String),
}

/// Every named subtype with its wire string.
const SUBTYPES: &[(MessageSubtype, &str)] = &[
    (MessageSubtype::BotMessage, "bot_message"),
    (MessageSubtype::MeMessage, "me_message"),
    (MessageSubtype::MessageChanged, "message_changed"),
    (MessageSubtype::MessageDeleted, "message_deleted"),
    (MessageSubtype::MessageReplied, "message_replied"),
    (MessageSubtype::ThreadBroadcast, "thread_broadcast"),
    (MessageSubtype::ChannelJoin, "channel_join"),
    (MessageSubtype::ChannelLeave, "channel_leave"),
    (MessageSubtype::ChannelTopic, "channel_topic"),
    (MessageSubtype::ChannelPurpose, "channel_purpose"),
    (MessageSubtype::ChannelName, "channel_name"),
    (MessageSubtype::ChannelArchive, "channel_archive"),
    (MessageSubtype::ChannelUnarchive, "channel_unarchive"),
    (
        MessageSubtype::ChannelPostingPermissions,
        "channel_posting_permissions",
    ),
    (MessageSubtype::GroupJoin, "group_join"),
    (MessageSubtype::GroupLeave, "group_leave"),
    (MessageSubtype::GroupTopic, "group_topic"),
    (MessageSubtype::GroupPurpose, "group_purpose"),
    (MessageSubtype::GroupName, "group_name"),
    (MessageSubtype::GroupArchive, "group_archive"),
    (MessageSubtype::GroupUnarchive, "group_unarchive"),
    (MessageSubtype::FileShare, "file_share"),
    (MessageSubtype::FileComment, "file_comment"),
    (MessageSubtype::FileMention, "file_mention"),
    (MessageSubtype::PinnedItem, "pinned_item"),
    (MessageSubtype::UnpinnedItem, "unpinned_item"),
    (MessageSubtype::EkmAccessDenied, "ekm_access_denied"),
];

impl MessageSubtype {
    /// The wire string, e.g. `"message_changed"`.
    pub fn as_str(&self) -> &str {
        if let MessageSubtype::Other(s) = self {
            return s;
        }
        SUBTYPES
            .iter()
            .find(|(k, _)| k == self)
            .map_or("", |(_, s)| s)
    }
}

impl From<&str> for MessageSubtype {
    fn from(s: &str) -> MessageSubtype {
        SUBTYPES
            .iter()
            .find(|(_, name)| *name == s)
            .map_or_else(|| MessageSubtype::Other(s.to_string()), |(k, _)| k.clone())
    }
}

impl fmt::Display for MessageSubtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MessageSubtype {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MessageSubtype {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MessageSubtype, D::Error> {
        let s = String::deserialize(d)?;
        Ok(MessageSubtype::from(s.as_str()))
    }
}

/// A `message` event, any subtype; also the nested `message`, `previous_message` and `root`.
///
/// Every field but [`extra`](Message::extra) is optional; which ones are present depends on
/// the subtype (see [`MessageSubtype`]). Fields this struct does not name are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Message {
    /// The subtype; `None` for a plain message from a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtype: Option<MessageSubtype>,
    /// The channel (`C…`, `G…` or `D…`); absent in nested messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<IdOrObject>,
    /// The author; absent for `bot_message` and hidden subtypes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<IdOrObject>,
    /// The text, with Slack's markup (`<@U123>`, `<https://…|label>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The message's timestamp: its id within the channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// The parent's `ts`, for a message in a thread (and for the parent itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// The author of the thread's parent, for a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    /// The bot that posted it (`bot_message`, and messages from apps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// The display name a bot posted under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `true` for history edits (`message_changed`, `message_deleted`, ...): not for display.
    #[serde(skip_serializing_if = "is_false")]
    pub hidden: bool,
    /// Set when the message was edited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited: Option<Edited>,
    /// The workspace the event belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The author's workspace, in shared channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_team: Option<String>,
    /// The author's workspace (Enterprise Grid, shared channels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_team: Option<String>,
    /// When the event happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
    /// The client's id for a message sent from a Slack client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// `channel`, `group`, `im`, `mpim`, ... where Slack sends it (not always over RTM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<String>,
    /// The new version (`message_changed`) or the thread parent (`message_replied`).
    #[serde(deserialize_with = "nested", skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<Message>>,
    /// The old version (`message_changed`, sometimes `message_deleted`).
    #[serde(deserialize_with = "nested", skip_serializing_if = "Option::is_none")]
    pub previous_message: Option<Box<Message>>,
    /// The `ts` of the deleted message (`message_deleted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_ts: Option<String>,
    /// The thread's parent (`thread_broadcast`).
    #[serde(deserialize_with = "nested", skip_serializing_if = "Option::is_none")]
    pub root: Option<Box<Message>>,
    /// Who invited the member (`channel_join`, `group_join`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inviter: Option<String>,
    /// The new topic (`channel_topic`, `group_topic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The new purpose (`channel_purpose`, `group_purpose`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The new name (`channel_name`, `group_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The old name (`channel_name`, `group_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_name: Option<String>,
    /// How many replies a thread parent has (`message_replied`'s nested message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_count: Option<u64>,
    /// Every field not named above, as received: `type`, `attachments`, `blocks`, `files`,
    /// `icons`, `reactions`, `replies`, `upload`, ...
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// The channel's id, from either form of `channel`.
    pub fn channel_id(&self) -> Option<&str> {
        self.channel.as_ref().map(IdOrObject::id)
    }

    /// The author's id, from either form of `user`.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(IdOrObject::id)
    }
}

/// The `edited` marker of a message: who edited it, and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Edited {
    /// Who edited it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<IdOrObject>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
}

/// `user_typing`: `user` is typing in `channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserTyping {
    /// Where.
    pub channel: IdOrObject,
    /// Who.
    pub user: IdOrObject,
    /// The thread, when typing in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
}

/// `presence_change`: `presence` for one `user` (the older form) or for several `users` (with
/// `batch_presence_aware`). [`user_ids`](PresenceChange::user_ids) covers both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PresenceChange {
    /// `active` or `away`.
    pub presence: String,
    /// The user, in the single-user form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<IdOrObject>,
    /// The users, in the batch form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

impl PresenceChange {
    /// Every user this change is about, from either form.
    pub fn user_ids(&self) -> Vec<&str> {
        let one = self.user.as_ref().map(IdOrObject::id);
        one.into_iter()
            .chain(self.users.iter().map(String::as_str))
            .collect()
    }
}

/// `manual_presence_change`: your own presence was set by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManualPresenceChange {
    /// `active` or `away`.
    pub presence: String,
}

/// `reaction_added` / `reaction_removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reaction {
    /// Who reacted.
    pub user: IdOrObject,
    /// The emoji's name, without colons (`thumbsup`, `+1::skin-tone-2`).
    pub reaction: String,
    /// The author of the item reacted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_user: Option<String>,
    /// What was reacted to.
    pub item: Item,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
}

/// The item of a reaction or a pin: a message (`channel` + `ts`), a file, or a file comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Item {
    /// `message`, `file` or `file_comment` (the JSON field `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The message's channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<IdOrObject>,
    /// The message's `ts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// The file: an id in reactions, an object in pins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<IdOrObject>,
    /// The file comment: an id in reactions, an object in pins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_comment: Option<IdOrObject>,
    /// The pinned message itself (pins only).
    #[serde(
        default,
        deserialize_with = "nested",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<Box<Message>>,
}

/// `member_joined_channel` / `member_left_channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelMember {
    /// Who joined or left.
    pub user: IdOrObject,
    /// Which channel.
    pub channel: IdOrObject,
    /// `C` (public) or `G` (private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_type: Option<String>,
    /// The workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Who invited them, when someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
}

/// The `channel_*`, `group_*` and `im_*` events; the [`Event`] variant says which.
///
/// `channel` is an object in `channel_joined`, `channel_created`, `channel_rename`,
/// `group_joined`, `group_rename` and `im_created` (use [`IdOrObject::name`] or
/// [`IdOrObject::get`]), an id elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelEvent {
    /// The channel.
    pub channel: IdOrObject,
    /// Who did it (`*_archive`, `*_unarchive`, `im_*`), when Slack says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<IdOrObject>,
    /// The read cursor (`*_marked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
}

/// `team_join` / `user_change`: `user` is the whole user object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserEvent {
    /// The user (an object with `id`, `name`, `profile`, ...).
    pub user: IdOrObject,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
}

/// `reconnect_url`: experimental; the client always reconnects through `rtm.connect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ReconnectUrl {
    /// The URL, when Slack sends one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `pin_added` / `pin_removed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pin {
    /// Who pinned or unpinned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<IdOrObject>,
    /// The channel's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// What was pinned.
    pub item: Item,
    /// Whether the channel still has pins (`pin_removed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_pins: Option<bool>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
}

/// `emoji_changed`: `subtype` `add` (`name`, `value`), `remove` (`names`) or `rename`
/// (`old_name`, `new_name`, `value`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EmojiChanged {
    /// `add`, `remove` or `rename`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// The added emoji's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The image URL, or `alias:other_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The removed emojis' names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The renamed emoji's old name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_name: Option<String>,
    /// The renamed emoji's new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_ts: Option<String>,
}

// ----- pseudo-events -----

/// The `open` pseudo-event: the `rtm.connect` (or `rtm.start`) answer of the connection that
/// just opened. The single-use websocket `url` is left in [`Payload::data`](crate::Payload::data).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Open {
    /// The workspace (`id`, `name`, `domain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<IdOrObject>,
    /// The connected user or bot (`id`, `name`): the JSON field `self`.
    #[serde(rename = "self", skip_serializing_if = "Option::is_none")]
    pub self_user: Option<IdOrObject>,
}

/// The `close` pseudo-event: a connection ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Close {
    /// The websocket close code, when there was a close frame.
    pub code: Option<u16>,
    /// Why it ended.
    pub reason: String,
    /// Whether the client will connect again.
    pub will_reconnect: bool,
    /// The reconnect attempt that comes next (0 when not reconnecting).
    pub attempt: u64,
    /// The wait before that attempt, in milliseconds.
    pub delay_ms: u64,
    /// The connection's number, counted from 1 for the process in the order connections
    /// opened (tells the sockets of a Socket Mode client apart).
    pub connection: u64,
    /// The server's stated reason, when it gave one: Socket Mode's `disconnect` reason
    /// (`warning`, `refresh_requested`, `link_disabled`, `too_many_websockets`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_reason: Option<String>,
}

impl Close {
    /// [`delay_ms`](Close::delay_ms) as a `Duration`.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }
}

/// A client-side `error` pseudo-event: a failed connection attempt, a frame that was not a
/// JSON object, a binary frame, a handler that panicked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClientError {
    /// A short machine-readable name, e.g. `invalid_json`, `binary_frame`, `handler_panic`.
    pub kind: String,
    /// A human-readable description.
    pub message: String,
    /// The connection attempt, for failed attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u64>,
    /// The wait before the next attempt in milliseconds, when there will be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatch_names_follow_the_documented_rules() {
        assert_eq!(dispatch_name(&json!({"type": "message"})), Some("message"));
        let ack = json!({"ok": true, "reply_to": 1});
        assert_eq!(dispatch_name(&ack), Some("reply"));
        let pong = json!({"type": "pong", "reply_to": 3});
        assert_eq!(dispatch_name(&pong), Some("pong"));
        assert_eq!(dispatch_name(&json!({"ok": true})), Some("unknown"));
        assert_eq!(dispatch_name(&json!({"type": 5})), Some("unknown"));
        assert_eq!(dispatch_name(&json!([1, 2])), None);
        assert_eq!(dispatch_name(&json!("hello")), None);
        assert!(matches!(
            Event::from_value(&json!({"ok": true})),
            Event::Unknown(_)
        ));
    }

    #[test]
    fn every_named_subtype_round_trips_through_its_string() {
        for (k, s) in SUBTYPES {
            assert_eq!(MessageSubtype::from(*s), *k);
            assert_eq!(k.as_str(), *s);
        }
        assert_eq!(
            MessageSubtype::from("reply_broadcast"),
            MessageSubtype::Other("reply_broadcast".into())
        );
    }

    #[test]
    fn enum_stays_small() {
        // The big payloads (messages, reactions, pins) are boxed; an unboxed `Message` would
        // make every event several hundred bytes.
        assert!(
            std::mem::size_of::<Event>() <= 192,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
