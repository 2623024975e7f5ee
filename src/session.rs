//! I/O-free protocol state: message ids, outbound frame preparation, and the keepalive
//! deadline. Everything here takes `now` and inputs and returns what to do.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{SendError, SendErrorKind};
use crate::messaging::MAX_TEXT_CHARS;

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

impl Ids {
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
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

impl Prepared {
    /// The caller's payload, rebuilt from the frame (for errors after serialization).
    pub(crate) fn into_payload(self) -> Value {
        payload_from_text(&self.text, self.added_id)
    }
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
            let id = ids.next();
            obj.insert("id".into(), Value::from(id));
            id
        }
        Some(v) => match v.as_u64() {
            // Kept within JSON's exact integer range, so the counter can never wrap.
            Some(id) if id > 0 && id < 1 << 53 => {
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

/// What the pinger should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveAction {
    /// Send an RTM ping now.
    Ping,
    /// Nothing arrived within the deadline after a ping: drop the connection.
    Dead(Duration),
    /// Check again after this long.
    Wait(Duration),
}

/// The ping schedule and the dead-connection deadline of one connection.
///
/// A ping is due every `interval`. After a ping, some frame (any frame counts as life) must
/// arrive within `deadline`. While the reader waits on a full channel, inbound frames cannot be
/// seen, so the deadline is suspended and restarts when the reader resumes. An `interval` of
/// zero disables both pings and the deadline.
#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Duration,
    deadline: Duration,
    next_ping: Instant,
    awaiting_since: Option<Instant>,
    suspended: bool,
}

/// How long the pinger sleeps when there is nothing to schedule (pings off).
const IDLE_CHECK: Duration = Duration::from_secs(60);

impl Keepalive {
    pub(crate) fn new(now: Instant, interval: Duration, deadline: Duration) -> Keepalive {
        Keepalive {
            interval,
            deadline,
            next_ping: now.checked_add(interval).unwrap_or(now),
            awaiting_since: None,
            suspended: false,
        }
    }

    /// A frame (or any bytes) arrived.
    pub(crate) fn on_inbound(&mut self, now: Instant) {
        if self.awaiting_since.is_some_and(|t| now >= t) {
            self.awaiting_since = None;
        }
    }

    /// The reader is blocked behind the handlers: no verdict until it resumes.
    pub(crate) fn suspend(&mut self) {
        self.suspended = true;
    }

    /// The reader resumed: an outstanding deadline starts again from now.
    pub(crate) fn resume(&mut self, now: Instant) {
        self.suspended = false;
        if self.awaiting_since.is_some() {
            self.awaiting_since = Some(now);
        }
    }

    pub(crate) fn poll(&mut self, now: Instant) -> KeepaliveAction {
        if self.interval.is_zero() {
            return KeepaliveAction::Wait(IDLE_CHECK);
        }
        if let Some(since) = self.awaiting_since {
            if !self.suspended && now.duration_since(since) >= self.deadline {
                return KeepaliveAction::Dead(now.duration_since(since));
            }
        }
        if now >= self.next_ping {
            self.next_ping = now.checked_add(self.interval).unwrap_or(now);
            if self.awaiting_since.is_none() {
                self.awaiting_since = Some(now);
            }
            return KeepaliveAction::Ping;
        }
        let mut wake = self.next_ping;
        // While suspended there is no deadline to wake for (resume() restarts it).
        if let (Some(since), false) = (self.awaiting_since, self.suspended) {
            wake = wake.min(since.checked_add(self.deadline).unwrap_or(wake));
        }
        KeepaliveAction::Wait(wake.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(m.into_payload(), json!({"type": "message", "text": "hi"}));
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

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn pings_every_interval_and_dies_without_an_answer() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(
            k.poll(t0),
            KeepaliveAction::Wait(5 * S),
            "sleeps until the ping is due"
        );
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        assert!(matches!(k.poll(t0 + 6 * S), KeepaliveAction::Wait(_)));
        assert!(matches!(k.poll(t0 + 7 * S), KeepaliveAction::Dead(_)));
    }

    #[test]
    fn any_inbound_frame_after_the_ping_counts_as_life() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        k.on_inbound(t0 + 6 * S);
        assert!(matches!(k.poll(t0 + 8 * S), KeepaliveAction::Wait(_)));
        assert_eq!(k.poll(t0 + 10 * S), KeepaliveAction::Ping);
    }

    #[test]
    fn a_blocked_reader_never_causes_a_dead_verdict() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        k.suspend();
        assert!(!matches!(k.poll(t0 + 60 * S), KeepaliveAction::Dead(_)));
        k.resume(t0 + 61 * S);
        assert!(!matches!(k.poll(t0 + 62 * S), KeepaliveAction::Dead(_)));
        assert!(matches!(k.poll(t0 + 63 * S), KeepaliveAction::Dead(_)));
    }

    #[test]
    fn a_suspended_deadline_does_not_make_the_pinger_spin() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        k.suspend();
        assert_eq!(
            k.poll(t0 + 8 * S),
            KeepaliveAction::Wait(2 * S),
            "sleeps to the next ping"
        );
    }

    #[test]
    fn zero_interval_disables_pings_and_deadline() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, Duration::ZERO, 2 * S);
        for s in [0, 10, 1000] {
            assert_eq!(k.poll(t0 + s * S), KeepaliveAction::Wait(IDLE_CHECK));
        }
    }
}
