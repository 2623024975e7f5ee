//! I/O-free send policy for chat messages: the throttle (a token bucket), the bounded queue of
//! messages waiting for a token or for `hello`, and the receipts waiting for their acks.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::rate::TokenBucket;
use crate::rtm::messaging::{MessageAck, MessageError};

/// A receipt's answer.
pub(crate) type Answer = Result<MessageAck, MessageError>;

/// Where a receipt's answer goes.
pub(crate) type Reply = Sender<Answer>;

/// A serialized frame of type `message` on its way out.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub id: u64,
    pub text: String,
    pub reply: Option<Reply>,
}

/// What to do with an offered message.
#[derive(Debug)]
pub(crate) enum Offer {
    /// Write it now (a token was taken).
    SendNow(Outgoing),
    /// It waits in the queue; the pinger sends it when it is due.
    Queued,
    /// The queue is full: refuse it.
    Full(Outgoing),
    /// Not connected, and the caller asked not to queue.
    NotConnected(Outgoing),
    /// Connected, but the throttle holds messages back and the caller asked not to queue.
    Throttled(Outgoing),
}

/// The throttle and queue of outbound `message` frames.
#[derive(Debug)]
pub(crate) struct Outbox {
    bucket: Option<TokenBucket>,
    queue: VecDeque<Outgoing>,
    capacity: usize,
    /// Receipts of messages written to the current connection, by id.
    unacked: HashMap<u64, Reply>,
}

impl Outbox {
    /// `rate`: `None` disables the throttle.
    pub(crate) fn new(rate: Option<(u32, Duration)>, capacity: usize) -> Outbox {
        Outbox {
            bucket: rate.map(|(burst, interval)| TokenBucket::new(burst, interval)),
            queue: VecDeque::new(),
            capacity,
            unacked: HashMap::new(),
        }
    }

    /// Offers a message. Order is kept: nothing jumps a non-empty queue.
    pub(crate) fn offer(
        &mut self,
        now: Instant,
        out: Outgoing,
        connected: bool,
        queue_if_disconnected: bool,
    ) -> Offer {
        if !connected && !queue_if_disconnected {
            return Offer::NotConnected(out);
        }
        if connected && self.queue.is_empty() && self.take_token(now) {
            return Offer::SendNow(out);
        }
        if !queue_if_disconnected {
            return Offer::Throttled(out);
        }
        if self.queue.len() >= self.capacity {
            return Offer::Full(out);
        }
        self.queue.push_back(out);
        Offer::Queued
    }

    /// How many more messages the queue takes.
    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.queue.len())
    }

    /// Queues a message behind the others (the caller checked [`Outbox::room`]).
    pub(crate) fn enqueue(&mut self, out: Outgoing) {
        self.queue.push_back(out);
    }

    fn take_token(&mut self, now: Instant) -> bool {
        let Some(b) = &mut self.bucket else {
            return true;
        };
        if !b.wait(now).is_zero() {
            return false;
        }
        b.record(now);
        true
    }

    /// The next queued message that may leave now, if any.
    pub(crate) fn pop_due(&mut self, now: Instant, connected: bool) -> Option<Outgoing> {
        if !connected || self.queue.is_empty() || !self.take_token(now) {
            return None;
        }
        self.queue.pop_front()
    }

    /// How long until the next queued message may leave (`None`: nothing to wait for).
    pub(crate) fn next_due(&mut self, now: Instant, connected: bool) -> Option<Duration> {
        if !connected || self.queue.is_empty() {
            return None;
        }
        Some(self.bucket.as_mut().map_or(Duration::ZERO, |b| b.wait(now)))
    }

    /// A message with a receipt was written: remember it until its ack.
    pub(crate) fn written(&mut self, id: u64, reply: Reply) {
        self.unacked.insert(id, reply);
    }

    /// An ack arrived: the receipt to resolve, if it is ours.
    pub(crate) fn acked(&mut self, id: u64) -> Option<Reply> {
        self.unacked.remove(&id)
    }

    /// The connection ended: every written, unacknowledged message fails (it is never sent
    /// again silently). Queued messages (all have receipts: only `send_message` queues) stay
    /// for the next connection.
    pub(crate) fn connection_lost(&mut self) -> Vec<Reply> {
        self.unacked.drain().map(|(_, r)| r).collect()
    }

    /// The client stopped: everything pending fails.
    pub(crate) fn stopped(&mut self) -> Vec<Reply> {
        let mut replies = self.connection_lost();
        replies.extend(self.queue.drain(..).filter_map(|o| o.reply));
        replies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn out(id: u64) -> Outgoing {
        Outgoing {
            id,
            text: format!("m{id}"),
            reply: None,
        }
    }

    #[test]
    fn a_burst_goes_at_once_then_one_per_interval_in_order() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Some((3, S)), 10);
        for id in 1..=3 {
            assert!(matches!(
                o.offer(t0, out(id), true, true),
                Offer::SendNow(_)
            ));
        }
        assert!(matches!(o.offer(t0, out(4), true, true), Offer::Queued));
        assert!(matches!(o.offer(t0, out(5), true, true), Offer::Queued));
        assert_eq!(o.next_due(t0, true), Some(S));
        assert!(o.pop_due(t0, true).is_none());
        assert_eq!(o.pop_due(t0 + S, true).map(|m| m.id), Some(4));
        assert!(o.pop_due(t0 + S, true).is_none());
        // A new message waits behind the queue even when a token is free.
        assert!(matches!(
            o.offer(t0 + 3 * S, out(6), true, true),
            Offer::Queued
        ));
        assert_eq!(o.pop_due(t0 + 3 * S, true).map(|m| m.id), Some(5));
        assert_eq!(o.pop_due(t0 + 3 * S, true).map(|m| m.id), Some(6));
    }

    #[test]
    fn the_queue_is_bounded_and_gives_the_message_back() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Some((1, S)), 1);
        assert!(matches!(o.offer(t0, out(1), true, true), Offer::SendNow(_)));
        assert!(matches!(o.offer(t0, out(2), true, true), Offer::Queued));
        match o.offer(t0, out(3), true, true) {
            Offer::Full(m) => assert_eq!(m.id, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn disconnected_messages_queue_only_when_asked_and_wait_for_the_connection() {
        let t0 = Instant::now();
        let mut o = Outbox::new(None, 10);
        assert!(matches!(
            o.offer(t0, out(1), false, false),
            Offer::NotConnected(_)
        ));
        assert!(matches!(o.offer(t0, out(2), false, true), Offer::Queued));
        assert!(o.pop_due(t0, false).is_none());
        assert_eq!(o.next_due(t0, false), None);
        assert_eq!(o.pop_due(t0, true).map(|m| m.id), Some(2));
    }

    #[test]
    fn unacked_receipts_fail_when_the_connection_is_lost() {
        let mut o = Outbox::new(None, 10);
        let (tx, _rx) = crossbeam_channel::bounded(1);
        o.written(7, tx.clone());
        o.written(8, tx);
        assert!(o.acked(7).is_some());
        assert!(o.acked(7).is_none(), "an ack resolves once");
        assert_eq!(o.connection_lost().len(), 1);
        assert!(o.acked(8).is_none());
    }

    #[test]
    fn a_throttled_message_that_must_not_queue_is_refused() {
        let t0 = Instant::now();
        let mut o = Outbox::new(Some((1, S)), 10);
        assert!(matches!(
            o.offer(t0, out(1), true, false),
            Offer::SendNow(_)
        ));
        assert!(matches!(o.offer(t0, out(2), true, false), Offer::Throttled(m) if m.id == 2));
        assert_eq!(o.room(), 10, "nothing was queued");
    }

    #[test]
    fn without_a_throttle_everything_goes_at_once() {
        let t0 = Instant::now();
        let mut o = Outbox::new(None, 1);
        for id in 0..100 {
            assert!(matches!(
                o.offer(t0, out(id), true, true),
                Offer::SendNow(_)
            ));
        }
    }
}
