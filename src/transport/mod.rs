//! Opening and using the websocket: TCP connect → optional proxy `CONNECT` → TLS for `wss://`
//! → websocket handshake, each phase bounded by the configured timeout. This is the only code
//! that knows sockets.

pub(crate) mod proxy;
pub(crate) mod stream;

use std::io::Read;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::Uri;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use crate::config::NetConfig;
use crate::error::{Error, Phase};
use stream::{write_all_until, Outbound, WireStream, WsStream};

pub(crate) use crate::config::net::MAX_TIMEOUT;

/// The frames of one socket read. Their text is copied out of tungstenite's read buffer into
/// one string, so that buffer is reused at once (a frame handed on would pin all of it) and one
/// allocation, recycled, crosses to the dispatcher per read instead of one per frame.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    text: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    /// A text frame ending at this offset of `text` (fragments joined by tungstenite).
    Text(usize),
    /// A binary frame (RTM never sends one); only its length is kept.
    Binary(usize),
}

/// One frame of a [`Batch`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Frame<'a> {
    Text(&'a str),
    Binary(usize),
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push_text(&mut self, t: &str) {
        self.text.push_str(t);
        self.entries.push(Entry::Text(self.text.len()));
    }

    fn push_binary(&mut self, len: usize) {
        self.entries.push(Entry::Binary(len));
    }

    pub(crate) fn frames(&self) -> impl Iterator<Item = Frame<'_>> + '_ {
        let mut start = 0;
        self.entries.iter().map(move |e| match *e {
            Entry::Text(end) => {
                let t = &self.text[start..end];
                start = end;
                Frame::Text(t)
            }
            Entry::Binary(len) => Frame::Binary(len),
        })
    }

    /// Empties the batch for reuse; `false` when it grew too large to keep around.
    pub(crate) fn recycle(&mut self) -> bool {
        self.text.clear();
        self.entries.clear();
        self.text.capacity() <= 1 << 20
    }
}

/// How a connection ended, as seen by the decoder.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The server closed (close frame and/or end of stream).
    Closed { code: Option<u16>, reason: String },
    /// A protocol or I/O error: the connection is unusable.
    Failed(Error),
}

/// tungstenite's read buffer. Its default, 128 KiB, is zero-filled up to capacity on every
/// read, so an idle connection would hold 128 KiB of touched memory; 16 KiB costs nothing
/// measurable in throughput (the buffer grows for a larger frame) and an eighth of the memory.
const WS_READ_BUFFER: usize = 16 * 1024;

/// How much encoded data may wait for the socket before sends are refused
/// ([`WriteError::Full`]): a server that stops reading costs at most this much memory.
pub(crate) const OUTBOUND_LIMIT: usize = 1 << 20;

/// How long a close frame may take to reach the socket before the connection is dropped.
pub(crate) const CLOSE_BOUND: Duration = Duration::from_secs(1);

/// An open websocket. Shared by the reader (which feeds it bytes) and every sender.
///
/// Two locks, never held together for I/O: `ws` (the TLS and websocket state) is held only to
/// encode or decode in memory; `writer` is held while bytes go to the socket. A write blocked by
/// a peer that stopped reading therefore blocks only the thread that writes: the reader keeps
/// decoding, other senders queue (up to [`OUTBOUND_LIMIT`]) and return, and a stop closes and
/// drops the socket, which ends the blocked write.
#[derive(Debug)]
pub(crate) struct Connection {
    ws: Mutex<WebSocket<WsStream>>,
    out: Arc<Outbound>,
    writer: Mutex<Writer>,
    ctl: TcpStream,
    /// Set once a write failed or the connection was dropped: sends fail at once.
    dead: AtomicBool,
    /// Set when we dropped it on purpose (a stop, a missed pong): a write it cuts short is
    /// [`WriteError::Gone`], not a failure.
    dead_by_us: AtomicBool,
}

#[derive(Debug)]
struct Writer {
    sock: TcpStream,
    timeout: Duration,
    sock_timeout: Duration,
    chunk: Vec<u8>,
}

/// Why a frame could not be sent.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// More than [`OUTBOUND_LIMIT`] bytes wait for the socket: the server is not reading.
    Full,
    /// The connection is closing or gone.
    Gone,
    /// Writing to the socket failed (the connection is now dropped).
    Failed(Error),
}

/// Where to connect, parsed from a `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub uri: Uri,
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::Url("the websocket url cannot be parsed".into()))?;
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => {
                return Err(Error::Url(
                    "the websocket url must start with ws:// or wss://".into(),
                ))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| Error::Url("the websocket url has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Target {
            uri,
            tls,
            host,
            port,
        })
    }

    /// `host[:port]` as the URL gives it (no user info), to name the server in errors; the Web
    /// API names its server the same way.
    pub(crate) fn authority(&self) -> String {
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host)
            .to_string()
    }
}

/// Connects to the websocket at `url`. Returns the shared connection and the socket the reader
/// thread reads from (its read timeout set to `read_tick`).
///
/// The phases (resolve and TCP connect, proxy `CONNECT`, TLS, websocket handshake) share one
/// deadline, `net.timeout` from the start: each is bounded by it, the whole connect too, and a
/// timeout names the phase that was running.
pub(crate) fn open(
    url: &str,
    net: &NetConfig,
    max_message_size: usize,
    read_tick: Duration,
) -> Result<(Connection, TcpStream), Error> {
    let target = Target::parse(url)?;
    let request = target
        .uri
        .to_string()
        .into_client_request()
        .map_err(|e| Error::Url(format!("the websocket url is not usable: {e}")))?;
    // Built (once per client) before the clock starts: loading the system store is not the
    // server's time.
    let connector = if target.tls {
        Some(net.tls.native_connector()?)
    } else {
        None
    };
    let proxy = crate::config::net::proxy_for(net.proxy.as_ref(), &target.uri);
    let timeout = net.timeout.min(MAX_TIMEOUT);
    let deadline = Instant::now() + timeout;

    let io = |phase| move |e| Error::io(phase, e);
    let sock = match &proxy {
        Some(p) => {
            let mut s = tcp_connect(p.host(), p.port(), deadline)?;
            log::debug!(
                "tunnelling to {}:{} through a proxy",
                target.host,
                target.port
            );
            proxy::tunnel(&mut s, p, &target.host, target.port, deadline)?;
            s
        }
        None => tcp_connect(&target.host, target.port, deadline)?,
    };
    sock.set_nodelay(true).map_err(io(Phase::Connect))?;
    let ctl = sock.try_clone().map_err(io(Phase::Connect))?;
    let reader = sock.try_clone().map_err(io(Phase::Connect))?;
    let writer = sock.try_clone().map_err(io(Phase::Connect))?;

    let mut wire = WireStream::new(sock, timeout).map_err(io(Phase::Connect))?;
    wire.set_direct(Some(deadline));
    let mut stream = match connector {
        None => WsStream::Plain(wire),
        Some(connector) => match connector.connect(&target.host, wire) {
            Ok(s) => WsStream::Tls(Box::new(s)),
            Err(native_tls::HandshakeError::Failure(e)) => {
                if is_timeout(&e) || Instant::now() >= deadline {
                    return Err(Error::Timeout { phase: Phase::Tls });
                }
                return Err(Error::tls(
                    target.authority(),
                    e.to_string(),
                    Some(Box::new(e)),
                ));
            }
            Err(native_tls::HandshakeError::WouldBlock(_)) => {
                return Err(Error::Timeout { phase: Phase::Tls })
            }
        },
    };
    stream.wire_mut().set_direct(Some(deadline));
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
        .read_buffer_size(WS_READ_BUFFER);
    let mut ws = match tungstenite::client::client_with_config(request, stream, Some(config)) {
        Ok((ws, _response)) => ws,
        Err(HandshakeError::Failure(e)) => return Err(handshake_error(e, &target)),
        Err(HandshakeError::Interrupted(_)) => {
            return Err(Error::Timeout {
                phase: Phase::Handshake,
            })
        }
    };
    let out = Arc::new(Outbound::default());
    ws.get_mut().wire_mut().set_direct(None);
    ws.get_mut().wire_mut().buffer_writes(out.clone());
    reader
        .set_read_timeout(Some(read_tick))
        .map_err(io(Phase::Read))?;
    Ok((
        Connection {
            ws: Mutex::new(ws),
            out,
            writer: Mutex::new(Writer {
                sock: writer,
                timeout,
                sock_timeout: timeout,
                chunk: Vec::new(),
            }),
            ctl,
            dead: AtomicBool::new(false),
            dead_by_us: AtomicBool::new(false),
        },
        reader,
    ))
}

fn handshake_error(e: tungstenite::Error, target: &Target) -> Error {
    match e {
        // A TLS 1.3 server refuses a client certificate after the client finished its side of
        // the TLS handshake: the refusal arrives here.
        tungstenite::Error::Io(e) => match crate::tls::tls_layer_error(&e) {
            Some(reason) => Error::tls(target.authority(), reason, Some(Box::new(e))),
            None => Error::io(Phase::Handshake, e),
        },
        tungstenite::Error::Http(resp) => Error::websocket(
            format!(
                "the server refused the upgrade with http {}",
                resp.status().as_u16()
            ),
            Some(Box::new(tungstenite::Error::Http(resp))),
        ),
        other => Error::websocket(other.to_string(), Some(Box::new(other))),
    }
}

/// True when a TLS handshake failed because a read or write hit the phase's deadline.
fn is_timeout(e: &native_tls::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// Resolves `host` and connects to the first address that answers, by `deadline`.
fn tcp_connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, Error> {
    let addrs = resolve(host, port, deadline)?;
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                phase: Phase::Connect,
            });
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Error::io(Phase::Connect, e),
        None => connect_error(format!("{host} resolved to no address")),
    })
}

/// The addresses of `host` (a name, an IP address, or an IPv6 address in brackets), by
/// `deadline`.
///
/// The system resolver cannot be interrupted, so a name is resolved on a helper thread
/// (`rtm-resolve`) and waited for until the deadline; when it passes the thread is left to
/// finish on its own (it holds nothing but the name and ends when the resolver gives up).
/// This is the one thread the client does not join; ureq resolves the same way for the Web
/// API. IP addresses need no thread.
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = crossbeam_channel::bounded(1);
    let name = bare.to_string();
    std::thread::Builder::new()
        .name("rtm-resolve".into())
        .spawn(move || {
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(found);
        })
        .map_err(|e| Error::io(Phase::Connect, e))?;
    match rx.recv_deadline(deadline) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(connect_error(format!("cannot resolve {bare}: {e}"))),
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(Error::Timeout {
            phase: Phase::Connect,
        }),
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(connect_error(format!(
            "cannot resolve {bare}: the resolver thread ended without an answer"
        ))),
    }
}

fn connect_error(msg: String) -> Error {
    Error::Io {
        phase: Phase::Connect,
        source: std::io::Error::new(std::io::ErrorKind::NotFound, msg),
    }
}

impl Connection {
    fn lock(&self) -> MutexGuard<'_, WebSocket<WsStream>> {
        self.ws.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one text frame: encodes it (short lock), then writes what waits for the socket
    /// unless another thread is writing already (it takes these bytes too, in order). When this
    /// returns `Ok` the frame is on the wire or queued behind a write in progress.
    pub(crate) fn send_text(&self, text: String) -> Result<(), WriteError> {
        self.send_message(Message::text(text))
    }

    /// Sends a websocket ping frame (Socket Mode's keepalive).
    pub(crate) fn send_ping(&self) -> Result<(), WriteError> {
        self.send_message(Message::Ping(Vec::new().into()))
    }

    /// Encodes one text frame into the outbound buffer without writing it: for the reader
    /// thread, which must never block on the socket (Socket Mode acks). Whoever writes next,
    /// or the pinger when kicked, sends it.
    pub(crate) fn queue_text(&self, text: String) -> Result<(), WriteError> {
        self.encode(Message::text(text))
    }

    fn send_message(&self, msg: Message) -> Result<(), WriteError> {
        self.encode(msg)?;
        self.flush_out(None)
    }

    fn encode(&self, msg: Message) -> Result<(), WriteError> {
        if self.dead.load(Ordering::Acquire) {
            return Err(WriteError::Gone);
        }
        {
            let mut ws = self.lock();
            if self.out.len() + msg.len() > OUTBOUND_LIMIT {
                return Err(WriteError::Full);
            }
            match ws.send(msg) {
                Ok(()) => {}
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed)
                | Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::SendAfterClosing,
                )) => return Err(WriteError::Gone),
                Err(e) => return Err(WriteError::Failed(ws_error(Phase::Write, e))),
            }
        }
        Ok(())
    }

    /// True when encoded bytes wait for the socket (control replies the decoder queued).
    pub(crate) fn has_pending_writes(&self) -> bool {
        !self.out.is_empty()
    }

    /// Writes what waits for the socket, each write bounded by the write timeout (or by
    /// `deadline`). Returns at once when another thread holds the writer: it drains the buffer
    /// before it lets go, and whoever appended after its last look sees the bytes and takes
    /// the writer in turn (the loop below).
    pub(crate) fn flush_out(&self, deadline: Option<Instant>) -> Result<(), WriteError> {
        loop {
            let mut w = match self.writer.try_lock() {
                Ok(w) => w,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(()),
            };
            loop {
                if self.dead.load(Ordering::Acquire) {
                    return Err(WriteError::Gone);
                }
                let Writer {
                    sock,
                    timeout,
                    sock_timeout,
                    chunk,
                } = &mut *w;
                self.out.peek(chunk, 64 << 10);
                if chunk.is_empty() {
                    break;
                }
                let until = deadline.unwrap_or_else(|| Instant::now() + *timeout);
                match write_all_until(sock, chunk, until, sock_timeout) {
                    Ok(()) => self.out.consume(chunk.len()),
                    Err((_, e)) => {
                        // Read before anything else can react to the socket going away.
                        let by_us = self.dead_by_us.load(Ordering::Acquire);
                        self.dead.store(true, Ordering::Release);
                        let _ = self.ctl.shutdown(Shutdown::Both);
                        // The peer went away (or we dropped it): the connection is lost,
                        // not failing. A timeout or another error is a write failure.
                        let lost = matches!(
                            e.kind(),
                            std::io::ErrorKind::BrokenPipe
                                | std::io::ErrorKind::ConnectionReset
                                | std::io::ErrorKind::ConnectionAborted
                                | std::io::ErrorKind::NotConnected
                                | std::io::ErrorKind::UnexpectedEof
                        );
                        if by_us || lost {
                            return Err(WriteError::Gone);
                        }
                        return Err(WriteError::Failed(Error::io(Phase::Write, e)));
                    }
                }
            }
            drop(w);
            if self.out.is_empty() {
                return Ok(());
            }
        }
    }

    /// Feeds bytes read from the socket and decodes every complete frame into `out`; `eof`
    /// marks the end of the socket's input. Called with no bytes right after the handshake,
    /// it decodes frames that arrived together with the handshake answer. `Err` means the
    /// connection is over. Never waits on the network: control replies (pong, close echo) are
    /// only queued; the caller has them written ([`Connection::has_pending_writes`]).
    pub(crate) fn decode(&self, bytes: &[u8], eof: bool, out: &mut Batch) -> Result<(), Ended> {
        let mut ws = self.lock();
        ws.get_mut().wire_mut().feed(bytes);
        if eof {
            ws.get_mut().wire_mut().feed_eof();
        }
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => out.push_text(t.as_str()),
                Ok(Message::Binary(b)) => out.push_binary(b.len()),
                Ok(Message::Ping(_)) | Ok(Message::Pong(_)) | Ok(Message::Frame(_)) => {}
                Ok(Message::Close(frame)) => {
                    // tungstenite queued the close reply.
                    let _ = ws.flush();
                    return Err(match frame {
                        Some(f) => Ended::Closed {
                            code: Some(u16::from(f.code)),
                            reason: if f.reason.is_empty() {
                                "closed by the server".into()
                            } else {
                                f.reason.to_string()
                            },
                        },
                        None => Ended::Closed {
                            code: None,
                            reason: "closed by the server".into(),
                        },
                    });
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // Pending control replies move to the outbound buffer.
                    return match ws.flush() {
                        Ok(()) => Ok(()),
                        Err(tungstenite::Error::Io(e))
                            if e.kind() == std::io::ErrorKind::WouldBlock =>
                        {
                            Ok(())
                        }
                        Err(tungstenite::Error::ConnectionClosed) => Err(Ended::closed()),
                        Err(e) => Err(Ended::Failed(ws_error(Phase::Write, e))),
                    };
                }
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => return Err(Ended::closed()),
                Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )) => {
                    return Err(Ended::Closed {
                        code: None,
                        reason: "the connection was closed without a close frame".into(),
                    })
                }
                Err(e) => return Err(Ended::Failed(ws_error(Phase::Read, e))),
            }
        }
    }

    /// Sends a close frame, giving it at most `bound` to reach the socket (behind whatever
    /// waits before it), then drops the connection: Slack often never answers a close.
    pub(crate) fn close_and_drop(&self, code: u16, reason: &str, bound: Duration) {
        let deadline = Instant::now() + bound;
        if !self.dead.load(Ordering::Acquire) {
            {
                let mut ws = self.lock();
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.to_string().into(),
                };
                if let Err(e) = ws.close(Some(frame)) {
                    log::debug!("queueing the close frame failed: {e}");
                }
                let _ = ws.flush();
            }
            // Another thread may hold the writer (blocked on a full socket): wait for it
            // within the bound, not beyond.
            while !self.out.is_empty() && Instant::now() < deadline {
                if self.flush_out(Some(deadline)).is_err() {
                    break;
                }
                if !self.out.is_empty() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        self.kill();
    }

    /// Ends the socket's read side so a blocked read returns at once; writes (the close frame)
    /// still work.
    pub(crate) fn wake_reader(&self) {
        let _ = self.ctl.shutdown(Shutdown::Read);
    }

    /// Drops the connection hard: no close handshake; the reader sees the end at once, a
    /// blocked write fails at once, and later sends fail with [`WriteError::Gone`].
    pub(crate) fn kill(&self) {
        self.dead_by_us.store(true, Ordering::Release);
        self.dead.store(true, Ordering::Release);
        let _ = self.ctl.shutdown(Shutdown::Both);
    }
}

impl Ended {
    fn closed() -> Ended {
        Ended::Closed {
            code: None,
            reason: "closed by the server".into(),
        }
    }
}

fn ws_error(phase: Phase, e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Io(e) => Error::io(phase, e),
        tungstenite::Error::Capacity(c) => Error::websocket(
            format!("message too large: {c}"),
            Some(Box::new(tungstenite::Error::Capacity(c))),
        ),
        other => Error::websocket(other.to_string(), Some(Box::new(other))),
    }
}

/// The largest socket read (a flood reads in chunks this large).
pub(crate) const READ_BUF_MAX: usize = 64 * 1024;

/// Reads what the socket has, up to `buf.len()`. `Ok(None)` is the read tick (nothing arrived).
pub(crate) fn read_socket(sock: &mut TcpStream, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    match sock.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(Error::io(Phase::Read, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_chosen_by_scheme_not_port() {
        let t = Target::parse("wss://example.com:80/ws").unwrap();
        assert!(t.tls);
        assert_eq!(t.port, 80);
        let t = Target::parse("ws://example.com:443/ws").unwrap();
        assert!(!t.tls);
        let t = Target::parse("wss://wss-primary.slack.com/websocket/abc").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("wss-primary.slack.com", 443));
        assert_eq!(t.authority(), "wss-primary.slack.com");
        let t = Target::parse("wss://u:p@[::1]:8443/ws").unwrap();
        assert_eq!(
            (t.host.as_str(), t.authority().as_str()),
            ("::1", "[::1]:8443")
        );
        assert!(Target::parse("http://example.com/").is_err());
    }
}
