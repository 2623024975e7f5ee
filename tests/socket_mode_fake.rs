//! The embedded fake Slack speaks Socket Mode as documented: `apps.connections.open` (app
//! tokens, scripted answers, single-use tickets), `hello`, server pings, every envelope helper,
//! ack recording (latency, connection, the 20,480-byte drop), redelivery of unacked events,
//! disconnect injection, the socket cap, half-open and unanswered-close faults, and the traffic
//! tap — checked with a plain tungstenite client, not the library's.
#![cfg(feature = "testing")]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slack_rtm::testing::{
    ConnectReply, FakeSlack, HandshakeFault, Redelivery, SocketDistribution, SocketGreeting,
};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Generous deadline for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(5);
const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-secret";

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// One HTTP/1.1 request with `Connection: close`; returns (status, headers, body).
fn http(fake: &FakeSlack, method: &str, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(fake.addr()).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_owned(), body)
}

fn open_url(fake: &FakeSlack) -> String {
    let (status, _, body) = http(fake, "POST", "/api/apps.connections.open", Some(APP_TOKEN));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    body["url"].as_str().expect("url").to_owned()
}

fn dial(url: &str) -> Client {
    let (mut ws, _) = tungstenite::connect(url).expect("websocket handshake");
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(WAIT)).expect("timeout");
    }
    ws
}

/// Opens a socket and reads its `hello`.
fn connect(fake: &FakeSlack) -> (Client, Value) {
    let mut ws = dial(&open_url(fake));
    let hello = next_json(&mut ws);
    assert_eq!(hello["type"], "hello", "{hello}");
    (ws, hello)
}

/// The next text frame as JSON (pings and pongs are skipped, and answered).
fn next_json(ws: &mut Client) -> Value {
    loop {
        match ws.read().expect("a frame within the deadline") {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

fn ack(ws: &mut Client, envelope_id: &str, payload: Option<Value>) {
    let mut frame = json!({ "envelope_id": envelope_id });
    if let Some(payload) = payload {
        frame["payload"] = payload;
    }
    ws.send(Message::text(frame.to_string())).expect("send ack");
}

fn fake() -> FakeSlack {
    FakeSlack::builder().start().expect("start the fake")
}

#[test]
fn apps_connections_open_takes_app_tokens_only_and_answers_as_scripted() {
    let fake = FakeSlack::builder()
        .token("xoxb-bot")
        .app_token(APP_TOKEN)
        .start()
        .unwrap();
    let path = "/api/apps.connections.open";
    let error = |method, token| http(&fake, method, path, token).2["error"].clone();
    assert_eq!(error("POST", None), "not_authed");
    assert_eq!(error("POST", Some("xoxb-bot")), "not_allowed_token_type");
    assert_eq!(error("POST", Some("xoxp-user")), "not_allowed_token_type");
    assert_eq!(error("POST", Some("xapp-other")), "invalid_auth");
    assert_eq!(error("POST", Some("junk")), "invalid_auth");
    assert_eq!(error("GET", Some(APP_TOKEN)), "insecure_request");

    let url = open_url(&fake);
    let prefix = format!("ws://{}/link/?ticket=", fake.addr());
    assert!(url.starts_with(&prefix), "{url}");
    let app_id = url.split("&app_id=").nth(1).expect("app_id");
    assert_eq!(app_id.len(), 64, "{url}");
    assert!(app_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(open_url(&fake), url, "a fresh ticket per call");

    fake.push_open_reply(ConnectReply::RateLimited {
        retry_after_secs: 7,
    });
    fake.push_open_reply(ConnectReply::Error("internal_error".into()));
    fake.push_open_reply(ConnectReply::NoUrl);
    fake.push_open_reply(ConnectReply::HttpStatus(503));
    let (status, head, body) = http(&fake, "POST", path, Some(APP_TOKEN));
    assert_eq!((status, body["error"].as_str()), (429, Some("ratelimited")));
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 7"),
        "{head}"
    );
    assert_eq!(
        http(&fake, "POST", path, Some(APP_TOKEN)).2["error"],
        "internal_error"
    );
    let no_url = http(&fake, "POST", path, Some(APP_TOKEN)).2;
    assert_eq!(no_url["ok"], true);
    assert!(no_url.get("url").is_none());
    assert_eq!(http(&fake, "POST", path, Some(APP_TOKEN)).0, 503);
    assert!(open_url(&fake).starts_with(&prefix), "back to normal");

    // The bot token still works for the rest of the Web API, and calls are recorded.
    assert_eq!(
        http(&fake, "GET", "/api/auth.test", Some("xoxb-bot")).2["ok"],
        true
    );
    assert!(fake.calls_to("apps.connections.open") >= 11);
}

#[test]
fn tickets_work_once_and_expire() {
    let fake = FakeSlack::builder()
        .socket_ticket_ttl(Duration::from_millis(200))
        .start()
        .unwrap();
    let url = open_url(&fake);
    let (mut ws, _) = {
        let mut ws = dial(&url);
        let hello = next_json(&mut ws);
        (ws, hello)
    };
    let reuse = tungstenite::connect(url.as_str()).expect_err("a used ticket is refused");
    match reuse {
        tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
    let stale = open_url(&fake);
    std::thread::sleep(Duration::from_millis(300)); // let the ticket expire
    assert!(tungstenite::connect(stale.as_str()).is_err(), "expired");
    assert_eq!(fake.socket_connections_total(), 1);
    ws.close(None).unwrap();
}

#[test]
fn hello_reports_connections_host_and_lifetime() {
    let fake = FakeSlack::builder().app_id("A0MYAPP").start().unwrap();
    let (_first, hello) = connect(&fake);
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["debug_info"]["host"], "applink-1");
    assert_eq!(hello["debug_info"]["approximate_connection_time"], 18060);
    assert_eq!(hello["connection_info"]["app_id"], "A0MYAPP");
    let mut second = dial(&format!("{}&debug_reconnects=true", open_url(&fake)));
    let hello = next_json(&mut second);
    assert_eq!(hello["num_connections"], 2);
    assert_eq!(hello["debug_info"]["approximate_connection_time"], 360);
    assert_eq!(fake.socket_connection_ids(), [1, 2]);
    assert!(fake.wait_for_socket_ready(2, WAIT));
    assert_eq!(fake.connections_total(), 0, "RTM counters are separate");
}

#[test]
fn the_server_pings_and_counts_pongs() {
    let fake = FakeSlack::builder()
        .socket_ping_interval(Some(Duration::from_millis(30)))
        .start()
        .unwrap();
    let (mut ws, _) = connect(&fake);
    let mut pings = 0;
    while pings < 3 {
        if let Message::Ping(payload) = ws.read().expect("a ping") {
            assert_eq!(&payload[..], b"Ping from applink-1");
            pings += 1;
        }
    }
    ws.flush().unwrap(); // tungstenite queued the pongs
    ws.send(Message::Ping("client".into())).unwrap();
    let deadline = Instant::now() + WAIT;
    while fake.socket_pongs(1) < 3 || fake.socket_client_pings(1) < 1 {
        assert!(Instant::now() < deadline, "pongs {}", fake.socket_pongs(1));
        let _ = ws.read(); // keeps answering pings meanwhile
    }
    fake.set_socket_ping_interval(None);
}

#[test]
fn events_are_wrapped_like_slack_and_acks_are_recorded() {
    let fake = fake();
    let (mut ws, _) = connect(&fake);
    let id = fake.send_event(json!({"type": "app_mention", "text": "hi", "channel": "C1"}));
    let envelope = next_json(&mut ws);
    assert_eq!(envelope["envelope_id"], id.as_str());
    assert_eq!(envelope["type"], "events_api");
    assert_eq!(envelope["accepts_response_payload"], false);
    assert_eq!(envelope["retry_attempt"], 0);
    assert_eq!(envelope["retry_reason"], "");
    let payload = &envelope["payload"];
    assert_eq!(payload["type"], "event_callback");
    assert_eq!(payload["event"]["text"], "hi");
    assert_eq!(payload["team_id"], "T0FAKE0001");
    assert_eq!(payload["api_app_id"], "A0FAKEAPP1");
    assert!(payload["event_id"].as_str().unwrap().starts_with("Ev"));
    assert_eq!(payload["authorizations"][0]["user_id"], "U0FAKEBOT1");

    ack(&mut ws, &id, None);
    let recorded = fake.wait_for_socket_ack(&id, WAIT).expect("the ack");
    assert_eq!(recorded.conn, 1);
    assert!(recorded.known && recorded.same_connection);
    assert!(!recorded.dropped && !recorded.duplicate && !recorded.unexpected_payload);
    assert!(recorded.latency.expect("a latency") < WAIT);
    assert_eq!(recorded.payload, None);
    let deliveries = fake.socket_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].event_id.as_deref(),
        payload["event_id"].as_str()
    );
    assert!(deliveries[0].acked);
    assert_eq!(deliveries[0].conn, Some(1));

    ack(&mut ws, &id, None);
    ack(&mut ws, "no-such-envelope", None);
    assert!(fake.wait_for_socket_acks(3, WAIT));
    let acks = fake.socket_acks();
    assert!(acks[1].duplicate);
    assert!(!acks[2].known);
    assert_eq!(fake.socket_frames().len(), 3);
}

#[test]
fn every_envelope_helper_sends_what_slack_sends() {
    let fake = fake();
    let (mut ws, _) = connect(&fake);

    let id = fake.send_slash_command("/deploy", "prod now");
    let e = next_json(&mut ws);
    assert_eq!(
        (e["type"].as_str(), e["envelope_id"].as_str()),
        (Some("slash_commands"), Some(id.as_str()))
    );
    assert_eq!(e["accepts_response_payload"], true);
    assert_eq!(e["payload"]["command"], "/deploy");
    assert_eq!(e["payload"]["text"], "prod now");
    assert!(e["payload"]["response_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(
        e.get("retry_attempt").is_none(),
        "only events carry retry fields"
    );
    ack(&mut ws, &id, Some(json!({"text": "deploying"})));
    let a = fake.wait_for_socket_ack(&id, WAIT).unwrap();
    assert_eq!(a.payload, Some(json!({"text": "deploying"})));
    assert!(!a.unexpected_payload);

    fake.send_block_actions("approve", "42");
    let e = next_json(&mut ws);
    assert_eq!(e["type"], "interactive");
    assert_eq!(e["payload"]["type"], "block_actions");
    assert_eq!(e["payload"]["actions"][0]["action_id"], "approve");
    assert_eq!(e["payload"]["actions"][0]["value"], "42");
    assert_eq!(e["accepts_response_payload"], true);

    fake.send_view_submission(
        "survey",
        json!({"b": {"a": {"type": "plain_text_input", "value": "x"}}}),
    );
    let e = next_json(&mut ws);
    assert_eq!(e["payload"]["type"], "view_submission");
    assert_eq!(e["payload"]["view"]["callback_id"], "survey");
    assert_eq!(
        e["payload"]["view"]["state"]["values"]["b"]["a"]["value"],
        "x"
    );

    let shortcut = fake.send_shortcut("open_modal");
    let e = next_json(&mut ws);
    assert_eq!(e["payload"]["type"], "shortcut");
    assert_eq!(e["payload"]["callback_id"], "open_modal");
    assert_eq!(e["accepts_response_payload"], false);
    ack(&mut ws, &shortcut, Some(json!({"text": "not accepted"})));
    assert!(
        fake.wait_for_socket_ack(&shortcut, WAIT)
            .unwrap()
            .unexpected_payload
    );

    fake.send_app_rate_limited();
    let e = next_json(&mut ws);
    assert_eq!(e["type"], "events_api");
    assert_eq!(e["payload"]["type"], "app_rate_limited");
    assert!(e["payload"].get("event").is_none());

    fake.send_unknown_envelope("future_thing");
    let e = next_json(&mut ws);
    assert_eq!(e["type"], "future_thing");
    assert!(e["envelope_id"].is_string());

    fake.send_app_mention("deploy please");
    let e = next_json(&mut ws);
    assert_eq!(e["payload"]["event"]["type"], "app_mention");
    assert_eq!(e["payload"]["event"]["text"], "<@U0FAKEBOT1> deploy please");

    let big = fake.send_large_envelope(100_000);
    match ws.read().unwrap() {
        Message::Text(text) => {
            assert!(text.len() >= 100_000, "{} bytes", text.len());
            let e: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(e["envelope_id"], big.as_str());
        }
        other => panic!("{other:?}"),
    }

    let raw = fake.send_envelope("interactive", json!({"type": "block_suggestion"}), true);
    let e = next_json(&mut ws);
    assert_eq!(
        (e["envelope_id"].as_str(), e["payload"]["type"].as_str()),
        (Some(raw.as_str()), Some("block_suggestion"))
    );
}

#[test]
fn acks_of_20480_bytes_or_more_count_as_dropped() {
    let fake = fake();
    let (mut ws, _) = connect(&fake);
    let id = fake.send_slash_command("/big", "");
    next_json(&mut ws);
    let overhead = json!({"envelope_id": id, "payload": {"text": ""}})
        .to_string()
        .len();
    let at_limit = json!({"text": "x".repeat(20_480 - overhead)});
    ack(&mut ws, &id, Some(at_limit));
    let dropped = fake.wait_for_socket_ack(&id, WAIT).unwrap();
    assert_eq!(dropped.size, 20_480);
    assert!(dropped.dropped);
    assert!(
        !fake.socket_deliveries()[0].acked,
        "a dropped ack does not count"
    );
    let below = json!({"text": "x".repeat(20_479 - overhead)});
    ack(&mut ws, &id, Some(below));
    assert!(fake.wait_for_socket_acks(2, WAIT));
    let acks = fake.socket_acks();
    assert_eq!(acks[1].size, 20_479);
    assert!(!acks[1].dropped);
    assert!(fake.socket_deliveries()[0].acked);
}

#[test]
fn unacked_events_are_redelivered_on_a_compressible_schedule() {
    let fake = FakeSlack::builder()
        .socket_redelivery(Redelivery::compressed(
            Duration::from_millis(100),
            Duration::from_millis(250),
        ))
        .start()
        .unwrap();
    let (mut ws, _) = connect(&fake);
    let first = fake.send_event(json!({"type": "message", "text": "one"}));
    let original = next_json(&mut ws);
    let event_id = original["payload"]["event_id"].clone();
    let mut seen = vec![original];
    for attempt in 1..=3 {
        let retry = next_json(&mut ws);
        assert_eq!(retry["retry_attempt"], attempt, "{retry}");
        assert_eq!(retry["retry_reason"], "timeout");
        assert_eq!(retry["payload"]["event_id"], event_id);
        seen.push(retry);
    }
    let ids: std::collections::HashSet<_> =
        seen.iter().map(|e| e["envelope_id"].to_string()).collect();
    assert_eq!(ids.len(), 4, "fresh envelope ids by default");
    assert_eq!(seen[0]["envelope_id"], first.as_str());
    // After three retries Slack gives up.
    fake.send_shortcut("marker");
    assert_eq!(next_json(&mut ws)["payload"]["type"], "shortcut");
    assert_eq!(fake.socket_deliveries().len(), 5);

    // Acking a retry stops further ones; interactions are never redelivered.
    let second = fake.send_event(json!({"type": "message", "text": "two"}));
    let _ = next_json(&mut ws);
    let retry = next_json(&mut ws);
    assert_eq!(retry["retry_attempt"], 1);
    ack(&mut ws, retry["envelope_id"].as_str().unwrap(), None);
    assert!(fake.wait_for_socket_acks(1, WAIT));
    // Long enough for the next retry (100 ms + 250 ms after the first one) had it not been acked.
    std::thread::sleep(Duration::from_millis(600));
    fake.send_shortcut("after");
    let e = next_json(&mut ws);
    assert_eq!(
        e["payload"]["callback_id"], "after",
        "no further retry: {e}"
    );
    let deliveries = fake.socket_deliveries();
    let chain: Vec<_> = deliveries
        .iter()
        .filter(|d| {
            d.event_id
                == deliveries
                    .iter()
                    .find(|d| d.envelope_id == second)
                    .unwrap()
                    .event_id
        })
        .collect();
    assert_eq!(chain.len(), 2);
    assert!(
        chain.iter().all(|d| d.acked),
        "an ack of any attempt acks the event"
    );
    // The unacked shortcuts were not redelivered.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        fake.socket_deliveries()
            .iter()
            .filter(|d| d.kind == "interactive")
            .count(),
        2
    );
}

#[test]
fn redelivery_can_reuse_the_envelope_id_and_be_switched_off() {
    let fake = FakeSlack::builder()
        .socket_redelivery(Redelivery {
            new_envelope_id: false,
            ..Redelivery::compressed(Duration::from_millis(50), Duration::from_millis(10))
        })
        .start()
        .unwrap();
    let (mut ws, _) = connect(&fake);
    let id = fake.send_event(json!({"type": "message"}));
    next_json(&mut ws);
    let retry = next_json(&mut ws);
    assert_eq!(retry["envelope_id"], id.as_str());
    ack(&mut ws, &id, None);
    assert!(fake.wait_for_socket_acks(1, WAIT));

    fake.set_socket_redelivery(Redelivery::off());
    fake.send_event(json!({"type": "message", "text": "once"}));
    next_json(&mut ws);
    // Long enough for a retry (50 ms) had redelivery been on.
    std::thread::sleep(Duration::from_millis(200));
    fake.send_shortcut("marker");
    assert_eq!(next_json(&mut ws)["payload"]["type"], "shortcut");
}

#[test]
fn envelopes_sent_while_no_socket_is_ready_wait_for_the_next_hello() {
    let fake = fake();
    let early = fake.send_event(json!({"type": "message", "text": "early"}));
    assert_eq!(fake.socket_deliveries()[0].conn, None);
    let (mut ws, hello) = connect(&fake);
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(next_json(&mut ws)["envelope_id"], early.as_str());

    // A delayed hello holds envelopes back until it is sent.
    fake.push_socket_greeting(SocketGreeting::DelayedHello(Duration::from_millis(100)));
    ws.close(None).unwrap();
    assert!(fake.wait_for_socket_open(0, WAIT));
    let mut ws = dial(&open_url(&fake));
    let late = fake.send_shortcut("waiting");
    assert_eq!(next_json(&mut ws)["type"], "hello");
    assert_eq!(next_json(&mut ws)["envelope_id"], late.as_str());
}

#[test]
fn refresh_sends_warning_then_refresh_requested_then_closes() {
    let fake = fake();
    let (mut ws, _) = connect(&fake);
    let t0 = Instant::now();
    assert!(fake.refresh_socket(
        1,
        Some(Duration::from_millis(100)),
        Duration::from_millis(100)
    ));
    let warning = next_json(&mut ws);
    assert_eq!(
        (warning["type"].as_str(), warning["reason"].as_str()),
        (Some("disconnect"), Some("warning"))
    );
    assert_eq!(warning["debug_info"]["host"], "applink-1");
    // Envelopes still flow between warning and refresh_requested.
    let between = fake.send_event(json!({"type": "message"}));
    assert_eq!(next_json(&mut ws)["envelope_id"], between.as_str());
    let refresh = next_json(&mut ws);
    assert_eq!(refresh["reason"], "refresh_requested");
    assert!(t0.elapsed() >= Duration::from_millis(100));
    // After refresh_requested the socket gets no more envelopes.
    let held = fake.send_event(json!({"type": "message", "text": "held"}));
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => break,
            Ok(Message::Text(t)) => panic!("no envelope after refresh_requested: {t}"),
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(fake.wait_for_socket_open(0, WAIT));
    // The held envelope goes to the next socket.
    let (mut next, _) = connect(&fake);
    assert_eq!(next_json(&mut next)["envelope_id"], held.as_str());
}

#[test]
fn sockets_can_have_a_scheduled_lifetime() {
    let fake = FakeSlack::builder()
        .socket_lifetime(Some(Duration::from_millis(300)))
        .start()
        .unwrap();
    let (mut ws, hello) = connect(&fake);
    assert_eq!(hello["debug_info"]["approximate_connection_time"], 1);
    assert_eq!(next_json(&mut ws)["reason"], "warning");
    assert_eq!(next_json(&mut ws)["reason"], "refresh_requested");
    assert!(matches!(ws.read(), Ok(Message::Close(_))));
}

#[test]
fn link_disabled_and_the_cap_answer_new_sockets_with_disconnect() {
    let capped = FakeSlack::builder().socket_cap(2).start().unwrap();
    let (_a, _) = connect(&capped);
    let (_b, hello) = connect(&capped);
    assert_eq!(hello["num_connections"], 2);
    let mut third = dial(&open_url(&capped));
    let d = next_json(&mut third);
    assert_eq!(
        (d["type"].as_str(), d["reason"].as_str()),
        (Some("disconnect"), Some("too_many_websockets"))
    );
    assert!(matches!(third.read(), Ok(Message::Close(_))));
    drop(third);

    // A scripted greeting works below the cap too.
    let fake = fake();
    fake.push_socket_greeting(SocketGreeting::TooManyWebsockets);
    let mut ws = dial(&open_url(&fake));
    assert_eq!(next_json(&mut ws)["reason"], "too_many_websockets");

    let (mut live, _) = connect(&fake);
    fake.set_link_disabled(true);
    assert_eq!(next_json(&mut live)["reason"], "link_disabled");
    assert!(matches!(live.read(), Ok(Message::Close(_))));
    let mut refused = dial(&open_url(&fake));
    assert_eq!(next_json(&mut refused)["reason"], "link_disabled");
    fake.set_link_disabled(false);
    let (_ok, _) = connect(&fake);
}

#[test]
fn ghost_sockets_count_until_they_expire() {
    let fake = FakeSlack::builder()
        .socket_ghost_lifetime(Duration::from_millis(300))
        .start()
        .unwrap();
    let (ws, _) = connect(&fake);
    // The client vanishes without a close frame.
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.shutdown(std::net::Shutdown::Both).unwrap();
    }
    drop(ws);
    assert!(fake.wait_for_socket_open(0, WAIT));
    let (_next, hello) = connect(&fake);
    assert_eq!(hello["num_connections"], 2, "the ghost still counts");
    std::thread::sleep(Duration::from_millis(350));
    let (_third, hello) = connect(&fake);
    assert_eq!(hello["num_connections"], 2, "the ghost expired");
}

#[test]
fn envelopes_are_spread_per_the_distribution_policy() {
    let fake = FakeSlack::builder()
        .socket_distribution(SocketDistribution::RoundRobin)
        .start()
        .unwrap();
    let (mut a, _) = connect(&fake);
    let (mut b, _) = connect(&fake);
    for _ in 0..4 {
        fake.send_event(json!({"type": "message"}));
    }
    for ws in [&mut a, &mut b] {
        next_json(ws);
        next_json(ws);
    }
    let per_conn = |c| {
        fake.socket_deliveries()
            .iter()
            .filter(|d| d.conn == Some(c))
            .count()
    };
    assert_eq!((per_conn(1), per_conn(2)), (2, 2));

    fake.set_socket_distribution(SocketDistribution::Connection(1));
    let id = fake.send_event(json!({"type": "message"}));
    assert_eq!(next_json(&mut a)["envelope_id"], id.as_str());
    fake.set_socket_distribution(SocketDistribution::Newest);
    let id = fake.send_event(json!({"type": "message"}));
    assert_eq!(next_json(&mut b)["envelope_id"], id.as_str());
}

#[test]
fn a_half_open_socket_stops_reading_and_writing_but_stays_registered() {
    let fake = FakeSlack::builder()
        .socket_ping_interval(Some(Duration::from_millis(20)))
        .start()
        .unwrap();
    let (mut ws, _) = connect(&fake);
    assert!(fake.half_open_socket(1));
    fake.send_event(json!({"type": "message"}));
    ack(&mut ws, "after-freeze", None);
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    // Drain anything written before the freeze; then silence (no pings, no envelopes).
    let silent_from = loop {
        match ws.read() {
            Ok(Message::Ping(_)) | Ok(Message::Pong(_)) => {}
            Ok(other) => panic!("nothing after the freeze: {other:?}"),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                break Instant::now();
            }
            Err(e) => panic!("the socket stays open: {e}"),
        }
    };
    assert!(silent_from.elapsed() < WAIT);
    assert!(
        fake.socket_frames().is_empty(),
        "nothing read: {:?}",
        fake.socket_frames()
    );
    assert_eq!(fake.socket_connections_open(), 1);
    assert!(fake.drop_socket(1));
    assert!(fake.wait_for_socket_open(0, WAIT));
}

#[test]
fn an_unanswered_close_leaves_the_client_to_drop_tcp() {
    let fake = fake();
    fake.set_answer_socket_close(false);
    let (mut ws, _) = connect(&fake);
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    ws.close(None).unwrap();
    match ws.read() {
        Err(tungstenite::Error::Io(e))
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected silence, got {other:?}"),
    }
    assert_eq!(fake.socket_connections_open(), 1, "TCP kept open");
    drop(ws);
    assert!(
        fake.wait_for_socket_open(0, WAIT),
        "ends when the client drops TCP"
    );

    fake.set_answer_socket_close(true);
    let (mut ws, _) = connect(&fake);
    ws.close(None).unwrap();
    loop {
        match ws.read() {
            Err(tungstenite::Error::ConnectionClosed) => break,
            Ok(_) => {}
            Err(e) => panic!("a clean close: {e}"),
        }
    }
}

#[test]
fn handshake_faults_are_injected() {
    let fake = fake();
    fake.push_socket_handshake_fault(HandshakeFault::Status(409));
    match tungstenite::connect(open_url(&fake).as_str()) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 409),
        other => panic!("expected 409, got {:?}", other.map(|_| ())),
    }
    fake.push_socket_handshake_fault(HandshakeFault::Reset);
    assert!(tungstenite::connect(open_url(&fake).as_str()).is_err());
    assert_eq!(fake.socket_connections_total(), 0);
    let (_ws, _) = connect(&fake);
}

#[test]
fn raw_frames_reach_every_socket() {
    let fake = fake();
    let (mut ws, _) = connect(&fake);
    assert_eq!(fake.send_socket_text("not json"), 1);
    assert_eq!(fake.send_socket_binary(b"\x00\x01"), 1);
    match ws.read().unwrap() {
        Message::Text(t) => assert_eq!(t.as_str(), "not json"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(ws.read().unwrap(), Message::Binary(b) if &b[..] == b"\x00\x01"));
    assert!(fake.send_socket_disconnect(1, "socket_restart"));
    assert_eq!(next_json(&mut ws)["reason"], "socket_restart");
    let (mut other, _) = connect(&fake);
    assert!(fake.disconnect_socket(2, "too_many_websockets", Duration::from_millis(50)));
    assert_eq!(next_json(&mut other)["reason"], "too_many_websockets");
    assert!(matches!(other.read(), Ok(Message::Close(_))));
    assert!(fake.close_socket(1, 4000, "bye"));
    match ws.read().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_traffic_tap_shows_frames_of_both_protocols_and_api_calls() {
    let fake = FakeSlack::builder().token("xoxb-bot").start().unwrap();
    let traffic = fake.watch_traffic();
    let (mut ws, _) = connect(&fake);
    let id = fake.send_slash_command("/x", "");
    next_json(&mut ws);
    ack(&mut ws, &id, Some(json!({"text": "ok"})));
    fake.wait_for_socket_ack(&id, WAIT).expect("the ack");
    // An RTM client too.
    let (_, _, body) = http(&fake, "POST", "/api/rtm.connect", Some("xoxb-bot"));
    let (mut rtm, _) = tungstenite::connect(body["url"].as_str().unwrap()).unwrap();
    rtm.send(Message::text(r#"{"id":1,"type":"ping"}"#))
        .unwrap();
    rtm.send(Message::text("not json")).unwrap();

    let mut records = Vec::new();
    while records.len() < 5 {
        records.push(traffic.recv_timeout(WAIT).expect("a traffic record"));
    }
    assert_eq!(
        records[0],
        json!({"api": "apps.connections.open", "params": {}})
    );
    assert_eq!(
        records[1],
        json!({"conn": 1, "protocol": "socket_mode", "frame": {"envelope_id": id, "payload": {"text": "ok"}}})
    );
    assert_eq!(records[2], json!({"api": "rtm.connect", "params": {}}));
    assert_eq!(
        records[3],
        json!({"conn": 1, "protocol": "rtm", "frame": {"id": 1, "type": "ping"}})
    );
    assert_eq!(
        records[4],
        json!({"conn": 1, "protocol": "rtm", "frame": "not json"})
    );
    let text = records.iter().map(Value::to_string).collect::<String>();
    assert!(
        !text.contains("xoxb-bot") && !text.contains("secret"),
        "no tokens: {text}"
    );
}

#[test]
fn dropping_the_fake_ends_every_socket_even_half_open_and_muted_ones() {
    let fake = fake();
    let (mut a, _) = connect(&fake);
    let (_b, _) = connect(&fake);
    fake.half_open_socket(2);
    fake.set_answer_socket_close(false);
    a.close(None).unwrap();
    let t0 = Instant::now();
    drop(fake);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}
