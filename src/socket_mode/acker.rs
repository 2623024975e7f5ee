//! [`Acker`]: the owned ack a handler takes to ack later from another thread.

use std::fmt;
use std::sync::{Arc, Weak};

use serde_json::Value;

use super::ack::{AckError, AckErrorKind, AckedBy};
use super::pending::Pending;
use super::state::SocketMode;

/// An envelope's ack, owned: taken by a handler with
/// [`Request::defer_ack`](super::Request::defer_ack), it acks from any thread after the
/// handler returned (a worker pool, a thread that calls an API first).
///
/// Taking it tells the client not to send the bare ack it sends when the envelope's handlers
/// return without acking. The ack deadline still applies: if no ack went out by then (2.5 s
/// after arrival by default), the client sends a bare ack, dispatches an `error` event of kind
/// `late_ack`, and [`ack`](Acker::ack) then fails with [`AckErrorKind::Late`]. The ack goes on
/// the connection the envelope came on, even while that connection is being replaced.
///
/// Cheap to clone (clones ack the same envelope, once); `Send + Sync + 'static`.
///
/// ```no_run
/// # use serde_json::json;
/// # let client = slack_rtm::socket_mode::SocketModeClient::builder("xapp-...").build().unwrap();
/// client.on("/report", |r: &slack_rtm::socket_mode::Request| {
///     let Some(acker) = r.defer_ack() else { return };
///     std::thread::spawn(move || {
///         let text = "report ready"; // ... work that takes a second ...
///         if let Err(e) = acker.ack(Some(json!({ "text": text }))) {
///             eprintln!("{e}");
///         }
///     });
/// });
/// ```
#[derive(Clone)]
pub struct Acker {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    /// The reader acked the envelope on arrival ([`AckMode::Immediate`](super::AckMode)).
    Reader(Arc<str>),
    Pending {
        pending: Arc<Pending>,
        sm: Weak<SocketMode>,
    },
}

impl Acker {
    pub(crate) fn by_reader(envelope_id: &str) -> Acker {
        Acker {
            inner: Inner::Reader(Arc::from(envelope_id)),
        }
    }

    pub(crate) fn pending(pending: &Arc<Pending>, sm: &Arc<SocketMode>) -> Acker {
        pending.defer();
        Acker {
            inner: Inner::Pending {
                pending: pending.clone(),
                sm: Arc::downgrade(sm),
            },
        }
    }

    /// The envelope's id.
    pub fn envelope_id(&self) -> &str {
        match &self.inner {
            Inner::Reader(id) => id,
            Inner::Pending { pending, .. } => pending.envelope_id(),
        }
    }

    /// Acks the envelope on the connection it came from: bare with `None`, else with a
    /// response payload (a JSON object; a string is sent as `{"text": …}`), as
    /// [`Request::ack_with`](super::Request::ack_with).
    ///
    /// # Errors
    ///
    /// The payload comes back in the error ([`AckError::into_payload`]):
    /// [`AckErrorKind::AlreadyAcked`] (with [`AckedBy::Reader`] for an `events_api` envelope
    /// the reader acked on arrival, the default), [`AckErrorKind::Late`] (the ack deadline
    /// passed and a bare ack went out), [`AckErrorKind::PayloadNotAccepted`],
    /// [`AckErrorKind::InvalidPayload`], [`AckErrorKind::TooLarge`] (20,480 bytes or more; the
    /// envelope is still pending), [`AckErrorKind::ConnectionGone`] (the connection, or the
    /// client, has gone).
    pub fn ack(&self, payload: Option<Value>) -> Result<(), AckError> {
        match &self.inner {
            Inner::Reader(_) => Err(AckError::new(
                AckErrorKind::AlreadyAcked(AckedBy::Reader),
                payload,
            )),
            Inner::Pending { pending, sm } => match sm.upgrade() {
                Some(sm) => sm.ack_pending(pending, payload),
                None => Err(AckError::new(AckErrorKind::ConnectionGone, payload)),
            },
        }
    }
}

impl Acker {
    /// Settles the envelope without acking it (the deadline sends nothing either).
    pub(crate) fn decline(&self) {
        if let Inner::Pending { pending, .. } = &self.inner {
            pending.decline();
        }
    }
}

impl fmt::Debug for Acker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acker")
            .field("envelope_id", &self.envelope_id())
            .finish_non_exhaustive()
    }
}
