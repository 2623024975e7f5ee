//! The seam: what a websocket protocol tells the engine.
//!
//! RTM and Socket Mode share every thread, the transport, the reconnect policy and stop. They
//! differ only in:
//!
//! | concern | RTM | Socket Mode |
//! |---|---|---|
//! | connect call ([`Protocol::dial`]) | `rtm.connect` / `rtm.start` | `apps.connections.open` |
//! | "ready" ([`Inspect::ready`]) | the `hello` frame | the `hello` frame |
//! | keepalive ([`Protocol::ping`]) | JSON `{"type":"ping"}` | websocket ping frame |
//! | reader-side reactions ([`Protocol::inspect`]) | resolve receipts of `reply_to` acks | ack envelopes, `disconnect` |
//! | naming and handlers ([`Dispatch`]) | `Payload`, by `type` | `Request`, inner name then envelope type |
//! | ending on purpose ([`Inspect::end`], [`Dispatch`]) | `goodbye`, `team_migration_started`, `error` | `disconnect` |
//!
//! A protocol implements [`Protocol`] (called from the reader and pinger threads) and a
//! [`Dispatch`] (owned by the dispatcher thread), and launches them with
//! [`run::launch`](super::run::launch).

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::core::Core;
use super::link::Link;
use crate::error::Error;
use crate::transport::{Batch, Connection};

/// An opened websocket and the connect call's answer (dispatched with `open`).
pub(crate) struct Dial {
    pub conn: Connection,
    pub sock: TcpStream,
    pub body: Value,
}

/// What the reader learned from one text frame, before the frame is queued for the handlers.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Inspect<N = ()> {
    /// The frame is the protocol's `hello`: the connection is ready for sends.
    pub ready: bool,
    /// End this connection (after the frames read so far are queued).
    pub end: Option<Ending>,
    /// Make before break: open a replacement connection now and hand this one to a drain
    /// thread, which keeps reading it until the replacement is ready and
    /// [`Protocol::quiet`] holds for it, then closes it (Socket Mode's refresh). Ignored on a
    /// connection that is already draining.
    pub handover: bool,
    /// The reader's verdict on this frame, queued with it for the dispatcher (Socket Mode: the
    /// envelope was acked on arrival, is a duplicate, or waits for its handlers' ack), so the
    /// dispatcher never looks the frame up again.
    pub note: N,
}

/// Why and how the client ends a connection on purpose.
#[derive(Debug, PartialEq)]
pub(crate) struct Ending {
    pub reason: String,
    /// Send a close frame first (bounded), or drop the socket at once.
    pub graceful: bool,
    /// The server said not to come back (Socket Mode's `link_disabled`): no reconnect.
    pub last: bool,
}

/// The protocol side the reader and pinger threads call. Implementations keep their own state
/// (outbox, acks, handlers' clients) and reach the engine's through [`Protocol::core`].
pub(crate) trait Protocol: Send + Sync + 'static {
    /// The reader's verdict on one text frame ([`Inspect::note`]), handed to the dispatcher
    /// with the frame.
    type Note: Default + Send + 'static;

    /// The engine state of this client.
    fn core(&self) -> &Core;

    /// The connect call and the websocket handshake. Runs on a short-lived thread that a stop
    /// abandons, so it may block up to the network timeout.
    fn dial(&self) -> Result<Dial, Error>;

    /// Looks at one text frame on the reader thread. Must be cheap: it runs for every frame
    /// before the frame reaches the handlers (no full parse on the common path).
    fn inspect(&self, link: &Arc<Link>, text: &str) -> Inspect<Self::Note>;

    /// Whether a draining connection (see [`Inspect::handover`]) has nothing left that the
    /// handlers may still send on it (acks), so it can be closed once its replacement is ready.
    fn quiet(&self, _link: &Link) -> bool {
        true
    }

    /// The connection became ready (its `hello` was seen by the reader).
    fn on_ready(&self, link: &Arc<Link>);

    /// Sends one keepalive ping on `link`.
    fn ping(&self, link: &Link);

    /// The pinger's turn for protocol timers on a ready connection (the RTM send throttle);
    /// returns how long until the protocol needs the pinger again.
    fn on_timer(&self, link: &Arc<Link>, now: Instant) -> Option<Duration>;
}

/// The protocol side of the dispatcher thread: names frames and calls the handlers. Every call
/// happens on the dispatcher thread, in the order the reader produced the items.
pub(crate) trait Dispatch: Send + 'static {
    /// The reader's verdict on each text frame (the protocol's [`Protocol::Note`]).
    type Note: Send + 'static;

    /// A websocket opened: dispatch `open` with the connect call's answer.
    fn open(&mut self, link: &Arc<Link>, body: &Value);

    /// The frames of one socket read on `link`, with the reader's note on each text frame (in
    /// order; the dispatcher clears and reuses the vector afterwards); `stopping` turns true when
    /// queued events must be dropped.
    fn frames(
        &mut self,
        link: &Arc<Link>,
        batch: &Batch,
        notes: &mut Vec<Self::Note>,
        stopping: &dyn Fn() -> bool,
    );

    /// A pseudo-event the engine produced (`close`, `error`).
    fn event(&mut self, name: &str, data: &Value);

    /// A slot's connection ended and will not be replaced by a handover (called before its
    /// `close` is dispatched; a replaced connection's `close` does not call it).
    fn connection_ended(&mut self, stopping: bool);

    /// The client stopped: the last call.
    fn finished(&mut self);
}
