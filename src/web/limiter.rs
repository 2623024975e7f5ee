//! The optional client-side rate limiter (`WebClientBuilder::rate_limit(true)`), free of I/O:
//! each call asks for a slot and gets the time to wait for it; the caller sleeps.
//!
//! Slack limits each Web API method per workspace and app by *tier* (the "Rate Limits" page of
//! the Slack API documentation, and each method's reference page). The limiter keeps one budget
//! per method (per channel for `chat.postMessage`) as a token bucket: up to `burst` calls at
//! once, then one per `interval`.
//!
//! | tier | Slack's figure | burst | one call per | methods with helpers here |
//! | --- | --- | --- | --- | --- |
//! | 1 | 1+ per minute | 1 | 60 s | `rtm.connect`, `rtm.start`, `apps.connections.open` |
//! | 2 | 20+ per minute | 3 | 3 s | `conversations.list`, `users.list`, `reactions.remove` |
//! | 3 | 50+ per minute | 5 | 1.2 s | `chat.update`, `chat.delete`, `reactions.add`, `conversations.history`, `conversations.replies`, `conversations.info`, `conversations.open`, `conversations.join`, and any method not listed |
//! | 4 | 100+ per minute | 10 | 0.6 s | `chat.postEphemeral`, `chat.getPermalink`, `conversations.members`, `users.info`, `auth.test`, `views.*`, `files.getUploadURLExternal`, `files.completeUploadExternal`, `files.info` |
//! | special | ~1 per second per channel, short bursts | 3 per channel | 1 s | `chat.postMessage` |
//!
//! (`chat.getPermalink` and `auth.test` are "special" at Slack with generous limits; Tier 4 is
//! used for them. Since 2025 Slack limits `conversations.history` and `conversations.replies`
//! to 1 per minute for commercially distributed apps outside the Marketplace; the table keeps
//! Tier 3, the figure for internal and Marketplace apps.) A 429 answer still wins: its
//! `Retry-After` pushes the method's next slot out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A budget: `burst` calls at once, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub burst: u32,
    pub interval: Duration,
}

const TIER1: Budget = Budget {
    burst: 1,
    interval: Duration::from_secs(60),
};
const TIER2: Budget = Budget {
    burst: 3,
    interval: Duration::from_secs(3),
};
const TIER3: Budget = Budget {
    burst: 5,
    interval: Duration::from_millis(1200),
};
const TIER4: Budget = Budget {
    burst: 10,
    interval: Duration::from_millis(600),
};
/// `chat.postMessage`, per channel.
const POST_MESSAGE: Budget = Budget {
    burst: 3,
    interval: Duration::from_secs(1),
};

/// The budget of `method`.
pub(crate) fn budget(method: &str) -> Budget {
    match method {
        "chat.postMessage" => POST_MESSAGE,
        "rtm.connect" | "rtm.start" | "apps.connections.open" => TIER1,
        "conversations.list" | "users.list" | "reactions.remove" | "reactions.list" => TIER2,
        "chat.postEphemeral"
        | "chat.getPermalink"
        | "conversations.members"
        | "users.info"
        | "auth.test"
        | "files.getUploadURLExternal"
        | "files.completeUploadExternal"
        | "files.info" => TIER4,
        m if m.starts_with("views.") => TIER4,
        _ => TIER3,
    }
}

/// The longest `Retry-After` the limiter believes: a larger one holds the method for an hour.
pub(crate) const MAX_PENALTY: Duration = Duration::from_secs(3600);

/// How many buckets are kept before idle ones are dropped.
const MAX_BUCKETS: usize = 1024;

/// The buckets: for each (method, channel) the time its budget is fully spent until
/// (the "theoretical arrival time" of the generic cell rate algorithm).
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: HashMap<(String, Option<String>), Instant>,
}

impl Limiter {
    /// Takes a slot for a call to `method` (in `channel`, which only `chat.postMessage` uses)
    /// at `now`, and returns how long to wait before making the call. The slot is reserved:
    /// concurrent callers queue one interval apart.
    pub(crate) fn acquire(
        &mut self,
        method: &str,
        channel: Option<&str>,
        now: Instant,
    ) -> Duration {
        let b = budget(method);
        if self.buckets.len() >= MAX_BUCKETS {
            self.buckets.retain(|_, tat| *tat > now);
        }
        let tat = self.buckets.entry(key(method, channel)).or_insert(now);
        let start = (*tat).max(now);
        let allowance = b.interval.saturating_mul(b.burst.saturating_sub(1));
        let wait = start
            .saturating_duration_since(now)
            .saturating_sub(allowance);
        *tat = start + b.interval;
        wait
    }

    /// How long a call to `method` at `now` would wait for its slot, without taking it.
    pub(crate) fn wait(&self, method: &str, channel: Option<&str>, now: Instant) -> Duration {
        let b = budget(method);
        let allowance = b.interval.saturating_mul(b.burst.saturating_sub(1));
        self.buckets
            .get(&key(method, channel))
            .map_or(Duration::ZERO, |tat| {
                tat.saturating_duration_since(now).saturating_sub(allowance)
            })
    }

    /// Slack answered 429 with `Retry-After`: no slot for `method` before `now + after`. The
    /// delay is Slack's to say, so it is believed up to [`MAX_PENALTY`] only.
    pub(crate) fn penalize(
        &mut self,
        method: &str,
        channel: Option<&str>,
        now: Instant,
        after: Duration,
    ) {
        let b = budget(method);
        let allowance = b.interval.saturating_mul(b.burst.saturating_sub(1));
        let until = now
            .checked_add(after.min(MAX_PENALTY).saturating_add(allowance))
            .unwrap_or(now);
        let tat = self.buckets.entry(key(method, channel)).or_insert(now);
        *tat = (*tat).max(until);
    }
}

fn key(method: &str, channel: Option<&str>) -> (String, Option<String>) {
    let channel = if method == "chat.postMessage" {
        channel.map(str::to_string)
    } else {
        None
    };
    (method.to_string(), channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_burst_then_one_per_interval() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        // Tier 2: three at once, then one per 3 s.
        for _ in 0..3 {
            assert_eq!(l.acquire("users.list", None, t0), Duration::ZERO);
        }
        assert_eq!(l.acquire("users.list", None, t0), Duration::from_secs(3));
        assert_eq!(l.acquire("users.list", None, t0), Duration::from_secs(6));
        // Time passing refills the bucket.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(l.acquire("users.list", None, later), Duration::ZERO);
        // Other methods have their own budget.
        assert_eq!(l.acquire("conversations.list", None, t0), Duration::ZERO);
    }

    #[test]
    fn post_message_is_per_channel() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(
                l.acquire("chat.postMessage", Some("C1"), t0),
                Duration::ZERO
            );
        }
        assert_eq!(
            l.acquire("chat.postMessage", Some("C1"), t0),
            Duration::from_secs(1)
        );
        assert_eq!(
            l.acquire("chat.postMessage", Some("C2"), t0),
            Duration::ZERO
        );
        // Half a second later the 5th call in C1 waits 1.5 s.
        assert_eq!(
            l.acquire("chat.postMessage", Some("C1"), t0 + 500 * MS),
            1500 * MS
        );
        // The channel is ignored for other methods.
        let mut l = Limiter::default();
        assert_eq!(l.acquire("rtm.connect", Some("C1"), t0), Duration::ZERO);
        assert_eq!(
            l.acquire("rtm.connect", Some("C2"), t0),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn the_tier_table() {
        assert_eq!(budget("rtm.connect"), TIER1);
        assert_eq!(budget("conversations.list"), TIER2);
        assert_eq!(budget("conversations.history"), TIER3);
        assert_eq!(budget("admin.unknown.method"), TIER3);
        assert_eq!(budget("users.info"), TIER4);
        assert_eq!(budget("views.open"), TIER4);
        assert_eq!(budget("chat.postMessage"), POST_MESSAGE);
    }

    #[test]
    fn a_retry_after_pushes_the_next_slot() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        l.penalize("users.info", None, t0, Duration::from_secs(5));
        assert_eq!(l.acquire("users.info", None, t0), Duration::from_secs(5));
        assert_eq!(
            l.acquire("users.info", None, t0 + Duration::from_secs(5)),
            600 * MS
        );
    }

    #[test]
    fn a_huge_retry_after_is_capped_not_a_panic() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for secs in [u64::MAX, 1 << 63, 1 << 62] {
            l.penalize("users.info", None, t0, Duration::from_secs(secs));
            l.penalize("chat.postMessage", Some("C1"), t0, Duration::MAX);
        }
        assert_eq!(l.wait("users.info", None, t0), MAX_PENALTY);
        assert_eq!(l.wait("chat.postMessage", Some("C1"), t0), MAX_PENALTY);
        // Looking does not take the slot.
        assert_eq!(l.wait("users.info", None, t0), MAX_PENALTY);
        assert_eq!(l.acquire("users.info", None, t0), MAX_PENALTY);
        assert_eq!(l.wait("users.info", None, t0), MAX_PENALTY + 600 * MS);
        assert_eq!(l.wait("auth.test", None, t0), Duration::ZERO);
    }

    #[test]
    fn buckets_are_bounded() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..3000 {
            l.acquire("chat.postMessage", Some(&format!("C{i}")), t0 + i * MS);
        }
        assert!(l.buckets.len() <= MAX_BUCKETS + 1, "{}", l.buckets.len());
    }
}
