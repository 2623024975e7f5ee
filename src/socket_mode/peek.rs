//! The reader's quick look at a frame ([`peek`]): what it must know before queueing the frame
//! (`hello`, `disconnect` and its reason, an envelope's id, type, `accepts_response_payload`
//! and `event_id`), read without building a `Value`. It must agree with
//! [`Frame::parse`](super::Frame::parse) wherever it answers (the test below, the
//! `socket_mode_frame` fuzz target).

use std::borrow::Cow;

use super::frame::{DisconnectReason, EnvelopeKind};
use crate::scan::{scan, Raw};

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
    // Only an object is a frame (an array never is, whatever it holds).
    if !text.trim_start().starts_with('{') {
        return Peek::Unclear;
    }
    // Slack's order: envelope_id, payload, type, accepts_response_payload, retry_*.
    let keys = [
        "type",
        "envelope_id",
        "accepts_response_payload",
        "reason",
        "payload",
    ];
    // Read to the end of the object, not only until every key was seen: a key repeated later
    // (serde_json keeps the last) must make the look unclear, never disagree with the parse.
    // What follows `accepts_response_payload` in Slack's frames is two small retry fields.
    let Some([kind, envelope_id, accepts, reason, payload]) = scan(text, &keys, |_| false) else {
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
                    // To the end, so that a repeated `event_id` is seen (see above).
                    let Some([id]) = scan(p, &["event_id"], |_| false) else {
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
}
