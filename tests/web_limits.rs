//! The Web API client's bounds against a misbehaving server: after a 429 with a long
//! `Retry-After` the rate limiter fails the next call at once instead of sleeping it out;
//! pagination stops with an error on any cursor already sent (cycles A/B/A, A/B/C/A); a POST
//! (an API call, a file upload) that is answered with a redirect fails instead of turning into
//! a body-less GET that "succeeds".
#![cfg(feature = "testing")]

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{read_request, within, SOON};
use serde_json::{json, Value};
use slack_rtm::testing::{FakeSlack, MethodReply};
use slack_rtm::{Error, FileUpload, WebClient};

const TOKEN: &str = "xoxb-1234-secret-token";

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .token(TOKEN)
        .echo_messages(false)
        .start()
        .expect("start the fake Slack")
}

fn code_of(e: &Error) -> (&str, u16, Option<Duration>) {
    match e {
        Error::Api {
            code,
            status,
            retry_after,
            ..
        } => (code.as_str(), *status, *retry_after),
        other => panic!("{other:?}"),
    }
}

#[test]
fn after_a_long_retry_after_the_limiter_fails_fast() {
    let fake = fake();
    let web = WebClient::builder(TOKEN)
        .base_url(&fake.api_url())
        .rate_limit(true)
        .max_retry_wait(Duration::from_secs(30))
        .build()
        .unwrap();
    fake.push_method_reply(
        "users.info",
        MethodReply::RateLimited {
            retry_after_secs: 600,
        },
    );
    // Slack's 429: more than max_retry_wait, so not retried.
    let first = web.users_info("U0FAKEUSER1").unwrap_err();
    assert_eq!(
        code_of(&first),
        ("ratelimited", 429, Some(Duration::from_secs(600)))
    );
    // The next call waits for nothing: it is not sent, and says how long to wait.
    let started = Instant::now();
    let w = web.clone();
    let second = within(SOON, move || w.users_info("U0FAKEUSER1")).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let (code, status, after) = code_of(&second);
    assert_eq!((code, status), ("ratelimited", 429));
    let after = after.unwrap();
    assert!(
        after > Duration::from_secs(590) && after <= Duration::from_secs(601),
        "{after:?}"
    );
    assert_eq!(second.retry_after(), Some(after));
    assert_eq!(fake.calls_to("users.info"), 1, "the held call is not sent");
    // Other methods are not held.
    web.auth_test().unwrap();
}

/// A `conversations.list` page whose `next_cursor` is `next` ("" on the last page).
fn page(n: usize, next: &str) -> MethodReply {
    MethodReply::Json(json!({
        "ok": true,
        "channels": [{"id": format!("C{n}"), "name": format!("c{n}")}],
        "response_metadata": {"next_cursor": next},
    }))
}

fn paginate_cycle(cursors: &[&str]) -> (Vec<Result<Value, Error>>, usize) {
    let fake = fake();
    // Far more pages than the cycle: a client that follows it takes them all.
    for n in 0..60 {
        fake.push_method_reply("conversations.list", page(n, cursors[n % cursors.len()]));
    }
    let web = WebClient::builder(TOKEN)
        .base_url(&fake.api_url())
        .build()
        .unwrap();
    let results = within(SOON, move || {
        web.paginate("conversations.list", &json!({"limit": 1}))
            .map(|r| r.map(|p| p.into_data()))
            .collect::<Vec<_>>()
    });
    (results, fake.calls_to("conversations.list"))
}

#[test]
fn pagination_stops_on_a_cursor_cycle() {
    for cycle in [&["A", "B"][..], &["A", "B", "C"], &["A"]] {
        let (results, calls) = paginate_cycle(cycle);
        // Each cursor is sent once; the page that repeats one is the last.
        assert_eq!(calls, cycle.len() + 1, "{cycle:?}");
        assert_eq!(results.len(), calls + 1, "{cycle:?}");
        assert!(results[..calls].iter().all(Result::is_ok), "{cycle:?}");
        let e = results[calls].as_ref().unwrap_err();
        assert_eq!(code_of(e).0, "repeated_cursor", "{cycle:?}");
        let Error::Api { body, .. } = e else {
            unreachable!()
        };
        assert_eq!(body["cursor"], "A");
    }
}

/// A server that answers a POST with `302 Location: /landed` and the GET that follows with
/// `ok_body`; records each request line.
fn redirecting(ok_body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { return };
            let Some(head) = read_request(&mut conn) else {
                continue;
            };
            let line = head.lines().next().unwrap_or_default().to_string();
            let answer = if line.starts_with("POST") {
                "HTTP/1.1 302 Found\r\nLocation: /landed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ok_body}",
                    ok_body.len()
                )
            };
            seen.lock().unwrap().push(line);
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    (base, lines)
}

#[test]
fn a_redirected_upload_fails_and_is_not_completed() {
    let fake = fake();
    let (base, lines) = redirecting("OK - 5");
    fake.push_method_reply(
        "files.getUploadURLExternal",
        MethodReply::Json(json!({
            "ok": true,
            "upload_url": format!("{base}/upload/F0REDIRECT"),
            "file_id": "F0REDIRECT",
        })),
    );
    let web = WebClient::builder(TOKEN)
        .base_url(&fake.api_url())
        .build()
        .unwrap();
    let e = web
        .files_upload_v2(&FileUpload::new("a.txt", b"hello".to_vec()).channel("C0FAKE0001"))
        .unwrap_err();
    assert!(matches!(e, Error::Http { .. }), "{e:?}");
    assert!(e.to_string().contains("redirect"), "{e}");
    assert_eq!(
        lines.lock().unwrap().as_slice(),
        ["POST /upload/F0REDIRECT HTTP/1.1"],
        "the redirect is not followed"
    );
    assert_eq!(fake.calls_to("files.completeUploadExternal"), 0);
}

#[test]
fn a_redirected_api_post_fails() {
    let (base, lines) = redirecting(r#"{"ok":true,"ts":"1.2"}"#);
    let web = WebClient::builder(TOKEN)
        .base_url(&format!("{base}/api/"))
        .build()
        .unwrap();
    let e = web.chat_post_message("C1", "hi").unwrap_err();
    assert_eq!(code_of(&e).0, "http_302");
    assert_eq!(
        lines.lock().unwrap().len(),
        1,
        "the redirect is not followed"
    );
}
