//! The blocking HTTP/1.1 side of the fake server: the accept loop, one thread
//! per client connection, request parsing with size limits, keep-alive, and
//! the hand-off of websocket upgrades to [`rtm::ws`](super::rtm::ws).

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use log::{debug, warn};
use native_tls::TlsAcceptor;
use serde_json::json;

use super::net::Conn;
use super::rtm::ws;
use super::socket_mode::ws as sm_ws;
use super::state::{Shared, SocketGuard, TICKET_TTL};
use super::web::api::{self, Reply};
use super::wire::{reason_phrase, Head, Response};

/// Largest accepted request head (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 128;
/// Largest accepted request body.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Longest accepted line inside a chunked body (chunk sizes and trailers).
const MAX_CHUNK_LINE: usize = 4096;
/// How long a connection may stay silent (idle keep-alive or mid-request).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a rejected request may keep sending before the socket is closed.
const LINGER_TIMEOUT: Duration = Duration::from_millis(500);

/// Accepts connections until the server stops, one thread per connection.
pub(crate) fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<Arc<TlsAcceptor>>,
) {
    for stream in listener.incoming() {
        if shared.is_stopping() {
            return;
        }
        let tcp = match stream {
            Ok(tcp) => tcp,
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                debug!("fake slack: accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Some(guard) = shared.register_socket(&tcp) else {
            return;
        };
        let tls = tls.clone();
        if let Err(e) = shared.spawn("fake-slack-http", move || serve(guard, tcp, tls)) {
            warn!("fake slack: cannot spawn a connection thread: {e}");
        }
    }
}

/// Serves one client connection: HTTP requests until the client closes, or
/// a websocket after an upgrade request.
fn serve(guard: SocketGuard, tcp: TcpStream, tls: Option<Arc<TlsAcceptor>>) {
    let shared = Arc::clone(guard.shared());
    let _ = tcp.set_nodelay(true);
    if tcp.set_read_timeout(Some(IDLE_TIMEOUT)).is_err() {
        return;
    }
    let conn = match tls {
        None => Conn::Plain(tcp),
        Some(acceptor) => match acceptor.accept(tcp) {
            Ok(stream) => Conn::Tls(Box::new(stream)),
            Err(e) => {
                debug!("fake slack: TLS handshake failed: {e}");
                return;
            }
        },
    };
    let mut client = Client {
        conn,
        buf: Vec::new(),
    };
    loop {
        let head = match client.read_head() {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                client.fail(e);
                return;
            }
        };
        if head.path == "/link/" || head.path == "/link" {
            if !head.is_websocket_upgrade() {
                client.fail(HttpError::Bad("expected a websocket upgrade"));
                return;
            }
            // Socket Mode: the ticket is in the query string.
            sm_ws::start(guard, client.conn, client.buf, &head.query);
            return;
        }
        if let Some(ticket) = head.path.strip_prefix("/websocket/") {
            if !head.is_websocket_upgrade() {
                client.fail(HttpError::Bad("expected a websocket upgrade"));
                return;
            }
            let valid = take_ticket(&shared, ticket);
            // The handshake re-reads the head: hand over everything buffered.
            ws::start(guard, client.conn, client.buf, valid);
            return;
        }
        let body = match client.read_body(&head) {
            Ok(body) => body,
            Err(e) => {
                client.fail(e);
                return;
            }
        };
        let close = head.wants_close();
        let reply = if let Some(method) = head.path.strip_prefix("/api/") {
            api::handle(&shared, &head, method, &body)
        } else if let Some(file_id) = head.path.strip_prefix("/upload/") {
            api::upload(&shared, &head, file_id, &body)
        } else if head.path.starts_with("/oauth/") {
            Reply::Respond(crate::testing::oauth::page(&shared, &head))
        } else if head.path.starts_with("/commands/") || head.path.starts_with("/actions/") {
            api::response_url(&shared, &head, &body)
        } else {
            Reply::Respond(Response::json(
                404,
                &json!({ "ok": false, "error": "not_found" }),
            ))
        };
        match reply {
            Reply::Hang => {
                shared.wait_for_stop();
                return;
            }
            // The socket guard shuts the connection down.
            Reply::Drop => return,
            Reply::Respond(response) => {
                if let Err(e) = client.respond(&response, close) {
                    debug!("fake slack: writing a response failed: {e}");
                    return;
                }
                if close {
                    return;
                }
            }
        }
    }
}

/// Consumes a websocket ticket; true if it existed and has not expired.
fn take_ticket(shared: &Shared, ticket: &str) -> bool {
    let mut state = shared.lock();
    state
        .tickets
        .remove(ticket)
        .is_some_and(|issued| issued.elapsed() <= TICKET_TTL)
}

/// Why a request could not be read.
#[derive(Debug)]
enum HttpError {
    /// The connection failed or timed out: close it without an answer.
    Io(io::Error),
    /// Malformed request: answer 400 and close.
    Bad(&'static str),
    /// Something exceeded a limit: answer with this status and close.
    TooLarge(u16),
}

/// Parses a request head ending with an empty line.
fn parse_head(bytes: &[u8]) -> Result<Head, HttpError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HttpError::Bad("head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(HttpError::Bad("malformed request line")),
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpError::Bad("malformed method"));
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        _ => return Err(HttpError::Bad("unsupported HTTP version")),
    };
    // Absolute form ("http://host/path") as sent to proxies.
    let target = match target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    if !target.starts_with('/') {
        return Err(HttpError::Bad("malformed request target"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));

    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) || line.contains(['\r', '\n']) {
            return Err(HttpError::Bad("malformed header line"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Bad("header line without a colon"))?;
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(HttpError::Bad("malformed header name"));
        }
        if headers.len() == MAX_HEADERS {
            return Err(HttpError::TooLarge(431));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(Head {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        minor,
        headers,
        len: bytes.len(),
    })
}

/// One client connection and the bytes read from it but not yet consumed.
struct Client {
    conn: Conn,
    buf: Vec<u8>,
}

impl Client {
    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        loop {
            match self.conn.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Like [`Client::fill`], but the end of stream is an error.
    fn fill_more(&mut self) -> Result<(), HttpError> {
        match self.fill() {
            Ok(0) => Err(HttpError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => Ok(()),
            Err(e) => Err(HttpError::Io(e)),
        }
    }

    /// Reads the next request head; `Ok(None)` if the client closed the
    /// connection cleanly between requests. The head stays in the buffer.
    fn read_head(&mut self) -> Result<Option<Head>, HttpError> {
        loop {
            // Tolerate empty lines before a request line (RFC 9112 §2.2).
            let blank = self
                .buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.buf.drain(..blank);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                if end + 4 > MAX_HEAD {
                    return Err(HttpError::TooLarge(431));
                }
                return parse_head(&self.buf[..end + 4]).map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(HttpError::TooLarge(431));
            }
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Ok(None),
                Ok(0) => return Err(HttpError::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(_) => {}
                Err(e) => return Err(HttpError::Io(e)),
            }
        }
    }

    /// Consumes `head` from the buffer and reads the request body after it.
    fn read_body(&mut self, head: &Head) -> Result<Vec<u8>, HttpError> {
        self.buf.drain(..head.len.min(self.buf.len()));
        if let Some(te) = head.header("transfer-encoding") {
            let last = te.rsplit(',').next().unwrap_or_default().trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(HttpError::Bad("unsupported transfer-encoding"));
            }
            self.continue_if_expected(head)?;
            return self.read_chunked();
        }
        let mut lengths = head
            .headers
            .iter()
            .filter(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse::<usize>());
        let len = match lengths.next() {
            None => return Ok(Vec::new()),
            Some(Ok(len)) => len,
            Some(Err(_)) => return Err(HttpError::Bad("malformed content-length")),
        };
        if lengths.any(|other| other.ok() != Some(len)) {
            return Err(HttpError::Bad("conflicting content-length headers"));
        }
        if len > MAX_BODY {
            return Err(HttpError::TooLarge(413));
        }
        if self.buf.len() < len {
            self.continue_if_expected(head)?;
        }
        while self.buf.len() < len {
            self.fill_more()?;
        }
        Ok(self.buf.drain(..len).collect())
    }

    /// Answers `Expect: 100-continue` before waiting for a body.
    fn continue_if_expected(&mut self, head: &Head) -> Result<(), HttpError> {
        if head.minor == 1 && head.has_token("expect", "100-continue") {
            self.conn
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .and_then(|()| self.conn.flush())
                .map_err(HttpError::Io)?;
        }
        Ok(())
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| HttpError::Bad("malformed chunk size"))?;
            if size == 0 {
                // Trailer fields, up to the final empty line.
                for _ in 0..MAX_HEADERS {
                    if self.read_line()?.is_empty() {
                        return Ok(body);
                    }
                }
                return Err(HttpError::TooLarge(431));
            }
            if size > MAX_BODY - body.len() {
                return Err(HttpError::TooLarge(413));
            }
            while self.buf.len() < size + 2 {
                self.fill_more()?;
            }
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(HttpError::Bad("chunk not followed by CRLF"));
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }

    /// Reads one CRLF-terminated line of a chunked body.
    fn read_line(&mut self) -> Result<String, HttpError> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_CHUNK_LINE {
                return Err(HttpError::Bad("chunk line too long"));
            }
            self.fill_more()?;
        }
    }

    fn respond(&mut self, response: &Response, close: bool) -> io::Result<()> {
        let status = response.status;
        let body = if matches!(status, 204 | 304) {
            ""
        } else {
            response.body.as_str()
        };
        let mut out = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        let _ = write!(
            out,
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            response.content_type,
            body.len()
        );
        for (name, value) in &response.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.push_str(if close {
            "Connection: close\r\n\r\n"
        } else {
            "Connection: keep-alive\r\n\r\n"
        });
        out.push_str(body);
        self.conn.write_all(out.as_bytes())?;
        self.conn.flush()
    }

    /// Answers a request that could not be read (if an answer makes sense).
    fn fail(&mut self, error: HttpError) {
        let status = match error {
            HttpError::Io(e) => {
                debug!("fake slack: connection ended: {e}");
                return;
            }
            HttpError::Bad(why) => {
                debug!("fake slack: bad request: {why}");
                400
            }
            HttpError::TooLarge(status) => status,
        };
        let error = if status == 400 {
            "invalid_request"
        } else {
            "request_too_large"
        };
        let response = Response::json(status, &json!({ "ok": false, "error": error }));
        if self.respond(&response, true).is_ok() {
            self.linger();
        }
    }

    /// Closes gracefully after an error answer: the client may still be
    /// sending the request, and closing with unread data would reset the
    /// connection, possibly before the client reads the answer.
    fn linger(&mut self) {
        let tcp = self.conn.tcp();
        if tcp.shutdown(Shutdown::Write).is_err()
            || tcp.set_read_timeout(Some(LINGER_TIMEOUT)).is_err()
        {
            return;
        }
        let mut discarded = 0;
        let mut chunk = [0u8; 8192];
        while discarded < MAX_BODY {
            match self.conn.tcp().read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    }
}

/// Position of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
