//! Every builder option mirrored from Python's RTMClient takes effect: base_url, headers on the
//! Web API, connect_method, timeout, auto_reconnect.

mod common;

use std::time::{Duration, Instant};

use common::*;
use slack_rtm::testing::ConnectReply;
use slack_rtm::{ConnectMethod, Error, Phase, RtmClient};

#[test]
fn base_url_without_trailing_slash_reaches_the_server() {
    let fake = fake();
    let url = fake.api_url();
    let client = builder(&fake)
        .base_url(url.trim_end_matches('/'))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn headers_and_bearer_token_reach_every_web_api_call() {
    let fake = fake();
    let client = builder(&fake).header("X-Extra", "42").build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    client.web_client().auth_test().unwrap();
    let calls = fake.api_calls();
    assert_eq!(calls.len(), 2);
    for call in calls {
        let header = |n: &str| {
            call.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("x-extra").as_deref(), Some("42"), "{}", call.method);
        assert_eq!(
            header("authorization").as_deref(),
            Some("Bearer xoxb-test-token")
        );
        assert!(
            call.params.get("token").is_none(),
            "token only in the header"
        );
    }
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn connect_method_rtm_start_calls_rtm_start() {
    let fake = fake();
    let client = builder(&fake)
        .connect_method(ConnectMethod::RtmStart)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    assert_eq!(fake.calls_to("rtm.start"), 1);
    assert_eq!(fake.calls_to("rtm.connect"), 0);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn timeout_bounds_a_silent_rtm_connect() {
    let fake = fake();
    fake.push_connect_reply(ConnectReply::Hang);
    let client = builder(&fake)
        .timeout(Duration::from_millis(300))
        .auto_reconnect(false)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.start().unwrap_err();
    assert!(
        matches!(err, Error::Timeout { phase: Phase::Http }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn without_auto_reconnect_a_closed_connection_ends_start() {
    let fake = fake();
    let client = builder(&fake).auto_reconnect(false).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    fake.close_all(1001, "going away");
    let close = next_named(&rx, "close");
    assert_eq!(close["code"], 1001);
    assert_eq!(close["will_reconnect"], false);
    match join_within(running, SOON).0 {
        Err(Error::Disconnected { code, .. }) => assert_eq!(code, Some(1001)),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert_eq!(fake.calls_to("rtm.connect"), 1);
}

#[test]
fn with_auto_reconnect_a_closed_connection_is_replaced() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    fake.drop_all();
    let close = next_named(&rx, "close");
    assert_eq!(close["will_reconnect"], true);
    next_named(&rx, "open");
    next_named(&rx, "hello");
    assert_eq!(
        fake.calls_to("rtm.connect"),
        2,
        "a fresh url for every connection"
    );
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn invalid_builder_options_are_errors() {
    assert!(matches!(
        RtmClient::builder("  ").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        RtmClient::builder("x").base_url("slack.com").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        RtmClient::builder("x").proxy("socks5://h:1").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        RtmClient::builder("x").timeout(Duration::ZERO).build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        RtmClient::builder("x").root_certificate(b"not pem").build(),
        Err(Error::Config(_))
    ));
}

#[test]
fn clients_are_send_sync_clone_and_never_show_the_token() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_traits::<RtmClient>();
    assert_traits::<slack_rtm::RtmHandle>();
    assert_traits::<slack_rtm::WebClient>();
    let client = RtmClient::builder("xoxb-very-secret")
        .proxy("http://user:proxy-pass@127.0.0.1:3128")
        .build()
        .unwrap();
    let shown = format!("{client:?} {:?} {:?}", client.handle(), client.web_client());
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(!shown.contains("proxy-pass"), "{shown}");
}

#[test]
fn huge_durations_and_retry_after_do_not_break_the_client() {
    let fake = fake();
    fake.push_connect_reply(slack_rtm::testing::ConnectReply::RateLimited {
        retry_after_secs: u64::MAX,
    });
    let client = builder(&fake)
        .timeout(Duration::MAX)
        .ping_interval(Duration::MAX)
        .pong_timeout(Duration::MAX)
        .healthy_after(Duration::MAX)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    let err = next_named(&rx, "error");
    assert!(err["delay_ms"].as_u64().unwrap() <= 3_600_000, "{err}");
    running.stop();
    join_within(running, SOON).0.unwrap();
}
