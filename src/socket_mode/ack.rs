//! Acks, free of I/O: who acks which envelope and when ([`AckMode`], [`acked_by_reader`]), the
//! per-envelope state machine (pending → acked, exactly once), the ack frame and its 20,480-byte
//! guard, and the typed refusals that give the caller's payload back ([`AckError`]).

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::frame::EnvelopeKind;

/// Slack silently drops an ack frame this large or larger; it is refused locally instead.
pub const MAX_ACK_BYTES: usize = 20_480;
/// Default time after an envelope arrived at which a still-pending ack is sent bare (Slack
/// expects acks within 3 s and retries events after that).
pub const DEFAULT_ACK_DEADLINE: Duration = Duration::from_millis(2500);

/// When `events_api` envelopes are acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AckMode {
    /// By the reader thread as soon as the frame is parsed, before it is queued for the
    /// handlers: a backlog of slow handlers can never push an ack past Slack's 3 s. The default.
    #[default]
    Immediate,
    /// After the envelope's handlers returned (or at the ack deadline, whichever comes first): a
    /// crash before that leaves the event unacked, and Slack redelivers it.
    AfterHandlers,
}

/// Whether the reader acks this envelope itself, at once, with a bare ack.
///
/// `events_api` envelopes follow `event_ack`. `slash_commands` and `interactive` envelopes never:
/// their handlers may answer with a payload, and they are acked when the handlers return (or at
/// the ack deadline). Unknown types are treated like interactions when they accept a response
/// payload, and like events otherwise.
pub(crate) fn acked_by_reader(
    kind: &EnvelopeKind,
    accepts_response_payload: bool,
    event_ack: AckMode,
) -> bool {
    match kind {
        EnvelopeKind::EventsApi => event_ack == AckMode::Immediate,
        EnvelopeKind::SlashCommands | EnvelopeKind::Interactive => false,
        EnvelopeKind::Other(_) => !accepts_response_payload && event_ack == AckMode::Immediate,
    }
}

/// Who sent an envelope's ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckedBy {
    /// The reader, as soon as the frame arrived ([`AckMode::Immediate`]).
    Reader,
    /// A handler, with `ack()` or `ack_with(..)`.
    Handler,
    /// The client, bare, when the envelope's handlers had returned without acking.
    HandlersReturned,
    /// The client, bare, at the ack deadline while handlers were still running.
    Deadline,
}

impl fmt::Display for AckedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AckedBy::Reader => "by the reader on arrival",
            AckedBy::Handler => "by a handler",
            AckedBy::HandlersReturned => "when the handlers returned",
            AckedBy::Deadline => "at the ack deadline",
        })
    }
}

/// Why an ack was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckErrorKind {
    /// The envelope was acked already (every envelope is acked exactly once).
    AlreadyAcked(AckedBy),
    /// The ack deadline passed while handlers were running: a bare ack went out then (and a
    /// `late_ack` error event was dispatched); the response can no longer be sent. Answer
    /// through `response_url` or the Web API instead.
    Late,
    /// `ack_with` on an envelope whose `accepts_response_payload` is false.
    PayloadNotAccepted,
    /// The payload is not a JSON object (or a string, sent as `{"text": ...}`).
    InvalidPayload,
    /// The serialized ack frame would be [`MAX_ACK_BYTES`] or larger, which Slack drops
    /// silently. The envelope is still pending: ack again with less, or bare.
    TooLarge {
        /// Size of the ack frame in bytes.
        size: usize,
        /// The limit, [`MAX_ACK_BYTES`].
        limit: usize,
    },
    /// The connection the envelope came on has gone: an ack on another socket is not known to
    /// count. Slack redelivers unacked events; interactions are lost.
    ConnectionGone,
    /// The client is stopping.
    Stopped,
    /// The request is not an envelope (`hello`, `disconnect`, a pseudo-event): nothing to ack.
    NotAnEnvelope,
}

impl fmt::Display for AckErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckErrorKind::AlreadyAcked(by) => write!(f, "the envelope was already acked {by}"),
            AckErrorKind::Late => {
                f.write_str("the ack deadline passed: a bare ack was sent instead of the response")
            }
            AckErrorKind::PayloadNotAccepted => {
                f.write_str("this envelope does not accept a response payload")
            }
            AckErrorKind::InvalidPayload => {
                f.write_str("an ack payload must be a JSON object (or a string)")
            }
            AckErrorKind::TooLarge { size, limit } => write!(
                f,
                "ack of {size} bytes is not below the {limit}-byte limit (Slack drops it); \
                 use response_url or the Web API"
            ),
            AckErrorKind::ConnectionGone => {
                f.write_str("the connection the envelope came on has gone")
            }
            AckErrorKind::Stopped => f.write_str("the client is stopping"),
            AckErrorKind::NotAnEnvelope => f.write_str("only envelopes are acked"),
        }
    }
}

/// A refused ack. Like crossbeam's `SendError`, it gives the caller's payload back.
#[derive(Debug, Clone, PartialEq)]
pub struct AckError {
    kind: AckErrorKind,
    payload: Option<Value>,
}

impl AckError {
    pub(crate) fn new(kind: AckErrorKind, payload: Option<Value>) -> AckError {
        AckError { kind, payload }
    }

    /// Why the ack was refused.
    pub fn kind(&self) -> &AckErrorKind {
        &self.kind
    }

    /// The payload that was not sent (`None` for a bare ack).
    pub fn payload(&self) -> Option<&Value> {
        self.payload.as_ref()
    }

    /// The payload that was not sent, by value.
    pub fn into_payload(self) -> Option<Value> {
        self.payload
    }
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ack refused: {}", self.kind)
    }
}

impl std::error::Error for AckError {}

#[derive(Serialize)]
struct AckFrame<'a> {
    envelope_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Value>,
}

/// The ack frame text: `{"envelope_id":…}`, plus `"payload"` when given.
pub(crate) fn ack_frame(envelope_id: &str, payload: Option<&Value>) -> String {
    let frame = AckFrame {
        envelope_id,
        payload,
    };
    // Serializing a str and a Value into a String cannot fail.
    serde_json::to_string(&frame).unwrap_or_default()
}

/// A bare ack frame, `{"envelope_id":…}`.
pub(crate) fn bare_ack(envelope_id: &str) -> String {
    ack_frame(envelope_id, None)
}

/// Checks an ack payload and builds the frame: a JSON object as it is, a string as
/// `{"text": ...}`, `null` as a bare ack; the frame must stay below [`MAX_ACK_BYTES`]. On
/// refusal the caller's payload comes back unchanged.
pub(crate) fn build_ack(
    envelope_id: &str,
    payload: Option<Value>,
    accepts_response_payload: bool,
) -> Result<String, AckError> {
    let payload = match payload {
        None | Some(Value::Null) => return Ok(bare_ack(envelope_id)),
        Some(p) => p,
    };
    if !accepts_response_payload {
        return Err(AckError::new(
            AckErrorKind::PayloadNotAccepted,
            Some(payload),
        ));
    }
    let frame = match &payload {
        Value::Object(_) => ack_frame(envelope_id, Some(&payload)),
        Value::String(text) => {
            let mut obj = Map::new();
            obj.insert("text".into(), Value::String(text.clone()));
            ack_frame(envelope_id, Some(&Value::Object(obj)))
        }
        _ => return Err(AckError::new(AckErrorKind::InvalidPayload, Some(payload))),
    };
    if frame.len() >= MAX_ACK_BYTES {
        let kind = AckErrorKind::TooLarge {
            size: frame.len(),
            limit: MAX_ACK_BYTES,
        };
        return Err(AckError::new(kind, Some(payload)));
    }
    Ok(frame)
}

/// The ack state of one envelope: pending until exactly one ack frame is produced.
///
/// The engine keeps one per delivered envelope (behind a lock, as a handler's `ack_with` and
/// the deadline watchdog run on different threads), writes the frames this returns on the
/// envelope's own connection, and turns a failed write into [`AckErrorKind::ConnectionGone`].
#[derive(Debug, Clone)]
pub(crate) struct AckSlot {
    envelope_id: String,
    accepts_response_payload: bool,
    deadline: Instant,
    acked: Option<AckedBy>,
}

impl AckSlot {
    /// A pending envelope that arrived at `arrived`.
    pub(crate) fn new(
        envelope_id: &str,
        accepts_response_payload: bool,
        arrived: Instant,
        ack_deadline: Duration,
    ) -> AckSlot {
        AckSlot {
            envelope_id: envelope_id.to_owned(),
            accepts_response_payload,
            // The builder keeps the deadline below 3 s; saturate all the same.
            deadline: arrived.checked_add(ack_deadline).unwrap_or(arrived),
            acked: None,
        }
    }

    /// An envelope the reader acked on arrival (its `AckMode::Immediate` ack is already out).
    #[cfg(test)]
    pub(crate) fn acked_on_arrival(envelope_id: &str, arrived: Instant) -> AckSlot {
        AckSlot {
            envelope_id: envelope_id.to_owned(),
            accepts_response_payload: false,
            deadline: arrived,
            acked: Some(AckedBy::Reader),
        }
    }

    /// The envelope id.
    #[cfg(test)]
    pub(crate) fn envelope_id(&self) -> &str {
        &self.envelope_id
    }

    /// Who acked, once acked.
    pub(crate) fn acked_by(&self) -> Option<AckedBy> {
        self.acked
    }

    /// When the watchdog must act, while the ack is pending.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.acked.is_none().then_some(self.deadline)
    }

    /// A handler acks (`payload: None` for a bare ack). On success the frame to write; the
    /// envelope is then acked whatever happens to the write.
    pub(crate) fn ack(&mut self, payload: Option<Value>) -> Result<String, AckError> {
        match self.acked {
            Some(AckedBy::Deadline) => return Err(AckError::new(AckErrorKind::Late, payload)),
            Some(by) => return Err(AckError::new(AckErrorKind::AlreadyAcked(by), payload)),
            None => {}
        }
        let frame = build_ack(&self.envelope_id, payload, self.accepts_response_payload)?;
        self.acked = Some(AckedBy::Handler);
        Ok(frame)
    }

    /// The envelope's handlers all returned: a bare ack if none was sent.
    pub(crate) fn on_handlers_returned(&mut self) -> Option<String> {
        self.settle(AckedBy::HandlersReturned)
    }

    /// The watchdog looks at `now`: a bare ack if the deadline has passed and none was sent
    /// (the engine then dispatches an `error` event of kind `late_ack`).
    pub(crate) fn on_deadline(&mut self, now: Instant) -> Option<String> {
        if now < self.deadline {
            return None;
        }
        self.settle(AckedBy::Deadline)
    }

    fn settle(&mut self, by: AckedBy) -> Option<String> {
        if self.acked.is_some() {
            return None;
        }
        self.acked = Some(by);
        Some(bare_ack(&self.envelope_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn who_acks_what() {
        use EnvelopeKind::*;
        let other = || Other("new".into());
        let table = [
            (EventsApi, false, AckMode::Immediate, true),
            (EventsApi, false, AckMode::AfterHandlers, false),
            (SlashCommands, true, AckMode::Immediate, false),
            (Interactive, true, AckMode::Immediate, false),
            (Interactive, false, AckMode::Immediate, false),
            (other(), false, AckMode::Immediate, true),
            (other(), true, AckMode::Immediate, false),
            (other(), false, AckMode::AfterHandlers, false),
        ];
        for (kind, accepts, mode, reader) in table {
            assert_eq!(
                acked_by_reader(&kind, accepts, mode),
                reader,
                "{kind} {accepts} {mode:?}"
            );
        }
        assert_eq!(AckMode::default(), AckMode::Immediate);
    }

    #[test]
    fn ack_frames() {
        assert_eq!(bare_ack("e1"), r#"{"envelope_id":"e1"}"#);
        assert_eq!(
            ack_frame("e\"1", Some(&json!({"text": "hi"}))),
            r#"{"envelope_id":"e\"1","payload":{"text":"hi"}}"#
        );
        assert_eq!(
            build_ack("e1", Some(json!("done")), true).unwrap(),
            r#"{"envelope_id":"e1","payload":{"text":"done"}}"#
        );
        assert_eq!(
            build_ack("e1", Some(Value::Null), false).unwrap(),
            bare_ack("e1")
        );
        let err = build_ack("e1", Some(json!([1])), true).unwrap_err();
        assert_eq!(err.kind(), &AckErrorKind::InvalidPayload);
        assert_eq!(err.into_payload(), Some(json!([1])));
    }

    #[test]
    fn the_size_guard_refuses_20480_bytes_and_gives_the_payload_back() {
        // {"envelope_id":"e1","payload":{"text":"…"}} is 42 bytes plus the text.
        let overhead = ack_frame("e1", Some(&json!({"text": ""}))).len();
        let fits = json!({"text": "x".repeat(MAX_ACK_BYTES - 1 - overhead)});
        let frame = build_ack("e1", Some(fits), true).unwrap();
        assert_eq!(frame.len(), MAX_ACK_BYTES - 1);
        let big = json!({"text": "x".repeat(MAX_ACK_BYTES - overhead)});
        let err = build_ack("e1", Some(big.clone()), true).unwrap_err();
        assert_eq!(
            err.kind(),
            &AckErrorKind::TooLarge {
                size: MAX_ACK_BYTES,
                limit: MAX_ACK_BYTES
            }
        );
        assert!(err.to_string().contains("20480-byte limit"), "{err}");
        assert_eq!(err.payload(), Some(&big));
    }

    #[test]
    fn a_handler_acks_exactly_once() {
        let t0 = Instant::now();
        let mut slot = AckSlot::new("e1", true, t0, DEFAULT_ACK_DEADLINE);
        assert_eq!(slot.deadline(), Some(t0 + DEFAULT_ACK_DEADLINE));
        let frame = slot.ack(Some(json!({"text": "ok"}))).unwrap();
        assert_eq!(frame, r#"{"envelope_id":"e1","payload":{"text":"ok"}}"#);
        assert_eq!(slot.acked_by(), Some(AckedBy::Handler));
        assert_eq!(slot.deadline(), None);
        let again = slot.ack(Some(json!({"text": "twice"}))).unwrap_err();
        assert_eq!(again.kind(), &AckErrorKind::AlreadyAcked(AckedBy::Handler));
        assert_eq!(again.into_payload(), Some(json!({"text": "twice"})));
        assert_eq!(slot.on_handlers_returned(), None);
        assert_eq!(slot.on_deadline(t0 + 10 * DEFAULT_ACK_DEADLINE), None);
    }

    #[test]
    fn refusals_leave_the_envelope_pending() {
        let t0 = Instant::now();
        let mut slot = AckSlot::new("e1", false, t0, DEFAULT_ACK_DEADLINE);
        let err = slot.ack(Some(json!({"text": "no"}))).unwrap_err();
        assert_eq!(err.kind(), &AckErrorKind::PayloadNotAccepted);
        assert_eq!(slot.acked_by(), None);
        assert_eq!(slot.ack(None).unwrap(), bare_ack("e1"));

        let mut slot = AckSlot::new("e2", true, t0, DEFAULT_ACK_DEADLINE);
        let big = json!({"text": "y".repeat(MAX_ACK_BYTES)});
        assert!(matches!(
            slot.ack(Some(big)).unwrap_err().kind(),
            AckErrorKind::TooLarge { .. }
        ));
        assert_eq!(slot.on_handlers_returned(), Some(bare_ack("e2")));
        assert_eq!(slot.acked_by(), Some(AckedBy::HandlersReturned));
    }

    #[test]
    fn the_deadline_sends_a_bare_ack_and_a_later_ack_with_is_late() {
        let t0 = Instant::now();
        let mut slot = AckSlot::new("e1", true, t0, 2500 * MS);
        assert_eq!(slot.on_deadline(t0 + 2499 * MS), None);
        assert_eq!(slot.on_deadline(t0 + 2500 * MS), Some(bare_ack("e1")));
        assert_eq!(slot.on_deadline(t0 + 2600 * MS), None, "only once");
        let late = slot.ack(Some(json!({"text": "too late"}))).unwrap_err();
        assert_eq!(late.kind(), &AckErrorKind::Late);
        assert_eq!(late.into_payload(), Some(json!({"text": "too late"})));
        assert_eq!(slot.ack(None).unwrap_err().kind(), &AckErrorKind::Late);
        assert_eq!(slot.on_handlers_returned(), None);
    }

    #[test]
    fn reader_acked_envelopes_refuse_handler_acks() {
        let mut slot = AckSlot::acked_on_arrival("e1", Instant::now());
        assert_eq!(slot.envelope_id(), "e1");
        assert_eq!(slot.deadline(), None);
        let err = slot.ack(None).unwrap_err();
        assert_eq!(err.kind(), &AckErrorKind::AlreadyAcked(AckedBy::Reader));
        assert_eq!(err.payload(), None);
        assert!(err
            .to_string()
            .contains("already acked by the reader on arrival"));
        assert_eq!(slot.on_handlers_returned(), None);
    }
}
