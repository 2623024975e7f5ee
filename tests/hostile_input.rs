//! Numbers a server sends never panic the client: a Socket Mode `hello` whose
//! `approximate_connection_time` is near 2^64 seconds leaves the reader running, and a 429 whose
//! `Retry-After` is 2^63 seconds or more is an error, not a panic, with the rate limiter on.
#![cfg(feature = "testing")]

mod common;

use std::time::{Duration, Instant};

use common::SOON;
use serde_json::json;
use slack_rtm::socket_mode::{Request, SocketModeClient, MAX_CONNECTION_TIME};
use slack_rtm::testing::{FakeSlack, MethodReply};
use slack_rtm::{Error, WebClient};

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-SeKrEtApP";
const BOT_TOKEN: &str = "xoxb-SeKrEtBoT";

#[test]
fn a_hello_with_a_huge_connection_time_leaves_the_reader_running() {
    let fake = FakeSlack::builder()
        .app_token(APP_TOKEN)
        .token(BOT_TOKEN)
        .start()
        .unwrap();
    let client = SocketModeClient::builder(APP_TOKEN)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()
        .unwrap();
    let (tx, seen) = crossbeam_channel::unbounded();
    client.on("*", move |r: &Request| {
        let _ = tx.send(r.kind.to_string());
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    for secs in ["18446744073709551615", "9223372036854775808"] {
        fake.send_socket_text(&format!(
            r#"{{"type":"hello","num_connections":1,"debug_info":{{"host":"applink-1","approximate_connection_time":{secs}}},"connection_info":{{"app_id":"A1"}}}}"#
        ));
    }
    fake.send_event(json!({"type": "message", "text": "still here"}));
    let deadline = Instant::now() + SOON;
    loop {
        let name = seen
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the event after the hostile hellos is dispatched");
        assert_ne!(name, "close", "the connection survives");
        if name == "events_api" {
            break;
        }
    }
    assert_eq!(fake.socket_connections_total(), 1);
    running.stop();
    let joined = common::within(SOON, move || running.join());
    assert!(joined.is_ok(), "no reader panicked: {joined:?}");
    assert_eq!(MAX_CONNECTION_TIME, Duration::from_secs(24 * 3600));
}

#[test]
fn a_huge_retry_after_with_the_rate_limiter_is_an_error_not_a_panic() {
    let fake = FakeSlack::builder().token(BOT_TOKEN).start().unwrap();
    let web = WebClient::builder(BOT_TOKEN)
        .base_url(&fake.api_url())
        .rate_limit(true)
        .build()
        .unwrap();
    for secs in [u64::MAX, 1 << 63] {
        fake.push_method_reply(
            "users.info",
            MethodReply::RateLimited {
                retry_after_secs: secs,
            },
        );
        let started = Instant::now();
        let e = web.users_info("U0FAKEUSER1").unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        match e {
            Error::Api {
                status,
                code,
                retry_after,
                ..
            } => {
                assert_eq!((status, code.as_str()), (429, "ratelimited"));
                assert!(retry_after.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}
