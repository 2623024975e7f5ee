//! Signals: SIGINT/SIGTERM/SIGHUP stop a running `start()` gracefully; outside one they keep
//! their default action; a second SIGINT during the stop exits with 130; `handle_signals(false)`
//! leaves them alone. Each case runs in a child process (signals are process-wide).

mod common;

use std::os::unix::process::ExitStatusExt;

use common::*;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::low_level::raise;
use slack_rtm::Payload;

/// In the child: start a client that raises `sig` on hello; start() must return Ok.
fn stop_by(sig: i32) {
    let fake = fake();
    let client = builder(&fake).handle_signals(true).build().unwrap();
    let rx = record_all(&client);
    client.on("hello", move |_p: &Payload| {
        raise(sig).unwrap();
    });
    client.start().expect("a signal is a graceful stop");
    let closes = rx.try_iter().filter(|(n, _)| n == "close").count();
    assert_eq!(closes, 1);
    println!("CHILD-STOPPED");
}

#[test]
#[ignore = "runs in a child process of its parent test"]
fn child_sigint() {
    if is_child("child_sigint") {
        stop_by(SIGINT);
        // Outside start(), SIGTERM has its default action again: the process dies by it.
        raise(SIGTERM).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(5));
        println!("CHILD-SURVIVED");
    }
}

#[test]
#[ignore = "runs in a child process of its parent test"]
fn child_sigterm_and_sighup() {
    if is_child("child_sigterm_and_sighup") {
        stop_by(SIGTERM);
        stop_by(SIGHUP);
        println!("CHILD-BOTH");
    }
}

#[test]
#[ignore = "runs in a child process of its parent test"]
fn child_second_sigint() {
    if is_child("child_second_sigint") {
        let fake = fake();
        let client = builder(&fake).handle_signals(true).build().unwrap();
        client.on("hello", |_p: &Payload| raise(SIGINT).unwrap());
        // The stop is underway when close is dispatched: a second SIGINT exits at once.
        client.on("close", |_p: &Payload| {
            raise(SIGINT).unwrap();
            std::thread::sleep(std::time::Duration::from_secs(5));
        });
        let _ = client.start();
        println!("CHILD-SURVIVED");
    }
}

#[test]
fn signals_stop_start_gracefully_then_act_as_default() {
    let out = run_child("child_sigint");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CHILD-STOPPED"), "{stdout}");
    assert!(!stdout.contains("CHILD-SURVIVED"), "{stdout}");
    assert_eq!(out.status.signal(), Some(SIGTERM), "{:?}", out.status);

    let out = run_child("child_sigterm_and_sighup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("CHILD-BOTH"));
}

#[test]
fn a_second_sigint_exits_with_130() {
    let out = run_child("child_second_sigint");
    assert_eq!(out.status.code(), Some(130), "{:?}", out.status);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("CHILD-SURVIVED"));
}
