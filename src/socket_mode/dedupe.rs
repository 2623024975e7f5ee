//! Redelivery dedupe, free of I/O: an `events_api` envelope whose `payload.event_id` was
//! dispatched within the last 10 minutes is acked and not dispatched again. Memory is bounded
//! by a time expiry and a capacity cap (the oldest ids go first).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long an `event_id` is remembered: covers Slack's last retry (about 5 min after the
/// first) with a margin.
pub const DEDUPE_TTL: Duration = Duration::from_secs(600);
/// Most `event_id`s remembered at once (Slack delivers at most 30,000 events per workspace and
/// hour to one app): about 4 MB at most.
pub const DEDUPE_CAPACITY: usize = 50_000;

/// The `event_id`s dispatched recently.
#[derive(Debug)]
pub(crate) struct Dedupe {
    ttl: Duration,
    capacity: usize,
    seen: HashMap<Box<str>, Instant>,
    order: VecDeque<(Instant, Box<str>)>,
    duplicates: u64,
}

impl Default for Dedupe {
    fn default() -> Dedupe {
        Dedupe::new(DEDUPE_TTL, DEDUPE_CAPACITY)
    }
}

impl Dedupe {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Dedupe {
        Dedupe {
            ttl,
            capacity: capacity.max(1),
            seen: HashMap::new(),
            order: VecDeque::new(),
            duplicates: 0,
        }
    }

    /// Whether to dispatch the event with this id, seen at `now`: true the first time within
    /// the TTL (the id is then remembered from `now`), false for a duplicate (counted).
    pub(crate) fn first_sighting(&mut self, event_id: &str, now: Instant) -> bool {
        self.expire(now);
        if self.seen.contains_key(event_id) {
            self.duplicates += 1;
            return false;
        }
        while self.seen.len() >= self.capacity {
            match self.order.pop_front() {
                Some((_, oldest)) => {
                    self.seen.remove(&oldest);
                }
                None => break,
            }
        }
        let id: Box<str> = event_id.into();
        self.seen.insert(id.clone(), now);
        self.order.push_back((now, id));
        true
    }

    /// Duplicates suppressed so far.
    #[cfg(test)]
    pub(crate) fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Ids remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.seen.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_redelivery_within_ten_minutes_is_not_dispatched_again() {
        let t0 = Instant::now();
        let mut d = Dedupe::default();
        assert!(d.first_sighting("Ev1", t0));
        assert!(!d.first_sighting("Ev1", t0 + 4 * S), "retry 1");
        assert!(!d.first_sighting("Ev1", t0 + 300 * S), "retry 3, +5 min");
        assert!(d.first_sighting("Ev2", t0 + 301 * S), "another event");
        assert_eq!(d.duplicates(), 2);
        assert!(
            d.first_sighting("Ev1", t0 + 600 * S),
            "forgotten after the TTL"
        );
    }

    #[test]
    fn memory_is_bounded_by_expiry_and_capacity() {
        let t0 = Instant::now();
        let mut d = Dedupe::new(10 * S, 3);
        for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
            assert!(d.first_sighting(id, t0 + S * u32::try_from(i).unwrap()));
        }
        assert_eq!(d.len(), 3, "capacity");
        assert!(d.first_sighting("a", t0 + 4 * S), "the oldest went first");
        assert!(!d.first_sighting("d", t0 + 4 * S));
        // All expire.
        assert!(d.first_sighting("z", t0 + 60 * S));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn many_ids_stay_within_the_cap() {
        let t0 = Instant::now();
        let mut d = Dedupe::new(DEDUPE_TTL, 1000);
        for i in 0..10_000 {
            assert!(d.first_sighting(&format!("Ev{i}"), t0));
        }
        assert_eq!(d.len(), 1000);
        assert_eq!(d.order.len(), 1000);
    }
}
