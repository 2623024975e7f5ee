//! The ack of one delivered envelope as the threads share it ([`Pending`]): its state, its
//! connection, whether a handler deferred it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;

use super::ack::{AckError, AckSlot, AckedBy};
use crate::engine::link::Link;

/// One delivered envelope whose ack is not the reader's: made by the reader when the envelope
/// arrives, handed to the dispatcher with the frame, kept by the client for the ack deadline,
/// and shared with the `Acker`s of its handlers. Each delivery has its own, so two envelopes
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
    /// A handler took an `Acker`: no bare ack when the handlers return.
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

    /// A handler will ack later, through an `Acker`.
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
