//! The App: Bolt for blocking Rust (listeners, `ack`/`say`/`respond`, middleware) over Socket
//! Mode, HTTP and RTM.
//!
//! This module is being built; its shared pieces come first: the transport-free request and
//! response ([`AppRequest`], [`AppResponse`]) that every receiver speaks, and Slack's request
//! signature ([`signature`]).

pub mod oauth;
mod request;
pub mod signature;

pub use request::{AppRequest, AppResponse};
