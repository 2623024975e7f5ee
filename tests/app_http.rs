//! The App's HTTP hooks, through the transport-free `dispatch` / `handle_http`: signatures
//! checked on the raw bytes (stale, missing and forged ones answer 401), `ssl_check=1`
//! answered without dispatch (and nothing beside it reaching listeners), `url_verification`
//! answered with its challenge, retry headers reaching the listener, 400/405 for what is not a
//! Slack request.

mod app_support;

use std::time::Duration;

use crossbeam_channel::unbounded;
use serde_json::json;
use slack_rtm::app::signature::{sign, unix_now};
use slack_rtm::app::{Ack, App, AppRequest};
use slack_rtm::testing::Delivery;

use app_support::*;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn signed(app: &App, headers: Vec<(String, String)>, body: &[u8], ts: u64) -> u16 {
    let mut headers = headers;
    headers.push(("X-Slack-Request-Timestamp".into(), ts.to_string()));
    headers.push(("X-Slack-Signature".into(), sign(SECRET, ts, body)));
    app.dispatch(AppRequest::post("/slack/events", headers, body.to_vec()))
        .status
}

#[test]
fn signatures_are_checked_when_a_secret_is_set() {
    let fake = fake();
    let app = app_builder(&fake).signing_secret(SECRET).build().unwrap();
    app.command("/signed", |ctx| {
        ctx.ack_with(Ack::text("ok")).map_err(Into::into)
    });
    let delivered = fake.payload(&Delivery::command("/signed", ""));
    let (headers, body) = delivered.http_parts();
    let now = unix_now();
    assert_eq!(signed(&app, headers.clone(), &body, now), 200);
    assert_eq!(
        signed(&app, headers.clone(), &body, now - 301),
        401,
        "stale"
    );
    assert_eq!(
        signed(&app, headers.clone(), &body, now + 301),
        401,
        "future"
    );
    let unsigned = app.dispatch(AppRequest::post(
        "/slack/events",
        headers.clone(),
        body.clone(),
    ));
    assert_eq!(unsigned.status, 401);
    let mut forged = body.clone();
    forged.extend_from_slice(b"&extra=1");
    let mut h = headers.clone();
    h.push(("X-Slack-Request-Timestamp".into(), now.to_string()));
    h.push(("X-Slack-Signature".into(), sign(SECRET, now, &body)));
    let r = app.dispatch(AppRequest::post("/slack/events", h, forged));
    assert_eq!(r.status, 401, "the signature covers the raw body");
}

#[test]
fn ssl_check_is_answered_and_nothing_beside_it_reaches_a_listener() {
    let fake = fake();
    let app = app_builder(&fake).signing_secret(SECRET).build().unwrap();
    let (tx, rx) = unbounded::<String>();
    app.command("/deploy", move |ctx| {
        tx.send("dispatched".into())?;
        ctx.ack()?;
        Ok(())
    });
    let form = vec![(
        "Content-Type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    // Unsigned, as Slack sends it.
    let r = app.handle_http("POST", "/slack/events", form.clone(), "ssl_check=1&token=x");
    assert_eq!((r.status, r.body.len()), (200, 0));
    let smuggled = "ssl_check=1&command=%2Fdeploy&text=prod";
    let r = app.handle_http("POST", "/slack/events", form.clone(), smuggled);
    assert_eq!(r.status, 200);
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "never dispatched"
    );
    // Only the exact value 1: anything else is an ordinary (here unsigned) request.
    let r = app.handle_http(
        "POST",
        "/slack/events",
        form,
        "ssl_check=true&command=%2Fdeploy",
    );
    assert_eq!(r.status, 401);
}

#[test]
fn url_verification_is_answered_with_its_challenge() {
    let fake = fake();
    let app = app_builder(&fake).signing_secret(SECRET).build().unwrap();
    let body = json!({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}).to_string();
    let json_ct = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let mut h = json_ct.clone();
    let now = unix_now();
    h.push(("X-Slack-Request-Timestamp".into(), now.to_string()));
    h.push((
        "X-Slack-Signature".into(),
        sign(SECRET, now, body.as_bytes()),
    ));
    let r = app.dispatch(AppRequest::post("/slack/events", h, body.clone()));
    assert_eq!(r.status, 200);
    assert_eq!(
        json(&r),
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    assert_eq!(fake.calls_to("auth.test"), 0, "no authorization for it");
}

#[test]
fn retry_headers_reach_the_listener() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.event("app_mention", move |ctx| {
        tx.send((ctx.retry_num(), ctx.retry_reason().map(str::to_owned)))?;
        Ok(())
    });
    let delivered = fake.payload(&Delivery::event(
        json!({"type": "app_mention", "user": "U1",
        "text": "hi", "ts": "1.1", "channel": "C1", "event_ts": "1.1"}),
    ));
    let (mut headers, body) = delivered.http_parts();
    headers.push(("X-Slack-Retry-Num".into(), "1".into()));
    headers.push(("X-Slack-Retry-Reason".into(), "http_timeout".into()));
    let r = app.dispatch(AppRequest::post("/slack/events", headers, body));
    assert_eq!(r.status, 200);
    assert_eq!(
        rx.recv_timeout(SOON).unwrap(),
        (Some(1), Some("http_timeout".to_owned()))
    );
}

#[test]
fn what_is_not_a_slack_request_is_refused() {
    let fake = fake();
    let app = app(&fake);
    let r = app.handle_http("GET", "/slack/events", Vec::<(String, String)>::new(), "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let json_ct = vec![("Content-Type", "application/json")];
    assert_eq!(
        app.handle_http("POST", "/", json_ct.clone(), "{nope")
            .status,
        400
    );
    assert_eq!(app.handle_http("POST", "/", json_ct, "[1,2]").status, 400);
    let form = vec![("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(
        app.handle_http("POST", "/", form.clone(), "a=b").status,
        400
    );
    assert_eq!(
        app.handle_http("POST", "/", form, "payload=%7Bnope").status,
        400
    );
    assert_eq!(
        app.handle_http("POST", "/", vec![("X", "y")], vec![0xff, 0xfe])
            .status,
        400
    );
}
