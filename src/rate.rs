//! A token bucket, for the connect-rate gate and the send throttle.

use std::time::{Duration, Instant};

/// A token bucket: up to `burst` in a row, refilled at one per `interval`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    burst: f64,
    interval: Duration,
    tokens: f64,
    at: Option<Instant>,
}

impl TokenBucket {
    pub(crate) fn new(burst: u32, interval: Duration) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            burst,
            interval,
            tokens: burst,
            at: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(at) = self.at {
            if now <= at {
                return;
            }
            let earned = if self.interval.is_zero() {
                self.burst
            } else {
                now.saturating_duration_since(at).as_secs_f64() / self.interval.as_secs_f64()
            };
            self.tokens = (self.tokens + earned).min(self.burst);
        }
        self.at = Some(now);
    }

    /// Time until the next token.
    pub(crate) fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            self.interval.mul_f64(1.0 - self.tokens)
        }
    }

    /// Takes a token at `at` (now, or the end of the wait).
    pub(crate) fn record(&mut self, at: Instant) {
        self.refill(at);
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_burst_then_one_per_interval() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, S);
        for _ in 0..3 {
            assert_eq!(b.wait(t0), Duration::ZERO);
            b.record(t0);
        }
        assert_eq!(b.wait(t0), S);
        assert_eq!(b.wait(t0 + S / 2), S / 2);
        assert_eq!(b.wait(t0 + S), Duration::ZERO);
        b.record(t0 + S);
        assert_eq!(b.wait(t0 + S), S);
        // A long pause refills at most `burst` tokens.
        assert_eq!(b.wait(t0 + 100 * S), Duration::ZERO);
        for _ in 0..3 {
            b.record(t0 + 100 * S);
        }
        assert_eq!(b.wait(t0 + 100 * S), S);
    }
}
