//! One connection: read a request within its deadline, route it, call the handler, write the
//! answer the moment the handler returns; again while the connection is kept alive.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::parse::{self, Chunked, Framing, Head, Refusal, Route};
use super::Shared;
use crate::app::{AppRequest, AppResponse};

/// Between requests, or reading one: [`super::HttpRunning::stop`] may cut the connection.
pub(super) const READING: u8 = 0;
/// The handler runs or the answer is being written: a stop waits for it.
pub(super) const HANDLING: u8 = 1;

/// What the receiver keeps of a connection to stop it.
pub(super) struct ConnState {
    pub state: AtomicU8,
    /// A clone of the socket, to shut it down from the stopping thread.
    pub stream: TcpStream,
}

/// How a read ended short of what was wanted.
enum Short {
    /// The peer closed (or the receiver cut) the connection.
    Closed,
    /// The deadline passed.
    Timeout,
    /// Any other I/O error.
    Failed(io::Error),
}

/// The connection's socket and the bytes read but not yet used (a pipelined next request).
struct Conn<'a> {
    stream: &'a TcpStream,
    buf: Vec<u8>,
}

impl Conn<'_> {
    /// Reads more bytes into `buf`, waiting until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), Short> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Short::Timeout);
        }
        // A zero timeout means "none" to the socket: at least a millisecond.
        let _ = self
            .stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))));
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match (&mut &*self.stream).read(&mut chunk) {
                Ok(0) => return Err(Short::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Short::Timeout)
                }
                Err(e) => return Err(Short::Failed(e)),
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.stream;
        s.write_all(bytes)?;
        s.flush()
    }
}

/// What reading one request gave.
enum Read1 {
    /// A complete request.
    Request(Head, Vec<u8>),
    /// Refused: answer this and close.
    Refused(Refusal),
    /// Routed away before its body was read: answer this and close.
    Routed(AppResponse),
    /// The connection ended between requests (or unusably): close quietly.
    Gone,
}

/// Serves `stream` until it closes, errs, times out, or the receiver stops; then closes it (the
/// receiver's copy of the socket would keep it open otherwise).
pub(super) fn serve(stream: &TcpStream, state: &ConnState, shared: &Shared) {
    serve_requests(stream, state, shared);
    let _ = stream.shutdown(Shutdown::Both);
}

fn serve_requests(stream: &TcpStream, state: &ConnState, shared: &Shared) {
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    let _ = stream.set_write_timeout(Some(shared.settings.write_timeout));
    loop {
        state.state.store(READING, Ordering::SeqCst);
        if shared.stopping() {
            return;
        }
        let (head, body) = match read_request(&mut conn, shared) {
            Read1::Request(head, body) => (head, body),
            Read1::Refused(refusal) => {
                log::debug!("http: refused a request: {refusal:?}");
                let mut out = Vec::new();
                parse::write_response(&mut out, &parse::plain(refusal.status(), None), false);
                if conn.write(&out).is_ok() {
                    linger(stream);
                }
                return;
            }
            Read1::Routed(resp) => {
                let mut out = Vec::new();
                parse::write_response(&mut out, &resp, false);
                if conn.write(&out).is_ok() {
                    linger(stream);
                }
                return;
            }
            Read1::Gone => return,
        };
        state.state.store(HANDLING, Ordering::SeqCst);
        let keep_alive = head.keep_alive;
        let request = AppRequest {
            method: head.method,
            path: head.target,
            headers: head.headers,
            body,
        };
        let handler = &shared.handler;
        let resp = match catch_unwind(AssertUnwindSafe(|| handler(request))) {
            Ok(resp) => resp,
            Err(_) => {
                log::error!("http: the request handler panicked; answering 500");
                AppResponse::status(500)
            }
        };
        let keep_alive = keep_alive && !shared.stopping();
        let mut out = Vec::with_capacity(resp.body.len() + 128);
        parse::write_response(&mut out, &resp, keep_alive);
        if let Err(e) = conn.write(&out) {
            log::debug!("http: could not write the response: {e}");
            return;
        }
        if !keep_alive {
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// Closes after an answer that left the request's body unread: shuts down the sending side,
/// then reads and drops what the client still sends for a moment (at most 1 s and 4 MiB), so the
/// unread bytes do not turn the close into a reset that could destroy the answer in flight.
fn linger(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let until = Instant::now() + Duration::from_secs(1);
    let mut chunk = [0u8; 16 * 1024];
    let mut total = 0usize;
    while total < 4 * 1024 * 1024 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match (&mut &*stream).read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

/// Reads one request: the head within `request_timeout` of its first byte (the wait for that
/// first byte is the keep-alive timeout), routed before the body is read, then the body.
fn read_request(conn: &mut Conn<'_>, shared: &Shared) -> Read1 {
    let settings = &shared.settings;
    // The wait for a new request.
    if conn.buf.is_empty() {
        match conn.fill(Instant::now() + settings.keep_alive_timeout) {
            Ok(()) => {}
            Err(Short::Closed) | Err(Short::Timeout) => return Read1::Gone,
            Err(Short::Failed(e)) => {
                log::debug!("http: read failed: {e}");
                return Read1::Gone;
            }
        }
    }
    let deadline = Instant::now() + settings.request_timeout;
    let mut scanned = 0;
    let end = loop {
        if let Some(end) = parse::head_end(&conn.buf, scanned) {
            break end;
        }
        if conn.buf.len() > settings.max_header_bytes {
            return Read1::Refused(Refusal::HeadTooLarge);
        }
        scanned = conn.buf.len();
        match conn.fill(deadline) {
            Ok(()) => {}
            Err(Short::Timeout) => return Read1::Refused(Refusal::Timeout),
            Err(Short::Closed) => return Read1::Gone,
            Err(Short::Failed(e)) => {
                log::debug!("http: read failed: {e}");
                return Read1::Gone;
            }
        }
    };
    if end > settings.max_header_bytes {
        return Read1::Refused(Refusal::HeadTooLarge);
    }
    let head = match parse::parse_head(&conn.buf[..end], settings.max_body_bytes) {
        Ok(head) => head,
        Err(refusal) => return Read1::Refused(refusal),
    };
    let path = head.target.split('?').next().unwrap_or_default();
    match parse::route(
        &head.method,
        path,
        &settings.post_paths,
        &settings.get_paths,
    ) {
        Route::Handler => {}
        Route::NotFound => return Read1::Routed(parse::plain(404, None)),
        Route::MethodNotAllowed(allow) => return Read1::Routed(parse::plain(405, Some(allow))),
    }
    conn.buf.drain(..end);
    if head.expect_continue && head.framing != Framing::Empty && conn.buf.is_empty() {
        if let Err(e) = conn.write(b"HTTP/1.1 100 Continue\r\n\r\n") {
            log::debug!("http: could not write 100 Continue: {e}");
            return Read1::Gone;
        }
    }
    let body = match head.framing {
        Framing::Empty => Vec::new(),
        Framing::Length(n) => {
            while conn.buf.len() < n {
                match conn.fill(deadline) {
                    Ok(()) => {}
                    Err(Short::Timeout) => return Read1::Refused(Refusal::Timeout),
                    Err(_) => return Read1::Gone,
                }
            }
            let rest = conn.buf.split_off(n);
            std::mem::replace(&mut conn.buf, rest)
        }
        Framing::Chunked => {
            let mut decoder = Chunked::default();
            loop {
                match decoder.feed(&conn.buf, settings.max_body_bytes) {
                    Ok(Some(used)) => {
                        conn.buf.drain(..used);
                        break std::mem::take(&mut decoder.body);
                    }
                    Ok(None) => {}
                    Err(refusal) => return Read1::Refused(refusal),
                }
                match conn.fill(deadline) {
                    Ok(()) => {}
                    Err(Short::Timeout) => return Read1::Refused(Refusal::Timeout),
                    Err(_) => return Read1::Gone,
                }
            }
        }
    };
    Read1::Request(head, body)
}
