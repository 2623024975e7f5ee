//! The crate's one error type, [`Error`], and the send error, [`SendError`].

use std::fmt;
use std::time::Duration;

/// The underlying error of a TLS, websocket or HTTP failure, kept for
/// [`std::error::Error::source`].
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A bounded phase of connecting or talking to Slack; timeouts and I/O errors name the phase
/// they happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Resolving the host name and opening the TCP connection.
    Connect,
    /// The HTTP `CONNECT` exchange with a proxy.
    Proxy,
    /// The TLS handshake.
    Tls,
    /// The websocket (HTTP upgrade) handshake.
    Handshake,
    /// A Web API request (`rtm.connect`, `chat.postMessage`, ...).
    Http,
    /// Writing a frame to the websocket.
    Write,
    /// Reading from the websocket.
    Read,
    /// Binding or accepting on the HTTP receiver's address (`app.http(addr)`).
    Listen,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "tcp connect",
            Phase::Proxy => "proxy connect",
            Phase::Tls => "tls handshake",
            Phase::Handshake => "websocket handshake",
            Phase::Http => "http request",
            Phase::Write => "websocket write",
            Phase::Read => "websocket read",
            Phase::Listen => "listen",
        })
    }
}

/// Everything that can go wrong in this crate.
///
/// [`Error::is_fatal`] tells the answers that no retry can fix (a revoked token, say);
/// [`Error::is_retryable`] the ones a reconnect loop should try again.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration given to a builder was invalid; the message says which option.
    Config(String),
    /// Slack answered a Web API call with `ok: false` or an HTTP error status.
    Api {
        /// The Web API method, e.g. `rtm.connect`.
        method: String,
        /// The HTTP status of the answer.
        status: u16,
        /// Slack's error code (`invalid_auth`, `ratelimited`, ...), or `http_<status>` when the
        /// body carried none.
        code: String,
        /// The whole response body (JSON when Slack sent JSON, else a string value).
        body: serde_json::Value,
        /// The `Retry-After` header of a 429 answer.
        retry_after: Option<Duration>,
    },
    /// `rtm.connect`/`rtm.start` answered `ok: true` without a websocket `url`.
    NoUrl {
        /// The Web API method.
        method: String,
    },
    /// A bounded phase took longer than its timeout.
    Timeout {
        /// The phase that expired.
        phase: Phase,
    },
    /// An I/O error in a phase.
    Io {
        /// The phase the error happened in.
        phase: Phase,
        /// The underlying error.
        source: std::io::Error,
    },
    /// TLS setup or handshake failed.
    Tls {
        /// The host being connected to.
        host: String,
        /// What went wrong.
        reason: String,
        /// The TLS library's error, when there is one (also [`std::error::Error::source`]).
        source: Option<Cause>,
    },
    /// The proxy refused or failed the `CONNECT` tunnel.
    Proxy {
        /// What went wrong (never contains credentials).
        reason: String,
    },
    /// The websocket protocol failed (bad handshake answer, protocol violation, oversized
    /// message).
    WebSocket {
        /// What went wrong.
        reason: String,
        /// tungstenite's error, when there is one (also [`std::error::Error::source`]).
        source: Option<Cause>,
    },
    /// The HTTP transport failed in a way that has no better variant.
    Http {
        /// What went wrong.
        reason: String,
        /// The HTTP client's (ureq's) error, when there is one (also
        /// [`std::error::Error::source`]).
        source: Option<Cause>,
    },
    /// A URL could not be used.
    Url(String),
    /// The connection ended and `auto_reconnect` is off.
    Disconnected {
        /// The websocket close code, when the server sent one.
        code: Option<u16>,
        /// Why the connection ended.
        reason: String,
    },
    /// `start()` or `spawn()` was called while the client was already running.
    AlreadyRunning,
    /// A send was refused; see [`SendErrorKind`].
    Send(SendErrorKind),
    /// The connect call answered with a websocket URL that cannot be used (the server's
    /// fault, so it is retried like an answer without a URL).
    BadUrl {
        /// The connect method, e.g. `rtm.connect`.
        method: String,
        /// What is wrong with the URL (the URL itself is a credential and is not shown).
        reason: String,
    },
    /// `Running::join` was called on one of the client's own threads (from a handler): a
    /// thread cannot wait for itself. The client stops; join from another thread.
    JoinFromClientThread,
    /// One of the client's threads panicked (a bug in this crate, or a handler panic that
    /// escaped); the client stopped.
    ThreadPanicked {
        /// The thread's name, e.g. `rtm-reader`.
        thread: String,
    },
    /// Socket Mode was switched off in the app's settings (Slack sent `disconnect` with reason
    /// `link_disabled`): reconnecting cannot help until it is switched back on.
    LinkDisabled,
}

impl Error {
    /// True when retrying cannot help: Slack refused the token or the method (see the crate docs
    /// for the list of fatal codes), or the configuration is wrong.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Config(_) | Error::Url(_) | Error::LinkDisabled => true,
            Error::Api {
                method,
                status,
                code,
                ..
            } if method == "apps.connections.open" => {
                *status != 429
                    && (matches!(status, 401 | 403 | 404) || OPEN_FATAL_CODES.contains(&&**code))
            }
            Error::Api { status, code, .. } => {
                matches!(status, 401 | 403 | 404) || is_fatal_code(code)
            }
            _ => false,
        }
    }

    /// True when a later attempt may succeed: network trouble, timeouts, HTTP 429/5xx, Slack's
    /// retryable codes, a reply without `url`, a dropped connection.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { .. } => !self.is_fatal(),
            Error::NoUrl { .. }
            | Error::Timeout { .. }
            | Error::Io { .. }
            | Error::Tls { .. }
            | Error::Proxy { .. }
            | Error::WebSocket { .. }
            | Error::Http { .. }
            | Error::BadUrl { .. }
            | Error::Disconnected { .. } => true,
            _ => false,
        }
    }

    /// The `Retry-After` delay of a rate-limited answer.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Slack's `response_metadata.messages` of a Web API error answer (what is wrong with a
    /// `blocks` array, say), empty when there are none or the error is not [`Error::Api`].
    pub fn response_messages(&self) -> Vec<&str> {
        match self {
            Error::Api { body, .. } => body
                .pointer("/response_metadata/messages")
                .and_then(serde_json::Value::as_array)
                .map(|m| m.iter().filter_map(serde_json::Value::as_str).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// A short machine-readable name for the variant, used as `kind` in `error` events.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Api { .. } => "api",
            Error::NoUrl { .. } => "no_url",
            Error::Timeout { .. } => "timeout",
            Error::Io { .. } => "io",
            Error::Tls { .. } => "tls",
            Error::Proxy { .. } => "proxy",
            Error::WebSocket { .. } => "websocket",
            Error::Http { .. } => "http",
            Error::Url(_) => "url",
            Error::Disconnected { .. } => "disconnected",
            Error::AlreadyRunning => "already_running",
            Error::Send(_) => "send",
            Error::BadUrl { .. } => "bad_url",
            Error::JoinFromClientThread => "join_from_client_thread",
            Error::ThreadPanicked { .. } => "thread_panicked",
            Error::LinkDisabled => "link_disabled",
        }
    }

    /// An [`Error::Tls`] with `cause` as its source.
    pub(crate) fn tls(host: String, reason: String, cause: Option<Cause>) -> Error {
        Error::Tls {
            host,
            reason,
            source: cause,
        }
    }

    /// An [`Error::WebSocket`] with `cause` as its source.
    pub(crate) fn websocket(reason: String, cause: Option<Cause>) -> Error {
        Error::WebSocket {
            reason,
            source: cause,
        }
    }

    /// An [`Error::Http`] without a source.
    pub(crate) fn http(reason: impl Into<String>) -> Error {
        Error::Http {
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn io(phase: Phase, source: std::io::Error) -> Error {
        match source.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                Error::Timeout { phase }
            }
            _ => Error::Io { phase, source },
        }
    }
}

/// The `rtm.connect` error codes that no retry can fix.
///
/// From Slack's documentation of `rtm.connect`: authentication and permission failures, retired
/// methods and malformed requests. `rtm_connect_required` is what `rtm.start` answers to apps that
/// may only use `rtm.connect`.
pub(crate) const FATAL_CODES: &[&str] = &[
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "ekm_access_denied",
    "access_denied",
    "accesslimited",
    "enterprise_is_restricted",
    "two_factor_setup_required",
    "method_deprecated",
    "deprecated_endpoint",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_json",
    "json_not_object",
    "upgrade_required",
    "user_removed_from_team",
    "team_disabled",
    "rtm_connect_required",
    "unknown_method",
];

/// The `apps.connections.open` (Socket Mode) error codes that no retry can fix: one call, then
/// the error. Authentication and permission failures, retired methods and malformed requests;
/// every other `ok:false` code (`ratelimited`, `internal_error`, `accesslimited`,
/// `org_login_required`, ...), HTTP 429 and 5xx, network errors and an answer without `url` are
/// retried with backoff.
pub const OPEN_FATAL_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "missing_args",
    "is_bot",
    "forbidden_team",
    "access_denied",
    "ekm_access_denied",
    "two_factor_setup_required",
    "enterprise_is_restricted",
    "user_removed_from_team",
    "team_disabled",
    "method_deprecated",
    "deprecated_endpoint",
    "insecure_request",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_json",
    "json_not_object",
    "unknown_method",
];

fn is_fatal_code(code: &str) -> bool {
    FATAL_CODES.contains(&code)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(msg) => write!(f, "invalid configuration: {msg}"),
            Error::Api {
                method,
                status,
                code,
                retry_after,
                ..
            } => {
                write!(f, "{method} failed: {code} (http {status})")?;
                if let Some(d) = retry_after {
                    write!(f, ", retry after {}s", d.as_secs())?;
                }
                Ok(())
            }
            Error::NoUrl { method } => write!(f, "{method} answered without a websocket url"),
            Error::Timeout { phase } => write!(f, "{phase} timed out"),
            Error::Io { phase, source } => write!(f, "{phase} failed: {source}"),
            Error::Tls { host, reason, .. } => write!(f, "tls with {host} failed: {reason}"),
            Error::Proxy { reason } => write!(f, "proxy failed: {reason}"),
            Error::WebSocket { reason, .. } => write!(f, "websocket error: {reason}"),
            Error::Http { reason, .. } => write!(f, "http error: {reason}"),
            Error::Url(msg) => write!(f, "invalid url: {msg}"),
            Error::Disconnected { code, reason } => match code {
                Some(code) => write!(f, "disconnected ({code}): {reason}"),
                None => write!(f, "disconnected: {reason}"),
            },
            Error::AlreadyRunning => f.write_str("the client is already running"),
            Error::Send(kind) => write!(f, "send failed: {kind}"),
            Error::BadUrl { method, reason } => {
                write!(
                    f,
                    "{method} answered with an unusable websocket url: {reason}"
                )
            }
            Error::JoinFromClientThread => f.write_str(
                "join called from one of the client's own threads (a handler): the client \
                 is stopping; join it from another thread",
            ),
            Error::ThreadPanicked { thread } => write!(f, "the {thread} thread panicked"),
            Error::LinkDisabled => f.write_str(
                "socket mode is switched off for this app (disconnect: link_disabled); \
                 switch it on in the app's settings",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Tls { source, .. }
            | Error::WebSocket { source, .. }
            | Error::Http { source, .. } => source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendErrorKind {
    /// No websocket is open, or `hello` has not arrived on it yet.
    NotConnected,
    /// The payload is not a JSON object, or its `id` is not a positive integer.
    InvalidPayload(String),
    /// The serialized frame is larger than Slack accepts (16,384 bytes).
    TooLarge {
        /// The frame's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The `text` of a `message` is longer than Slack accepts (4,000 characters); see
    /// `RtmHandle::send_long_message` to split it.
    TooLong {
        /// The text's length in characters (Unicode scalar values).
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// The send queue (messages waiting for the throttle or the connection) is full.
    QueueFull,
    /// A chat `message` sent with `send_over_websocket` while the send throttle holds messages
    /// back: that method never queues. Use `send_message` (which queues and gives a receipt),
    /// or send again later.
    Throttled,
    /// Too much data already waits for the socket (the server is not reading): the frame was
    /// not queued.
    OutboundFull,
    /// Writing to the socket failed; the connection will be replaced.
    Io(String),
}

impl fmt::Display for SendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendErrorKind::NotConnected => f.write_str("not connected"),
            SendErrorKind::InvalidPayload(msg) => write!(f, "invalid payload: {msg}"),
            SendErrorKind::TooLarge { size, limit } => {
                write!(f, "frame of {size} bytes exceeds the {limit}-byte limit")
            }
            SendErrorKind::TooLong { chars, limit } => {
                write!(
                    f,
                    "message text of {chars} characters exceeds the {limit}-character limit"
                )
            }
            SendErrorKind::QueueFull => f.write_str("the send queue is full"),
            SendErrorKind::Throttled => {
                f.write_str("throttled: messages are held back by the send rate")
            }
            SendErrorKind::OutboundFull => {
                f.write_str("the socket's outbound buffer is full (the server is not reading)")
            }
            SendErrorKind::Io(msg) => write!(f, "write failed: {msg}"),
        }
    }
}

/// A refused send. Like crossbeam's `SendError`, it hands the caller's payload back.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    kind: SendErrorKind,
    payload: serde_json::Value,
}

impl SendError {
    pub(crate) fn new(kind: SendErrorKind, payload: serde_json::Value) -> SendError {
        SendError { kind, payload }
    }

    /// Why the send was refused.
    pub fn kind(&self) -> &SendErrorKind {
        &self.kind
    }

    /// The payload that was not sent.
    pub fn into_payload(self) -> serde_json::Value {
        self.payload
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "send failed: {}", self.kind)
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        Error::Send(e.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> Error {
        Error::Api {
            method: "rtm.connect".into(),
            status,
            code: code.into(),
            body: serde_json::Value::Null,
            retry_after: None,
        }
    }

    #[test]
    fn fatal_and_retryable_follow_the_documented_rule() {
        assert!(api(200, "invalid_auth").is_fatal());
        assert!(api(200, "token_revoked").is_fatal());
        assert!(api(401, "http_401").is_fatal());
        assert!(api(404, "http_404").is_fatal());
        assert!(!api(200, "migration_in_progress").is_fatal());
        assert!(api(200, "migration_in_progress").is_retryable());
        assert!(api(429, "ratelimited").is_retryable());
        assert!(api(503, "http_503").is_retryable());
        assert!(Error::NoUrl {
            method: "rtm.connect".into()
        }
        .is_retryable());
        assert!(!Error::AlreadyRunning.is_retryable());
    }

    #[test]
    fn tls_websocket_and_http_errors_keep_their_cause() {
        use std::error::Error as _;
        let cause = std::io::Error::other("inner cause");
        let e = Error::websocket("bad frame".into(), Some(Box::new(cause)));
        assert_eq!(e.to_string(), "websocket error: bad frame");
        let source = e.source().expect("a source");
        assert_eq!(source.to_string(), "inner cause");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        let e = Error::tls("h:443".into(), "handshake".into(), Some("x".into()));
        assert!(e.source().is_some());
        assert!(Error::http("plain").source().is_none());
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
    }

    #[test]
    fn response_messages_of_an_api_error() {
        let e = Error::Api {
            method: "chat.postMessage".into(),
            status: 200,
            code: "invalid_blocks".into(),
            body: serde_json::json!({"ok": false, "error": "invalid_blocks",
                "response_metadata": {"messages": ["[ERROR] a", "[ERROR] b"]}}),
            retry_after: None,
        };
        assert_eq!(e.response_messages(), ["[ERROR] a", "[ERROR] b"]);
        assert!(Error::AlreadyRunning.response_messages().is_empty());
    }

    #[test]
    fn timeouts_name_their_phase() {
        let e = Error::io(Phase::Tls, std::io::ErrorKind::TimedOut.into());
        assert_eq!(e.to_string(), "tls handshake timed out");
    }

    #[test]
    fn send_error_gives_the_payload_back() {
        let p = serde_json::json!({"type": "typing"});
        let e = SendError::new(SendErrorKind::NotConnected, p.clone());
        assert_eq!(e.kind(), &SendErrorKind::NotConnected);
        assert_eq!(e.into_payload(), p);
    }
}
