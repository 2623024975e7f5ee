//! The pinger thread: the hello and pong deadlines, keepalive pings, writing what the reader
//! queued (control replies), and the protocol's timers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::link::Link;
use super::protocol::Protocol;
use super::rules::Action;

/// How long the pinger sleeps with nothing scheduled. Anything that schedules work (a new
/// connection, `hello`, a queued message, bytes waiting, a stop) wakes it early.
const IDLE: Duration = Duration::from_secs(60);

pub(crate) fn run<P: Protocol>(p: Arc<P>) {
    let core = p.core();
    // A write here waits at most this long: a server that does not take our bytes within the
    // pong deadline is as dead as one that does not answer.
    let write_bound = if core.settings.ping_interval.is_zero() {
        None
    } else {
        Some(core.settings.pong_deadline.max(Duration::from_secs(1)))
    };
    // Work at once on start: kicks sent before this thread ran are not seen.
    let mut wait = Duration::ZERO;
    let mut seen = core.kicks();
    while !core.wait_kickable(wait, seen) {
        // Sampled before the work, so a kick during it wakes the next wait at once.
        seen = core.kicks();
        wait = IDLE;
        for link in core.links() {
            wait = wait.min(tend(&*p, &link, write_bound));
        }
    }
}

/// One connection's turn: write what waits, keepalive, the protocol's timers. Returns how long
/// until it needs the pinger again.
fn tend<P: Protocol>(p: &P, link: &Arc<Link>, write_bound: Option<Duration>) -> Duration {
    if link.conn.has_pending_writes() {
        let deadline = write_bound.map(|b| Instant::now() + b);
        if let Err(e) = link.conn.flush_out(deadline) {
            log::debug!("writing queued bytes failed: {e:?}");
            link.end("write failed", false);
            return IDLE;
        }
    }
    let now = Instant::now();
    let action = link.rules().poll(now);
    let mut wait = IDLE;
    match action {
        Action::Ping => {
            p.ping(link);
            wait = Duration::ZERO;
        }
        Action::Dead(why) => {
            log::warn!("{why}: dropping the connection");
            link.end(&why, false);
            return IDLE;
        }
        Action::Wait(d) => wait = wait.min(d),
    }
    if link.is_ready() {
        if let Some(next) = p.on_timer(link, now) {
            wait = wait.min(next);
        }
    }
    wait
}
