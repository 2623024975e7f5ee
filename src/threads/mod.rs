//! The three library threads of a running client. Glue only: the decisions live in
//! `session`, `backoff` and `handlers`.
//!
//! - `rtm-reader` runs the connect/backoff loop and reads the socket (1 s read tick);
//! - `rtm-pinger` sends RTM pings and enforces the keepalive deadline;
//! - `rtm-dispatch` parses frames and calls the handlers in arrival order.

pub(crate) mod dispatcher;
pub(crate) mod pinger;
pub(crate) mod reader;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::client::Link;
use crate::transport::Batch;

/// What the reader hands the dispatcher, in order.
pub(crate) enum Item {
    /// A websocket opened: dispatch `open` with the `rtm.connect` body.
    Open { link: Arc<Link>, body: Value },
    /// The frames of one socket read.
    Frames(Batch),
    /// A pseudo-event the reader produced (`close`, `error`).
    Event { name: &'static str, data: Value },
}

impl Item {
    /// Whether the dispatcher still delivers this item after a stop request.
    pub(crate) fn survives_stop(&self) -> bool {
        !matches!(self, Item::Frames(_))
    }
}

/// The data of a client-side `error` event.
pub(crate) fn client_error(kind: &str, message: &str) -> Value {
    json!({"source": "client", "kind": kind, "message": message})
}
