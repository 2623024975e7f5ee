//! Connecting and dispatching: `open` first with the rtm.connect body, then `hello` and every
//! frame in arrival order under the documented names, to per-event and `"*"` handlers.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use slack_rtm::Payload;

#[test]
fn open_then_hello_then_events_in_order() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();

    let open = next_named(&rx, "open");
    assert_eq!(open["ok"], true);
    assert!(open["url"].as_str().unwrap().starts_with("ws://127.0.0.1:"));
    assert!(open["self"]["id"].is_string());
    let (name, hello) = rx.recv_timeout(SOON).unwrap();
    assert_eq!(name, "hello", "hello is the first event after open");
    assert_eq!(hello, json!({"type": "hello"}), "data keeps the type field");

    for i in 0..50 {
        fake.send_json(
            &json!({"type": "message", "channel": "C1", "user": "U1", "text": format!("m{i}")}),
        );
    }
    for i in 0..50 {
        let m = next_named(&rx, "message");
        assert_eq!(m["text"], format!("m{i}"));
    }
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn replies_unknown_objects_and_custom_types_get_their_names() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");

    fake.send_json(&json!({"ok": true, "reply_to": 7, "ts": "1.2", "text": "hi"}));
    fake.send_json(&json!({"ok": true, "something": "else"}));
    fake.send_json(&json!({"type": "brand_new_event", "x": 1}));
    fake.send_json(&json!({"type": "pong", "reply_to": 3}));
    let seen = until_named(&rx, "pong");
    assert_eq!(
        names(&seen),
        ["reply", "unknown", "brand_new_event", "pong"]
    );
    assert_eq!(seen[0].1["reply_to"], 7);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn named_handlers_run_before_star_handlers_in_registration_order() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    for tag in ["first", "second"] {
        let o = order.clone();
        client.on("team_join", move |p: &Payload| {
            o.lock().unwrap().push(format!("{tag}:{}", p.event));
        });
    }
    let o = order.clone();
    client.on("*", move |p: &Payload| {
        if p.event == "team_join" {
            o.lock().unwrap().push(format!("star:{}", p.event));
        }
    });
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    fake.send_json(&json!({"type": "team_join", "user": {"id": "U9"}}));
    next_named(&rx, "team_join");
    assert_eq!(
        *order.lock().unwrap(),
        ["first:team_join", "second:team_join", "star:team_join"]
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn handlers_added_while_running_see_later_events() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let (tx, late) = crossbeam_channel::unbounded();
    client.on("star_added", move |p: &Payload| {
        tx.send(p.data["n"].as_i64()).unwrap();
    });
    fake.send_json(&json!({"type": "star_added", "n": 1}));
    assert_eq!(late.recv_timeout(SOON).unwrap(), Some(1));
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn the_raw_frame_text_is_available_to_handlers() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let (tx, raw) = crossbeam_channel::unbounded();
    client.on("message", move |p: &Payload| {
        tx.send(p.raw().map(str::to_string)).unwrap();
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_connections(1, SOON));
    // Key order and spacing as sent, not as re-serialized.
    let text = r#"{"type":"message", "z":1,"a":2}"#;
    // The client may not have processed hello yet; the frame is queued behind it anyway.
    fake.send_text(text);
    assert_eq!(raw.recv_timeout(SOON).unwrap().as_deref(), Some(text));
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_handler_added_by_a_handler_sees_the_rest_of_the_same_socket_read() {
    // hello and 1,000 messages written in one flush: they arrive in one or two socket reads.
    let ws = ws_server(|mut ws| {
        let _ = ws.write(tungstenite::Message::text(r#"{"type":"hello"}"#));
        for i in 0..1000 {
            let m = json!({"type": "message", "n": i}).to_string();
            let _ = ws.write(tungstenite::Message::text(m));
        }
        let _ = ws.flush();
        // Keep the connection open until the client goes.
        while ws.read().is_ok() {}
    });
    let api = api_with_url(ws);
    let client = slack_rtm::RtmClient::builder("xoxb-test-token")
        .base_url(&api.url)
        .handle_signals(false)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (c, s) = (client.clone(), seen.clone());
    client.on("hello", move |_p: &Payload| {
        let s = s.clone();
        c.on("message", move |p: &Payload| {
            s.lock().unwrap().push(p.data["n"].as_i64().unwrap_or(-1));
        });
    });
    let running = client.spawn().unwrap();
    let deadline = std::time::Instant::now() + SOON;
    while seen.lock().unwrap().len() < 1000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let got = seen.lock().unwrap().clone();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn frames_in_slacks_key_order_are_named_by_their_top_level_type_only() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    // Named handlers only (no "*"): frames of other types are passed over unparsed.
    for name in ["hello", "message", "reply"] {
        let tx = tx.clone();
        client.on(name, move |p: &Payload| {
            let _ = tx.send((p.event.to_string(), p.data.clone()));
        });
    }
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");

    let frames = [
        // A typed message as Slack sends it: `client_msg_id` first, nested `type`s in blocks.
        r#"{"client_msg_id":"3f6b9e2d-7a1c-4d8e-b5f0-2c4a6e8d0b1f","suppress_notification":false,"type":"message","text":"one","user":"U1","blocks":[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"one"}]}]}],"channel":"C1","ts":"1.1"}"#,
        // Not a message: `"type":"message"` only nested and inside strings.
        r#"{"client_msg_id":"c2","blocks":[{"type":"message"}],"text":"{\"type\":\"message\"}","type":"user_typing","channel":"C1"}"#,
        r#"{"item":{"type":"message","text":"not me"},"reaction":"tada","type":"reaction_added"}"#,
        // `type` after everything else, and a key written with escapes.
        r#"{"text":"two","blocks":[],"user":"U1","type":"message"}"#,
        r#"{"text":"three","typ\u0065":"message"}"#,
        // An ack (no `type`), with a nested message before its `reply_to`.
        r#"{"ok":true,"message":{"type":"message","text":"x"},"reply_to":5,"ts":"1.2"}"#,
        r#"{"user":"U1","type":"message","text":"last"}"#,
    ];
    for f in frames {
        fake.send_text(f);
    }
    let mut seen = Vec::new();
    loop {
        let (name, data) = rx.recv_timeout(SOON).expect("every frame within 10 s");
        let last = data["text"] == "last";
        seen.push((name, data));
        if last {
            break;
        }
    }
    let got: Vec<(&str, &str)> = seen
        .iter()
        .map(|(n, v)| (n.as_str(), v["text"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            ("message", "one"),
            ("message", "two"),
            ("message", "three"),
            ("reply", ""),
            ("message", "last")
        ]
    );
    assert_eq!(seen[3].1["reply_to"], 5);
    running.stop();
    join_within(running, SOON).0.unwrap();
}
