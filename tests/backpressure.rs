//! Backpressure: when handlers fall behind, the reader waits on the bounded channel instead of
//! buffering or dropping; every event is delivered in order exactly once, the pong deadline is
//! suspended while the reader waits (no false "dead connection", no reconnect), and memory stays
//! bounded while a flood is held back.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use slack_rtm::Payload;

#[test]
fn a_slow_handler_gets_every_event_in_order_without_a_false_dead_connection() {
    const EVENTS: u64 = 2000;
    // ~512-byte events: one 64 KiB socket read carries ~128 of them, ~270 ms of handler
    // work at 2 ms each, so the reader waits on the full channel for longer than the pong
    // deadline over and over.
    let pad = "x".repeat(470);
    let fake = fake();
    fake.set_answer_pings(false); // a zombie: only the flood itself shows the server lives
    let client = builder(&fake)
        .channel_capacity(2)
        .ping_interval(Duration::from_millis(100))
        .pong_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    client.on("flood", |_: &Payload| {
        std::thread::sleep(Duration::from_millis(2));
    });
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");

    let started = Instant::now();
    for seq in 0..EVENTS {
        fake.send_text(&json!({"type": "flood", "seq": seq, "pad": pad}).to_string());
    }
    let ticking = AtomicBool::new(true);
    let outcome = std::thread::scope(|s| {
        // Queued behind the whole flood, ticks keep the zombie visibly alive once the flood
        // is over, so that the last events' handler time cannot end the connection.
        s.spawn(|| {
            while ticking.load(Ordering::Relaxed) {
                fake.send_json(&json!({"type": "tick"}));
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut next = 0;
        let outcome = loop {
            if next == EVENTS {
                break Ok(());
            }
            match rx.recv_deadline(deadline) {
                Ok((name, data)) if name == "flood" => {
                    if data["seq"] != next {
                        break Err(format!("expected seq {next}, got {}", data["seq"]));
                    }
                    next += 1;
                }
                Ok((name, _)) if name == "tick" => {}
                Ok((name, data)) => break Err(format!("after {next} events: {name} {data}")),
                Err(_) => break Err(format!("only {next} of {EVENTS} events within 60 s")),
            }
        };
        // Checked before the ticks stop: the connection is still the first one.
        let connections = fake.connections_total();
        ticking.store(false, Ordering::Relaxed);
        outcome.map(|()| connections)
    });
    let elapsed = started.elapsed();
    let connections = outcome.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(connections, 1, "the slow handler caused a reconnect");
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    assert!(
        elapsed >= Duration::from_millis(2 * EVENTS),
        "the handler was not slow: {elapsed:?}"
    );
    // The keepalive was armed throughout: pings left while the reader was held back.
    let pinged = fake
        .frames()
        .iter()
        .filter(|f| f.frame_type().as_deref() == Some("ping"))
        .count();
    assert!(pinged >= 10, "only {pinged} pings during {elapsed:?}");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

/// `VmRSS` or `VmHWM` of this process, in KiB.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[test]
#[ignore = "runs in a child process of its parent test"]
fn child_a_held_back_flood_keeps_memory_bounded() {
    if !is_child("child_a_held_back_flood_keeps_memory_bounded") {
        return;
    }
    const EVENTS: usize = 64_000;
    let event = json!({"type": "flood", "pad": "x".repeat(780)}).to_string();
    let fake = fake();
    let client = builder(&fake).channel_capacity(2).build().unwrap();
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    client.on("flood", move |_: &Payload| {
        if c.fetch_add(1, Ordering::Relaxed) == 0 {
            // Hold the dispatcher until the test lets go.
            let _ = release_rx.recv_timeout(SOON);
        }
        if c.load(Ordering::Relaxed) == EVENTS {
            let _ = done_tx.try_send(());
        }
    });
    let (hello_tx, hello_rx) = crossbeam_channel::bounded::<()>(1);
    client.on("hello", move |_: &Payload| {
        let _ = hello_tx.try_send(());
    });
    let running = client.spawn().unwrap();
    hello_rx.recv_timeout(SOON).expect("hello");
    let before = proc_status_kib("VmRSS");
    assert_eq!(fake.flood(&event, EVENTS), 1);
    // Give a client that buffered instead of waiting every chance to swallow the ~50 MB
    // flood (loopback moves that in well under a second).
    std::thread::sleep(Duration::from_millis(1500));
    let held = proc_status_kib("VmRSS");
    release_tx.send(()).unwrap();
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("only {} of {EVENTS} events", count.load(Ordering::Relaxed)));
    let peak = proc_status_kib("VmHWM");
    assert_eq!(count.load(Ordering::Relaxed), EVENTS);
    assert_eq!(fake.connections_total(), 1);
    running.stop();
    join_within(running, SOON).0.unwrap();
    println!("RSS before {before} KiB, held back {held} KiB, peak {peak} KiB");
    let limit = before + 24 * 1024;
    assert!(
        held < limit,
        "memory grew while held back: {before} -> {held} KiB"
    );
    assert!(peak < limit, "peak memory grew: {before} -> {peak} KiB");
    println!("CHILD-OK");
}

#[test]
#[cfg(target_os = "linux")]
fn a_held_back_flood_keeps_memory_bounded() {
    let out = run_child("child_a_held_back_flood_keeps_memory_bounded");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(line) = stdout.lines().find(|l| l.contains("RSS before")) {
        println!("{line}");
    }
}

#[test]
fn stopping_while_handlers_lag_is_prompt_and_drops_the_backlog() {
    let fake = fake();
    let client = builder(&fake).channel_capacity(2).build().unwrap();
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    client.on("flood", move |_: &Payload| {
        h.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(5));
    });
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let event = json!({"type": "flood", "pad": "x".repeat(200)}).to_string();
    assert_eq!(fake.flood(&event, 20_000), 1);
    next_named(&rx, "flood");
    let asked = Instant::now();
    running.stop();
    join_within(running, SOON).0.unwrap();
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(2500), "stop took {took:?}");
    let handled = handled.load(Ordering::Relaxed);
    assert!(handled < 20_000, "the backlog was not discarded");
    let closes: Vec<_> = rx.try_iter().filter(|(n, _)| n == "close").collect();
    assert_eq!(closes.len(), 1, "the close survives the stop");
    assert_eq!(closes[0].1["will_reconnect"], false);
    assert_eq!(fake.connections_total(), 1);
}
