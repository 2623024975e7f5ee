//! Stopping: from a handler, from another thread, twice, by dropping `Running`; `start()`
//! returns Ok, exactly one `close` per opened connection, the server sees the close, every
//! library thread is joined, and a stopped client can start again.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use slack_rtm::{Error, Payload};

#[test]
fn stop_from_a_handler_returns_ok_from_start() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    client.on("hello", |p: &Payload| p.rtm_client.stop());
    let started = Instant::now();
    client.start().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let events: Vec<_> = rx.try_iter().collect();
    assert_eq!(names(&events), ["open", "hello", "close"]);
    assert_eq!(events[2].1["will_reconnect"], false);
    assert!(
        fake.wait_for_open(0, SOON),
        "the server saw the connection close"
    );
}

#[test]
fn stop_from_another_thread_is_prompt() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let c = client.clone();
    let t = std::thread::spawn(move || c.start());
    next_named(&rx, "hello");
    let asked = Instant::now();
    client.stop();
    client.stop(); // twice is fine
    t.join().unwrap().unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(2500),
        "stop took {:?}",
        asked.elapsed()
    );
    let closes = rx.try_iter().filter(|(n, _)| n == "close").count();
    assert_eq!(closes, 1);
}

#[test]
fn stop_during_a_backoff_wait_is_prompt_and_dispatches_no_close() {
    let fake = fake();
    fake.push_connect_reply(slack_rtm::testing::ConnectReply::HttpStatus(500));
    let client = builder(&fake)
        .backoff(Duration::from_secs(30), Duration::from_secs(30))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    let err = next_named(&rx, "error");
    assert!(err["delay_ms"].as_u64().is_some());
    let asked = Instant::now();
    running.stop();
    running.join().unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "{:?}",
        asked.elapsed()
    );
    assert!(rx.try_iter().all(|(n, _)| n != "close"));
    assert_eq!(fake.calls_to("rtm.connect"), 1, "no reconnect after stop");
}

#[test]
fn stop_while_connecting_returns_within_the_phase_timeout() {
    let fake = fake();
    fake.push_connect_reply(slack_rtm::testing::ConnectReply::Hang);
    let client = builder(&fake)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_calls("rtm.connect", 1, SOON));
    let asked = Instant::now();
    running.stop();
    running.join().unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(500 + 1500),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(fake.calls_to("rtm.connect"), 1, "no reconnect after stop");
    assert!(rx.try_iter().all(|(n, _)| n != "close" && n != "open"));
}

#[test]
fn a_running_client_refuses_a_second_start_and_can_restart_after_stop() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    assert!(matches!(client.spawn(), Err(Error::AlreadyRunning)));
    assert!(matches!(client.start(), Err(Error::AlreadyRunning)));
    next_named(&rx, "hello");
    running.stop();
    running.join().unwrap();

    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    assert_eq!(fake.connections_total(), 2);
    drop(running); // dropping stops and joins
    next_named(&rx, "close");
    assert!(
        client.spawn().is_ok(),
        "dropping Running released the client"
    );
}

/// Runs `test` in a child process of this test binary (for thread counts and signals, which
/// are process-wide).
pub fn run_child(test: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("SLACK_RTM_CHILD", test)
        .output()
        .unwrap()
}

fn library_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("rtm-"))
        .collect()
}

#[test]
fn child_no_thread_left_after_stop() {
    if std::env::var("SLACK_RTM_CHILD").as_deref() != Ok("child_no_thread_left_after_stop") {
        return;
    }
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    let mut during = library_threads();
    during.sort();
    assert_eq!(during, ["rtm-dispatch", "rtm-pinger", "rtm-reader"]);
    running.stop();
    running.join().unwrap();
    assert_eq!(library_threads(), Vec::<String>::new());
    println!("CHILD-OK");
}

#[test]
#[cfg(target_os = "linux")]
fn no_library_thread_is_left_after_stop() {
    let out = run_child("child_no_thread_left_after_stop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
