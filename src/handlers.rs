//! The handler registry, [`Payload`], and how a frame gets its dispatch name.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::client::RtmHandle;
use crate::web::WebClient;

/// What a handler receives: the dispatched event name, its data, and the clients to answer with.
///
/// ```no_run
/// # let client = slack_rtm::RtmClient::builder("xoxb-...").build().unwrap();
/// client.on("message", |p: &slack_rtm::Payload| {
///     if let Some(text) = p.data["text"].as_str() {
///         println!("{} said {text}", p.data["user"]);
///     }
/// });
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Payload<'a> {
    /// The name the event was dispatched under: the frame's `type`, `reply` for an
    /// acknowledgement, `unknown` for an object with neither, or a pseudo-event (`open`,
    /// `close`, `error`).
    pub event: &'a str,
    /// The event's data: the whole JSON object as received (including `type`), or the
    /// pseudo-event's data (see the crate docs).
    pub data: &'a Value,
    /// A handle on the RTM client, to send over the websocket or stop it.
    pub rtm_client: &'a RtmHandle,
    /// The client's Web API client.
    pub web_client: &'a WebClient,
    pub(crate) raw: Option<&'a str>,
}

impl<'a> Payload<'a> {
    /// The frame's text exactly as Slack sent it, for events that came from a server frame
    /// (including frames that were not valid JSON, dispatched as `error`); `None` for
    /// pseudo-events the client made (`open`, `close`, other `error`s).
    pub fn raw(&self) -> Option<&'a str> {
        self.raw
    }

    /// The event, typed: [`Event::Message`](crate::Event::Message) for a `message`,
    /// [`Event::Open`](crate::Event::Open) for the `open` pseudo-event, and so on. Never fails:
    /// a type this crate does not model is [`Event::Unknown`](crate::Event::Unknown) and a
    /// known type that does not decode is [`Event::Malformed`](crate::Event::Malformed), both
    /// with the JSON kept. Decodes [`data`](Payload::data) on each call. See
    /// [`event`](crate::event) for the rules.
    pub fn as_event(&self) -> crate::Event {
        crate::event::from_dispatched(self.event, self.data, self.raw.is_some())
    }
}

/// A registered handler.
pub(crate) type Handler = Arc<dyn Fn(&Payload<'_>) + Send + Sync + 'static>;

/// FNV-1a: event names are short and trusted enough; SipHash showed up in dispatch profiles.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Table = HashMap<String, Vec<Handler>, std::hash::BuildHasherDefault<Fnv>>;

/// Handlers by event name. Copy-on-write: the dispatcher keeps a snapshot and refreshes it only
/// when the version moves, so registering from inside a handler never deadlocks and the hot path
/// takes no lock.
#[derive(Default)]
pub(crate) struct Registry {
    table: RwLock<Arc<Table>>,
    version: AtomicU64,
}

impl Registry {
    pub(crate) fn add(&self, event: &str, handler: Handler) {
        let mut guard = self.table.write().unwrap_or_else(|e| e.into_inner());
        let mut table: Table = (**guard).clone();
        table.entry(event.to_string()).or_default().push(handler);
        *guard = Arc::new(table);
        self.version.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let version = self.version.load(Ordering::Acquire);
        let table = self.table.read().unwrap_or_else(|e| e.into_inner()).clone();
        let star = table.get("*").cloned().unwrap_or_default();
        Snapshot {
            table,
            star,
            version,
        }
    }

    /// Refreshes `snap` if handlers were added since it was taken.
    pub(crate) fn refresh(&self, snap: &mut Snapshot) {
        if self.version.load(Ordering::Acquire) != snap.version {
            *snap = self.snapshot();
        }
    }
}

/// The dispatcher's view of the registry.
pub(crate) struct Snapshot {
    table: Arc<Table>,
    /// The `"*"` handlers, looked up once per snapshot rather than once per event.
    star: Vec<Handler>,
    version: u64,
}

/// What happened when a handler ran.
pub(crate) struct Panicked {
    pub event: String,
    pub message: String,
}

impl Snapshot {
    /// Calls the handlers of `payload.event`, then the `"*"` handlers, in registration order.
    /// A panicking handler is caught; the others still run.
    pub(crate) fn call(&self, payload: &Payload<'_>, panics: &mut Vec<Panicked>) {
        let named = self.table.get(payload.event).map_or(&[][..], Vec::as_slice);
        for h in named.iter().chain(&self.star) {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| h(payload))) {
                let message = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a handler panicked".to_string());
                panics.push(Panicked {
                    event: payload.event.to_string(),
                    message,
                });
            }
        }
    }
}

/// The name a server frame is dispatched under (see the crate docs), or `None` when the frame
/// is not a JSON object.
pub(crate) fn event_name(v: &Value) -> Option<&str> {
    let obj = v.as_object()?;
    Some(match obj.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if obj.contains_key("reply_to") => "reply",
        None => "unknown",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatch_names_follow_the_documented_rules() {
        assert_eq!(event_name(&json!({"type": "message"})), Some("message"));
        assert_eq!(
            event_name(&json!({"ok": true, "reply_to": 1})),
            Some("reply")
        );
        assert_eq!(
            event_name(&json!({"type": "pong", "reply_to": 3})),
            Some("pong")
        );
        assert_eq!(event_name(&json!({"ok": true})), Some("unknown"));
        assert_eq!(event_name(&json!({"type": 5})), Some("unknown"));
        assert_eq!(event_name(&json!([1, 2])), None);
        assert_eq!(event_name(&json!("hello")), None);
    }

    #[test]
    fn snapshot_refreshes_only_when_handlers_change() {
        let r = Registry::default();
        let mut snap = r.snapshot();
        assert!(snap.table.is_empty());
        r.add("message", Arc::new(|_| {}));
        r.refresh(&mut snap);
        assert_eq!(snap.table["message"].len(), 1);
    }
}
