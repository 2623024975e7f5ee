//! Socket Mode protocol rules, free of I/O: the app token check, the verdict on an
//! `apps.connections.open` answer, frame and envelope parsing with their dispatch names, the
//! reader's cheap look at a frame, what a `disconnect` asks for, keepalive and refresh timing,
//! and the `too_many_websockets` backoff. Everything takes `now` and inputs and returns what to
//! do; the threads only move bytes and call these.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backoff::Reconnect;
use crate::error::Error;
use crate::scan::{scan, Raw};

/// The Web API method that hands out Socket Mode websocket URLs.
pub const OPEN_METHOD: &str = "apps.connections.open";

/// Default interval between the client's websocket ping frames.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);
/// Default silence after which a Socket Mode connection counts as dead (any inbound frame,
/// Slack's own pings included, counts as life).
pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(20);
/// The shortest accepted pong timeout: shorter ones produce false disconnects on ordinary links.
pub const MIN_PONG_TIMEOUT: Duration = Duration::from_secs(5);
/// Most sockets Slack allows one app (across all its instances).
pub const MAX_CONNECTIONS: usize = 10;
/// `approximate_connection_time` when `hello` carries none: Slack refreshes about every 5 h.
pub const DEFAULT_CONNECTION_TIME: Duration = Duration::from_secs(18_060);

/// First delay after a `too_many_websockets` answer (then doubling, up to the cap).
pub(crate) const CAP_BACKOFF_BASE: Duration = Duration::from_secs(2);
/// Longest delay after repeated `too_many_websockets` answers.
pub(crate) const CAP_BACKOFF_CAP: Duration = Duration::from_secs(300);

// ----- tokens and options -----

/// Checks that `token` is an app-level token (`xapp-…`). The message never contains the token.
pub(crate) fn check_app_token(token: &str) -> Result<(), Error> {
    let token = token.trim();
    let why = if token.starts_with("xapp-") {
        return Ok(());
    } else if token.is_empty() {
        "the app token is empty: Socket Mode connects with an app-level token (xapp-...) that has \
         the connections:write scope"
    } else if token.starts_with("xoxb-") {
        "a bot token (xoxb-...) was given as the app token: Socket Mode connects with an \
         app-level token (xapp-...); pass the bot token to bot_token() for Web API calls"
    } else if token.starts_with("xoxp-") {
        "a user token (xoxp-...) was given as the app token: Socket Mode connects with an \
         app-level token (xapp-...)"
    } else {
        "the app token must be an app-level token starting with xapp- (made in the app's Basic \
         Information page, scope connections:write)"
    };
    Err(Error::Config(why.to_owned()))
}

/// Checks `connections(n)`: 1 to [`MAX_CONNECTIONS`].
pub(crate) fn check_connections(n: usize) -> Result<(), Error> {
    if (1..=MAX_CONNECTIONS).contains(&n) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "connections must be between 1 and {MAX_CONNECTIONS} (Slack's cap per app), not {n}"
        )))
    }
}

/// Checks the keepalive options: a non-zero ping interval and a pong timeout of at least
/// [`MIN_PONG_TIMEOUT`].
pub(crate) fn check_keepalive(
    ping_interval: Duration,
    pong_timeout: Duration,
) -> Result<(), Error> {
    if ping_interval.is_zero() {
        return Err(Error::Config(
            "ping_interval must be greater than zero".into(),
        ));
    }
    if pong_timeout < MIN_PONG_TIMEOUT {
        return Err(Error::Config(format!(
            "pong_timeout must be at least {} s (shorter ones drop healthy connections), not {} ms",
            MIN_PONG_TIMEOUT.as_secs(),
            pong_timeout.as_millis()
        )));
    }
    Ok(())
}

/// Checks `ack_deadline`: above zero and below Slack's 3 s limit.
pub(crate) fn check_ack_deadline(deadline: Duration) -> Result<(), Error> {
    if deadline.is_zero() || deadline >= Duration::from_secs(3) {
        return Err(Error::Config(format!(
            "ack_deadline must be above 0 and below Slack's 3 s limit, not {} ms",
            deadline.as_millis()
        )));
    }
    Ok(())
}

/// The websocket URL with `debug_reconnects=true` appended (Slack then refreshes the connection
/// after about 360 s instead of about 5 h). The rest of the URL is left as it is.
pub(crate) fn with_debug_reconnects(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}debug_reconnects=true")
}

// ----- apps.connections.open -----

pub use crate::error::OPEN_FATAL_CODES;

/// Whether an `apps.connections.open` error code is fatal (see [`OPEN_FATAL_CODES`]).
pub fn is_fatal_open_code(code: &str) -> bool {
    OPEN_FATAL_CODES.contains(&code)
}

// ----- frames -----

/// The type of an envelope (its `type` field).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvelopeKind {
    /// `events_api`: an Events API event (acked by the reader by default).
    EventsApi,
    /// `slash_commands`: a slash command; the ack may carry the reply.
    SlashCommands,
    /// `interactive`: `block_actions`, `view_submission`, `shortcut`, ...; the ack may carry a
    /// response.
    Interactive,
    /// Any other type, kept as sent (dispatched as `unknown`).
    Other(String),
}

impl EnvelopeKind {
    /// The kind of an envelope `type`.
    pub fn from_type(kind: &str) -> EnvelopeKind {
        match kind {
            "events_api" => EnvelopeKind::EventsApi,
            "slash_commands" => EnvelopeKind::SlashCommands,
            "interactive" => EnvelopeKind::Interactive,
            other => EnvelopeKind::Other(other.to_owned()),
        }
    }

    /// The `type` as Slack spells it.
    pub fn as_str(&self) -> &str {
        match self {
            EnvelopeKind::EventsApi => "events_api",
            EnvelopeKind::SlashCommands => "slash_commands",
            EnvelopeKind::Interactive => "interactive",
            EnvelopeKind::Other(other) => other,
        }
    }
}

impl fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Socket Mode envelope: an event, a slash command or an interaction, to be acked by its
/// `envelope_id`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Envelope {
    /// The envelope type.
    pub kind: EnvelopeKind,
    /// The ack key.
    pub envelope_id: String,
    /// The `payload` field (usually an object; `Value::Null` when absent).
    pub payload: Value,
    /// Delivery attempt: 0 the first time, then 1, 2, 3 for Slack's retries (events only).
    pub retry_attempt: u32,
    /// Why Slack redelivered (`"timeout"`, ...); `None` on a first delivery.
    pub retry_reason: Option<String>,
    /// Whether the ack may carry a response payload.
    pub accepts_response_payload: bool,
}

impl Envelope {
    /// The envelope in a parsed frame, if it is one: a JSON object with a string `envelope_id`
    /// and a string `type`.
    pub fn from_value(frame: &Value) -> Option<Envelope> {
        let mut envelope = Envelope::head(frame)?;
        envelope.payload = frame.get("payload").cloned().unwrap_or(Value::Null);
        Some(envelope)
    }

    /// Like [`from_value`](Envelope::from_value), moving the payload out of `frame` instead of
    /// copying it (the dispatcher's path: the frame is not needed afterwards).
    pub(crate) fn take(frame: &mut Value) -> Option<Envelope> {
        let mut envelope = Envelope::head(frame)?;
        envelope.payload = frame
            .as_object_mut()
            .and_then(|o| o.remove("payload"))
            .unwrap_or(Value::Null);
        Some(envelope)
    }

    /// Everything but the payload.
    fn head(frame: &Value) -> Option<Envelope> {
        let obj = frame.as_object()?;
        let envelope_id = obj.get("envelope_id")?.as_str()?.to_owned();
        let kind = EnvelopeKind::from_type(obj.get("type")?.as_str()?);
        let retry_attempt = obj
            .get("retry_attempt")
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        let retry_reason = obj
            .get("retry_reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        Some(Envelope {
            kind,
            envelope_id,
            payload: Value::Null,
            retry_attempt,
            retry_reason,
            accepts_response_payload: obj
                .get("accepts_response_payload")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// The inner Events API event (`payload.event`), for `events_api` envelopes that have one.
    pub fn event(&self) -> Option<&Value> {
        match self.kind {
            EnvelopeKind::EventsApi => self.payload.get("event").filter(|e| e.is_object()),
            _ => None,
        }
    }

    /// `payload.event_id` of an `events_api` envelope: the key Slack keeps across retries.
    pub fn event_id(&self) -> Option<&str> {
        match self.kind {
            EnvelopeKind::EventsApi => self.payload.get("event_id").and_then(Value::as_str),
            _ => None,
        }
    }

    /// Whether this is a redelivery (`retry_attempt` above 0).
    pub fn is_retry(&self) -> bool {
        self.retry_attempt > 0
    }

    /// The inner name the envelope is dispatched under first: the event type for `events_api`
    /// (`app_rate_limited` when there is no inner event), `payload.type` for `interactive`
    /// (`block_actions`, `view_submission`, ...), the command for `slash_commands` (`/deploy`).
    pub fn inner_name(&self) -> Option<String> {
        let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        match self.kind {
            EnvelopeKind::EventsApi => match self.event() {
                Some(event) => string(event.get("type")),
                None => Some(
                    string(self.payload.get("type"))
                        .filter(|t| t != "event_callback" && !t.is_empty())
                        .unwrap_or_else(|| "app_rate_limited".to_owned()),
                ),
            },
            EnvelopeKind::Interactive => string(self.payload.get("type")),
            EnvelopeKind::SlashCommands => string(self.payload.get("command")),
            EnvelopeKind::Other(_) => None,
        }
        .filter(|name| !name.is_empty())
    }

    /// Every name the envelope is dispatched under, in order: the inner name, the envelope type,
    /// then `"*"`. An unknown envelope type is dispatched as `unknown`, then `"*"`.
    pub fn dispatch_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(3);
        if let EnvelopeKind::Other(_) = self.kind {
            names.push("unknown".to_owned());
        } else {
            if let Some(inner) = self.inner_name() {
                if inner != self.kind.as_str() && inner != "*" {
                    names.push(inner);
                }
            }
            names.push(self.kind.as_str().to_owned());
        }
        names.push("*".to_owned());
        names
    }
}

/// The `hello` frame: the connection is ready.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Hello {
    /// How many sockets Slack holds open for this app, this one included (other instances and
    /// ghost sockets count too).
    pub num_connections: Option<u32>,
    /// `debug_info.approximate_connection_time`: how long until Slack refreshes this socket.
    pub approximate_connection_time: Option<Duration>,
    /// `debug_info.host`, the Slack pod (`applink-…`).
    pub host: Option<String>,
    /// `connection_info.app_id`.
    pub app_id: Option<String>,
}

impl Hello {
    fn from_value(frame: &Value) -> Hello {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Hello {
            num_connections: frame
                .get("num_connections")
                .and_then(Value::as_u64)
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            approximate_connection_time: frame
                .pointer("/debug_info/approximate_connection_time")
                .and_then(Value::as_u64)
                .map(Duration::from_secs),
            host: text(frame.pointer("/debug_info/host")),
            app_id: text(frame.pointer("/connection_info/app_id")),
        }
    }

    /// Whether Slack counts more sockets than `held` (the sockets this client has open): other
    /// instances of the app, or ghost sockets Slack has not noticed are gone.
    pub fn more_sockets_than(&self, held: usize) -> bool {
        self.num_connections
            .is_some_and(|n| usize::try_from(n).unwrap_or(usize::MAX) > held)
    }

    /// When to open the replacement socket ahead of Slack's refresh, for a `hello` received at
    /// `at`: a margin (a tenth of the connection time, at most a minute) before
    /// `approximate_connection_time` runs out ([`DEFAULT_CONNECTION_TIME`] when absent).
    pub fn refresh_at(&self, at: Instant) -> Instant {
        let life = self
            .approximate_connection_time
            .unwrap_or(DEFAULT_CONNECTION_TIME);
        let margin = (life / 10).min(Duration::from_secs(60));
        at + (life - margin)
    }
}

/// Why Slack sent `disconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// About 10 s before a scheduled refresh.
    Warning,
    /// Slack is refreshing this socket now.
    RefreshRequested,
    /// Socket Mode was switched off in the app's settings.
    LinkDisabled,
    /// The app is over Slack's cap of 10 sockets.
    TooManyWebsockets,
    /// Any other reason, kept as sent (handled like a refresh).
    Other(String),
}

impl DisconnectReason {
    /// The reason of a `reason` field.
    pub fn from_reason(reason: &str) -> DisconnectReason {
        match reason {
            "warning" => DisconnectReason::Warning,
            "refresh_requested" => DisconnectReason::RefreshRequested,
            "link_disabled" => DisconnectReason::LinkDisabled,
            "too_many_websockets" => DisconnectReason::TooManyWebsockets,
            other => DisconnectReason::Other(other.to_owned()),
        }
    }

    /// The reason as Slack spells it.
    pub fn as_str(&self) -> &str {
        match self {
            DisconnectReason::Warning => "warning",
            DisconnectReason::RefreshRequested => "refresh_requested",
            DisconnectReason::LinkDisabled => "link_disabled",
            DisconnectReason::TooManyWebsockets => "too_many_websockets",
            DisconnectReason::Other(other) => other,
        }
    }

    /// What the engine must do about it.
    pub fn action(&self) -> DisconnectAction {
        match self {
            DisconnectReason::LinkDisabled => DisconnectAction::Stop,
            DisconnectReason::TooManyWebsockets => DisconnectAction::BackOff,
            DisconnectReason::Warning => DisconnectAction::Warned,
            DisconnectReason::RefreshRequested | DisconnectReason::Other(_) => {
                DisconnectAction::Refresh
            }
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `disconnect` asks of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectAction {
    /// `warning`: `refresh_requested` follows in about 10 s. Make before break, as for
    /// [`DisconnectAction::Refresh`]: Slack still delivers on this socket meanwhile.
    Warned,
    /// Make before break: open the replacement socket now; when its `hello` arrives, stop
    /// reading envelopes from the old one, let its acks go out, then close it (bounded).
    Refresh,
    /// Close the socket and stop the client with a typed error (`link_disabled`: reconnecting
    /// cannot help until Socket Mode is switched back on).
    Stop,
    /// Close this socket, do not replace it at once: back off exponentially (from
    /// 2 s doubling to 5 min, never below half the step) and report one `error` event.
    BackOff,
}

/// A frame from Slack, fully parsed (the dispatcher's view).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// `{"type":"hello",...}`.
    Hello(Hello),
    /// `{"type":"disconnect","reason":...}`.
    Disconnect {
        /// Why.
        reason: DisconnectReason,
        /// `debug_info.host`, when given.
        host: Option<String>,
    },
    /// An envelope (anything with a string `envelope_id` and a string `type`).
    Envelope(Envelope),
    /// Any other JSON object (dispatched as `unknown`).
    Unknown(Value),
}

impl Frame {
    /// Parses a text frame. `None` when it is not a JSON object.
    pub fn parse(text: &str) -> Option<Frame> {
        let value: Value = serde_json::from_str(text).ok()?;
        Frame::from_value(value)
    }

    /// Classifies a parsed frame. `None` when it is not a JSON object.
    pub fn from_value(value: Value) -> Option<Frame> {
        if !value.is_object() {
            return None;
        }
        if let Some(envelope) = Envelope::from_value(&value) {
            return Some(Frame::Envelope(envelope));
        }
        Some(match value.get("type").and_then(Value::as_str) {
            Some("hello") => Frame::Hello(Hello::from_value(&value)),
            Some("disconnect") => Frame::Disconnect {
                reason: DisconnectReason::from_reason(
                    value.get("reason").and_then(Value::as_str).unwrap_or(""),
                ),
                host: value
                    .pointer("/debug_info/host")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            _ => Frame::Unknown(value),
        })
    }

    /// The names the frame is dispatched under, in order (`"*"` last).
    pub fn dispatch_names(&self) -> Vec<String> {
        match self {
            Frame::Hello(_) => vec!["hello".into(), "*".into()],
            Frame::Disconnect { .. } => vec!["disconnect".into(), "*".into()],
            Frame::Envelope(envelope) => envelope.dispatch_names(),
            Frame::Unknown(_) => vec!["unknown".into(), "*".into()],
        }
    }
}

// ----- the reader's cheap look -----

/// What the reader needs to know about a frame before queueing it, found without building a
/// `Value` (strings are borrowed from the frame when they hold no escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Peek<'a> {
    /// `hello`: the connection is ready.
    Hello,
    /// `disconnect`, with its reason.
    Disconnect(DisconnectReason),
    /// An envelope, to be acked by its id.
    Envelope {
        envelope_id: Cow<'a, str>,
        kind: EnvelopeKind,
        accepts_response_payload: bool,
        /// `payload.event_id`, for dedupe (`events_api` only).
        event_id: Option<Cow<'a, str>>,
    },
    /// A JSON object that is none of the above (dispatched as `unknown`).
    Other,
    /// Not a JSON object, or a shape the cheap look cannot read (a non-object `payload`, a
    /// field of an unexpected type, a duplicate key): use [`Frame::parse`] to decide.
    Unclear,
}

/// Looks at a frame cheaply (see [`Peek`]): one pass over its top level (nested values skipped
/// unread), and for an `events_api` envelope a second one over `payload`, up to its `event_id`.
pub(crate) fn peek(text: &str) -> Peek<'_> {
    // Slack's order: envelope_id, payload, type, accepts_response_payload, retry_*.
    let keys = [
        "type",
        "envelope_id",
        "accepts_response_payload",
        "reason",
        "payload",
    ];
    let envelope = |f: &[Option<Raw<'_>>; 5]| {
        f[0].is_some() && f[1].is_some() && f[2].is_some() && f[4].is_some()
    };
    let Some([kind, envelope_id, accepts, reason, payload]) = scan(text, &keys, envelope) else {
        return Peek::Unclear;
    };
    // Absent or null: none. Any other value than a string: only a full parse can judge.
    fn text_of(raw: Option<Raw<'_>>) -> Result<Option<Cow<'_, str>>, ()> {
        match raw {
            None | Some(Raw::Null) => Ok(None),
            Some(r) => r.as_str().map(Some).ok_or(()),
        }
    }
    let (Ok(kind), Ok(envelope_id), Ok(reason)) =
        (text_of(kind), text_of(envelope_id), text_of(reason))
    else {
        return Peek::Unclear;
    };
    let accepts_response_payload = match accepts {
        None | Some(Raw::Null) => false,
        Some(Raw::Bool(b)) => b,
        Some(_) => return Peek::Unclear,
    };
    let payload = match payload {
        None | Some(Raw::Null) => None,
        Some(Raw::Object(p)) => Some(p),
        Some(_) => return Peek::Unclear,
    };
    match (envelope_id, kind) {
        (Some(envelope_id), Some(kind)) => {
            let kind = EnvelopeKind::from_type(&kind);
            let event_id = match (&kind, payload) {
                (EnvelopeKind::EventsApi, Some(p)) => {
                    // In Slack's payloads `event_id` follows the event: the event is skipped.
                    let Some([id]) = scan(p, &["event_id"], |f| f[0].is_some()) else {
                        return Peek::Unclear;
                    };
                    match text_of(id) {
                        Ok(id) => id,
                        Err(()) => return Peek::Unclear,
                    }
                }
                _ => None,
            };
            Peek::Envelope {
                envelope_id,
                kind,
                accepts_response_payload,
                event_id,
            }
        }
        (_, Some(kind)) if kind == "hello" => Peek::Hello,
        (_, Some(kind)) if kind == "disconnect" => Peek::Disconnect(DisconnectReason::from_reason(
            reason.as_deref().unwrap_or(""),
        )),
        _ => Peek::Other,
    }
}

// ----- keepalive and backoff -----

/// The delay after `too_many_websockets`: exponential from [`CAP_BACKOFF_BASE`] to
/// [`CAP_BACKOFF_CAP`], with *equal* jitter (never below half the step), so that a client over
/// the cap never storms Slack. Reset once a socket says `hello`.
#[derive(Debug)]
pub(crate) struct CapBackoff {
    base: Duration,
    cap: Duration,
    inner: Reconnect,
}

impl CapBackoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> CapBackoff {
        CapBackoff {
            base,
            cap,
            inner: CapBackoff::policy(base, cap),
        }
    }

    fn policy(base: Duration, cap: Duration) -> Reconnect {
        // Only the exponential part is used: no attempt limit, no gate (the engine's own
        // connect-rate gate still applies to every apps.connections.open call).
        Reconnect::new(base, cap, Duration::MAX, None, u32::MAX, Duration::ZERO)
    }

    /// The delay before the next dial; `jitter` is uniform in `0.0..=1.0`.
    pub(crate) fn next_delay(&mut self, jitter: f64) -> Duration {
        let equal = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
        self.inner.after_failure(None, equal).unwrap_or(self.cap)
    }

    /// A socket said `hello`: the cap is no longer in the way.
    pub(crate) fn reset(&mut self) {
        self.inner = CapBackoff::policy(self.base, self.cap);
    }
}

impl Default for CapBackoff {
    fn default() -> CapBackoff {
        CapBackoff::new(CAP_BACKOFF_BASE, CAP_BACKOFF_CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn only_app_tokens_pass_and_the_message_never_shows_the_token() {
        assert!(check_app_token("xapp-1-A0-123-abc").is_ok());
        let cases = [
            ("", "empty"),
            ("xoxb-123-secret", "bot token (xoxb-...)"),
            ("xoxp-123-secret", "user token (xoxp-...)"),
            ("abc-secret", "must be an app-level token"),
        ];
        for (token, expected) in cases {
            let err = check_app_token(token).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{token:?}: {text}");
            assert!(!text.contains("secret"), "{text}");
            assert!(err.is_fatal());
        }
        assert!(check_app_token("xoxb-1")
            .unwrap_err()
            .to_string()
            .contains("bot_token()"));
    }

    #[test]
    fn option_checks() {
        assert!(check_connections(1).is_ok());
        assert!(check_connections(10).is_ok());
        assert!(check_connections(0).is_err());
        assert!(check_connections(11)
            .unwrap_err()
            .to_string()
            .contains("between 1 and 10"));
        assert!(check_keepalive(10 * S, 20 * S).is_ok());
        assert!(check_keepalive(10 * S, 5 * S).is_ok());
        assert!(check_keepalive(Duration::ZERO, 20 * S).is_err());
        assert!(check_keepalive(S, Duration::from_millis(4999))
            .unwrap_err()
            .to_string()
            .contains("at least 5 s"));
        assert!(check_ack_deadline(Duration::from_millis(2500)).is_ok());
        assert!(check_ack_deadline(Duration::ZERO).is_err());
        assert!(check_ack_deadline(3 * S).is_err());
    }

    #[test]
    fn debug_reconnects_is_appended() {
        assert_eq!(
            with_debug_reconnects("wss://x/link/?ticket=1&app_id=2"),
            "wss://x/link/?ticket=1&app_id=2&debug_reconnects=true"
        );
        assert_eq!(
            with_debug_reconnects("ws://x/link"),
            "ws://x/link?debug_reconnects=true"
        );
    }

    #[test]
    fn open_errors_are_classified_by_the_socket_mode_list() {
        let api = |status, code: &str| Error::Api {
            method: OPEN_METHOD.into(),
            status,
            code: code.into(),
            body: Value::Null,
            retry_after: None,
        };
        let fatal = [
            "invalid_auth",
            "not_authed",
            "account_inactive",
            "token_revoked",
            "token_expired",
            "no_permission",
            "missing_scope",
            "not_allowed_token_type",
            "missing_args",
            "is_bot",
            "forbidden_team",
            "access_denied",
            "ekm_access_denied",
            "two_factor_setup_required",
            "enterprise_is_restricted",
            "method_deprecated",
            "deprecated_endpoint",
            "invalid_arguments",
            "missing_post_type",
        ];
        for code in fatal {
            assert!(api(200, code).is_fatal(), "{code}");
            assert!(is_fatal_open_code(code), "{code}");
        }
        let retryable = [
            "internal_error",
            "fatal_error",
            "service_unavailable",
            "request_timeout",
            "org_login_required",
            "team_added_to_org",
            "accesslimited",
            "something_new",
        ];
        for code in retryable {
            assert!(!api(200, code).is_fatal(), "{code}");
            assert!(api(200, code).is_retryable(), "{code}");
        }
        assert!(api(403, "http_403").is_fatal());
        assert!(api(404, "http_404").is_fatal());
        assert!(!api(429, "ratelimited").is_fatal());
        assert!(!api(500, "http_500").is_fatal());
        assert!(Error::LinkDisabled.is_fatal());
        // The RTM rule is unchanged: accesslimited stays fatal for rtm.connect.
        let rtm = Error::Api {
            method: "rtm.connect".into(),
            status: 200,
            code: "accesslimited".into(),
            body: Value::Null,
            retry_after: None,
        };
        assert!(rtm.is_fatal());
    }

    fn envelope(frame: Value) -> Envelope {
        Envelope::from_value(&frame).expect("an envelope")
    }

    #[test]
    fn envelopes_are_named_inner_first_then_type_then_star() {
        let table: Vec<(Value, Vec<&str>)> = vec![
            (
                json!({"envelope_id": "e1", "type": "events_api", "payload": {
                    "type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}}),
                vec!["app_mention", "events_api", "*"],
            ),
            (
                json!({"envelope_id": "e2", "type": "events_api", "payload": {
                    "type": "app_rate_limited", "minute_rate_limited": 1518467820}}),
                vec!["app_rate_limited", "events_api", "*"],
            ),
            (
                json!({"envelope_id": "e3", "type": "events_api", "payload": {}}),
                vec!["app_rate_limited", "events_api", "*"],
            ),
            (
                json!({"envelope_id": "e4", "type": "interactive", "payload": {"type": "block_actions"}}),
                vec!["block_actions", "interactive", "*"],
            ),
            (
                json!({"envelope_id": "e5", "type": "interactive", "payload": {}}),
                vec!["interactive", "*"],
            ),
            (
                json!({"envelope_id": "e6", "type": "slash_commands", "payload": {"command": "/deploy"}}),
                vec!["/deploy", "slash_commands", "*"],
            ),
            (
                json!({"envelope_id": "e7", "type": "brand_new", "payload": {"type": "x"}}),
                vec!["unknown", "*"],
            ),
            (
                json!({"envelope_id": "e8", "type": "events_api", "payload": "not an object"}),
                vec!["app_rate_limited", "events_api", "*"],
            ),
        ];
        for (frame, names) in table {
            let e = envelope(frame.clone());
            assert_eq!(e.dispatch_names(), names, "{frame}");
        }
    }

    #[test]
    fn taking_an_envelope_moves_its_payload_and_reads_the_same_fields() {
        let frame = json!({"envelope_id": "e1", "type": "events_api", "retry_attempt": 2,
            "payload": {"event": {"type": "app_mention"}, "event_id": "Ev1"}});
        let copied = Envelope::from_value(&frame).unwrap();
        let mut owned = frame.clone();
        let taken = Envelope::take(&mut owned).unwrap();
        assert_eq!(taken, copied);
        assert!(owned.get("payload").is_none(), "moved out, not copied");
        let mut not_one = json!({"type": "hello"});
        assert!(Envelope::take(&mut not_one).is_none());
        assert_eq!(not_one, json!({"type": "hello"}), "left alone");
    }

    #[test]
    fn envelope_fields_and_retries() {
        let e = envelope(json!({
            "envelope_id": "e1", "type": "events_api", "accepts_response_payload": false,
            "retry_attempt": 2, "retry_reason": "timeout",
            "payload": {"event_id": "Ev9", "event": {"type": "message", "text": "hi"}}
        }));
        assert_eq!(e.kind, EnvelopeKind::EventsApi);
        assert_eq!(e.event_id(), Some("Ev9"));
        assert_eq!(e.event().unwrap()["text"], "hi");
        assert_eq!(e.retry_attempt, 2);
        assert_eq!(e.retry_reason.as_deref(), Some("timeout"));
        assert!(e.is_retry());
        let first = envelope(json!({"envelope_id": "e2", "type": "slash_commands",
            "accepts_response_payload": true, "retry_attempt": 0, "retry_reason": "",
            "payload": {"command": "/x", "event_id": "not-an-event"}}));
        assert!(!first.is_retry());
        assert_eq!(first.retry_reason, None);
        assert!(first.accepts_response_payload);
        assert_eq!(first.event_id(), None, "only events have event ids");
        assert_eq!(first.event(), None);
        assert!(Envelope::from_value(&json!({"type": "events_api"})).is_none());
        assert!(Envelope::from_value(&json!({"envelope_id": 5, "type": "events_api"})).is_none());
    }

    #[test]
    fn frames_are_classified() {
        let hello = Frame::parse(
            r#"{"type":"hello","num_connections":3,"debug_info":{"host":"applink-7","build_number":118,
            "approximate_connection_time":18060},"connection_info":{"app_id":"A1"}}"#,
        )
        .unwrap();
        let Frame::Hello(h) = &hello else {
            panic!("{hello:?}")
        };
        assert_eq!(h.num_connections, Some(3));
        assert_eq!(
            h.approximate_connection_time,
            Some(Duration::from_secs(18060))
        );
        assert_eq!(h.host.as_deref(), Some("applink-7"));
        assert_eq!(h.app_id.as_deref(), Some("A1"));
        assert!(h.more_sockets_than(2));
        assert!(!h.more_sockets_than(3));
        assert_eq!(hello.dispatch_names(), ["hello", "*"]);
        assert_eq!(
            Frame::parse(r#"{"type":"hello"}"#).unwrap(),
            Frame::Hello(Hello::default())
        );

        let d =
            Frame::parse(r#"{"type":"disconnect","reason":"warning","debug_info":{"host":"h"}}"#)
                .unwrap();
        assert_eq!(
            d,
            Frame::Disconnect {
                reason: DisconnectReason::Warning,
                host: Some("h".into())
            }
        );
        assert_eq!(d.dispatch_names(), ["disconnect", "*"]);
        assert!(matches!(
            Frame::parse(r#"{"type":"something"}"#),
            Some(Frame::Unknown(_))
        ));
        assert!(matches!(Frame::parse("{}"), Some(Frame::Unknown(_))));
        assert_eq!(Frame::parse("[1]"), None);
        assert_eq!(Frame::parse("not json"), None);
    }

    #[test]
    fn disconnect_reasons_map_to_actions() {
        let table = [
            ("warning", DisconnectAction::Warned),
            ("refresh_requested", DisconnectAction::Refresh),
            ("link_disabled", DisconnectAction::Stop),
            ("too_many_websockets", DisconnectAction::BackOff),
            ("socket_restart", DisconnectAction::Refresh),
            ("", DisconnectAction::Refresh),
        ];
        for (reason, action) in table {
            let r = DisconnectReason::from_reason(reason);
            assert_eq!(r.action(), action, "{reason}");
            assert_eq!(r.as_str(), reason);
        }
    }

    #[test]
    fn the_cheap_look_agrees_with_the_full_parse() {
        let ev = r#"{"envelope_id":"e1","type":"events_api","accepts_response_payload":false,
            "payload":{"type":"event_callback","event_id":"Ev1","event":{"type":"message","text":"a \"quoted\" text","blocks":[{"a":[1,2,{"b":null}]}]}},
            "retry_attempt":0,"retry_reason":""}"#;
        assert_eq!(
            peek(ev),
            Peek::Envelope {
                envelope_id: "e1".into(),
                kind: EnvelopeKind::EventsApi,
                accepts_response_payload: false,
                event_id: Some("Ev1".into()),
            }
        );
        // Borrowed when the string has no escapes.
        if let Peek::Envelope {
            envelope_id,
            event_id,
            ..
        } = peek(ev)
        {
            assert!(matches!(envelope_id, Cow::Borrowed(_)));
            assert!(matches!(event_id, Some(Cow::Borrowed(_))));
        }
        // Escapes are decoded.
        assert!(matches!(
            peek(r#"{"envelope_id":"e\u0031","type":"slash_commands","accepts_response_payload":true,"payload":{"command":"/x","event_id":"no"}}"#),
            Peek::Envelope { envelope_id, kind: EnvelopeKind::SlashCommands, accepts_response_payload: true, event_id: None }
                if envelope_id == "e1"
        ));
        // Slack's own order: `payload` first, `type` after it; the event's and the payload's
        // `type`s (and a text holding `"type":"hello"`) are nested and never match.
        let slack = r#"{"envelope_id":"5e1a0001","payload":{"token":"t","team_id":"T1","event":{"client_msg_id":"c1","type":"message","text":"{\"type\":\"hello\"}","blocks":[{"type":"rich_text"}]},"type":"event_callback","event_id":"Ev9","event_time":1},"type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}"#;
        assert_eq!(
            peek(slack),
            Peek::Envelope {
                envelope_id: "5e1a0001".into(),
                kind: EnvelopeKind::EventsApi,
                accepts_response_payload: false,
                event_id: Some("Ev9".into()),
            }
        );
        assert_eq!(
            peek(r#"{"payload":{"type":"hello"},"num_connections":1,"type":"hello"}"#),
            Peek::Hello
        );
        assert_eq!(peek(r#"{"payload":{"type":"hello"}}"#), Peek::Other);
        assert_eq!(peek(r#"{"type":"hello","num_connections":1}"#), Peek::Hello);
        assert_eq!(
            peek(r#"{"type":"disconnect","reason":"link_disabled"}"#),
            Peek::Disconnect(DisconnectReason::LinkDisabled)
        );
        assert_eq!(peek(r#"{"type":"other"}"#), Peek::Other);
        assert_eq!(peek(r#"{"envelope_id":"x"}"#), Peek::Other);
        for unclear in [
            "nope",
            "[1]",
            r#"{"envelope_id":"e","type":"events_api","payload":"text"}"#,
            r#"{"envelope_id":1,"type":"events_api"}"#,
            r#"{"type":"a","type":"b"}"#,
            r#"{"envelope_id":"e","type":"events_api","payload":{"event_id":7}}"#,
            r#"{"envelope_id":"e","type":"events_api","accepts_response_payload":"no"}"#,
        ] {
            assert_eq!(peek(unclear), Peek::Unclear, "{unclear}");
        }
    }

    #[test]
    fn refresh_is_planned_before_the_connection_time_runs_out() {
        let t0 = Instant::now();
        let hello = Hello {
            approximate_connection_time: Some(Duration::from_secs(18060)),
            ..Hello::default()
        };
        assert_eq!(hello.refresh_at(t0), t0 + Duration::from_secs(18000));
        let debug = Hello {
            approximate_connection_time: Some(Duration::from_secs(360)),
            ..Hello::default()
        };
        assert_eq!(debug.refresh_at(t0), t0 + Duration::from_secs(324));
        assert_eq!(
            Hello::default().refresh_at(t0),
            t0 + Duration::from_secs(18000)
        );
    }

    #[test]
    fn too_many_websockets_backs_off_exponentially_without_a_storm() {
        let mut b = CapBackoff::default();
        let lows: Vec<_> = (0..9).map(|_| b.next_delay(0.0)).collect();
        assert_eq!(
            lows,
            [
                S,
                2 * S,
                4 * S,
                8 * S,
                16 * S,
                32 * S,
                64 * S,
                128 * S,
                150 * S
            ],
            "never below half the step, even with zero jitter"
        );
        b.reset();
        assert_eq!(b.next_delay(1.0), 2 * S);
        assert_eq!(b.next_delay(1.0), 4 * S);
        // In the first minute, at most a handful of dials whatever the jitter.
        let mut b = CapBackoff::default();
        let mut t = Duration::ZERO;
        let mut dials = 1;
        while t < 60 * S {
            t += b.next_delay(0.0);
            dials += 1;
        }
        assert!(dials <= 7, "{dials} dials in a minute");
    }
}
