//! Bad input never panics and never costs the connection: malformed or non-object JSON and
//! binary frames give a client `error` event, odd objects are dispatched by name, the events
//! after them arrive on the same connection; an inbound message over `max_message_size` gives
//! an `error` event and a fresh connection; a panicking handler gives a `handler_panic` error.
//! (Fragmented messages are not covered: the fake Slack can only send whole messages.)

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use slack_rtm::event::Event;
use slack_rtm::testing::FakeSlack;
use slack_rtm::Payload;

enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// What a bad frame must be dispatched as: `Err(kind)` for a client `error` event of that kind,
/// `Ok(name)` for an event dispatched under `name`.
type Expect = Result<&'static str, &'static str>;

fn text(s: &str) -> Frame {
    Frame::Text(s.to_string())
}

fn send(fake: &FakeSlack, frame: &Frame) {
    let n = match frame {
        Frame::Text(t) => fake.send_text(t),
        Frame::Binary(b) => fake.send_binary(b),
    };
    assert_eq!(n, 1, "one client connected");
}

fn marker(i: usize) -> Value {
    json!({"type": "marker", "n": i})
}

fn assert_client_error(data: &Value, kind: &str) {
    assert_eq!(data["source"], "client", "{data}");
    assert_eq!(data["kind"], kind, "{data}");
    assert!(
        data["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{data}"
    );
}

#[test]
fn bad_frames_give_errors_or_names_and_the_connection_carries_on() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let odd_message = json!({
        "type": "message",
        "channel": 5,
        "user": ["U1"],
        "text": {"not": "a string"},
        "ts": 1.5,
        "subtype": false,
        "edited": "yesterday",
    });
    let cases: Vec<(&str, Frame, Expect)> = vec![
        ("malformed JSON", text("{not json"), Err("invalid_json")),
        (
            "truncated JSON",
            text(r#"{"type":"message","#),
            Err("invalid_json"),
        ),
        (
            "trailing garbage",
            text(r#"{"type":"x"} tail"#),
            Err("invalid_json"),
        ),
        ("empty text", text(""), Err("invalid_json")),
        (
            "lone surrogate",
            text(r#"{"type":"x","t":"\ud800"}"#),
            Err("invalid_json"),
        ),
        (
            "number out of range",
            text(r#"{"type":"x","n":1e400}"#),
            Err("invalid_json"),
        ),
        (
            "nesting 100,000 deep",
            Frame::Text(deep),
            Err("invalid_json"),
        ),
        ("JSON array", text("[1,2,3]"), Err("not_an_object")),
        ("JSON string", text(r#""hello""#), Err("not_an_object")),
        ("JSON number", text("42"), Err("not_an_object")),
        ("JSON null", text("null"), Err("not_an_object")),
        (
            "binary frame",
            Frame::Binary(vec![0, 1, 2, 0xff]),
            Err("binary_frame"),
        ),
        (
            "empty binary frame",
            Frame::Binary(Vec::new()),
            Err("binary_frame"),
        ),
        (
            "unknown type",
            text(r#"{"type":"brand_new_event","x":1}"#),
            Ok("brand_new_event"),
        ),
        ("numeric type", text(r#"{"type":5}"#), Ok("unknown")),
        ("null type", text(r#"{"type":null,"x":1}"#), Ok("unknown")),
        ("object type", text(r#"{"type":{"a":1}}"#), Ok("unknown")),
        ("empty object", text("{}"), Ok("unknown")),
        (
            "odd reply",
            text(r#"{"reply_to":"seven","ok":"yes"}"#),
            Ok("reply"),
        ),
        (
            "odd pong",
            text(r#"{"type":"pong","reply_to":{"a":1}}"#),
            Ok("pong"),
        ),
        (
            "odd message",
            Frame::Text(odd_message.to_string()),
            Ok("message"),
        ),
        (
            "odd user_typing",
            text(r#"{"type":"user_typing","channel":[],"user":7}"#),
            Ok("user_typing"),
        ),
        (
            "odd presence",
            text(r#"{"type":"presence_change","users":"U1","presence":1}"#),
            Ok("presence_change"),
        ),
        (
            "odd reaction",
            text(r#"{"type":"reaction_added","item":5,"reaction":null}"#),
            Ok("reaction_added"),
        ),
        (
            "odd hello",
            text(r#"{"type":"hello","extra":[1,{"b":null}]}"#),
            Ok("hello"),
        ),
    ];

    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    // Typed decoding of every event must not panic either (a panic would show up below as a
    // `handler_panic` error event).
    let (typed_tx, typed) = crossbeam_channel::unbounded();
    client.on("*", move |p: &Payload| {
        let _ = typed_tx.send((p.event.to_string(), p.as_event()));
    });
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");

    for (i, (_, frame, _)) in cases.iter().enumerate() {
        send(&fake, frame);
        fake.send_json(&marker(i));
    }
    let seen: Vec<(String, Value)> = (0..cases.len() * 2)
        .map(|_| rx.recv_timeout(SOON).expect("an event for every frame"))
        .collect();
    for (i, (what, _, expect)) in cases.iter().enumerate() {
        let (name, data) = &seen[2 * i];
        match expect {
            Err(kind) => {
                assert_eq!(name, "error", "{what}: {data}");
                assert_client_error(data, kind);
            }
            Ok(want) => assert_eq!(name, want, "{what}: {data}"),
        }
        let (name, data) = &seen[2 * i + 1];
        assert_eq!(name, "marker", "after {what}: {data}");
        assert_eq!(data["n"], i, "after {what}");
    }
    // Odd objects are kept as received.
    let odd = seen
        .iter()
        .find(|(n, _)| n == "message")
        .map(|(_, d)| d)
        .unwrap();
    assert_eq!(*odd, odd_message);
    // The typed view of the odd message says so instead of failing.
    let typed_message = typed
        .try_iter()
        .find(|(n, _)| n == "message")
        .map(|(_, e)| e)
        .unwrap();
    assert!(
        matches!(&typed_message, Event::Malformed { kind, .. } if kind == "message"),
        "{typed_message:?}"
    );

    assert_eq!(fake.connections_total(), 1, "bad input cost the connection");
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    running.stop();
    join_within(running, SOON).0.unwrap();
    let rest: Vec<_> = rx.try_iter().collect();
    assert_eq!(names(&rest), ["close"], "{rest:?}");
}

#[test]
fn an_oversized_message_gives_an_error_and_a_fresh_connection() {
    const LIMIT: usize = 64 * 1024;
    let sized = |len: usize| {
        let head = r#"{"type":"message","text":""#;
        let tail = r#""}"#;
        let s = format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()));
        assert_eq!(s.len(), len);
        s
    };
    let fake = fake();
    let client = builder(&fake).max_message_size(LIMIT).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");

    // Just below and exactly at the limit: normal events.
    for len in [LIMIT - 1, LIMIT] {
        fake.send_text(&sized(len));
        let (name, data) = rx.recv_timeout(SOON).unwrap();
        assert_eq!(name, "message");
        assert_eq!(data["text"].as_str().unwrap().len(), len - 28);
    }
    fake.send_json(&marker(0));
    fake.send_text(&sized(100 * 1024));
    fake.send_json(&marker(1)); // on the old connection: never read
    let seen = until_named(&rx, "hello");
    assert_eq!(
        names(&seen),
        ["marker", "error", "close", "open", "hello"],
        "{seen:?}"
    );
    let error = &seen[1].1;
    assert_eq!(error["source"], "client", "{error}");
    assert!(error["kind"].as_str().is_some(), "{error}");
    let message = error["message"].as_str().unwrap().to_lowercase();
    assert!(
        message.contains("too large") || message.contains("too long"),
        "{error}"
    );
    let close = &seen[2].1;
    assert_eq!(close["will_reconnect"], true, "{close}");
    assert!(
        fake.wait_for_open(1, SOON),
        "the old connection was not closed"
    );
    assert_eq!(fake.calls_to("rtm.connect"), 2);
    assert_eq!(fake.connections_total(), 2);

    // The new connection works, with the same limit.
    fake.send_json(&marker(2));
    assert_eq!(next_named(&rx, "marker")["n"], 2);
    fake.send_text(&sized(LIMIT));
    let (name, _) = rx.recv_timeout(SOON).unwrap();
    assert_eq!(name, "message");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_panicking_handler_gives_an_error_event_and_dispatch_goes_on() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    client.on("message", |p: &Payload| match p.data["text"].as_str() {
        Some("boom") => panic!("boom in a handler"),
        Some("any") => std::panic::panic_any(42_u32),
        _ => {}
    });
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    for t in ["boom", "after", "any", "after"] {
        fake.send_json(&json!({"type": "message", "text": t}));
    }
    let seen: Vec<(String, Value)> = (0..6)
        .map(|_| rx.recv_timeout(SOON).expect("an event"))
        .collect();
    assert_eq!(
        names(&seen),
        ["message", "error", "message", "message", "error", "message"],
        "{seen:?}"
    );
    for i in [1, 4] {
        assert_client_error(&seen[i].1, "handler_panic");
    }
    let msg = seen[1].1["message"].as_str().unwrap();
    assert!(msg.contains("boom in a handler"), "{msg}");
    assert_eq!(seen[2].1["text"], "after");
    assert_eq!(seen[5].1["text"], "after");
    assert_eq!(fake.connections_total(), 1);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_panicking_error_handler_does_not_loop() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    client.on("error", |_: &Payload| panic!("in the error handler"));
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    fake.send_text("{bad");
    fake.send_json(&marker(0));
    let seen = until_named(&rx, "marker");
    let errors = seen.iter().filter(|(n, _)| n == "error").count();
    assert!((1..=2).contains(&errors), "{seen:?}");
    assert_client_error(&seen[0].1, "invalid_json");
    // Still dispatching, still connected.
    fake.send_json(&marker(1));
    assert_eq!(next_named(&rx, "marker")["n"], 1);
    assert_eq!(fake.connections_total(), 1);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_slow_consumer_of_bad_frames_still_sees_them_all_in_order() {
    // Many bad frames in one burst (several per socket read) keep their order.
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    for i in 0..300 {
        match i % 3 {
            0 => fake.send_text(&format!("{{bad {i}")),
            1 => fake.send_binary(&[i as u8]),
            _ => fake.send_json(&marker(i)),
        };
    }
    for i in 0..300 {
        let (name, data) = rx.recv_timeout(SOON).expect("an event");
        match i % 3 {
            0 => assert_client_error(&data, "invalid_json"),
            1 => assert_client_error(&data, "binary_frame"),
            _ => {
                assert_eq!(name, "marker");
                assert_eq!(data["n"], i);
            }
        }
    }
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
    assert_eq!(fake.connections_total(), 1);
    running.stop();
    join_within(running, SOON).0.unwrap();
}
