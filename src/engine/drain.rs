//! The drain thread of a connection being replaced (make before break): it keeps reading the
//! old socket until the replacement is ready, lets the acks of what it delivered go out, and
//! closes it.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde_json::json;

use super::dispatcher::{deliver, Item};
use super::link::Link;
use super::protocol::Protocol;
use crate::transport::{self, Batch, Ended, Frame, CLOSE_BOUND, READ_BUF_MAX};

/// How long a replaced connection is read at most (Slack closes a refreshed socket within
/// about 10 s of its warning).
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// The read tick of a draining connection: how soon it notices that its replacement is ready.
const DRAIN_TICK: Duration = Duration::from_millis(50);

/// The connection a reader (a slot) holds now, shared with its drain thread, which must wait
/// for this slot's replacement and no other's.
pub(crate) type Slot = Arc<std::sync::Mutex<Option<Arc<Link>>>>;

pub(crate) fn lock_slot(slot: &Slot) -> std::sync::MutexGuard<'_, Option<Arc<Link>>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the drain thread of a replaced connection (see [`drain`]); `None` (after closing it)
/// when the thread cannot start.
pub(crate) fn start_drain<P: Protocol>(
    p: &Arc<P>,
    link: Arc<Link>,
    sock: TcpStream,
    tx: &Sender<Item<P::Note>>,
    current: &Slot,
) -> Option<std::thread::JoinHandle<()>> {
    let (worker, tx, current) = (p.clone(), tx.clone(), current.clone());
    let closer = link.clone();
    let spawned = std::thread::Builder::new()
        .name(p.core().settings.names.drain.to_string())
        .spawn(move || drain(&worker, &link, sock, &tx, &current));
    match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            log::warn!("cannot start the drain thread ({e}): closing the replaced connection");
            closer.conn.close_and_drop(1000, "replaced", CLOSE_BOUND);
            p.core().end_handover();
            None
        }
    }
}

/// Reads a replaced connection until its replacement is ready (Slack may still deliver on it
/// meanwhile), then waits until the protocol is quiet on it (acks of what it delivered went
/// out), and closes it — or until it ends, a stop, or [`DRAIN_LIMIT`].
fn drain<P: Protocol>(
    p: &Arc<P>,
    link: &Arc<Link>,
    mut sock: TcpStream,
    tx: &Sender<Item<P::Note>>,
    current: &Slot,
) {
    let core = p.core();
    let started = Instant::now();
    let _ = sock.set_read_timeout(Some(DRAIN_TICK));
    let mut buf = vec![0u8; READ_BUF_MAX];
    let mut batch = Batch::default();
    // Frames already buffered in the connection are decoded first, before any read.
    let mut buffered = true;
    let reason = loop {
        if core.stopping() {
            break "client stopped".to_string();
        }
        if started.elapsed() >= DRAIN_LIMIT {
            break "replaced (drain limit)".to_string();
        }
        // The protocol's timers (Socket Mode's ack deadline) for what this connection
        // delivered: the pinger serves only the current connection.
        let _ = p.on_timer(link, Instant::now());
        // The pinger writes for the current connections only: what was queued on this one
        // (acks, from any thread) goes out here, within a tick.
        if link.conn.has_pending_writes() {
            let _ = link.conn.flush_out(Some(Instant::now() + CLOSE_BOUND));
        }
        // This slot's replacement, not another slot's connection.
        let replaced = lock_slot(current)
            .as_ref()
            .is_some_and(|l| !Arc::ptr_eq(l, link) && l.is_ready());
        if replaced {
            // No new envelopes from here on: only what it delivered may still be acked.
            if p.quiet(link) {
                break "replaced by a new connection".to_string();
            }
            std::thread::sleep(DRAIN_TICK);
            continue;
        }
        let (len, eof) = if std::mem::take(&mut buffered) {
            (0, false)
        } else {
            match transport::read_socket(&mut sock, &mut buf) {
                Ok(None) => continue,
                Ok(Some(n)) => (n, n == 0),
                Err(e) => break e.to_string(),
            }
        };
        let decoded = link.conn.decode(&buf[..len], eof, &mut batch);
        if !batch.is_empty() {
            let mut notes = Vec::new();
            for frame in batch.frames() {
                if let Frame::Text(text) = frame {
                    notes.push(p.inspect(link, text).note);
                }
            }
            if link.conn.has_pending_writes() {
                let _ = link.conn.flush_out(Some(Instant::now() + CLOSE_BOUND));
            }
            let frames = Item::Frames {
                link: link.clone(),
                batch: std::mem::take(&mut batch),
                notes,
            };
            if !deliver(core, None, tx, frames) {
                break "client stopped".to_string();
            }
        } else if link.conn.has_pending_writes() {
            // Control replies (pongs).
            let _ = link.conn.flush_out(Some(Instant::now() + CLOSE_BOUND));
        }
        match decoded {
            Err(Ended::Closed { reason, .. }) => break reason,
            Err(Ended::Failed(e)) => break e.to_string(),
            Ok(()) if eof => break "the connection closed".to_string(),
            Ok(()) => {}
        }
    };
    log::info!("closing the replaced connection: {reason}");
    link.conn.close_and_drop(1000, "replaced", CLOSE_BOUND);
    core.end_handover();
    let data = json!({
        "code": 1000,
        "reason": reason,
        "will_reconnect": false,
        "attempt": 0,
        "delay_ms": 0,
        "connection": link.id(),
        "replaced": true,
    });
    let mut data = data;
    if let Some(why) = link.disconnect_reason() {
        data["disconnect_reason"] = json!(why);
    }
    let _ = deliver(
        core,
        None,
        tx,
        Item::Closed {
            data,
            replaced: true,
        },
    );
}
