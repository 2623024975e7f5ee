//! [`Request`], what a Socket Mode handler receives, and its acks.

use std::sync::Arc;

use serde_json::Value;

use super::ack::{AckError, AckErrorKind, AckedBy};
use super::acker::Acker;
use super::pending::Pending;
use super::state::{SocketMode, SocketModeHandle};
use crate::web::WebClient;

/// What a Socket Mode handler receives: the name it was dispatched under, the envelope (or the
/// frame or pseudo-event), the clients to answer with, and the ack.
///
/// ```no_run
/// # use serde_json::json;
/// # let client = slack_rtm::socket_mode::SocketModeClient::builder("xapp-...").build().unwrap();
/// client.on("/deploy", |r: &slack_rtm::socket_mode::Request| {
///     let target = r.payload["text"].as_str().unwrap_or("staging");
///     // The response goes back in the ack (within Slack's 3 seconds).
///     if let Err(e) = r.ack_with(json!({"text": format!("deploying {target}")})) {
///         eprintln!("{e}");
///     }
/// });
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The name this call was dispatched under: the inner name (`app_mention`, `/deploy`,
    /// `block_actions`), the envelope type, `"*"`'s caller's name, `hello`, `disconnect`,
    /// `unknown`, or a pseudo-event (`open`, `close`, `error`).
    pub name: &'a str,
    /// The envelope type (`events_api`, `slash_commands`, `interactive`, or an unknown type);
    /// for anything else, the same as [`name`](Request::name).
    pub kind: &'a str,
    /// The envelope id (empty when this is not an envelope).
    pub envelope_id: &'a str,
    /// The envelope's `payload`; for other frames and pseudo-events, their whole data.
    pub payload: &'a Value,
    /// 0 on a first delivery; 1 to 3 when Slack redelivers an event it thinks was not acked.
    pub retry_attempt: u32,
    /// Why Slack redelivered (`"timeout"`, ...); `None` on a first delivery.
    pub retry_reason: Option<&'a str>,
    /// Whether [`ack_with`](Request::ack_with) may carry a response.
    pub accepts_response_payload: bool,
    /// A handle on the client, to stop it.
    pub client: &'a SocketModeHandle,
    /// A Web API client with the bot token (see
    /// [`SocketModeClientBuilder::bot_token`](super::SocketModeClientBuilder::bot_token)).
    pub web_client: &'a WebClient,
    pub(crate) raw: Option<&'a str>,
    pub(crate) ack: AckHook<'a>,
}

/// How a request is acked.
#[derive(Clone, Copy)]
pub(crate) enum AckHook<'a> {
    /// Not an envelope.
    None,
    /// An envelope the reader acked on arrival.
    Reader,
    /// An envelope whose ack is its handlers'.
    Pending {
        sm: &'a Arc<SocketMode>,
        pending: &'a Arc<Pending>,
    },
}

impl<'a> Request<'a> {
    /// The frame's text exactly as Slack sent it; `None` for pseudo-events.
    pub fn raw(&self) -> Option<&'a str> {
        self.raw
    }

    /// The Events API event (`payload.event`) of an `events_api` envelope.
    pub fn event(&self) -> Option<&'a Value> {
        if self.kind == "events_api" {
            self.payload.get("event").filter(|e| e.is_object())
        } else {
            None
        }
    }

    /// Acks the envelope now, bare (`{"envelope_id": …}`), on the connection it came from.
    /// Needed only to ack before the handlers return; otherwise the client acks by itself.
    ///
    /// # Errors
    ///
    /// See [`ack_with`](Request::ack_with).
    pub fn ack(&self) -> Result<(), AckError> {
        self.ack_payload(None)
    }

    /// Acks the envelope with a response `payload` (a JSON object; a string is sent as
    /// `{"text": …}`): a slash command's reply message, a `view_submission`'s
    /// `response_action`, a `block_suggestion`'s `options`.
    ///
    /// # Errors
    ///
    /// The payload comes back in the error ([`AckError::into_payload`]):
    /// [`AckErrorKind::AlreadyAcked`] (events are acked by the reader on arrival by default),
    /// [`AckErrorKind::Late`] (the ack deadline passed and a bare ack went out),
    /// [`AckErrorKind::PayloadNotAccepted`], [`AckErrorKind::InvalidPayload`],
    /// [`AckErrorKind::TooLarge`] (20,480 bytes or more; the envelope is still pending),
    /// [`AckErrorKind::ConnectionGone`], [`AckErrorKind::NotAnEnvelope`].
    pub fn ack_with(&self, payload: Value) -> Result<(), AckError> {
        self.ack_payload(Some(payload))
    }

    /// Takes the envelope's ack, to ack it later from any thread ([`Acker::ack`]), after this
    /// handler returned: the client then sends no bare ack when the handlers return. The ack
    /// deadline still applies (a bare ack, a `late_ack` error event, and a later ack fails
    /// with [`AckErrorKind::Late`]). `None` when this request is not an envelope (`hello`, a
    /// pseudo-event).
    ///
    /// An `events_api` envelope is acked by the reader on arrival by default
    /// ([`AckMode::Immediate`](super::AckMode::Immediate)): its `Acker` answers
    /// [`AckErrorKind::AlreadyAcked`]`(`[`AckedBy::Reader`]`)`. Take the ack of events with
    /// [`AckMode::AfterHandlers`](super::AckMode::AfterHandlers).
    ///
    /// May be called by several handlers of one envelope; every `Acker` acks the same
    /// envelope, once.
    pub fn defer_ack(&self) -> Option<Acker> {
        match self.ack {
            AckHook::None => None,
            AckHook::Reader => Some(Acker::by_reader(self.envelope_id)),
            AckHook::Pending { sm, pending } => Some(Acker::pending(pending, sm)),
        }
    }

    fn ack_payload(&self, payload: Option<Value>) -> Result<(), AckError> {
        match self.ack {
            AckHook::None => Err(AckError::new(AckErrorKind::NotAnEnvelope, payload)),
            AckHook::Reader => Err(AckError::new(
                AckErrorKind::AlreadyAcked(AckedBy::Reader),
                payload,
            )),
            AckHook::Pending { sm, pending } => sm.ack_pending(pending, payload),
        }
    }
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("envelope_id", &self.envelope_id)
            .field("retry_attempt", &self.retry_attempt)
            .field("retry_reason", &self.retry_reason)
            .field("accepts_response_payload", &self.accepts_response_payload)
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

/// A registered Socket Mode handler.
pub(crate) type SmHandler = dyn Fn(&Request<'_>) + Send + Sync + 'static;
