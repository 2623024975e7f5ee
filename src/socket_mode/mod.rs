//! Socket Mode: Slack's websocket for Events API events, slash commands and interactions.
//!
//! This module holds the protocol's rules, free of I/O: envelopes and their dispatch names,
//! `hello` and `disconnect`, acks ([`AckMode`], [`AckError`]), the 20,480-byte ack guard,
//! `event_id` dedupe, and which `apps.connections.open` answers are fatal. The client runs them
//! on the same blocking engine as the RTM client.
//!
//! Layout, one job per file: `frame` (the public wire types), `peek` (the reader's quick look),
//! `open` (the connect call and its fatal answers), `options` (defaults and checks of the
//! builder's options), `ack` and `intake` (who acks what, the reader's decision), `dedupe`,
//! `pending` and `acker` (an envelope's ack shared across threads), `state` (the answers to the
//! engine), `dispatch` (names and handlers), `request`, `client` and `config` (the public
//! client and its builder).
//!
//! # Dispatch names
//!
//! Each envelope is dispatched under its inner name first, then under its type, then `"*"`:
//!
//! | envelope `type` | inner name | example names |
//! |---|---|---|
//! | `events_api` | `payload.event.type` (`app_rate_limited` when there is no inner event) | `app_mention`, `events_api`, `*` |
//! | `interactive` | `payload.type` | `block_actions`, `interactive`, `*` |
//! | `slash_commands` | `payload.command` | `/deploy`, `slash_commands`, `*` |
//! | anything else | — | `unknown`, `*` |
//!
//! ```
//! use slack_rtm::socket_mode::Frame;
//!
//! let frame = Frame::parse(r#"{"envelope_id":"1d2c","type":"slash_commands",
//!     "accepts_response_payload":true,"payload":{"command":"/deploy","text":"prod"}}"#)
//!     .expect("a JSON object");
//! assert_eq!(frame.dispatch_names(), ["/deploy", "slash_commands", "*"]);
//! ```
//!
//! # Acks
//!
//! Every envelope is acked exactly once, on the connection it came from, as one text frame
//! `{"envelope_id": …}` (plus `"payload"` for a response):
//!
//! - `events_api`: by the reader as soon as the frame arrives ([`AckMode::Immediate`], the
//!   default), so slow handlers never delay an ack past Slack's 3 s; or after the handlers
//!   returned ([`AckMode::AfterHandlers`]).
//! - `slash_commands` and `interactive`: a handler may answer with a payload when the envelope
//!   accepts one; when the handlers return without acking, a bare ack goes at once; if they are
//!   still running at the ack deadline (default 2.5 s, [`DEFAULT_ACK_DEADLINE`]), a bare ack goes
//!   then and a later answer fails with [`AckErrorKind::Late`].
//! - A handler that answers later (after an API call, on a worker thread) takes the ack with
//!   [`Request::defer_ack`]: the [`Acker`] it gets is owned, acks from any thread on the
//!   envelope's own connection, and no bare ack goes when the handlers return; the ack deadline
//!   still applies.
//! - An ack frame of [`MAX_ACK_BYTES`] (20,480) bytes or more is refused locally — Slack drops it
//!   silently — and the payload is given back ([`AckError::into_payload`]).
//!
//! # Retries and dedupe
//!
//! Slack redelivers events that were not acked within 3 s (`retry_attempt` 1 to 3,
//! `retry_reason` `"timeout"`). With dedupe on, an event whose `event_id` was dispatched in the
//! last 10 minutes ([`DEDUPE_TTL`]) is acked and not dispatched again; a retry of an event never
//! seen is dispatched like a first delivery.

mod ack;
mod acker;
mod builder;
mod client;
mod dedupe;
mod dispatch;
mod frame;
mod fuzzing;
mod intake;
pub(crate) mod open;
mod options;
mod peek;
mod pending;
mod request;
mod settings;
mod state;

pub use ack::{AckError, AckErrorKind, AckMode, AckedBy, DEFAULT_ACK_DEADLINE, MAX_ACK_BYTES};
pub use acker::Acker;
pub use builder::SocketModeClientBuilder;
pub use client::{SocketModeClient, SocketModeRunning};
/// The older name of [`SocketModeRunning`], kept so existing code compiles.
#[doc(hidden)]
pub type Running = SocketModeRunning;
pub use dedupe::{DEDUPE_CAPACITY, DEDUPE_TTL};
pub use frame::{
    DisconnectAction, DisconnectReason, Envelope, EnvelopeKind, Frame, Hello,
    DEFAULT_CONNECTION_TIME, MAX_CONNECTION_TIME,
};
#[doc(hidden)]
pub use fuzzing::__fuzz_frame;
pub use open::{is_fatal_open_code, OPEN_FATAL_CODES, OPEN_METHOD};
pub use options::{DEFAULT_PING_INTERVAL, DEFAULT_PONG_TIMEOUT, MAX_CONNECTIONS, MIN_PONG_TIMEOUT};
pub use request::Request;
pub use state::SocketModeHandle;
