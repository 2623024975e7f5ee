//! Every fault that ends a connection (server close, TCP drop, `goodbye`,
//! `team_migration_started`, a server `error` frame) is followed by a fresh `rtm.connect` and
//! connection, with the events before and after delivered in order exactly once; failing
//! `rtm.connect` answers are retried with capped, jittered exponential backoff (`Retry-After` a
//! floor, `max_attempts`, the connect-rate gate), and fatal answers stop after exactly one call.

mod common;

use std::ops::Range;
use std::time::{Duration, Instant};

use common::*;
use crossbeam_channel::Receiver;
use serde_json::{json, Value};
use slack_rtm::testing::{ApiCall, ConnectReply, FakeSlack};
use slack_rtm::{Error, RtmClient};

type Events = Receiver<(String, Value)>;

/// The backoff `common::builder` configures.
const BASE: Duration = Duration::from_millis(20);
const CAP: Duration = Duration::from_millis(200);

fn message(i: usize) -> Value {
    json!({"type": "message", "channel": "C1", "user": "U1", "text": format!("m{i}")})
}

fn send_messages(fake: &FakeSlack, range: Range<usize>) {
    for i in range {
        fake.send_json(&message(i));
    }
}

/// The next `n` events, whatever their names; panics if they don't all come within `SOON`.
fn take(rx: &Events, n: usize) -> Vec<(String, Value)> {
    let deadline = Instant::now() + SOON;
    let mut seen = Vec::new();
    while seen.len() < n {
        match rx.recv_deadline(deadline) {
            Ok(e) => seen.push(e),
            Err(_) => panic!(
                "only {} of {n} events within {SOON:?}: {seen:?}",
                seen.len()
            ),
        }
    }
    seen
}

/// The next events are exactly the messages `range`, in order, and nothing else.
fn expect_messages(rx: &Events, range: Range<usize>) {
    let seen = take(rx, range.len());
    for ((name, data), i) in seen.iter().zip(range) {
        assert_eq!(name, "message", "{seen:?}");
        assert_eq!(data["text"], format!("m{i}"), "{seen:?}");
    }
}

fn ms(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not a number of ms: {v}"))
}

fn connect_calls(fake: &FakeSlack) -> Vec<ApiCall> {
    fake.api_calls()
        .into_iter()
        .filter(|c| c.method == "rtm.connect")
        .collect()
}

/// Gaps between successive `rtm.connect` calls, as the fake saw them.
fn connect_gaps(fake: &FakeSlack) -> Vec<Duration> {
    let calls = connect_calls(fake);
    calls.windows(2).map(|w| w[1].at - w[0].at).collect()
}

/// The ceiling of the full-jitter delay after the `n`-th failure in a row.
fn ceiling(base: Duration, cap: Duration, n: u32) -> Duration {
    (base * 2u32.pow(n - 1)).min(cap)
}

/// Runs a client through `fault`: messages 0..10 on the first connection, the fault, messages
/// 10..20 on the second. Checks order, counts and the final stop; returns the events from the
/// fault up to the second `hello`.
fn through_fault(fault: impl FnOnce(&FakeSlack)) -> Vec<(String, Value)> {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    assert_eq!(names(&until_named(&rx, "hello")), ["open", "hello"]);
    send_messages(&fake, 0..10);
    expect_messages(&rx, 0..10);

    fault(&fake);
    let around = until_named(&rx, "hello");
    let n = around.len();
    assert!(n >= 3, "{around:?}");
    assert_eq!(names(&around[n - 3..]), ["close", "open", "hello"]);
    let close = &around[n - 3].1;
    assert_eq!(close["will_reconnect"], true, "{close}");
    assert!(ms(&close["attempt"]) >= 1, "{close}");
    assert!(ms(&close["delay_ms"]) <= CAP.as_millis() as u64, "{close}");
    assert!(close["reason"].as_str().is_some_and(|r| !r.is_empty()));
    // The old connection is gone on the server side too: nothing leaks.
    assert!(
        fake.wait_for_open(1, SOON),
        "the old websocket was not closed"
    );

    send_messages(&fake, 10..20);
    expect_messages(&rx, 10..20);
    assert_eq!(
        fake.calls_to("rtm.connect"),
        2,
        "a fresh url per connection"
    );
    assert_eq!(fake.connections_total(), 2);

    running.stop();
    join_within(running, SOON).0.unwrap();
    let rest: Vec<_> = rx.try_iter().collect();
    assert_eq!(names(&rest), ["close"], "nothing lost, nothing twice");
    assert_eq!(rest[0].1["will_reconnect"], false);
    around
}

#[test]
fn a_server_close_frame_reconnects() {
    let around = through_fault(|fake| fake.close_all(4002, "server restart"));
    assert_eq!(names(&around), ["close", "open", "hello"]);
    let close = &around[0].1;
    assert_eq!(close["code"], 4002);
    assert_eq!(close["reason"], "server restart");
}

#[test]
fn events_queued_before_a_close_frame_arrive_before_the_close() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    // All queued at once: the close frame leaves the server right behind the messages.
    send_messages(&fake, 0..50);
    fake.close_all(1001, "going away");
    let seen = until_named(&rx, "hello");
    let mut expected = vec!["message"; 50];
    expected.extend(["close", "open", "hello"]);
    assert_eq!(names(&seen), expected);
    for (i, (_, data)) in seen.iter().take(50).enumerate() {
        assert_eq!(data["text"], format!("m{i}"));
    }
    assert_eq!(seen[50].1["code"], 1001);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_tcp_drop_reconnects() {
    let around = through_fault(FakeSlack::drop_all);
    assert_eq!(names(&around), ["close", "open", "hello"]);
    assert_eq!(around[0].1["code"], Value::Null, "no close frame, no code");
}

#[test]
fn goodbye_makes_the_client_reconnect_by_itself() {
    // The fake never closes after goodbye: the client must end the connection itself.
    let around = through_fault(|fake| {
        fake.send_goodbye();
    });
    assert_eq!(names(&around), ["goodbye", "close", "open", "hello"]);
    let reason = around[1].1["reason"].as_str().unwrap();
    assert!(reason.contains("goodbye"), "{reason}");
}

#[test]
fn team_migration_started_reconnects() {
    let around = through_fault(|fake| {
        fake.send_team_migration_started();
    });
    assert_eq!(
        names(&around),
        ["team_migration_started", "close", "open", "hello"]
    );
    let reason = around[1].1["reason"].as_str().unwrap();
    assert!(reason.contains("team_migration"), "{reason}");
}

#[test]
fn after_team_migration_started_migration_in_progress_is_retried() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    // Slack answers migration_in_progress for a while after a migration starts.
    for _ in 0..2 {
        fake.push_connect_reply(ConnectReply::Error("migration_in_progress".into()));
    }
    fake.send_team_migration_started();
    let seen = until_named(&rx, "hello");
    assert_eq!(
        names(&seen),
        [
            "team_migration_started",
            "close",
            "error",
            "error",
            "open",
            "hello"
        ]
    );
    let attempts: Vec<u64> = seen[1..4].iter().map(|(_, d)| ms(&d["attempt"])).collect();
    assert_eq!(
        attempts[1], attempts[0],
        "the close announces the failing attempt"
    );
    assert_eq!(attempts[2], attempts[1] + 1, "{attempts:?}");
    for (_, error) in &seen[2..4] {
        assert_eq!(error["kind"], "api");
        assert!(error["message"]
            .as_str()
            .unwrap()
            .contains("migration_in_progress"));
        assert!(ms(&error["delay_ms"]) <= CAP.as_millis() as u64, "{error}");
    }
    assert_eq!(fake.calls_to("rtm.connect"), 4);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn a_server_error_frame_is_dispatched_and_reconnects() {
    let around = through_fault(|fake| {
        fake.send_error_event(42, "something broke");
    });
    assert_eq!(names(&around), ["error", "close", "open", "hello"]);
    let error = &around[0].1;
    assert_eq!(error["error"]["code"], 42);
    assert_eq!(error["error"]["msg"], "something broke");
    assert!(
        error.get("source").is_none(),
        "a server error frame is not a client error: {error}"
    );
    let reason = around[1].1["reason"].as_str().unwrap();
    assert!(reason.contains("error"), "{reason}");
}

#[test]
fn an_error_frame_with_unexpected_field_types_still_reconnects() {
    let around = through_fault(|fake| {
        fake.send_json(&json!({"type": "error", "error": "not an object"}));
    });
    assert_eq!(names(&around), ["error", "close", "open", "hello"]);
}

/// The attempt counter: each quick drop announces the next attempt; a failed attempt reports
/// the number the close announced; a connection that stayed up `healthy_after` resets it, and
/// the first retry after it is immediate.
#[test]
fn attempts_grow_across_quick_drops_and_reset_after_a_healthy_connection() {
    const HEALTHY: Duration = Duration::from_millis(400);
    let fake = fake();
    let client = builder(&fake).healthy_after(HEALTHY).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");

    fake.drop_all();
    let first = next_named(&rx, "close");
    until_named(&rx, "hello");
    // The next rtm.connect fails once: its error reports the attempt the close announced.
    fake.push_connect_reply(ConnectReply::HttpStatus(503));
    fake.drop_all();
    let second = next_named(&rx, "close");
    let failed = next_named(&rx, "error");
    let hello_at = {
        until_named(&rx, "hello");
        Instant::now()
    };
    let a1 = ms(&first["attempt"]);
    let a2 = ms(&second["attempt"]);
    assert_eq!(a2, a1 + 1, "{first} {second}");
    assert_eq!(ms(&failed["attempt"]), a2, "{second} {failed}");
    assert!(ms(&first["delay_ms"]) <= CAP.as_millis() as u64);
    assert!(ms(&second["delay_ms"]) <= CAP.as_millis() as u64);

    // Let this connection become healthy. (Sleeping is the point here: time must pass.)
    std::thread::sleep(HEALTHY + Duration::from_millis(200) - hello_at.elapsed().min(HEALTHY));
    fake.drop_all();
    let third = next_named(&rx, "close");
    assert_eq!(
        ms(&third["attempt"]),
        1,
        "reset after a healthy connection: {third}"
    );
    assert_eq!(
        ms(&third["delay_ms"]),
        0,
        "first retry is immediate: {third}"
    );
    until_named(&rx, "hello");
    assert_eq!(fake.calls_to("rtm.connect"), 5);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

/// One failing `rtm.connect` answer, then a normal one: returns the `error` event and the
/// gap between the two calls.
fn retried_once(reply: ConnectReply, timeout: Duration) -> (Value, Duration) {
    let fake = fake();
    fake.push_connect_reply(reply);
    let client = builder(&fake).timeout(timeout).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    let seen = until_named(&rx, "hello");
    assert_eq!(names(&seen), ["error", "open", "hello"], "{seen:?}");
    assert_eq!(fake.calls_to("rtm.connect"), 2);
    running.stop();
    join_within(running, SOON).0.unwrap();
    let error = seen[0].1.clone();
    assert_eq!(error["source"], "client", "{error}");
    assert_eq!(error["attempt"], 1, "{error}");
    assert!(error["message"].as_str().is_some(), "{error}");
    let gap = connect_gaps(&fake)[0];
    assert!(
        gap >= Duration::from_millis(ms(&error["delay_ms"])),
        "the announced delay was not waited: {gap:?} {error}"
    );
    (error, gap)
}

#[test]
fn http_5xx_is_retried_after_a_short_backoff() {
    let (error, gap) = retried_once(ConnectReply::HttpStatus(503), Duration::from_secs(5));
    assert_eq!(error["kind"], "api");
    assert!(
        error["message"].as_str().unwrap().contains("503"),
        "{error}"
    );
    assert!(ms(&error["delay_ms"]) <= BASE.as_millis() as u64, "{error}");
    assert!(gap < Duration::from_secs(2), "{gap:?}");
}

#[test]
fn a_retryable_error_code_is_retried() {
    let (error, gap) = retried_once(
        ConnectReply::Error("internal_error".into()),
        Duration::from_secs(5),
    );
    assert_eq!(error["kind"], "api");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("internal_error"));
    assert!(ms(&error["delay_ms"]) <= BASE.as_millis() as u64, "{error}");
    assert!(gap < Duration::from_secs(2), "{gap:?}");
}

#[test]
fn an_answer_without_url_is_retried() {
    let (error, gap) = retried_once(ConnectReply::NoUrl, Duration::from_secs(5));
    assert_eq!(error["kind"], "no_url");
    assert!(ms(&error["delay_ms"]) <= BASE.as_millis() as u64, "{error}");
    assert!(gap < Duration::from_secs(2), "{gap:?}");
}

#[test]
fn a_hanging_rtm_connect_times_out_and_is_retried() {
    let timeout = Duration::from_millis(300);
    let (error, gap) = retried_once(ConnectReply::Hang, timeout);
    assert_eq!(error["kind"], "timeout", "{error}");
    assert!(gap >= timeout, "retried before the timeout: {gap:?}");
    assert!(gap < Duration::from_secs(3), "{gap:?}");
}

#[test]
fn retry_after_is_a_floor_for_the_next_attempt() {
    let (error, gap) = retried_once(
        ConnectReply::RateLimited {
            retry_after_secs: 1,
        },
        Duration::from_secs(5),
    );
    assert_eq!(error["kind"], "api");
    assert!(error["message"].as_str().unwrap().contains("ratelimited"));
    let delay = ms(&error["delay_ms"]);
    assert!(
        (1000..=1000 + BASE.as_millis() as u64).contains(&delay),
        "{error}"
    );
    assert!(
        gap >= Duration::from_millis(990),
        "retried too early: {gap:?}"
    );
    assert!(gap < Duration::from_secs(3), "{gap:?}");
}

/// `client.start()` with a deadline: a client that keeps retrying fails the test instead of
/// hanging it.
fn start_within(client: &RtmClient, limit: Duration) -> Result<(), Error> {
    let (tx, done) = crossbeam_channel::bounded(1);
    let c = client.clone();
    let t = std::thread::spawn(move || {
        let r = c.start();
        let _ = tx.send(());
        r
    });
    if done.recv_timeout(limit).is_err() {
        client.stop();
        let r = t.join().unwrap();
        panic!("start() was still running after {limit:?} (then {r:?}): it kept retrying");
    }
    t.join().unwrap()
}

/// A fatal answer: `start()` fails with it after exactly one call, whatever `auto_reconnect`.
fn fatal(reply: ConnectReply) -> Error {
    let fake = fake();
    fake.push_connect_reply(reply);
    let client = builder(&fake).auto_reconnect(true).build().unwrap();
    let rx = record_all(&client);
    let started = Instant::now();
    let err = start_within(&client, SOON).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_fatal(), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(fake.calls_to("rtm.connect"), 1, "no retry after {err:?}");
    assert_eq!(fake.connections_total(), 0);
    let events: Vec<_> = rx.try_iter().collect();
    assert_eq!(names(&events), ["error"], "{events:?}");
    assert_eq!(events[0].1["source"], "client");
    assert_eq!(events[0].1["kind"], "api");
    err
}

fn assert_api(err: &Error, want_status: u16, want_code: &str) {
    match err {
        Error::Api {
            method,
            status,
            code,
            ..
        } => {
            assert_eq!(method, "rtm.connect");
            assert_eq!(*status, want_status);
            assert_eq!(code, want_code);
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

#[test]
fn invalid_auth_is_fatal() {
    let err = fatal(ConnectReply::Error("invalid_auth".into()));
    assert_api(&err, 200, "invalid_auth");
}

#[test]
fn account_inactive_is_fatal() {
    let err = fatal(ConnectReply::Error("account_inactive".into()));
    assert_api(&err, 200, "account_inactive");
}

#[test]
fn token_revoked_is_fatal() {
    let err = fatal(ConnectReply::Error("token_revoked".into()));
    assert_api(&err, 200, "token_revoked");
}

#[test]
fn http_401_403_404_are_fatal() {
    for status in [401, 403, 404] {
        let err = fatal(ConnectReply::HttpStatus(status));
        match err {
            Error::Api { status: s, .. } => assert_eq!(s, status),
            other => panic!("expected Error::Api, got {other:?}"),
        }
    }
}

#[test]
fn max_attempts_gives_up_with_the_last_error() {
    let fake = fake();
    fake.push_connect_reply(ConnectReply::HttpStatus(500));
    fake.push_connect_reply(ConnectReply::Error("internal_error".into()));
    fake.push_connect_reply(ConnectReply::HttpStatus(503));
    let client = builder(&fake).max_attempts(3).build().unwrap();
    let rx = record_all(&client);
    let err = start_within(&client, SOON).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    match &err {
        Error::Api { status, .. } => assert_eq!(*status, 503, "the last error: {err:?}"),
        other => panic!("expected the last error, Api 503, got {other:?}"),
    }
    assert_eq!(fake.calls_to("rtm.connect"), 3);
    assert_eq!(fake.connections_total(), 0);
    let events: Vec<_> = rx.try_iter().collect();
    assert_eq!(names(&events), ["error", "error", "error"], "{events:?}");
    assert_eq!(events[0].1["attempt"], 1);
    assert_eq!(events[1].1["attempt"], 2);
    assert!(events[2].1["message"].as_str().unwrap().contains("503"));
}

#[test]
fn backoff_grows_up_to_the_cap_and_the_announced_delays_are_kept() {
    const FAILURES: u32 = 7;
    let base = Duration::from_millis(100);
    let cap = Duration::from_millis(800);
    let fake = fake();
    for _ in 0..FAILURES {
        fake.push_connect_reply(ConnectReply::HttpStatus(500));
    }
    let client = builder(&fake).backoff(base, cap).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    let seen = until_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();
    let errors: Vec<&Value> = seen
        .iter()
        .filter(|(n, _)| n == "error")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(errors.len(), FAILURES as usize, "{seen:?}");
    let gaps = connect_gaps(&fake);
    assert_eq!(gaps.len(), FAILURES as usize);
    let slack = Duration::from_millis(500); // HTTP round trip and scheduling, generously
    let mut delays = Vec::new();
    for (n, (error, gap)) in (1..=FAILURES).zip(errors.iter().zip(&gaps)) {
        assert_eq!(ms(&error["attempt"]), u64::from(n), "{error}");
        let delay = Duration::from_millis(ms(&error["delay_ms"]));
        let top = ceiling(base, cap, n);
        assert!(
            delay <= top,
            "attempt {n}: delay {delay:?} over the ceiling {top:?}"
        );
        assert!(
            *gap >= delay,
            "attempt {n}: waited {gap:?}, announced {delay:?}"
        );
        assert!(
            *gap <= top + slack,
            "attempt {n}: waited {gap:?}, ceiling {top:?}"
        );
        delays.push(delay);
    }
    // Full jitter makes any single delay small by chance, but if the ceiling grows, some
    // later delay exceeds the base (the chance that none does is below 1 in 30,000).
    assert!(
        delays[1..].iter().any(|d| *d > base),
        "the backoff never grew past the base: {delays:?}"
    );
}

#[test]
fn the_connect_rate_gate_spaces_calls_after_the_burst() {
    let interval = Duration::from_millis(300);
    let fake = fake();
    for _ in 0..3 {
        fake.push_connect_reply(ConnectReply::HttpStatus(500));
    }
    let client = builder(&fake)
        .backoff(Duration::from_millis(1), Duration::from_millis(1))
        .connect_rate(2, interval)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();
    let calls = connect_calls(&fake);
    assert_eq!(calls.len(), 4);
    let at = |i: usize| calls[i].at - calls[0].at;
    // The burst of two goes at once; then one token per interval.
    assert!(at(1) < Duration::from_millis(250), "{:?}", at(1));
    assert!(
        at(2) >= Duration::from_millis(250),
        "3rd call not gated: {:?}",
        at(2)
    );
    assert!(at(2) < interval + Duration::from_millis(700), "{:?}", at(2));
    let third_to_fourth = calls[3].at - calls[2].at;
    assert!(
        third_to_fourth >= Duration::from_millis(250),
        "4th call not gated: {third_to_fourth:?}"
    );
    assert!(third_to_fourth < interval + Duration::from_millis(700));
}

#[test]
fn without_auto_reconnect_goodbye_ends_start_with_disconnected() {
    let fake = fake();
    let client = builder(&fake).auto_reconnect(false).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    until_named(&rx, "hello");
    fake.send_goodbye();
    let seen = until_named(&rx, "close");
    assert_eq!(names(&seen), ["goodbye", "close"]);
    assert_eq!(seen[1].1["will_reconnect"], false);
    match join_within(running, SOON).0 {
        Err(Error::Disconnected { reason, .. }) => assert!(reason.contains("goodbye"), "{reason}"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    assert!(
        fake.wait_for_open(0, SOON),
        "the client closed the connection"
    );
}

/// A client of `api_url` that gives up after three attempts, retrying at once.
fn three_quick_attempts(api_url: &str) -> RtmClient {
    RtmClient::builder("xoxb-test-token")
        .base_url(api_url)
        .handle_signals(false)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .connect_rate(1000, Duration::from_millis(1))
        .max_attempts(3)
        .build()
        .unwrap()
}

#[test]
fn max_attempts_bounds_connections_that_open_and_die_at_once() {
    // Every websocket says hello and closes at once: never healthy.
    let ws = ws_server(|mut ws| {
        let _ = ws.send(tungstenite::Message::text(r#"{"type":"hello"}"#));
        let _ = ws.close(None);
        let _ = ws.flush();
    });
    let api = api_with_url(ws);
    let client = three_quick_attempts(&api.url);
    let started = Instant::now();
    let (result, _) = join_within(client.spawn().unwrap(), SOON);
    assert!(
        matches!(result, Err(Error::Disconnected { .. })),
        "{result:?}"
    );
    assert_eq!(api.calls(), 3, "three connections, then it gives up");
    assert!(started.elapsed() < SOON);
}

#[test]
fn a_malformed_websocket_url_from_the_server_is_retried() {
    let api = api_with_url("wss://".to_string());
    let client = three_quick_attempts(&api.url);
    let rx = record_all(&client);
    let result = client.start();
    assert!(matches!(result, Err(Error::BadUrl { .. })), "{result:?}");
    assert_eq!(api.calls(), 3, "retried like an answer without a url");
    let error = next_named(&rx, "error");
    assert_eq!(error["kind"], "bad_url", "{error}");
    assert!(
        !error.to_string().contains("wss://"),
        "the ticket URL is not shown"
    );
}

#[test]
fn goodbye_reconnects_even_when_no_handler_wants_it() {
    // Frames no handler wants are skipped unparsed; the ones that end a connection are not.
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let (tx, hellos) = crossbeam_channel::unbounded();
    client.on("hello", move |_p: &slack_rtm::Payload| {
        let _ = tx.send(());
    });
    let running = client.spawn().unwrap();
    hellos.recv_timeout(SOON).unwrap();
    assert!(fake.wait_for_open(1, SOON));
    fake.send_json(&json!({"type": "user_typing", "channel": "C1", "user": "U1"}));
    fake.send_goodbye();
    hellos
        .recv_timeout(SOON)
        .expect("a second hello after goodbye");
    assert_eq!(fake.calls_to("rtm.connect"), 2);
    running.stop();
    join_within(running, SOON).0.unwrap();
}
