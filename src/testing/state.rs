//! Shared state of one fake Slack server: configuration, scripted behaviour,
//! everything recorded so far, and the registry of live sockets and threads.
//!
//! One [`Mutex`] guards all mutable state and one [`Condvar`] is notified on
//! every change that a `wait_*` method may be waiting for. Locks are
//! poison-tolerant: a panicking thread never makes the recorded state
//! unreachable for the test that wants to inspect it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;
use serde_json::{json, Value};
use tungstenite::{Bytes, Utf8Bytes};

use super::socket_mode::state::{SmCmd, SmState};
use super::web::workspace::Workspace;
pub(crate) use super::web::workspace::BOT_ID;
use super::{
    ApiCall, ConnectReply, MethodReply, ReceivedFrame, ResponseUrlPost, RtmAckMode, UploadRequest,
};

/// How long an RTM websocket ticket stays valid after `rtm.connect`.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(30);

/// Immutable configuration, fixed when the server starts.
#[derive(Debug)]
pub(crate) struct Config {
    /// The only accepted token, if any.
    pub token: Option<String>,
    pub team_id: String,
    pub team_name: String,
    pub team_domain: String,
    pub bot_user_id: String,
    pub bot_user_name: String,
    /// Address the listener is bound to.
    pub addr: SocketAddr,
    /// Whether HTTPS/WSS is served.
    pub tls: bool,
}

impl Config {
    /// `"team"` object as found in `rtm.connect` answers.
    pub fn team_json(&self) -> Value {
        json!({ "id": self.team_id, "name": self.team_name, "domain": self.team_domain })
    }

    /// `"self"` object as found in `rtm.connect` answers.
    pub fn self_json(&self) -> Value {
        json!({ "id": self.bot_user_id, "name": self.bot_user_name })
    }

    /// The base of the upload URLs `files.getUploadURLExternal` hands out: the fake itself,
    /// named `localhost` instead of `127.0.0.1`, so a test can tell the upload host's requests
    /// from the Web API's by their `Host` header.
    pub fn upload_base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://localhost:{}/upload/", self.addr.port())
    }

    /// A fresh websocket URL for `ticket`.
    pub fn ws_url(&self, ticket: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/websocket/{ticket}", self.addr)
    }
}

/// Behaviour that tests may change while the server runs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub auto_hello: bool,
    pub echo_messages: bool,
    pub answer_pings: bool,
    pub ack_mode: RtmAckMode,
}

/// A command for one websocket connection thread.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    /// Send one text frame.
    Text(Utf8Bytes),
    /// Send one binary frame.
    Binary(Bytes),
    /// Send the same text frame this many times, as fast as possible.
    Flood(Utf8Bytes, usize),
    /// Close cleanly with this code and reason.
    Close(u16, Utf8Bytes),
    /// End the connection without a close frame (the socket is shut down).
    Stop,
}

/// An open RTM websocket, as seen by the scripting side.
#[derive(Debug)]
pub(crate) struct WsHandle {
    pub tx: Sender<Outbound>,
    pub tcp: TcpStream,
}

/// Everything mutable, behind [`Shared::lock`].
#[derive(Debug)]
pub(crate) struct State {
    /// Set once when the [`super::FakeSlack`] is dropped.
    pub stopping: bool,
    pub settings: Settings,
    /// The most recent API calls (see [`State::record_call`]).
    pub api_calls: Vec<ApiCall>,
    /// API calls so far, by method (never trimmed).
    pub call_counts: HashMap<String, usize>,
    /// The most recent client frames (see [`State::record_frame`]).
    pub frames: Vec<ReceivedFrame>,
    /// Client frames so far (never trimmed).
    pub frames_total: usize,
    pub posted: Vec<Value>,
    pub uploads: Vec<UploadRequest>,
    pub response_posts: Vec<ResponseUrlPost>,
    /// How many of each kind of record are kept.
    pub record_limit: usize,
    pub connect_replies: VecDeque<ConnectReply>,
    /// Scripted answers by method, first in first out.
    pub method_replies: HashMap<String, VecDeque<MethodReply>>,
    /// Channels, users, messages, files and views.
    pub workspace: Workspace,
    /// Unused websocket tickets and when they were issued.
    pub tickets: HashMap<String, Instant>,
    /// Open RTM websockets by connection number.
    pub ws_conns: BTreeMap<u64, WsHandle>,
    /// Completed RTM websocket handshakes (valid tickets only).
    pub connections_total: u64,
    /// Socket Mode: settings, sockets, deliveries, acks, taps.
    pub sm: SmState,
    /// OAuth: the app's credentials, codes, issued tokens, the test's clock.
    pub oauth: crate::testing::oauth_state::OAuthState,
    /// The App facet: trigger ids, response URLs and the posts to them.
    pub app: super::app_state::AppState,
    /// Every live client socket (HTTP and websocket), to shut down on drop.
    sockets: HashMap<u64, TcpStream>,
    next_socket: u64,
    /// Connection threads, joined (bounded) on drop.
    threads: Vec<JoinHandle<()>>,
}

impl State {
    /// Records a client frame, keeping the most recent ones (see [`trim`]).
    pub fn record_frame(&mut self, frame: ReceivedFrame) {
        self.frames_total += 1;
        self.frames.push(frame);
        trim(&mut self.frames, self.record_limit);
    }

    /// Records an API call, keeping the most recent ones (see [`trim`]).
    pub fn record_call(&mut self, call: ApiCall) {
        *self.call_counts.entry(call.method.clone()).or_default() += 1;
        self.api_calls.push(call);
        trim(&mut self.api_calls, self.record_limit);
    }

    /// Records the parameters of a posted message, keeping the most recent ones.
    pub fn record_posted(&mut self, params: Value) {
        self.posted.push(params);
        trim(&mut self.posted, self.record_limit);
    }

    /// Records a request to the upload host, keeping the most recent ones.
    pub fn record_upload(&mut self, upload: UploadRequest) {
        self.uploads.push(upload);
        trim(&mut self.uploads, self.record_limit);
    }

    pub fn record_response_post(&mut self, post: ResponseUrlPost) {
        self.response_posts.push(post);
        trim(&mut self.response_posts, self.record_limit);
    }
}

/// Keeps at least the last `limit` records: once a quarter more have piled up, the oldest
/// are dropped in one go (amortised O(1) per record, at most `limit * 5 / 4` kept).
fn trim<T>(records: &mut Vec<T>, limit: usize) {
    if records.len() > limit + limit / 4 {
        let excess = records.len() - limit;
        records.drain(..excess);
    }
}

/// State shared by the [`super::FakeSlack`] handle and all server threads.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    state: Mutex<State>,
    changed: Condvar,
    ts_base: u64,
    ts_seq: AtomicU64,
}

impl Shared {
    pub fn new(config: Config, settings: Settings, record_limit: usize) -> Shared {
        let ts_base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1_700_000_000, |d| d.as_secs());
        let workspace = Workspace::new(
            &config.team_id,
            &config.team_domain,
            &config.bot_user_id,
            &config.bot_user_name,
        );
        Shared {
            config,
            state: Mutex::new(State {
                stopping: false,
                settings,
                api_calls: Vec::new(),
                call_counts: HashMap::new(),
                frames: Vec::new(),
                frames_total: 0,
                posted: Vec::new(),
                uploads: Vec::new(),
                response_posts: Vec::new(),
                record_limit: record_limit.max(1),
                connect_replies: VecDeque::new(),
                method_replies: HashMap::new(),
                workspace,
                tickets: HashMap::new(),
                ws_conns: BTreeMap::new(),
                connections_total: 0,
                sm: SmState::default(),
                oauth: Default::default(),
                app: super::app_state::AppState::new(),
                sockets: HashMap::new(),
                next_socket: 0,
                threads: Vec::new(),
            }),
            changed: Condvar::new(),
            ts_base,
            ts_seq: AtomicU64::new(0),
        }
    }

    /// Locks the state, recovering it if another thread panicked.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every `wait_*` call so it re-checks its condition.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits until `done` returns true (checked under the lock after every
    /// change) or `timeout` elapses. Returns whether `done` became true.
    pub fn wait_until<F>(&self, timeout: Duration, mut done: F) -> bool
    where
        F: FnMut(&State) -> bool,
    {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if done(&state) {
                return true;
            }
            let now = Instant::now();
            state = match deadline {
                Some(deadline) if now >= deadline => return false,
                Some(deadline) => {
                    self.changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    /// Blocks until the server is being dropped.
    pub fn wait_for_stop(&self) {
        self.wait_until(Duration::MAX, |st| st.stopping);
    }

    pub fn is_stopping(&self) -> bool {
        self.lock().stopping
    }

    /// A fresh, unique, increasing Slack timestamp such as `"1700000000.000123"`.
    pub fn next_ts(&self) -> String {
        let n = self.ts_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}.{:06}", self.ts_base + n / 1_000_000, n % 1_000_000)
    }

    /// Queues `cmd` for every open websocket; returns how many got it.
    pub fn broadcast(&self, cmd: &Outbound) -> usize {
        let state = self.lock();
        state
            .ws_conns
            .values()
            .filter(|conn| conn.tx.send(cmd.clone()).is_ok())
            .count()
    }

    /// A `message` event posted by the bot user, as broadcast by the echo feature.
    pub fn bot_message_event(
        &self,
        channel: &str,
        text: &str,
        ts: &str,
        thread: Option<&str>,
    ) -> Value {
        let mut event = json!({
            "type": "message",
            "channel": channel,
            "user": self.config.bot_user_id,
            "bot_id": BOT_ID,
            "text": text,
            "ts": ts,
            "team": self.config.team_id,
            "event_ts": ts,
        });
        if let (Some(thread), Some(obj)) = (thread, event.as_object_mut()) {
            obj.insert("thread_ts".into(), Value::from(thread));
        }
        event
    }

    /// Registers a client socket so that dropping the server can shut it
    /// down. Returns `None` if the server is already stopping.
    pub fn register_socket(self: &Arc<Self>, tcp: &TcpStream) -> Option<SocketGuard> {
        let clone = tcp.try_clone().ok()?;
        let mut state = self.lock();
        if state.stopping {
            return None;
        }
        state.next_socket += 1;
        let id = state.next_socket;
        state.sockets.insert(id, clone);
        Some(SocketGuard {
            shared: Arc::clone(self),
            id,
        })
    }

    /// Spawns a named server thread whose handle is joined when the server drops.
    pub fn spawn<F>(&self, name: &str, f: F) -> std::io::Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        // Spawn without holding the lock: if spawning fails, dropping `f`
        // (and the socket guard it owns) needs the lock itself.
        let handle = thread::Builder::new().name(name.to_owned()).spawn(f)?;
        let mut state = self.lock();
        state.threads.retain(|t| !t.is_finished());
        state.threads.push(handle);
        Ok(())
    }

    /// Marks the server as stopping, shuts every client socket down, and
    /// returns the connection threads to join.
    pub fn begin_stop(&self) -> Vec<JoinHandle<()>> {
        let mut state = self.lock();
        state.stopping = true;
        for conn in state.ws_conns.values() {
            let _ = conn.tx.send(Outbound::Stop);
        }
        for conn in state.sm.conns.values() {
            let _ = conn.tx.send(SmCmd::Stop);
        }
        for socket in state.sockets.values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut state.threads);
        drop(state);
        self.notify();
        threads
    }
}

/// Keeps a client socket registered while its thread serves it; on drop the
/// socket is unregistered and shut down, so the peer sees the end at once.
#[derive(Debug)]
pub(crate) struct SocketGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl SocketGuard {
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let socket = self.shared.lock().sockets.remove(&self.id);
        if let Some(socket) = socket {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}
