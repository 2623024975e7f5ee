//! The Web API retry policy, free of I/O: given how a call failed, how many retries it had and
//! how long it already waited, retry after how long, or give up.
//!
//! | failure | retried | wait |
//! | --- | --- | --- |
//! | HTTP 429, or `ok:false` with `ratelimited` | always | `Retry-After` (1 s when absent) |
//! | before the request reached Slack: DNS, connect, proxy `CONNECT`, TLS | always | backoff |
//! | HTTP 5xx | with `retry_server_errors(true)` | `Retry-After`, else backoff |
//! | timeout or connection lost after the request was sent | with `retry_server_errors(true)` | backoff |
//! | anything else (`ok:false`, 4xx, configuration) | never | |
//!
//! At most `max_retries` retries (so `max_retries + 1` calls), and never when the waits of one
//! call would add up to more than `max_retry_wait`: the last error is returned instead (with its
//! `Retry-After`). Backoff: `250 ms · 2^n` for the `n`-th retry (from 0), at most 8 s, scaled by
//! a random factor in `[0.5, 1)`.

use std::time::Duration;

use crate::error::Error;

/// The wait when a rate-limited answer carries no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The first backoff delay.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// The longest backoff delay.
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// How a call failed, as the retry policy sees it. Each carries the error returned when no
/// retry follows.
#[derive(Debug)]
pub(crate) enum Failure {
    /// HTTP 429 or a `ratelimited` code, with the `Retry-After` delay.
    RateLimited(Error, Option<Duration>),
    /// The request never reached Slack (DNS, TCP connect, proxy, TLS).
    BeforeSend(Error),
    /// HTTP 5xx, with the `Retry-After` delay.
    Server(Error, Option<Duration>),
    /// A timeout or a lost connection after the request was (maybe) sent.
    AfterSend(Error),
    /// Never retried.
    Final(Error),
}

impl Failure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::RateLimited(e, _)
            | Failure::BeforeSend(e)
            | Failure::Server(e, _)
            | Failure::AfterSend(e)
            | Failure::Final(e) => e,
        }
    }

    pub(crate) fn error(&self) -> &Error {
        match self {
            Failure::RateLimited(e, _)
            | Failure::BeforeSend(e)
            | Failure::Server(e, _)
            | Failure::AfterSend(e)
            | Failure::Final(e) => e,
        }
    }

    /// A short description for the retry log line.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Failure::RateLimited(..) => "rate limited",
            Failure::BeforeSend(_) => "not sent",
            Failure::Server(..) => "server error",
            Failure::AfterSend(_) => "no answer",
            Failure::Final(_) => "failed",
        }
    }
}

/// The retry options of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub max_retries: u32,
    pub retry_server_errors: bool,
    pub max_wait: Duration,
}

impl Policy {
    /// Policy for one call that never retries.
    pub(crate) const NEVER: Policy = Policy {
        max_retries: 0,
        retry_server_errors: false,
        max_wait: Duration::ZERO,
    };

    /// How long to wait before retrying after `failure`, or `None` to give up.
    /// `retries` is how many retries this call had so far, `waited` how long they waited in
    /// total, `jitter` a random number in `[0, 1)`.
    pub(crate) fn next_wait(
        &self,
        failure: &Failure,
        retries: u32,
        waited: Duration,
        jitter: f64,
    ) -> Option<Duration> {
        if retries >= self.max_retries {
            return None;
        }
        let wait = match failure {
            Failure::RateLimited(_, after) => after.unwrap_or(DEFAULT_RETRY_AFTER),
            Failure::BeforeSend(_) => backoff(retries, jitter),
            Failure::Server(_, after) if self.retry_server_errors => {
                after.unwrap_or_else(|| backoff(retries, jitter))
            }
            Failure::AfterSend(_) if self.retry_server_errors => backoff(retries, jitter),
            _ => return None,
        };
        (waited.saturating_add(wait) <= self.max_wait).then_some(wait)
    }
}

/// The backoff before retry `n` (from 0): `250 ms · 2^n`, capped at 8 s, times `[0.5, 1)`.
fn backoff(n: u32, jitter: f64) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1u32 << n.min(16))
        .min(BACKOFF_CAP);
    full.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32, server: bool) -> Policy {
        Policy {
            max_retries,
            retry_server_errors: server,
            max_wait: Duration::from_secs(60),
        }
    }

    fn err() -> Error {
        Error::http("x")
    }

    #[test]
    fn rate_limits_wait_retry_after_up_to_max_retries() {
        let p = policy(3, false);
        let f = Failure::RateLimited(err(), Some(Duration::from_secs(7)));
        for n in 0..3 {
            assert_eq!(
                p.next_wait(&f, n, Duration::ZERO, 0.3),
                Some(Duration::from_secs(7))
            );
        }
        assert_eq!(p.next_wait(&f, 3, Duration::ZERO, 0.3), None);
        let f = Failure::RateLimited(err(), None);
        assert_eq!(
            p.next_wait(&f, 0, Duration::ZERO, 0.3),
            Some(DEFAULT_RETRY_AFTER)
        );
        // Zero retries means none.
        assert_eq!(policy(0, true).next_wait(&f, 0, Duration::ZERO, 0.0), None);
    }

    #[test]
    fn the_total_wait_is_capped() {
        let p = policy(3, false);
        let f = Failure::RateLimited(err(), Some(Duration::from_secs(30)));
        assert!(p.next_wait(&f, 0, Duration::ZERO, 0.0).is_some());
        assert!(p.next_wait(&f, 1, Duration::from_secs(30), 0.0).is_some());
        assert_eq!(p.next_wait(&f, 2, Duration::from_secs(60), 0.0), None);
        let f = Failure::RateLimited(err(), Some(Duration::from_secs(61)));
        assert_eq!(p.next_wait(&f, 0, Duration::ZERO, 0.0), None);
    }

    #[test]
    fn failures_before_sending_back_off() {
        let p = policy(5, false);
        let f = Failure::BeforeSend(err());
        assert_eq!(
            p.next_wait(&f, 0, Duration::ZERO, 0.0),
            Some(Duration::from_millis(125))
        );
        assert_eq!(
            p.next_wait(&f, 2, Duration::ZERO, 0.0),
            Some(Duration::from_millis(500))
        );
        let w = p.next_wait(&f, 2, Duration::ZERO, 0.999).unwrap();
        assert!(
            w < Duration::from_secs(1) && w > Duration::from_millis(990),
            "{w:?}"
        );
        assert_eq!(backoff(30, 0.999).max(BACKOFF_CAP), BACKOFF_CAP);
    }

    #[test]
    fn server_errors_and_lost_answers_only_when_opted_in() {
        let s = Failure::Server(err(), Some(Duration::from_secs(2)));
        let a = Failure::AfterSend(err());
        let off = policy(3, false);
        assert_eq!(off.next_wait(&s, 0, Duration::ZERO, 0.0), None);
        assert_eq!(off.next_wait(&a, 0, Duration::ZERO, 0.0), None);
        let on = policy(3, true);
        assert_eq!(
            on.next_wait(&s, 0, Duration::ZERO, 0.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            on.next_wait(&a, 1, Duration::ZERO, 0.0),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            on.next_wait(&Failure::Final(err()), 0, Duration::ZERO, 0.0),
            None
        );
        assert_eq!(Policy::NEVER.next_wait(&s, 0, Duration::ZERO, 0.0), None);
    }
}
