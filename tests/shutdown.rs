//! Stopping: from a handler, from another thread, twice, by dropping `Running`; `start()`
//! returns Ok, exactly one `close` per opened connection, the server sees the close, every
//! library thread is joined, and a stopped client can start again.

mod common;

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
    join_within(running, SOON).0.unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "{:?}",
        asked.elapsed()
    );
    assert!(rx.try_iter().all(|(n, _)| n != "close"));
    assert_eq!(fake.calls_to("rtm.connect"), 1, "no reconnect after stop");
}

#[test]
fn stop_while_rtm_connect_hangs_is_prompt_whatever_the_timeout() {
    let fake = fake();
    fake.push_connect_reply(slack_rtm::testing::ConnectReply::Hang);
    // A 30 s timeout: the stop must not wait for it (the connect call is abandoned).
    let client = builder(&fake)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_calls("rtm.connect", 1, SOON));
    running.stop();
    let (result, took) = join_within(running, SOON);
    result.unwrap();
    println!("stop while rtm.connect hangs: {took:?}");
    assert!(took < Duration::from_millis(1500), "stop took {took:?}");
    assert_eq!(fake.calls_to("rtm.connect"), 1, "no reconnect after stop");
    assert!(rx.try_iter().all(|(n, _)| n != "close" && n != "open"));
}

#[test]
fn stop_while_the_websocket_handshake_hangs_is_prompt() {
    // rtm.connect answers with a URL whose server accepts TCP and never answers the upgrade.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = api_with_url(format!("ws://{}/websocket", silent.local_addr().unwrap()));
    let client = slack_rtm::RtmClient::builder("xoxb-test-token")
        .base_url(&api.url)
        .handle_signals(false)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let running = client.spawn().unwrap();
    let (_conn, _) = silent.accept().unwrap();
    running.stop();
    let (result, took) = join_within(running, SOON);
    result.unwrap();
    println!("stop while the websocket handshake hangs: {took:?}");
    assert!(took < Duration::from_millis(1500), "stop took {took:?}");
}

#[test]
fn join_or_drop_inside_a_handler_returns_at_once_and_the_client_can_start_again() {
    use std::sync::{Arc, Mutex};
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let slot: Arc<Mutex<Option<slack_rtm::Running>>> = Arc::new(Mutex::new(None));
    let (tx, rx) = crossbeam_channel::unbounded();
    let (s, t) = (slot.clone(), tx.clone());
    client.on("hello", move |_p: &Payload| {
        // The handler waits until the test stored the Running (hello may come first).
        let deadline = Instant::now() + SOON;
        let running = loop {
            if let Some(r) = s.lock().unwrap().take() {
                break r;
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        };
        let asked = Instant::now();
        let result = running.join();
        let _ = t.send((result, asked.elapsed()));
    });
    *slot.lock().unwrap() = Some(client.spawn().unwrap());
    let (result, took) = rx
        .recv_timeout(SOON)
        .expect("join returned inside the handler");
    assert!(
        matches!(result, Err(Error::JoinFromClientThread)),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The client stops by itself and can start again (dropping Running in a handler too).
    let restarted = restart_when_stopped(&client);
    let (s, t) = (slot.clone(), tx);
    client.on("close", move |_p: &Payload| {
        if let Some(r) = s.lock().unwrap().take() {
            drop(r);
            let _ = t.send((Ok(()), Duration::ZERO));
        }
    });
    *slot.lock().unwrap() = Some(restarted);
    fake.close_all(1000, "bye");
    let _ = rx.recv_timeout(SOON).expect("the handler dropped Running");
    let again = restart_when_stopped(&client);
    again.stop();
    join_within(again, SOON).0.unwrap();
}

/// Starts `client` again as soon as its previous run has ended.
fn restart_when_stopped(client: &slack_rtm::RtmClient) -> slack_rtm::Running {
    let deadline = Instant::now() + SOON;
    loop {
        match client.spawn() {
            Ok(r) => return r,
            Err(Error::AlreadyRunning) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("the client never became startable again: {e}"),
        }
    }
}

#[test]
fn a_handler_that_captures_its_handle_does_not_keep_the_client_alive() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let fake = fake();
    // Never started.
    let freed = Arc::new(AtomicBool::new(false));
    {
        let client = builder(&fake).build().unwrap();
        let (h, flag) = (client.handle(), Flag(freed.clone()));
        client.on("message", move |_p: &Payload| {
            let _ = &flag;
            h.stop();
        });
    }
    assert!(
        freed.load(Ordering::SeqCst),
        "the client and its handlers were freed"
    );
    // Started, stopped, dropped.
    let freed = Arc::new(AtomicBool::new(false));
    let handle = {
        let client = builder(&fake).build().unwrap();
        let (h, flag) = (client.handle(), Flag(freed.clone()));
        let rx = record_all(&client);
        client.on("hello", move |p: &Payload| {
            let _ = &flag;
            let _ = h.is_connected();
            p.rtm_client.stop();
        });
        let running = client.spawn().unwrap();
        next_named(&rx, "close");
        join_within(running, SOON).0.unwrap();
        client.handle()
    };
    assert!(
        freed.load(Ordering::SeqCst),
        "the client and its handlers were freed"
    );
    // A handle that outlives its client refuses sends and ignores stop.
    let e = handle.ping().unwrap_err();
    assert_eq!(e.kind(), &slack_rtm::SendErrorKind::NotConnected);
    handle.stop();
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
    join_within(running, SOON).0.unwrap();

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

fn library_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("rtm-"))
        .collect()
}

#[test]
#[ignore = "runs in a child process of no_library_thread_is_left_after_stop"]
fn child_no_thread_left_after_stop() {
    if !is_child("child_no_thread_left_after_stop") {
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
    join_within(running, SOON).0.unwrap();
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
