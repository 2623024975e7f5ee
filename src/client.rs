//! [`RtmClient`], its [`RtmHandle`], `start`/`spawn`/`stop`, and [`Running`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::{Config, RtmClientBuilder};
use crate::error::{Error, SendError, SendErrorKind};
use crate::handlers::{Payload, Registry};
use crate::messaging::{split_text, MessageError, OutgoingMessage, Receipt, MAX_TEXT_CHARS};
use crate::outbox::{Offer, Outbox, Outgoing, Reply};
use crate::session::{payload_from_text, prepare_outbound, Ids, Keepalive};
use crate::signals::{self, SignalGuard};
use crate::threads::{self, Item};
use crate::transport::Connection;
use crate::web::WebClient;

/// A Slack RTM client: register handlers with [`on`](RtmClient::on), then
/// [`start`](RtmClient::start) (blocking) or [`spawn`](RtmClient::spawn) (background).
///
/// Cheap to clone; clones share everything (handlers, connection, Web API client).
///
/// ```no_run
/// use slack_rtm::{Payload, RtmClient};
///
/// let client = RtmClient::builder("xoxb-your-token").build()?;
/// client.on("message", |p: &Payload| {
///     if p.data["text"].as_str().is_some_and(|t| t.contains("Hello")) {
///         let channel = p.data["channel"].as_str().unwrap_or_default();
///         p.web_client.chat_post_message(channel, "Hi!").ok();
///     }
/// });
/// client.start()?; // until Ctrl-C
/// # Ok::<(), slack_rtm::Error>(())
/// ```
#[derive(Clone)]
pub struct RtmClient {
    shared: Arc<Shared>,
}

/// A handle on a client, for sending and stopping from handlers and other threads.
/// Clone, `Send` and `Sync`; also available as [`RtmClient::handle`] and
/// [`Payload::rtm_client`].
#[derive(Clone)]
pub struct RtmHandle {
    shared: Arc<Shared>,
}

/// State shared by the client, its handles and its threads.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) web: WebClient,
    pub(crate) handlers: Registry,
    pub(crate) ids: Ids,
    link: Mutex<Option<Arc<Link>>>,
    outbox: Mutex<Outbox>,
    /// The presence subscription, sent again after every `hello`.
    pub(crate) presence: Mutex<Vec<String>>,
    stop: AtomicBool,
    /// Bumped to wake the pinger early (a message was queued, `hello` arrived).
    kicks: std::sync::atomic::AtomicU64,
    wake: (Mutex<()>, Condvar),
    signals: AtomicBool,
    running: AtomicBool,
}

/// One open websocket connection and its protocol state.
pub(crate) struct Link {
    pub(crate) conn: Connection,
    /// Set by the dispatcher when `hello` arrives, before the `hello` handlers run.
    pub(crate) hello: AtomicBool,
    /// When the websocket opened: the first frame (`hello`) is due within the timeout.
    pub(crate) opened: Instant,
    /// Set by the reader when the first frame arrives, so a dispatcher busy with slow handlers
    /// never makes a live connection look like one that never said hello.
    pub(crate) first_frame: AtomicBool,
    pub(crate) keepalive: Mutex<Keepalive>,
    /// Why the client itself ended this connection (missed pong, goodbye, ...).
    end_reason: Mutex<Option<String>>,
}

impl Link {
    pub(crate) fn new(conn: Connection, keepalive: Keepalive) -> Link {
        Link {
            conn,
            hello: AtomicBool::new(false),
            opened: Instant::now(),
            first_frame: AtomicBool::new(false),
            keepalive: Mutex::new(keepalive),
            end_reason: Mutex::new(None),
        }
    }

    /// Ends the connection from our side; the reader sees it end and reconnects.
    pub(crate) fn end(&self, reason: &str, graceful: bool) {
        {
            let mut r = self.end_reason.lock().unwrap_or_else(|e| e.into_inner());
            if r.is_none() {
                *r = Some(reason.to_string());
            }
        }
        if graceful {
            self.conn.close(1000, reason);
        }
        self.conn.kill();
    }

    pub(crate) fn end_reason(&self) -> Option<String> {
        self.end_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn keepalive(&self) -> std::sync::MutexGuard<'_, Keepalive> {
        self.keepalive.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shared {
    /// The current connection, if any.
    pub(crate) fn link(&self) -> Option<Arc<Link>> {
        self.link.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_link(&self, link: Option<Arc<Link>>) {
        *self.link.lock().unwrap_or_else(|e| e.into_inner()) = link;
        // The pinger schedules per connection (the hello deadline, pings).
        self.kick();
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the reader from its blocking read now rather than at the next tick.
        if let Some(link) = self.link() {
            link.conn.wake_reader();
        }
        let _guard = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.1.notify_all();
    }

    /// True once a stop was requested, by a call or (when handled) a signal.
    pub(crate) fn stopping(&self) -> bool {
        if self.stop.load(Ordering::SeqCst) {
            return true;
        }
        if self.signals.load(Ordering::Relaxed) && signals::received() {
            log::info!("stop signal received: stopping");
            self.stop.store(true, Ordering::SeqCst);
            if let Some(link) = self.link() {
                link.conn.wake_reader();
            }
            return true;
        }
        false
    }

    pub(crate) fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the pinger early (see [`Shared::wait_kickable`]).
    pub(crate) fn kick(&self) {
        self.kicks.fetch_add(1, Ordering::SeqCst);
        let _guard = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.1.notify_all();
    }

    /// Sleeps up to `d`, waking early on a stop request. Returns `stopping()`.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        self.wait_until(d, None)
    }

    /// The kick counter; sample it before doing the work a kick asks for.
    pub(crate) fn kicks(&self) -> u64 {
        self.kicks.load(Ordering::SeqCst)
    }

    /// Like [`Shared::wait`], also returning early (with `false`) once the kick counter differs
    /// from `seen` — including a kick that came before this call, so none is lost.
    pub(crate) fn wait_kickable(&self, d: Duration, seen: u64) -> bool {
        self.wait_until(d, Some(seen))
    }

    fn wait_until(&self, d: Duration, seen: Option<u64>) -> bool {
        // Signals only set a flag, so look at it at least every 100 ms.
        const SLICE: Duration = Duration::from_millis(100);
        let now = Instant::now();
        let deadline = now
            .checked_add(d.min(crate::transport::MAX_TIMEOUT))
            .unwrap_or(now);
        let mut guard = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.stopping() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || seen.is_some_and(|k| self.kicks.load(Ordering::SeqCst) != k) {
                return false;
            }
            // Only a handled signal needs polling; otherwise sleep the whole time.
            let slice = if self.signals.load(Ordering::Relaxed) {
                left.min(SLICE)
            } else {
                left
            };
            guard = self
                .wake
                .1
                .wait_timeout(guard, slice)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl RtmClient {
    /// Starts building a client for `token` (a bot `xoxb-` or user `xoxp-` token of a classic
    /// app). The token is trimmed and must not be empty.
    pub fn builder(token: &str) -> RtmClientBuilder {
        RtmClientBuilder::new(token)
    }

    pub(crate) fn from_config(config: Config) -> Result<RtmClient, Error> {
        let web = WebClient::from_net(&config.net)?;
        let outbox = Outbox::new(config.send_rate, config.send_queue);
        Ok(RtmClient {
            shared: Arc::new(Shared {
                config,
                web,
                handlers: Registry::default(),
                ids: Ids::default(),
                link: Mutex::new(None),
                outbox: Mutex::new(outbox),
                presence: Mutex::new(Vec::new()),
                stop: AtomicBool::new(false),
                kicks: std::sync::atomic::AtomicU64::new(0),
                wake: (Mutex::new(()), Condvar::new()),
                signals: AtomicBool::new(false),
                running: AtomicBool::new(false),
            }),
        })
    }

    /// Registers `handler` for events dispatched under `event` (`"message"`, `"hello"`, the
    /// pseudo-events `"open"`, `"close"`, `"error"`, `"reply"`, `"unknown"`, or `"*"` for
    /// every event). Handlers run on the dispatcher thread, one at a time, in arrival order;
    /// several handlers for one event run in registration order. Works before and after start.
    pub fn on<F>(&self, event: &str, handler: F)
    where
        F: Fn(&Payload<'_>) + Send + Sync + 'static,
    {
        self.shared.handlers.add(event, Arc::new(handler));
    }

    /// A handle for sending and stopping from other threads.
    pub fn handle(&self) -> RtmHandle {
        RtmHandle {
            shared: self.shared.clone(),
        }
    }

    /// The client's Web API client (the same one handlers get).
    pub fn web_client(&self) -> &WebClient {
        &self.shared.web
    }

    /// Requests a stop; see [`RtmHandle::stop`].
    pub fn stop(&self) {
        self.shared.request_stop();
    }

    /// Connects and dispatches events on background threads until [`stop`](RtmClient::stop),
    /// blocking the calling thread. Returns `Ok(())` after a requested stop (a call or, with
    /// [`handle_signals`](RtmClientBuilder::handle_signals), SIGINT/SIGTERM/SIGHUP);
    /// [`Error::Disconnected`] when the connection ended and `auto_reconnect` is off; the error
    /// itself when Slack refused the token (see [`Error::is_fatal`]).
    pub fn start(&self) -> Result<(), Error> {
        self.launch(self.shared.config.handle_signals)?.join()
    }

    /// Like [`start`](RtmClient::start), without blocking: the returned [`Running`] stops and
    /// joins the client. Signals are never handled for a spawned client.
    pub fn spawn(&self) -> Result<Running, Error> {
        self.launch(false)
    }

    fn launch(&self, handle_signals: bool) -> Result<Running, Error> {
        let shared = &self.shared;
        if shared
            .running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::AlreadyRunning);
        }
        shared.stop.store(false, Ordering::SeqCst);
        let guard = handle_signals.then(SignalGuard::install);
        shared.signals.store(handle_signals, Ordering::SeqCst);
        let mut running = Running {
            shared: shared.clone(),
            reader: None,
            pinger: None,
            dispatcher: None,
            _signals: guard,
            joined: false,
        };
        let (tx, rx) = crossbeam_channel::bounded::<Item>(shared.config.channel_capacity);
        let (pool_tx, pool_rx) = crossbeam_channel::bounded(shared.config.channel_capacity + 2);
        let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
        let io = |e| Error::Io {
            phase: crate::error::Phase::Connect,
            source: e,
        };
        let (s, h) = (shared.clone(), self.handle());
        running.dispatcher = Some(
            spawn("rtm-dispatch")
                .spawn(move || threads::dispatcher::run(s, h, rx, pool_tx))
                .map_err(io)?,
        );
        let (s, h) = (shared.clone(), self.handle());
        running.pinger = Some(
            spawn("rtm-pinger")
                .spawn(move || threads::pinger::run(s, h))
                .map_err(io)?,
        );
        let s = shared.clone();
        running.reader = Some(
            spawn("rtm-reader")
                .spawn(move || threads::reader::run(s, tx, pool_rx))
                .map_err(io)?,
        );
        Ok(running)
    }
}

impl RtmHandle {
    /// Sends `payload` (a JSON object) over the websocket and returns its message id. An `id`
    /// is added when absent; a present one must be a positive integer. The frame is on the wire
    /// when this returns, except a chat `message` held back by the send throttle (see
    /// [`RtmClientBuilder::send_rate`]), which leaves as soon as the throttle allows.
    ///
    /// Fails at once with [`SendErrorKind::NotConnected`] unless the websocket is open and
    /// `hello` has arrived. Frames over 16,384 bytes and `message` text over 4,000 characters
    /// are refused. Every error gives the payload back.
    pub fn send_over_websocket(&self, payload: Value) -> Result<u64, SendError> {
        self.send(payload, None, false)
    }

    /// Sends a chat message to `channel` and returns a [`Receipt`] to wait for Slack's ack
    /// (not from inside a handler: see [`Receipt::wait`]).
    /// See [`send_message_with`](RtmHandle::send_message_with).
    pub fn send_message(&self, channel: &str, text: &str) -> Result<Receipt, SendError> {
        self.send_message_with(&OutgoingMessage::new(channel, text))
    }

    /// Sends a chat message (in a thread, broadcast, ...) and returns a [`Receipt`].
    ///
    /// Unlike [`send_over_websocket`](RtmHandle::send_over_websocket), this queues the message
    /// while the client is disconnected or reconnecting (up to
    /// [`send_queue_capacity`](RtmClientBuilder::send_queue_capacity)) and sends it after the
    /// next `hello` — also before the first start or after a stop, when it waits for the next
    /// `start()`/`spawn()` (a stop fails only what was queued at that moment, with
    /// [`MessageError::Stopped`]). A message written to a connection that ends before its ack fails with
    /// [`MessageError::ConnectionLost`]: it is never sent twice silently. Text over 4,000
    /// characters is refused ([`SendErrorKind::TooLong`]); see
    /// [`send_long_message`](RtmHandle::send_long_message).
    pub fn send_message_with(&self, msg: &OutgoingMessage<'_>) -> Result<Receipt, SendError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let id = self.send(msg.to_payload(msg.text), Some(tx), true)?;
        Ok(Receipt::new(id, rx))
    }

    /// Sends text of any length as several messages of at most 4,000 characters, split at
    /// line breaks or spaces where possible, in order. Returns one receipt per part.
    pub fn send_long_message(&self, msg: &OutgoingMessage<'_>) -> Result<Vec<Receipt>, SendError> {
        split_text(msg.text, MAX_TEXT_CHARS)
            .into_iter()
            .map(|part| {
                let (tx, rx) = crossbeam_channel::bounded(1);
                let id = self.send(msg.to_payload(part), Some(tx), true)?;
                Ok(Receipt::new(id, rx))
            })
            .collect()
    }

    /// Subscribes to presence events for these users (`presence_sub`). Each call replaces the
    /// whole list; the list is remembered and sent again after every reconnect (Slack forgets
    /// it with the connection). Sent at once when connected, else at the next `hello`.
    pub fn subscribe_presence(&self, ids: &[&str]) -> Result<(), SendError> {
        let list: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        *self
            .shared
            .presence
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = list;
        if self.is_connected() {
            self.send_over_websocket(json!({"type": "presence_sub", "ids": ids}))?;
        }
        Ok(())
    }

    /// Asks for the current presence of these users (up to 500); Slack answers with
    /// `presence_change` events. Returns the message id.
    pub fn presence_query(&self, ids: &[&str]) -> Result<u64, SendError> {
        self.send_over_websocket(json!({"type": "presence_query", "ids": ids}))
    }

    /// The one send path: checks, then writes (or queues a throttled `message`).
    fn send(&self, payload: Value, reply: Option<Reply>, queue: bool) -> Result<u64, SendError> {
        // Refuse early what cannot go out, so a refused send does not use up a message id.
        if !queue && self.connected_link().is_none() {
            return Err(SendError::new(SendErrorKind::NotConnected, payload));
        }
        let prepared = prepare_outbound(payload, &self.shared.ids)?;
        if !prepared.is_message {
            let Some(link) = self.connected_link() else {
                return Err(SendError::new(
                    SendErrorKind::NotConnected,
                    prepared.into_payload(),
                ));
            };
            return write(&link, prepared.id, prepared.text, None, None)
                .map(|()| prepared.id)
                .map_err(|(kind, text)| {
                    SendError::new(kind, payload_from_text(&text, prepared.added_id))
                });
        }
        let id = prepared.id;
        let added_id = prepared.added_id;
        let out = Outgoing {
            id,
            text: prepared.text,
            reply,
        };
        let mut outbox = self.shared.outbox();
        let link = self.connected_link();
        let payload = |text: String| payload_from_text(&text, added_id);
        match (
            outbox.offer(Instant::now(), out, link.is_some(), queue),
            link,
        ) {
            (Offer::SendNow(out), Some(link)) => {
                write(&link, out.id, out.text, out.reply, Some(&mut outbox))
                    .map(|()| id)
                    .map_err(|(kind, text)| SendError::new(kind, payload(text)))
            }
            (Offer::SendNow(out), None) | (Offer::NotConnected(out), _) => Err(SendError::new(
                SendErrorKind::NotConnected,
                payload(out.text),
            )),
            (Offer::Queued, _) => {
                drop(outbox);
                log::debug!("message {id} queued (throttle or connection)");
                self.shared.kick();
                Ok(id)
            }
            (Offer::Full(out), _) => {
                Err(SendError::new(SendErrorKind::QueueFull, payload(out.text)))
            }
        }
    }

    /// Sends an RTM `ping`; Slack answers with a `pong` event. Returns the message id.
    pub fn ping(&self) -> Result<u64, SendError> {
        self.send_over_websocket(json!({"type": "ping"}))
    }

    /// Shows "typing…" in `channel` (Slack asks for at most one per 3 seconds per channel).
    pub fn typing(&self, channel: &str) -> Result<u64, SendError> {
        self.send_over_websocket(json!({"type": "typing", "channel": channel}))
    }

    /// Requests a stop and returns at once; safe inside a handler. The client closes the
    /// websocket, dispatches `close`, joins its threads, and `start()` returns `Ok(())`.
    pub fn stop(&self) {
        self.shared.request_stop();
    }

    /// True while the websocket is open and `hello` has arrived.
    pub fn is_connected(&self) -> bool {
        self.connected_link().is_some()
    }

    fn connected_link(&self) -> Option<Arc<Link>> {
        self.shared
            .link()
            .filter(|l| l.hello.load(Ordering::Acquire))
    }
}

/// Writes a frame to `link`. A `message` with a receipt is registered (in `outbox`, which the
/// caller holds locked so queued messages keep their order) before the write, so its ack can
/// never arrive first. On failure the connection is ended and the frame's text comes back.
pub(crate) fn write(
    link: &Link,
    id: u64,
    text: String,
    reply: Option<Reply>,
    outbox: Option<&mut Outbox>,
) -> Result<(), (SendErrorKind, String)> {
    log::trace!("sending {text}");
    let registered = match (reply, outbox) {
        (Some(reply), Some(outbox)) => {
            outbox.written(id, reply);
            Some(outbox)
        }
        _ => None,
    };
    // The text is needed again only if the write fails; writes are rare next to reads, so
    // keep a copy rather than rebuild the frame.
    match link.conn.send_text(text.clone()) {
        Ok(()) => Ok(()),
        Err(e) => {
            log::warn!("sending over the websocket failed: {e}");
            if let Some(outbox) = registered {
                if let Some(r) = outbox.acked(id) {
                    let _ = r.send(Err(MessageError::ConnectionLost));
                }
            }
            link.end(&format!("write failed: {e}"), false);
            Err((SendErrorKind::Io(e.to_string()), text))
        }
    }
}

/// A client running on background threads, from [`RtmClient::spawn`]. Dropping it stops the
/// client and joins its threads.
#[must_use = "dropping `Running` stops the client; keep it, or call `join()`"]
pub struct Running {
    shared: Arc<Shared>,
    reader: Option<JoinHandle<Result<(), Error>>>,
    pinger: Option<JoinHandle<()>>,
    dispatcher: Option<JoinHandle<()>>,
    _signals: Option<SignalGuard>,
    /// Set once the threads were joined (and the client released).
    joined: bool,
}

impl Running {
    /// Requests a stop (never blocks).
    pub fn stop(&self) {
        self.shared.request_stop();
    }

    /// A handle for sending and stopping.
    pub fn handle(&self) -> RtmHandle {
        RtmHandle {
            shared: self.shared.clone(),
        }
    }

    /// Waits until the client has stopped and every thread is joined; returns what
    /// [`RtmClient::start`] would have.
    pub fn join(mut self) -> Result<(), Error> {
        self.join_threads()
    }

    fn join_threads(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        if let Some(r) = self.reader.take() {
            result = r
                .join()
                .unwrap_or_else(|_| Err(Error::Http("the reader thread panicked".into())));
        }
        // The reader has ended (the pinger's wait sees the stop flag it set; the dispatcher
        // sees the channel close).
        self.shared.request_stop();
        if let Some(p) = self.pinger.take() {
            let _ = p.join();
        }
        if let Some(d) = self.dispatcher.take() {
            let _ = d.join();
        }
        self.shared.set_link(None);
        self.shared.signals.store(false, Ordering::SeqCst);
        self._signals = None;
        self.shared.running.store(false, Ordering::SeqCst);
        self.joined = true;
        result
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.reader.is_some() || self.pinger.is_some() || self.dispatcher.is_some() {
            self.shared.request_stop();
            let _ = self.join_threads();
        } else if !self.joined {
            // A launch that failed before its threads started: release the client.
            self.shared.running.store(false, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for RtmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtmClient")
            .field("base_url", &self.shared.config.net.base_url)
            .field("running", &self.shared.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RtmHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtmHandle")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running").finish_non_exhaustive()
    }
}

/// Sends an item to the dispatcher, waiting while the channel is full (the keepalive deadline
/// is suspended meanwhile). Returns false when the dispatcher is gone or a stop was requested
/// while waiting.
pub(crate) fn deliver(
    shared: &Shared,
    link: Option<&Link>,
    tx: &crossbeam_channel::Sender<Item>,
    item: Item,
) -> bool {
    use crossbeam_channel::{SendTimeoutError, TrySendError};
    let mut item = match tx.try_send(item) {
        Ok(()) => return true,
        Err(TrySendError::Disconnected(_)) => return false,
        Err(TrySendError::Full(item)) => item,
    };
    if let Some(l) = link {
        l.keepalive().suspend();
    }
    let delivered = loop {
        match tx.send_timeout(item, Duration::from_millis(100)) {
            Ok(()) => break true,
            Err(SendTimeoutError::Disconnected(_)) => break false,
            Err(SendTimeoutError::Timeout(back)) => {
                if shared.stopping() && !back.survives_stop() {
                    break false;
                }
                item = back;
            }
        }
    };
    if let Some(l) = link {
        l.keepalive().resume(Instant::now());
    }
    delivered
}
