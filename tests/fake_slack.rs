//! The embedded fake Slack behaves as documented: its Web API (tokens,
//! scripted `rtm.connect` answers, pagination, recording of calls) and its RTM
//! websocket (tickets, hello, pong, acks, echo, recording of frames, server
//! closes and drops), checked with raw clients: hand-written HTTP/1.1 over
//! `TcpStream` and a plain tungstenite websocket client.
#![cfg(feature = "testing")]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slack_rtm::testing::{ConnectReply, FakeSlack, ReceivedFrame, RtmAckMode};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// Generous deadline for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(5);
const TOKEN: &str = "xoxb-test-token";

// ----- a minimal HTTP/1.1 client -----

#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }
}

/// Reads one response (status line, headers, `Content-Length` body).
fn read_response(reader: &mut impl BufRead) -> io::Result<HttpResponse> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').expect("header line");
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().expect("content-length"));
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8 body"),
    })
}

fn connect_http(fake: &FakeSlack) -> TcpStream {
    let stream = TcpStream::connect(fake.addr()).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream
}

/// Sends a raw request on a fresh connection and reads the response.
fn raw_request(fake: &FakeSlack, request: &str) -> HttpResponse {
    let mut stream = connect_http(fake);
    stream.write_all(request.as_bytes()).expect("write request");
    read_response(&mut BufReader::new(stream)).expect("read response")
}

fn get(fake: &FakeSlack, path: &str) -> HttpResponse {
    raw_request(
        fake,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

fn post(fake: &FakeSlack, path: &str, extra_headers: &str, body: &str) -> HttpResponse {
    raw_request(
        fake,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// `rtm.connect` with the test token; returns the answer.
fn rtm_connect(fake: &FakeSlack) -> Value {
    get(fake, &format!("/api/rtm.connect?token={TOKEN}")).json()
}

fn ws_url(fake: &FakeSlack) -> String {
    let answer = rtm_connect(fake);
    assert_eq!(answer["ok"], true, "{answer}");
    answer["url"].as_str().expect("url").to_owned()
}

// ----- a minimal websocket client -----

type Client = WebSocket<TcpStream>;

fn open_ws(fake: &FakeSlack, url: &str) -> Client {
    let stream = TcpStream::connect(fake.addr()).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let (ws, _) = tungstenite::client(url, stream).expect("websocket handshake");
    ws
}

/// A fresh RTM connection whose hello has been read.
fn rtm_session(fake: &FakeSlack) -> Client {
    let url = ws_url(fake);
    let mut ws = open_ws(fake, &url);
    assert_eq!(next_json(&mut ws), json!({ "type": "hello" }));
    ws
}

/// The next text frame as JSON (websocket pings and pongs are skipped).
fn next_json(ws: &mut Client) -> Value {
    let text = next_text(ws);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("frame is not JSON ({e}): {text:?}"))
}

fn next_text(ws: &mut Client) -> String {
    loop {
        match ws.read().expect("read a frame") {
            Message::Text(text) => return text.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

fn send(ws: &mut Client, value: &Value) {
    ws.send(Message::text(value.to_string())).expect("send");
}

fn is_type(frame: &ReceivedFrame, ty: &str) -> bool {
    frame.frame_type().as_deref() == Some(ty)
}

fn fake_with_token() -> FakeSlack {
    FakeSlack::builder()
        .token(TOKEN)
        .start()
        .expect("start fake")
}

// ----- Web API -----

#[test]
fn the_server_handle_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeSlack>();
}

#[test]
fn rtm_connect_returns_a_websocket_url_and_hello_comes_first() {
    let fake = fake_with_token();
    assert_eq!(fake.api_url(), format!("http://{}/api/", fake.addr()));
    let answer = rtm_connect(&fake);
    assert_eq!(answer["ok"], true);
    let url = answer["url"].as_str().expect("url");
    let prefix = format!("ws://{}/websocket/", fake.addr());
    assert!(url.starts_with(&prefix), "{url}");
    assert_eq!(
        answer["team"],
        json!({ "id": "T0FAKE0001", "name": "Fake Workspace", "domain": "fake-workspace" })
    );
    assert_eq!(
        answer["self"],
        json!({ "id": "U0FAKEBOT1", "name": "fakebot" })
    );

    let mut ws = open_ws(&fake, url);
    assert_eq!(next_json(&mut ws), json!({ "type": "hello" }));
    assert!(fake.wait_for_connections(1, WAIT));
    assert_eq!(fake.connections_total(), 1);
    assert_eq!(fake.connections_open(), 1);
}

#[test]
fn rtm_start_adds_a_snapshot_and_auth_test_describes_the_bot() {
    let fake = FakeSlack::builder()
        .token(TOKEN)
        .team("T123", "Acme Corp")
        .bot_user("U999", "robot")
        .start()
        .expect("start");
    let answer = post(
        &fake,
        "/api/rtm.start",
        &format!("Authorization: Bearer {TOKEN}\r\n"),
        "",
    )
    .json();
    assert_eq!(answer["ok"], true);
    assert!(answer["url"].as_str().is_some());
    assert_eq!(answer["team"]["domain"], "acme-corp");
    assert_eq!(answer["self"]["id"], "U999");
    assert_eq!(answer["channels"].as_array().map(Vec::len), Some(5));
    assert!(answer["users"].is_array());

    let auth = get(&fake, &format!("/api/auth.test?token={TOKEN}")).json();
    assert_eq!(
        auth,
        json!({
            "ok": true, "url": "https://fake.slack.com/", "team": "Acme Corp", "user": "robot",
            "team_id": "T123", "user_id": "U999", "bot_id": "B0FAKEBOT1",
        })
    );
}

#[test]
fn a_ticket_works_only_once() {
    let fake = fake_with_token();
    let url = ws_url(&fake);
    let _first = open_ws(&fake, &url);
    assert!(fake.wait_for_connections(1, WAIT));

    let mut second = open_ws(&fake, &url);
    assert_eq!(
        next_json(&mut second),
        json!({ "type": "error", "error": { "code": 1, "msg": "Socket URL has expired" } })
    );
    match second.read() {
        Ok(Message::Close(_)) => {}
        other => panic!("expected a close frame, got {other:?}"),
    }
    // The rejected socket never counted as a connection.
    assert_eq!(fake.connections_total(), 1);
    assert_eq!(fake.connections_open(), 1);

    let mut unknown = open_ws(&fake, &format!("ws://{}/websocket/nope", fake.addr()));
    assert_eq!(next_json(&mut unknown)["type"], "error");
}

#[test]
fn a_configured_token_is_enforced() {
    let fake = fake_with_token();
    let missing = get(&fake, "/api/auth.test");
    assert_eq!(missing.status, 200);
    assert_eq!(
        missing.json(),
        json!({ "ok": false, "error": "not_authed" })
    );
    assert_eq!(
        get(&fake, "/api/rtm.connect?token=xoxb-wrong").json(),
        json!({ "ok": false, "error": "invalid_auth" })
    );
    let wrong_bearer = post(
        &fake,
        "/api/chat.postMessage",
        "Authorization: Bearer xoxb-wrong\r\n",
        "",
    );
    assert_eq!(wrong_bearer.json()["error"], "invalid_auth");
    let form = post(
        &fake,
        "/api/auth.test",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        &format!("token={TOKEN}"),
    );
    assert_eq!(form.json()["ok"], true);
    // The failed calls were recorded too, with the token they carried.
    let calls = fake.api_calls();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0].token, None);
    assert_eq!(calls[1].token.as_deref(), Some("xoxb-wrong"));
    assert_eq!(calls[3].token.as_deref(), Some(TOKEN));
}

#[test]
fn without_a_configured_token_any_token_is_accepted() {
    let fake = FakeSlack::start().expect("start");
    assert_eq!(
        get(&fake, "/api/auth.test?token=anything").json()["ok"],
        true
    );
    assert_eq!(get(&fake, "/api/auth.test").json()["error"], "not_authed");
    assert_eq!(
        get(&fake, "/api/auth.test?token=").json()["error"],
        "not_authed"
    );
}

#[test]
fn scripted_connect_replies_are_used_in_order() {
    let fake = fake_with_token();
    fake.push_connect_reply(ConnectReply::RateLimited {
        retry_after_secs: 7,
    });
    fake.push_connect_reply(ConnectReply::HttpStatus(500));
    fake.push_connect_reply(ConnectReply::Error("migration_in_progress".into()));
    fake.push_connect_reply(ConnectReply::NoUrl);

    // A bad token is answered first and consumes nothing.
    let bad = get(&fake, "/api/rtm.connect?token=xoxb-wrong").json();
    assert_eq!(bad["error"], "invalid_auth");

    let path = format!("/api/rtm.connect?token={TOKEN}");
    let limited = get(&fake, &path);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(
        limited.json(),
        json!({ "ok": false, "error": "ratelimited" })
    );

    let broken = get(&fake, &path);
    assert_eq!(broken.status, 500);
    assert_eq!(broken.json()["ok"], false);

    let error = get(&fake, &path);
    assert_eq!(error.status, 200);
    assert_eq!(
        error.json(),
        json!({ "ok": false, "error": "migration_in_progress" })
    );

    let no_url = get(&fake, &path).json();
    assert_eq!(no_url["ok"], true);
    assert!(no_url.get("url").is_none());
    assert_eq!(no_url["self"]["id"], "U0FAKEBOT1");

    // The queue is empty again: back to normal, for rtm.start as well.
    assert!(get(&fake, &path).json()["url"].is_string());
    fake.push_connect_reply(ConnectReply::HttpStatus(503));
    let start = get(&fake, &format!("/api/rtm.start?token={TOKEN}"));
    assert_eq!(start.status, 503);
    assert_eq!(fake.calls_to("rtm.connect"), 6);
    assert_eq!(fake.calls_to("rtm.start"), 1);
}

#[test]
fn a_hanging_connect_never_answers_until_the_server_is_dropped() {
    let fake = fake_with_token();
    fake.push_connect_reply(ConnectReply::Hang);
    let mut stream = connect_http(&fake);
    stream
        .write_all(
            format!("GET /api/rtm.connect?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        )
        .expect("write");
    assert!(fake.wait_for_calls("rtm.connect", 1, WAIT));

    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    let err = stream.read(&mut byte).expect_err("no answer expected");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );

    // Other requests are still served meanwhile.
    assert!(ws_url(&fake).starts_with("ws://"));

    // Dropping the server releases the hung connection promptly.
    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(2));
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    assert!(matches!(stream.read(&mut byte), Ok(0) | Err(_)));
}

#[test]
fn unknown_methods_and_paths() {
    let fake = fake_with_token();
    let unknown = get(&fake, &format!("/api/does.notExist?token={TOKEN}"));
    assert_eq!(unknown.status, 200);
    assert_eq!(
        unknown.json(),
        json!({ "ok": false, "error": "unknown_method" })
    );
    assert_eq!(fake.calls_to("does.notExist"), 1);
    assert_eq!(get(&fake, "/favicon.ico").status, 404);
}

#[test]
fn malformed_requests_get_400_and_the_server_carries_on() {
    let fake = fake_with_token();
    for garbage in [
        "NONSENSE\r\n\r\n",
        "GET /api/auth.test HTTP/9.9\r\n\r\n",
        "GET /api/auth.test HTTP/1.1\r\nno colon here\r\n\r\n",
        "POST /api/auth.test HTTP/1.1\r\nContent-Length: banana\r\n\r\n",
        "POST /api/auth.test HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /websocket/abc HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(raw_request(&fake, garbage).status, 400, "{garbage:?}");
    }
    let huge = format!(
        "GET /api/auth.test HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    assert_eq!(raw_request(&fake, &huge).status, 431);
    let too_long = "POST /api/auth.test HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n";
    assert_eq!(raw_request(&fake, too_long).status, 413);
    let bad_json = post(
        &fake,
        "/api/auth.test",
        "Content-Type: application/json\r\n",
        "{not json",
    );
    assert_eq!(bad_json.json()["error"], "invalid_json");

    assert_eq!(
        get(&fake, &format!("/api/auth.test?token={TOKEN}")).json()["ok"],
        true
    );
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let fake = fake_with_token();
    let stream = connect_http(&fake);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    for i in 0..3 {
        let request = format!("GET /api/auth.test?token={TOKEN}&i={i} HTTP/1.1\r\nHost: x\r\n\r\n");
        writer.write_all(request.as_bytes()).expect("write");
        let response = read_response(&mut reader).expect("response");
        assert_eq!(response.header("connection"), Some("keep-alive"));
        assert_eq!(response.json()["ok"], true);
    }
    // Two pipelined requests, the second asking to close.
    let pipelined = format!(
        "GET /api/auth.test?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n\
         POST /api/auth.test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         6\r\ntoken=\r\n{:x}\r\n{TOKEN}\r\n0\r\n\r\n",
        TOKEN.len()
    );
    writer.write_all(pipelined.as_bytes()).expect("write");
    assert_eq!(
        read_response(&mut reader).expect("first").json()["ok"],
        true
    );
    let last = read_response(&mut reader).expect("second");
    assert_eq!(last.header("connection"), Some("close"));
    assert_eq!(last.json()["ok"], true);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("server closes");
    assert!(rest.is_empty());
    assert_eq!(fake.calls_to("auth.test"), 5);
}

#[test]
fn a_real_http_client_can_reuse_connections() {
    let fake = fake_with_token();
    let agent = ureq::Agent::new_with_defaults();
    let url = |method: &str| format!("{}{method}", fake.api_url());
    let bearer = format!("Bearer {TOKEN}");
    for _ in 0..3 {
        let answer: Value = agent
            .get(url("auth.test"))
            .header("Authorization", &bearer)
            .call()
            .expect("auth.test")
            .body_mut()
            .read_json()
            .expect("json");
        assert_eq!(answer["ok"], true);
    }
    let form: Value = agent
        .post(url("chat.postMessage"))
        .header("Authorization", &bearer)
        .send_form([("channel", "C0FAKE0001"), ("text", "a b&c=d")])
        .expect("form post")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(form["message"]["text"], "a b&c=d");
    let json_post: Value = agent
        .post(url("chat.postMessage"))
        .header("Authorization", &bearer)
        .send_json(json!({ "channel": "C0FAKE0001", "text": "json body" }))
        .expect("json post")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(json_post["ok"], true);

    fake.push_connect_reply(ConnectReply::RateLimited {
        retry_after_secs: 2,
    });
    let limited = agent
        .get(url("rtm.connect"))
        .header("Authorization", &bearer)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("rtm.connect");
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(
        limited
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let answer: Value = agent
        .get(url("rtm.connect"))
        .header("Authorization", &bearer)
        .call()
        .expect("rtm.connect")
        .body_mut()
        .read_json()
        .expect("json");
    assert!(answer["url"].is_string());
    assert_eq!(fake.api_calls().len(), 7);
}

#[test]
fn api_calls_record_headers_and_params_of_get_form_and_json_requests() {
    let fake = fake_with_token();
    get(
        &fake,
        &format!("/api/auth.test?token={TOKEN}&a=1&b=x%20y+z"),
    );
    post(
        &fake,
        "/api/chat.postMessage",
        &format!(
            "X-Test: 1\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        ),
        "channel=C0FAKE0001&text=hello+w%C3%B6rld%21%2B",
    );
    post(
        &fake,
        "/api/chat.postMessage?from=query",
        &format!("Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"),
        r#"{"channel":"C0FAKE0002","text":"json","unfurl_links":false,"n":3}"#,
    );
    assert!(fake.wait_for_calls("chat.postMessage", 2, WAIT));

    let calls = fake.api_calls();
    assert_eq!(calls.len(), 3);
    let (get_call, form_call, json_call) = (&calls[0], &calls[1], &calls[2]);

    assert_eq!(get_call.method, "auth.test");
    assert_eq!(get_call.http_method, "GET");
    assert_eq!(
        get_call.params,
        json!({ "token": TOKEN, "a": "1", "b": "x y z" })
    );
    assert_eq!(get_call.token.as_deref(), Some(TOKEN));

    assert_eq!(form_call.http_method, "POST");
    assert!(form_call
        .headers
        .contains(&("x-test".to_owned(), "1".to_owned())));
    assert_eq!(form_call.header("X-Test"), Some("1"));
    assert_eq!(form_call.param("text"), Some("hello wörld!+"));
    assert_eq!(form_call.token.as_deref(), Some(TOKEN));
    assert!(form_call.params.get("token").is_none());

    assert_eq!(
        json_call.params,
        json!({ "from": "query", "channel": "C0FAKE0002", "text": "json", "unfurl_links": false, "n": 3 })
    );
    assert!(calls.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn chat_post_message_validates_records_and_echoes() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    let auth = format!("Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n");

    let no_channel = post(&fake, "/api/chat.postMessage", &auth, r#"{"text":"hi"}"#);
    assert_eq!(no_channel.json()["error"], "channel_not_found");
    let no_text = post(&fake, "/api/chat.postMessage", &auth, r#"{"channel":"C1"}"#);
    assert_eq!(no_text.json()["error"], "no_text");

    let ok = post(
        &fake,
        "/api/chat.postMessage",
        &auth,
        r#"{"channel":"C0FAKE0001","text":"hi there","thread_ts":"1700000000.000001"}"#,
    )
    .json();
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["channel"], "C0FAKE0001");
    let ts = ok["ts"].as_str().expect("ts");
    assert_eq!(ok["message"]["ts"], ts);
    assert_eq!(ok["message"]["text"], "hi there");
    assert_eq!(ok["message"]["user"], "U0FAKEBOT1");
    assert_eq!(ok["message"]["thread_ts"], "1700000000.000001");

    let blocks = post(
        &fake,
        "/api/chat.postMessage",
        &auth,
        r#"{"channel":"C0FAKE0001","blocks":[{"type":"divider"}]}"#,
    );
    assert_eq!(blocks.json()["ok"], true);
    assert_eq!(fake.posted_messages().len(), 2);
    assert_eq!(fake.posted_messages()[0]["text"], "hi there");

    let echo = next_json(&mut ws);
    assert_eq!(echo["type"], "message");
    assert_eq!(echo["channel"], "C0FAKE0001");
    assert_eq!(echo["user"], "U0FAKEBOT1");
    assert_eq!(echo["text"], "hi there");
    assert_eq!(echo["ts"], ts);
    assert_eq!(echo["thread_ts"], "1700000000.000001");

    fake.set_echo_messages(false);
    post(
        &fake,
        "/api/chat.postMessage",
        &auth,
        r#"{"channel":"C0FAKE0001","text":"quiet"}"#,
    );
    // The blocks-only message was echoed; "quiet" was not.
    assert_eq!(next_json(&mut ws)["text"], "");
    fake.send_hello();
    assert_eq!(next_json(&mut ws)["type"], "hello");
}

#[test]
fn conversations_list_paginates_over_all_channels() {
    let fake = fake_with_token();
    let mut ids = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = get(
            &fake,
            &format!("/api/conversations.list?token={TOKEN}&limit=2&cursor={cursor}"),
        )
        .json();
        assert_eq!(page["ok"], true, "{page}");
        let channels = page["channels"].as_array().expect("channels");
        assert!(channels.len() <= 2);
        ids.extend(
            channels
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_owned()),
        );
        pages += 1;
        cursor = page["response_metadata"]["next_cursor"]
            .as_str()
            .expect("next_cursor")
            .to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        ids,
        [
            "C0FAKE0001",
            "C0FAKE0002",
            "C0FAKE0003",
            "C0FAKE0004",
            "C0FAKE0005"
        ]
    );

    let all = get(&fake, &format!("/api/conversations.list?token={TOKEN}")).json();
    assert_eq!(all["channels"].as_array().map(Vec::len), Some(5));
    assert_eq!(all["response_metadata"]["next_cursor"], "");
    let bad = get(
        &fake,
        &format!("/api/conversations.list?token={TOKEN}&cursor=garbage"),
    );
    assert_eq!(bad.json()["error"], "invalid_cursor");
}

// ----- RTM websocket -----

#[test]
fn pings_get_pongs_echoing_extra_fields_unless_zombie() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    send(
        &mut ws,
        &json!({ "id": 7, "type": "ping", "time": 1234, "note": "x", "nested": { "a": 1 } }),
    );
    assert_eq!(
        next_json(&mut ws),
        json!({ "type": "pong", "reply_to": 7, "time": 1234, "note": "x" })
    );

    fake.set_answer_pings(false);
    send(&mut ws, &json!({ "id": 8, "type": "ping" }));
    assert!(fake.wait_for_frames(2, WAIT));
    fake.send_json(&json!({ "type": "marker" }));
    // No pong came before the marker.
    assert_eq!(next_json(&mut ws), json!({ "type": "marker" }));

    fake.set_answer_pings(true);
    send(&mut ws, &json!({ "id": 9, "type": "ping" }));
    assert_eq!(next_json(&mut ws)["reply_to"], 9);
}

#[test]
fn messages_are_acked_per_ack_mode_and_echoed() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);

    send(
        &mut ws,
        &json!({ "id": 1, "type": "message", "channel": "C0FAKE0001", "text": "hello" }),
    );
    let ack = next_json(&mut ws);
    assert_eq!(ack["ok"], true);
    assert_eq!(ack["reply_to"], 1);
    assert_eq!(ack["text"], "hello");
    let ts = ack["ts"].as_str().expect("ts").to_owned();
    let (secs, micros) = ts.split_once('.').expect("ts format");
    assert!(secs.len() == 10 && micros.len() == 6, "{ts}");
    let echo = next_json(&mut ws);
    assert_eq!(echo["type"], "message");
    assert_eq!(echo["user"], "U0FAKEBOT1");
    assert_eq!(echo["channel"], "C0FAKE0001");
    assert_eq!(echo["ts"], ts.as_str());

    fake.set_ack_mode(RtmAckMode::Error {
        code: 2,
        msg: "message text is missing".into(),
    });
    send(
        &mut ws,
        &json!({ "id": 2, "type": "message", "channel": "C0FAKE0001", "text": "" }),
    );
    assert_eq!(
        next_json(&mut ws),
        json!({ "ok": false, "reply_to": 2, "error": { "code": 2, "msg": "message text is missing" } })
    );
    // A rejected message is not echoed: the next frame is the pong.
    send(&mut ws, &json!({ "id": 3, "type": "ping" }));
    assert_eq!(next_json(&mut ws)["type"], "pong");

    fake.set_ack_mode(RtmAckMode::Ignore);
    fake.set_echo_messages(false);
    send(
        &mut ws,
        &json!({ "id": 4, "type": "message", "channel": "C0FAKE0001", "text": "lost" }),
    );
    send(&mut ws, &json!({ "id": 5, "type": "ping" }));
    assert_eq!(next_json(&mut ws)["reply_to"], 5);
}

#[test]
fn frames_are_recorded_in_order_with_their_connection_number() {
    let fake = fake_with_token();
    let mut first = rtm_session(&fake);
    let mut second = rtm_session(&fake);
    fake.set_echo_messages(false);

    let sent = [
        (1, r#"{"id":1,"type":"typing","channel":"C1"}"#),
        (2, "this is {not json"),
        (1, r#"{"type":"message","text":"no id"}"#),
    ];
    for (n, &(conn, text)) in sent.iter().enumerate() {
        let ws = if conn == 1 { &mut first } else { &mut second };
        ws.send(Message::text(text)).expect("send");
        assert!(fake.wait_for_frames(n + 1, WAIT));
    }
    second
        .send(Message::binary(vec![1, 2, 3]))
        .expect("send binary");
    second
        .send(Message::text(r#"{"id":2,"type":"ping"}"#))
        .expect("send");
    assert_eq!(next_json(&mut second)["reply_to"], 2);

    let frames = fake.frames();
    let summary: Vec<(u64, &str)> = frames.iter().map(|f| (f.conn, f.text.as_str())).collect();
    let mut expected = sent.to_vec();
    expected.push((2, r#"{"id":2,"type":"ping"}"#));
    assert_eq!(summary, expected);
    assert!(frames.windows(2).all(|w| w[0].at <= w[1].at));

    let typing = fake
        .wait_for_frame(|f| is_type(f, "typing"), WAIT)
        .expect("typing frame");
    assert_eq!(typing.conn, 1);
    assert_eq!(typing.json().expect("json")["channel"], "C1");
}

#[test]
fn scripted_frames_reach_every_client() {
    let fake = fake_with_token();
    let mut first = rtm_session(&fake);
    let mut second = rtm_session(&fake);

    assert_eq!(fake.send_json(&json!({ "type": "reaction_added" })), 2);
    assert_eq!(next_json(&mut first)["type"], "reaction_added");
    assert_eq!(next_json(&mut second)["type"], "reaction_added");

    assert_eq!(fake.send_text("not {json"), 2);
    assert_eq!(next_text(&mut first), "not {json");
    assert_eq!(next_text(&mut second), "not {json");

    assert_eq!(fake.send_binary(&[0, 159, 146, 150]), 2);
    assert_eq!(
        first.read().expect("binary"),
        Message::binary(vec![0, 159, 146, 150])
    );

    fake.send_goodbye();
    assert_eq!(next_json(&mut first), json!({ "type": "goodbye" }));
    fake.send_team_migration_started();
    assert_eq!(
        next_json(&mut first),
        json!({ "type": "team_migration_started" })
    );
    fake.send_error_event(500, "boom");
    assert_eq!(
        next_json(&mut first),
        json!({ "type": "error", "error": { "code": 500, "msg": "boom" } })
    );

    fake.send_message("C0FAKE0001", "U0HUMAN001", "hi bot");
    fake.send_message("C0FAKE0001", "U0HUMAN001", "again");
    let one = next_json(&mut first);
    let two = next_json(&mut first);
    assert_eq!(one["type"], "message");
    assert_eq!(one["channel"], "C0FAKE0001");
    assert_eq!(one["user"], "U0HUMAN001");
    assert_eq!(one["text"], "hi bot");
    assert_eq!(one["team"], "T0FAKE0001");
    assert_eq!(one["event_ts"], one["ts"]);
    assert_eq!(one["client_msg_id"].as_str().map(str::len), Some(36));
    assert_ne!(one["ts"], two["ts"]);
}

#[test]
fn presence_queries_are_answered() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    send(
        &mut ws,
        &json!({ "type": "presence_query", "ids": ["U1", "U2"] }),
    );
    assert_eq!(
        next_json(&mut ws),
        json!({ "type": "presence_change", "user": "U1", "presence": "active" })
    );
    assert_eq!(next_json(&mut ws)["user"], "U2");
}

#[test]
fn auto_hello_can_be_turned_off() {
    let fake = FakeSlack::builder()
        .token(TOKEN)
        .auto_hello(false)
        .start()
        .expect("start");
    let url = ws_url(&fake);
    let mut ws = open_ws(&fake, &url);
    assert!(fake.wait_for_connections(1, WAIT));
    fake.send_json(&json!({ "type": "first" }));
    assert_eq!(next_json(&mut ws)["type"], "first");
}

#[test]
fn close_all_sends_a_close_frame_with_the_code() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    fake.close_all(4001, "going away now");
    match ws.read() {
        Ok(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::from(4001));
            assert_eq!(frame.reason.as_str(), "going away now");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // Answering the close completes the handshake and ends the connection.
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(fake.wait_for_open(0, WAIT));
    assert_eq!(fake.connections_total(), 1);
}

#[test]
fn drop_all_ends_sockets_without_a_close_frame() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    fake.drop_all();
    match ws.read() {
        Err(tungstenite::Error::Protocol(_) | tungstenite::Error::Io(_)) => {}
        other => panic!("expected an abrupt end, got {other:?}"),
    }
    assert!(fake.wait_for_open(0, WAIT));
    assert_eq!(fake.send_hello(), 0);
}

#[test]
fn a_client_close_is_answered_and_counted() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    assert_eq!(fake.connections_open(), 1);
    ws.close(None).expect("close");
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(fake.wait_for_open(0, WAIT));
}

#[test]
fn flood_writes_every_frame() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    let event = r#"{"type":"user_typing","channel":"C1","user":"U1"}"#;
    assert_eq!(fake.flood(event, 5000), 1);
    // Frames sent while the flood runs are still recorded.
    send(
        &mut ws,
        &json!({ "id": 1, "type": "typing", "channel": "C1" }),
    );
    for _ in 0..5000 {
        assert_eq!(next_text(&mut ws), event);
    }
    assert!(fake.wait_for_frames(1, WAIT));
    fake.send_hello();
    assert_eq!(next_json(&mut ws)["type"], "hello");
}

/// Sends 1000 small frames, one large one and a websocket-level ping, and
/// checks that every frame is recorded and the ping answered.
fn exercise_bursts<S: Read + Write>(fake: &FakeSlack, ws: &mut WebSocket<S>) {
    let before = fake.frames().len();
    for i in 0..1000 {
        ws.write(Message::text(format!(r#"{{"type":"typing","n":{i}}}"#)))
            .expect("write");
    }
    let big = format!(
        r#"{{"type":"message","text":"{}"}}"#,
        "x".repeat(600 * 1024)
    );
    ws.write(Message::text(big.clone())).expect("write big");
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .expect("ping");
    assert!(fake.wait_for_frames(before + 1001, WAIT));
    let frames = fake.frames();
    assert!(frames[before..before + 1000]
        .iter()
        .enumerate()
        .all(|(i, f)| f.text == format!(r#"{{"type":"typing","n":{i}}}"#)));
    assert_eq!(frames[before + 1000].text, big);
    loop {
        match ws.read().expect("pong") {
            Message::Pong(data) => {
                assert_eq!(&data[..], b"are you there");
                break;
            }
            Message::Text(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn bursts_and_large_frames_are_recorded_completely() {
    let fake = fake_with_token();
    fake.set_echo_messages(false);
    fake.set_ack_mode(RtmAckMode::Ignore);
    let mut ws = rtm_session(&fake);
    exercise_bursts(&fake, &mut ws);

    // Above 1 MiB the server gives up on the connection.
    let huge = "y".repeat(1_100_000);
    let _ = ws.send(Message::text(huge));
    assert!(fake.wait_for_open(0, WAIT));
}

#[test]
fn waits_time_out_and_succeed() {
    let fake = fake_with_token();
    let short = Duration::from_millis(30);
    let started = Instant::now();
    assert!(!fake.wait_for_frames(1, short));
    assert!(fake.wait_for_frame(|_| true, short).is_none());
    assert!(!fake.wait_for_connections(1, short));
    assert!(!fake.wait_for_open(1, short));
    assert!(!fake.wait_for_calls("rtm.connect", 1, short));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= short * 5 && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );

    // Satisfied from another thread while waiting.
    let addr = fake.addr();
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(
                format!("GET /api/rtm.connect?token={TOKEN} HTTP/1.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .expect("write");
        read_response(&mut BufReader::new(stream)).expect("response")
    });
    assert!(fake.wait_for_calls("rtm.connect", 1, WAIT));
    assert_eq!(client.join().expect("client").json()["ok"], true);
    assert!(fake.wait_for_open(0, Duration::ZERO));
}

#[test]
fn dropping_the_server_closes_connections_quickly() {
    let fake = fake_with_token();
    let mut ws = rtm_session(&fake);
    let idle_http = connect_http(&fake);
    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(ws.read().is_err());
    let mut byte = [0u8; 1];
    assert!(matches!((&idle_http).read(&mut byte), Ok(0) | Err(_)));
}

// ----- TLS -----

/// A self-signed P-256 certificate for 127.0.0.1, for this test only.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUFWTd2/kCGrKnHVqHVAUdKqFCsJAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyODAxNDEzMloYDzIxMjYxMTA0
MDE0MTMyWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATznJ60xwzs1AfkT3g6VYjSIeXcLc2pQRwJ7KWHYcevJA+ghVFqZTIH
s+5CsGAODpiQucnZBsH7sPFTIdyiFBxIo2QwYjAdBgNVHQ4EFgQUKupH99SKLSLp
XOuRfSnEWr77hiQwHwYDVR0jBBgwFoAUKupH99SKLSLpXOuRfSnEWr77hiQwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
ID4wG5LSyGZ0vLSEk1kabvcnBfeuEjwga6XjadJeu17XAiEAz3m7zSKzLbp0vPKx
yppcZfXnepWExkoQSyRG7NEbtnI=
-----END CERTIFICATE-----
";

/// The private key of [`TEST_CERT`] (PKCS #8); it protects nothing.
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZT30OT7gGOpZ2Ojy
6gDD3vIyXvaC+l5yZ+CS6dQJhBOhRANCAATznJ60xwzs1AfkT3g6VYjSIeXcLc2p
QRwJ7KWHYcevJA+ghVFqZTIHs+5CsGAODpiQucnZBsH7sPFTIdyiFBxI
-----END PRIVATE KEY-----
";

fn tls_connect(fake: &FakeSlack) -> native_tls::TlsStream<TcpStream> {
    let connector = native_tls::TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("connector");
    connector
        .connect("127.0.0.1", connect_http(fake))
        .expect("TLS handshake")
}

#[test]
fn tls_mode_serves_https_and_wss() {
    let fake = FakeSlack::builder()
        .token(TOKEN)
        .tls(TEST_CERT.as_bytes(), TEST_KEY.as_bytes())
        .start()
        .expect("start");
    assert_eq!(fake.api_url(), format!("https://{}/api/", fake.addr()));

    let mut https = tls_connect(&fake);
    https
        .write_all(
            format!("GET /api/rtm.connect?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        )
        .expect("write");
    let answer = read_response(&mut BufReader::new(https))
        .expect("response")
        .json();
    let url = answer["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("wss://{}/websocket/", fake.addr())),
        "{url}"
    );

    let (mut ws, _) = tungstenite::client(url, tls_connect(&fake)).expect("wss handshake");
    let hello = ws.read().expect("hello");
    assert_eq!(hello, Message::text(r#"{"type":"hello"}"#));
    ws.send(Message::text(r#"{"id":1,"type":"ping"}"#))
        .expect("send");
    let pong = ws.read().expect("pong").into_text().expect("text");
    let pong: Value = serde_json::from_str(pong.as_str()).expect("json");
    assert_eq!(pong, json!({ "type": "pong", "reply_to": 1 }));
}

#[test]
fn tls_connections_carry_floods_and_bursts() {
    let fake = FakeSlack::builder()
        .token(TOKEN)
        .tls(TEST_CERT.as_bytes(), TEST_KEY.as_bytes())
        .echo_messages(false)
        .ack_mode(RtmAckMode::Ignore)
        .start()
        .expect("start");
    let mut https = tls_connect(&fake);
    https
        .write_all(
            format!("GET /api/rtm.connect?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        )
        .expect("write");
    let answer = read_response(&mut BufReader::new(https))
        .expect("response")
        .json();
    let url = answer["url"].as_str().expect("url");
    let (mut ws, _) = tungstenite::client(url, tls_connect(&fake)).expect("wss handshake");
    assert_eq!(
        ws.read().expect("hello"),
        Message::text(r#"{"type":"hello"}"#)
    );

    exercise_bursts(&fake, &mut ws);

    let event = r#"{"type":"user_typing","channel":"C1","user":"U1"}"#;
    assert_eq!(fake.flood(event, 3000), 1);
    ws.send(Message::text(r#"{"type":"typing","during":"flood"}"#))
        .expect("send");
    for _ in 0..3000 {
        assert_eq!(ws.read().expect("flood frame"), Message::text(event));
    }
    assert!(fake
        .wait_for_frame(|f| f.text.contains("during"), WAIT)
        .is_some());
    fake.close_all(1000, "bye");
    assert!(matches!(ws.read(), Ok(Message::Close(Some(_)))));
}

#[test]
fn invalid_tls_material_is_an_error() {
    let err = FakeSlack::builder()
        .tls(b"not a cert", b"not a key")
        .start()
        .expect_err("bad TLS material");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}
