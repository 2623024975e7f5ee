//! I/O-free RTM rules: message ids, outbound frame preparation, and what the reader and
//! dispatcher must know of an inbound frame without parsing it ([`head`]). Everything here takes inputs and returns
//! what to do.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::error::{SendError, SendErrorKind};
use crate::rtm::messaging::MAX_TEXT_CHARS;
use crate::scan::{scan, Raw};

/// Slack disconnects a client that sends a frame longer than this.
pub(crate) const MAX_OUTBOUND_FRAME: usize = 16_384;

/// Message ids: positive, unique for the client's lifetime (never reset on reconnect, so a reply
/// replayed after a reconnect cannot match the wrong message).
#[derive(Debug)]
pub(crate) struct Ids(AtomicU64);

impl Default for Ids {
    fn default() -> Ids {
        Ids(AtomicU64::new(1))
    }
}

/// Ids stay below 2^53, JSON's exact integer range.
const ID_LIMIT: u64 = 1 << 53;

impl Ids {
    /// The next id; `None` once the ids below 2^53 are used up (after a caller chose one near
    /// the limit).
    pub(crate) fn next(&self) -> Option<u64> {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < ID_LIMIT).then_some(n + 1)
            })
            .ok()
    }

    /// Makes sure ids we hand out later never collide with one the caller chose.
    fn observe(&self, id: u64) {
        self.0.fetch_max(id.saturating_add(1), Ordering::Relaxed);
    }
}

/// An outbound frame, checked and serialized.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub id: u64,
    pub text: String,
    /// A chat `message`: throttled, and may carry a receipt.
    pub is_message: bool,
    /// The id was added by us (remove it to give the caller's payload back).
    pub added_id: bool,
}

/// The caller's payload, rebuilt from a frame we serialized (`added_id`: drop the id we added).
pub(crate) fn payload_from_text(text: &str, added_id: bool) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if added_id {
        if let Some(obj) = v.as_object_mut() {
            obj.remove("id");
        }
    }
    v
}

/// Validates an outbound payload, gives it an id when it has none, and serializes it.
/// On refusal, the payload comes back in the error, unchanged.
pub(crate) fn prepare_outbound(mut payload: Value, ids: &Ids) -> Result<Prepared, SendError> {
    let invalid = |msg: &str, p| SendError::new(SendErrorKind::InvalidPayload(msg.into()), p);
    let Some(obj) = payload.as_object_mut() else {
        return Err(invalid("the payload must be a JSON object", payload));
    };
    let is_message = obj.get("type").and_then(Value::as_str) == Some("message");
    if is_message && obj.contains_key("blocks") {
        let msg = "RTM messages cannot carry blocks; post them with the Web API \
                   (WebClient::chat_post_message_with)";
        return Err(invalid(msg, payload));
    }
    if is_message {
        if let Some(text) = obj.get("text").and_then(Value::as_str) {
            let chars = text.chars().count();
            if chars > MAX_TEXT_CHARS {
                let kind = SendErrorKind::TooLong {
                    chars,
                    limit: MAX_TEXT_CHARS,
                };
                return Err(SendError::new(kind, payload));
            }
        }
    }
    let added = !obj.contains_key("id");
    let id = match obj.get("id") {
        None => {
            let Some(id) = ids.next() else {
                let msg = "message ids are used up (they must stay below 2^53; \
                           a caller-chosen id came close to it): pass your own `id`";
                return Err(invalid(msg, payload));
            };
            obj.insert("id".into(), Value::from(id));
            id
        }
        Some(v) => match v.as_u64() {
            // Kept within JSON's exact integer range, so the counter can never wrap.
            Some(id) if id > 0 && id < ID_LIMIT => {
                ids.observe(id);
                id
            }
            _ => {
                let msg = "`id` must be a positive integer below 2^53";
                return Err(invalid(msg, payload));
            }
        },
    };
    let text = match serde_json::to_string(&payload) {
        Ok(t) => t,
        Err(e) => return Err(invalid(&e.to_string(), payload)),
    };
    if text.len() > MAX_OUTBOUND_FRAME {
        if added {
            // Give the caller back exactly what they passed.
            if let Some(obj) = payload.as_object_mut() {
                obj.remove("id");
            }
        }
        return Err(SendError::new(
            SendErrorKind::TooLarge {
                size: text.len(),
                limit: MAX_OUTBOUND_FRAME,
            },
            payload,
        ));
    }
    Ok(Prepared {
        id,
        text,
        is_message,
        added_id: added,
    })
}

/// What the reader and the dispatcher need of an RTM frame, found by [`scan`] without
/// building a `Value`: its top-level `type` and, when that is not a string, its `reply_to`.
/// The scan stops at a string `type`, wherever it sits (Slack puts `client_msg_id` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head<'a> {
    kind: Option<Raw<'a>>,
    reply_to: Option<Raw<'a>>,
}

/// Looks at a frame's top level (see [`Head`]); `None` when only a full parse can tell (not a
/// JSON object, a top level the scan cannot read, a key given twice).
pub(crate) fn head(text: &str) -> Option<Head<'_>> {
    let [kind, reply_to] = scan(text, &["type", "reply_to"], |f| {
        f[0].is_some_and(|t| t.is_str())
    })?;
    Some(Head { kind, reply_to })
}

impl<'a> Head<'a> {
    /// The name the dispatcher gives the frame (the rule of `event::dispatch_name`): its string
    /// `type`, else `reply` when it has `reply_to`, else `unknown`. `None` when the `type` holds
    /// escapes (the full parse names it).
    pub(crate) fn name(&self) -> Option<&'a str> {
        match self.kind {
            Some(t) if t.is_str() => t.plain_str(),
            _ if self.reply_to.is_some() => Some("reply"),
            _ => Some("unknown"),
        }
    }

    /// Whether the frame's `type` is `want` (escapes decoded).
    pub(crate) fn is(&self, want: &str) -> bool {
        self.kind.is_some_and(|t| t.is_str_eq(want))
    }

    /// The message id a reply acknowledges: `reply_to`, on a frame with no string `type`.
    pub(crate) fn ack_id(&self) -> Option<u64> {
        match self.kind {
            Some(t) if t.is_str() => None,
            _ => self.reply_to.and_then(|r| r.as_u64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn head_names_frames_as_the_dispatcher_does_wherever_type_sits() {
        use crate::event::dispatch_name;
        let table: &[(&str, Option<&str>, Option<u64>)] = &[
            (
                r#"{"type":"user_typing","channel":"C1"}"#,
                Some("user_typing"),
                None,
            ),
            (r#" { "type" : "hello" }"#, Some("hello"), None),
            (
                r#"{"client_msg_id":"3f6b9e2d","suppress_notification":false,"type":"message","text":"a \"type\":\"x\"","blocks":[{"type":"rich_text"}]}"#,
                Some("message"),
                None,
            ),
            (
                r#"{"blocks":[{"type":"rich_text"}],"user":"U1","type":"message"}"#,
                Some("message"),
                None,
            ),
            (
                r#"{"ok":true,"reply_to":7,"ts":"1.2","text":"hi"}"#,
                Some("reply"),
                Some(7),
            ),
            (r#"{"type":"pong","reply_to":3}"#, Some("pong"), None),
            (r#"{"type":5,"reply_to":3}"#, Some("reply"), Some(3)),
            (r#"{"reply_to":"3"}"#, Some("reply"), None),
            (
                r#"{"ok":true,"message":{"type":"message"}}"#,
                Some("unknown"),
                None,
            ),
            (r#"{"typ\u0065":"goodbye"}"#, Some("goodbye"), None),
            // A `type` with escapes: the full parse names it.
            (r#"{"type":"say \"hi\""}"#, None, None),
        ];
        for (text, name, ack) in table {
            let h = head(text).unwrap();
            assert_eq!(h.name(), *name, "{text}");
            assert_eq!(h.ack_id(), *ack, "{text}");
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            if let Some(name) = name {
                assert_eq!(dispatch_name(&value), Some(*name), "{text}");
            }
        }
        assert!(head(r#"{"type":"\u0068ello"}"#).unwrap().is("hello"));
        assert!(!head(r#"{"type":"hello2"}"#).unwrap().is("hello"));
        for unclear in ["[1]", "not json", "", r#"{"reply_to":1,"reply_to":2}"#] {
            assert!(head(unclear).is_none(), "{unclear}");
        }
    }

    #[test]
    fn automatic_ids_never_reach_2_pow_53() {
        let ids = Ids::default();
        let near = json!({"type": "ping", "id": (1u64 << 53) - 1});
        prepare_outbound(near, &ids).unwrap();
        let e = prepare_outbound(json!({"type": "ping"}), &ids).unwrap_err();
        assert!(matches!(e.kind(), SendErrorKind::InvalidPayload(m) if m.contains("2^53")));
        assert_eq!(e.into_payload(), json!({"type": "ping"}));
    }

    #[test]
    fn ids_are_added_positive_and_monotonic() {
        let ids = Ids::default();
        let a = prepare_outbound(json!({"type": "typing"}), &ids).unwrap();
        let b = prepare_outbound(json!({"type": "typing"}), &ids).unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        assert!(a.text.contains("\"id\":1"));
        assert!(!a.is_message);
        let c = prepare_outbound(json!({"type": "ping", "id": 10}), &ids).unwrap();
        assert_eq!(c.id, 10);
        let d = prepare_outbound(json!({"type": "ping"}), &ids).unwrap();
        assert_eq!(
            d.id, 11,
            "an id chosen by the caller is never handed out again"
        );
        let m = prepare_outbound(json!({"type": "message", "text": "hi"}), &ids).unwrap();
        assert!(m.is_message);
        assert_eq!(
            payload_from_text(&m.text, m.added_id),
            json!({"type": "message", "text": "hi"})
        );
    }

    #[test]
    fn bad_payloads_come_back() {
        let ids = Ids::default();
        for bad in [
            json!([1]),
            json!({"id": 0}),
            json!({"id": -3}),
            json!({"id": "7"}),
            json!({"type": "message", "channel": "C1", "text": "hi", "blocks": []}),
        ] {
            let e = prepare_outbound(bad.clone(), &ids).unwrap_err();
            assert!(matches!(e.kind(), SendErrorKind::InvalidPayload(_)));
            assert_eq!(e.into_payload(), bad);
        }
        let long = json!({"type": "message", "text": "é".repeat(MAX_TEXT_CHARS + 1)});
        let e = prepare_outbound(long.clone(), &ids).unwrap_err();
        assert!(matches!(
            e.kind(),
            SendErrorKind::TooLong { chars: 4001, .. }
        ));
        assert!(e.into_payload() == long);
        let ok = json!({"type": "message", "text": "é".repeat(MAX_TEXT_CHARS)});
        assert!(
            prepare_outbound(ok, &ids).is_ok(),
            "4,000 characters (8,000 bytes) pass"
        );
        let big = json!({"type": "typing", "channel": "x".repeat(MAX_OUTBOUND_FRAME)});
        let e = prepare_outbound(big.clone(), &ids).unwrap_err();
        assert!(matches!(e.kind(), SendErrorKind::TooLarge { .. }));
        assert!(e.into_payload() == big, "the payload comes back unchanged");
    }
}
