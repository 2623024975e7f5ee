//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test file uses a different subset

mod child;
pub mod peers;
pub mod proxy;
mod servers;

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;
use slack_rtm::testing::FakeSlack;
use slack_rtm::{Payload, RtmClient, RtmClientBuilder};

#[allow(unused_imports)] // each test file uses a different subset
pub use child::*;
#[allow(unused_imports)] // each test file uses a different subset
pub use servers::*;

/// The deadline for anything that should happen "soon" in a test.
pub const SOON: Duration = Duration::from_secs(10);

pub fn fake() -> FakeSlack {
    FakeSlack::builder()
        .echo_messages(false)
        .start()
        .expect("start the fake Slack")
}

/// A builder pointed at `fake`, with signals off and a fast connect gate.
pub fn builder(fake: &FakeSlack) -> RtmClientBuilder {
    RtmClient::builder("xoxb-test-token")
        .base_url(&fake.api_url())
        .handle_signals(false)
        .timeout(Duration::from_secs(5))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect_rate(100, Duration::from_millis(10))
}

/// Every dispatched event, in order, as (name, data).
pub fn record_all(client: &RtmClient) -> Receiver<(String, Value)> {
    let (tx, rx): (Sender<(String, Value)>, _) = crossbeam_channel::unbounded();
    client.on("*", move |p: &Payload| {
        let _ = tx.send((p.event.to_string(), p.data.clone()));
    });
    rx
}

/// Waits for the next event named `name`, skipping others; panics after `SOON`.
pub fn next_named(rx: &Receiver<(String, Value)>, name: &str) -> Value {
    let deadline = std::time::Instant::now() + SOON;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((n, data)) if n == name => return data,
            Ok(_) => continue,
            Err(_) => panic!("no {name:?} event within {SOON:?}"),
        }
    }
}

/// Events received until (and including) the first one named `name`.
pub fn until_named(rx: &Receiver<(String, Value)>, name: &str) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(SOON) {
            Ok((n, data)) => {
                let done = n == name;
                seen.push((n, data));
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no {name:?} event within {SOON:?}; saw {seen:?}"),
        }
    }
}

pub fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}
