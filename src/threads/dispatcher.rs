//! `rtm-dispatch`: parses frames and calls the handlers, in arrival order.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;

use super::{client_error, Item};
use crate::client::{Link, RtmHandle, Shared};
use crate::handlers::{event_name, Payload, Snapshot};
use crate::messaging::{ack_result, MessageError};
use crate::transport::{Batch, Frame};

struct Dispatcher {
    shared: Arc<Shared>,
    handle: RtmHandle,
    snapshot: Snapshot,
    link: Option<Arc<Link>>,
    panics: Vec<crate::handlers::Panicked>,
}

/// Emptied batches go back to the reader through `pool`, so the receive path does not allocate
/// in steady state and no buffer is freed on a thread other than the one that made it.
pub(crate) fn run(shared: Arc<Shared>, handle: RtmHandle, rx: Receiver<Item>, pool: Sender<Batch>) {
    let snapshot = shared.handlers.snapshot();
    let mut d = Dispatcher {
        shared,
        handle,
        snapshot,
        link: None,
        panics: Vec::new(),
    };
    for item in rx.iter() {
        d.shared.handlers.refresh(&mut d.snapshot);
        match item {
            Item::Open { link, body } => {
                d.link = Some(link);
                d.dispatch("open", &body);
            }
            Item::Frames(mut batch) => {
                for frame in batch.frames() {
                    // After a stop request, queued events are discarded (as in Python).
                    if d.shared.stopping() {
                        break;
                    }
                    d.frame(frame);
                }
                if batch.recycle() {
                    let _ = pool.try_send(batch);
                }
            }
            Item::Event { name, data } => {
                if name == "close" {
                    d.link = None;
                    // Written but unacknowledged messages fail; queued ones wait.
                    let why = if d.shared.stopping() {
                        MessageError::Stopped
                    } else {
                        MessageError::ConnectionLost
                    };
                    for r in d.shared.outbox().connection_lost() {
                        let _ = r.send(Err(why.clone()));
                    }
                }
                d.dispatch(name, &data);
            }
        }
    }
    for r in d.shared.outbox().stopped() {
        let _ = r.send(Err(MessageError::Stopped));
    }
}

impl Dispatcher {
    fn frame(&mut self, frame: Frame<'_>) {
        let text = match frame {
            Frame::Text(t) => t,
            Frame::Binary(len) => {
                log::warn!("ignoring a binary frame of {len} bytes");
                let msg = format!("received a binary frame of {len} bytes; RTM sends only text");
                self.dispatch("error", &client_error("binary_frame", &msg));
                return;
            }
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                log::warn!("ignoring a frame that is not JSON: {e}");
                let msg = format!("received a frame that is not valid JSON: {e}");
                self.dispatch_raw("error", &client_error("invalid_json", &msg), Some(text));
                return;
            }
        };
        let Some(name) = event_name(&value) else {
            log::warn!("ignoring a frame that is not a JSON object");
            let msg = "received a JSON frame that is not an object";
            self.dispatch_raw("error", &client_error("not_an_object", msg), Some(text));
            return;
        };
        self.lifecycle(name, &value);
        self.dispatch_raw(name, &value, Some(text));
    }

    /// Connection-level reactions to server events, before the handlers see them.
    fn lifecycle(&self, name: &str, value: &Value) {
        let Some(link) = &self.link else { return };
        match name {
            "hello" => {
                link.hello.store(true, Ordering::Release);
                let ids = self
                    .shared
                    .presence
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                if !ids.is_empty() {
                    let sub = serde_json::json!({"type": "presence_sub", "ids": ids});
                    if let Err(e) = self.handle.send_over_websocket(sub) {
                        log::warn!("presence subscription not sent again: {e}");
                    }
                }
                // Messages held while disconnected may go now.
                self.shared.kick();
            }
            "reply" => {
                let Some(id) = value["reply_to"].as_u64() else {
                    return;
                };
                let reply = self.shared.outbox().acked(id);
                if let Some(r) = reply {
                    let _ = r.send(ack_result(id, value));
                }
            }
            "goodbye" => {
                log::info!("Slack said goodbye: reconnecting");
                link.end("goodbye", true);
            }
            "team_migration_started" => {
                log::info!("team migration started: reconnecting");
                link.end("team_migration_started", true);
            }
            "error" => {
                let msg = value["error"]["msg"].as_str().unwrap_or("unknown error");
                log::warn!("Slack sent an error event: {msg}: reconnecting");
                link.end(&format!("error event: {msg}"), true);
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, name: &str, data: &Value) {
        self.dispatch_raw(name, data, None);
    }

    fn dispatch_raw(&mut self, name: &str, data: &Value, raw: Option<&str>) {
        let payload = Payload {
            event: name,
            data,
            rtm_client: &self.handle,
            web_client: &self.shared.web,
            raw,
        };
        self.snapshot.call(&payload, &mut self.panics);
        for p in std::mem::take(&mut self.panics) {
            log::error!("a handler for {:?} panicked: {}", p.event, p.message);
            if p.event != "error" {
                let msg = format!("a handler for {:?} panicked: {}", p.event, p.message);
                self.dispatch("error", &client_error("handler_panic", &msg));
            }
        }
    }
}
