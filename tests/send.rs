//! Sending over the websocket: ids added and unique, sends from handlers and other threads,
//! NotConnected before hello, and no waiting for the 1 s read tick on an idle socket.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use slack_rtm::{Payload, SendErrorKind};

fn frame_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn a_handler_can_answer_over_the_websocket() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    client.on("hello", |p: &Payload| {
        let id = p
            .rtm_client
            .send_over_websocket(json!({"type": "message", "channel": "C1", "text": "hi"}))
            .unwrap();
        assert!(id > 0);
        p.rtm_client.typing("C1").unwrap();
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_frames(2, SOON));
    let frames: Vec<Value> = fake.frames().iter().map(|f| frame_json(&f.text)).collect();
    assert_eq!(frames[0]["type"], "message");
    assert_eq!(frames[1]["type"], "typing");
    let (a, b) = (
        frames[0]["id"].as_u64().unwrap(),
        frames[1]["id"].as_u64().unwrap(),
    );
    assert!(a > 0 && b > a, "ids positive and increasing: {a} {b}");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn other_threads_send_with_unique_ids() {
    let fake = fake();
    let client = builder(&fake)
        .ping_interval(Duration::ZERO)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let h = client.handle();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        h.send_over_websocket(
                            json!({"type": "typing", "channel": format!("C{t}-{i}")}),
                        )
                        .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(fake.wait_for_frames(100, SOON));
    let mut seen: Vec<u64> = fake
        .frames()
        .iter()
        .map(|f| frame_json(&f.text)["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    seen.sort_unstable();
    assert_eq!(ids, seen, "every returned id went out exactly once");
    ids.dedup();
    assert_eq!(ids.len(), 100, "ids are unique");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_given_id_is_kept_and_invalid_payloads_come_back() {
    let fake = fake();
    let client = builder(&fake)
        .ping_interval(Duration::ZERO)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    assert_eq!(
        h.send_over_websocket(json!({"type": "ping", "id": 500}))
            .unwrap(),
        500
    );
    let bad = json!({"type": "ping", "id": -1});
    let e = h.send_over_websocket(bad.clone()).unwrap_err();
    assert!(matches!(e.kind(), SendErrorKind::InvalidPayload(_)));
    assert_eq!(e.into_payload(), bad);
    let e = h.send_over_websocket(json!("text")).unwrap_err();
    assert!(matches!(e.kind(), SendErrorKind::InvalidPayload(_)));
    assert!(h.ping().unwrap() > 500, "later ids never reuse a given one");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn sends_fail_with_not_connected_before_hello_and_after_stop() {
    let fake = fake();
    fake.set_auto_hello(false);
    let client = builder(&fake).build().unwrap();
    let h = client.handle();
    let payload = json!({"type": "typing", "channel": "C1"});
    let e = h.send_over_websocket(payload.clone()).unwrap_err();
    assert_eq!(e.kind(), &SendErrorKind::NotConnected);
    assert_eq!(e.into_payload(), payload);

    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "open");
    assert_eq!(
        h.typing("C1").unwrap_err().kind(),
        &SendErrorKind::NotConnected
    );
    assert!(!h.is_connected());
    // `open` can run before the fake has registered its side of the socket: wait for it.
    assert!(fake.wait_for_open(1, SOON));
    assert_eq!(fake.send_hello(), 1);
    next_named(&rx, "hello");
    assert!(h.is_connected());
    h.typing("C1").unwrap();
    running.stop();
    join_within(running, SOON).0.unwrap();
    assert_eq!(
        h.typing("C1").unwrap_err().kind(),
        &SendErrorKind::NotConnected
    );
}

#[test]
fn a_send_on_an_idle_socket_does_not_wait_for_the_read_tick() {
    let fake = fake();
    let client = builder(&fake)
        .ping_interval(Duration::ZERO)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        // Let the reader settle into its blocking read (the tick is 1 s), then send.
        std::thread::sleep(Duration::from_millis(if i == 0 { 1200 } else { 150 }));
        let sent = Instant::now();
        let id = h.typing(&format!("C{i}")).unwrap();
        let frame = fake
            .wait_for_frame(|f| f.text.contains(&format!("\"id\":{id}")), SOON)
            .expect("the frame arrives");
        worst = worst.max(frame.at.duration_since(sent));
    }
    eprintln!("idle send latency, worst of 5: {worst:?}");
    assert!(
        worst < Duration::from_millis(250),
        "a send took {worst:?}: it waited for the read tick"
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_refused_send_does_not_use_up_an_id() {
    let fake = fake();
    let client = builder(&fake)
        .ping_interval(Duration::ZERO)
        .build()
        .unwrap();
    let h = client.handle();
    for _ in 0..5 {
        assert_eq!(
            h.typing("C1").unwrap_err().kind(),
            &SendErrorKind::NotConnected
        );
    }
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    assert_eq!(
        h.typing("C1").unwrap(),
        1,
        "ids start at 1 after refused sends"
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn sends_during_a_stop_or_a_lost_connection_are_not_connected_never_io() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    // Hammer sends from another thread across a drop and a stop.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let h = h.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut kinds = Vec::new();
            let deadline = Instant::now() + SOON;
            while Instant::now() < deadline && !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(e) = h.send_over_websocket(json!({"type": "typing", "channel": "C"})) {
                    kinds.push(e.kind().clone());
                }
            }
            kinds
        })
    };
    // Several losses, each racing the sends.
    for _ in 0..5 {
        fake.drop_all();
        next_named(&rx, "close");
        next_named(&rx, "hello");
    }
    running.stop();
    join_within(running, SOON).0.unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let kinds = hammer.join().unwrap();
    assert!(!kinds.is_empty());
    assert!(
        kinds.iter().all(|k| k == &SendErrorKind::NotConnected),
        "{:?}",
        kinds.iter().find(|k| *k != &SendErrorKind::NotConnected)
    );
}
