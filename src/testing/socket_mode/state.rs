//! Socket Mode state of the fake server: settings, tickets, open sockets, every envelope
//! delivered and every ack received, and the traffic taps (`serve --frames`). Plain data behind
//! the server's one lock (see [`testing::state`](crate::testing::state)); the behaviour lives in [`socket_mode`](super)
//! and [`ws`](super::ws).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde_json::{json, Value};
use tungstenite::Utf8Bytes;

use crate::testing::{ConnectReply, ReceivedFrame};

/// Slack's cap of open sockets per app.
pub(crate) const DEFAULT_CAP: usize = 10;
/// How long a Socket Mode ticket stays valid by default.
pub(crate) const DEFAULT_TICKET_TTL: Duration = Duration::from_secs(30);
/// Slack pings every socket about this often.
pub(crate) const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);

/// How the fake chooses the socket for each envelope when several are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SocketDistribution {
    /// A random open socket, like Slack (the default).
    #[default]
    Random,
    /// Each open socket in turn.
    RoundRobin,
    /// The most recently opened socket.
    Newest,
    /// The oldest open socket.
    Oldest,
    /// This connection number only (envelopes wait while it is not open).
    Connection(u64),
}

/// How a new Socket Mode socket is greeted; queue with
/// [`FakeSlack::push_socket_greeting`](crate::testing::FakeSlack::push_socket_greeting).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketGreeting {
    /// `hello` with `num_connections`, `debug_info` and `connection_info` (the default).
    Hello,
    /// Nothing at all: the socket stays open and silent (no hello, no envelopes, but pings).
    Silent,
    /// `hello` after this delay.
    DelayedHello(Duration),
    /// `{"type":"disconnect","reason":"too_many_websockets"}` in place of `hello`, then a close.
    TooManyWebsockets,
    /// `{"type":"disconnect","reason":"link_disabled"}` in place of `hello`, then a close.
    LinkDisabled,
}

/// A fault injected into the next websocket handshake on the Socket Mode path; queue with
/// [`FakeSlack::push_socket_handshake_fault`](crate::testing::FakeSlack::push_socket_handshake_fault).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeFault {
    /// Answer the upgrade with this HTTP status (e.g. 409 or 408) instead of `101`.
    Status(u16),
    /// Read the upgrade request and never answer (until the server is dropped).
    Hang,
    /// Close the TCP connection without answering.
    Reset,
}

/// How unacked `events_api` envelopes are redelivered, like Slack does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redelivery {
    /// Whether unacked events are redelivered at all (default true).
    pub enabled: bool,
    /// How long after delivery an event counts as unacked (default 3 s).
    pub ack_timeout: Duration,
    /// The wait after `ack_timeout` before each retry; its length is the number of retries
    /// (default `[0 s, 60 s, 300 s]`: three retries, at once, then +1 min, then +5 min).
    pub schedule: Vec<Duration>,
    /// Whether a retry gets a fresh `envelope_id` (default true) or reuses the original one
    /// (Slack has been seen doing both).
    pub new_envelope_id: bool,
}

impl Default for Redelivery {
    fn default() -> Redelivery {
        Redelivery {
            enabled: true,
            ack_timeout: Duration::from_secs(3),
            schedule: vec![
                Duration::ZERO,
                Duration::from_secs(60),
                Duration::from_secs(300),
            ],
            new_envelope_id: true,
        }
    }
}

impl Redelivery {
    /// Slack's schedule compressed for tests: unacked after `ack_timeout`, then three retries
    /// `step` apart (the first at once).
    pub fn compressed(ack_timeout: Duration, step: Duration) -> Redelivery {
        Redelivery {
            ack_timeout,
            schedule: vec![Duration::ZERO, step, step * 2],
            ..Redelivery::default()
        }
    }

    /// No redelivery at all.
    pub fn off() -> Redelivery {
        Redelivery {
            enabled: false,
            ..Redelivery::default()
        }
    }
}

/// One ack received on a Socket Mode socket.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SocketAck {
    /// The connection it came on.
    pub conn: u64,
    /// Its `envelope_id`.
    pub envelope_id: String,
    /// Its `payload`, if any.
    pub payload: Option<Value>,
    /// Size of the frame in bytes.
    pub size: usize,
    /// When the server read it.
    pub at: Instant,
    /// Time from the envelope's delivery (its frame written to the socket) to this ack; `None`
    /// when the envelope is unknown or was not written yet.
    pub latency: Option<Duration>,
    /// Whether the ack counts as dropped, as Slack would: its frame is 20,480 bytes or more.
    pub dropped: bool,
    /// Whether the envelope id is one the server delivered.
    pub known: bool,
    /// Whether it came on the connection the envelope was delivered on.
    pub same_connection: bool,
    /// Whether it carries a `payload` although the envelope's `accepts_response_payload` was false.
    pub unexpected_payload: bool,
    /// Whether the envelope had been acked already (by an earlier, not dropped, ack).
    pub duplicate: bool,
}

/// One envelope the server delivered (or queued because no socket was ready).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketDelivery {
    /// Its `envelope_id`.
    pub envelope_id: String,
    /// Its `type` (`events_api`, `slash_commands`, `interactive`, ...).
    pub kind: String,
    /// `payload.event_id` for events.
    pub event_id: Option<String>,
    /// `retry_attempt`: 0 the first time.
    pub retry_attempt: u32,
    /// The connection it was written to (`None` while queued).
    pub conn: Option<u64>,
    /// When it was written to the socket (`None` while queued).
    pub at: Option<Instant>,
    /// Whether it (or, for events, any delivery of the same event) was acked.
    pub acked: bool,
}

/// A command for one Socket Mode connection thread.
#[derive(Debug, Clone)]
pub(crate) enum SmCmd {
    /// Write the envelope of this delivery index.
    Deliver(usize, Utf8Bytes),
    /// Write a text frame.
    Text(Utf8Bytes),
    /// Write a binary frame.
    Binary(Vec<u8>),
    /// Send `disconnect` with this reason (the socket then gets no more envelopes), and close
    /// cleanly this long after, if given.
    Disconnect(String, Option<Duration>),
    /// warning (after `warning_lead`, if any), then refresh_requested, then close.
    Refresh {
        warning_lead: Option<Duration>,
        close_after: Duration,
    },
    /// Close cleanly with this code and reason.
    Close(u16, Utf8Bytes),
    /// Stop reading and writing; keep the TCP connection (half-open).
    Freeze,
    /// End without a close frame.
    Stop,
}

/// An open Socket Mode socket, as seen by the scripting side.
#[derive(Debug)]
pub(crate) struct SmConn {
    pub tx: Sender<SmCmd>,
    pub tcp: TcpStream,
    /// `hello` was written: envelopes may go here.
    pub ready: bool,
    /// No `disconnect` was sent and the socket is not frozen.
    pub accepting: bool,
    /// Pongs received for the server's pings.
    pub pongs: u64,
    /// Ping frames received from the client.
    pub client_pings: u64,
    /// Half-open: the connection thread neither reads nor writes any more.
    pub frozen: bool,
}

/// One envelope delivery, with what is needed to redeliver it.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub record: SocketDelivery,
    pub accepts_response_payload: bool,
    /// The frame text, kept for redelivery until the event is acked.
    pub text: Option<String>,
    /// Index of the first delivery of the same event (itself for a first delivery).
    pub chain: usize,
    /// The chain was acked (kept on the chain's first delivery).
    pub chain_acked: bool,
}

/// Settings that tests may change while the server runs.
#[derive(Debug, Clone)]
pub(crate) struct SmSettings {
    /// The only accepted app token, if any.
    pub app_token: Option<String>,
    pub cap: usize,
    pub ticket_ttl: Duration,
    pub ping_interval: Option<Duration>,
    pub redelivery: Redelivery,
    pub distribution: SocketDistribution,
    /// Whether the client's close frame is answered (Slack often does not).
    pub answer_close: bool,
    /// Scheduled refresh of every socket after this long (warning, refresh_requested, close).
    pub lifetime: Option<Duration>,
    /// How long a socket whose client vanished without a close frame still counts.
    pub ghost_lifetime: Duration,
    /// `connection_info.app_id` in `hello`.
    pub app_id: String,
}

impl Default for SmSettings {
    fn default() -> SmSettings {
        SmSettings {
            app_token: None,
            cap: DEFAULT_CAP,
            ticket_ttl: DEFAULT_TICKET_TTL,
            ping_interval: Some(DEFAULT_PING_INTERVAL),
            redelivery: Redelivery::default(),
            distribution: SocketDistribution::Random,
            answer_close: true,
            lifetime: None,
            ghost_lifetime: Duration::ZERO,
            app_id: "A0FAKEAPP1".into(),
        }
    }
}

/// The Socket Mode part of the server state.
#[derive(Debug, Default)]
pub(crate) struct SmState {
    pub settings: SmSettings,
    pub open_replies: VecDeque<ConnectReply>,
    pub greetings: VecDeque<SocketGreeting>,
    pub handshake_faults: VecDeque<HandshakeFault>,
    /// Socket Mode is switched off: new sockets get `link_disabled`.
    pub link_disabled: bool,
    /// Unused tickets, with the `debug_reconnects` flag is read from the URL at the upgrade.
    pub tickets: HashMap<String, Instant>,
    pub conns: BTreeMap<u64, SmConn>,
    /// Registrations of sockets that vanished without a close frame, until they expire.
    pub ghosts: Vec<Instant>,
    /// Completed handshakes with a valid ticket (also the last connection number).
    pub total: u64,
    pub frames: Vec<ReceivedFrame>,
    pub acks: Vec<SocketAck>,
    pub deliveries: Vec<Delivery>,
    /// Latest delivery index of each envelope id.
    pub by_envelope: HashMap<String, usize>,
    /// Deliveries waiting for a ready socket.
    pub backlog: VecDeque<usize>,
    /// Event deliveries written and not yet checked for their ack, in delivery order.
    pub watch: VecDeque<usize>,
    /// Retries due: (when, delivery index of the unacked attempt).
    pub retries: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Bumped whenever the redelivery timer has something new to look at.
    pub timer_epoch: u64,
    pub timer_started: bool,
    pub round_robin: u64,
    /// Traffic taps (`serve --frames`): every client frame and Web API call.
    pub taps: Vec<mpsc::Sender<Value>>,
}

impl SmState {
    /// Sockets counted against the cap: open ones and unexpired ghosts.
    pub fn registered(&mut self, now: Instant) -> usize {
        self.ghosts.retain(|&until| until > now);
        self.conns.len() + self.ghosts.len()
    }

    /// Sends a traffic record to every tap, dropping taps whose receiver is gone.
    pub fn tap(&mut self, record: &Value) {
        if !self.taps.is_empty() {
            self.taps.retain(|tap| tap.send(record.clone()).is_ok());
        }
    }

    /// Taps a client frame: `{"conn":N,"protocol":..,"frame":..}` (the frame's JSON, or its text
    /// as a string when it is not JSON).
    pub fn tap_frame(&mut self, conn: u64, protocol: &str, text: &str) {
        if self.taps.is_empty() {
            return;
        }
        let frame = serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::from(text));
        self.tap(&json!({ "conn": conn, "protocol": protocol, "frame": frame }));
    }

    /// Taps a Web API call: `{"api":method,"params":{..}}` (the token is left out).
    pub fn tap_api(&mut self, method: &str, params: &Value) {
        if self.taps.is_empty() {
            return;
        }
        let mut params = params.clone();
        if let Some(obj) = params.as_object_mut() {
            obj.remove("token");
        }
        self.tap(&json!({ "api": method, "params": params }));
    }
}
