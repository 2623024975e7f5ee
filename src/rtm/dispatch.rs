//! RTM's dispatcher: names each frame, calls the handlers with a [`Payload`], and reacts to
//! `goodbye`, `team_migration_started` and `error` frames.

use std::sync::Arc;

use serde_json::Value;

use super::Rtm;
use crate::engine::link::Link;
use crate::engine::protocol::Dispatch;
use crate::engine::rules::client_error;
use crate::event::dispatch_name;
use crate::registry::{Panicked, Registry, Snapshot};
use crate::rtm::handle::RtmHandle;
use crate::rtm::handlers::{Payload, RtmHandler};
use crate::rtm::messaging::MessageError;
use crate::rtm::session::head;
use crate::transport::{Batch, Frame};

/// What an RTM frame asks of the connection, by its dispatch name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reaction {
    None,
    /// End the connection gracefully and reconnect, for this reason.
    Reconnect(String),
}

/// The frame types that end the connection (the ones [`reaction`] acts on): never skipped,
/// whether or not a handler wants them.
const RECONNECT_TYPES: [&str; 3] = ["goodbye", "team_migration_started", "error"];

/// The connection-level meaning of a server frame (an I/O-free rule).
pub(crate) fn reaction(name: &str, value: &Value) -> Reaction {
    match name {
        "goodbye" => Reaction::Reconnect("goodbye".into()),
        "team_migration_started" => Reaction::Reconnect("team_migration_started".into()),
        "error" => {
            let msg = value["error"]["msg"].as_str().unwrap_or("unknown error");
            Reaction::Reconnect(format!("error event: {msg}"))
        }
        _ => Reaction::None,
    }
}

/// The dispatcher thread's state.
pub(crate) struct RtmDispatch {
    rtm: Arc<Rtm>,
    handle: RtmHandle,
    registry: Arc<Registry<RtmHandler>>,
    snapshot: Snapshot<RtmHandler>,
    panics: Vec<Panicked>,
}

impl RtmDispatch {
    pub(crate) fn new(rtm: Arc<Rtm>, registry: Arc<Registry<RtmHandler>>) -> RtmDispatch {
        RtmDispatch {
            handle: RtmHandle::new(&rtm),
            snapshot: registry.snapshot(),
            rtm,
            registry,
            panics: Vec::new(),
        }
    }

    fn frame(&mut self, link: &Arc<Link>, frame: Frame<'_>) {
        if let Frame::Text(text) = frame {
            // Ignored events cost a scan up to their `type` (wherever it sits), not a parse: no
            // handler wants this name, and it asks nothing of the connection. The frame is
            // parsed below only when some handler will see it.
            if let Some(name) = head(text).as_ref().and_then(|h| h.name()) {
                if !self.snapshot.wants(name) && !RECONNECT_TYPES.contains(&name) {
                    return;
                }
            }
        }
        let text = match frame {
            Frame::Text(t) => t,
            Frame::Binary(len) => {
                log::warn!("ignoring a binary frame of {len} bytes");
                let msg = format!("received a binary frame of {len} bytes; RTM sends only text");
                self.dispatch("error", &client_error("binary_frame", &msg), None);
                return;
            }
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                log::warn!("ignoring a frame that is not JSON: {e}");
                let msg = format!("received a frame that is not valid JSON: {e}");
                self.dispatch("error", &client_error("invalid_json", &msg), Some(text));
                return;
            }
        };
        let Some(name) = dispatch_name(&value) else {
            log::warn!("ignoring a frame that is not a JSON object");
            let msg = "received a JSON frame that is not an object";
            self.dispatch("error", &client_error("not_an_object", msg), Some(text));
            return;
        };
        if let Reaction::Reconnect(why) = reaction(name, &value) {
            log::info!("{why}: reconnecting");
            link.end(&why, true);
        }
        self.dispatch(name, &value, Some(text));
    }

    fn dispatch(&mut self, name: &str, data: &Value, raw: Option<&str>) {
        let payload = Payload {
            event: name,
            data,
            rtm_client: &self.handle,
            web_client: &self.rtm.web,
            raw,
        };
        self.snapshot
            .call(name, &mut self.panics, |h: &RtmHandler| h(&payload));
        for p in std::mem::take(&mut self.panics) {
            if let Some(data) = p.report() {
                self.dispatch("error", &data, None);
            }
        }
    }
}

impl Dispatch for RtmDispatch {
    type Note = ();

    fn open(&mut self, _link: &Arc<Link>, body: &Value) {
        self.registry.refresh(&mut self.snapshot);
        self.dispatch("open", body, None);
    }

    fn frames(
        &mut self,
        link: &Arc<Link>,
        batch: &Batch,
        _notes: &mut Vec<()>,
        stopping: &dyn Fn() -> bool,
    ) {
        for frame in batch.frames() {
            // After a stop request, queued events are discarded (as in Python).
            if stopping() {
                break;
            }
            // Per frame: a handler added by the previous frame's handler sees this one.
            self.registry.refresh(&mut self.snapshot);
            self.frame(link, frame);
        }
    }

    fn event(&mut self, name: &str, data: &Value) {
        self.registry.refresh(&mut self.snapshot);
        self.dispatch(name, data, None);
    }

    fn connection_ended(&mut self, stopping: bool) {
        // Written but unacknowledged messages fail; queued ones wait for the next connection.
        let why = if stopping {
            MessageError::Stopped
        } else {
            MessageError::ConnectionLost
        };
        for r in self.rtm.outbox().connection_lost() {
            let _ = r.send(Err(why.clone()));
        }
    }

    fn finished(&mut self) {
        for r in self.rtm.outbox().stopped() {
            let _ = r.send(Err(MessageError::Stopped));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_that_end_the_connection() {
        let table = [
            ("goodbye", json!({"type": "goodbye"}), Some("goodbye")),
            (
                "team_migration_started",
                json!({"type": "team_migration_started"}),
                Some("team_migration_started"),
            ),
            (
                "error",
                json!({"type": "error", "error": {"code": 1, "msg": "bad"}}),
                Some("error event: bad"),
            ),
            (
                "error",
                json!({"type": "error", "error": 5}),
                Some("error event: unknown error"),
            ),
            ("message", json!({"type": "message"}), None),
            ("hello", json!({"type": "hello"}), None),
        ];
        for (name, v, want) in table {
            assert_eq!(want.is_some(), RECONNECT_TYPES.contains(&name), "{name}");
            let got = reaction(name, &v);
            match want {
                Some(w) => assert_eq!(got, Reaction::Reconnect(w.into()), "{name}"),
                None => assert_eq!(got, Reaction::None, "{name}"),
            }
        }
    }
}
