//! The protocol state of one Socket Mode client ([`SocketMode`]) and its answers to the engine:
//! `apps.connections.open` per dial, `hello`, reader-side acks and dedupe, `disconnect`,
//! websocket pings, and the ack deadline on the pinger; plus [`SocketModeHandle`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::ack::{AckError, AckErrorKind, AckSlot};
use super::dedupe::Dedupe;
use super::intake::{intake, Arrival};
use super::pending::Pending;
use super::rules::{
    peek, with_debug_reconnects, CapBackoff, DisconnectAction, DisconnectReason, Frame, Peek,
    OPEN_METHOD,
};
use super::settings::SmConfig;
use crate::config::defaults;
use crate::engine::core::{Core, Names, Settings};
use crate::engine::link::Link;
use crate::engine::protocol::{Dial, Ending, Inspect, Protocol};
use crate::engine::rules::client_error;
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

/// The reader's verdict on one text frame, queued with it for the dispatcher.
#[derive(Default)]
pub(crate) enum Verdict {
    /// Not an envelope (or nothing the reader acts on).
    #[default]
    Plain,
    /// An envelope the reader acked on arrival.
    AckedByReader,
    /// A redelivered event already dispatched: acked, not dispatched again.
    Duplicate,
    /// An envelope whose ack is its handlers' (or the deadline's).
    Pending(Arc<Pending>),
}

/// The state of one Socket Mode client, shared by its clones, handles (weakly) and threads.
pub(crate) struct SocketMode {
    pub(crate) core: Core,
    pub(crate) config: SmConfig,
    /// The app token's Web API client, for `apps.connections.open`.
    opener: WebClient,
    /// Handlers' Web API client (the bot token, else the app token).
    pub(crate) web: WebClient,
    /// Envelopes whose ack is the handlers' (or the deadline's), by delivery (not by
    /// envelope id: ids may repeat, on one socket or across two).
    pending: Mutex<HashMap<u64, Arc<Pending>>>,
    next_ticket: AtomicU64,
    dedupe: Option<Mutex<Dedupe>>,
    /// Slack said `link_disabled`: the next dial stops the client.
    disabled: AtomicBool,
    /// The `too_many_websockets` backoff and the wait it asks of the next dial.
    cap: Mutex<(CapBackoff, Option<Duration>)>,
}

impl SocketMode {
    pub(crate) fn new(config: SmConfig) -> Result<SocketMode, Error> {
        let opener = WebClient::from_net(&config.net)?;
        let web = match &config.bot_token {
            Some(token) => {
                let mut net = config.net.clone();
                net.token = token.clone();
                WebClient::from_net(&net)?
            }
            None => opener.clone(),
        };
        let settings = Settings {
            names: NAMES,
            connect_method: OPEN_METHOD,
            auto_reconnect: config.auto_reconnect,
            hello_timeout: config.net.timeout.min(transport::MAX_TIMEOUT),
            ping_interval: config.ping_interval,
            pong_deadline: config.pong_timeout,
            backoff_base: config.backoff_base,
            backoff_cap: config.backoff_cap,
            healthy_after: config.healthy_after,
            connect_burst: config.connect_burst,
            connect_interval: config.connect_interval,
            max_attempts: config.max_attempts,
            channel_capacity: config.channel_capacity,
            slots: config.connections,
            silence_deadline: true,
        };
        Ok(SocketMode {
            core: Core::new(settings),
            dedupe: config.dedupe.then(|| Mutex::new(Dedupe::default())),
            config,
            opener,
            web,
            pending: Mutex::new(HashMap::new()),
            next_ticket: AtomicU64::new(0),
            disabled: AtomicBool::new(false),
            cap: Mutex::new((CapBackoff::default(), None)),
        })
    }

    /// An envelope arrived on `link` (reader thread): ack it now or leave the ack to the
    /// handlers, and note duplicates. The verdict travels with the frame to the dispatcher.
    fn arrive(&self, link: &Arc<Link>, arrival: Arrival<'_>) -> Verdict {
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
            return Verdict::Duplicate;
        }
        if acked_now {
            return Verdict::AckedByReader;
        }
        let slot = AckSlot::new(
            arrival.envelope_id,
            arrival.accepts_response_payload,
            now,
            self.config.ack_deadline,
        );
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let pending = Arc::new(Pending::new(
            ticket,
            link.clone(),
            slot,
            arrival.envelope_id,
        ));
        lock(&self.pending).insert(ticket, pending.clone());
        // The pinger keeps the ack deadline.
        self.core.kick();
        Verdict::Pending(pending)
    }

    /// What a `disconnect` asks of the reader: make before break for a refresh (the socket is
    /// read until its replacement says `hello`), an end otherwise.
    fn disconnect(&self, reason: &DisconnectReason, seen: &mut Inspect<Verdict>) {
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

    /// Queues an ack frame on the envelope's own connection for the pinger (or the drain of a
    /// connection being replaced) to write: no thread but those waits on the socket, bounded
    /// by the pong deadline. Fails when that connection has gone.
    fn write_ack(&self, link: &Link, frame: String) -> Result<(), crate::transport::WriteError> {
        link.conn.queue_text(frame)?;
        self.core.kick();
        Ok(())
    }

    /// A handler acks, through its `Request` (dispatcher thread) or an `Acker` (any thread).
    pub(crate) fn ack_pending(
        &self,
        pending: &Arc<Pending>,
        payload: Option<Value>,
    ) -> Result<(), AckError> {
        let backup = payload.clone();
        let frame = pending.ack(payload)?;
        self.forget(pending);
        // On the envelope's own connection, even while it drains after a refresh; a closed
        // one fails.
        self.write_ack(pending.link(), frame)
            .map_err(|_| AckError::new(AckErrorKind::ConnectionGone, backup))
    }

    /// The envelope's handlers returned (dispatcher thread): a bare ack if none went out and
    /// no handler deferred it. Returns whether the ack deadline passed while they ran.
    pub(crate) fn handlers_returned(&self, pending: &Arc<Pending>) -> bool {
        let returned = pending.handlers_returned();
        if let Some(frame) = returned.frame {
            if let Err(e) = self.write_ack(pending.link(), frame) {
                log::debug!(
                    "the ack of envelope {} was not sent: {e:?}",
                    pending.envelope_id()
                );
            }
        }
        if pending.settled() {
            self.forget(pending);
        }
        returned.late
    }

    /// An envelope no longer waits for its ack.
    fn forget(&self, pending: &Pending) {
        lock(&self.pending).remove(&pending.ticket());
    }

    /// The `error` event of an envelope acked bare at its ack deadline.
    pub(crate) fn late_ack_error(&self, envelope_id: &str) -> Value {
        let msg = format!(
            "the handlers of envelope {envelope_id} had not acked it at the ack deadline \
             ({} ms): a bare ack was sent then",
            self.config.ack_deadline.as_millis()
        );
        let mut data = client_error("late_ack", &msg);
        data["envelope_id"] = json!(envelope_id);
        data
    }

    /// The client stopped: nothing pending survives it.
    pub(crate) fn clear(&self) {
        lock(&self.pending).clear();
    }
}

impl Protocol for SocketMode {
    type Note = Verdict;

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
            self.config.max_message_size,
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

    fn inspect(&self, link: &Arc<Link>, text: &str) -> Inspect<Verdict> {
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
                    seen.note = self.arrive(link, arrival);
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
                    seen.note = self.arrive(link, Arrival::from_envelope(&envelope));
                }
                _ => {}
            },
        }
        seen
    }

    fn quiet(&self, link: &Link) -> bool {
        !lock(&self.pending)
            .values()
            .any(|p| std::ptr::eq(&**p.link(), link) && p.deadline().is_some())
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
            for p in pending.values().filter(|p| Arc::ptr_eq(p.link(), link)) {
                if let Some((frame, late)) = p.on_deadline(now) {
                    due.push((p.clone(), frame, late));
                } else if let Some(at) = p.deadline() {
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
            // Acked now or since the last look (by a deferred `Acker`, say): the map keeps
            // only what the deadline still watches (the dispatcher holds its own reference).
            pending.retain(|_, p| !p.settled());
        }
        for (p, frame, late) in due {
            let id = p.envelope_id();
            log::warn!("envelope {id}: not acked at the ack deadline; sent a bare ack");
            if let Err(e) = self.write_ack(p.link(), frame) {
                log::debug!("the deadline ack of envelope {id} was not sent: {e:?}");
            }
            if late {
                // The handlers returned having deferred the ack: the dispatcher is not
                // waiting on them, so it hears of it as a pseudo-event.
                self.core.notify("error", self.late_ack_error(id));
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
