//! The HTTP/1.1 message types the fake's server and its API share: a parsed request
//! [`Head`] and a JSON [`Response`].

use serde_json::Value;

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Request method, e.g. `"GET"`.
    pub method: String,
    /// Path without the query string, e.g. `"/api/rtm.connect"`.
    pub path: String,
    /// Raw query string (after `?`), possibly empty.
    pub query: String,
    /// Minor HTTP version: 0 or 1.
    pub minor: u8,
    /// Header fields in order, names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// Length of the head in bytes, including the blank line.
    pub len: usize,
}

impl Head {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether any `name` header lists `token` (comma-separated, any case).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    pub fn wants_close(&self) -> bool {
        if self.has_token("connection", "close") {
            true
        } else if self.minor == 0 {
            !self.has_token("connection", "keep-alive")
        } else {
            false
        }
    }

    pub fn is_websocket_upgrade(&self) -> bool {
        self.method == "GET"
            && self.has_token("upgrade", "websocket")
            && self.has_token("connection", "upgrade")
    }
}

/// An HTTP response with a JSON body.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    /// Extra header fields (besides content type, length and connection).
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The `Content-Type`.
    pub content_type: &'static str,
}

impl Response {
    /// A response with `value` as its body. Statuses outside 200..=599 become 500.
    pub fn json(status: u16, value: &Value) -> Response {
        Response {
            status: if (200..=599).contains(&status) {
                status
            } else {
                500
            },
            headers: Vec::new(),
            body: value.to_string(),
            content_type: "application/json; charset=utf-8",
        }
    }

    /// A plain text response (the upload host answers `OK - <length>`).
    pub fn text(status: u16, body: String) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
            content_type: "text/plain; charset=utf-8",
        }
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: String) -> Response {
        self.headers.push((name.to_owned(), value));
        self
    }
}

pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}
