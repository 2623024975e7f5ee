//! Slack refusing the token is fatal: one rtm.connect call, no retry, a typed error out of
//! start(), whatever auto_reconnect says. Retryable answers are retried.

mod common;

use common::*;
use slack_rtm::testing::{ConnectReply, FakeSlack};
use slack_rtm::{Error, RtmClient};

#[test]
fn invalid_auth_stops_at_once_with_a_fatal_error() {
    let fake = FakeSlack::builder().token("xoxb-right").start().unwrap();
    let client = RtmClient::builder("xoxb-wrong")
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let err = client.start().unwrap_err();
    assert!(err.is_fatal(), "{err:?}");
    match &err {
        Error::Api { code, method, .. } => {
            assert_eq!(code, "invalid_auth");
            assert_eq!(method, "rtm.connect");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    let error = next_named(&rx, "error");
    assert_eq!(error["source"], "client");
    assert!(!err.to_string().contains("xoxb-wrong"));
}

#[test]
fn retryable_answers_are_retried_until_a_connection_opens() {
    let fake = fake();
    fake.push_connect_reply(ConnectReply::HttpStatus(503));
    fake.push_connect_reply(ConnectReply::Error("migration_in_progress".into()));
    fake.push_connect_reply(ConnectReply::NoUrl);
    let client = builder(&fake).build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    let seen = until_named(&rx, "hello");
    assert_eq!(names(&seen), ["error", "error", "error", "open", "hello"]);
    assert_eq!(seen[0].1["attempt"], 1);
    assert_eq!(seen[2].1["attempt"], 3);
    assert!(seen[1].1["message"]
        .as_str()
        .unwrap()
        .contains("migration_in_progress"));
    assert_eq!(fake.calls_to("rtm.connect"), 4);
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn without_auto_reconnect_the_first_failure_is_returned() {
    let fake = fake();
    fake.push_connect_reply(ConnectReply::HttpStatus(500));
    let client = builder(&fake).auto_reconnect(false).build().unwrap();
    let err = client.start().unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(fake.calls_to("rtm.connect"), 1);
}
