//! `rtm-pinger`: RTM pings every `ping_interval`, the dead-connection verdict, and the release
//! of throttled or held `message` frames.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{write, Link, RtmHandle, Shared};
use crate::session::KeepaliveAction;

/// How long the pinger sleeps with nothing scheduled. Anything that schedules work (a new
/// connection, `hello`, a queued message, a stop) wakes it early, so this is only a backstop.
const IDLE: Duration = Duration::from_secs(60);

pub(crate) fn run(shared: Arc<Shared>, handle: RtmHandle) {
    // Work at once on start: kicks sent before this thread ran are not seen.
    let mut wait = Duration::ZERO;
    let mut seen = shared.kicks();
    while !shared.wait_kickable(wait, seen) {
        // Sampled before the work, so a kick during it wakes the next wait at once.
        seen = shared.kicks();
        wait = IDLE;
        let Some(link) = shared.link() else { continue };
        if !link.first_frame.load(Ordering::Acquire) {
            // Slack's first frame is `hello`; a server that never sends it is as good as dead.
            let limit = shared.config.net.timeout.min(crate::transport::MAX_TIMEOUT);
            let waited = link.opened.elapsed();
            if waited >= limit {
                log::warn!(
                    "no hello within {} ms of connecting: dropping the connection",
                    limit.as_millis()
                );
                link.end("no hello from Slack", false);
            } else {
                wait = limit - waited;
            }
            continue;
        }
        if !link.hello.load(Ordering::Acquire) {
            // hello has arrived but its handlers have not run yet: nothing to ping or release.
            continue;
        }
        if let Some(next) = release_messages(&shared, &link) {
            wait = wait.min(next);
        }
        let action = link.keepalive().poll(Instant::now());
        match action {
            KeepaliveAction::Ping => {
                if let Err(e) = handle.ping() {
                    log::debug!("ping not sent: {e}");
                }
                wait = Duration::ZERO;
            }
            KeepaliveAction::Dead(silent) => {
                log::warn!(
                    "no frame from Slack for {} ms after a ping: dropping the connection",
                    silent.as_millis()
                );
                link.end("missed pong", false);
            }
            KeepaliveAction::Wait(d) => wait = wait.min(d),
        }
    }
}

/// Writes the queued messages that are due; returns when the next one is.
fn release_messages(shared: &Shared, link: &Link) -> Option<Duration> {
    let mut outbox = shared.outbox();
    let now = Instant::now();
    while let Some(out) = outbox.pop_due(now, true) {
        if write(link, out.id, out.text, out.reply, Some(&mut outbox)).is_err() {
            return None;
        }
    }
    outbox.next_due(now, true)
}
