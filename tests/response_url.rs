//! `WebClient::post_response_url`: a handler answers through the `response_url` of a slash
//! command, from another thread, without the token or the client's headers; through the
//! client's proxy; Slack's text and JSON answers are typed like API answers, and a redirect is
//! never followed (the POST would turn into a GET).
#![cfg(feature = "testing")]

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{read_request, SOON};
use serde_json::json;
use slack_rtm::socket_mode::{Request, SocketModeClient};
use slack_rtm::testing::FakeSlack;
use slack_rtm::{Error, WebClient};

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-SeKrEtApP";
const BOT_TOKEN: &str = "xoxb-SeKrEtBoT";

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .app_token(APP_TOKEN)
        .token(BOT_TOKEN)
        .start()
        .expect("start the fake")
}

#[test]
fn a_handler_responds_through_the_response_url_without_the_token() {
    let fake = fake();
    let client = SocketModeClient::builder(APP_TOKEN)
        .bot_token(BOT_TOKEN)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()
        .unwrap();
    let (tx, answers) = crossbeam_channel::unbounded();
    client.on("/deploy", move |r: &Request| {
        let url = r.payload["response_url"].as_str().unwrap().to_string();
        let web = r.web_client.clone();
        let tx = tx.clone();
        // Acked bare when the handler returns; the answer comes later, from another thread.
        std::thread::spawn(move || {
            let answer = web.post_response_url(
                &url,
                &json!({"text": "deployed", "response_type": "in_channel"}),
            );
            let _ = tx.send((url, answer));
        });
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    fake.send_slash_command("/deploy", "prod");
    let (url, answer) = answers.recv_timeout(SOON).unwrap();
    let answer = answer.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.data(), &json!({"ok": true, "body": "ok"}));
    let posts = fake.response_url_posts();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert!(post.is_for(&url), "{post:?} {url}");
    assert_eq!(post.http_method, "POST");
    assert_eq!(
        post.body,
        json!({"text": "deployed", "response_type": "in_channel"})
    );
    assert!(post
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(post.header("authorization"), None);
    drop(running);
}

#[test]
fn no_token_and_no_extra_header_go_to_a_response_url() {
    let fake = fake();
    let web = WebClient::builder(BOT_TOKEN)
        .base_url(&fake.api_url())
        .header("X-Team-Secret", "s3cr3t")
        .build()
        .unwrap();
    let url = format!("http://{}/actions/T0FAKE/1234/abcd", fake.addr());
    web.post_response_url(&url, &json!({"text": "hi"})).unwrap();
    let post = &fake.response_url_posts()[0];
    for (name, value) in &post.headers {
        assert!(
            !value.contains("SeKrEt") && !value.contains("s3cr3t"),
            "{name}: {value}"
        );
    }
    assert_eq!(post.header("x-team-secret"), None);
    // A body Slack refuses: its text code is the error code.
    let url = format!("http://{}/commands/T0FAKE/1/x", fake.addr());
    let e = web
        .post_response_url(&url, &json!("not an object"))
        .unwrap_err();
    match &e {
        Error::Api {
            method,
            status,
            code,
            ..
        } => {
            assert_eq!(
                (method.as_str(), *status, code.as_str()),
                ("response_url", 400, "invalid_payload")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !e.to_string().contains("/commands/"),
        "the URL is not shown: {e}"
    );
    // Not an http(s) URL.
    let e = web.post_response_url("ftp://x/y", &json!({})).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
}

/// A server answering each request with the next of `answers`; records each request head.
fn scripted(answers: Vec<&'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for (answer, conn) in answers.into_iter().zip(listener.incoming()) {
            let Ok(mut conn) = conn else { return };
            let Some(head) = read_request(&mut conn) else {
                return;
            };
            seen.lock().unwrap().push(head);
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    (url, heads)
}

fn answer(status: &str, content_type: &str, body: &str) -> &'static str {
    Box::leak(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

#[test]
fn answers_are_typed_and_a_redirect_is_not_followed() {
    let (base, heads) = scripted(vec![
        answer("404 Not Found", "text/html", "expired_url"),
        answer("200 OK", "application/json", r#"{"ok":false,"error":"invalid_blocks"}"#),
        answer("200 OK", "application/json", r#"{"ok":true,"ts":"1.2"}"#),
        "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        answer("200 OK", "text/html", "ok"),
    ]);
    let web = WebClient::builder(BOT_TOKEN)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("{base}/commands/T1/2/3");
    let code = |e: Error| match e {
        Error::Api { status, code, .. } => (status, code),
        other => panic!("{other:?}"),
    };
    let body = json!({"text": "x"});
    assert_eq!(
        code(web.post_response_url(&url, &body).unwrap_err()),
        (404, "expired_url".to_string())
    );
    assert_eq!(
        code(web.post_response_url(&url, &body).unwrap_err()),
        (200, "invalid_blocks".to_string())
    );
    assert_eq!(
        web.post_response_url(&url, &body).unwrap().data()["ts"],
        "1.2"
    );
    assert_eq!(
        code(web.post_response_url(&url, &body).unwrap_err()),
        (302, "http_302".to_string())
    );
    // The redirect was not followed: the next request is ours, a POST.
    assert!(web.post_response_url(&url, &body).is_ok());
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 5);
    assert!(
        heads
            .iter()
            .all(|h| h.starts_with("POST /commands/T1/2/3 ")),
        "{heads:?}"
    );
}

#[test]
fn a_response_url_goes_through_the_clients_proxy() {
    let fake = fake();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h = heads.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let h = h.clone();
            std::thread::spawn(move || {
                common::proxy::tunnel(client, &h, |_| common::proxy::Answer::Tunnel)
            });
        }
    });
    let web = WebClient::builder(BOT_TOKEN)
        .base_url(&fake.api_url())
        .proxy(&proxy)
        .build()
        .unwrap();
    let url = format!("http://{}/commands/T0FAKE/1/p", fake.addr());
    web.post_response_url(&url, &json!({"text": "via proxy"}))
        .unwrap();
    let heads = heads.lock().unwrap();
    let port = fake.addr().port();
    assert!(
        heads
            .iter()
            .any(|h| h.starts_with(&format!("CONNECT 127.0.0.1:{port} "))),
        "{heads:?}"
    );
    assert_eq!(
        fake.response_url_posts()[0].body,
        json!({"text": "via proxy"})
    );
}
