//! Socket Mode websocket connections of the fake server.
//!
//! Like the RTM connections ([`rtm::ws`](crate::testing::rtm::ws)), each socket has a connection thread that owns the
//! websocket and a watcher thread that reports readable bytes, so frames move in either
//! direction within microseconds and acks are timestamped as they are read. The connection
//! thread also keeps the socket's timers: the server's pings and the scripted refresh sequence.

use std::io::Read as _;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use log::debug;
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::StatusCode;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Bytes, Error, Message, Utf8Bytes, WebSocket};

use super::state::{HandshakeFault, SmCmd, SmConn, SocketGreeting};
use super::{
    disconnect_frame, greeting_for, hello_frame, on_client_text, on_delivered, route,
    route_backlog, take_handshake_fault,
};
use crate::testing::net::{Conn, Replay};
use crate::testing::rtm::ws::{done_unless_blocked, is_timeout, watch, CLOSE_GRACE};
use crate::testing::state::{Shared, SocketGuard};

/// Largest accepted client message.
const MAX_MESSAGE: usize = 1 << 20;
/// Most client messages handled in one go before scripted commands get a turn.
const READ_BATCH: usize = 256;
/// Longest idle wait when no timer is due (the loop wakes earlier for any command or data).
const IDLE: Duration = Duration::from_secs(3600);

type Ws = WebSocket<Replay<Conn>>;

/// Starts the connection thread for a Socket Mode upgrade request (`/link/?ticket=…`) whose
/// head (and anything after it) is in `buffered`.
pub(crate) fn start(guard: SocketGuard, conn: Conn, buffered: Vec<u8>, query: &str) {
    let shared = Arc::clone(guard.shared());
    let params = Params::parse(query);
    let spawned = shared.spawn("fake-sm-ws", move || run(guard, conn, buffered, &params));
    if let Err(e) = spawned {
        debug!("fake slack: cannot spawn a socket mode thread: {e}");
    }
}

/// What the URL's query string says.
#[derive(Debug, Default)]
struct Params {
    ticket: String,
    debug_reconnects: bool,
}

impl Params {
    fn parse(query: &str) -> Params {
        let mut params = Params::default();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("ticket", t)) => params.ticket = t.to_owned(),
                Some(("debug_reconnects", v)) => params.debug_reconnects = v == "true",
                _ => {}
            }
        }
        params
    }
}

fn refusal(status: u16, body: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_owned()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
}

fn run(guard: SocketGuard, conn: Conn, buffered: Vec<u8>, params: &Params) {
    let shared = Arc::clone(guard.shared());
    let (fault, ticket_valid) = {
        let mut state = shared.lock();
        let sm = &mut state.sm;
        let ttl = sm.settings.ticket_ttl;
        let valid = sm
            .tickets
            .remove(&params.ticket)
            .is_some_and(|issued| issued.elapsed() <= ttl);
        (take_handshake_fault(sm), valid)
    };
    let status = match fault {
        Some(HandshakeFault::Hang) => {
            shared.wait_for_stop();
            return;
        }
        Some(HandshakeFault::Reset) => return,
        Some(HandshakeFault::Status(status)) => Some(status),
        None => None,
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    #[allow(clippy::result_large_err)] // reason: the signature is tungstenite's callback type
    let callback = |_: &Request, response: Response| match (status, ticket_valid) {
        (Some(status), _) => Err(refusal(status, "scripted handshake failure")),
        (None, false) => Err(refusal(
            401,
            r#"{"ok":false,"error":"invalid_ticket","detail":"unknown, used or expired ticket"}"#,
        )),
        (None, true) => Ok(response),
    };
    let ws = match tungstenite::accept_hdr_with_config(
        Replay::new(buffered, conn),
        callback,
        Some(config),
    ) {
        Ok(ws) => ws,
        Err(e) => {
            debug!("fake slack: socket mode handshake refused or failed: {e}");
            return;
        }
    };
    let tcp = ws.get_ref().inner().tcp();
    if tcp.set_read_timeout(None).is_err() {
        return;
    }
    let (Ok(for_handle), Ok(for_watcher)) = (tcp.try_clone(), tcp.try_clone()) else {
        return;
    };
    let (readable_tx, readable_rx) = crossbeam_channel::bounded(1);
    let (drained_tx, drained_rx) = crossbeam_channel::bounded(1);
    let watcher = shared.spawn("fake-sm-peek", move || {
        watch(&for_watcher, &readable_tx, &drained_rx);
    });
    if let Err(e) = watcher {
        debug!("fake slack: cannot spawn a socket mode watcher: {e}");
        return;
    }

    let (tx, rx) = crossbeam_channel::unbounded();
    let now = Instant::now();
    let (id, greeting, registered, lifetime, ping_interval) = {
        let mut state = shared.lock();
        if state.stopping {
            return;
        }
        let sm = &mut state.sm;
        sm.total += 1;
        let id = sm.total;
        let registered = sm.registered(now) + 1;
        let greeting = greeting_for(sm, registered);
        sm.conns.insert(
            id,
            SmConn {
                tx,
                tcp: for_handle,
                ready: false,
                accepting: true,
                pongs: 0,
                client_pings: 0,
                frozen: false,
            },
        );
        (
            id,
            greeting,
            registered,
            sm.settings.lifetime,
            sm.settings.ping_interval,
        )
    };
    shared.notify();
    let registration = Registration {
        shared: Arc::clone(&shared),
        id,
        socket: Some(guard),
        commands: rx.clone(),
        ghost: false,
    };
    let mut session = Session {
        shared: Arc::clone(&shared),
        ws,
        commands: rx,
        readable: readable_rx,
        drained: drained_tx,
        id,
        read_pending: true,
        unflushed: false,
        closing: false,
        debug_reconnects: params.debug_reconnects,
        next_ping: ping_interval.map(|i| now + i),
        timers: Vec::new(),
        registration,
    };
    if let Some(lifetime) = lifetime {
        let lead = (lifetime / 10).min(Duration::from_secs(10));
        let close_after = (lifetime / 10).min(Duration::from_secs(1));
        session.timers.push((
            now + (lifetime - lead),
            Timer::Warning {
                refresh_at: now + lifetime,
                close_after,
            },
        ));
    }
    let result =
        session.greet(greeting, registered).and_then(
            |open| {
                if open {
                    session.serve()
                } else {
                    Ok(())
                }
            },
        );
    match result {
        Ok(()) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => {}
        Err(e) => debug!("fake slack: socket mode connection {id} ended: {e}"),
    }
}

/// Keeps a socket registered while its thread runs; on drop (even by panic) the TCP connection
/// is shut down, the socket unregistered (or kept as a ghost), and the envelopes still queued
/// for it go to another socket.
struct Registration {
    shared: Arc<Shared>,
    id: u64,
    socket: Option<SocketGuard>,
    commands: Receiver<SmCmd>,
    /// The client vanished without a close handshake.
    ghost: bool,
}

impl Drop for Registration {
    fn drop(&mut self) {
        drop(self.socket.take());
        {
            let mut state = self.shared.lock();
            let sm = &mut state.sm;
            sm.conns.remove(&self.id);
            let ghost_lifetime = sm.settings.ghost_lifetime;
            if self.ghost && !ghost_lifetime.is_zero() {
                sm.ghosts.push(Instant::now() + ghost_lifetime);
            }
            while let Ok(cmd) = self.commands.try_recv() {
                if let SmCmd::Deliver(index, text) = cmd {
                    sm.deliveries[index].record.conn = None;
                    sm.deliveries[index].record.at = None;
                    route(sm, index, text);
                }
            }
        }
        self.shared.notify();
    }
}

/// A timer of one socket.
#[derive(Debug, Clone, Copy)]
enum Timer {
    /// Send `hello` now (a delayed greeting).
    Hello,
    /// Send `warning`; `refresh_requested` follows at `refresh_at`.
    Warning {
        refresh_at: Instant,
        close_after: Duration,
    },
    /// Send `refresh_requested`; close `close_after` later.
    Refresh { close_after: Duration },
    /// Close cleanly.
    Close,
}

/// What reading found.
enum Outcome {
    /// The connection is open.
    Open,
    /// The connection is over.
    Closed,
    /// The client sent a close frame that must not be answered.
    Mute,
}

struct Session {
    shared: Arc<Shared>,
    ws: Ws,
    commands: Receiver<SmCmd>,
    readable: Receiver<()>,
    drained: Sender<()>,
    id: u64,
    read_pending: bool,
    unflushed: bool,
    /// The server sent a close frame: client frames are only recorded.
    closing: bool,
    debug_reconnects: bool,
    next_ping: Option<Instant>,
    timers: Vec<(Instant, Timer)>,
    registration: Registration,
}

impl Session {
    /// Greets the new socket; `Ok(false)` when the greeting ended it.
    fn greet(&mut self, greeting: SocketGreeting, registered: usize) -> tungstenite::Result<bool> {
        match greeting {
            SocketGreeting::Hello => self.hello(registered)?,
            SocketGreeting::Silent => {}
            SocketGreeting::DelayedHello(delay) => {
                self.timers.push((Instant::now() + delay, Timer::Hello));
            }
            SocketGreeting::TooManyWebsockets | SocketGreeting::LinkDisabled => {
                let reason = if greeting == SocketGreeting::LinkDisabled {
                    "link_disabled"
                } else {
                    "too_many_websockets"
                };
                self.set_accepting(false);
                self.write(Message::text(disconnect_frame(self.id, reason)))?;
                self.close(1000, Utf8Bytes::from_static(""));
                return Ok(false);
            }
        }
        self.flush()?;
        Ok(true)
    }

    fn hello(&mut self, registered: usize) -> tungstenite::Result<()> {
        let text = {
            let mut state = self.shared.lock();
            let sm = &mut state.sm;
            let text = hello_frame(sm, self.id, registered, self.debug_reconnects);
            if let Some(conn) = sm.conns.get_mut(&self.id) {
                conn.ready = true;
            }
            // Queued envelopes go after the hello (this thread writes them in order).
            route_backlog(sm);
            text
        };
        self.shared.notify();
        self.write(Message::text(text))
    }

    fn set_accepting(&self, yes: bool) {
        if let Some(conn) = self.shared.lock().sm.conns.get_mut(&self.id) {
            conn.accepting = yes;
        }
    }

    /// Runs until either side ends the connection.
    fn serve(&mut self) -> tungstenite::Result<()> {
        loop {
            if self.read_pending {
                match self.read_available()? {
                    Outcome::Open => {}
                    Outcome::Closed => return Ok(()),
                    Outcome::Mute => return self.mute(),
                }
            } else {
                let now = Instant::now();
                let wait = self
                    .next_deadline()
                    .map_or(IDLE, |at| at.saturating_duration_since(now));
                crossbeam_channel::select! {
                    recv(self.commands) -> command => match command {
                        Ok(command) => {
                            if !self.command(command)? {
                                return Ok(());
                            }
                        }
                        Err(_) => return Ok(()),
                    },
                    recv(self.readable) -> readable => {
                        if readable.is_err() {
                            self.registration.ghost = !self.closing;
                            return Ok(());
                        }
                        match self.read_available()? {
                            Outcome::Open => {}
                            Outcome::Closed => return Ok(()),
                            Outcome::Mute => return self.mute(),
                        }
                    },
                    default(wait) => {},
                }
            }
            if !self.run_timers()? {
                return Ok(());
            }
            loop {
                match self.commands.try_recv() {
                    Ok(command) => {
                        if !self.command(command)? {
                            return Ok(());
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return Ok(()),
                }
            }
            if self.unflushed {
                self.flush()?;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let timers = self.timers.iter().map(|(at, _)| *at).min();
        match (timers, self.next_ping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs due timers and pings; `Ok(false)` ends the connection.
    fn run_timers(&mut self) -> tungstenite::Result<bool> {
        let now = Instant::now();
        if self.next_ping.is_some_and(|at| at <= now) && !self.closing {
            let payload = format!("Ping from applink-{}", self.id);
            self.write(Message::Ping(Bytes::from(payload)))?;
            let interval = self.shared.lock().sm.settings.ping_interval;
            self.next_ping = interval.map(|i| now + i);
        }
        let mut due = Vec::new();
        self.timers.retain(|&(at, timer)| {
            if at <= now {
                due.push(timer);
                false
            } else {
                true
            }
        });
        for timer in due {
            match timer {
                Timer::Hello => {
                    let registered = self.shared.lock().sm.registered(now);
                    self.hello(registered)?;
                }
                Timer::Warning {
                    refresh_at,
                    close_after,
                } => {
                    self.write(Message::text(disconnect_frame(self.id, "warning")))?;
                    self.timers
                        .push((refresh_at, Timer::Refresh { close_after }));
                }
                Timer::Refresh { close_after } => {
                    self.set_accepting(false);
                    self.write(Message::text(disconnect_frame(
                        self.id,
                        "refresh_requested",
                    )))?;
                    self.timers.push((now + close_after, Timer::Close));
                }
                Timer::Close => {
                    self.flush()?;
                    self.close(1000, Utf8Bytes::from_static(""));
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Carries out one scripted command; `Ok(false)` ends the connection.
    fn command(&mut self, command: SmCmd) -> tungstenite::Result<bool> {
        match command {
            SmCmd::Deliver(index, text) => {
                {
                    let mut state = self.shared.lock();
                    on_delivered(&mut state.sm, index, self.id, Instant::now());
                }
                self.shared.notify();
                self.write(Message::Text(text))?;
            }
            SmCmd::Text(text) => self.write(Message::Text(text))?,
            SmCmd::Binary(bytes) => self.write(Message::Binary(Bytes::from(bytes)))?,
            SmCmd::Disconnect(reason, close_after) => {
                self.set_accepting(false);
                self.write(Message::text(disconnect_frame(self.id, &reason)))?;
                if let Some(after) = close_after {
                    self.timers.push((Instant::now() + after, Timer::Close));
                }
            }
            SmCmd::Refresh {
                warning_lead,
                close_after,
            } => {
                let now = Instant::now();
                match warning_lead {
                    Some(lead) => self.timers.push((
                        now,
                        Timer::Warning {
                            refresh_at: now + lead,
                            close_after,
                        },
                    )),
                    None => self.timers.push((now, Timer::Refresh { close_after })),
                }
            }
            SmCmd::Close(code, reason) => {
                self.flush()?;
                self.close(code, reason);
                return Ok(false);
            }
            SmCmd::Freeze => {
                if let Some(conn) = self.shared.lock().sm.conns.get_mut(&self.id) {
                    conn.accepting = false;
                    conn.frozen = true;
                }
                self.shared.notify();
                self.freeze();
                return Ok(false);
            }
            SmCmd::Stop => return Ok(false),
        }
        Ok(true)
    }

    /// Half-open: neither read nor write until told to stop.
    fn freeze(&mut self) {
        loop {
            match self.commands.recv() {
                Ok(SmCmd::Stop) | Err(_) => return,
                Ok(SmCmd::Deliver(index, text)) => {
                    // Swallowed like a ghost socket does: recorded as written.
                    let mut state = self.shared.lock();
                    on_delivered(&mut state.sm, index, self.id, Instant::now());
                    drop(text);
                }
                Ok(_) => {}
            }
        }
    }

    /// The client's close frame is not answered: discard whatever comes until the client drops
    /// the TCP connection (or the server stops).
    fn mute(&mut self) -> tungstenite::Result<()> {
        let tcp = self.ws.get_ref().inner().tcp();
        tcp.set_nonblocking(false)?;
        let mut sink = [0u8; 4096];
        let mut reader = tcp;
        loop {
            match reader.read(&mut sink) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(()),
            }
        }
    }

    fn read_available(&mut self) -> tungstenite::Result<Outcome> {
        self.ws.get_ref().inner().tcp().set_nonblocking(true)?;
        let result = self.read_batch();
        let restored = self.ws.get_ref().inner().tcp().set_nonblocking(false);
        let outcome = result?;
        restored?;
        self.unflushed = true;
        if matches!(outcome, Outcome::Open) && !self.read_pending {
            let _ = self.drained.try_send(());
        }
        Ok(outcome)
    }

    fn read_batch(&mut self) -> tungstenite::Result<Outcome> {
        for _ in 0..READ_BATCH {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    let at = Instant::now();
                    {
                        let mut state = self.shared.lock();
                        on_client_text(&mut state.sm, self.id, text.as_str(), at);
                    }
                    self.shared.notify();
                }
                Ok(Message::Pong(_)) => self.count(|c| c.pongs += 1),
                Ok(Message::Ping(_)) => self.count(|c| c.client_pings += 1),
                Ok(Message::Close(_)) => {
                    if !self.closing && !self.shared.lock().sm.settings.answer_close {
                        return Ok(Outcome::Mute);
                    }
                    self.closing = true;
                }
                Ok(_) => {}
                Err(Error::Io(e)) if is_timeout(&e) => {
                    self.read_pending = false;
                    return Ok(Outcome::Open);
                }
                Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(Outcome::Closed),
                Err(e) => {
                    self.registration.ghost = !self.closing;
                    return Err(e);
                }
            }
        }
        self.read_pending = true;
        Ok(Outcome::Open)
    }

    fn count(&self, f: impl FnOnce(&mut super::state::SmConn)) {
        if let Some(conn) = self.shared.lock().sm.conns.get_mut(&self.id) {
            f(conn);
        }
        self.shared.notify();
    }

    fn write(&mut self, message: Message) -> tungstenite::Result<()> {
        done_unless_blocked(self.ws.write(message))?;
        self.unflushed = true;
        Ok(())
    }

    fn flush(&mut self) -> tungstenite::Result<()> {
        if done_unless_blocked(self.ws.flush())? {
            self.unflushed = false;
        }
        Ok(())
    }

    /// Closes cleanly from the server side, waiting a little for the reply.
    fn close(&mut self, code: u16, reason: Utf8Bytes) {
        self.closing = true;
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason,
        };
        if done_unless_blocked(self.ws.close(Some(frame))).is_err() {
            return;
        }
        let _ = self.flush();
        let deadline = Instant::now() + CLOSE_GRACE;
        loop {
            if !self.read_pending {
                let left = deadline.saturating_duration_since(Instant::now());
                if self.readable.recv_timeout(left).is_err() {
                    return;
                }
            }
            if !matches!(self.read_available(), Ok(Outcome::Open)) || Instant::now() >= deadline {
                return;
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Make sure the peer sees the end even if the registration outlives us briefly.
        let _ = self.ws.get_ref().inner().tcp().shutdown(Shutdown::Both);
    }
}
