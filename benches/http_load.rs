//! The HTTP-mode load driver (benches/http.sh; BENCHMARKS.md, "HTTP mode"): signed Slack
//! requests over loopback to any app's request URL, one JSON result line on stdout.
//!
//! ```text
//! http_load --url http://127.0.0.1:PORT/slack/events --secret S events --connections 16 --seconds 5
//! http_load --url ... --secret S commands --rate 100 --seconds 5 [--connections 400]
//! ```
//!
//! `events`: each connection POSTs `app_mention` event_callbacks back to back (keep-alive when
//! the app allows it; a new connection after each answer when it closes) for the duration;
//! counts the 200s. `commands`: `/bench` slash commands on a fixed schedule (open loop: a
//! command's latency runs from its scheduled time, so a slow app cannot hide a queue), spread
//! over a pool of connections (400 by default: Slack opens as many as it needs, so 100/s of
//! requests answered at a 2.5 s deadline must not wait for a free connection here); nearest-rank latency percentiles over every command, one never
//! answered (30 s after the last was due) or answered with another status counting as
//! infinitely late (`null`), and how many were answered within Slack's 3 s. Bodies come from the
//! fake Slack's builders (Slack's shapes), each signed at send time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use slack_rtm::testing::{sign, FakeSlack};

struct Args {
    url: String,
    secret: String,
    mode: String,
    connections: usize,
    seconds: f64,
    rate: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        secret: String::new(),
        mode: String::new(),
        connections: 0,
        seconds: 5.0,
        rate: 100.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => a.url = value()?,
            "--secret" => a.secret = value()?,
            "--connections" => a.connections = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--rate" => a.rate = value()?.parse().map_err(|e| format!("{e}"))?,
            "events" | "commands" => a.mode = arg,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.url.is_empty() || a.secret.is_empty() || a.mode.is_empty() {
        return Err("usage: http_load --url URL --secret S (events|commands) [...]".into());
    }
    if a.connections == 0 {
        a.connections = if a.mode == "events" { 16 } else { 400 };
    }
    Ok(a)
}

/// `http://host:port/path` → (address, host header, path).
fn split_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = host
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    Ok((addr, host.to_owned(), path.to_owned()))
}

/// One client connection that reconnects when the app closes it.
struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    /// Sends one request and reads its answer; the status, or `None` on a failure.
    fn exchange(&mut self, request: &[u8]) -> Option<u16> {
        for _attempt in 0..2 {
            if self.stream.is_none() {
                let s = TcpStream::connect(self.addr).ok()?;
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                self.stream = Some(s);
                self.buf.clear();
            }
            let fresh = self.buf.is_empty();
            match self.try_exchange(request) {
                Some(status) => return Some(status),
                None => {
                    self.stream = None;
                    // A kept-alive connection the app had closed: once more on a new one.
                    if !fresh {
                        return None;
                    }
                }
            }
        }
        None
    }

    fn try_exchange(&mut self, request: &[u8]) -> Option<u16> {
        let stream = self.stream.as_mut()?;
        stream.write_all(request).ok()?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut fields);
            if let Ok(httparse::Status::Complete(end)) = resp.parse(&self.buf) {
                let status = resp.code?;
                let version = resp.version.unwrap_or(1);
                let mut len = 0usize;
                let mut chunked = false;
                let mut close = version == 0;
                for h in resp.headers.iter() {
                    let v = std::str::from_utf8(h.value).unwrap_or("");
                    if h.name.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().ok()?;
                    } else if h.name.eq_ignore_ascii_case("connection") {
                        close = v.eq_ignore_ascii_case("close")
                            || (version == 0 && !v.eq_ignore_ascii_case("keep-alive"));
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                        chunked = v.eq_ignore_ascii_case("chunked");
                    }
                }
                self.buf.drain(..end);
                if chunked {
                    // Node answers chunked: size lines, data, a zero chunk, an empty trailer.
                    loop {
                        match httparse::parse_chunk_size(&self.buf) {
                            Ok(httparse::Status::Complete((used, size))) => {
                                let size = usize::try_from(size).ok()?;
                                if self.buf.len() >= used + size + 2 {
                                    self.buf.drain(..used + size + 2);
                                    if size == 0 {
                                        break;
                                    }
                                    continue;
                                }
                            }
                            Ok(httparse::Status::Partial) => {}
                            Err(_) => return None,
                        }
                        let n = stream.read(&mut chunk).ok()?;
                        if n == 0 {
                            return None;
                        }
                        self.buf.extend_from_slice(&chunk[..n]);
                    }
                } else {
                    while self.buf.len() < len {
                        let n = stream.read(&mut chunk).ok()?;
                        if n == 0 {
                            return None;
                        }
                        self.buf.extend_from_slice(&chunk[..n]);
                    }
                    self.buf.drain(..len);
                }
                if status == 100 {
                    continue;
                }
                if close {
                    self.stream = None;
                    self.buf.clear();
                }
                return Some(status);
            }
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn request(host: &str, path: &str, secret: &str, content_type: &str, body: &str) -> Vec<u8> {
    let ts = now_secs();
    let sig = sign(secret, ts, body.as_bytes());
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n\
         Accept: */*\r\nContent-Type: {content_type}\r\nX-Slack-Request-Timestamp: {ts}\r\n\
         X-Slack-Signature: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http_load: {e}");
            std::process::exit(2);
        }
    };
    let (addr, host, path) = match split_url(&args.url) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("http_load: {e}");
            std::process::exit(2);
        }
    };
    // The fake is used for its payload builders only.
    let fake = match FakeSlack::builder().start() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("http_load: cannot start the fake: {e}");
            std::process::exit(1);
        }
    };
    let duration = Duration::from_secs_f64(args.seconds);
    let result = if args.mode == "events" {
        let bodies: Arc<Vec<String>> = Arc::new(
            (0..1000)
                .map(|i| {
                    fake.event_body(json!({
                        "type": "app_mention",
                        "user": "U0FAKEUSR1",
                        "text": format!("<@U0FAKEBOT1> hello {i}"),
                        "ts": format!("1700000000.{i:06}"),
                        "channel": "C0FAKE0001",
                        "event_ts": format!("1700000000.{i:06}"),
                    }))
                })
                .collect(),
        );
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
        let started = Instant::now();
        let end = started + duration;
        let threads: Vec<_> = (0..args.connections)
            .map(|t| {
                let (bodies, ok, failed) = (bodies.clone(), ok.clone(), failed.clone());
                let statuses = statuses.clone();
                let (host, path, secret) = (host.clone(), path.clone(), args.secret.clone());
                std::thread::spawn(move || {
                    let mut conn = Conn {
                        addr,
                        stream: None,
                        buf: Vec::new(),
                    };
                    let mut i = t;
                    while Instant::now() < end {
                        let body = &bodies[i % bodies.len()];
                        i += args.connections;
                        let req = request(&host, &path, &secret, "application/json", body);
                        match conn.exchange(&req) {
                            Some(200) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            other => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                let key = other.map_or("no answer".to_owned(), |s| s.to_string());
                                *statuses
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .entry(key)
                                    .or_default() += 1;
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let ok = ok.load(Ordering::Relaxed);
        json!({
            "mode": "events",
            "connections": args.connections,
            "seconds": elapsed,
            "ok": ok,
            "failed": failed.load(Ordering::Relaxed),
            "failed_statuses": *statuses.lock().unwrap_or_else(|e| e.into_inner()),
            "per_second": ok as f64 / elapsed,
        })
    } else {
        let n = (args.rate * args.seconds).round() as usize;
        let bodies: Vec<String> = (0..n)
            .map(|i| fake.slash_command_body("/bench", &format!("run {i}")))
            .collect();
        let queue = Arc::new(Mutex::new(bodies.into_iter().enumerate()));
        let latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now() + Duration::from_millis(100);
        let gap = Duration::from_secs_f64(1.0 / args.rate);
        let threads: Vec<_> = (0..args.connections)
            .map(|_| {
                let (queue, latencies, failed, stop) = (
                    queue.clone(),
                    latencies.clone(),
                    failed.clone(),
                    stop.clone(),
                );
                let (host, path, secret) = (host.clone(), path.clone(), args.secret.clone());
                std::thread::spawn(move || {
                    let mut conn = Conn {
                        addr,
                        stream: None,
                        buf: Vec::new(),
                    };
                    while !stop.load(Ordering::Relaxed) {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((i, body)) = next else { return };
                        let due = started + gap * u32::try_from(i).unwrap_or(u32::MAX);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        let req = request(
                            &host,
                            &path,
                            &secret,
                            "application/x-www-form-urlencoded",
                            &body,
                        );
                        match conn.exchange(&req) {
                            Some(200) => latencies
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(due.elapsed()),
                            _ => {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        // Answers still missing 30 s after the last command was due count as unanswered
        // (infinitely late); their threads are left to the process exit.
        let give_up = started + duration + Duration::from_secs(30);
        for t in threads {
            while !t.is_finished() && Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        stop.store(true, Ordering::Relaxed);
        let mut lat = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
        lat.sort();
        let failed = failed.load(Ordering::Relaxed);
        let ok = lat.len();
        let unanswered = n.saturating_sub(ok + usize::try_from(failed).unwrap_or(0));
        // Nearest rank over every command, a failed or unanswered one being infinitely late.
        let rank = |p: f64| -> Value {
            let i = ((n as f64 * p).ceil() as usize).clamp(1, n.max(1)) - 1;
            lat.get(i)
                .map_or(Value::Null, |d| Value::from(d.as_secs_f64() * 1000.0))
        };
        json!({
            "mode": "commands",
            "rate": args.rate,
            "seconds": args.seconds,
            "connections": args.connections,
            "ok": ok,
            "failed": failed,
            "unanswered": unanswered,
            "within_3s": lat.iter().filter(|d| **d <= Duration::from_secs(3)).count(),
            "p50_ms": rank(0.50),
            "p99_ms": rank(0.99),
            "max_ms": rank(1.0),
        })
    };
    println!("{result}");
}
