//! I/O-free connection rules shared by every protocol: the hello deadline, the ping schedule
//! and the dead-connection deadline, and what a connection's end means (reconnect or not, after
//! how long, and the `close` event's data). Everything takes `now` and inputs and returns what
//! to do; the threads only carry it out.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backoff::Reconnect;

/// What the pinger does for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing due for this long.
    Wait(Duration),
    /// Send a keepalive ping now.
    Ping,
    /// The connection is dead: drop it, for this reason.
    Dead(String),
}

/// The rules of one connection: `hello` within `hello_within` of the websocket opening,
/// whatever arrives before it; then pings and the pong deadline ([`Keepalive`]). While the
/// reader waits behind slow handlers, no verdict is reached (frames cannot be seen).
#[derive(Debug)]
pub(crate) struct ConnRules {
    hello_due: Instant,
    hello_within: Duration,
    ready: bool,
    suspended_at: Option<Instant>,
    keepalive: Keepalive,
}

impl ConnRules {
    pub(crate) fn new(
        now: Instant,
        hello_within: Duration,
        interval: Duration,
        deadline: Duration,
    ) -> ConnRules {
        ConnRules {
            hello_due: now.checked_add(hello_within).unwrap_or(now),
            hello_within,
            ready: false,
            suspended_at: None,
            keepalive: Keepalive::new(now, interval, deadline),
        }
    }

    /// Counts the pong deadline from the last inbound frame (see [`Keepalive::counting_silence`]).
    pub(crate) fn counting_silence(mut self, now: Instant) -> ConnRules {
        self.keepalive = self.keepalive.counting_silence(now);
        self
    }

    /// `hello` arrived: pings start one interval from now.
    pub(crate) fn on_ready(&mut self, now: Instant) {
        self.ready = true;
        self.keepalive.restart(now);
    }

    /// Bytes arrived from the server.
    pub(crate) fn on_inbound(&mut self, now: Instant) {
        self.keepalive.on_inbound(now);
    }

    /// The reader is blocked behind the handlers.
    pub(crate) fn suspend(&mut self, now: Instant) {
        if self.suspended_at.is_none() {
            self.suspended_at = Some(now);
        }
        self.keepalive.suspend();
    }

    /// The reader resumed: deadlines restart (the hello deadline moves by the time suspended).
    pub(crate) fn resume(&mut self, now: Instant) {
        if let Some(at) = self.suspended_at.take() {
            let paused = now.saturating_duration_since(at);
            self.hello_due = self.hello_due.checked_add(paused).unwrap_or(self.hello_due);
        }
        self.keepalive.resume(now);
    }

    pub(crate) fn poll(&mut self, now: Instant) -> Action {
        if !self.ready {
            if self.suspended_at.is_some() {
                return Action::Wait(IDLE_CHECK);
            }
            if now >= self.hello_due {
                return Action::Dead(format!(
                    "no hello within {} ms of connecting",
                    self.hello_within.as_millis()
                ));
            }
            return Action::Wait(self.hello_due - now);
        }
        match self.keepalive.poll(now) {
            KeepaliveAction::Wait(d) => Action::Wait(d),
            KeepaliveAction::Ping => Action::Ping,
            KeepaliveAction::Dead(silent) => Action::Dead(format!(
                "missed pong: no frame for {} ms after a ping",
                silent.as_millis()
            )),
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// A stop was requested.
    Stopped,
    /// The connection was lost or closed (by the server, the network, or us on purpose).
    Lost { code: Option<u16>, reason: String },
}

/// What follows the end of a connection: the `close` event's data and whether (and when) to
/// reconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closing {
    pub code: Option<u16>,
    pub reason: String,
    pub will_reconnect: bool,
    /// The number of the next attempt (0 when not reconnecting).
    pub attempt: u32,
    /// The wait before reconnecting; `None` when not reconnecting.
    pub delay: Option<Duration>,
    /// Reconnecting stopped because `max_attempts` ran out.
    pub gave_up: bool,
    /// The connection's number.
    pub connection: u64,
    /// The server's stated reason (Socket Mode's `disconnect` reason), if it gave one.
    pub disconnect_reason: Option<String>,
}

impl Closing {
    /// Decides what follows `end`. `spoke`: the server sent at least one frame.
    pub(crate) fn decide(
        end: End,
        auto_reconnect: bool,
        policy: &mut Reconnect,
        now: Instant,
        spoke: bool,
        jitter: f64,
    ) -> Closing {
        let stopped = end == End::Stopped;
        let (code, reason) = match end {
            End::Stopped => (Some(1000), "client stopped".to_string()),
            End::Lost { code, reason } => (code, reason),
        };
        let (delay, gave_up) = if stopped || !auto_reconnect {
            (None, false)
        } else {
            match policy.after_disconnect(now, spoke, jitter) {
                Some(d) => (Some(d), false),
                None => (None, true),
            }
        };
        Closing {
            code,
            reason,
            will_reconnect: delay.is_some(),
            attempt: if delay.is_some() { policy.attempt() } else { 0 },
            delay,
            gave_up,
            connection: 0,
            disconnect_reason: None,
        }
    }

    /// The same, naming the connection and the server's reason.
    pub(crate) fn of(mut self, connection: u64, disconnect_reason: Option<String>) -> Closing {
        self.connection = connection;
        self.disconnect_reason = disconnect_reason;
        self
    }

    /// The `close` event's data.
    pub(crate) fn data(&self) -> Value {
        let mut data = json!({
            "code": self.code,
            "reason": self.reason,
            "will_reconnect": self.will_reconnect,
            "attempt": self.attempt,
            "delay_ms": self.delay.map(|d| d.as_millis() as u64).unwrap_or(0),
            "connection": self.connection,
        });
        if let Some(why) = &self.disconnect_reason {
            data["disconnect_reason"] = json!(why);
        }
        data
    }
}

/// The data of a client-side `error` event.
pub(crate) fn client_error(kind: &str, message: &str) -> Value {
    json!({"source": "client", "kind": kind, "message": message})
}

/// What the pinger should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveAction {
    /// Send an RTM ping now.
    Ping,
    /// Nothing arrived within the deadline after a ping: drop the connection.
    Dead(Duration),
    /// Check again after this long.
    Wait(Duration),
}

/// The ping schedule and the dead-connection deadline of one connection.
///
/// A ping is due every `interval`. After a ping, some frame (any frame counts as life) must
/// arrive within `deadline`. While the reader waits on a full channel, inbound frames cannot be
/// seen, so the deadline is suspended and restarts when the reader resumes. An `interval` of
/// zero disables both pings and the deadline.
#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Duration,
    deadline: Duration,
    next_ping: Instant,
    awaiting_since: Option<Instant>,
    suspended: bool,
    /// The deadline counts from the last inbound frame, not from the last ping (Socket Mode:
    /// "silence past `pong_timeout`").
    silence: bool,
}

/// How long the pinger sleeps when there is nothing to schedule (pings off).
const IDLE_CHECK: Duration = Duration::from_secs(60);

impl Keepalive {
    /// Pings start one interval from `now` (the connection became ready).
    pub(crate) fn restart(&mut self, now: Instant) {
        self.next_ping = now.checked_add(self.interval).unwrap_or(now);
        self.awaiting_since = self.silence.then_some(now);
    }

    /// Counts the deadline from the last inbound frame (any silence that long is death),
    /// instead of from each ping.
    pub(crate) fn counting_silence(mut self, now: Instant) -> Keepalive {
        self.silence = true;
        self.awaiting_since = Some(now);
        self
    }

    pub(crate) fn new(now: Instant, interval: Duration, deadline: Duration) -> Keepalive {
        Keepalive {
            interval,
            deadline,
            next_ping: now.checked_add(interval).unwrap_or(now),
            awaiting_since: None,
            suspended: false,
            silence: false,
        }
    }

    /// A frame (or any bytes) arrived.
    pub(crate) fn on_inbound(&mut self, now: Instant) {
        if self.silence {
            self.awaiting_since = Some(now);
        } else if self.awaiting_since.is_some_and(|t| now >= t) {
            self.awaiting_since = None;
        }
    }

    /// The reader is blocked behind the handlers: no verdict until it resumes.
    pub(crate) fn suspend(&mut self) {
        self.suspended = true;
    }

    /// The reader resumed: an outstanding deadline starts again from now.
    pub(crate) fn resume(&mut self, now: Instant) {
        self.suspended = false;
        if self.awaiting_since.is_some() {
            self.awaiting_since = Some(now);
        }
    }

    pub(crate) fn poll(&mut self, now: Instant) -> KeepaliveAction {
        if self.interval.is_zero() {
            return KeepaliveAction::Wait(IDLE_CHECK);
        }
        if let Some(since) = self.awaiting_since {
            if !self.suspended && now.duration_since(since) >= self.deadline {
                return KeepaliveAction::Dead(now.duration_since(since));
            }
        }
        if now >= self.next_ping {
            self.next_ping = now.checked_add(self.interval).unwrap_or(now);
            if self.awaiting_since.is_none() {
                self.awaiting_since = Some(now);
            }
            return KeepaliveAction::Ping;
        }
        let mut wake = self.next_ping;
        // While suspended there is no deadline to wake for (resume() restarts it).
        if let (Some(since), false) = (self.awaiting_since, self.suspended) {
            wake = wake.min(since.checked_add(self.deadline).unwrap_or(wake));
        }
        KeepaliveAction::Wait(wake.saturating_duration_since(now))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn pings_every_interval_and_dies_without_an_answer() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(
            k.poll(t0),
            KeepaliveAction::Wait(5 * S),
            "sleeps until the ping is due"
        );
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        assert!(matches!(k.poll(t0 + 6 * S), KeepaliveAction::Wait(_)));
        assert!(matches!(k.poll(t0 + 7 * S), KeepaliveAction::Dead(_)));
    }

    #[test]
    fn any_inbound_frame_after_the_ping_counts_as_life() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        k.on_inbound(t0 + 6 * S);
        assert!(matches!(k.poll(t0 + 8 * S), KeepaliveAction::Wait(_)));
        assert_eq!(k.poll(t0 + 10 * S), KeepaliveAction::Ping);
    }

    #[test]
    fn a_blocked_reader_never_causes_a_dead_verdict() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        k.suspend();
        assert!(!matches!(k.poll(t0 + 60 * S), KeepaliveAction::Dead(_)));
        k.resume(t0 + 61 * S);
        assert!(!matches!(k.poll(t0 + 62 * S), KeepaliveAction::Dead(_)));
        assert!(matches!(k.poll(t0 + 63 * S), KeepaliveAction::Dead(_)));
    }

    #[test]
    fn a_suspended_deadline_does_not_make_the_pinger_spin() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, 5 * S, 2 * S);
        assert_eq!(k.poll(t0 + 5 * S), KeepaliveAction::Ping);
        k.suspend();
        assert_eq!(
            k.poll(t0 + 8 * S),
            KeepaliveAction::Wait(2 * S),
            "sleeps to the next ping"
        );
    }

    #[test]
    fn zero_interval_disables_pings_and_deadline() {
        let t0 = Instant::now();
        let mut k = Keepalive::new(t0, Duration::ZERO, 2 * S);
        for s in [0, 10, 1000] {
            assert_eq!(k.poll(t0 + s * S), KeepaliveAction::Wait(IDLE_CHECK));
        }
    }
    #[test]
    fn counting_silence_the_deadline_runs_from_the_last_inbound_frame() {
        let t0 = Instant::now();
        // Pings every 10 s, dead after 20 s of silence (Socket Mode's defaults).
        let mut k = Keepalive::new(t0, 10 * S, 20 * S).counting_silence(t0);
        assert_eq!(k.poll(t0 + 10 * S), KeepaliveAction::Ping);
        k.on_inbound(t0 + 12 * S);
        assert_eq!(k.poll(t0 + 20 * S), KeepaliveAction::Ping);
        assert!(!matches!(k.poll(t0 + 31 * S), KeepaliveAction::Dead(_)));
        // 20 s after the last frame, not 20 s after the last ping.
        assert!(matches!(k.poll(t0 + 32 * S), KeepaliveAction::Dead(_)));
        // Without the mode, the same silence is still alive at 32 s (the ping at 20 s counts).
        let mut k = Keepalive::new(t0, 10 * S, 20 * S);
        assert_eq!(k.poll(t0 + 10 * S), KeepaliveAction::Ping);
        k.on_inbound(t0 + 12 * S);
        assert_eq!(k.poll(t0 + 20 * S), KeepaliveAction::Ping);
        assert!(!matches!(k.poll(t0 + 32 * S), KeepaliveAction::Dead(_)));
    }

    #[test]
    fn the_hello_deadline_holds_whatever_arrives_before_hello() {
        let t0 = Instant::now();
        let mut r = ConnRules::new(t0, 10 * S, 5 * S, 5 * S);
        assert_eq!(r.poll(t0), Action::Wait(10 * S));
        // An event before hello is life, but not readiness: no pings, the deadline stands.
        r.on_inbound(t0 + S);
        assert_eq!(r.poll(t0 + 6 * S), Action::Wait(4 * S));
        assert!(matches!(r.poll(t0 + 10 * S), Action::Dead(why) if why.contains("no hello")));
    }

    #[test]
    fn hello_starts_the_pings_and_the_pong_deadline() {
        let t0 = Instant::now();
        let mut r = ConnRules::new(t0, 10 * S, 5 * S, 2 * S);
        r.on_ready(t0 + 3 * S);
        assert_eq!(r.poll(t0 + 3 * S), Action::Wait(5 * S));
        assert_eq!(r.poll(t0 + 8 * S), Action::Ping);
        assert!(matches!(r.poll(t0 + 10 * S), Action::Dead(why) if why.contains("missed pong")));
    }

    #[test]
    fn a_reader_blocked_before_hello_moves_the_hello_deadline() {
        let t0 = Instant::now();
        let mut r = ConnRules::new(t0, 10 * S, 5 * S, 5 * S);
        r.suspend(t0 + 2 * S);
        assert_eq!(r.poll(t0 + 30 * S), Action::Wait(IDLE_CHECK));
        r.resume(t0 + 32 * S);
        // 30 s were suspended: due at 40 s.
        assert_eq!(r.poll(t0 + 32 * S), Action::Wait(8 * S));
        assert!(matches!(r.poll(t0 + 40 * S), Action::Dead(_)));
    }

    fn policy(max: Option<u32>) -> Reconnect {
        Reconnect::new(S, 8 * S, 30 * S, max, 5, 60 * S)
    }

    #[test]
    fn closing_decisions() {
        let t0 = Instant::now();
        let lost = || End::Lost {
            code: Some(1006),
            reason: "gone".into(),
        };
        // (end, auto_reconnect, max_attempts, will_reconnect, gave_up)
        let table = [
            (End::Stopped, true, None, false, false),
            (lost(), false, None, false, false),
            (lost(), true, None, true, false),
            (lost(), true, Some(1), false, true),
        ];
        for (end, auto, max, will, gave_up) in table {
            let mut p = policy(max);
            p.on_connected(t0);
            let c = Closing::decide(end.clone(), auto, &mut p, t0 + S, true, 1.0);
            assert_eq!(
                (c.will_reconnect, c.gave_up),
                (will, gave_up),
                "{end:?} {auto}"
            );
            assert_eq!(c.delay.is_some(), will);
            let data = c.clone().of(7, Some("warning".into())).data();
            assert_eq!(
                (
                    data["connection"].as_u64(),
                    data["disconnect_reason"].as_str()
                ),
                (Some(7), Some("warning"))
            );
            assert!(c.data().get("disconnect_reason").is_none());
            let data = c.data();
            assert_eq!(data["will_reconnect"], will);
            if end == End::Stopped {
                assert_eq!(data["code"], 1000);
                assert_eq!(data["reason"], "client stopped");
            }
            if !will {
                assert_eq!(data["attempt"], 0);
                assert_eq!(data["delay_ms"], 0);
            }
        }
        // A healthy connection: the first retry is immediate, attempt 1.
        let mut p = policy(None);
        p.on_connected(t0);
        let c = Closing::decide(lost(), true, &mut p, t0 + 60 * S, true, 1.0);
        assert_eq!((c.delay, c.attempt), (Some(Duration::ZERO), 1));
    }
}
