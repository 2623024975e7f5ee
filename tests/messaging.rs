//! Messaging: receipts resolve with Slack's ack or a typed error, send guards refuse what Slack
//! would disconnect for (the connection stays), the `message` throttle paces bursts, messages
//! wait for `hello`, and the presence subscription survives reconnects.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use slack_rtm::testing::RtmAckMode;
use slack_rtm::{ChatMessage, MessageError, SendErrorKind};

fn unthrottled(fake: &slack_rtm::testing::FakeSlack) -> slack_rtm::RtmClientBuilder {
    builder(fake)
        .send_throttle(false)
        .ping_interval(Duration::ZERO)
}

#[test]
fn receipts_resolve_with_the_ack_or_slacks_error() {
    let fake = fake();
    let client = unthrottled(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();

    let ack = h
        .send_message("C1", "hello there")
        .unwrap()
        .wait(SOON)
        .unwrap();
    assert_eq!(ack.text.as_deref(), Some("hello there"));
    assert!(ack.ts.is_some());
    let reply = next_named(&rx, "reply");
    assert_eq!(
        reply["reply_to"], ack.reply_to,
        "acks are still dispatched as reply"
    );

    fake.set_ack_mode(RtmAckMode::Error {
        code: 2,
        msg: "message text is missing".into(),
    });
    let err = h.send_message("C1", "x").unwrap().wait(SOON).unwrap_err();
    assert_eq!(
        err,
        MessageError::Slack {
            code: 2,
            msg: "message text is missing".into()
        }
    );
    fake.set_ack_mode(RtmAckMode::Error {
        code: -1,
        msg: "slow down, too many messages...".into(),
    });
    let err = h.send_message("C1", "x").unwrap().wait(SOON).unwrap_err();
    assert!(matches!(err, MessageError::RateLimited { .. }), "{err:?}");

    fake.set_ack_mode(RtmAckMode::Ignore);
    let r = h.send_message("C1", "never acked").unwrap();
    assert_eq!(
        r.wait(Duration::from_millis(50)),
        Err(MessageError::Timeout)
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
    assert_eq!(r.wait(SOON), Err(MessageError::Stopped));
}

#[test]
fn an_unacknowledged_message_fails_when_the_connection_drops_and_is_not_resent() {
    let fake = fake();
    fake.set_ack_mode(RtmAckMode::Ignore);
    let client = unthrottled(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let r = client.handle().send_message("C1", "in flight").unwrap();
    assert!(fake.wait_for_frames(1, SOON));
    fake.drop_all();
    assert_eq!(r.wait(SOON), Err(MessageError::ConnectionLost));
    next_named(&rx, "hello");
    client.handle().typing("C1").unwrap();
    assert!(fake.wait_for_frames(2, SOON));
    let texts: Vec<_> = fake.frames().iter().map(|f| f.text.clone()).collect();
    assert_eq!(
        texts.iter().filter(|t| t.contains("in flight")).count(),
        1,
        "{texts:?}"
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn oversized_frames_and_long_text_are_refused_and_the_connection_survives() {
    let fake = fake();
    let client = unthrottled(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    let big = json!({"type": "typing", "channel": "C1", "padding": "x".repeat(17 * 1024)});
    let e = h.send_over_websocket(big.clone()).unwrap_err();
    assert!(matches!(e.kind(), SendErrorKind::TooLarge { .. }), "{e}");
    assert_eq!(e.into_payload(), big);
    let long = "y".repeat(4001);
    let e = h.send_message("C1", &long).unwrap_err();
    assert!(
        matches!(e.kind(), SendErrorKind::TooLong { chars: 4001, .. }),
        "{e}"
    );
    assert_eq!(fake.frames().len(), 0, "nothing reached the wire");
    assert!(h.is_connected());
    h.send_message("C1", "still here")
        .unwrap()
        .wait(SOON)
        .unwrap();
    assert_eq!(fake.connections_total(), 1);

    let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(3000));
    let receipts = h
        .send_long_message(&ChatMessage::new("C1", &text).thread_ts("1.5"))
        .unwrap();
    assert_eq!(receipts.len(), 2);
    let mut joined = String::new();
    for r in receipts {
        joined.push_str(&r.wait(SOON).unwrap().text.unwrap());
    }
    assert_eq!(joined, text);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_burst_of_messages_leaves_at_the_configured_rate_and_other_types_do_not_wait() {
    let fake = fake();
    let client = builder(&fake)
        .send_rate(3, Duration::from_millis(200))
        .ping_interval(Duration::ZERO)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    let started = Instant::now();
    let receipts: Vec<_> = (0..10)
        .map(|i| h.send_message("C1", &format!("m{i}")).unwrap())
        .collect();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "sending never blocks"
    );
    for i in 0..5 {
        h.typing(&format!("T{i}")).unwrap();
    }
    assert!(fake.wait_for_frames(15, SOON));
    let frames = fake.frames();
    let typing_last = frames
        .iter()
        .filter(|f| f.text.contains("\"typing\""))
        .map(|f| f.at)
        .max()
        .unwrap();
    let msgs: Vec<_> = frames
        .iter()
        .filter(|f| f.text.contains("\"message\""))
        .collect();
    assert_eq!(msgs.len(), 10);
    for (i, f) in msgs.iter().enumerate() {
        assert!(
            f.text.contains(&format!("\"m{i}\"")),
            "in order: {}",
            f.text
        );
    }
    let first = msgs[0].at;
    assert!(
        typing_last.duration_since(first) < Duration::from_millis(150),
        "typing is not throttled"
    );
    // 3 at once, then 7 more at 200 ms each: about 1.4 s.
    let span = msgs[9].at.duration_since(first);
    assert!(
        span >= Duration::from_millis(1100) && span < Duration::from_secs(5),
        "{span:?}"
    );
    assert!(msgs[2].at.duration_since(first) < Duration::from_millis(150));
    for r in receipts {
        r.wait(SOON).unwrap();
    }
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_full_send_queue_refuses_with_the_message_back() {
    let fake = fake();
    let client = builder(&fake)
        .send_rate(1, Duration::from_secs(30))
        .send_queue_capacity(2)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    for i in 0..3 {
        let _ = h.send_message("C1", &format!("m{i}")).unwrap();
    }
    let e = h.send_message("C1", "m3").unwrap_err();
    assert_eq!(e.kind(), &SendErrorKind::QueueFull);
    assert_eq!(
        e.into_payload(),
        json!({"type": "message", "channel": "C1", "text": "m3"})
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_throttled_send_over_websocket_is_refused_never_queued() {
    let fake = fake();
    let client = builder(&fake)
        .send_rate(1, Duration::from_secs(30))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    let msg = |t: &str| json!({"type": "message", "channel": "C1", "text": t});
    h.send_over_websocket(msg("first")).unwrap();
    let e = h.send_over_websocket(msg("second")).unwrap_err();
    assert_eq!(e.kind(), &SendErrorKind::Throttled);
    assert_eq!(e.into_payload(), msg("second"));
    // Pings are never throttled, and nothing was queued behind them.
    h.ping().unwrap();
    assert!(fake
        .wait_for_frame(|f| f.frame_type().as_deref() == Some("ping"), SOON)
        .is_some());
    let texts: Vec<String> = fake
        .frames()
        .iter()
        .filter(|f| f.frame_type().as_deref() == Some("message"))
        .filter_map(|f| f.json()?["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(texts, ["first"]);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn messages_sent_before_hello_wait_for_it() {
    let fake = fake();
    fake.set_auto_hello(false);
    let client = unthrottled(&fake).build().unwrap();
    let rx = record_all(&client);
    let r = client.handle().send_message("C1", "early").unwrap();
    let running = client.spawn().unwrap();
    next_named(&rx, "open");
    assert_eq!(fake.frames().len(), 0, "nothing before hello");
    // `open` can run before the fake has registered its side of the socket: wait for it.
    assert!(fake.wait_for_open(1, SOON));
    assert_eq!(fake.send_hello(), 1);
    assert_eq!(r.wait(SOON).unwrap().text.as_deref(), Some("early"));
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn presence_subscription_is_sent_again_after_a_reconnect() {
    let fake = fake();
    let client = unthrottled(&fake)
        .batch_presence_aware(true)
        .presence_sub(true)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    h.subscribe_presence(&["U1", "U2"]).unwrap();
    assert!(fake
        .wait_for_frame(|f| f.conn == 1 && f.text.contains("presence_sub"), SOON)
        .is_some());
    fake.drop_all();
    let again = fake
        .wait_for_frame(|f| f.conn == 2 && f.text.contains("presence_sub"), SOON)
        .expect("re-subscribed on the new connection");
    assert!(again.text.contains("\"U1\"") && again.text.contains("\"U2\""));

    h.presence_query(&["U3"]).unwrap();
    let change = next_named(&rx, "presence_change");
    assert_eq!(change["user"], "U3");
    let call = &fake.api_calls()[0];
    assert_eq!(call.param("batch_presence_aware"), Some("true"));
    assert_eq!(call.param("presence_sub"), Some("true"));
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_message_queued_before_start_is_never_stranded() {
    // The pinger must not miss the wake-ups sent while it starts (a lost kick held such
    // messages for a minute).
    for _ in 0..20 {
        let fake = fake();
        let client = unthrottled(&fake).build().unwrap();
        let r = client.handle().send_message("C1", "early").unwrap();
        let running = client.spawn().unwrap();
        assert!(r.wait(SOON).is_ok());
        running.stop();
        join_within(running, SOON).0.unwrap();
    }
}

#[test]
fn a_receipt_can_be_waited_for_inside_a_handler() {
    let fake = fake();
    let client = unthrottled(&fake).build().unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    client.on("hello", move |p: &slack_rtm::Payload| {
        let asked = Instant::now();
        let r = p.rtm_client.send_message("C1", "from a handler").unwrap();
        let _ = tx.send((r.wait(SOON), asked.elapsed()));
    });
    let running = client.spawn().unwrap();
    let (ack, took) = rx.recv_timeout(SOON + SOON).unwrap();
    assert_eq!(ack.unwrap().text.as_deref(), Some("from a handler"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_long_message_is_queued_all_or_nothing() {
    let fake = fake();
    let client = builder(&fake)
        .send_rate(1, Duration::from_secs(30))
        .send_queue_capacity(3)
        .build()
        .unwrap();
    let h = client.handle();
    // Five parts do not fit a queue of three: none is queued, the first part comes back.
    let text = "word ".repeat(4_000);
    let e = h
        .send_long_message(&ChatMessage::new("C1", &text))
        .unwrap_err();
    assert_eq!(e.kind(), &SendErrorKind::QueueFull);
    assert_eq!(e.into_payload()["channel"], "C1");
    // Three parts fit, and all three go out in order once connected.
    let text = "word ".repeat(2_000);
    let receipts = h.send_long_message(&ChatMessage::new("C1", &text)).unwrap();
    assert_eq!(receipts.len(), 3);
    let ids: Vec<u64> = receipts.iter().map(|r| r.id()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn control_characters_never_make_a_part_over_the_frame_limit() {
    let fake = fake();
    let client = unthrottled(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let text = "\u{1}".repeat(9_000);
    let receipts = client
        .handle()
        .send_long_message(&ChatMessage::new("C1", &text))
        .unwrap();
    for r in &receipts {
        r.wait(SOON).unwrap();
    }
    let frames = fake.frames();
    let sizes: Vec<usize> = frames.iter().map(|f| f.text.len()).collect();
    assert!(sizes.iter().all(|&n| n <= 16_384), "{sizes:?}");
    let joined: String = frames
        .iter()
        .filter_map(|f| f.json()?["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(joined, text);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn blocks_are_refused_over_rtm_and_messages_reach_the_history() {
    let fake = fake();
    let client = unthrottled(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    let blocks = json!([{"type": "divider"}]);
    let err = h
        .send_message_with(&ChatMessage::new("C1", "x").blocks(&blocks))
        .unwrap_err();
    assert!(
        matches!(err.kind(), SendErrorKind::InvalidPayload(m) if m.contains("Web API")),
        "{err:?}"
    );
    assert_eq!(err.into_payload()["blocks"], blocks);
    // The same message without blocks is sent, and the fake keeps it like Slack would.
    let ack = h
        .send_message_with(&ChatMessage::new("C1", "plain"))
        .unwrap()
        .wait(SOON)
        .unwrap();
    let history = fake.channel_messages("C1");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["ts"], json!(ack.ts));
    running.stop();
    join_within(running, SOON).0.unwrap();
}
