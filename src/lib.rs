//! slack-rtm: a blocking, thread-based client for Slack's Real Time Messaging API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backoff;
mod client;
mod config;
mod error;
mod handlers;
mod session;
mod signals;
mod threads;
mod tls;
mod transport;
mod web;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{RtmClient, RtmHandle, Running};
pub use config::{ConnectMethod, RtmClientBuilder, DEFAULT_BASE_URL};
pub use error::{Error, Phase, SendError, SendErrorKind};
pub use handlers::Payload;
pub use web::{Pages, PostMessage, SlackResponse, WebClient, WebClientBuilder};
