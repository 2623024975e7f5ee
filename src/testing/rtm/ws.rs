//! RTM websocket connections.
//!
//! Each connection has two threads. The *connection thread* owns the
//! websocket and blocks on two channels at once: scripted commands from the
//! test ([`Outbound`]) and "readable" notifications. The *watcher thread*
//! blocks in `peek` on a clone of the socket and sends a notification as soon
//! as client bytes arrive, then waits until the connection thread has read
//! everything (the socket is switched to non-blocking mode only for that).
//! So both directions move within microseconds, client frames are
//! timestamped the moment they are read, and an idle connection costs no
//! CPU. This works the same for TLS, where the socket cannot be split into
//! independent reading and writing halves.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use log::debug;
use serde_json::{json, Map, Value};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error, Message, Utf8Bytes, WebSocket};

use crate::testing::net::{Conn, Replay};
use crate::testing::state::{Outbound, Settings, Shared, SocketGuard, WsHandle};
use crate::testing::{ReceivedFrame, RtmAckMode};

/// How long a server-initiated close waits for the client's close reply.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Largest accepted client message (Slack itself disconnects above 16 KB).
const MAX_MESSAGE: usize = 1 << 20;
/// Most client messages handled in one go before scripted commands get a turn.
const READ_BATCH: usize = 256;
/// While flooding, look for incoming frames after this many written frames.
const FLOOD_POLL_EVERY: usize = 64;

/// The first frame of every connection when auto-hello is on.
const HELLO: &str = r#"{"type":"hello"}"#;
/// Sent on a websocket opened with an unknown, used or expired ticket.
const EXPIRED: &str = r#"{"type":"error","error":{"code":1,"msg":"Socket URL has expired"}}"#;

type Ws = WebSocket<Replay<Conn>>;

/// Starts the websocket thread for an upgrade request whose head (and
/// anything after it) is in `buffered`.
pub(crate) fn start(guard: SocketGuard, conn: Conn, buffered: Vec<u8>, ticket_valid: bool) {
    let shared = Arc::clone(guard.shared());
    let spawned = shared.spawn("fake-slack-ws", move || {
        run(guard, conn, buffered, ticket_valid);
    });
    if let Err(e) = spawned {
        debug!("fake slack: cannot spawn a websocket thread: {e}");
    }
}

fn run(guard: SocketGuard, conn: Conn, buffered: Vec<u8>, ticket_valid: bool) {
    let shared = Arc::clone(guard.shared());
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let mut ws = match tungstenite::accept_with_config(Replay::new(buffered, conn), Some(config)) {
        Ok(ws) => ws,
        Err(e) => {
            debug!("fake slack: websocket handshake failed: {e}");
            return;
        }
    };
    if !ticket_valid {
        reject(&mut ws);
        return;
    }
    let tcp = ws.get_ref().inner().tcp();
    if tcp.set_read_timeout(None).is_err() {
        return;
    }
    let (Ok(for_handle), Ok(for_watcher)) = (tcp.try_clone(), tcp.try_clone()) else {
        return;
    };
    let (readable_tx, readable_rx) = crossbeam_channel::bounded(1);
    let (drained_tx, drained_rx) = crossbeam_channel::bounded(1);
    let watcher = shared.spawn("fake-slack-peek", move || {
        watch(&for_watcher, &readable_tx, &drained_rx);
    });
    if let Err(e) = watcher {
        debug!("fake slack: cannot spawn a websocket watcher: {e}");
        return;
    }

    let (tx, rx) = crossbeam_channel::unbounded();
    let id = {
        let mut state = shared.lock();
        if state.stopping {
            return;
        }
        state.connections_total += 1;
        let id = state.connections_total;
        if state.settings.auto_hello {
            // Queued before the connection becomes visible to scripting, so
            // hello is always the first frame.
            let _ = tx.send(Outbound::Text(Utf8Bytes::from_static(HELLO)));
        }
        state.ws_conns.insert(
            id,
            WsHandle {
                tx,
                tcp: for_handle,
            },
        );
        id
    };
    shared.notify();
    let _open = OpenConnection {
        shared: Arc::clone(&shared),
        id,
        socket: Some(guard),
    };

    let mut session = Session {
        shared: Arc::clone(&shared),
        ws,
        commands: rx,
        readable: readable_rx,
        drained: drained_tx,
        id,
        // The handshake may have buffered frames already: read them first
        // (which also starts the watcher).
        read_pending: true,
        unflushed: false,
        closing: false,
    };
    match session.serve() {
        Ok(()) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => {}
        Err(e) => debug!("fake slack: websocket {id} ended: {e}"),
    }
}

/// Unregisters an open connection when its thread ends, even by panic.
struct OpenConnection {
    shared: Arc<Shared>,
    id: u64,
    socket: Option<SocketGuard>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        // Shut the socket down before the connection stops counting as open,
        // so the client has seen the end by the time `wait_for_open` returns.
        drop(self.socket.take());
        self.shared.lock().ws_conns.remove(&self.id);
        self.shared.notify();
    }
}

/// The watcher thread: reports when the socket has bytes to read (or has
/// ended), then waits until they were read before looking again.
pub(crate) fn watch(tcp: &TcpStream, readable: &Sender<()>, drained: &Receiver<()>) {
    let mut byte = [0u8; 1];
    // The connection thread says "drained" once before the first look.
    while drained.recv().is_ok() {
        loop {
            match tcp.peek(&mut byte) {
                Ok(n) => {
                    if readable.send(()).is_err() || n == 0 {
                        return;
                    }
                    break;
                }
                Err(e) if is_timeout(&e) => {
                    // Not expected (the socket blocks without timeout while
                    // watched); never spin if it happens anyway.
                    thread::sleep(Duration::from_millis(1));
                }
                Err(_) => {
                    let _ = readable.send(());
                    return;
                }
            }
        }
    }
}

/// Answers a bad ticket the way Slack does: an error event, then close.
fn reject(ws: &mut Ws) {
    let _ = ws.send(Message::text(EXPIRED));
    let _ = ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::from_static(""),
    }));
    // Wait (blocking, bounded) for the client's close reply.
    if ws
        .get_ref()
        .inner()
        .tcp()
        .set_read_timeout(Some(CLOSE_GRACE))
        .is_err()
    {
        return;
    }
    let deadline = Instant::now() + CLOSE_GRACE;
    while Instant::now() < deadline && ws.read().is_ok() {}
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Maps "would block" to `Ok(false)`, success to `Ok(true)`.
pub(crate) fn done_unless_blocked(result: tungstenite::Result<()>) -> tungstenite::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(Error::Io(e)) if is_timeout(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// One registered RTM connection, served by its connection thread.
struct Session {
    shared: Arc<Shared>,
    ws: Ws,
    commands: Receiver<Outbound>,
    /// Notifications from the watcher that the socket is readable.
    readable: Receiver<()>,
    /// Tells the watcher that everything readable was read.
    drained: Sender<()>,
    /// Connection number (1-based).
    id: u64,
    /// Bytes may be waiting to be read that the watcher will not report.
    read_pending: bool,
    /// Frames were written to tungstenite but not flushed to the socket yet.
    unflushed: bool,
    /// The server sent a close frame: client frames are only recorded.
    closing: bool,
}

impl Session {
    /// Runs until either side ends the connection.
    fn serve(&mut self) -> tungstenite::Result<()> {
        loop {
            if self.read_pending {
                if !self.read_available()? {
                    return Ok(());
                }
            } else {
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
                        // A disconnected watcher has seen the end of the socket.
                        if readable.is_err() || !self.read_available()? {
                            return Ok(());
                        }
                    },
                }
            }
            // Send everything queued meanwhile with a single flush.
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

    /// Carries out one scripted command; `Ok(false)` ends the connection.
    fn command(&mut self, command: Outbound) -> tungstenite::Result<bool> {
        match command {
            Outbound::Text(text) => self.write(Message::Text(text))?,
            Outbound::Binary(bytes) => self.write(Message::Binary(bytes))?,
            Outbound::Flood(text, count) => self.flood(&text, count)?,
            Outbound::Close(code, reason) => {
                self.close(code, reason);
                return Ok(false);
            }
            Outbound::Stop => return Ok(false),
        }
        Ok(true)
    }

    /// Reads and handles the client messages available now, without
    /// blocking, then lets the watcher look again. `Ok(false)` once the
    /// connection is over.
    fn read_available(&mut self) -> tungstenite::Result<bool> {
        self.ws.get_ref().inner().tcp().set_nonblocking(true)?;
        let result = self.read_batch();
        let restored = self.ws.get_ref().inner().tcp().set_nonblocking(false);
        let open = result?;
        restored?;
        // Replies tungstenite queued itself (pongs) go out with the next flush.
        self.unflushed = true;
        if open && !self.read_pending {
            // The watcher may be gone already; then the socket is too.
            let _ = self.drained.try_send(());
        }
        Ok(open)
    }

    /// Reads up to [`READ_BATCH`] messages from the non-blocking socket.
    fn read_batch(&mut self) -> tungstenite::Result<bool> {
        for _ in 0..READ_BATCH {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    let at = Instant::now();
                    self.on_text(text.as_str(), at)?;
                }
                Ok(_) => {}
                Err(Error::Io(e)) if is_timeout(&e) => {
                    self.read_pending = false;
                    return Ok(true);
                }
                Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        // More may be buffered (by tungstenite or TLS) where the watcher
        // cannot see it: read on after the next round of commands.
        self.read_pending = true;
        Ok(true)
    }

    /// Queues a frame; it reaches the socket at the next flush.
    fn write(&mut self, message: Message) -> tungstenite::Result<()> {
        // On "would block" tungstenite keeps the frame and retries on flush.
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

    fn send_json(&mut self, value: &Value) -> tungstenite::Result<()> {
        self.write(Message::text(value.to_string()))
    }

    /// Writes `count` copies of `text` as fast as the client reads them,
    /// still reading client frames every [`FLOOD_POLL_EVERY`] frames.
    fn flood(&mut self, text: &Utf8Bytes, count: usize) -> tungstenite::Result<()> {
        for i in 1..=count {
            self.write(Message::Text(text.clone()))?;
            if i % FLOOD_POLL_EVERY == 0
                && (self.read_pending || self.readable.try_recv().is_ok())
                && !self.read_available()?
            {
                return Err(Error::ConnectionClosed);
            }
        }
        self.flush()
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
        let deadline = Instant::now() + CLOSE_GRACE;
        loop {
            if !self.read_pending {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.readable.recv_timeout(left) {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
                }
            }
            if !matches!(self.read_available(), Ok(true)) || Instant::now() >= deadline {
                return;
            }
        }
    }

    /// Records a client text frame and answers it like Slack would.
    fn on_text(&mut self, text: &str, at: Instant) -> tungstenite::Result<()> {
        let settings = {
            let mut state = self.shared.lock();
            state.record_frame(ReceivedFrame {
                conn: self.id,
                text: text.to_owned(),
                at,
            });
            state.sm.tap_frame(self.id, "rtm", text);
            state.settings.clone()
        };
        self.shared.notify();
        if self.closing {
            return Ok(());
        }
        let Ok(Value::Object(frame)) = serde_json::from_str::<Value>(text) else {
            return Ok(());
        };
        match frame.get("type").and_then(Value::as_str) {
            Some("ping") if settings.answer_pings => self.pong(&frame),
            Some("message") => self.on_message(&frame, &settings),
            Some("presence_query") => self.presence_query(&frame),
            _ => Ok(()),
        }
    }

    /// `{"type":"pong","reply_to":id}` plus every other scalar field of the ping.
    fn pong(&mut self, ping: &Map<String, Value>) -> tungstenite::Result<()> {
        let mut pong = Map::new();
        pong.insert("type".into(), Value::from("pong"));
        if let Some(id) = ping.get("id") {
            pong.insert("reply_to".into(), id.clone());
        }
        for (name, value) in ping {
            let scalar = !(value.is_object() || value.is_array());
            if scalar && name != "type" && name != "id" {
                pong.insert(name.clone(), value.clone());
            }
        }
        self.send_json(&Value::Object(pong))
    }

    /// Acknowledges a client message per the ack mode, and echoes it.
    fn on_message(
        &mut self,
        message: &Map<String, Value>,
        settings: &Settings,
    ) -> tungstenite::Result<()> {
        let ts = self.shared.next_ts();
        let text = message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(id) = message.get("id") {
            match &settings.ack_mode {
                RtmAckMode::Ok => {
                    self.send_json(&json!({ "ok": true, "reply_to": id, "ts": ts, "text": text }))?;
                }
                RtmAckMode::Error { code, msg } => {
                    self.send_json(&json!({
                        "ok": false,
                        "reply_to": id,
                        "error": { "code": code, "msg": msg },
                    }))?;
                }
                RtmAckMode::Ignore => {}
            }
        }
        let rejected = matches!(settings.ack_mode, RtmAckMode::Error { .. });
        let channel = message
            .get("channel")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let thread = message.get("thread_ts").and_then(Value::as_str);
        if !rejected && !channel.is_empty() {
            // Messages sent over the websocket appear in the history like posted ones.
            let mut stored = self.shared.bot_message_event(channel, text, &ts, thread);
            if let Some(obj) = stored.as_object_mut() {
                obj.remove("channel");
                obj.remove("event_ts");
                obj.remove("team");
            }
            self.shared.lock().workspace.store_message(channel, stored);
        }
        if settings.echo_messages && !rejected {
            let event = self.shared.bot_message_event(channel, text, &ts, thread);
            self.shared
                .broadcast(&Outbound::Text(event.to_string().into()));
        }
        Ok(())
    }

    /// One `presence_change` event per queried user id.
    fn presence_query(&mut self, query: &Map<String, Value>) -> tungstenite::Result<()> {
        let ids = query.get("ids").and_then(Value::as_array);
        for id in ids.into_iter().flatten().filter_map(Value::as_str) {
            self.send_json(
                &json!({ "type": "presence_change", "user": id, "presence": "active" }),
            )?;
        }
        Ok(())
    }
}
