//! The reader's decision for each arriving envelope, free of I/O: ack it now or leave the ack
//! to the handlers, and dispatch it or drop it as a redelivered duplicate.

use std::time::Instant;

use super::ack::{acked_by_reader, bare_ack, AckMode};
use super::dedupe::Dedupe;
#[cfg(test)]
use super::frame::Frame;
use super::frame::{Envelope, EnvelopeKind};
use super::peek::Peek;

/// What the reader knows about an envelope, from [`Peek`] or from a full [`Frame`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival<'a> {
    pub envelope_id: &'a str,
    pub kind: &'a EnvelopeKind,
    pub accepts_response_payload: bool,
    pub event_id: Option<&'a str>,
}

impl<'a> Arrival<'a> {
    /// The envelope facts of a cheap look, if it saw an envelope.
    pub(crate) fn from_peek(peek: &'a Peek<'a>) -> Option<Arrival<'a>> {
        match peek {
            Peek::Envelope {
                envelope_id,
                kind,
                accepts_response_payload,
                event_id,
            } => Some(Arrival {
                envelope_id,
                kind,
                accepts_response_payload: *accepts_response_payload,
                event_id: event_id.as_deref(),
            }),
            _ => None,
        }
    }

    /// The envelope facts of a parsed frame, if it is an envelope.
    #[cfg(test)]
    pub(crate) fn from_frame(frame: &'a Frame) -> Option<Arrival<'a>> {
        match frame {
            Frame::Envelope(envelope) => Some(Arrival::from_envelope(envelope)),
            _ => None,
        }
    }

    /// The facts of an envelope.
    pub(crate) fn from_envelope(envelope: &'a Envelope) -> Arrival<'a> {
        Arrival {
            envelope_id: &envelope.envelope_id,
            kind: &envelope.kind,
            accepts_response_payload: envelope.accepts_response_payload,
            event_id: envelope.event_id(),
        }
    }
}

/// The reader's decision about one envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Intake {
    /// A bare ack to write at once, on this envelope's connection, before queueing it.
    pub ack_now: Option<String>,
    /// Queue it for the handlers (false: a duplicate, acked and dropped).
    pub dispatch: bool,
}

/// Decides what the reader does with an arriving envelope. `dedupe` is `None` when dedupe is
/// off. A duplicate `events_api` envelope (its `event_id` dispatched within the TTL) is acked at
/// once and not dispatched, whatever `event_ack` says; a retry of an event never seen is
/// dispatched like a first delivery.
pub(crate) fn intake(
    arrival: Arrival<'_>,
    event_ack: AckMode,
    dedupe: Option<&mut Dedupe>,
    now: Instant,
) -> Intake {
    if let (EnvelopeKind::EventsApi, Some(event_id), Some(dedupe)) =
        (arrival.kind, arrival.event_id, dedupe)
    {
        if !dedupe.first_sighting(event_id, now) {
            return Intake {
                ack_now: Some(bare_ack(arrival.envelope_id)),
                dispatch: false,
            };
        }
    }
    let by_reader = acked_by_reader(arrival.kind, arrival.accepts_response_payload, event_ack);
    Intake {
        ack_now: by_reader.then(|| bare_ack(arrival.envelope_id)),
        dispatch: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket_mode::peek::peek;

    fn event(envelope_id: &str, event_id: &str, retry: u32) -> String {
        format!(
            r#"{{"envelope_id":"{envelope_id}","type":"events_api","accepts_response_payload":false,
            "retry_attempt":{retry},"retry_reason":"{}","payload":{{"event_id":"{event_id}","event":{{"type":"message"}}}}}}"#,
            if retry > 0 { "timeout" } else { "" }
        )
    }

    #[test]
    fn events_are_acked_on_arrival_and_duplicates_are_not_dispatched() {
        let now = Instant::now();
        let mut dedupe = Dedupe::default();
        let first = event("e1", "Ev1", 0);
        let p = peek(&first);
        let i = intake(
            Arrival::from_peek(&p).unwrap(),
            AckMode::Immediate,
            Some(&mut dedupe),
            now,
        );
        assert_eq!(
            i,
            Intake {
                ack_now: Some(r#"{"envelope_id":"e1"}"#.into()),
                dispatch: true
            }
        );

        let retry = event("e2", "Ev1", 1);
        let p = peek(&retry);
        let i = intake(
            Arrival::from_peek(&p).unwrap(),
            AckMode::AfterHandlers,
            Some(&mut dedupe),
            now,
        );
        assert_eq!(
            i,
            Intake {
                ack_now: Some(r#"{"envelope_id":"e2"}"#.into()),
                dispatch: false
            }
        );

        // A retry of an event never seen is dispatched.
        let unseen = event("e3", "Ev2", 2);
        let p = peek(&unseen);
        let i = intake(
            Arrival::from_peek(&p).unwrap(),
            AckMode::AfterHandlers,
            Some(&mut dedupe),
            now,
        );
        assert_eq!(
            i,
            Intake {
                ack_now: None,
                dispatch: true
            }
        );

        // Dedupe off: everything is dispatched.
        let p = peek(&first);
        let i = intake(
            Arrival::from_peek(&p).unwrap(),
            AckMode::Immediate,
            None,
            now,
        );
        assert!(i.dispatch);
    }

    #[test]
    fn commands_and_interactions_wait_for_their_handlers() {
        let now = Instant::now();
        for text in [
            r#"{"envelope_id":"c1","type":"slash_commands","accepts_response_payload":true,"payload":{"command":"/x"}}"#,
            r#"{"envelope_id":"i1","type":"interactive","accepts_response_payload":false,"payload":{"type":"shortcut"}}"#,
        ] {
            let frame = Frame::parse(text).unwrap();
            let i = intake(
                Arrival::from_frame(&frame).unwrap(),
                AckMode::Immediate,
                Some(&mut Dedupe::default()),
                now,
            );
            assert_eq!(
                i,
                Intake {
                    ack_now: None,
                    dispatch: true
                },
                "{text}"
            );
        }
        assert!(Arrival::from_frame(&Frame::parse(r#"{"type":"hello"}"#).unwrap()).is_none());
    }
}
