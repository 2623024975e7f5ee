//! The Socket Mode wire types, public: [`Frame`] (`hello`, `disconnect`, envelopes, anything
//! else), [`Envelope`] and its dispatch names, [`Hello`] and the refresh time it implies,
//! [`DisconnectReason`] and what it asks for. Free of I/O.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest `approximate_connection_time` believed (Slack says about 5 h): a socket is
/// replaced at least once a day, whatever `hello` said.
pub const MAX_CONNECTION_TIME: Duration = Duration::from_secs(24 * 3600);
/// `approximate_connection_time` when `hello` carries none: Slack refreshes about every 5 h.
pub const DEFAULT_CONNECTION_TIME: Duration = Duration::from_secs(18_060);

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
    ///
    /// The time is Slack's to say, so it is never trusted beyond [`MAX_CONNECTION_TIME`]
    /// (a day): a huge value cannot overflow the clock, and the socket is still replaced
    /// in good time.
    pub fn refresh_at(&self, at: Instant) -> Instant {
        let life = self
            .approximate_connection_time
            .unwrap_or(DEFAULT_CONNECTION_TIME)
            .min(MAX_CONNECTION_TIME);
        let margin = (life / 10).min(Duration::from_secs(60));
        // A day past any `Instant` the process can hold does not overflow on any platform
        // Rust supports; should it, replace the socket at the default time instead.
        at.checked_add(life - margin)
            .or_else(|| at.checked_add(DEFAULT_CONNECTION_TIME))
            .unwrap_or(at)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn a_huge_connection_time_is_capped_not_a_panic() {
        let t0 = Instant::now();
        for secs in [u64::MAX, 1 << 63, 1 << 62, 24 * 3600 + 1] {
            let text = format!(
                r#"{{"type":"hello","num_connections":1,"debug_info":{{"approximate_connection_time":{secs}}}}}"#
            );
            let Some(Frame::Hello(hello)) = Frame::parse(&text) else {
                panic!("{text}")
            };
            assert_eq!(
                hello.refresh_at(t0),
                t0 + MAX_CONNECTION_TIME - Duration::from_secs(60),
                "{secs}"
            );
        }
    }
}
