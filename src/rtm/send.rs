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
            return write(&link, prepared.text)
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
                Some(link) => {
                    // Registered and encoded in order under the outbox lock; written after
                    // it, so a write blocked by a peer that stopped reading never holds the
                    // lock the reader needs to resolve acks.
                    let copy = out.text.clone();
                    let queued = queue(&link, out.id, out.text, out.reply, Some(&mut outbox));
                    drop(outbox);
                    queued.map_err(|(kind, text)| back(kind, text))?;
                    self.flush(&link, id, copy)
                        .map(|()| id)
                        .map_err(|(kind, text)| back(kind, text))
                }
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

    /// Writes what waits on `link` (no library lock held). On failure the message `id`'s
    /// receipt, if any, fails, and `text` comes back.
    fn flush(&self, link: &Link, id: u64, text: String) -> Result<(), (SendErrorKind, String)> {
        let failed = match link.conn.flush_out(None) {
            Ok(()) => return Ok(()),
            Err(e) => failure(link, e),
        };
        if let Some(r) = self.outbox().acked(id) {
            let _ = r.send(Err(MessageError::ConnectionLost));
        }
        Err((failed, text))
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

    /// Queues the messages that are due for the pinger to write (it runs this, and writes
    /// right after, bounded by the pong deadline); returns when the next one is due.
    pub(crate) fn release_messages(&self, link: &Link, now: Instant) -> Option<Duration> {
        let mut outbox = self.outbox();
        let mut queued = false;
        while let Some(out) = outbox.pop_due(now, true) {
            if let Err((kind, _)) = queue(link, out.id, out.text, out.reply, Some(&mut outbox)) {
                log::warn!("a queued message was not sent: {kind}");
                return None;
            }
            queued = true;
        }
        let next = outbox.next_due(now, true);
        drop(outbox);
        if queued {
            self.core.kick();
        }
        next
    }
}

/// Writes a frame that needs no receipt (pings, typing, presence): encoded, then written on
/// this thread, with no library lock held.
pub(crate) fn write(link: &Link, text: String) -> Result<(), (SendErrorKind, String)> {
    log::trace!("sending {text}");
    // The text is needed again only if the write fails; writes are rare next to reads, so
    // keep a copy rather than rebuild the frame.
    match link.conn.send_text(text.clone()) {
        Ok(()) => Ok(()),
        Err(e) => Err((failure(link, e), text)),
    }
}

/// Encodes a frame into `link`'s outbound buffer, for whoever writes next. A `message` with a
/// receipt is registered first (in `outbox`, which the caller holds locked so queued messages
/// keep their order), so its ack can never arrive first. On failure the frame's text comes back
/// and the receipt is dropped; a connection already going away is `NotConnected`.
fn queue(
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
    let failed = match link.conn.queue_text(text.clone()) {
        Ok(()) => return Ok(()),
        Err(e) => failure(link, e),
    };
    if let Some(outbox) = registered {
        if let Some(r) = outbox.acked(id) {
            let _ = r.send(Err(MessageError::ConnectionLost));
        }
    }
    Err((failed, text))
}

/// What a failed write means for the sender; a failed socket write ends the connection.
fn failure(link: &Link, e: WriteError) -> SendErrorKind {
    match e {
        WriteError::Gone => SendErrorKind::NotConnected,
        WriteError::Full => SendErrorKind::OutboundFull,
        WriteError::Failed(e) => {
            log::warn!("sending over the websocket failed: {e}");
            link.end(&format!("write failed: {e}"), false);
            SendErrorKind::Io(e.to_string())
        }
    }
}
