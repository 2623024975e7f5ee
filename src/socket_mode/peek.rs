//! The reader's quick look at a frame ([`peek`]): what it must know before queueing the frame
//! (`hello`, `disconnect` and its reason, an envelope's id, type, `accepts_response_payload`
//! and `event_id`), read without building a `Value`. It must agree with
//! [`Frame::parse`](super::Frame::parse) wherever it answers (the test below, the
//! `socket_mode_frame` fuzz target).

use std::borrow::Cow;

use serde::Deserialize;

use super::frame::{DisconnectReason, EnvelopeKind};

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

#[derive(Deserialize)]
struct PeekFrame<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    envelope_id: Option<Text<'a>>,
    #[serde(default)]
    accepts_response_payload: Option<bool>,
    #[serde(borrow, default)]
    reason: Option<Text<'a>>,
    #[serde(borrow, default)]
    payload: Option<PeekPayload<'a>>,
}

#[derive(Deserialize)]
struct PeekPayload<'a> {
    #[serde(borrow, default)]
    event_id: Option<Text<'a>>,
}

/// A string borrowed from the frame when it has no escapes (serde borrows a `Cow` only when it
/// is a field of its own, not inside an `Option`).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// Looks at a frame cheaply (see [`Peek`]).
pub(crate) fn peek(text: &str) -> Peek<'_> {
    // serde reads a struct from an array too (`["slash_commands","e1"]`): only an object is
    // a frame.
    if !text.trim_start().starts_with('{') {
        return Peek::Unclear;
    }
    let Ok(frame) = serde_json::from_str::<PeekFrame<'_>>(text) else {
        return Peek::Unclear;
    };
    let kind = frame.kind.map(|t| t.0);
    match (frame.envelope_id.map(|t| t.0), kind) {
        (Some(envelope_id), Some(kind)) => {
            let kind = EnvelopeKind::from_type(&kind);
            let event_id = match kind {
                EnvelopeKind::EventsApi => frame.payload.and_then(|p| p.event_id).map(|t| t.0),
                _ => None,
            };
            Peek::Envelope {
                envelope_id,
                kind,
                accepts_response_payload: frame.accepts_response_payload.unwrap_or(false),
                event_id,
            }
        }
        (_, Some(kind)) if kind == "hello" => Peek::Hello,
        (_, Some(kind)) if kind == "disconnect" => Peek::Disconnect(DisconnectReason::from_reason(
            frame.reason.as_ref().map_or("", |r| &r.0),
        )),
        _ => Peek::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert_eq!(peek(unclear), Peek::Unclear, "{unclear}");
        }
    }
}
