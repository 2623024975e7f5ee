//! The HTTP receiver with a stub handler: routing (404, 405, GET paths), framing (chunked,
//! `Expect`, pipelining, keep-alive), every limit (431, 413, 411, 408, 503), 200 concurrent
//! requests, a slow client delaying nobody, handler panics, stop/join and signals.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{is_child, run_child};
use crossbeam_channel::{unbounded, Receiver};
use slack_rtm::app::http::{HttpReceiverBuilder, HttpRunning};
use slack_rtm::app::{AppRequest, AppResponse};
use slack_rtm::{Error, Phase};

const SOON: Duration = Duration::from_secs(10);

/// A running receiver on a free loopback port whose handler echoes the request as text and
/// reports each request on a channel.
fn echo(
    builder: impl FnOnce(HttpReceiverBuilder) -> HttpReceiverBuilder,
) -> (HttpRunning, Receiver<AppRequest>) {
    let (tx, rx) = unbounded();
    let b = HttpReceiverBuilder::new("127.0.0.1:0", move |req: AppRequest| {
        let text = format!(
            "{} {} {}",
            req.method,
            req.path,
            String::from_utf8_lossy(&req.body)
        );
        let _ = tx.send(req);
        AppResponse::with_body(200, "text/plain", text)
    })
    .handle_signals(false);
    (builder(b).spawn().expect("spawn the receiver"), rx)
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 connection for tests.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(SOON)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn post(&mut self, path: &str, body: &str) {
        self.send(
            format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }

    /// The next response; `None` when the connection closed first.
    fn response(&mut self) -> Option<Resp> {
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Response::new(&mut fields);
            if let Ok(httparse::Status::Complete(end)) = r.parse(&self.buf) {
                let status = r.code.unwrap();
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                while self.buf.len() < end + len {
                    self.fill()?;
                }
                let body = String::from_utf8_lossy(&self.buf[end..end + len]).into_owned();
                self.buf.drain(..end + len);
                return Some(Resp {
                    status,
                    headers,
                    body,
                });
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    /// True when the server closes the connection (EOF or reset) within `SOON`.
    fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_)) && self.buf.is_empty()
    }
}

#[test]
fn a_post_reaches_the_handler_with_headers_and_raw_body() {
    let (rx_run, rx) = echo(|b| b);
    let mut c = Client::connect(rx_run.local_addr());
    c.send(
        b"POST /slack/events?from=t HTTP/1.1\r\nHost: t\r\nX-Slack-Signature: v0=ab\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\na=1&b=%20",
    );
    let r = c.response().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "POST /slack/events?from=t a=1&b=%20");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let req = rx.recv_timeout(SOON).unwrap();
    assert_eq!(req.header("x-slack-signature"), Some("v0=ab"));
    assert_eq!(req.path_only(), "/slack/events");
    assert_eq!(req.body, b"a=1&b=%20");
}

#[test]
fn keep_alive_pipelining_and_http_1_0() {
    let (run, _rx) = echo(|b| b);
    let mut c = Client::connect(run.local_addr());
    for i in 0..3 {
        c.post("/slack/events", &format!("{{\"n\":{i}}}"));
        let r = c.response().unwrap();
        assert_eq!(r.body, format!("POST /slack/events {{\"n\":{i}}}"));
        assert_eq!(r.header("connection"), None);
    }
    // Two requests in one write: answered in order.
    c.send(
        b"POST /slack/events HTTP/1.1\r\nContent-Length: 1\r\n\r\nAPOST /slack/events HTTP/1.1\r\n\
          Content-Length: 1\r\nConnection: close\r\n\r\nB",
    );
    assert_eq!(c.response().unwrap().body, "POST /slack/events A");
    let last = c.response().unwrap();
    assert_eq!(last.body, "POST /slack/events B");
    assert_eq!(last.header("connection"), Some("close"));
    assert!(c.closed());

    // HTTP/1.0 closes unless it asks for keep-alive.
    let mut c = Client::connect(run.local_addr());
    c.send(b"POST /slack/events HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.response().unwrap().header("connection"), Some("close"));
    assert!(c.closed());
    let mut c = Client::connect(run.local_addr());
    c.send(b"POST /slack/events HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.response().unwrap().status, 200);
    c.send(b"POST /slack/events HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.response().unwrap().status, 200);
}

#[test]
fn routing_404_405_and_get_paths() {
    let (run, rx) = echo(|b| {
        b.paths(["/slack/events", "/slack/commands"])
            .get_path("/slack/install")
    });
    let addr = run.local_addr();
    let ask = |raw: &str| {
        let mut c = Client::connect(addr);
        c.send(raw.as_bytes());
        c.response().unwrap()
    };
    assert_eq!(
        ask("POST /slack/commands HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status,
        200
    );
    let r = ask("POST /elsewhere HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 404);
    // The query is not part of the match; a trailing slash is another path.
    assert_eq!(
        ask("POST /slack/events/?x HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status,
        404
    );
    let r = ask("GET /slack/events HTTP/1.1\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = ask("PUT /slack/events HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 405);
    let r = ask("GET /slack/install?team=T1 HTTP/1.1\r\n\r\n");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "GET /slack/install?team=T1 ")
    );
    let r = ask("POST /slack/install HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    // Only the routed requests reached the handler.
    let seen: Vec<String> = rx
        .try_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(seen, ["POST /slack/commands", "GET /slack/install?team=T1"]);
}

#[test]
fn chunked_bodies_and_expect_continue() {
    let (run, _rx) = echo(|b| b);
    let mut c = Client::connect(run.local_addr());
    c.send(
        b"POST /slack/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(c.response().unwrap().body, "POST /slack/events abcde");
    // Expect: 100-continue gets its interim answer before the body is sent.
    c.send(b"POST /slack/events HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    let interim = c.response().unwrap();
    assert_eq!(interim.status, 100);
    c.send(b"ok");
    assert_eq!(c.response().unwrap().body, "POST /slack/events ok");
}

#[test]
fn limits_answer_431_413_411_and_400() {
    let (run, rx) = echo(|b| b.max_body_bytes(100).max_header_bytes(512));
    let addr = run.local_addr();
    let ask = |raw: &[u8]| {
        let mut c = Client::connect(addr);
        c.send(raw);
        let r = c.response().unwrap();
        assert_eq!(r.header("connection"), Some("close"));
        assert!(c.closed());
        r.status
    };
    let big_head = format!(
        "POST /slack/events HTTP/1.1\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(600)
    );
    assert_eq!(ask(big_head.as_bytes()), 431);
    // A head that never ends is cut at the limit, not read forever.
    let endless = format!("POST /slack/events HTTP/1.1\r\nX-Big: {}", "a".repeat(600));
    assert_eq!(ask(endless.as_bytes()), 431);
    // Content-Length over the limit: refused before the body is read (none is sent).
    assert_eq!(
        ask(b"POST /slack/events HTTP/1.1\r\nContent-Length: 101\r\n\r\n"),
        413
    );
    let chunked = format!(
        "POST /slack/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{0}\r\n40\r\n{0}\r\n0\r\n\r\n",
        "x".repeat(64)
    );
    assert_eq!(ask(chunked.as_bytes()), 413);
    assert_eq!(ask(b"POST /slack/events HTTP/1.1\r\n\r\n"), 411);
    assert_eq!(
        ask(b"POST /slack/events HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\nx"),
        400
    );
    assert_eq!(
        ask(b"POST /slack/events HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        501
    );
    assert_eq!(ask(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
    assert_eq!(ask(b"hello\r\n\r\n"), 400);
    // Exactly at the limit is fine.
    let mut c = Client::connect(addr);
    c.post("/slack/events", &"y".repeat(100));
    assert_eq!(c.response().unwrap().status, 200);
    assert_eq!(rx.try_iter().count(), 1);
}

#[test]
fn an_oversized_body_still_gets_its_413_while_sending() {
    // The client sends the whole 2 MiB body without waiting: the 413 must not be lost in a
    // reset caused by the unread bytes.
    let (run, _rx) = echo(|b| b);
    let mut c = Client::connect(run.local_addr());
    let body = vec![b'z'; 2 * 1024 * 1024];
    let head = format!(
        "POST /slack/events HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.send(head.as_bytes());
    let mut writer = c.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
    });
    assert_eq!(c.response().unwrap().status, 413);
    sender.join().unwrap();
}

#[test]
fn a_slow_request_times_out_with_408_and_delays_nobody() {
    let (run, rx) = echo(|b| b.request_timeout(Duration::from_millis(800)));
    let addr = run.local_addr();
    // A client sending its head a byte at a time (slowloris).
    let slow = std::thread::spawn(move || {
        let mut c = Client::connect(addr);
        let started = Instant::now();
        for b in b"POST /slack/events HTTP/1.1\r\nHost: slow\r\n".iter() {
            if c.stream.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            if started.elapsed() > Duration::from_millis(1500) {
                break;
            }
        }
        (c.response().map(|r| r.status), started.elapsed())
    });
    // Meanwhile, well-formed requests are answered at once.
    std::thread::sleep(Duration::from_millis(250));
    for _ in 0..5 {
        let started = Instant::now();
        let mut c = Client::connect(addr);
        c.post("/slack/events", "{}");
        assert_eq!(c.response().unwrap().status, 200);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "a quick request waited {:?}",
            started.elapsed()
        );
    }
    let (status, elapsed) = slow.join().unwrap();
    assert_eq!(status, Some(408));
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(rx.try_iter().count(), 5);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_their_timeout() {
    let (run, _rx) = echo(|b| b.keep_alive_timeout(Duration::from_millis(300)));
    let mut c = Client::connect(run.local_addr());
    c.post("/slack/events", "{}");
    assert_eq!(c.response().unwrap().status, 200);
    let started = Instant::now();
    assert!(c.closed());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn connections_over_the_limit_get_503() {
    let (run, _rx) = echo(|b| b.max_connections(2));
    let addr = run.local_addr();
    let mut a = Client::connect(addr);
    a.post("/slack/events", "{}");
    assert_eq!(a.response().unwrap().status, 200);
    let mut b = Client::connect(addr);
    b.post("/slack/events", "{}");
    assert_eq!(b.response().unwrap().status, 200);
    let mut c = Client::connect(addr);
    let r = c.response().unwrap();
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")));
    // Once one closes, there is room again.
    drop(a);
    let deadline = Instant::now() + SOON;
    loop {
        let mut d = Client::connect(addr);
        d.post("/slack/events", "{}");
        let status = d.response().map(|r| r.status);
        if status == Some(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no room after a close: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `n` handlers are inside at once (proving they run concurrently), at most `SOON`.
struct Gate {
    inside: Mutex<usize>,
    all: Condvar,
    n: usize,
}

impl Gate {
    fn enter(&self) -> bool {
        let mut inside = self.inside.lock().unwrap();
        *inside += 1;
        self.all.notify_all();
        let (inside, _) = self
            .all
            .wait_timeout_while(inside, SOON, |i| *i < self.n)
            .unwrap();
        *inside >= self.n
    }
}

#[test]
fn two_hundred_concurrent_requests_are_all_answered() {
    const N: usize = 200;
    let gate = Arc::new(Gate {
        inside: Mutex::new(0),
        all: Condvar::new(),
        n: N,
    });
    let g = gate.clone();
    let run = HttpReceiverBuilder::new("127.0.0.1:0", move |req: AppRequest| {
        // Every handler waits until all 200 are in: only a receiver that serves them at once
        // answers 200 to all.
        if g.enter() {
            AppResponse::with_body(200, "text/plain", req.body)
        } else {
            AppResponse::status(500)
        }
    })
    .handle_signals(false)
    .spawn()
    .unwrap();
    let addr = run.local_addr();
    let clients: Vec<_> = (0..N)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                c.post("/slack/events", &i.to_string());
                c.response().map(|r| (r.status, r.body))
            })
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        assert_eq!(client.join().unwrap(), Some((200, i.to_string())));
    }
}

#[test]
fn a_panicking_handler_answers_500_and_the_receiver_goes_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let run = HttpReceiverBuilder::new("127.0.0.1:0", move |_req| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("listener bug");
        }
        AppResponse::ok()
    })
    .handle_signals(false)
    .spawn()
    .unwrap();
    let mut c = Client::connect(run.local_addr());
    c.post("/slack/events", "{}");
    assert_eq!(c.response().unwrap().status, 500);
    c.post("/slack/events", "{}");
    assert_eq!(c.response().unwrap().status, 200);
    run.stop();
    run.join().unwrap();
}

#[test]
fn stop_cuts_idle_and_slow_connections_answers_in_flight_and_joins_promptly() {
    let (entered_tx, entered) = unbounded();
    let (release_tx, release) = unbounded::<()>();
    let run = HttpReceiverBuilder::new("127.0.0.1:0", move |_req| {
        let _ = entered_tx.send(());
        let _ = release.recv_timeout(SOON);
        AppResponse::with_body(200, "text/plain", "late")
    })
    .handle_signals(false)
    .spawn()
    .unwrap();
    let addr = run.local_addr();
    // An idle kept-alive connection, a half-sent head, and one request in the handler.
    let mut idle = Client::connect(addr);
    let mut slow = Client::connect(addr);
    slow.send(b"POST /slack/events HTTP/1.1\r\nHo");
    let mut busy = Client::connect(addr);
    busy.post("/slack/events", "{}");
    entered.recv_timeout(SOON).unwrap();
    let started = Instant::now();
    run.stop();
    assert!(idle.closed());
    assert!(slow.closed());
    assert!(started.elapsed() < Duration::from_secs(2));
    // No new connection is served.
    let refused = TcpStream::connect(addr)
        .map(|s| {
            let mut c = Client {
                stream: s,
                buf: Vec::new(),
            };
            c.stream
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let _ = c
                .stream
                .write_all(b"POST /slack/events HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
            c.response()
        })
        .ok()
        .flatten();
    assert!(refused.is_none());
    // The request in the handler is answered, with Connection: close.
    release_tx.send(()).unwrap();
    let r = busy.response().unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "late"));
    assert_eq!(r.header("connection"), Some("close"));
    let joined = Instant::now();
    run.join().unwrap();
    assert!(
        joined.elapsed() < Duration::from_secs(2),
        "{:?}",
        joined.elapsed()
    );
}

#[test]
fn a_receiver_runs_again_after_a_stop_and_start_blocks_until_stop() {
    let receiver = HttpReceiverBuilder::new("127.0.0.1:0", |_req| AppResponse::ok())
        .handle_signals(false)
        .build()
        .unwrap();
    let addr = receiver.local_addr();
    let run = receiver.spawn().unwrap();
    assert!(matches!(receiver.spawn(), Err(Error::AlreadyRunning)));
    run.stop();
    run.join().unwrap();
    std::thread::scope(|s| {
        let started = s.spawn(|| receiver.start());
        let mut c = Client::connect(addr);
        c.post("/slack/events", "{}");
        assert_eq!(c.response().unwrap().status, 200);
        receiver.stop();
        assert!(started.join().unwrap().is_ok());
    });
}

#[test]
fn join_from_the_handler_is_refused_and_stops() {
    let slot: Arc<Mutex<Option<HttpRunning>>> = Arc::new(Mutex::new(None));
    let (tx, rx) = unbounded();
    let s = slot.clone();
    let run = HttpReceiverBuilder::new("127.0.0.1:0", move |_req| {
        if let Some(run) = s.lock().unwrap().take() {
            let _ = tx.send(matches!(run.join(), Err(Error::JoinFromClientThread)));
        }
        AppResponse::ok()
    })
    .handle_signals(false)
    .spawn()
    .unwrap();
    let addr = run.local_addr();
    *slot.lock().unwrap() = Some(run);
    let mut c = Client::connect(addr);
    c.post("/slack/events", "{}");
    let r = c.response().unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(rx.recv_timeout(SOON).unwrap());
}

#[test]
fn bad_options_and_a_busy_port_are_errors() {
    let ok = |_req| AppResponse::ok();
    for b in [
        HttpReceiverBuilder::new("127.0.0.1:0", ok).paths(["slack/events"]),
        HttpReceiverBuilder::new("127.0.0.1:0", ok).path("/a?b"),
        HttpReceiverBuilder::new("127.0.0.1:0", ok).paths(Vec::<String>::new()),
        HttpReceiverBuilder::new("127.0.0.1:0", ok).max_body_bytes(0),
        HttpReceiverBuilder::new("127.0.0.1:0", ok).request_timeout(Duration::ZERO),
    ] {
        assert!(matches!(b.build(), Err(Error::Config(_))));
    }
    let first = HttpReceiverBuilder::new("127.0.0.1:0", ok).build().unwrap();
    let busy = HttpReceiverBuilder::new(&first.local_addr().to_string(), ok).build();
    match busy {
        Err(Error::Io { phase, .. }) => assert_eq!(phase, Phase::Listen),
        other => panic!("{other:?}"),
    }
}

#[test]
#[ignore = "runs in a child process of its parent test"]
fn child_sigterm_stops_start() {
    if is_child("child_sigterm_stops_start") {
        let receiver = HttpReceiverBuilder::new("127.0.0.1:0", |_req| {
            signal_hook::low_level::raise(signal_hook::consts::SIGTERM).unwrap();
            AppResponse::ok()
        })
        .build()
        .unwrap();
        let addr = receiver.local_addr();
        let client = std::thread::spawn(move || {
            let mut c = Client::connect(addr);
            c.post("/slack/events", "{}");
            c.response().map(|r| r.status)
        });
        receiver.start().expect("a signal is a graceful stop");
        assert_eq!(client.join().unwrap(), Some(200));
        println!("CHILD-STOPPED");
    }
}

#[test]
fn sigterm_stops_start_gracefully() {
    let out = run_child("child_sigterm_stops_start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-STOPPED"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
