//! The protocol-neutral engine: the three threads of a running client, their shared state, the
//! connect/backoff loop, keepalive and stop. RTM and Socket Mode differ only in what
//! [`protocol::Protocol`] says (the seam, in one file); everything here serves both.
//!
//! - `reader` runs the connect/backoff loop and reads the socket (1 s read tick), one per
//!   slot (`connections(n)`); `drain` reads a connection being replaced (make before break);
//! - `pinger` keeps the connection alive, enforces the hello and pong deadlines, writes
//!   what waits for the socket, and runs the protocol's timers;
//! - `dispatcher` hands frames and pseudo-events to the protocol's handlers, in order.
//!
//! The decisions live in I/O-free types ([`rules`], `crate::backoff`); the thread bodies only
//! move bytes and call them.

pub(crate) mod core;
mod dispatcher;
mod drain;
pub(crate) mod link;
mod pinger;
pub(crate) mod protocol;
mod reader;
pub(crate) mod rules;
pub(crate) mod run;
