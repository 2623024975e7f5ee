//! Socket Mode's dispatcher: names each frame (inner name, envelope type, `"*"`; `hello`,
//! `disconnect`, `unknown`), calls the handlers with a [`Request`], and acks what the handlers
//! left unacked.

use std::sync::Arc;

use serde_json::Value;

use super::frame::{DisconnectReason, Envelope, Frame};
use super::request::{AckHook, Request, SmHandler};
use super::state::{SocketMode, SocketModeHandle, Verdict};
use crate::engine::link::Link;
use crate::engine::protocol::Dispatch;
use crate::engine::rules::client_error;
use crate::registry::{Panicked, Registry, Snapshot};
use crate::transport::{Batch, Frame as WireFrame};

/// The dispatcher thread's state.
pub(crate) struct SmDispatch {
    sm: Arc<SocketMode>,
    handle: SocketModeHandle,
    registry: Arc<Registry<SmHandler>>,
    snapshot: Snapshot<SmHandler>,
    panics: Vec<Panicked>,
    /// `num_connections` above ours was reported (once per run).
    warned_ghosts: bool,
}

impl SmDispatch {
    pub(crate) fn new(
        sm: Arc<SocketMode>,
        registry: Arc<Registry<SmHandler>>,
        handle: SocketModeHandle,
    ) -> SmDispatch {
        SmDispatch {
            snapshot: registry.snapshot(),
            sm,
            handle,
            registry,
            panics: Vec::new(),
            warned_ghosts: false,
        }
    }

    fn frame(&mut self, frame: WireFrame<'_>, verdict: Verdict) {
        let text = match frame {
            WireFrame::Text(t) => t,
            WireFrame::Binary(len) => {
                log::warn!("ignoring a binary frame of {len} bytes");
                let msg = format!("received a binary frame of {len} bytes; Slack sends only text");
                self.plain("error", &client_error("binary_frame", &msg), None);
                return;
            }
        };
        let mut value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                log::warn!("ignoring a frame that is not JSON: {e}");
                let msg = format!("received a frame that is not valid JSON: {e}");
                self.plain("error", &client_error("invalid_json", &msg), Some(text));
                return;
            }
        };
        // Envelopes, the hot path: the payload moves into the request, no copy.
        if let Some(envelope) = Envelope::take(&mut value) {
            self.on_envelope(&envelope, text, verdict);
            return;
        }
        // The rest (hello, disconnect, anything else) is rare: classified on a copy, since
        // the handlers get the whole frame.
        let Some(frame) = Frame::from_value(value.clone()) else {
            log::warn!("ignoring a frame that is not a JSON object");
            let msg = "received a JSON frame that is not an object";
            self.plain("error", &client_error("not_an_object", msg), Some(text));
            return;
        };
        match frame {
            Frame::Hello(hello) => {
                // Its sockets, plus one replacement during a refresh.
                let held = self.sm.config.connections;
                if hello.more_sockets_than(held + 1) && !self.warned_ghosts {
                    self.warned_ghosts = true;
                    log::warn!(
                        "Slack counts {} sockets for this app and this client holds {held} \
                         ({} during a refresh): other instances, or ghost sockets Slack has not \
                         noticed are gone",
                        hello.num_connections.unwrap_or_default(),
                        held + 1
                    );
                }
                self.plain("hello", &value, Some(text));
            }
            Frame::Disconnect { reason, .. } => {
                self.plain("disconnect", &value, Some(text));
                if reason == DisconnectReason::TooManyWebsockets {
                    let msg = "Slack refused the socket: too many websockets for this app \
                               (the cap is 10 per app, across all instances); backing off";
                    self.plain("error", &client_error("too_many_websockets", msg), None);
                }
            }
            Frame::Envelope(envelope) => self.on_envelope(&envelope, text, verdict),
            Frame::Unknown(_) => self.plain("unknown", &value, Some(text)),
        }
    }

    fn on_envelope(&mut self, e: &Envelope, raw: &str, verdict: Verdict) {
        let sm = self.sm.clone();
        let ack = match &verdict {
            // A duplicate the reader acked: not dispatched again.
            Verdict::Duplicate => return,
            Verdict::AckedByReader => AckHook::Reader,
            Verdict::Pending(pending) => AckHook::Pending { sm: &sm, pending },
            Verdict::Plain => {
                // The reader's quick look and the full parse disagree (they must not).
                log::warn!("envelope {} was not seen by the reader", e.envelope_id);
                AckHook::None
            }
        };
        for name in e.dispatch_names() {
            let request = Request {
                name: &name,
                kind: e.kind.as_str(),
                envelope_id: &e.envelope_id,
                payload: &e.payload,
                retry_attempt: e.retry_attempt,
                retry_reason: e.retry_reason.as_deref(),
                accepts_response_payload: e.accepts_response_payload,
                client: &self.handle,
                web_client: &self.sm.web,
                raw: Some(raw),
                ack,
            };
            let call = |h: &SmHandler| h(&request);
            if name == "*" {
                self.snapshot.call("*", &mut self.panics, call);
            } else {
                self.snapshot.call_named(&name, &mut self.panics, call);
            }
        }
        self.report_panics();
        if let Verdict::Pending(pending) = &verdict {
            if sm.handlers_returned(pending) {
                let data = sm.late_ack_error(&e.envelope_id);
                self.plain("error", &data, None);
            }
        }
    }

    /// Dispatches something that is not an envelope under `name`, then `"*"`.
    fn plain(&mut self, name: &str, data: &Value, raw: Option<&str>) {
        let request = Request {
            name,
            kind: name,
            envelope_id: "",
            payload: data,
            retry_attempt: 0,
            retry_reason: None,
            accepts_response_payload: false,
            client: &self.handle,
            web_client: &self.sm.web,
            raw,
            ack: AckHook::None,
        };
        self.snapshot
            .call(name, &mut self.panics, |h: &SmHandler| h(&request));
        self.report_panics();
    }

    fn report_panics(&mut self) {
        for p in std::mem::take(&mut self.panics) {
            if let Some(data) = p.report() {
                self.plain("error", &data, None);
            }
        }
    }
}

impl Dispatch for SmDispatch {
    type Note = Verdict;

    fn open(&mut self, _link: &Arc<Link>, body: &Value) {
        self.registry.refresh(&mut self.snapshot);
        self.plain("open", body, None);
    }

    fn frames(
        &mut self,
        _link: &Arc<Link>,
        batch: &Batch,
        notes: &mut Vec<Verdict>,
        stopping: &dyn Fn() -> bool,
    ) {
        let mut notes = notes.drain(..);
        for frame in batch.frames() {
            // The reader noted each text frame, in order.
            let verdict = match frame {
                WireFrame::Text(_) => notes.next().unwrap_or_default(),
                WireFrame::Binary(_) => Verdict::Plain,
            };
            if stopping() {
                break;
            }
            self.registry.refresh(&mut self.snapshot);
            self.frame(frame, verdict);
        }
    }

    fn event(&mut self, name: &str, data: &Value) {
        self.registry.refresh(&mut self.snapshot);
        self.plain(name, data, None);
    }

    fn connection_ended(&mut self, _stopping: bool) {}

    fn finished(&mut self) {
        self.sm.clear();
    }
}
