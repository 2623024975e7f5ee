//! [`RtmHandle`]: sending and stopping from handlers and other threads.

use std::fmt;
use std::sync::{Arc, Weak};

use serde_json::{json, Value};

use crate::chat::ChatMessage;
use crate::error::{SendError, SendErrorKind};
use crate::rtm::messaging::{split_text, Receipt, MAX_TEXT_CHARS};
use crate::rtm::send::Mode;
use crate::rtm::session::MAX_OUTBOUND_FRAME;
use crate::rtm::Rtm;

/// A handle on a client, for sending and stopping from handlers and other threads.
/// Clone, `Send` and `Sync`; also available as [`RtmClient::handle`](crate::RtmClient::handle)
/// and [`Payload::rtm_client`](crate::Payload::rtm_client).
///
/// A handle does not keep its client alive: a handler may capture one (or use
/// `p.rtm_client`) without creating a reference cycle. Once every [`RtmClient`](crate::RtmClient)
/// clone is gone, sends fail with [`SendErrorKind::NotConnected`] and `stop` does nothing.
#[derive(Clone)]
pub struct RtmHandle {
    rtm: Weak<Rtm>,
}

impl RtmHandle {
    pub(crate) fn new(rtm: &Arc<Rtm>) -> RtmHandle {
        RtmHandle {
            rtm: Arc::downgrade(rtm),
        }
    }

    fn send(&self, payload: Value, mode: Mode) -> Result<u64, SendError> {
        match self.rtm.upgrade() {
            Some(rtm) => rtm.send(payload, None, mode),
            None => Err(SendError::new(SendErrorKind::NotConnected, payload)),
        }
    }

    /// Sends `payload` (a JSON object) over the websocket and returns its message id. An `id`
    /// is added when absent; a present one must be a positive integer below 2^53. When this
    /// returns `Ok` the frame is on the wire, or queued behind a write in progress on the same
    /// socket. It never waits for a connection or the send throttle: not connected (websocket
    /// closed, or `hello` not arrived yet) → [`SendErrorKind::NotConnected`]; a chat `message`
    /// while the throttle holds messages back → [`SendErrorKind::Throttled`] (use
    /// [`send_message`](RtmHandle::send_message) to queue). Frames over 16,384 bytes and
    /// `message` text over 4,000 characters are refused. Every error gives the payload back.
    pub fn send_over_websocket(&self, payload: Value) -> Result<u64, SendError> {
        self.send(payload, Mode::Now)
    }

    /// Sends a chat message to `channel` and returns a [`Receipt`] to wait for Slack's ack.
    /// See [`send_message_with`](RtmHandle::send_message_with).
    pub fn send_message(&self, channel: &str, text: &str) -> Result<Receipt, SendError> {
        self.send_message_with(&ChatMessage::new(channel, text))
    }

    /// Sends a chat message (in a thread, broadcast, ...) and returns a [`Receipt`].
    ///
    /// Unlike [`send_over_websocket`](RtmHandle::send_over_websocket), this queues the message
    /// while the client is disconnected, reconnecting or throttled (up to
    /// [`send_queue_capacity`](crate::RtmClientBuilder::send_queue_capacity)) and sends it
    /// after the next `hello`, also before the first start or after a stop, when it waits for
    /// the next `start()`/`spawn()` (a stop fails only what was queued at that moment, with
    /// [`MessageError::Stopped`](crate::MessageError::Stopped)). A message written to a
    /// connection that ends before its ack fails with
    /// [`MessageError::ConnectionLost`](crate::MessageError::ConnectionLost): it is never sent
    /// twice silently. Text over 4,000 characters is refused ([`SendErrorKind::TooLong`]); see
    /// [`send_long_message`](RtmHandle::send_long_message).
    pub fn send_message_with(&self, msg: &ChatMessage<'_>) -> Result<Receipt, SendError> {
        let payload = msg.to_payload(msg.text);
        let Some(rtm) = self.rtm.upgrade() else {
            return Err(SendError::new(SendErrorKind::NotConnected, payload));
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        let id = rtm.send(payload, Some(tx), Mode::Queue)?;
        Ok(Receipt::new(id, rx))
    }

    /// Sends text of any length as several messages of at most 4,000 characters (and at most
    /// 16,384 bytes as a frame), split at line breaks or spaces where possible, in order.
    /// All or nothing: either every part is queued (one receipt each) or none is, and the
    /// error says why (e.g. [`SendErrorKind::QueueFull`] when the queue has no room for all
    /// the parts; the payload given back is the first part).
    pub fn send_long_message(&self, msg: &ChatMessage<'_>) -> Result<Vec<Receipt>, SendError> {
        // Room for the frame around the text: type, channel, thread_ts, id.
        let overhead = msg.to_payload("").to_string().len() + 32;
        let budget = MAX_OUTBOUND_FRAME.saturating_sub(overhead);
        let payloads: Vec<Value> = split_text(msg.text, MAX_TEXT_CHARS, budget)
            .into_iter()
            .map(|part| msg.to_payload(part))
            .collect();
        let Some(rtm) = self.rtm.upgrade() else {
            let first = payloads.into_iter().next().unwrap_or(Value::Null);
            return Err(SendError::new(SendErrorKind::NotConnected, first));
        };
        Ok(rtm
            .send_all(payloads)?
            .into_iter()
            .map(|(id, rx)| Receipt::new(id, rx))
            .collect())
    }

    /// Subscribes to presence events for these users (`presence_sub`). Each call replaces the
    /// whole list; the list is remembered and sent again after every reconnect (Slack forgets
    /// it with the connection). Sent at once when connected, else at the next `hello`.
    pub fn subscribe_presence(&self, ids: &[&str]) -> Result<(), SendError> {
        let payload = json!({"type": "presence_sub", "ids": ids});
        let Some(rtm) = self.rtm.upgrade() else {
            return Err(SendError::new(SendErrorKind::NotConnected, payload));
        };
        *rtm.presence() = ids.iter().map(|s| s.to_string()).collect();
        if rtm.connected_link().is_some() {
            rtm.send(payload, None, Mode::Now)?;
        }
        Ok(())
    }

    /// Asks for the current presence of these users (up to 500); Slack answers with
    /// `presence_change` events. Returns the message id.
    pub fn presence_query(&self, ids: &[&str]) -> Result<u64, SendError> {
        self.send_over_websocket(json!({"type": "presence_query", "ids": ids}))
    }

    /// Sends an RTM `ping`; Slack answers with a `pong` event. Returns the message id.
    pub fn ping(&self) -> Result<u64, SendError> {
        self.send_over_websocket(json!({"type": "ping"}))
    }

    /// Shows "typing…" in `channel` (Slack asks for at most one per 3 seconds per channel).
    pub fn typing(&self, channel: &str) -> Result<u64, SendError> {
        self.send_over_websocket(json!({"type": "typing", "channel": channel}))
    }

    /// Requests a stop and returns at once; safe inside a handler. The client closes the
    /// websocket, dispatches `close`, joins its threads, and `start()` returns `Ok(())`.
    pub fn stop(&self) {
        if let Some(rtm) = self.rtm.upgrade() {
            rtm.core.request_stop();
        }
    }

    /// True while the websocket is open and `hello` has arrived.
    pub fn is_connected(&self) -> bool {
        self.rtm
            .upgrade()
            .is_some_and(|r| r.connected_link().is_some())
    }
}

impl fmt::Debug for RtmHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtmHandle")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}
