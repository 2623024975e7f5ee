//! Every network phase is bounded by `timeout` and a timeout names its phase: a server (or
//! proxy) that accepts TCP and then says nothing never hangs `start()`, and a peer that stops
//! reading makes a send fail instead of blocking forever.
//!
//! The websocket phases are reached black-box: a tiny HTTP server answers `rtm.connect` with a
//! `url` that points at a silent listener.

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use slack_rtm::testing::{ConnectReply, FakeSlack};
use slack_rtm::{Error, Phase, RtmClient, RtmClientBuilder, SendErrorKind};

/// The timeout every test configures.
const TIMEOUT: Duration = Duration::from_millis(300);
/// A timeout must not fire much before the bound...
const AT_LEAST: Duration = Duration::from_millis(250);
/// ... nor long after it (generous, for loaded machines).
const AT_MOST: Duration = Duration::from_secs(3);

/// A listener that accepts connections and never sends or reads a byte. Accepted sockets are
/// kept open for the rest of the process.
fn silent_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    port
}

fn client(base_url: &str) -> RtmClientBuilder {
    RtmClient::builder("xoxb-test-token")
        .base_url(base_url)
        .handle_signals(false)
        .auto_reconnect(false)
        .ping_interval(Duration::ZERO)
        .timeout(TIMEOUT)
}

/// Runs `start()` on a client from `make` until it fails past `rtm.connect` (on a loaded
/// machine `rtm.connect` itself may time out; the websocket phases start after it) and returns
/// the error with the time from `api`'s answer to the failure (from the start of `start()`
/// when there is no `api`).
fn fail_past_rtm_connect(
    make: impl Fn() -> RtmClientBuilder,
    api: Option<&Api>,
) -> (Error, Duration) {
    for _ in 0..5 {
        let client = make().build().unwrap();
        let started = Instant::now();
        let err = client.start().unwrap_err();
        let ended = Instant::now();
        let answered = api.and_then(Api::last_answer).filter(|&t| t >= started);
        let http = matches!(err, Error::Timeout { phase: Phase::Http });
        match (api, answered) {
            (None, _) => return (err, ended - started),
            (Some(_), Some(t)) if !http => return (err, ended - t),
            _ => eprintln!("rtm.connect failed ({err}) on a loaded machine; again"),
        }
    }
    panic!("rtm.connect failed 5 times");
}

/// Checks that the client from `make` fails with a timeout of `phase`, about `TIMEOUT` after
/// the phase's clock started: the start of `start()` for [`Phase::Http`], `api`'s answer to
/// `rtm.connect` for the websocket phases.
fn expect_timeout(make: impl Fn() -> RtmClientBuilder, phase: Phase, api: Option<&Api>) {
    let (err, took) = fail_past_rtm_connect(make, api);
    match &err {
        Error::Timeout { phase: p } => assert_eq!(*p, phase, "{err}"),
        other => panic!("expected a {phase} timeout, got {other:?}"),
    }
    assert!(
        (AT_LEAST..AT_MOST).contains(&took),
        "{phase} timed out after {took:?}, configured {TIMEOUT:?}"
    );
}

#[test]
fn silence_during_the_tls_handshake_is_a_tls_timeout() {
    let silent = silent_listener();
    let api = api_with_url(format!("wss://127.0.0.1:{silent}/websocket/x"));
    expect_timeout(|| client(&api.url), Phase::Tls, Some(&api));
}

#[test]
fn silence_during_the_websocket_handshake_is_a_handshake_timeout() {
    let silent = silent_listener();
    let api = api_with_url(format!("ws://127.0.0.1:{silent}/websocket/x"));
    expect_timeout(|| client(&api.url), Phase::Handshake, Some(&api));
}

#[test]
fn a_silent_web_api_is_an_http_timeout() {
    // Accepts TCP and never reads or answers.
    let silent = silent_listener();
    let url = format!("http://127.0.0.1:{silent}/api/");
    expect_timeout(|| client(&url), Phase::Http, None);
    // Reads the request and never answers.
    let fake = FakeSlack::start().unwrap();
    fake.push_connect_reply(ConnectReply::Hang);
    expect_timeout(|| client(&fake.api_url()), Phase::Http, None);
    assert_eq!(fake.calls_to("rtm.connect"), 1);
}

/// A CONNECT proxy that tunnels to `tunnel_port` and, for any other target, reads the request
/// and never answers. Returns its port and the request heads it saw.
fn selective_proxy(tunnel_port: u16) -> (u16, Arc<Mutex<Vec<String>>>) {
    connect_proxy(Some(tunnel_port), Duration::ZERO)
}

/// A CONNECT proxy that tunnels to `only` (every target when `None`) and never answers for
/// other targets; it answers each tunnelled CONNECT after `delay`, except the first (the Web
/// API's).
fn connect_proxy(only: Option<u16>, delay: Duration) -> (u16, Arc<Mutex<Vec<String>>>) {
    use common::proxy::{target_port, tunnel, Answer};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            let seen = seen.clone();
            thread::spawn(move || {
                tunnel(s, &seen.clone(), |head| {
                    let first = seen.lock().unwrap().len() == 1;
                    if only.is_some_and(|p| Some(p) != target_port(head)) {
                        Answer::Silent
                    } else if first {
                        Answer::Tunnel
                    } else {
                        Answer::After(delay)
                    }
                })
            });
        }
    });
    (port, heads)
}

#[test]
fn a_proxy_silent_on_connect_is_a_proxy_timeout() {
    // rtm.connect tunnels through the proxy; the websocket's CONNECT gets no answer.
    let silent = silent_listener();
    let api = api_with_url(format!("ws://127.0.0.1:{silent}/websocket/x"));
    let (proxy, heads) = selective_proxy(api.port);
    let proxy_url = format!("http://u:secret@127.0.0.1:{proxy}");
    expect_timeout(
        || client(&api.url).proxy(&proxy_url),
        Phase::Proxy,
        Some(&api),
    );
    let heads = heads.lock().unwrap();
    let last = heads.last().unwrap();
    assert!(
        last.starts_with(&format!("CONNECT 127.0.0.1:{silent} ")),
        "{heads:?}"
    );
}

#[test]
fn the_websocket_connect_phases_share_one_deadline() {
    // A slow proxy (800 ms) and then a silent websocket server: with a 1 s timeout the
    // handshake gets what is left (about 200 ms), not another second.
    let silent = silent_listener();
    let api = api_with_url(format!("ws://127.0.0.1:{silent}/websocket/x"));
    let (proxy, _) = connect_proxy(None, Duration::from_millis(800));
    let proxy_url = format!("http://127.0.0.1:{proxy}");
    let (err, took) = fail_past_rtm_connect(
        || {
            client(&api.url)
                .timeout(Duration::from_secs(1))
                .proxy(&proxy_url)
        },
        Some(&api),
    );
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: Phase::Handshake
            }
        ),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1600),
        "{took:?}: the connect as a whole is bounded by the timeout"
    );
}

#[test]
fn a_proxy_silent_for_the_web_api_is_an_http_timeout() {
    // The Web API has one bound for the whole request, proxy CONNECT included.
    let silent = silent_listener();
    let (proxy, heads) = selective_proxy(0);
    let (url, proxy_url) = (
        format!("http://127.0.0.1:{silent}/api/"),
        format!("http://u:secret@127.0.0.1:{proxy}"),
    );
    let (err, took) = fail_past_rtm_connect(|| client(&url).proxy(&proxy_url), None);
    assert!(
        matches!(err, Error::Timeout { phase: Phase::Http }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("secret"));
    assert!((AT_LEAST..AT_MOST).contains(&took), "{took:?}");
    assert_eq!(heads.lock().unwrap().len(), 1);
}

#[test]
fn a_timeout_of_duration_max_means_no_practical_limit() {
    // Deadlines must not overflow (ureq's and ours): the client simply connects.
    let fake = FakeSlack::start().unwrap();
    let client = client(&fake.api_url())
        .timeout(Duration::MAX)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    client.handle().typing("C1").unwrap();
    assert!(fake.wait_for_frames(1, SOON));
    running.stop();
    join_within(running, SOON).0.unwrap();
}

/// A websocket server that completes the handshake, sends `hello`, and then never reads.
fn deaf_websocket() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            let Ok(mut ws) = tungstenite::accept(s) else {
                continue;
            };
            ws.send(tungstenite::Message::text(r#"{"type":"hello"}"#))
                .unwrap();
            held.push(ws);
        }
    });
    port
}

#[test]
fn a_peer_that_stops_reading_makes_a_send_fail_within_the_timeout() {
    let port = deaf_websocket();
    let api = api_with_url(format!("ws://127.0.0.1:{port}/websocket/x"));
    // Reconnecting: an rtm.connect that times out on a loaded machine is simply retried.
    let client = client(&api.url)
        .auto_reconnect(true)
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .connect_rate(100, Duration::from_millis(10))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");

    // Frames just under Slack's 16 KB limit, of a type that is not throttled, until the
    // socket buffers are full and a write blocks.
    let filler = "x".repeat(16_000);
    let deadline = Instant::now() + SOON;
    let (err, took) = loop {
        assert!(
            Instant::now() < deadline,
            "every send succeeded for {SOON:?}"
        );
        let sent = Instant::now();
        match client
            .handle()
            .send_over_websocket(json!({"type": "filler", "text": filler}))
        {
            Ok(_) => continue,
            Err(e) => break (e, sent.elapsed()),
        }
    };
    match err.kind() {
        SendErrorKind::Io(msg) => assert!(msg.contains("timed out"), "{msg}"),
        other => panic!("expected a write failure, got {other:?}"),
    }
    // The failing send waited for the whole write timeout, and not much longer.
    assert!(
        (AT_LEAST..AT_MOST).contains(&took),
        "the failing send took {took:?}"
    );
    assert_eq!(
        err.into_payload()["type"],
        "filler",
        "the payload comes back"
    );

    // The connection is replaced.
    let close = next_named(&rx, "close");
    assert_eq!(close["will_reconnect"], true, "{close}");
    next_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

/// A listener whose accept queue is full, so that a new TCP connection is never established
/// (Linux drops the SYN): the port of a server that does not answer a TCP connect. Returns
/// `None` when the queue cannot be filled here.
#[cfg(target_os = "linux")]
fn unconnectable() -> Option<(u16, TcpListener, Vec<TcpStream>)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    // std listens with a backlog of 128; allow for a larger one.
    while held.len() < 5000 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(50)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                // Twice in a row: one slow answer on a loaded machine is not a full queue.
                match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                    Ok(s) => held.push(s),
                    Err(_) => return Some((addr.port(), listener, held)),
                }
            }
            Err(e) => {
                eprintln!("cannot fill the accept queue: {e}");
                return None;
            }
        }
    }
    None
}

#[cfg(target_os = "linux")]
#[test]
fn a_tcp_connect_that_gets_no_answer_is_a_connect_timeout() {
    let Some((port, _listener, _held)) = unconnectable() else {
        return;
    };
    // The websocket's own connect.
    let api = api_with_url(format!("ws://127.0.0.1:{port}/websocket/x"));
    expect_timeout(|| client(&api.url), Phase::Connect, Some(&api));
    // The Web API has one bound for the whole request.
    let url = format!("http://127.0.0.1:{port}/api/");
    expect_timeout(|| client(&url), Phase::Http, None);
}
