//! The protocol state of one Socket Mode client ([`SocketMode`]) and its answers to the engine:
//! `apps.connections.open` per dial, `hello`, reader-side acks and dedupe, `disconnect`,
//! websocket pings, and the ack deadline on the pinger; plus [`SocketModeHandle`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ack::{AckError, AckErrorKind, AckSlot, AckedBy};
use super::dedupe::Dedupe;
use super::intake::{intake, Arrival};
use super::rules::{
    peek, with_debug_reconnects, CapBackoff, DisconnectAction, DisconnectReason, Frame, Peek,
    OPEN_METHOD,
};
use super::settings::SmConfig;
use crate::config::defaults;
use crate::engine::core::{Core, Names, Settings};
use crate::engine::link::Link;
use crate::engine::protocol::{Dial, Ending, Inspect, Protocol};
use crate::error::Error;
use crate::transport;
use crate::web::WebClient;

const NAMES: Names = Names {
    reader: "sm-reader",
    pinger: "sm-pinger",
    dispatcher: "sm-dispatch",
    dial: "sm-connect",
    drain: "sm-drain",
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pending ack and the connection its envelope came on.
struct Pending {
    slot: AckSlot,
    link: Arc<Link>,
}

/// The state of one Socket Mode client, shared by its clones, handles (weakly) and threads.
pub(crate) struct SocketMode {
    pub(crate) core: Core,
    pub(crate) config: SmConfig,
    /// The app token's Web API client, for `apps.connections.open`.
    opener: WebClient,
    /// Handlers' Web API client (the bot token, else the app token).
    pub(crate) web: WebClient,
    /// Envelopes whose ack is the handlers' (or the deadline's), by envelope id.
    pending: Mutex<HashMap<String, Pending>>,
    dedupe: Option<Mutex<Dedupe>>,
    /// Envelopes the reader found to be duplicates: acked, not to be dispatched.
    skip: Mutex<HashMap<String, u32>>,
    /// Slack said `link_disabled`: the next dial stops the client.
    disabled: AtomicBool,
    /// The `too_many_websockets` backoff and the wait it asks of the next dial.
    cap: Mutex<(CapBackoff, Option<Duration>)>,
}

impl SocketMode {
    pub(crate) fn new(config: SmConfig) -> Result<SocketMode, Error> {
        let (opener, web) = config.web_clients()?;
        let settings = Settings::new(
            NAMES,
            OPEN_METHOD,
            &config.engine,
            config.net.timeout.min(transport::MAX_TIMEOUT),
            config.pong_timeout,
            config.connections,
            true,
        );
        Ok(SocketMode {
            core: Core::new(settings),
            dedupe: config.dedupe.then(|| Mutex::new(Dedupe::default())),
            config,
            opener,
            web,
            pending: Mutex::new(HashMap::new()),
            skip: Mutex::new(HashMap::new()),
            disabled: AtomicBool::new(false),
            cap: Mutex::new((CapBackoff::default(), None)),
        })
    }

    /// An envelope arrived on `link` (reader thread): ack it now or leave the ack to the
    /// handlers, and note duplicates.
    fn arrive(&self, link: &Arc<Link>, arrival: Arrival<'_>) {
        let now = Instant::now();
        let decision = {
            let mut dedupe = self.dedupe.as_ref().map(lock);
            intake(arrival, self.config.event_ack, dedupe.as_deref_mut(), now)
        };
        let acked_now = decision.ack_now.is_some();
        if let Some(ack) = decision.ack_now {
            // Encoded now, written by the pinger (kicked by the reader): never blocks here.
            if let Err(e) = link.conn.queue_text(ack) {
                log::warn!("cannot ack envelope {}: {e:?}", arrival.envelope_id);
            }
        }
        if !decision.dispatch {
            log::debug!(
                "envelope {} repeats event {}: acked, not dispatched again",
                arrival.envelope_id,
                arrival.event_id.unwrap_or_default()
            );
            *lock(&self.skip)
                .entry(arrival.envelope_id.to_owned())
                .or_default() += 1;
            return;
        }
        if acked_now {
            return;
        }
        let slot = AckSlot::new(
            arrival.envelope_id,
            arrival.accepts_response_payload,
            now,
            self.config.ack_deadline,
        );
        lock(&self.pending).insert(
            arrival.envelope_id.to_owned(),
            Pending {
                slot,
                link: link.clone(),
            },
        );
        // The pinger keeps the ack deadline.
        self.core.kick();
    }

    /// What a `disconnect` asks of the reader: make before break for a refresh (the socket is
    /// read until its replacement says `hello`), an end otherwise.
    fn disconnect(&self, reason: &DisconnectReason, seen: &mut Inspect) {
        match reason.action() {
            DisconnectAction::Warned | DisconnectAction::Refresh => {
                log::info!("Slack refreshes this socket (disconnect: {reason}): replacing it");
                seen.handover = true;
                return;
            }
            DisconnectAction::Stop => {
                log::error!("Slack switched Socket Mode off for this app (link_disabled)");
                self.disabled.store(true, Ordering::SeqCst);
            }
            DisconnectAction::BackOff => {
                let mut cap = lock(&self.cap);
                let wait = cap.0.next_delay(rand::random::<f64>());
                log::warn!(
                    "too many websockets for this app: waiting {} ms before the next connection",
                    wait.as_millis()
                );
                cap.1 = Some(wait);
            }
        }
        seen.end = Some(Ending {
            last: reason.action() == DisconnectAction::Stop,
            reason: format!("disconnect: {reason}"),
            graceful: true,
        });
    }

    /// Whether Slack said `link_disabled` during this run.
    pub(crate) fn link_disabled(&self) -> bool {
        self.disabled.load(Ordering::SeqCst)
    }

    pub(crate) fn set_link_disabled(&self, yes: bool) {
        self.disabled.store(yes, Ordering::SeqCst);
    }

    /// Whether the reader must skip this envelope (a duplicate it acked); consumes the mark.
    pub(crate) fn take_skip(&self, envelope_id: &str) -> bool {
        let mut skip = lock(&self.skip);
        match skip.get_mut(envelope_id) {
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    skip.remove(envelope_id);
                }
                true
            }
            None => false,
        }
    }

    /// A handler acks (dispatcher thread).
    pub(crate) fn handler_ack(
        &self,
        envelope_id: &str,
        payload: Option<Value>,
    ) -> Result<(), AckError> {
        let mut pending = lock(&self.pending);
        let Some(entry) = pending.get_mut(envelope_id) else {
            return Err(AckError::new(
                AckErrorKind::AlreadyAcked(AckedBy::HandlersReturned),
                payload,
            ));
        };
        let backup = payload.clone();
        let frame = entry.slot.ack(payload)?;
        let link = entry.link.clone();
        drop(pending);
        // On the envelope's own connection, even while it drains after a refresh; a closed
        // one fails.
        link.conn
            .send_text(frame)
            .map_err(|_| AckError::new(AckErrorKind::ConnectionGone, backup))
    }

    /// The envelope's handlers returned (dispatcher thread): a bare ack if none went out.
    /// Returns who acked.
    pub(crate) fn handlers_returned(&self, envelope_id: &str) -> Option<AckedBy> {
        let mut entry = lock(&self.pending).remove(envelope_id)?;
        if let Some(frame) = entry.slot.on_handlers_returned() {
            if let Err(e) = entry.link.conn.send_text(frame) {
                log::debug!("the ack of envelope {envelope_id} was not sent: {e:?}");
            }
        }
        entry.slot.acked_by()
    }

    /// The client stopped: nothing pending survives it.
    pub(crate) fn clear(&self) {
        lock(&self.pending).clear();
        lock(&self.skip).clear();
    }
}

impl Protocol for SocketMode {
    fn core(&self) -> &Core {
        &self.core
    }

    fn dial(&self) -> Result<Dial, Error> {
        if self.disabled.load(Ordering::SeqCst) {
            return Err(Error::LinkDisabled);
        }
        let wait = lock(&self.cap).1.take();
        if let Some(wait) = wait {
            if self.core.wait(wait) {
                return Err(Error::Disconnected {
                    code: None,
                    reason: "stopped".into(),
                });
            }
        }
        let body = self.opener.api_call(OPEN_METHOD, &Value::Null)?.into_data();
        let url = body
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Error::NoUrl {
                method: OPEN_METHOD.to_string(),
            })?;
        let url = if self.config.debug_reconnects {
            with_debug_reconnects(url)
        } else {
            url.to_owned()
        };
        let (conn, sock) = transport::open(
            &url,
            &self.config.net,
            self.config.engine.max_message_size,
            defaults::READ_TICK,
        )
        .map_err(|e| match e {
            Error::Url(reason) => Error::BadUrl {
                method: OPEN_METHOD.to_string(),
                reason,
            },
            e => e,
        })?;
        Ok(Dial { conn, sock, body })
    }

    fn inspect(&self, link: &Arc<Link>, text: &str) -> Inspect {
        let mut seen = Inspect::default();
        let p = peek(text);
        match &p {
            Peek::Hello => {
                seen.ready = true;
                // Rare: read it whole, for the time Slack gives this socket.
                if let Some(Frame::Hello(hello)) = Frame::parse(text) {
                    link.schedule_handover(hello.refresh_at(Instant::now()));
                }
            }
            Peek::Disconnect(reason) => {
                link.set_disconnect_reason(reason.as_str());
                self.disconnect(reason, &mut seen)
            }
            Peek::Envelope { .. } => {
                if let Some(arrival) = Arrival::from_peek(&p) {
                    self.arrive(link, arrival);
                }
            }
            Peek::Other => {}
            Peek::Unclear => match Frame::parse(text) {
                Some(Frame::Hello(hello)) => {
                    seen.ready = true;
                    link.schedule_handover(hello.refresh_at(Instant::now()));
                }
                Some(Frame::Disconnect { reason, .. }) => {
                    link.set_disconnect_reason(reason.as_str());
                    self.disconnect(&reason, &mut seen);
                }
                Some(Frame::Envelope(envelope)) => {
                    self.arrive(link, Arrival::from_envelope(&envelope));
                }
                _ => {}
            },
        }
        seen
    }

    fn quiet(&self, link: &Link) -> bool {
        !lock(&self.pending)
            .values()
            .any(|e| std::ptr::eq(&*e.link, link) && e.slot.deadline().is_some())
    }

    fn on_ready(&self, _link: &Arc<Link>) {
        lock(&self.cap).0.reset();
    }

    fn ping(&self, link: &Link) {
        if let Err(e) = link.conn.send_ping() {
            log::debug!("ping not sent: {e:?}");
        }
    }

    fn on_timer(&self, link: &Arc<Link>, now: Instant) -> Option<Duration> {
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        {
            let mut pending = lock(&self.pending);
            // The pinger calls this for each open socket (a drain, for the one it reads):
            // each serves the envelopes of its own socket, once.
            let mine = pending
                .iter_mut()
                .filter(|(_, e)| Arc::ptr_eq(&e.link, link));
            for (id, entry) in mine {
                if let Some(frame) = entry.slot.on_deadline(now) {
                    due.push((id.clone(), entry.link.clone(), frame));
                } else if let Some(at) = entry.slot.deadline() {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        for (id, link, frame) in due {
            log::warn!(
                "envelope {id}: handlers still running at the ack deadline; sent a bare ack"
            );
            if let Err(e) = link.conn.send_text(frame) {
                log::debug!("the deadline ack of envelope {id} was not sent: {e:?}");
            }
        }
        next.map(|at| at.saturating_duration_since(now))
    }
}

/// A handle on a [`SocketModeClient`](super::SocketModeClient) that does not keep it alive.
#[derive(Clone)]
pub struct SocketModeHandle {
    sm: Weak<SocketMode>,
}

impl SocketModeHandle {
    pub(crate) fn new(sm: &Arc<SocketMode>) -> SocketModeHandle {
        SocketModeHandle {
            sm: Arc::downgrade(sm),
        }
    }

    /// Requests a stop (never blocks; safe in a handler).
    pub fn stop(&self) {
        if let Some(sm) = self.sm.upgrade() {
            sm.core.request_stop();
        }
    }

    /// True while a connection is open and its `hello` has arrived.
    pub fn is_connected(&self) -> bool {
        self.sm
            .upgrade()
            .is_some_and(|sm| sm.core.links().iter().any(|l| l.is_ready()))
    }
}

impl fmt::Debug for SocketModeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketModeHandle").finish_non_exhaustive()
    }
}
