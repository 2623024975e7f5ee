//! The RTM send path: checks, message ids, the throttle, receipts, and the write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Rtm;
use crate::engine::link::Link;
use crate::error::{SendError, SendErrorKind};
use crate::rtm::messaging::MessageError;
use crate::rtm::outbox::{Offer, Outbox, Outgoing, Reply};
use crate::rtm::session::{payload_from_text, prepare_outbound};
use crate::transport::WriteError;

/// How a send may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Now or never: `NotConnected` when not connected, `Throttled` when the throttle holds
    /// messages back (`send_over_websocket`, pings, typing).
    Now,
    /// A chat message with a receipt: queued while disconnected or throttled.
    Queue,
}

impl Rtm {
    /// The connection, when it is open and `hello` has arrived.
    pub(crate) fn connected_link(&self) -> Option<Arc<Link>> {
        self.core.link().filter(|l| l.is_ready())
    }

    /// The one send path: checks, then writes (or queues a `message` with a receipt).
    pub(crate) fn send(
        &self,
        payload: Value,
        reply: Option<Reply>,
        mode: Mode,
    ) -> Result<u64, SendError> {
        // Refuse early what cannot go out, so a refused send does not use up a message id.
        if mode == Mode::Now && self.connected_link().is_none() {
            return Err(SendError::new(SendErrorKind::NotConnected, payload));
        }
        let prepared = prepare_outbound(payload, &self.ids)?;
        let (id, added_id) = (prepared.id, prepared.added_id);
        let back = |kind, text: String| SendError::new(kind, payload_from_text(&text, added_id));
        if !prepared.is_message {
            let Some(link) = self.connected_link() else {
                return Err(back(SendErrorKind::NotConnected, prepared.text));
            };
            return write(&link, id, prepared.text, None, None)
                .map(|()| id)
                .map_err(|(kind, text)| back(kind, text));
        }
        let out = Outgoing {
            id,
            text: prepared.text,
            reply,
        };
        let mut outbox = self.outbox();
        let link = self.connected_link();
        match outbox.offer(Instant::now(), out, link.is_some(), mode == Mode::Queue) {
            Offer::SendNow(out) => match link {
                Some(link) => write(&link, out.id, out.text, out.reply, Some(&mut outbox))
                    .map(|()| id)
                    .map_err(|(kind, text)| back(kind, text)),
                None => Err(back(SendErrorKind::NotConnected, out.text)),
            },
            Offer::NotConnected(out) => Err(back(SendErrorKind::NotConnected, out.text)),
            Offer::Throttled(out) => Err(back(SendErrorKind::Throttled, out.text)),
            Offer::Queued => {
                drop(outbox);
                log::debug!("message {id} queued (throttle or connection)");
                self.core.kick();
                Ok(id)
            }
            Offer::Full(out) => Err(back(SendErrorKind::QueueFull, out.text)),
        }
    }

    /// Queues several chat messages with receipts, all or none (the parts of a long message:
    /// either every part is on its way or none was sent).
    pub(crate) fn send_all(
        &self,
        payloads: Vec<Value>,
    ) -> Result<Vec<(u64, crossbeam_channel::Receiver<crate::rtm::outbox::Answer>)>, SendError>
    {
        let mut outbox = self.outbox();
        let room = outbox.room();
        if payloads.len() > room {
            let first = payloads.into_iter().next().unwrap_or(Value::Null);
            return Err(SendError::new(SendErrorKind::QueueFull, first));
        }
        let mut prepared = Vec::with_capacity(payloads.len());
        for p in payloads {
            prepared.push(prepare_outbound(p, &self.ids)?);
        }
        let mut receipts = Vec::with_capacity(prepared.len());
        for p in prepared {
            let (tx, rx) = crossbeam_channel::bounded(1);
            outbox.enqueue(Outgoing {
                id: p.id,
                text: p.text,
                reply: Some(tx),
            });
            receipts.push((p.id, rx));
        }
        drop(outbox);
        self.core.kick();
        Ok(receipts)
    }

    /// Writes the queued messages that are due; returns when the next one is.
    pub(crate) fn release_messages(&self, link: &Link, now: Instant) -> Option<Duration> {
        let mut outbox = self.outbox();
        while let Some(out) = outbox.pop_due(now, true) {
            if let Err((kind, _)) = write(link, out.id, out.text, out.reply, Some(&mut outbox)) {
                log::warn!("a queued message was not sent: {kind}");
                return None;
            }
        }
        outbox.next_due(now, true)
    }
}

/// Writes a frame to `link`. A `message` with a receipt is registered (in `outbox`, which the
/// caller holds locked so queued messages keep their order) before the write, so its ack can
/// never arrive first. On failure the frame's text comes back; a failed write ends the
/// connection, and a connection already going away is `NotConnected`.
pub(crate) fn write(
    link: &Link,
    id: u64,
    text: String,
    reply: Option<Reply>,
    outbox: Option<&mut Outbox>,
) -> Result<(), (SendErrorKind, String)> {
    log::trace!("sending {text}");
    let registered = match (reply, outbox) {
        (Some(reply), Some(outbox)) => {
            outbox.written(id, reply);
            Some(outbox)
        }
        _ => None,
    };
    // The text is needed again only if the write fails; writes are rare next to reads, so
    // keep a copy rather than rebuild the frame.
    let failed = match link.conn.send_text(text.clone()) {
        Ok(()) => return Ok(()),
        Err(WriteError::Gone) => SendErrorKind::NotConnected,
        Err(WriteError::Full) => SendErrorKind::OutboundFull,
        Err(WriteError::Failed(e)) => {
            log::warn!("sending over the websocket failed: {e}");
            link.end(&format!("write failed: {e}"), false);
            SendErrorKind::Io(e.to_string())
        }
    };
    if let Some(outbox) = registered {
        if let Some(r) = outbox.acked(id) {
            let _ = r.send(Err(MessageError::ConnectionLost));
        }
    }
    Err((failed, text))
}
