//! The dispatcher thread: hands what the reader produced to the protocol's [`Dispatch`], in
//! order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;

use super::core::Core;
use super::link::Link;
use super::protocol::{Dispatch, Protocol};
use crate::transport::Batch;

/// What the reader hands the dispatcher, in order. `N` is the protocol's note on each text
/// frame ([`Protocol::Note`]).
pub(crate) enum Item<N> {
    /// A websocket opened: dispatch `open` with the connect call's answer.
    Open { link: Arc<Link>, body: Value },
    /// The frames of one socket read on `link`, each text frame with the reader's note.
    Frames {
        link: Arc<Link>,
        batch: Batch,
        notes: Vec<N>,
    },
    /// A connection ended: dispatch `close` with `data`. `replaced` when it was a connection
    /// handed over to a drain (its slot carries on with the replacement).
    Closed { data: Value, replaced: bool },
    /// A pseudo-event the reader produced (`error`).
    Event { name: &'static str, data: Value },
}

/// An emptied batch and notes vector, on their way back to the reader for reuse.
pub(crate) type Pooled<N> = (Batch, Vec<N>);

impl<N> Item<N> {
    /// Whether the dispatcher still delivers this item after a stop request.
    pub(crate) fn survives_stop(&self) -> bool {
        !matches!(self, Item::Frames { .. })
    }
}

/// Emptied batches go back to the reader through `pool`, each with its emptied vector of notes,
/// so the receive path does not allocate in steady state and no buffer is freed on a thread
/// other than the one that made it.
/// Pseudo-events the protocol raises off the reader ([`Core::notify`], Socket Mode's `late_ack`
/// of a deferred ack) are dispatched between items.
pub(crate) fn run<P: Protocol, D: Dispatch<Note = P::Note>>(
    p: Arc<P>,
    mut d: D,
    rx: Receiver<Item<P::Note>>,
    pool: Sender<Pooled<P::Note>>,
) {
    let core = p.core();
    let stopping = || core.discarding();
    let notices = core.notices();
    loop {
        let item = crossbeam_channel::select! {
            recv(rx) -> item => match item {
                Ok(item) => item,
                Err(_) => break,
            },
            recv(notices) -> notice => {
                if let Ok((name, data)) = notice {
                    d.event(name, &data);
                }
                continue;
            }
        };
        match item {
            Item::Open { link, body } => d.open(&link, &body),
            Item::Frames {
                link,
                mut batch,
                mut notes,
            } => {
                d.frames(&link, &batch, &mut notes, &stopping);
                notes.clear();
                if batch.recycle() {
                    let _ = pool.try_send((batch, notes));
                }
            }
            Item::Closed { data, replaced } => {
                if !replaced {
                    d.connection_ended(core.stopping());
                }
                d.event("close", &data);
            }
            Item::Event { name, data } => d.event(name, &data),
        }
    }
    d.finished();
}

/// Sends an item to the dispatcher, waiting while the channel is full (the connection's
/// deadlines are suspended meanwhile). Returns false when the dispatcher is gone or a stop was
/// requested while waiting.
pub(crate) fn deliver<N>(
    core: &Core,
    link: Option<&Link>,
    tx: &Sender<Item<N>>,
    item: Item<N>,
) -> bool {
    use crossbeam_channel::{SendTimeoutError, TrySendError};
    let mut item = match tx.try_send(item) {
        Ok(()) => return true,
        Err(TrySendError::Disconnected(_)) => return false,
        Err(TrySendError::Full(item)) => item,
    };
    if let Some(l) = link {
        l.rules().suspend(Instant::now());
    }
    let delivered = loop {
        match tx.send_timeout(item, Duration::from_millis(100)) {
            Ok(()) => break true,
            Err(SendTimeoutError::Disconnected(_)) => break false,
            Err(SendTimeoutError::Timeout(back)) => {
                if core.stopping() && !back.survives_stop() {
                    break false;
                }
                item = back;
            }
        }
    };
    if let Some(l) = link {
        l.rules().resume(Instant::now());
    }
    delivered
}
