//! [`AppRequest`] and [`AppResponse`]: what every receiver (Socket Mode, HTTP, RTM, tests) hands
//! the App's one dispatch core, and what it gets back. HTTP-shaped, with no transport in them.

/// A request for the App, shaped as Slack's HTTP request: method, path, headers and the raw body
/// (never re-encoded: the signature is computed over these exact bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppRequest {
    /// `POST` for everything Slack sends; `GET` for the OAuth pages.
    pub method: String,
    /// The path with its query string, as received (`/slack/events`, `/slack/oauth_redirect?code=…`).
    pub path: String,
    /// The headers, in order; names compare case-insensitively ([`AppRequest::header`]).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl AppRequest {
    /// A `POST` to `path` with the given headers and body.
    pub fn post(
        path: &str,
        headers: Vec<(String, String)>,
        body: impl Into<Vec<u8>>,
    ) -> AppRequest {
        AppRequest {
            method: "POST".to_owned(),
            path: path.to_owned(),
            headers,
            body: body.into(),
        }
    }

    /// A `GET` of `path` (with its query string) and the given headers.
    pub fn get(path: &str, headers: Vec<(String, String)>) -> AppRequest {
        AppRequest {
            method: "GET".to_owned(),
            path: path.to_owned(),
            headers,
            body: Vec::new(),
        }
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The query string after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }
}

/// The App's answer: a status, headers and a body. Over HTTP it is the response; over Socket
/// Mode a 200 becomes the ack (a non-empty body its payload) and anything else sends no ack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppResponse {
    /// The HTTP status (200 for an ack).
    pub status: u16,
    /// Extra headers (`Content-Type` is set from [`AppResponse::json`] and friends).
    pub headers: Vec<(String, String)>,
    /// The body; empty for a bare ack.
    pub body: Vec<u8>,
}

impl AppResponse {
    /// A response with this status and no body.
    pub fn status(status: u16) -> AppResponse {
        AppResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A bare ack: 200 with an empty body.
    pub fn ok() -> AppResponse {
        AppResponse::status(200)
    }

    /// 200 with a JSON body.
    pub fn json(value: &serde_json::Value) -> AppResponse {
        AppResponse::with_body(200, "application/json", value.to_string())
    }

    /// A response with a status, a content type and a body.
    pub fn with_body(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> AppResponse {
        AppResponse {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
