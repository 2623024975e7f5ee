//! Socket Mode: Slack's websocket for Events API events, slash commands and interactions.
//!
//! This module holds the protocol's rules, free of I/O: envelopes and their dispatch names,
//! `hello` and `disconnect`, acks ([`AckMode`], [`AckError`]), the 20,480-byte ack guard,
//! `event_id` dedupe, and which `apps.connections.open` answers are fatal. The client runs them
//! on the same blocking engine as the RTM client.
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
mod client;
mod config;
mod dedupe;
mod dispatch;
mod intake;
mod pending;
mod request;
mod rules;
mod settings;
mod state;

pub use ack::{AckError, AckErrorKind, AckMode, AckedBy, DEFAULT_ACK_DEADLINE, MAX_ACK_BYTES};
pub use acker::Acker;
pub use client::{Running, SocketModeClient};
pub use config::SocketModeClientBuilder;
pub use dedupe::{DEDUPE_CAPACITY, DEDUPE_TTL};
pub use request::Request;
pub use rules::{
    is_fatal_open_code, DisconnectAction, DisconnectReason, Envelope, EnvelopeKind, Frame, Hello,
    DEFAULT_CONNECTION_TIME, DEFAULT_PING_INTERVAL, DEFAULT_PONG_TIMEOUT, MAX_CONNECTIONS,
    MIN_PONG_TIMEOUT, OPEN_FATAL_CODES, OPEN_METHOD,
};
pub use state::SocketModeHandle;
