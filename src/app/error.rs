//! [`AppError`]: what `Ctx` methods refuse, and the App's own reports to `app.error`.

use std::fmt;

/// A listener's error: anything that implements `std::error::Error`, so `?` works on every
/// error type in a listener.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a listener (and a middleware) returns: `Ok(())`, or an error for
/// [`App::error`](super::App::error).
pub type Result = std::result::Result<(), BoxError>;

/// Why a [`Ctx`](super::Ctx) call was refused, or what went wrong around a listener.
#[derive(Debug)]
#[non_exhaustive]
pub enum AppError {
    /// `say` on a request with no channel (a global shortcut, a modal submission): post with
    /// [`Ctx::client`](super::Ctx::client) to a channel of your choice instead.
    NoChannel,
    /// `respond` on a request without a `response_url` (an event, a global shortcut, a modal
    /// without `response_url_enabled`).
    NoResponseUrl,
    /// The ack deadline passed while the listener ran: a bare ack went out then, and this
    /// answer can no longer be sent. Answer with `respond` or the Web API instead.
    AckLate,
    /// The request was acked already (every request is acked exactly once).
    AlreadyAcked,
    /// `ack_with` on an event: events are acked on arrival and carry no answer.
    NotAckable,
    /// The transport refused the ack (over Socket Mode: a payload of 20,480 bytes or more,
    /// or the connection has gone); the message says why. The request is still pending.
    AckRefused(String),
    /// A listener or middleware panicked; the message is the panic's.
    Panicked(String),
    /// The request could not be authorized (no installation for the workspace, `auth.test`
    /// failed, the `authorize` hook failed); no listener ran.
    Unauthorized(String),
    /// A Web API call (or a `response_url` post) failed.
    Web(crate::Error),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::NoChannel => f.write_str("say: this request has no channel"),
            AppError::NoResponseUrl => f.write_str("respond: this request has no response_url"),
            AppError::AckLate => f.write_str(
                "ack: the ack deadline passed and a bare ack was sent; use respond or the Web API",
            ),
            AppError::AlreadyAcked => f.write_str("ack: the request was already acked"),
            AppError::NotAckable => {
                f.write_str("ack: events are acked on arrival and carry no answer")
            }
            AppError::AckRefused(why) => write!(f, "ack refused: {why}"),
            AppError::Panicked(msg) => write!(f, "listener panicked: {msg}"),
            AppError::Unauthorized(why) => write!(f, "request not authorized: {why}"),
            AppError::Web(e) => write!(f, "web api: {e}"),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Web(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for AppError {
    fn from(e: crate::Error) -> AppError {
        AppError::Web(e)
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
