//! `rtm-pinger`: RTM pings every `ping_interval`, and the dead-connection verdict.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{RtmHandle, Shared};
use crate::session::KeepaliveAction;

pub(crate) fn run(shared: Arc<Shared>, handle: RtmHandle) {
    let mut wait = Duration::from_millis(100);
    while !shared.wait(wait) {
        wait = Duration::from_millis(100);
        let Some(link) = shared.link() else { continue };
        if !link.hello.load(Ordering::Acquire) {
            continue;
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
            KeepaliveAction::Wait(d) => wait = d,
        }
    }
}
