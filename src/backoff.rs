//! The reconnect policy: jittered exponential backoff, `Retry-After` floors, a connect-rate
//! gate, and when to give up. The caller supplies the time and the randomness.

use std::time::{Duration, Instant};

use crate::rate::TokenBucket;

/// The reconnect decisions of one client run.
#[derive(Debug)]
pub(crate) struct Reconnect {
    base: Duration,
    cap: Duration,
    healthy_after: Duration,
    max_attempts: Option<u32>,
    gate: TokenBucket,
    /// Failed attempts (or short-lived connections) since the last healthy connection.
    attempt: u32,
    connected_at: Option<Instant>,
}

impl Reconnect {
    pub(crate) fn new(
        base: Duration,
        cap: Duration,
        healthy_after: Duration,
        max_attempts: Option<u32>,
        burst: u32,
        interval: Duration,
    ) -> Reconnect {
        Reconnect {
            base,
            cap,
            healthy_after,
            max_attempts,
            gate: TokenBucket::new(burst, interval),
            attempt: 0,
            connected_at: None,
        }
    }

    /// The number of the next attempt, counted from 1 after each healthy connection.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt.saturating_add(1)
    }

    /// How long to wait before calling `rtm.connect` (the rate gate), and records the call.
    pub(crate) fn before_connect(&mut self, now: Instant) -> Duration {
        let wait = self.gate.wait(now);
        self.gate.record(now + wait);
        wait
    }

    /// A websocket opened.
    pub(crate) fn on_connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// A connection attempt failed. `None`: give up (attempts exhausted).
    pub(crate) fn after_failure(
        &mut self,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        self.attempt = self.attempt.saturating_add(1);
        if self.exhausted() {
            return None;
        }
        // A Retry-After beyond an hour is not believed (it would park the client for good).
        let floor = retry_after
            .unwrap_or_default()
            .min(Duration::from_secs(3600));
        Some(self.delay(jitter).max(floor))
    }

    fn exhausted(&self) -> bool {
        self.max_attempts.is_some_and(|m| self.attempt >= m)
    }

    /// An open connection ended. A connection that stayed up for `healthy_after` resets the
    /// attempt counter, and the first retry after it is immediate. One that never became
    /// healthy counts as a failed attempt: `None` when that exhausts `max_attempts`.
    /// `spoke`: the server sent at least one frame (a silent connection is never healthy).
    pub(crate) fn after_disconnect(
        &mut self,
        now: Instant,
        spoke: bool,
        jitter: f64,
    ) -> Option<Duration> {
        let healthy = spoke
            && self
                .connected_at
                .take()
                .is_some_and(|t| now.duration_since(t) >= self.healthy_after);
        self.connected_at = None;
        if healthy {
            self.attempt = 0;
            return Some(Duration::ZERO);
        }
        self.attempt = self.attempt.saturating_add(1);
        if self.exhausted() {
            return None;
        }
        Some(self.delay(jitter))
    }

    /// Full jitter: uniform in `0..=min(cap, base * 2^(attempt-1))`.
    fn delay(&self, jitter: f64) -> Duration {
        let exp = self.attempt.saturating_sub(1).min(31);
        let ceiling = self
            .base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Socket Mode's delay after `too_many_websockets`: exponential from `base` to `cap`, with
/// *equal* jitter (never below half the step), so that a client over
/// the cap never storms Slack. Reset once a socket says `hello`.
#[derive(Debug)]
pub(crate) struct CapBackoff {
    base: Duration,
    cap: Duration,
    inner: Reconnect,
}

impl CapBackoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> CapBackoff {
        CapBackoff {
            base,
            cap,
            inner: CapBackoff::policy(base, cap),
        }
    }

    fn policy(base: Duration, cap: Duration) -> Reconnect {
        // Only the exponential part is used: no attempt limit, no gate (the engine's own
        // connect-rate gate still applies to every apps.connections.open call).
        Reconnect::new(base, cap, Duration::MAX, None, u32::MAX, Duration::ZERO)
    }

    /// The delay before the next dial; `jitter` is uniform in `0.0..=1.0`.
    pub(crate) fn next_delay(&mut self, jitter: f64) -> Duration {
        let equal = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
        self.inner.after_failure(None, equal).unwrap_or(self.cap)
    }

    /// A socket said `hello`: the cap is no longer in the way.
    pub(crate) fn reset(&mut self) {
        self.inner = CapBackoff::policy(self.base, self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn policy() -> Reconnect {
        Reconnect::new(S, 8 * S, 30 * S, None, 3, 60 * S)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let mut r = policy();
        let delays: Vec<_> = (0..6)
            .map(|_| r.after_failure(None, 1.0).unwrap())
            .collect();
        assert_eq!(delays, [S, 2 * S, 4 * S, 8 * S, 8 * S, 8 * S]);
        assert_eq!(r.after_failure(None, 0.0), Some(Duration::ZERO));
        assert_eq!(r.after_failure(None, 0.5), Some(4 * S));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut r = policy();
        assert_eq!(r.after_failure(Some(7 * S), 0.0), Some(7 * S));
    }

    #[test]
    fn only_a_healthy_connection_resets_the_counter() {
        let t0 = Instant::now();
        let mut r = policy();
        r.after_failure(None, 1.0);
        r.after_failure(None, 1.0);
        r.on_connected(t0);
        // Dropped after 5 s: not healthy, the counter keeps growing.
        assert_eq!(r.after_disconnect(t0 + 5 * S, true, 1.0), Some(4 * S));
        r.on_connected(t0 + 10 * S);
        assert_eq!(
            r.after_disconnect(t0 + 50 * S, true, 1.0),
            Some(Duration::ZERO)
        );
        assert_eq!(r.attempt(), 1);
        // A long but silent connection does not reset the counter.
        r.on_connected(t0 + 60 * S);
        assert_eq!(r.after_disconnect(t0 + 100 * S, false, 1.0), Some(S));
        assert_eq!(r.after_failure(None, 1.0), Some(2 * S));
    }

    #[test]
    fn max_attempts_gives_up() {
        let mut r = Reconnect::new(S, 8 * S, 30 * S, Some(2), 3, 60 * S);
        assert!(r.after_failure(None, 1.0).is_some());
        assert!(r.after_failure(None, 1.0).is_none());
    }

    #[test]
    fn connections_that_never_became_healthy_count_toward_max_attempts() {
        let t0 = Instant::now();
        let mut r = Reconnect::new(S, 8 * S, 30 * S, Some(3), 3, 60 * S);
        r.on_connected(t0);
        assert!(r.after_disconnect(t0, true, 1.0).is_some());
        r.on_connected(t0);
        assert!(r.after_disconnect(t0, false, 1.0).is_some());
        r.on_connected(t0);
        assert_eq!(
            r.after_disconnect(t0, true, 1.0),
            None,
            "third quick drop gives up"
        );
        // A healthy connection resets the count.
        let mut r = Reconnect::new(S, 8 * S, 30 * S, Some(2), 3, 60 * S);
        r.on_connected(t0);
        assert!(r.after_disconnect(t0, true, 1.0).is_some());
        r.on_connected(t0);
        assert_eq!(
            r.after_disconnect(t0 + 60 * S, true, 1.0),
            Some(Duration::ZERO)
        );
        r.on_connected(t0 + 61 * S);
        assert!(r.after_disconnect(t0 + 61 * S, true, 1.0).is_some());
    }

    #[test]
    fn the_attempt_counter_saturates() {
        let mut r = Reconnect::new(S, 8 * S, 30 * S, None, 3, 60 * S);
        r.attempt = u32::MAX - 1;
        assert!(r.after_failure(None, 1.0).is_some());
        assert!(r.after_failure(None, 1.0).is_some());
        assert_eq!(r.attempt(), u32::MAX);
    }

    #[test]
    fn the_gate_allows_a_burst_then_one_per_interval() {
        let t0 = Instant::now();
        let mut r = policy();
        for _ in 0..3 {
            assert_eq!(r.before_connect(t0), Duration::ZERO);
        }
        assert_eq!(
            r.before_connect(t0),
            60 * S,
            "the fourth waits one interval"
        );
        assert_eq!(
            r.before_connect(t0 + 60 * S),
            60 * S,
            "the fifth waits for the next token"
        );
        // Spread out at one per interval, nothing waits.
        let mut r = policy();
        for i in 0..10 {
            assert_eq!(r.before_connect(t0 + i * 60 * S), Duration::ZERO);
        }
    }

    #[test]
    fn too_many_websockets_backs_off_exponentially_without_a_storm() {
        let mut b = CapBackoff::new(2 * S, 300 * S);
        let lows: Vec<_> = (0..9).map(|_| b.next_delay(0.0)).collect();
        assert_eq!(
            lows,
            [
                S,
                2 * S,
                4 * S,
                8 * S,
                16 * S,
                32 * S,
                64 * S,
                128 * S,
                150 * S
            ],
            "never below half the step, even with zero jitter"
        );
        b.reset();
        assert_eq!(b.next_delay(1.0), 2 * S);
        assert_eq!(b.next_delay(1.0), 4 * S);
        // In the first minute, at most a handful of dials whatever the jitter.
        let mut b = CapBackoff::new(2 * S, 300 * S);
        let mut t = Duration::ZERO;
        let mut dials = 1;
        while t < 60 * S {
            t += b.next_delay(0.0);
            dials += 1;
        }
        assert!(dials <= 7, "{dials} dials in a minute");
    }
}
