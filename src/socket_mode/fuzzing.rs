//! One check over any frame text, shared by the `socket_mode_frame` fuzz target (through
//! [`__fuzz_frame`]) and the unit test below: the reader's quick look agrees with the full
//! parse, and what the reader does with a `hello`, a `disconnect` and an envelope (the refresh
//! time, the disconnect action, the ack and dedupe decision, the ack frame) never panics.

use std::time::Instant;

use super::ack::{build_ack, AckMode, AckSlot, DEFAULT_ACK_DEADLINE};
use super::dedupe::Dedupe;
use super::frame::{Frame, MAX_CONNECTION_TIME};
use super::intake::{intake, Arrival};
use super::peek::{peek, Peek};

/// Fuzzing hook, not an API: runs [`check_frame`] on the bytes of a websocket text frame
/// (tungstenite only delivers text that is valid UTF-8: other bytes are skipped).
#[doc(hidden)]
pub fn __fuzz_frame(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_frame(text);
    }
}

/// Panics when the reader's quick look ([`peek`]) and [`Frame::parse`] disagree about `text`,
/// or when the reader's handling of it panics.
pub(crate) fn check_frame(text: &str) {
    let now = Instant::now();
    let look = peek(text);
    let frame = Frame::parse(text);
    match (&look, &frame) {
        // The quick look could not tell: the reader parses it whole.
        (Peek::Unclear, _) => {}
        (Peek::Hello, Some(Frame::Hello(_))) => {}
        (Peek::Disconnect(a), Some(Frame::Disconnect { reason: b, .. })) => {
            assert_eq!(a, b, "{text}")
        }
        (
            Peek::Envelope {
                envelope_id,
                kind,
                accepts_response_payload,
                event_id,
            },
            Some(Frame::Envelope(e)),
        ) => {
            assert_eq!(envelope_id.as_ref(), e.envelope_id, "{text}");
            assert_eq!(kind, &e.kind, "{text}");
            assert_eq!(
                *accepts_response_payload, e.accepts_response_payload,
                "{text}"
            );
            assert_eq!(event_id.as_deref(), e.event_id(), "{text}");
        }
        (Peek::Other, Some(Frame::Unknown(_))) => {}
        // Valid JSON nested deeper than serde_json builds a `Value` for (128 levels): the
        // quick look reads the envelope (and the reader acks it, so Slack does not redeliver
        // it in vain); the dispatcher reports it as an `error` event.
        (_, None) if nested_too_deep(text) => {}
        // Not JSON at all: the quick look is a scan, not a validator (a control character in a
        // string, say); whatever it answered, the dispatcher's full parse reports the frame as
        // an `error` event. Slack never sends such frames.
        (_, None) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() => {}
        _ => panic!("the quick look {look:?} disagrees with the parse {frame:?}: {text}"),
    }
    let Some(frame) = frame else { return };
    match &frame {
        Frame::Hello(hello) => {
            let at = hello.refresh_at(now);
            assert!(at <= now + MAX_CONNECTION_TIME, "{text}");
            let _ = hello.more_sockets_than(usize::MAX);
            let _ = hello.more_sockets_than(0);
        }
        Frame::Disconnect { reason, .. } => {
            let _ = (reason.action(), reason.as_str());
        }
        Frame::Envelope(envelope) => {
            let arrival = Arrival::from_envelope(envelope);
            let mut dedupe = Dedupe::default();
            for mode in [AckMode::Immediate, AckMode::AfterHandlers] {
                let first = intake(arrival, mode, Some(&mut dedupe), now);
                let again = intake(arrival, mode, Some(&mut dedupe), now);
                // A redelivery of a dispatched event is acked and never dispatched twice.
                if arrival.event_id.is_some() && envelope.kind == super::EnvelopeKind::EventsApi {
                    assert!(again.ack_now.is_some() && !again.dispatch, "{text}");
                }
                let _ = (first, intake(arrival, mode, None, now));
            }
            let mut slot = AckSlot::new(
                &envelope.envelope_id,
                envelope.accepts_response_payload,
                now,
                DEFAULT_ACK_DEADLINE,
            );
            let _ = slot.on_deadline(now);
            let _ = slot.ack(Some(envelope.payload.clone()));
            let _ = build_ack(&envelope.envelope_id, Some(envelope.payload.clone()), true);
            let _ = envelope.dispatch_names();
        }
        Frame::Unknown(_) => {}
    }
    let _ = frame.dispatch_names();
}

/// Valid JSON that `serde_json` will not parse into a `Value` (its recursion limit).
fn nested_too_deep(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
        && serde_json::from_str::<serde_json::Value>(text).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs that once were, or could be, trouble: numbers at the edges, types out of place,
    /// escapes, duplicate keys, nesting.
    #[test]
    fn tricky_frames_agree_and_never_panic() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let deep_payload = format!(
            r#"{{"envelope_id":"e","type":"events_api","payload":{}{}}}"#,
            "{\"a\":".repeat(150),
            "1".to_string() + &"}".repeat(150)
        );
        let frames = [
            "",
            "null",
            "[]",
            "\"hello\"",
            "{",
            deep.as_str(),
            deep_payload.as_str(),
            r#"{"type":"hello","debug_info":{"approximate_connection_time":18446744073709551615}}"#,
            r#"{"type":"hello","debug_info":{"approximate_connection_time":9223372036854775808}}"#,
            r#"{"type":"hello","debug_info":{"approximate_connection_time":-1}}"#,
            r#"{"type":"hello","debug_info":{"approximate_connection_time":1e308}}"#,
            r#"{"type":"hello","debug_info":{"approximate_connection_time":0}}"#,
            r#"{"type":"hello","num_connections":18446744073709551615}"#,
            r#"{"type":"hello","num_connections":-5,"debug_info":"x"}"#,
            r#"{"type":"hello","envelope_id":null}"#,
            r#"{"type":"hello","envelope_id":"e"}"#,
            r#"{"type":"hello","envelope_id":5}"#,
            r#"{"type":"disconnect"}"#,
            r#"{"type":"disconnect","reason":5}"#,
            r#"{"type":"disconnect","reason":"link_disabled","reason":"warning"}"#,
            r#"{"type":"disconnect","reason":"too_many_websockets"}"#,
            r#"{"type":"disconnect","reason":"\u0077arning"}"#,
            r#"{"type":"\u0068ello"}"#,
            r#"{"envelope\u005fid":"e1","type":"events_api","payload":{"event_id":"Ev1"}}"#,
            r#"{"envelope_id":"e1","type":"events_api","payload":{"event_id":"Ev1"},"retry_attempt":18446744073709551615}"#,
            r#"{"envelope_id":"e1","type":"events_api","payload":{"event_id":"Ev1"},"retry_attempt":-1,"retry_reason":7}"#,
            r#"{"envelope_id":"e1","type":"events_api","payload":{"event_id":5}}"#,
            r#"{"envelope_id":"e1","type":"events_api","payload":{"event_id":"a","event_id":"b"}}"#,
            r#"{"envelope_id":"e1","type":"events_api","payload":null}"#,
            r#"{"envelope_id":"e1","type":"events_api","payload":[1]}"#,
            r#"{"envelope_id":"e1","type":"events_api","accepts_response_payload":"yes"}"#,
            r#"{"envelope_id":"e1","type":"slash_commands","accepts_response_payload":true,"payload":{"command":"/x","event_id":"E"}}"#,
            r#"{"envelope_id":"","type":"","payload":{}}"#,
            r#"{"envelope_id":"e\"1","type":"interactive","accepts_response_payload":true,"payload":{"type":"block_actions"}}"#,
            r#"{"envelope_id":"e1","type":null}"#,
            r#"{"envelope_id":"e1"}"#,
            r#"{"type":"events_api"}"#,
            r#"{"type":1e400}"#,
            r#"{"type":"x","n":1e400}"#,
            r#"{"type":"x"} trailing"#,
            "{\"type\":\"x\",\"s\":\"\u{0}\"}",
        ];
        for text in frames {
            check_frame(text);
        }
    }
}
