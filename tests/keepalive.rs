//! Keepalive: RTM pings leave every `ping_interval` with increasing ids; a zombie server (pings
//! never answered, nothing else sent) is dropped within the pong deadline and replaced; any
//! inbound frame counts as life; `ping_interval(ZERO)` really disables pings and the deadline.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use crossbeam_channel::Receiver;
use serde_json::{json, Value};
use slack_rtm::testing::{FakeSlack, ReceivedFrame};
use slack_rtm::{Payload, RtmClient};

type Timed = Receiver<(String, Value, Instant)>;

/// Every dispatched event with the instant its handler ran.
fn record_timed(client: &RtmClient) -> Timed {
    let (tx, rx) = crossbeam_channel::unbounded();
    client.on("*", move |p: &Payload| {
        let _ = tx.send((p.event.to_string(), p.data.clone(), Instant::now()));
    });
    rx
}

fn next_timed(rx: &Timed, name: &str) -> (Value, Instant) {
    let deadline = Instant::now() + SOON;
    loop {
        match rx.recv_deadline(deadline) {
            Ok((n, data, at)) if n == name => return (data, at),
            Ok(_) => continue,
            Err(_) => panic!("no {name:?} event within {SOON:?}"),
        }
    }
}

fn pings(fake: &FakeSlack, conn: u64) -> Vec<ReceivedFrame> {
    fake.frames()
        .into_iter()
        .filter(|f| f.conn == conn && f.frame_type().as_deref() == Some("ping"))
        .collect()
}

fn ping_id(f: &ReceivedFrame) -> u64 {
    f.json()
        .and_then(|v| v["id"].as_u64())
        .expect("a ping has an integer id")
}

#[test]
fn pings_leave_every_interval_with_increasing_ids_and_pongs_keep_the_connection() {
    let interval = Duration::from_millis(200);
    let fake = fake();
    let client = builder(&fake).ping_interval(interval).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    // The client sends nothing but pings here.
    assert!(fake.wait_for_frames(6, SOON), "{:?}", fake.frames());
    let pings = pings(&fake, 1);
    assert!(pings.len() >= 6, "{pings:?}");
    let ids: Vec<u64> = pings.iter().map(ping_id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {ids:?}"
    );
    let gaps: Vec<Duration> = pings.windows(2).map(|w| w[1].at - w[0].at).collect();
    for gap in &gaps {
        assert!(
            (Duration::from_millis(50)..Duration::from_millis(1000)).contains(gap),
            "ping gaps {gaps:?}"
        );
    }
    let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    assert!(
        (Duration::from_millis(150)..Duration::from_millis(500)).contains(&mean),
        "mean ping gap {mean:?}: {gaps:?}"
    );
    // Each ping got its pong, dispatched as `pong` with the ping's id.
    for id in &ids[..3] {
        let pong = next_named(&rx, "pong");
        assert_eq!(pong["reply_to"], *id);
    }
    assert_eq!(
        fake.connections_total(),
        1,
        "answered pings never reconnect"
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
    let rest: Vec<_> = rx.try_iter().filter(|(n, _)| n != "pong").collect();
    assert_eq!(names(&rest), ["close"]);
}

#[test]
fn a_zombie_server_is_dropped_after_the_pong_deadline_and_replaced() {
    let interval = Duration::from_millis(200); // the deadline defaults to the interval
    let fake = fake();
    fake.set_answer_pings(false);
    let client = builder(&fake).ping_interval(interval).build().unwrap();
    let rx = record_timed(&client);
    let running = client.spawn().unwrap();
    let (_, hello_at) = next_timed(&rx, "hello");
    let (close, close_at) = next_timed(&rx, "close");
    let alive = close_at - hello_at;
    // A ping after one interval, then one deadline without an answer: ~400 ms.
    assert!(
        alive >= Duration::from_millis(200),
        "dropped too early: {alive:?}"
    );
    assert!(
        alive < Duration::from_secs(3),
        "dropped too late: {alive:?}"
    );
    let reason = close["reason"].as_str().unwrap();
    assert!(reason.contains("pong"), "close reason {reason:?}");
    assert_eq!(close["will_reconnect"], true, "{close}");
    let first_pings = pings(&fake, 1);
    assert!(!first_pings.is_empty(), "dropped without having pinged");
    let since_ping = close_at.saturating_duration_since(first_pings[0].at);
    assert!(
        since_ping >= Duration::from_millis(150),
        "dropped {since_ping:?} after the ping, before its deadline"
    );
    next_timed(&rx, "open");
    next_timed(&rx, "hello");
    assert_eq!(fake.calls_to("rtm.connect"), 2, "a fresh rtm.connect");
    assert!(fake.connections_total() >= 2);
    // Message ids are never reset: the new connection's pings continue the sequence.
    let last_id = first_pings.iter().map(ping_id).max().unwrap();
    let next = fake
        .wait_for_frame(
            |f| f.conn == 2 && f.frame_type().as_deref() == Some("ping"),
            SOON,
        )
        .expect("a ping on the second connection");
    assert!(
        ping_id(&next) > last_id,
        "ping id {} after {last_id}",
        ping_id(&next)
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn without_auto_reconnect_a_zombie_ends_start_with_disconnected() {
    let fake = fake();
    fake.set_answer_pings(false);
    let client = builder(&fake)
        .ping_interval(Duration::from_millis(200))
        .auto_reconnect(false)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let close = next_named(&rx, "close");
    assert_eq!(close["will_reconnect"], false, "{close}");
    match join_within(running, SOON).0 {
        Err(slack_rtm::Error::Disconnected { reason, .. }) => {
            assert!(reason.contains("pong"), "{reason}")
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(fake.calls_to("rtm.connect"), 1);
}

/// A server that accepts the websocket and then says nothing, not even `hello`, is as dead as
/// one that stops answering pings: the client must not wait on it forever.
#[test]
fn a_server_that_never_says_hello_is_dropped_and_replaced() {
    let fake = fake();
    fake.set_auto_hello(false);
    fake.set_answer_pings(false);
    let client = builder(&fake)
        .ping_interval(Duration::from_millis(200))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "open");
    assert!(fake.wait_for_connections(1, SOON));
    // Only the first connection is silent.
    fake.set_auto_hello(true);
    let seen = until_named(&rx, "hello");
    assert_eq!(names(&seen), ["close", "open", "hello"], "{seen:?}");
    assert_eq!(seen[0].1["will_reconnect"], true, "{}", seen[0].1);
    assert_eq!(fake.calls_to("rtm.connect"), 2);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn ping_interval_zero_sends_no_ping_and_never_declares_the_connection_dead() {
    let fake = fake();
    fake.set_answer_pings(false);
    let client = builder(&fake)
        .ping_interval(Duration::ZERO)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    // A bounded wait for something that must not happen.
    assert!(
        !fake.wait_for_frames(1, Duration::from_millis(1500)),
        "pings were sent: {:?}",
        fake.frames()
    );
    assert_eq!(fake.connections_total(), 1);
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    // Still the same live connection.
    fake.send_json(&json!({"type": "user_typing", "n": 1}));
    let seen = until_named(&rx, "user_typing");
    assert_eq!(names(&seen), ["user_typing"], "{seen:?}");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn any_inbound_frame_counts_as_life() {
    let interval = Duration::from_millis(200);
    let deadline = Duration::from_millis(300);
    let ticks = 16; // one per 100 ms: 1.6 s, more than 5 deadlines
    let fake = fake();
    fake.set_answer_pings(false);
    let client = builder(&fake)
        .ping_interval(interval)
        .pong_timeout(deadline)
        .build()
        .unwrap();
    let rx = record_timed(&client);
    let running = client.spawn().unwrap();
    next_timed(&rx, "hello");
    let feeding = AtomicBool::new(true);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ticks {
                if !feeding.load(Ordering::Relaxed) {
                    break;
                }
                fake.send_json(&json!({"type": "user_typing", "n": i}));
                // A traffic generator: the pacing is the point.
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let mut first = None;
        let mut last = None;
        let mut seen = 0;
        let deadline_at = Instant::now() + SOON;
        while seen < ticks {
            let (name, data, at) = match rx.recv_deadline(deadline_at) {
                Ok(e) => e,
                Err(_) => {
                    feeding.store(false, Ordering::Relaxed);
                    panic!("only {seen} of {ticks} ticks arrived");
                }
            };
            if name == "close" {
                feeding.store(false, Ordering::Relaxed);
                panic!("the connection was dropped despite inbound traffic: {data}");
            }
            if name == "user_typing" {
                assert_eq!(data["n"], seen);
                first.get_or_insert(at);
                last = Some(at);
                seen += 1;
            }
        }
        let span = last.unwrap() - first.unwrap();
        assert!(span > deadline * 3, "traffic lasted only {span:?}");
    });
    let pinged = pings(&fake, 1).len();
    assert!(pinged >= 4, "the keepalive was not active: {pinged} pings");
    assert_eq!(fake.connections_total(), 1);
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    // Once the traffic stops, the same zombie is dropped.
    let (close, _) = next_timed(&rx, "close");
    assert!(
        close["reason"].as_str().unwrap().contains("pong"),
        "{close}"
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_slow_open_handler_does_not_look_like_a_missing_hello() {
    let fake = fake();
    let client = builder(&fake)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    client.on("open", |_p: &slack_rtm::Payload| {
        std::thread::sleep(Duration::from_millis(600))
    });
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    // Well past the timeout after hello was received: still the first connection.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.connections_total(), 1);
    assert!(rx.try_iter().all(|(n, _)| n != "close"));
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_server_that_sends_an_event_but_never_hello_is_dropped_and_replaced() {
    let fake = fake();
    fake.set_auto_hello(false);
    let client = builder(&fake)
        .ping_interval(Duration::from_millis(200))
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "open");
    assert!(fake.wait_for_open(1, SOON));
    // Life, but not readiness: an event first, then nothing.
    fake.send_json(&json!({"type": "reconnect_url", "url": "wss://elsewhere"}));
    next_named(&rx, "reconnect_url");
    fake.set_auto_hello(true);
    let seen = until_named(&rx, "hello");
    assert_eq!(names(&seen), ["close", "open", "hello"], "{seen:?}");
    let reason = seen[0].1["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("no hello"), "{reason}");
    assert_eq!(fake.calls_to("rtm.connect"), 2);
    running.stop();
    join_within(running, SOON).0.unwrap();
}
