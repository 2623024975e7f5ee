//! HTTP mode: a blocking HTTP/1.1 receiver for the requests Slack POSTs to an app (Events API,
//! interactivity, slash commands).
//!
//! [`HttpReceiverBuilder`] serves any handler `Fn(AppRequest) -> AppResponse`; the App's
//! `app.http(addr)` is this builder with the App's dispatch as the handler. Each request's
//! answer is written the moment the handler returns, so an App that returns at the listener's
//! `ack` answers Slack in milliseconds while the listener keeps working.
//!
//! ```no_run
//! use slack_rtm::app::http::HttpReceiverBuilder;
//! use slack_rtm::app::AppResponse;
//!
//! let receiver = HttpReceiverBuilder::new("0.0.0.0:3000", |req| {
//!     println!("{} {} ({} bytes)", req.method, req.path, req.body.len());
//!     AppResponse::ok()
//! })
//! .build()?;
//! println!("listening on {}", receiver.local_addr());
//! receiver.start()?; // until SIGINT or SIGTERM
//! # Ok::<(), slack_rtm::Error>(())
//! ```
//!
//! # TLS goes in front
//!
//! Slack only delivers to `https://` URLs; this receiver speaks plain HTTP/1.1, as Bolt's own
//! servers do. Terminate TLS in front of it: a reverse proxy (nginx, Caddy, a cloud load
//! balancer) forwarding to `127.0.0.1:3000`, or a tunnel (`cloudflared`, `ngrok`) during
//! development. The request URL in the app's settings (Event Subscriptions, Interactivity,
//! Slash Commands) is the public `https://` address with the path, e.g.
//! `https://bot.example.com/slack/events`.
//!
//! # Routing
//!
//! POST on a configured path ([`HttpReceiverBuilder::paths`], default `/slack/events`) goes to
//! the handler; GET goes to the handler only on the paths given to
//! [`HttpReceiverBuilder::get_path`] (OAuth pages); another method on a known path answers 405
//! with `Allow`, any other path 404 (query strings are not part of the match).
//!
//! # Limits
//!
//! | limit | default | answer |
//! | --- | --- | --- |
//! | request head (request line and headers) | 16 KiB, 64 fields | 431 |
//! | body | 1 MiB | 413, before reading it when `Content-Length` says so |
//! | one request, from its first byte to its last | 10 s | 408 |
//! | idle keep-alive connection | 75 s | closed quietly |
//! | writing an answer | 10 s | connection closed |
//! | open connections | 1024 | 503 with `Retry-After: 1`, closed |
//!
//! Each connection has its own thread, so a slow client holds nothing but its own connection,
//! and only until the request deadline. A POST needs `Content-Length` (else 411) or
//! `Transfer-Encoding: chunked` (decoded; other codings answer 501, both headers together 400);
//! `Expect: 100-continue` is answered. Keep-alive is HTTP/1.1's default (HTTP/1.0 with
//! `Connection: keep-alive`); pipelined requests are answered in order. A handler that panics
//! answers 500 and the receiver goes on.
//!
//! The parser is `httparse`, the one tungstenite's handshake already compiles in: no new
//! dependency, no async runtime, and the framing rules above stay in this crate's own code.

mod app;
mod conn;
mod parse;

use std::cell::Cell;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use self::conn::ConnState;
use crate::app::{AppRequest, AppResponse};
use crate::error::{Error, Phase};
use crate::signals::{self, SignalGuard};

/// What a receiver calls for each routed request; its answer is written at once.
pub type Handler = Arc<dyn Fn(AppRequest) -> AppResponse + Send + Sync>;

/// The path Slack's requests go to unless [`HttpReceiverBuilder::paths`] says otherwise.
pub const DEFAULT_PATH: &str = "/slack/events";

mod defaults {
    use std::time::Duration;

    pub const MAX_HEADER_BYTES: usize = 16 * 1024;
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(75);
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
    pub const MAX_CONNECTIONS: usize = 1024;
    pub const HANDLE_SIGNALS: bool = true;
}

/// The receiver's options, validated by [`HttpReceiverBuilder::build`].
#[derive(Clone, Debug)]
struct Settings {
    post_paths: Vec<String>,
    get_paths: Vec<String>,
    max_header_bytes: usize,
    max_body_bytes: usize,
    request_timeout: Duration,
    keep_alive_timeout: Duration,
    write_timeout: Duration,
    max_connections: usize,
    handle_signals: bool,
}

/// Options for an [`HttpReceiver`]: the address, the handler, paths and limits.
pub struct HttpReceiverBuilder {
    addr: String,
    handler: Handler,
    settings: Settings,
    /// Why `build()` must fail whatever the options (an App without a signing secret).
    refusal: Option<String>,
}

impl fmt::Debug for HttpReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReceiverBuilder")
            .field("addr", &self.addr)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpReceiverBuilder {
    /// A receiver on `addr` (`"0.0.0.0:3000"`, `"127.0.0.1:0"` for any free port) that passes
    /// each routed request to `handler`.
    pub fn new<F>(addr: &str, handler: F) -> HttpReceiverBuilder
    where
        F: Fn(AppRequest) -> AppResponse + Send + Sync + 'static,
    {
        HttpReceiverBuilder::with_handler(addr, Arc::new(handler))
    }

    /// [`new`](HttpReceiverBuilder::new) with a handler that is already shared.
    pub fn with_handler(addr: &str, handler: Handler) -> HttpReceiverBuilder {
        HttpReceiverBuilder {
            addr: addr.to_owned(),
            handler,
            settings: Settings {
                post_paths: vec![DEFAULT_PATH.to_owned()],
                get_paths: Vec::new(),
                max_header_bytes: defaults::MAX_HEADER_BYTES,
                max_body_bytes: defaults::MAX_BODY_BYTES,
                request_timeout: defaults::REQUEST_TIMEOUT,
                keep_alive_timeout: defaults::KEEP_ALIVE_TIMEOUT,
                write_timeout: defaults::WRITE_TIMEOUT,
                max_connections: defaults::MAX_CONNECTIONS,
                handle_signals: defaults::HANDLE_SIGNALS,
            },
            refusal: None,
        }
    }

    /// The paths that take Slack's POSTs, replacing the default; each starts with `/` and has no
    /// query string. One path can serve events, interactivity and commands alike (the App tells
    /// them apart by content type), or give each its own. Defaults to `["/slack/events"]`.
    pub fn paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.settings.post_paths = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        self
    }

    /// Adds a path that takes POSTs, beside the others (and the default).
    pub fn path(mut self, path: &str) -> Self {
        self.settings.post_paths.push(path.to_owned());
        self
    }

    /// Routes GET on `path` to the handler too (an OAuth install or redirect page, a health
    /// check). Defaults to none: GET answers 405 on the POST paths and 404 elsewhere.
    pub fn get_path(mut self, path: &str) -> Self {
        self.settings.get_paths.push(path.to_owned());
        self
    }

    /// The largest request head (request line and headers), in bytes; larger answers 431.
    /// Defaults to 16 KiB.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_header_bytes = bytes;
        self
    }

    /// The largest request body, in bytes; larger answers 413. Defaults to 1 MiB (Slack's
    /// requests are a few KB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body_bytes = bytes;
        self
    }

    /// How long a request may take to arrive, from its first byte to its last; later answers
    /// 408 and closes the connection, so a slow client cannot hold its thread. Defaults to 10 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = timeout;
        self
    }

    /// How long an idle kept-alive connection waits for its next request before it is closed.
    /// Defaults to 75 s (longer than the usual load balancer's 60 s idle timeout, so the proxy,
    /// not this receiver, closes first).
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.settings.keep_alive_timeout = timeout;
        self
    }

    /// How long writing one answer may block on a client that does not read. Defaults to 10 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.settings.write_timeout = timeout;
        self
    }

    /// The most connections open at once (each has a thread); one more is answered 503 with
    /// `Retry-After: 1` and closed. Defaults to 1024.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.settings.max_connections = n;
        self
    }

    /// Whether [`HttpReceiver::start`] stops gracefully on SIGINT, SIGTERM and SIGHUP (a second
    /// SIGINT exits at once with status 130), as the clients' `start()` does. Defaults to true.
    /// [`HttpReceiver::spawn`] never handles signals.
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.settings.handle_signals = yes;
        self
    }

    /// Checks the options and binds the address.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a path that does not start with `/` or has a `?`, no path at all, a
    /// zero limit or timeout, an App without a signing secret ([`App::http`](crate::app::App::http)); [`Error::Io`] (phase [`Phase::Listen`]) when the address cannot
    /// be bound (in use, not local, no permission).
    pub fn build(self) -> Result<HttpReceiver, Error> {
        if let Some(why) = self.refusal {
            return Err(Error::Config(why));
        }
        let s = &self.settings;
        // GET paths alone make a receiver too: the OAuth pages of a Socket Mode app.
        if s.post_paths.is_empty() && s.get_paths.is_empty() {
            return Err(Error::Config(
                "the HTTP receiver needs at least one path".into(),
            ));
        }
        for p in s.post_paths.iter().chain(&s.get_paths) {
            if !p.starts_with('/') || p.contains('?') {
                return Err(Error::Config(format!(
                    "an HTTP path starts with / and has no query string, got {p:?}"
                )));
            }
        }
        let zero = [
            ("max_header_bytes", s.max_header_bytes == 0),
            ("max_body_bytes", s.max_body_bytes == 0),
            ("max_connections", s.max_connections == 0),
            ("request_timeout", s.request_timeout.is_zero()),
            ("keep_alive_timeout", s.keep_alive_timeout.is_zero()),
            ("write_timeout", s.write_timeout.is_zero()),
        ];
        if let Some((name, _)) = zero.iter().find(|(_, z)| *z) {
            return Err(Error::Config(format!("{name} must be more than zero")));
        }
        let listener = TcpListener::bind(self.addr.as_str()).map_err(|source| Error::Io {
            phase: Phase::Listen,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Io {
            phase: Phase::Listen,
            source,
        })?;
        Ok(HttpReceiver {
            shared: Arc::new(Shared {
                settings: self.settings,
                handler: self.handler,
                local_addr,
                stopping: AtomicBool::new(false),
                stop_lock: Mutex::new(false),
                stopped: Condvar::new(),
                running: AtomicBool::new(false),
                conns: Mutex::new(Vec::new()),
            }),
            listener,
        })
    }

    /// [`build`](HttpReceiverBuilder::build), then [`HttpReceiver::start`].
    ///
    /// # Errors
    ///
    /// As those two.
    pub fn start(self) -> Result<(), Error> {
        self.build()?.start()
    }

    /// [`build`](HttpReceiverBuilder::build), then [`HttpReceiver::spawn`].
    ///
    /// # Errors
    ///
    /// As those two.
    pub fn spawn(self) -> Result<HttpRunning, Error> {
        self.build()?.spawn()
    }
}

/// One open connection: its thread and what stopping needs.
struct Conn {
    state: Arc<ConnState>,
    thread: JoinHandle<()>,
}

/// What the receiver's threads share.
struct Shared {
    settings: Settings,
    handler: Handler,
    local_addr: SocketAddr,
    /// Set by a stop; read by every connection between requests.
    stopping: AtomicBool,
    /// The same, for waiting on it: `start()` sleeps on `stopped`.
    stop_lock: Mutex<bool>,
    stopped: Condvar,
    running: AtomicBool,
    conns: Mutex<Vec<Conn>>,
}

thread_local! {
    /// The receiver (its `Shared`'s address) whose thread this is, if any.
    static RECEIVER_THREAD: Cell<usize> = const { Cell::new(0) };
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    fn conns(&self) -> MutexGuard<'_, Vec<Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops accepting, cuts connections that are idle or still reading a request (those in the
    /// handler finish and answer with `Connection: close`), and wakes `start()`.
    fn stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        *self.stop_lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stopped.notify_all();
        self.cut_idle();
        // The accept thread is blocked in accept(): a connection wakes it.
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let wake = SocketAddr::new(ip, self.local_addr.port());
        if let Err(e) = TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
            log::warn!("http: cannot wake the accept thread on {wake}: {e}");
        }
    }

    /// Shuts down the connections that are idle or reading a request (after `stopping` is
    /// set: a connection that turns idle later sees the flag and closes by itself).
    fn cut_idle(&self) {
        for conn in self.conns().iter() {
            if conn.state.state.load(Ordering::SeqCst) == conn::READING {
                let _ = conn.state.stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Waits until a stop is requested, at most `timeout`; true once it is.
    fn wait_stop(&self, timeout: Duration) -> bool {
        let guard = self.stop_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .stopped
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }

    /// Joins the connection threads that have ended; returns how many are still open.
    fn reap(&self) -> usize {
        let mut done = Vec::new();
        let open = {
            let mut conns = self.conns();
            let mut i = 0;
            while i < conns.len() {
                if conns[i].thread.is_finished() {
                    done.push(conns.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            conns.len()
        };
        for c in done {
            let _ = c.thread.join();
        }
        open
    }
}

/// A bound HTTP receiver, from [`HttpReceiverBuilder::build`]. It listens from the moment it is
/// built (connections wait in the backlog) and serves while [`start`](HttpReceiver::start) or a
/// [`spawn`](HttpReceiver::spawn)ed run goes on; it can run again after a stop.
pub struct HttpReceiver {
    shared: Arc<Shared>,
    listener: TcpListener,
}

impl fmt::Debug for HttpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReceiver")
            .field("local_addr", &self.shared.local_addr)
            .field("paths", &self.shared.settings.post_paths)
            .field("running", &self.shared.running.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl HttpReceiver {
    /// The bound address (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Serves on background threads and blocks until [`stop`](HttpReceiver::stop) or, with
    /// [`handle_signals`](HttpReceiverBuilder::handle_signals), SIGINT/SIGTERM/SIGHUP; returns
    /// once every connection thread is joined (requests in the handler are answered first).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`] while a run goes on; [`Error::Io`] when the accept thread
    /// cannot start.
    pub fn start(&self) -> Result<(), Error> {
        let guard = self
            .shared
            .settings
            .handle_signals
            .then(SignalGuard::install);
        let running = self.spawn()?;
        if guard.is_some() {
            // Signal handlers only set a flag: it is looked at ten times a second.
            while !self.shared.wait_stop(Duration::from_millis(100)) {
                if signals::received() {
                    log::info!("http: stop signal received; stopping the receiver");
                    self.stop();
                }
            }
        } else {
            while !self.shared.wait_stop(Duration::from_secs(3600)) {}
        }
        let result = running.join();
        drop(guard);
        result
    }

    /// Serves on background threads; the returned [`HttpRunning`] stops and joins them.
    /// Signals are not handled.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`] while a run goes on; [`Error::Io`] when the listener cannot be
    /// shared with the accept thread or the thread cannot start.
    pub fn spawn(&self) -> Result<HttpRunning, Error> {
        let shared = &self.shared;
        if shared.running.swap(true, Ordering::SeqCst) {
            return Err(Error::AlreadyRunning);
        }
        shared.stopping.store(false, Ordering::SeqCst);
        *shared.stop_lock.lock().unwrap_or_else(|e| e.into_inner()) = false;
        let listener = self.listener.try_clone();
        let accept = listener.and_then(|listener| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("http-accept".into())
                .spawn(move || accept_loop(&listener, &shared))
        });
        match accept {
            Ok(thread) => Ok(HttpRunning {
                shared: shared.clone(),
                accept: Some(thread),
            }),
            Err(source) => {
                shared.running.store(false, Ordering::SeqCst);
                Err(Error::Io {
                    phase: Phase::Listen,
                    source,
                })
            }
        }
    }

    /// Requests a stop of the current run (never blocks on it).
    pub fn stop(&self) {
        self.shared.stop();
    }
}

/// A receiver running on background threads, from [`HttpReceiver::spawn`]. Dropping it stops
/// the receiver and joins its threads.
pub struct HttpRunning {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for HttpRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRunning")
            .field("local_addr", &self.shared.local_addr)
            .finish_non_exhaustive()
    }
}

impl HttpRunning {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Requests a stop (never blocks): no new connection is accepted, idle connections and
    /// requests still arriving are cut, requests in the handler are answered (with
    /// `Connection: close`).
    pub fn stop(&self) {
        self.shared.stop();
    }

    /// Waits until the receiver has stopped and every thread is joined. From one of the
    /// receiver's own threads (inside the handler) it cannot wait for itself: it requests the
    /// stop and returns [`Error::JoinFromClientThread`] at once.
    ///
    /// # Errors
    ///
    /// [`Error::JoinFromClientThread`] as above; [`Error::ThreadPanicked`] if the accept thread
    /// panicked.
    pub fn join(mut self) -> Result<(), Error> {
        self.join_threads()
    }

    fn join_threads(&mut self) -> Result<(), Error> {
        let Some(accept) = self.accept.take() else {
            return Ok(());
        };
        if RECEIVER_THREAD.with(Cell::get) == self.shared.id() {
            // The accept thread joins the connection threads, this one included, once its
            // handler returns; detached, it ends by itself.
            self.shared.stop();
            drop(accept);
            return Err(Error::JoinFromClientThread);
        }
        accept.join().map_err(|_| Error::ThreadPanicked {
            thread: "http-accept".into(),
        })
    }
}

impl Drop for HttpRunning {
    fn drop(&mut self) {
        if self.accept.is_some() {
            self.shared.stop();
            let _ = self.join_threads();
        }
    }
}

/// Accepts connections until a stop, one thread each; then joins them all and ends the run.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    RECEIVER_THREAD.with(|t| t.set(shared.id()));
    log::info!(
        "http: listening on {} ({})",
        shared.local_addr,
        shared.settings.post_paths.join(", ")
    );
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                if shared.stopping() {
                    break;
                }
                log::warn!("http: accept failed: {e}");
                // Out of file descriptors and the like: give the system a moment rather than
                // spinning on the same error.
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::Interrupted
                ) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
        };
        if shared.stopping() {
            break;
        }
        let open = shared.reap();
        if open >= shared.settings.max_connections {
            log::warn!("http: {open} connections open (max_connections); answering 503 to {peer}");
            busy(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let copy = match stream.try_clone() {
            Ok(copy) => copy,
            Err(e) => {
                log::warn!("http: cannot keep a connection from {peer}: {e}");
                continue;
            }
        };
        let state = Arc::new(ConnState {
            state: std::sync::atomic::AtomicU8::new(conn::READING),
            stream: copy,
        });
        let mut conns = shared.conns();
        let thread = {
            let (state, shared) = (state.clone(), shared.clone());
            std::thread::Builder::new()
                .name("http-conn".into())
                .spawn(move || {
                    RECEIVER_THREAD.with(|t| t.set(shared.id()));
                    conn::serve(&stream, &state, &shared);
                })
        };
        match thread {
            Ok(thread) => conns.push(Conn { state, thread }),
            Err(e) => log::error!("http: cannot start a connection thread: {e}"),
        }
    }
    // A stop may have raced with the last accept: cut again before waiting for the rest.
    shared.cut_idle();
    let conns = std::mem::take(&mut *shared.conns());
    for c in conns {
        let _ = c.thread.join();
    }
    shared.running.store(false, Ordering::SeqCst);
    log::info!("http: stopped on {}", shared.local_addr);
}

/// Answers 503 to a connection over the limit, without blocking the accept thread.
fn busy(stream: TcpStream) {
    let _ = stream.set_nonblocking(true);
    let _ = (&stream).write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\
          Connection: close\r\n\r\n",
    );
}
