//! The receiver's I/O-free rules: a request head parsed with `httparse` and checked (framing,
//! keep-alive, `Expect`), a resumable chunked-body decoder, routing, and the response bytes.

use crate::app::AppResponse;

/// The most header fields a request may carry (more answers 431).
pub(super) const MAX_HEADERS: usize = 64;

/// How a request's body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (a request without `Content-Length` or `Transfer-Encoding`, other than POST).
    Empty,
    /// `Content-Length: n`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed, checked request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub method: String,
    /// The origin-form target: path and query (`/slack/events?x=1`).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

/// Why a request is refused before the handler sees it; each maps to a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// 400: not HTTP/1.x, or framing that cannot be trusted.
    Bad(&'static str),
    /// 408: the request did not arrive within the request deadline.
    Timeout,
    /// 411: a POST without `Content-Length` or chunked encoding.
    LengthRequired,
    /// 413: the body is over the limit.
    TooLarge,
    /// 431: the head is over the limit, or has too many fields.
    HeadTooLarge,
    /// 501: a transfer coding other than `chunked`.
    NotImplemented,
    /// 505: HTTP/2 or later sent in the clear.
    Version,
}

impl Refusal {
    /// The status this refusal answers.
    pub(super) fn status(self) -> u16 {
        match self {
            Refusal::Bad(_) => 400,
            Refusal::Timeout => 408,
            Refusal::LengthRequired => 411,
            Refusal::TooLarge => 413,
            Refusal::HeadTooLarge => 431,
            Refusal::NotImplemented => 501,
            Refusal::Version => 505,
        }
    }
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// To the handler.
    Handler,
    /// 404: no path of this receiver.
    NotFound,
    /// 405 with this `Allow` value.
    MethodNotAllowed(&'static str),
}

/// Routes `method` on `path` (without its query): POST on `post_paths`, GET on `get_paths`.
pub(super) fn route(
    method: &str,
    path: &str,
    post_paths: &[String],
    get_paths: &[String],
) -> Route {
    let post = post_paths.iter().any(|p| p == path);
    let get = get_paths.iter().any(|p| p == path);
    match (post, get) {
        (false, false) => Route::NotFound,
        (true, _) if method == "POST" => Route::Handler,
        (_, true) if method == "GET" => Route::Handler,
        (true, true) => Route::MethodNotAllowed("GET, POST"),
        (true, false) => Route::MethodNotAllowed("POST"),
        (false, true) => Route::MethodNotAllowed("GET"),
    }
}

/// Finds the end of the head (the index just past `\r\n\r\n`) in `buf`, looking from `from`
/// (so a head that arrives a byte at a time is scanned once, not once per byte).
pub(super) fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    buf.get(start..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| start + i + 4)
}

/// Parses and checks the complete head `buf` (ending with the blank line). `max_body` is the body
/// limit: a `Content-Length` over it is refused here, before any of the body is read.
pub(super) fn parse_head(buf: &[u8], max_body: usize) -> Result<Head, Refusal> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Refusal::Bad("incomplete head")),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::HeadTooLarge),
        Err(httparse::Error::Version) => return Err(version_refusal(buf)),
        Err(_) => return Err(Refusal::Bad("malformed head")),
    }
    let method = req.method.unwrap_or_default().to_owned();
    let raw_target = req.path.unwrap_or_default();
    let minor = req.version.unwrap_or(1);
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| Refusal::Bad("non-UTF-8 header"))?;
        headers.push((h.name.to_owned(), value.trim().to_owned()));
    }
    let target = origin_form(raw_target).ok_or(Refusal::Bad("request target"))?;

    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut expect_continue = false;
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Refusal::Bad("Content-Length"));
            }
            // Too many digits for usize is over any limit.
            let n = value.parse::<usize>().unwrap_or(usize::MAX);
            if length.is_some_and(|l| l != n) {
                return Err(Refusal::Bad("conflicting Content-Length"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") || chunked {
                return Err(Refusal::NotImplemented);
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                connection_close |= token.eq_ignore_ascii_case("close");
                connection_keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            if !value.eq_ignore_ascii_case("100-continue") {
                return Err(Refusal::Bad("Expect"));
            }
            expect_continue = true;
        }
    }
    let framing = match (length, chunked) {
        // Both: the classic request-smuggling shape. Refused rather than guessed.
        (Some(_), true) => return Err(Refusal::Bad("Content-Length with Transfer-Encoding")),
        (Some(n), false) if n > max_body => return Err(Refusal::TooLarge),
        (Some(0), false) => Framing::Empty,
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) if method == "POST" => return Err(Refusal::LengthRequired),
        (None, false) => Framing::Empty,
    };
    let keep_alive = if minor == 0 {
        connection_keep_alive && !connection_close
    } else {
        !connection_close
    };
    Ok(Head {
        method,
        target,
        headers,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// 505 for `HTTP/2` and later, 400 for anything else that is not `HTTP/1.x`.
fn version_refusal(buf: &[u8]) -> Refusal {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let newer = [&b" HTTP/2"[..], b" HTTP/3"]
        .iter()
        .any(|v| line.windows(v.len()).any(|w| w == *v));
    if newer {
        Refusal::Version
    } else {
        Refusal::Bad("not HTTP/1.x")
    }
}

/// The origin form (`/path?query`) of a request target; an absolute form
/// (`http://host/path`, as some proxies send) loses its scheme and authority.
fn origin_form(target: &str) -> Option<String> {
    if target.starts_with('/') {
        return Some(target.to_owned());
    }
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))?;
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => Some(rest[i..].to_owned()),
        Some(i) => Some(format!("/{}", &rest[i..])),
        None => Some("/".to_owned()),
    }
}

/// A chunked body decoded as it arrives: [`Chunked::feed`] takes the bytes received so far
/// (after the head) and resumes where it stopped.
#[derive(Debug, Default)]
pub(super) struct Chunked {
    /// How many bytes of the input are consumed.
    consumed: usize,
    /// Bytes of the current chunk still to copy; `None` while a size line is expected.
    remaining: Option<usize>,
    /// Past the last chunk: reading trailer lines.
    trailers: bool,
    /// The body so far.
    pub body: Vec<u8>,
}

impl Chunked {
    /// Decodes what `input` (every byte after the head, not only the new ones) adds. Returns
    /// `Ok(Some(n))` when the body is complete, `n` being the bytes of `input` it used;
    /// `Ok(None)` when more is needed.
    pub(super) fn feed(&mut self, input: &[u8], max_body: usize) -> Result<Option<usize>, Refusal> {
        loop {
            let rest = input.get(self.consumed..).unwrap_or_default();
            if self.trailers {
                // Trailer fields are read past and dropped; an empty line ends the message.
                let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                self.consumed += eol + 2;
                if eol == 0 {
                    return Ok(Some(self.consumed));
                }
                continue;
            }
            match self.remaining {
                None => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.consumed += used;
                        let size = usize::try_from(size).map_err(|_| Refusal::TooLarge)?;
                        if size == 0 {
                            self.trailers = true;
                        } else if self.body.len().saturating_add(size) > max_body {
                            return Err(Refusal::TooLarge);
                        } else {
                            self.remaining = Some(size);
                        }
                    }
                    Ok(httparse::Status::Partial) => {
                        // A size line is short; one that never ends is malformed.
                        if rest.len() > 1024 {
                            return Err(Refusal::Bad("chunk size line"));
                        }
                        return Ok(None);
                    }
                    Err(_) => return Err(Refusal::Bad("chunk size")),
                },
                Some(0) => {
                    if rest.len() < 2 {
                        return Ok(None);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(Refusal::Bad("chunk end"));
                    }
                    self.consumed += 2;
                    self.remaining = None;
                }
                Some(n) => {
                    if rest.is_empty() {
                        return Ok(None);
                    }
                    let take = n.min(rest.len());
                    self.body.extend_from_slice(&rest[..take]);
                    self.consumed += take;
                    self.remaining = Some(n - take);
                }
            }
        }
    }
}

/// The reason phrase of the statuses this crate answers (others get an empty one, which
/// HTTP/1.1 allows).
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Headers the receiver writes itself; a response's own copies are dropped.
fn framing_header(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Appends the bytes of `resp` to `out`: status line, the response's headers (framing headers
/// and any name or value that could split the head are dropped), `Content-Length`,
/// `Connection: close` unless `keep_alive`, and the body. A status outside 200..=599 becomes 500.
pub(super) fn write_response(out: &mut Vec<u8>, resp: &AppResponse, keep_alive: bool) {
    let status = if (200..=599).contains(&resp.status) {
        resp.status
    } else {
        log::error!(
            "http: the handler answered status {}; sending 500",
            resp.status
        );
        500
    };
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason(status)).as_bytes());
    for (name, value) in &resp.headers {
        let splits = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n');
        let bad_name = name.is_empty() || name.bytes().any(|b| b <= b' ' || b == b':' || b >= 0x7f);
        if bad_name || splits(value) || framing_header(name) {
            if !framing_header(name) {
                log::warn!("http: dropped a response header that could split the head: {name:?}");
            }
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body: &[u8] = if status == 204 || status == 304 {
        &[]
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n", resp.body.len()).as_bytes());
        &resp.body
    };
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// The response for a refusal or a routing answer: the status, a short text body and, for
/// 405, `Allow`.
pub(super) fn plain(status: u16, allow: Option<&str>) -> AppResponse {
    let mut resp = AppResponse::with_body(status, "text/plain; charset=utf-8", reason(status));
    if let Some(allow) = allow {
        resp.headers.push(("Allow".to_owned(), allow.to_owned()));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1024;

    fn head(text: &str) -> Result<Head, Refusal> {
        parse_head(text.as_bytes(), MAX)
    }

    #[test]
    fn a_slack_post() {
        let h = head(
            "POST /slack/events?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n\
             X-Slack-Signature:  v0=ab \r\nContent-Length: 12\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.method, "POST");
        assert_eq!(h.target, "/slack/events?x=1");
        assert_eq!(h.framing, Framing::Length(12));
        assert!(h.keep_alive);
        assert!(!h.expect_continue);
        // Values are trimmed; names keep their case and order.
        assert_eq!(h.headers[2], ("X-Slack-Signature".into(), "v0=ab".into()));
    }

    #[test]
    fn framing_rules() {
        let post = |extra: &str| head(&format!("POST / HTTP/1.1\r\n{extra}\r\n"));
        assert_eq!(post("").unwrap_err(), Refusal::LengthRequired);
        assert_eq!(
            post("Content-Length: 0\r\n").unwrap().framing,
            Framing::Empty
        );
        assert_eq!(
            post("Transfer-Encoding: chunked\r\n").unwrap().framing,
            Framing::Chunked
        );
        assert_eq!(
            post("Transfer-Encoding: gzip, chunked\r\n").unwrap_err(),
            Refusal::NotImplemented
        );
        assert!(matches!(
            post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n").unwrap_err(),
            Refusal::Bad(_)
        ));
        assert!(matches!(
            post("Content-Length: 3\r\nContent-Length: 4\r\n").unwrap_err(),
            Refusal::Bad(_)
        ));
        assert_eq!(
            post("Content-Length: 3\r\nContent-Length: 3\r\n")
                .unwrap()
                .framing,
            Framing::Length(3)
        );
        assert!(matches!(
            post("Content-Length: -1\r\n").unwrap_err(),
            Refusal::Bad(_)
        ));
        assert!(matches!(
            post("Content-Length: +1\r\n").unwrap_err(),
            Refusal::Bad(_)
        ));
        assert_eq!(
            post(&format!("Content-Length: {}\r\n", MAX + 1)).unwrap_err(),
            Refusal::TooLarge
        );
        assert_eq!(
            post("Content-Length: 99999999999999999999999\r\n").unwrap_err(),
            Refusal::TooLarge
        );
        assert_eq!(
            head("GET / HTTP/1.1\r\n\r\n").unwrap().framing,
            Framing::Empty
        );
        assert!(
            post("Content-Length: 1\r\nExpect: 100-continue\r\n")
                .unwrap()
                .expect_continue
        );
        assert!(matches!(
            post("Content-Length: 1\r\nExpect: something\r\n").unwrap_err(),
            Refusal::Bad(_)
        ));
    }

    #[test]
    fn keep_alive_rules() {
        assert!(
            !head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            !head("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(!head("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn bad_heads() {
        assert_eq!(
            head("GET / HTTP/2.0\r\n\r\n").unwrap_err(),
            Refusal::Version
        );
        assert!(matches!(
            head("GET / FTP/1.1\r\n\r\n"),
            Err(Refusal::Bad(_))
        ));
        assert!(matches!(
            head("GET / HTTP/1.1\r\nNo colon\r\n\r\n"),
            Err(Refusal::Bad(_))
        ));
        assert!(matches!(
            head("GET * HTTP/1.1\r\n\r\n"),
            Err(Refusal::Bad(_))
        ));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(
            head(&format!("GET / HTTP/1.1\r\n{many}\r\n")).unwrap_err(),
            Refusal::HeadTooLarge
        );
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n", MAX),
            Err(Refusal::Bad(_))
        ));
    }

    #[test]
    fn absolute_targets() {
        assert_eq!(
            origin_form("http://h:3/slack/events?a").as_deref(),
            Some("/slack/events?a")
        );
        assert_eq!(origin_form("https://h?a").as_deref(), Some("/?a"));
        assert_eq!(origin_form("http://h").as_deref(), Some("/"));
        assert_eq!(origin_form("ftp://h/x"), None);
    }

    #[test]
    fn head_end_scans_once() {
        let buf = b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        assert_eq!(head_end(buf, 0), Some(24));
        // Resuming at any offset past the head's start finds the same end.
        for from in 0..24 {
            assert_eq!(head_end(buf, from), Some(24), "from {from}");
        }
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r", 0), None);
    }

    #[test]
    fn routes() {
        let post = vec!["/slack/events".to_owned()];
        let get = vec!["/slack/install".to_owned(), "/slack/events".to_owned()];
        assert_eq!(route("POST", "/slack/events", &post, &[]), Route::Handler);
        assert_eq!(
            route("GET", "/slack/events", &post, &[]),
            Route::MethodNotAllowed("POST")
        );
        assert_eq!(route("POST", "/other", &post, &[]), Route::NotFound);
        assert_eq!(route("GET", "/slack/install", &post, &get), Route::Handler);
        assert_eq!(
            route("POST", "/slack/install", &post, &get),
            Route::MethodNotAllowed("GET")
        );
        assert_eq!(
            route("PUT", "/slack/events", &post, &get),
            Route::MethodNotAllowed("GET, POST")
        );
    }

    #[test]
    fn chunked_in_pieces() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        // Fed one more byte at a time, it completes exactly once, at the end of the message.
        let mut dec = Chunked::default();
        let mut done = None;
        for n in 1..=wire.len() {
            if let Some(used) = dec.feed(&wire[..n], MAX).unwrap() {
                done = Some((n, used));
                break;
            }
        }
        assert_eq!(dec.body, b"Wikipedia");
        assert_eq!(done, Some((wire.len() - 4, wire.len() - 4)));
    }

    #[test]
    fn chunked_refusals() {
        let feed = |wire: &[u8], max| Chunked::default().feed(wire, max);
        assert_eq!(feed(b"5\r\nhello\r\n0\r\n\r\n", 4), Err(Refusal::TooLarge));
        assert_eq!(
            feed(b"ffffffffffffffffff\r\n", MAX),
            Err(Refusal::Bad("chunk size"))
        );
        assert_eq!(feed(b"zz\r\n", MAX), Err(Refusal::Bad("chunk size")));
        assert_eq!(feed(b"3\r\nabcX\r\n", MAX), Err(Refusal::Bad("chunk end")));
        assert!(matches!(feed(&[b'1'; 2000], MAX), Err(Refusal::Bad(_))));
        let mut long_ext = b"1;".to_vec();
        long_ext.extend_from_slice(&[b'a'; 2000]);
        assert!(matches!(feed(&long_ext, MAX), Err(Refusal::Bad(_))));
    }

    #[test]
    fn responses() {
        let mut out = Vec::new();
        let mut resp = AppResponse::json(&serde_json::json!({"ok": true}));
        resp.headers
            .push(("X-Evil".into(), "a\r\nSet-Cookie: x".into()));
        resp.headers.push(("Content-Length".into(), "999".into()));
        resp.headers.push(("Bad Name".into(), "x".into()));
        write_response(&mut out, &resp, true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
        );
        let mut out = Vec::new();
        write_response(&mut out, &AppResponse::status(99), false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let mut out = Vec::new();
        write_response(
            &mut out,
            &AppResponse::with_body(204, "text/plain", "x"),
            true,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n"
        );
    }
}
