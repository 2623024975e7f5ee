//! A server that stops reading blocks only the thread that writes: the reader keeps decoding and
//! dispatching, other sends are queued up to a bound and then refused (payload back), and a
//! stop returns promptly, ending the blocked write. A chat send blocked in the write holds no
//! lock: other chat sends return, and acks (`reply_to`) and events keep coming.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use slack_rtm::{RtmClient, SendErrorKind};

#[test]
fn a_server_that_stops_reading_blocks_only_the_writer() {
    // hello, then a tick every 5 ms until the client goes away; never reads a byte.
    let ws = ws_server(|mut ws| {
        if ws
            .send(tungstenite::Message::text(r#"{"type":"hello"}"#))
            .is_err()
        {
            return;
        }
        for i in 0.. {
            let tick = json!({"type": "tick", "n": i}).to_string();
            if ws.send(tungstenite::Message::text(tick)).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    });
    let api = api_with_url(ws);
    let client = RtmClient::builder("xoxb-test-token")
        .base_url(&api.url)
        .handle_signals(false)
        .auto_reconnect(false)
        .ping_interval(Duration::ZERO)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");

    // Four threads send 16 KB frames until refused: one ends up blocked in the socket write
    // (the server reads nothing), the others queue behind it until the bound refuses them.
    let (err_tx, err_rx) = crossbeam_channel::unbounded();
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let h = client.handle();
            let tx = err_tx.clone();
            thread::spawn(move || {
                let filler = json!({"type": "filler", "text": "x".repeat(16_000)});
                loop {
                    if let Err(e) = h.send_over_websocket(filler.clone()) {
                        let _ = tx.send(e);
                        return;
                    }
                }
            })
        })
        .collect();
    let refused = err_rx.recv_timeout(SOON).expect("a send was refused");
    assert_eq!(refused.kind(), &SendErrorKind::OutboundFull);
    assert_eq!(
        refused.into_payload()["type"],
        "filler",
        "the payload comes back"
    );

    // The reader still decodes and the dispatcher still dispatches, a writer being blocked.
    let before = rx.try_iter().filter(|(n, _)| n == "tick").count();
    let deadline = Instant::now() + SOON;
    let mut ticks = 0;
    while ticks < 50 {
        assert!(
            Instant::now() < deadline,
            "only {ticks} ticks while a write was blocked"
        );
        if let Ok((n, _)) = rx.recv_timeout(SOON) {
            ticks += usize::from(n == "tick");
        }
    }
    assert!(before + ticks >= 50);

    // A stop is prompt: the close frame gets its short bound, then the socket is dropped,
    // which also ends the blocked write.
    running.stop();
    let (result, took) = join_within(running, SOON);
    result.unwrap();
    println!("stop while a write is blocked: {took:?}");
    assert!(took < Duration::from_secs(3), "stop took {took:?}");
    for s in senders {
        s.join().unwrap();
    }
    // Every sender ended with an error; none hung for the 30 s write timeout.
    let kinds: Vec<_> = err_rx.try_iter().map(|e| e.kind().clone()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}

#[test]
fn a_chat_send_blocked_on_a_peer_that_stopped_reading_does_not_stop_receiving() {
    use std::sync::{Arc, Mutex};
    // hello; reads the first chat message, then never reads again; on `go`, acks that message
    // and sends 20 ticks.
    let (id_tx, id_rx) = crossbeam_channel::unbounded::<u64>();
    let (go_tx, go_rx) = crossbeam_channel::unbounded::<()>();
    let ws = ws_server(move |mut ws| {
        if ws
            .send(tungstenite::Message::text(r#"{"type":"hello"}"#))
            .is_err()
        {
            return;
        }
        let id = loop {
            let Ok(tungstenite::Message::Text(t)) = ws.read() else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
            if v["type"] == "message" {
                break v["id"].as_u64().unwrap_or_default();
            }
        };
        let _ = id_tx.send(id);
        if go_rx.recv_timeout(SOON).is_err() {
            return;
        }
        let ack = json!({"ok": true, "reply_to": id, "ts": "1.000001", "text": "first"});
        let _ = ws.send(tungstenite::Message::text(ack.to_string()));
        for i in 0..20 {
            let tick = json!({"type": "tick", "n": i}).to_string();
            if ws.send(tungstenite::Message::text(tick)).is_err() {
                return;
            }
        }
        // Hold the socket (unread) until the client goes away.
        while ws
            .send(tungstenite::Message::text(r#"{"type":"idle"}"#))
            .is_ok()
        {
            thread::sleep(Duration::from_millis(50));
        }
    });
    let api = api_with_url(ws);
    let client = RtmClient::builder("xoxb-test-token")
        .base_url(&api.url)
        .handle_signals(false)
        .auto_reconnect(false)
        .ping_interval(Duration::ZERO)
        .send_throttle(false)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let h = client.handle();
    let first = h.send_message("C1", "first").unwrap();
    assert_eq!(id_rx.recv_timeout(SOON).unwrap(), first.id());

    // One thread sends chat messages until one blocks in the socket write (the peer reads
    // nothing): it is then the writer, blocked for up to the 15 s write timeout.
    let in_call: Arc<Mutex<Option<Instant>>> = Arc::default();
    let watch = in_call.clone();
    let sender = thread::spawn(move || {
        let text = "x".repeat(4000);
        loop {
            *watch.lock().unwrap() = Some(Instant::now());
            let sent = h.send_message("C1", &text);
            *watch.lock().unwrap() = None;
            if let Err(e) = sent {
                return e.kind().clone();
            }
        }
    });
    let blocked = || {
        in_call
            .lock()
            .unwrap()
            .is_some_and(|since| since.elapsed() > Duration::from_millis(300))
    };
    assert!(eventually(SOON, blocked), "a send blocks in the write");

    // Another chat send does not wait for that write: it is queued behind it and returns (the
    // blocked writer holds no lock the send path needs).
    let h2 = client.handle();
    let second = within(Duration::from_millis(500), move || {
        h2.send_message("C1", "second").map(|r| r.id())
    });
    assert!(second.is_ok(), "{second:?}");

    // The ack of the first message resolves and the ticks are dispatched.
    go_tx.send(()).unwrap();
    let ack = first.wait(SOON).expect("the ack resolves");
    assert_eq!(ack.ts.as_deref(), Some("1.000001"));
    let deadline = Instant::now() + SOON;
    let mut ticks = 0;
    while ticks < 20 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((n, _)) => ticks += usize::from(n == "tick"),
            Err(_) => panic!("only {ticks} ticks"),
        }
    }

    running.stop();
    let (result, _) = join_within(running, SOON);
    result.unwrap();
    // The blocked send ends with the connection; once stopped, sends queue for the next
    // start until the queue is full.
    let kind = within(SOON, move || sender.join().unwrap());
    assert!(
        matches!(
            kind,
            SendErrorKind::NotConnected | SendErrorKind::QueueFull | SendErrorKind::Io(_)
        ),
        "{kind:?}"
    );
}

#[test]
fn socket_mode_handler_acks_never_block_the_dispatcher_on_a_peer_that_stopped_reading() {
    use slack_rtm::socket_mode::{Request, SocketModeClient};
    const ENVELOPES: usize = 600;
    // hello, then slash commands; never reads a byte (acks pile up unread).
    let ws = ws_server(|mut ws| {
        let hello = json!({"type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-1", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A1"}});
        if ws
            .send(tungstenite::Message::text(hello.to_string()))
            .is_err()
        {
            return;
        }
        for i in 0..ENVELOPES {
            let envelope = json!({"envelope_id": format!("e{i}"), "type": "slash_commands",
                "accepts_response_payload": true,
                "payload": {"command": "/big", "text": i.to_string()}});
            if ws
                .send(tungstenite::Message::text(envelope.to_string()))
                .is_err()
            {
                return;
            }
        }
        while ws
            .send(tungstenite::Message::Ping(Vec::new().into()))
            .is_ok()
        {
            thread::sleep(Duration::from_millis(100));
        }
    });
    let api = api_with_url(ws);
    let client = SocketModeClient::builder("xapp-1-A1-1-secret")
        .base_url(&api.url)
        .handle_signals(false)
        .auto_reconnect(false)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (tx, handled) = crossbeam_channel::unbounded();
    client.on("/big", move |r: &Request| {
        // An answer of ~19 KB each: a few hundred fill every buffer between us and the peer.
        let answer = r.ack_with(json!({"text": "y".repeat(19_000)}));
        let _ = tx.send(answer.is_ok());
    });
    let running = client.spawn().unwrap();
    // Every envelope is dispatched, none waiting for an ack to reach the socket.
    let deadline = Instant::now() + SOON;
    let mut acked = 0;
    for n in 0..ENVELOPES {
        match handled.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(ok) => acked += usize::from(ok),
            Err(_) => panic!("only {n} envelopes dispatched: the dispatcher is blocked"),
        }
    }
    // The first acks were queued; once a megabyte waited unwritten, the rest were refused.
    assert!(acked > 0 && acked < ENVELOPES, "{acked}");
    running.stop();
    within(SOON, move || running.join()).unwrap();
}
