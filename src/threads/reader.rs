//! `rtm-reader`: the connect/backoff loop, and the socket reads of each connection.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use serde_json::{json, Value};

use super::{client_error, Item};
use crate::backoff::Reconnect;
use crate::client::{deliver, Link, Shared};
use crate::config::{defaults, ConnectMethod};
use crate::error::Error;
use crate::session::Keepalive;
use crate::transport::{self, Batch, Ended};

/// How a connection ended.
enum End {
    /// A stop was requested.
    Stopped,
    /// The connection was lost or closed.
    Lost { code: Option<u16>, reason: String },
}

/// Size of one socket read.
const READ_BUF: usize = 64 * 1024;

/// `pool` hands back emptied batches from the dispatcher for reuse.
pub(crate) fn run(
    shared: Arc<Shared>,
    tx: Sender<Item>,
    pool: Receiver<Batch>,
) -> Result<(), Error> {
    let cfg = &shared.config;
    let mut policy = Reconnect::new(
        cfg.backoff_base,
        cfg.backoff_cap,
        cfg.healthy_after,
        cfg.max_attempts,
        cfg.connect_burst,
        cfg.connect_interval,
    );
    let mut buf = vec![0u8; READ_BUF];
    let result = loop {
        if shared.stopping() {
            break Ok(());
        }
        let gate = policy.before_connect(Instant::now());
        if !gate.is_zero() {
            log::info!(
                "waiting {} ms before calling {} (connect-rate limit)",
                gate.as_millis(),
                cfg.connect_method.as_str()
            );
            if shared.wait(gate) {
                break Ok(());
            }
        }
        let attempt = policy.attempt();
        let (link, body, sock) = match connect(&shared) {
            Ok(c) => c,
            Err(e) => {
                if shared.stopping() {
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
                let event = Item::Event {
                    name: "error",
                    data,
                };
                deliver(&shared, None, &tx, event);
                let Some(delay) = delay else {
                    break Err(e);
                };
                if shared.wait(delay) {
                    break Ok(());
                }
                continue;
            }
        };
        if shared.stopping() {
            // Never announced: close quietly.
            link.conn.close(1000, "client stopped");
            break Ok(());
        }
        policy.on_connected(Instant::now());
        shared.set_link(Some(link.clone()));
        log::info!("connected to Slack (attempt {attempt})");
        let open = Item::Open {
            link: link.clone(),
            body,
        };
        let end = if deliver(&shared, Some(&link), &tx, open) {
            pump(&shared, &link, sock, &tx, &pool, &mut buf)
        } else {
            End::Stopped
        };
        shared.set_link(None);
        if matches!(end, End::Lost { .. }) {
            // Whatever ended it, this socket is done: release it now, not after the backoff.
            link.conn.kill();
        }
        let (code, reason, will_reconnect, delay) = match end {
            End::Stopped => {
                link.conn.close(1000, "client stopped");
                log::info!("disconnected: client stopped");
                (Some(1000), "client stopped".to_string(), false, None)
            }
            End::Lost { code, reason } if !cfg.auto_reconnect => {
                log::warn!("disconnected: {reason}; auto_reconnect is off");
                (code, reason, false, None)
            }
            End::Lost { code, reason } => {
                // A connection that never said anything was not healthy, however long it lasted.
                let spoke = link.first_frame.load(std::sync::atomic::Ordering::Acquire);
                let delay = policy.after_disconnect(Instant::now(), spoke, rand::random::<f64>());
                log::warn!(
                    "disconnected: {reason}; reconnecting in {} ms (attempt {})",
                    delay.as_millis(),
                    policy.attempt()
                );
                (code, reason, true, Some(delay))
            }
        };
        let data = json!({
            "code": code,
            "reason": reason,
            "will_reconnect": will_reconnect,
            "attempt": if will_reconnect { policy.attempt() } else { 0 },
            "delay_ms": delay.map(|d| d.as_millis() as u64).unwrap_or(0),
        });
        deliver(
            &shared,
            None,
            &tx,
            Item::Event {
                name: "close",
                data,
            },
        );
        match delay {
            None if shared.stopping() => break Ok(()),
            None => break Err(Error::Disconnected { code, reason }),
            Some(d) => {
                if shared.wait(d) {
                    break Ok(());
                }
            }
        }
    };
    // Wakes the pinger; the dispatcher ends when `tx` drops.
    shared.request_stop();
    result
}

/// `rtm.connect` (or `rtm.start`), then the websocket.
fn connect(shared: &Shared) -> Result<(Arc<Link>, Value, TcpStream), Error> {
    let cfg = &shared.config;
    let mut params = json!({});
    if cfg.batch_presence_aware {
        params["batch_presence_aware"] = json!(true);
    }
    if cfg.presence_sub {
        params["presence_sub"] = json!(true);
    }
    let response = match cfg.connect_method {
        ConnectMethod::RtmConnect => shared.web.rtm_connect(&params)?,
        ConnectMethod::RtmStart => shared.web.rtm_start(&params)?,
    };
    let body = response.into_data();
    let url = body
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::NoUrl {
            method: cfg.connect_method.as_str().to_string(),
        })?;
    let (conn, sock) = transport::open(url, &cfg.net, cfg.max_message_size, defaults::READ_TICK)?;
    let keepalive = Keepalive::new(Instant::now(), cfg.ping_interval, cfg.pong_deadline());
    Ok((Arc::new(Link::new(conn, keepalive)), body, sock))
}

/// Reads one connection until it ends or a stop is requested.
fn pump(
    shared: &Shared,
    link: &Arc<Link>,
    mut sock: TcpStream,
    tx: &Sender<Item>,
    pool: &Receiver<Batch>,
    buf: &mut [u8],
) -> End {
    let lost = |ended: Ended| {
        let (code, reason) = match ended {
            Ended::Closed { code, reason } => (code, reason),
            Ended::Failed(e) => {
                if matches!(e, Error::WebSocket(_)) {
                    // A protocol failure (an oversized message, a bad frame) is the client's
                    // to report; a plain network error is only a lost connection.
                    log::warn!("{e}");
                    let data = client_error(e.kind_name(), &e.to_string());
                    deliver(
                        shared,
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
    let mut batch = pool.try_recv().unwrap_or_default();
    loop {
        if shared.stopping() {
            return End::Stopped;
        }
        let decoded = match n {
            None => link.conn.decode(&[], false, &mut batch),
            Some(n) => {
                link.keepalive().on_inbound(Instant::now());
                link.conn.decode(&buf[..n], n == 0, &mut batch)
            }
        };
        if !batch.is_empty() {
            link.first_frame
                .store(true, std::sync::atomic::Ordering::Release);
            let full = std::mem::replace(&mut batch, pool.try_recv().unwrap_or_default());
            if !deliver(shared, Some(link), tx, Item::Frames(full)) {
                return End::Stopped;
            }
        }
        match decoded {
            Err(ended) => return lost(ended),
            Ok(()) if n == Some(0) => {
                return lost(Ended::Closed {
                    code: None,
                    reason: "the connection closed".into(),
                })
            }
            Ok(()) => {}
        }
        n = loop {
            if shared.stopping() {
                return End::Stopped;
            }
            let read = transport::read_socket(&mut sock, buf);
            if shared.stopping() {
                // Also how `stop()` wakes us: it shuts the socket's read side.
                return End::Stopped;
            }
            match read {
                Ok(None) => continue,
                Ok(Some(n)) => break Some(n),
                Err(e) => return lost(Ended::Failed(e)),
            }
        };
    }
}
