//! The reader thread: the connect/backoff loop, and the socket reads of each connection.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde_json::json;

use super::core::Core;
use super::dispatcher::{deliver, Item, Pooled};
use super::drain::{lock_slot, start_drain, Slot};
use super::link::Link;
use super::protocol::{Dial, Protocol};
use super::rules::{client_error, Closing, ConnRules, End};
use crate::backoff::Reconnect;
use crate::config::defaults;
use crate::error::Error;
use crate::transport::{self, Ended, Frame, CLOSE_BOUND, READ_BUF_MAX};

/// Size of one socket read: it starts small (an idle connection holds little) and doubles up
/// to the maximum while reads fill it (a flood reads in large chunks).
const READ_BUF_MIN: usize = 4 * 1024;

/// How [`pump`] ended.
enum Pumped {
    /// The connection ended.
    Ended(End),
    /// The protocol asked for a replacement (make before break): the socket to drain.
    Handover(TcpStream),
}

/// `pool` hands back emptied batches from the dispatcher for reuse.
pub(crate) fn run<P: Protocol>(
    p: Arc<P>,
    tx: Sender<Item<P::Note>>,
    pool: Receiver<Pooled<P::Note>>,
) -> Result<(), Error> {
    let core = p.core();
    let cfg = &core.settings;
    let mut policy = Reconnect::new(
        cfg.backoff_base,
        cfg.backoff_cap,
        cfg.healthy_after,
        cfg.max_attempts,
        cfg.connect_burst,
        cfg.connect_interval,
    );
    let mut buf = vec![0u8; READ_BUF_MIN];
    // The replaced connection being drained, if any: at most one at a time.
    let mut drain: Option<std::thread::JoinHandle<()>> = None;
    let current: Slot = Slot::default();
    let result = loop {
        if core.stopping() {
            break Ok(());
        }
        let gate = policy.before_connect(Instant::now());
        if !gate.is_zero() {
            log::info!(
                "waiting {} ms before calling {} (connect-rate limit)",
                gate.as_millis(),
                cfg.connect_method
            );
            if core.wait(gate) {
                break Ok(());
            }
        }
        let attempt = policy.attempt();
        let dialed = match dial(&p) {
            None => break Ok(()),
            Some(d) => d,
        };
        let Dial { conn, sock, body } = match dialed {
            Ok(d) => d,
            Err(e) => {
                if core.stopping() {
                    break Ok(());
                }
                let delay = if e.is_fatal() || !cfg.auto_reconnect {
                    None
                } else {
                    policy.after_failure(e.retry_after(), rand::random::<f64>())
                };
                let mut data = client_error(e.kind_name(), &e.to_string());
                data["attempt"] = json!(attempt);
                match delay {
                    Some(d) => {
                        log::warn!(
                            "connecting failed (attempt {attempt}): {e}; retrying in {} ms",
                            d.as_millis()
                        );
                        data["delay_ms"] = json!(d.as_millis() as u64);
                    }
                    None => log::error!("connecting failed (attempt {attempt}): {e}"),
                }
                deliver(
                    core,
                    None,
                    &tx,
                    Item::Event {
                        name: "error",
                        data,
                    },
                );
                let Some(delay) = delay else {
                    break Err(e);
                };
                if core.wait(delay) {
                    break Ok(());
                }
                continue;
            }
        };
        let now = Instant::now();
        let mut rules =
            ConnRules::new(now, cfg.hello_timeout, cfg.ping_interval, cfg.pong_deadline);
        if cfg.silence_deadline {
            rules = rules.counting_silence(now);
        }
        let link = Arc::new(Link::new(conn, rules));
        if core.stopping() {
            // Never announced: close quietly.
            link.conn
                .close_and_drop(1000, "client stopped", CLOSE_BOUND);
            break Ok(());
        }
        policy.on_connected(Instant::now());
        core.add_link(link.clone());
        *lock_slot(&current) = Some(link.clone());
        log::info!("connected (attempt {attempt})");
        let open = Item::Open {
            link: link.clone(),
            body,
        };
        let end = if deliver(core, Some(&link), &tx, open) {
            match pump(&p, &link, sock, &tx, &pool, &mut buf) {
                Pumped::Ended(end) => end,
                Pumped::Handover(sock) => {
                    // The previous drain must end first: never more than one extra socket.
                    if let Some(d) = drain.take() {
                        let _ = d.join();
                    }
                    log::info!("opening a replacement connection (make before break)");
                    core.remove_link(&link);
                    drain = start_drain(&p, link, sock, &tx, &current);
                    continue;
                }
            }
        } else {
            End::Stopped
        };
        core.remove_link(&link);
        match end {
            End::Stopped => link
                .conn
                .close_and_drop(1000, "client stopped", CLOSE_BOUND),
            // Whatever ended it, this socket is done: release it now, not after the backoff.
            End::Lost { .. } => link.conn.kill(),
        }
        let closing = Closing::decide(
            end,
            cfg.auto_reconnect && !link.is_last(),
            &mut policy,
            Instant::now(),
            link.spoke(),
            rand::random::<f64>(),
        )
        .of(link.id(), link.disconnect_reason());
        match (closing.delay, closing.gave_up) {
            (Some(d), _) => log::warn!(
                "disconnected: {}; reconnecting in {} ms (attempt {})",
                closing.reason,
                d.as_millis(),
                closing.attempt
            ),
            (None, true) => log::error!(
                "disconnected: {}; giving up after {} attempts (max_attempts)",
                closing.reason,
                cfg.max_attempts.unwrap_or(0)
            ),
            (None, false) if link.is_last() => log::error!(
                "disconnected: {}; the server said not to reconnect",
                closing.reason
            ),
            (None, false) if core.stopping() => {
                log::info!("disconnected: {}", closing.reason)
            }
            (None, false) => log::warn!("disconnected: {}; auto_reconnect is off", closing.reason),
        }
        deliver(
            core,
            None,
            &tx,
            Item::Closed {
                data: closing.data(),
                replaced: false,
            },
        );
        match closing.delay {
            None if core.stopping() => break Ok(()),
            None => {
                break Err(Error::Disconnected {
                    code: closing.code,
                    reason: closing.reason,
                })
            }
            Some(d) => {
                if core.wait(d) {
                    break Ok(());
                }
            }
        }
    };
    // Wakes the pinger (and a drain thread); the dispatcher ends when `tx` drops. A run that
    // ended on its own still dispatches what it received (the `disconnect` that ended it).
    if result.is_err() {
        core.end_run_keeping_queue();
    } else {
        core.request_stop();
    }
    if let Some(d) = drain.take() {
        let _ = d.join();
    }
    result
}

/// Runs the protocol's connect call and handshake on a short-lived thread, so a stop never
/// waits for them: `None` when a stop came first (the call finishes on its own, bounded by the
/// network timeout, and its connection is dropped).
fn dial<P: Protocol>(p: &Arc<P>) -> Option<Result<Dial, Error>> {
    let core = p.core();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let worker = p.clone();
    let spawned = std::thread::Builder::new()
        .name(core.settings.names.dial.to_string())
        .spawn(move || {
            let _ = tx.send(worker.dial());
        });
    let thread = match spawned {
        Ok(t) => t,
        Err(e) => {
            log::warn!("cannot start the connect thread ({e}): connecting on the reader");
            return Some(p.dial());
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(result) => {
                // It has sent its answer and is ending: joined, so no thread outlives a run
                // but one a stop abandoned.
                let _ = thread.join();
                return Some(result);
            }
            Err(RecvTimeoutError::Timeout) => {
                if core.stopping() {
                    log::debug!("stop requested while connecting: the connect call is abandoned");
                    return None;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Some(Err(Error::ThreadPanicked {
                    thread: core.settings.names.dial.to_string(),
                }))
            }
        }
    }
}

/// Reads one connection until it ends or a stop is requested.
fn pump<P: Protocol>(
    p: &Arc<P>,
    link: &Arc<Link>,
    mut sock: TcpStream,
    tx: &Sender<Item<P::Note>>,
    pool: &Receiver<Pooled<P::Note>>,
    buf: &mut Vec<u8>,
) -> Pumped {
    match pump_until(p, link, &mut sock, tx, pool, buf) {
        Some(end) => Pumped::Ended(end),
        None => Pumped::Handover(sock),
    }
}

/// [`pump`]'s loop: `None` when the protocol asked for a handover.
fn pump_until<P: Protocol>(
    p: &Arc<P>,
    link: &Arc<Link>,
    sock: &mut TcpStream,
    tx: &Sender<Item<P::Note>>,
    pool: &Receiver<Pooled<P::Note>>,
    buf: &mut Vec<u8>,
) -> Option<End> {
    let core = p.core();
    let lost = |ended: Ended| {
        let (code, reason) = match ended {
            Ended::Closed { code, reason } => (code, reason),
            Ended::Failed(e) => {
                if matches!(e, Error::WebSocket { .. }) {
                    // A protocol failure (an oversized message, a bad frame) is the client's
                    // to report; a plain network error is only a lost connection.
                    log::warn!("{e}");
                    let data = client_error(e.kind_name(), &e.to_string());
                    deliver(
                        core,
                        None,
                        tx,
                        Item::Event {
                            name: "error",
                            data,
                        },
                    );
                }
                (None, e.to_string())
            }
        };
        // Our own reason (missed pong, goodbye) explains the end better than the socket's.
        match link.end_reason() {
            Some(ours) => End::Lost { code, reason: ours },
            None => End::Lost { code, reason },
        }
    };
    // Frames that came with the handshake answer are already buffered: decode them first.
    let mut n = None;
    let (mut batch, mut notes) = pool.try_recv().unwrap_or_default();
    loop {
        if core.stopping() {
            return Some(End::Stopped);
        }
        let decoded = match n {
            None => link.conn.decode(&[], false, &mut batch),
            Some(n) => {
                link.rules().on_inbound(Instant::now());
                link.conn.decode(&buf[..n], n == 0, &mut batch)
            }
        };
        if !batch.is_empty() {
            link.set_spoke();
            let mut ending = None;
            let mut handover = false;
            for frame in batch.frames() {
                let Frame::Text(text) = frame else { continue };
                let seen = p.inspect(link, text);
                notes.push(seen.note);
                if seen.ready && link.set_ready() {
                    link.rules().on_ready(Instant::now());
                    p.on_ready(link);
                    core.kick();
                }
                if ending.is_none() {
                    ending = seen.end;
                }
                handover |= seen.handover;
            }
            let (next_batch, next_notes) = pool.try_recv().unwrap_or_default();
            let full = std::mem::replace(&mut batch, next_batch);
            let notes = std::mem::replace(&mut notes, next_notes);
            if link.conn.has_pending_writes() {
                core.kick();
            }
            let frames = Item::Frames {
                link: link.clone(),
                batch: full,
                notes,
            };
            if !deliver(core, Some(link), tx, frames) {
                return Some(End::Stopped);
            }
            if let Some(e) = ending {
                log::info!("ending the connection: {}", e.reason);
                if e.last {
                    link.set_last();
                }
                link.end(&e.reason, e.graceful);
            } else if handover {
                if core.begin_handover() {
                    return None;
                }
                // Another socket is being replaced (its drain still runs): this one is
                // replaced as soon as that ends, still make before break.
                log::info!("another connection is being replaced: this one is next");
                link.schedule_handover(Instant::now());
            }
        }
        if link.conn.has_pending_writes() {
            // Control replies (pong, close echo) and what `inspect` queued (acks): the
            // pinger writes them, so a server that does not read never blocks this thread.
            core.kick();
        }
        if decoded.is_ok() && handover_now(core, link) {
            return None;
        }
        match decoded {
            Err(ended) => return Some(lost(ended)),
            Ok(()) if n == Some(0) => {
                return Some(lost(Ended::Closed {
                    code: None,
                    reason: "the connection closed".into(),
                }))
            }
            Ok(()) => {}
        }
        n = loop {
            if core.stopping() {
                return Some(End::Stopped);
            }
            if let Some(left) = link.handover_in(Instant::now()) {
                if left < defaults::READ_TICK {
                    // Wake up in time for the handover rather than at the next tick.
                    let _ = sock.set_read_timeout(Some(left.max(Duration::from_millis(1))));
                }
            }
            let read = transport::read_socket(sock, buf);
            if core.stopping() {
                // Also how `stop()` wakes us: it shuts the socket's read side.
                return Some(End::Stopped);
            }
            match read {
                Ok(None) if handover_now(core, link) => return None,
                Ok(None) => continue,
                Ok(Some(n)) => {
                    if n == buf.len() && buf.len() < READ_BUF_MAX {
                        // Decoded below from `buf[..n]`: grow for the next read only.
                        let grown = (buf.len() * 2).min(READ_BUF_MAX);
                        let mut bigger = vec![0u8; grown];
                        bigger[..n].copy_from_slice(&buf[..n]);
                        *buf = bigger;
                    }
                    break Some(n);
                }
                Err(e) => return Some(lost(Ended::Failed(e))),
            }
        };
    }
}

/// How soon a due replacement that had to wait for another one is tried again.
const HANDOVER_RETRY: Duration = Duration::from_millis(50);

/// True when `link`'s scheduled replacement is due and no other replacement runs (else it is
/// tried again [`HANDOVER_RETRY`] later).
fn handover_now(core: &Core, link: &Link) -> bool {
    let now = Instant::now();
    if !link.handover_due(now) {
        return false;
    }
    if !core.begin_handover() {
        // Looked at again shortly (the read wakes up for it): the other replacement ends
        // within its drain.
        link.schedule_handover(now + HANDOVER_RETRY);
        return false;
    }
    log::info!("the connection's time is nearly up: replacing it ahead of the server");
    true
}
