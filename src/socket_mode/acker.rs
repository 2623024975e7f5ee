//! The ack of one delivered envelope as the threads share it: [`Pending`] (its state, its
//! connection) and [`Acker`], the owned handle a handler takes to ack later from another thread.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use serde_json::Value;

use super::ack::{AckError, AckErrorKind, AckSlot, AckedBy};
use super::state::SocketMode;
use crate::engine::link::Link;

/// One delivered envelope whose ack is not the reader's: made by the reader when the envelope
/// arrives, handed to the dispatcher with the frame, kept by the client for the ack deadline,
/// and shared with the [`Acker`]s of its handlers. Each delivery has its own, so two envelopes
/// with one id (on one socket or on two) are acked separately, each on its own connection.
pub(crate) struct Pending {
    /// The client's key for it (unique per delivery).
    ticket: u64,
    envelope_id: String,
    /// The connection it came on: its ack goes there, and nowhere else.
    link: Arc<Link>,
    state: Mutex<State>,
}

struct State {
    slot: AckSlot,
    /// A handler took an [`Acker`]: no bare ack when the handlers return.
    deferred: bool,
    /// The envelope's handlers have returned.
    returned: bool,
}

/// What the handlers' return means for the ack.
pub(crate) struct Returned {
    /// A bare ack to send now (the handlers returned without acking, and none deferred).
    pub frame: Option<String>,
    /// The ack deadline passed while the handlers ran: report `late_ack`.
    pub late: bool,
}

impl Pending {
    pub(crate) fn new(ticket: u64, link: Arc<Link>, slot: AckSlot, envelope_id: &str) -> Pending {
        Pending {
            ticket,
            envelope_id: envelope_id.to_owned(),
            link,
            state: Mutex::new(State {
                slot,
                deferred: false,
                returned: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn ticket(&self) -> u64 {
        self.ticket
    }

    pub(crate) fn envelope_id(&self) -> &str {
        &self.envelope_id
    }

    pub(crate) fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// A handler will ack later, through an [`Acker`].
    pub(crate) fn defer(&self) {
        self.lock().deferred = true;
    }

    /// A handler acks: the frame to write, or the refusal.
    pub(crate) fn ack(&self, payload: Option<Value>) -> Result<String, AckError> {
        self.lock().slot.ack(payload)
    }

    /// The envelope's handlers all returned (dispatcher thread).
    pub(crate) fn handlers_returned(&self) -> Returned {
        let mut s = self.lock();
        s.returned = true;
        let frame = if s.deferred {
            None
        } else {
            s.slot.on_handlers_returned()
        };
        Returned {
            frame,
            late: s.slot.acked_by() == Some(AckedBy::Deadline),
        }
    }

    /// The ack deadline's turn at `now`: the bare ack to send if it passed with no ack, and
    /// whether to report `late_ack` now (true when the handlers had already returned, having
    /// deferred the ack; otherwise the dispatcher reports it when they return).
    pub(crate) fn on_deadline(&self, now: Instant) -> Option<(String, bool)> {
        let mut s = self.lock();
        let frame = s.slot.on_deadline(now)?;
        Some((frame, s.returned))
    }

    /// When the deadline acts, while no ack went out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.lock().slot.deadline()
    }

    /// Settles the envelope without an ack frame (the App answered with a non-200: Slack
    /// shows the user an error, as with Bolt).
    pub(crate) fn decline(&self) {
        let _unsent = self.lock().slot.on_handlers_returned();
    }

    /// True once acked (by whomever).
    pub(crate) fn settled(&self) -> bool {
        self.lock().slot.acked_by().is_some()
    }
}

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
