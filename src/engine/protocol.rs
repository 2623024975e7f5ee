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
pub(crate) struct Inspect {
    /// The frame is the protocol's `hello`: the connection is ready for sends.
    pub ready: bool,
    /// End this connection (after the frames read so far are queued).
    pub end: Option<Ending>,
    /// Make before break: open a replacement connection now and hand this one to a drain
    /// thread, which keeps reading it until the replacement is ready and
    /// [`Protocol::quiet`] holds for it, then closes it (Socket Mode's refresh). Ignored on a
    /// connection that is already draining.
    pub handover: bool,
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
    /// The engine state of this client.
    fn core(&self) -> &Core;

    /// The connect call and the websocket handshake. Runs on a short-lived thread that a stop
    /// abandons, so it may block up to the network timeout.
    fn dial(&self) -> Result<Dial, Error>;

    /// Looks at one text frame on the reader thread. Must be cheap: it runs for every frame
    /// before the frame reaches the handlers (no full parse on the common path).
    fn inspect(&self, link: &Arc<Link>, text: &str) -> Inspect;

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
    /// A websocket opened: dispatch `open` with the connect call's answer.
    fn open(&mut self, link: &Arc<Link>, body: &Value);

    /// The frames of one socket read; `stopping` turns true when queued events must be dropped.
    fn frames(&mut self, link: Option<&Arc<Link>>, batch: &Batch, stopping: &dyn Fn() -> bool);

    /// A pseudo-event the engine produced (`close`, `error`).
    fn event(&mut self, name: &str, data: &Value);

    /// The current connection ended (called before its `close` is dispatched).
    fn connection_ended(&mut self, stopping: bool);

    /// The client stopped: the last call.
    fn finished(&mut self);
}
