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

/// What the reader hands the dispatcher, in order.
pub(crate) enum Item {
    /// A websocket opened: dispatch `open` with the connect call's answer.
    Open { link: Arc<Link>, body: Value },
    /// The frames of one socket read.
    Frames(Batch),
    /// A pseudo-event the reader produced (`close`, `error`).
    Event { name: &'static str, data: Value },
}

impl Item {
    /// Whether the dispatcher still delivers this item after a stop request.
    pub(crate) fn survives_stop(&self) -> bool {
        !matches!(self, Item::Frames(_))
    }
}

/// Emptied batches go back to the reader through `pool`, so the receive path does not allocate
/// in steady state and no buffer is freed on a thread other than the one that made it.
pub(crate) fn run<P: Protocol, D: Dispatch>(
    p: Arc<P>,
    mut d: D,
    rx: Receiver<Item>,
    pool: Sender<Batch>,
) {
    let core = p.core();
    let stopping = || core.discarding();
    let mut link: Option<Arc<Link>> = None;
    for item in rx.iter() {
        match item {
            Item::Open { link: l, body } => {
                d.open(&l, &body);
                link = Some(l);
            }
            Item::Frames(mut batch) => {
                d.frames(link.as_ref(), &batch, &stopping);
                if batch.recycle() {
                    let _ = pool.try_send(batch);
                }
            }
            Item::Event { name, data } => {
                if name == "close" {
                    link = None;
                    d.connection_ended(core.stopping());
                }
                d.event(name, &data);
            }
        }
    }
    d.finished();
}

/// Sends an item to the dispatcher, waiting while the channel is full (the connection's
/// deadlines are suspended meanwhile). Returns false when the dispatcher is gone or a stop was
/// requested while waiting.
pub(crate) fn deliver(core: &Core, link: Option<&Link>, tx: &Sender<Item>, item: Item) -> bool {
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
