//! The App over its HTTP receiver (`app.http(addr)`), end to end on loopback, driven by the
//! fake's HTTP delivery and raw sockets: request kinds by content type, the answer written at
//! the ack while the listener goes on, and the security rules — stale and future timestamps,
//! wrong prefix and length, missing headers, re-encoded bodies, `ssl_check` smuggling,
//! `ssl_check=true`, oversized bodies, GET, a command whose text holds `payload`, retry
//! headers — each refused request reaching no listener.

mod app_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver};
use serde_json::{json, Value};
use slack_rtm::app::http::HttpRunning;
use slack_rtm::app::signature::unix_now;
use slack_rtm::app::{Ack, App};
use slack_rtm::testing::{self, Delivery, FakeSlack};
use slack_rtm::Error;

use app_support::*;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const FORM: &str = "application/x-www-form-urlencoded";

/// An App with a signing secret, its receiver on a free port, and a counter of listener runs.
fn served(fake: &FakeSlack) -> (App, HttpRunning, Arc<AtomicUsize>) {
    served_with_mentions(fake).0
}

/// [`served`], and a channel that gets each `app_mention` the listener saw.
fn served_with_mentions(fake: &FakeSlack) -> ((App, HttpRunning, Arc<AtomicUsize>), Receiver<()>) {
    let (mention_tx, mentions) = unbounded();
    let app = app_builder(fake).signing_secret(SECRET).build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    app.command("/deploy", move |ctx| {
        r.fetch_add(1, Ordering::SeqCst);
        let text = ctx.command().map(|c| c.text.to_owned()).unwrap_or_default();
        ctx.ack_with(Ack::text(&format!("deploying {text}")))?;
        Ok(())
    });
    let r = runs.clone();
    app.action("approve", move |ctx| {
        r.fetch_add(1, Ordering::SeqCst);
        ctx.ack()?;
        Ok(())
    });
    let r = runs.clone();
    app.event("app_mention", move |_ctx| {
        r.fetch_add(1, Ordering::SeqCst);
        mention_tx.send(())?;
        Ok(())
    });
    let run = app.http("127.0.0.1:0").spawn().unwrap();
    ((app, run, runs), mentions)
}

fn url(run: &HttpRunning) -> String {
    format!("http://{}/slack/events", run.local_addr())
}

/// One raw request; the status and body of the answer.
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(SOON)).unwrap();
    s.write_all(request).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let end = answer.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = end {
            let head = String::from_utf8_lossy(&answer[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if answer.len() >= end + 4 + len {
                let status = head[9..12].parse().unwrap();
                let body = String::from_utf8_lossy(&answer[end + 4..end + 4 + len]).into_owned();
                return (status, body);
            }
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before an answer");
        answer.extend_from_slice(&chunk[..n]);
    }
}

/// A POST with these extra header lines and body.
fn post(headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /slack/events HTTP/1.1\r\nHost: t\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn signed_headers(content_type: &str, ts: u64, sig: &str) -> String {
    format!(
        "Content-Type: {content_type}\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sig}\r\n"
    )
}

#[test]
fn request_kinds_by_content_type() {
    let fake = fake();
    let ((app, run, runs), mentions) = served_with_mentions(&fake);
    let (tx, rx) = unbounded();
    app.view("deploy_modal", move |ctx| {
        ctx.ack_with(Ack::errors(json!({"env": "pick one"})))?;
        tx.send(())?;
        Ok(())
    });
    let d = fake.http_delivery(&url(&run), SECRET);

    // Events API JSON: 200 at once, the listener runs.
    let a = d
        .event(
            json!({"type": "app_mention", "text": "<@U0FAKEBOT1> hi", "user": "U0FAKEUSR1",
                      "channel": "C0FAKE0001", "ts": "1.2"}),
        )
        .unwrap();
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    // url_verification: the challenge back, no listener.
    let a = d
        .post(
            "application/json",
            br#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#,
            &[],
        )
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&a.body).unwrap(),
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    // app_rate_limited: acked, nothing to run.
    let a = d
        .post(
            "application/json",
            br#"{"token":"x","type":"app_rate_limited","team_id":"T0FAKE0001","minute_rate_limited":1518467820,"api_app_id":"A0FAKEAPP1"}"#,
            &[],
        )
        .unwrap();
    assert_eq!(a.status, 200);
    // A slash-command form: the listener's ack is the answer.
    let a = d.slash_command("/deploy", "prod & staging").unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&a.body).unwrap()["text"],
        "deploying prod & staging"
    );
    // A payload= form: a click, and a view submission answered with errors.
    let (_, a) = d.deliver(&Delivery::action("approve").value("v")).unwrap();
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    let (_, a) = d
        .deliver(&Delivery::view_submission("deploy_modal"))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&a.body).unwrap(),
        json!({"response_action": "errors", "errors": {"env": "pick one"}})
    );
    rx.recv_timeout(SOON).unwrap();
    mentions.recv_timeout(SOON).unwrap();
    // The mention, the command and the click; nothing for the url_verification or the
    // rate-limit notice.
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[test]
fn the_answer_goes_out_at_the_ack_while_the_listener_works() {
    let fake = fake();
    let (app, run, _runs) = served(&fake);
    let (release_tx, release) = unbounded::<()>();
    let (done_tx, done) = unbounded();
    app.command("/slow", move |ctx| {
        ctx.ack_with(Ack::text("on it"))?;
        // Still running when the test reads the answer: it waits for the test's release.
        release.recv_timeout(SOON)?;
        done_tx.send(())?;
        Ok(())
    });
    let d = fake.http_delivery(&url(&run), SECRET);
    let a = d.slash_command("/slow", "").unwrap();
    assert_eq!(a.status, 200);
    assert!(a.body.contains("on it"), "{}", a.body);
    assert!(
        done.try_recv().is_err(),
        "answered before the listener returned"
    );
    release_tx.send(()).unwrap();
    done.recv_timeout(SOON).unwrap();
}

#[test]
fn signatures_timestamps_and_headers_are_enforced() {
    let fake = fake();
    let (_app, run, runs) = served(&fake);
    let addr = run.local_addr();
    let body = fake.slash_command_body("/deploy", "prod");
    let now = unix_now();
    let sig = |ts: u64| testing::sign(SECRET, ts, body.as_bytes());
    let cases: Vec<(&str, String)> = vec![
        ("stale", signed_headers(FORM, now - 301, &sig(now - 301))),
        ("future", signed_headers(FORM, now + 301, &sig(now + 301))),
        (
            "wrong prefix",
            signed_headers(FORM, now, &sig(now).replacen("v0=", "v1=", 1)),
        ),
        ("wrong length", signed_headers(FORM, now, &sig(now)[..66])),
        (
            "too long",
            signed_headers(FORM, now, &format!("{}0", sig(now))),
        ),
        (
            "another secret",
            signed_headers(FORM, now, &testing::sign("x", now, body.as_bytes())),
        ),
        (
            "another timestamp",
            signed_headers(FORM, now - 1, &sig(now)),
        ),
        (
            "no signature",
            format!("Content-Type: {FORM}\r\nX-Slack-Request-Timestamp: {now}\r\n"),
        ),
        (
            "no timestamp",
            format!(
                "Content-Type: {FORM}\r\nX-Slack-Signature: {}\r\n",
                sig(now)
            ),
        ),
        ("nothing", format!("Content-Type: {FORM}\r\n")),
    ];
    for (what, headers) in &cases {
        let (status, _) = raw(addr, &post(headers, &body));
        assert_eq!(status, 401, "{what}");
    }
    // The signature covers the raw bytes: the same form re-encoded (%20 for +) fails.
    let reencoded = body.replace('+', "%20").replace("prod", "pro%64");
    let (status, _) = raw(
        addr,
        &post(&signed_headers(FORM, now, &sig(now)), &reencoded),
    );
    assert_eq!(status, 401, "re-encoded");
    // And the genuine one passes.
    let (status, answer) = raw(addr, &post(&signed_headers(FORM, now, &sig(now)), &body));
    assert_eq!((status, answer.contains("deploying prod")), (200, true));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "only the genuine request ran"
    );
}

#[test]
fn ssl_check_is_exact_and_smuggles_nothing() {
    let fake = fake();
    let (_app, run, runs) = served(&fake);
    let addr = run.local_addr();
    let form = format!("Content-Type: {FORM}\r\n");
    // Slack's ssl_check (unsigned): 200, empty.
    assert_eq!(
        raw(addr, &post(&form, "ssl_check=1&token=x")),
        (200, String::new())
    );
    // A payload or a command beside it reaches no listener, signed or not.
    let click = testing::interactive_body(&fake.payload(&Delivery::action("approve")).payload);
    let smuggled = [
        format!("ssl_check=1&{click}"),
        format!("{click}&ssl_check=1"),
        format!("ssl_check=1&{}", fake.slash_command_body("/deploy", "x")),
    ];
    let now = unix_now();
    for body in &smuggled {
        assert_eq!(raw(addr, &post(&form, body)).0, 200, "{body}");
        let signed = signed_headers(FORM, now, &testing::sign(SECRET, now, body.as_bytes()));
        assert_eq!(raw(addr, &post(&signed, body)).0, 200, "{body}");
    }
    // Only the exact value 1: ssl_check=true is an ordinary request, refused unsigned.
    let (status, _) = raw(
        addr,
        &post(
            &form,
            &format!("ssl_check=true&{}", fake.slash_command_body("/deploy", "x")),
        ),
    );
    assert_eq!(status, 401);
    assert_eq!(raw(addr, &post(&form, "ssl_check=11")).0, 401);
    // A dispatched click or command would have been answered only after its listener acked.
    assert_eq!(runs.load(Ordering::SeqCst), 0, "nothing reached a listener");
}

#[test]
fn oversized_bodies_get_405_for_get_and_413_for_size() {
    let fake = fake();
    let (_app, run, runs) = served(&fake);
    let addr = run.local_addr();
    let d = fake.http_delivery(&url(&run), SECRET);
    let big = format!("command=%2Fdeploy&text={}", "x".repeat(1024 * 1024));
    let a = d.post(FORM, big.as_bytes(), &[]).unwrap();
    assert_eq!(a.status, 413);
    let (status, _) = raw(addr, b"GET /slack/events HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(status, 405);
    let (status, _) = raw(
        addr,
        b"POST /elsewhere HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, 404);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[test]
fn a_command_whose_text_holds_payload_is_a_command() {
    let fake = fake();
    let (_app, run, _runs) = served(&fake);
    let d = fake.http_delivery(&url(&run), SECRET);
    for text in [
        "payload",
        "payload={\"type\":\"block_actions\"}",
        "&payload=x",
    ] {
        let a = d.slash_command("/deploy", text).unwrap();
        assert_eq!(a.status, 200, "{text}");
        assert_eq!(
            serde_json::from_str::<Value>(&a.body).unwrap()["text"],
            format!("deploying {text}"),
        );
    }
}

#[test]
fn retry_headers_reach_the_listener() {
    let fake = fake();
    let (app, run, _runs) = served(&fake);
    let (tx, rx) = unbounded();
    app.event("reaction_added", move |ctx| {
        tx.send((ctx.retry_num(), ctx.retry_reason().map(str::to_owned)))?;
        Ok(())
    });
    let d = fake.http_delivery(&url(&run), SECRET);
    let body = fake.event_body(json!({"type": "reaction_added", "user": "U0FAKEUSR1",
                                      "reaction": "tada", "item": {"type": "message"}}));
    let a = d
        .post(
            "application/json",
            body.as_bytes(),
            &[
                ("X-Slack-Retry-Num", "2"),
                ("X-Slack-Retry-Reason", "http_timeout"),
            ],
        )
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(
        rx.recv_timeout(SOON).unwrap(),
        (Some(2), Some("http_timeout".to_owned()))
    );
    d.post("application/json", body.as_bytes(), &[]).unwrap();
    assert_eq!(rx.recv_timeout(SOON).unwrap(), (None, None));
}

#[test]
fn an_app_without_a_signing_secret_is_not_served() {
    let fake = fake();
    let app = app(&fake);
    match app.http("127.0.0.1:0").build() {
        Err(Error::Config(why)) => assert!(why.contains("signing_secret"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Unless verification is switched off on purpose (tests sending unsigned requests).
    let app = app_builder(&fake)
        .request_verification(false)
        .build()
        .unwrap();
    assert!(app.http("127.0.0.1:0").build().is_ok());
}
