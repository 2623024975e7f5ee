//! A server that stops reading blocks only the thread that writes: the reader keeps decoding and
//! dispatching, other sends are queued up to a bound and then refused (payload back), and a
//! stop returns promptly, ending the blocked write.

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
