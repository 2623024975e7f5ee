//! RTM websocket connections: one thread per connection.
//!
//! The thread alternates between two duties so that both directions stay
//! prompt: it drains the connection's command channel (frames scripted by the
//! test) and then blocks in a socket read with a very short timeout
//! ([`POLL`]). A client frame is therefore timestamped the moment it arrives,
//! and a scripted frame waits at most one poll interval before it is written.
//! tungstenite keeps partially read frames across read timeouts.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use log::debug;
use serde_json::{json, Map, Value};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error, Message, Utf8Bytes, WebSocket};

use super::net::{Conn, Replay};
use super::state::{Outbound, Settings, Shared, SocketGuard, WsHandle};
use super::{AckMode, ReceivedFrame};

/// Read timeout of websocket sockets: the latency bound for scripted frames.
const POLL: Duration = Duration::from_millis(2);
/// How long a server-initiated close waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Largest accepted client message (Slack itself disconnects above 16 KB).
const MAX_MESSAGE: usize = 1 << 20;
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
    if ws
        .get_ref()
        .inner()
        .tcp()
        .set_read_timeout(Some(POLL))
        .is_err()
    {
        return;
    }
    if !ticket_valid {
        reject(&mut ws);
        return;
    }
    let Ok(tcp) = ws.get_ref().inner().tcp().try_clone() else {
        return;
    };
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
        state.ws_conns.insert(id, WsHandle { tx, tcp });
        id
    };
    shared.notify();

    let mut session = Session {
        shared: Arc::clone(&shared),
        ws,
        rx,
        id,
        unflushed: false,
    };
    session.serve();
    drop(session);
    // Shut the socket down before the connection stops counting as open, so
    // the client has seen the end by the time `wait_for_open` returns.
    drop(guard);
    shared.lock().ws_conns.remove(&id);
    shared.notify();
}

/// Answers a bad ticket the way Slack does: an error event, then close.
fn reject(ws: &mut Ws) {
    let _ = ws.send(Message::text(EXPIRED));
    let _ = ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::from_static(""),
    }));
    drain_close(ws, |_, _| {});
}

/// After a server close frame: waits up to [`CLOSE_GRACE`] for the client's
/// close reply, passing any text frames still arriving to `on_text`.
fn drain_close(ws: &mut Ws, mut on_text: impl FnMut(&str, Instant)) {
    let deadline = Instant::now() + CLOSE_GRACE;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Text(text)) => on_text(text.as_str(), Instant::now()),
            Ok(_) => {}
            Err(Error::Io(e)) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Appends a client frame to the record; returns the current settings.
fn record(shared: &Shared, conn: u64, text: &str, at: Instant) -> Settings {
    let settings = {
        let mut state = shared.lock();
        state.frames.push(ReceivedFrame {
            conn,
            text: text.to_owned(),
            at,
        });
        state.settings.clone()
    };
    shared.notify();
    settings
}

/// One registered RTM connection.
struct Session {
    shared: Arc<Shared>,
    ws: Ws,
    rx: Receiver<Outbound>,
    /// Connection number (1-based).
    id: u64,
    /// Frames were written to tungstenite but not flushed to the socket yet.
    unflushed: bool,
}

impl Session {
    /// Runs until either side ends the connection.
    fn serve(&mut self) {
        loop {
            match self.step() {
                Ok(true) => {}
                Ok(false) | Err(Error::ConnectionClosed | Error::AlreadyClosed) => return,
                Err(e) => {
                    debug!("fake slack: websocket {} ended: {e}", self.id);
                    return;
                }
            }
        }
    }

    /// Sends everything queued, then waits (briefly) for one client frame.
    /// Returns `Ok(false)` once the connection is over.
    fn step(&mut self) -> tungstenite::Result<bool> {
        loop {
            match self.rx.try_recv() {
                Ok(Outbound::Text(text)) => self.write(Message::Text(text))?,
                Ok(Outbound::Binary(bytes)) => self.write(Message::Binary(bytes))?,
                Ok(Outbound::Flood(text, count)) => self.flood(&text, count)?,
                Ok(Outbound::Close(code, reason)) => {
                    self.close(code, reason);
                    return Ok(false);
                }
                Ok(Outbound::Stop) | Err(TryRecvError::Disconnected) => return Ok(false),
                Err(TryRecvError::Empty) => break,
            }
        }
        if self.unflushed {
            self.flush()?;
        }
        self.read_once()
    }

    /// Reads at most one message, waiting at most [`POLL`] for it.
    fn read_once(&mut self) -> tungstenite::Result<bool> {
        match self.ws.read() {
            Ok(Message::Text(text)) => {
                let at = Instant::now();
                self.on_text(text.as_str(), at)?;
                Ok(true)
            }
            Ok(_) => Ok(true),
            Err(Error::Io(e)) if is_timeout(&e) => Ok(true),
            Err(Error::ConnectionClosed | Error::AlreadyClosed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Queues a frame; it reaches the socket at the next flush.
    fn write(&mut self, message: Message) -> tungstenite::Result<()> {
        match self.ws.write(message) {
            Ok(()) => {}
            // tungstenite keeps the frame buffered and retries on flush.
            Err(Error::Io(e)) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        self.unflushed = true;
        Ok(())
    }

    fn flush(&mut self) -> tungstenite::Result<()> {
        match self.ws.flush() {
            Ok(()) => self.unflushed = false,
            Err(Error::Io(e)) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn send_json(&mut self, value: &Value) -> tungstenite::Result<()> {
        self.write(Message::text(value.to_string()))
    }

    /// Writes `count` copies of `text` as fast as the client reads them.
    fn flood(&mut self, text: &Utf8Bytes, count: usize) -> tungstenite::Result<()> {
        for i in 1..=count {
            self.write(Message::Text(text.clone()))?;
            if i % FLOOD_POLL_EVERY == 0 && self.incoming_pending() && !self.read_once()? {
                return Err(Error::ConnectionClosed);
            }
        }
        self.flush()
    }

    /// Whether the socket has unread bytes (or the peer closed), without
    /// waiting.
    fn incoming_pending(&self) -> bool {
        let tcp = self.ws.get_ref().inner().tcp();
        if tcp.set_nonblocking(true).is_err() {
            return false;
        }
        let mut byte = [0u8; 1];
        let pending = match tcp.peek(&mut byte) {
            Ok(_) => true,
            Err(e) => !is_timeout(&e),
        };
        let _ = tcp.set_nonblocking(false);
        pending
    }

    /// Closes cleanly from the server side.
    fn close(&mut self, code: u16, reason: Utf8Bytes) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason,
        };
        if let Err(e) = self.ws.close(Some(frame)) {
            if !matches!(&e, Error::Io(io) if is_timeout(io)) {
                return;
            }
        }
        let (shared, id) = (Arc::clone(&self.shared), self.id);
        drain_close(&mut self.ws, |text, at| {
            record(&shared, id, text, at);
        });
    }

    /// Records a client text frame and answers it like Slack would.
    fn on_text(&mut self, text: &str, at: Instant) -> tungstenite::Result<()> {
        let settings = record(&self.shared, self.id, text, at);
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
                AckMode::Ok => {
                    self.send_json(&json!({ "ok": true, "reply_to": id, "ts": ts, "text": text }))?;
                }
                AckMode::Error { code, msg } => {
                    self.send_json(&json!({
                        "ok": false,
                        "reply_to": id,
                        "error": { "code": code, "msg": msg },
                    }))?;
                }
                AckMode::Ignore => {}
            }
        }
        let rejected = matches!(settings.ack_mode, AckMode::Error { .. });
        if settings.echo_messages && !rejected {
            let channel = message
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let thread = message.get("thread_ts").and_then(Value::as_str);
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
