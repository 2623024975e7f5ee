//! End-to-end benchmark of the client against the fake Slack in its own process
//! (`slack-rtm serve --bench`, spawned here). See BENCHMARKS.md for the definitions.
//!
//! ```text
//! cargo build --profile profiling --bin slack-rtm --example bench
//! target/profiling/examples/bench                    # full: 1M events per flood
//! target/profiling/examples/bench --events 100000    # quick (~1 min)
//! ```
//!
//! It measures, in this order: idle CPU, threads and RSS over `--idle-secs` right after
//! `hello`; the handler→send round trip (`!rtt`, back to back, then `--rtt-gap-us` apart); a flood of small, then large `message`
//! events; the peak RSS; and (unless `--no-ceiling`) the single-thread in-memory
//! decode + parse ceiling on the same events. It prints a summary, then one `RESULT <json>`
//! line with the same fields as the peer clients in `benches/peers/`.
//!
//! `--tls` runs the same over HTTPS/WSS: the server is `slack-rtm serve --bench --tls` and every
//! client trusts the CA it prints (`SLACK_CA_FILE`; the library through
//! `RtmClientBuilder::root_certificate`).
//!
//! `--clients N` measures many clients instead: N `RtmClient`s in this process, each connected
//! to the (one) fake and idle; it reports the RSS, threads and idle CPU they add, per client.
//!
//! `--client raw` runs a minimal single-thread tungstenite + `serde_json::Value` client
//! instead of the library: the end-to-end ceiling of a one-thread design in this setup, and the
//! round-trip floor. `--client sink` only decodes frames (no JSON parse for `message`
//! events): what the fake server and loopback can deliver at most.

#[path = "../benches/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde_json::{json, Value};
use slack_rtm::{Payload, RtmClient, Running};
use tungstenite::Message;

const TOKEN: &str = "xoxb-bench-token";

const USAGE: &str = "\
Usage: bench [flags]

Flags:
  --server PATH      the slack-rtm binary (default: ../slack-rtm next to this program)
  --client C         slack-rtm (default); raw (tungstenite + serde_json, one thread);
                     sink (tungstenite decode only: the server's limit)
  --events N         events per flood (default 1000000; 100000 is a quick run)
  --sizes LIST       floods to run, in order (default small,large,slack-small,slack-large,
                     then each of them -ignored; slack-*: a message in Slack's key order,
                     `client_msg_id` first, with blocks; the *-ignored floods carry the same
                     bytes under a type no handler takes)
  --rtt N            round trips (default 2000)
  --rtt-gap-us US    pause between round trips in the second series (default 1000;
                     the first series is back to back)
  --idle-secs S      idle window for CPU and RSS (default 10)
  --stall-secs S     give a flood up after S seconds without progress (default 10)
  --no-ceiling       skip the in-memory decode + parse ceiling
  --channel-capacity N   the library's reader→dispatcher queue, in socket reads
                     (RtmClientBuilder::channel_capacity; default: the library's)
  --tls              HTTPS/WSS: run `serve --bench --tls` and trust the CA it prints
                     (SLACK_CA_FILE) in every client
  --ca-file PEM      with --tls: trust this CA instead (for a server made elsewhere: --url)
  --system-store     with --tls: trust the CA as a bot does, through the default trust store
                     (SSL_CERT_FILE = the system bundle plus the CA, in a temporary file)
                     instead of RtmClientBuilder::root_certificate
  --url URL          use this running server's API URL instead of spawning one (its
                     bench commands are then unavailable: only --clients works)
  --clients N        many-clients mode: N slack-rtm clients connected and idle in this
                     process; reports RSS, threads and idle CPU per client (ws, or TLS
                     with --tls); the flood and round-trip flags are ignored
  --connect-secs S   many-clients mode: give up if not all N said hello within S s (default 180)
  -h, --help         show this help";

struct Args {
    server: Option<String>,
    client: String,
    events: u64,
    sizes: Vec<String>,
    rtt: u64,
    rtt_gap_us: u64,
    idle_secs: u64,
    stall_secs: u64,
    ceiling: bool,
    channel_capacity: Option<usize>,
    tls: bool,
    ca_file: Option<String>,
    system_store: bool,
    url: Option<String>,
    clients: Option<u64>,
    connect_secs: u64,
}

/// Every flood, handled ones first: `common::SIZES`, then each of them `-ignored`.
fn all_sizes() -> Vec<String> {
    let handled = common::SIZES.map(String::from);
    let ignored = common::SIZES.map(|s| format!("{s}-ignored"));
    handled.into_iter().chain(ignored).collect()
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut a = Args {
        server: None,
        client: "slack-rtm".into(),
        events: 1_000_000,
        sizes: all_sizes(),
        rtt: 2000,
        rtt_gap_us: 1000,
        idle_secs: 10,
        stall_secs: 10,
        ceiling: true,
        channel_capacity: None,
        tls: false,
        ca_file: None,
        system_store: false,
        url: None,
        clients: None,
        connect_secs: 180,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} needs a number, got {v:?}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--server" => a.server = Some(value()?),
            "--client" => {
                a.client = value()?;
                if !["slack-rtm", "raw", "sink"].contains(&a.client.as_str()) {
                    return Err(format!(
                        "--client must be slack-rtm, raw or sink, got {:?}",
                        a.client
                    ));
                }
            }
            "--events" => a.events = number(value()?)?.max(1),
            "--sizes" => {
                a.sizes = value()?.split(',').map(str::to_string).collect();
                let known = all_sizes();
                if let Some(bad) = a.sizes.iter().find(|s| !known.contains(s)) {
                    return Err(format!("--sizes takes {}, got {bad:?}", known.join(", ")));
                }
            }
            "--rtt" => a.rtt = number(value()?)?,
            "--rtt-gap-us" => a.rtt_gap_us = number(value()?)?,
            "--idle-secs" => a.idle_secs = number(value()?)?,
            "--stall-secs" => a.stall_secs = number(value()?)?.max(1),
            "--no-ceiling" => a.ceiling = false,
            "--channel-capacity" => a.channel_capacity = Some(number(value()?)?.max(1) as usize),
            "--tls" => a.tls = true,
            "--ca-file" => a.ca_file = Some(value()?),
            "--system-store" => a.system_store = true,
            "--url" => a.url = Some(value()?),
            "--clients" => a.clients = Some(number(value()?)?.max(1)),
            "--connect-secs" => a.connect_secs = number(value()?)?.max(1),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    if a.ca_file.is_some() && !a.tls {
        return Err("--ca-file needs --tls".into());
    }
    if a.system_store && (!a.tls || a.client != "slack-rtm") {
        return Err("--system-store needs --tls and the slack-rtm client".into());
    }
    if a.url.is_some() && a.clients.is_none() {
        return Err(
            "--url works only with --clients (the floods need serve --bench's stdin)".into(),
        );
    }
    if a.clients.is_some() && a.client != "slack-rtm" {
        return Err("--clients measures slack-rtm clients only".into());
    }
    Ok(Some(a))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(1)
        }
    }
}

// ----- the fake Slack, in its own process -----

/// `slack-rtm serve --bench`, killed (by pid) when dropped.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    url: String,
    /// With `--tls`: the CA certificate the server printed (`SLACK_CA_FILE`), PEM.
    ca_pem: Option<Vec<u8>>,
}

impl Server {
    fn spawn(path: &str, tls: bool) -> Result<Server, String> {
        let mut serve_args = vec!["serve", "--bench"];
        if tls {
            serve_args.push("--tls");
        }
        let mut child = Command::new(path)
            .args(&serve_args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {path:?}: {e} (build it: cargo build --profile profiling --bin slack-rtm)"
                )
            })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("bench-server-out".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        let mut server = Server {
            child,
            stdin,
            lines,
            url: String::new(),
            ca_pem: None,
        };
        let first = server
            .lines
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the server printed no SLACK_API_URL line within 10 s".to_string())?;
        server.url = first
            .strip_prefix("SLACK_API_URL=")
            .ok_or_else(|| format!("unexpected first server line {first:?}"))?
            .to_string();
        if tls {
            let second = server
                .lines
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| "the server printed no SLACK_CA_FILE line within 10 s".to_string())?;
            let path = second
                .strip_prefix("SLACK_CA_FILE=")
                .ok_or_else(|| format!("unexpected second server line {second:?}"))?;
            server.ca_pem = Some(
                std::fs::read(path)
                    .map_err(|e| format!("cannot read the CA file {path:?}: {e}"))?,
            );
        }
        Ok(server)
    }

    /// Sends a `!` command and waits for its `BENCH` answer.
    fn command(&mut self, cmd: &str, timeout: Duration) -> Result<Value, String> {
        let stdin = self.stdin.as_mut().ok_or("the server's stdin is closed")?;
        writeln!(stdin, "{cmd}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot write to the server: {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|_| format!("no answer to {cmd:?} within {timeout:?}"))?;
            if let Some(answer) = line.strip_prefix("BENCH ") {
                let v: Value = serde_json::from_str(answer).map_err(|e| e.to_string())?;
                if v["cmd"] == "error" {
                    return Err(format!("the server refused {cmd:?}: {}", v["message"]));
                }
                return Ok(v);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // EOF on stdin stops a --bench server; kill it if it is still there after 2 s.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- the client under test -----

/// What the handlers share with the driver.
struct Counters {
    /// `message` events counted since the last reset.
    count: AtomicU64,
    /// Bytes of `text` read by the handler (a checksum that the handler really read).
    touched: AtomicU64,
    /// The count at which `done_at` is stamped and `done` signalled.
    target: AtomicU64,
    done_at: Mutex<Option<Instant>>,
    done: Sender<()>,
    hello: Sender<()>,
}

impl Counters {
    fn on_message(&self, event: &Value) {
        self.counted(common::touch(event));
    }

    fn counted(&self, touched: usize) {
        self.touched.fetch_add(touched as u64, Ordering::Relaxed);
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.target.load(Ordering::Relaxed) {
            *self.done_at.lock().unwrap() = Some(Instant::now());
            let _ = self.done.try_send(());
        }
    }

    /// `bench_flood_done` after an ignored flood: all `n` frames before it were read.
    fn finished(&self, n: u64) {
        self.count.store(n, Ordering::SeqCst);
        if n == self.target.load(Ordering::Relaxed) {
            *self.done_at.lock().unwrap() = Some(Instant::now());
            let _ = self.done.try_send(());
        }
    }

    fn reset(&self, target: u64) {
        self.target.store(u64::MAX, Ordering::SeqCst);
        self.count.store(0, Ordering::SeqCst);
        self.touched.store(0, Ordering::SeqCst);
        *self.done_at.lock().unwrap() = None;
        self.target.store(target, Ordering::SeqCst);
    }
}

/// The reply to a round-trip probe.
fn typing_reply(probe: &Value) -> Value {
    json!({"type": "typing", "channel": probe["channel"], "seq": probe["seq"]})
}

enum Client {
    Library(Running),
    Raw {
        stop: Arc<AtomicBool>,
        thread: JoinHandle<()>,
    },
}

impl Client {
    fn start(
        args: &Args,
        api_url: &str,
        ca_pem: Option<&[u8]>,
        counters: &Arc<Counters>,
    ) -> Result<Client, String> {
        if args.client != "slack-rtm" {
            return start_raw(api_url, ca_pem, counters.clone(), args.client == "raw");
        }
        let mut builder = RtmClient::builder(TOKEN)
            .base_url(api_url)
            .handle_signals(false);
        if let Some(pem) = ca_pem {
            builder = builder.root_certificate(pem);
        }
        if let Some(n) = args.channel_capacity {
            builder = builder.channel_capacity(n);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let k = counters.clone();
        client.on("hello", move |_p: &Payload| {
            let _ = k.hello.try_send(());
        });
        let k = counters.clone();
        client.on("message", move |p: &Payload| k.on_message(p.data));
        let k = counters.clone();
        client.on("bench_flood_done", move |p: &Payload| {
            k.finished(p.data["n"].as_u64().unwrap_or(0))
        });
        client.on("user_typing", |p: &Payload| {
            if let Err(e) = p.rtm_client.send_over_websocket(typing_reply(p.data)) {
                eprintln!("bench: the round-trip answer was not sent: {e}");
            }
        });
        client
            .spawn()
            .map(Client::Library)
            .map_err(|e| e.to_string())
    }

    fn stop(self) {
        match self {
            Client::Library(running) => {
                running.stop();
                if let Err(e) = running.join() {
                    eprintln!("bench: the client ended with {e}");
                }
            }
            Client::Raw { stop, thread } => {
                stop.store(true, Ordering::SeqCst);
                let _ = thread.join();
            }
        }
    }
}

/// One thread: `rtm.connect`, then blocking tungstenite reads, `Value` parse, the same handlers.
/// Without `parse`, `message` events are only counted (recognised by their first bytes).
fn start_raw(
    api_url: &str,
    ca_pem: Option<&[u8]>,
    counters: Arc<Counters>,
    parse: bool,
) -> Result<Client, String> {
    let mut config = ureq::Agent::config_builder();
    if let Some(pem) = ca_pem {
        let ca = ureq::tls::Certificate::from_pem(pem).map_err(|e| e.to_string())?;
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
                .build(),
        );
    }
    let agent: ureq::Agent = config.build().into();
    let answer: Value = agent
        .get(format!("{api_url}rtm.connect"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_json()
        .map_err(|e| e.to_string())?;
    let url = answer["url"]
        .as_str()
        .ok_or("rtm.connect gave no url")?
        .to_string();
    let (tls, rest) = if let Some(rest) = url.strip_prefix("wss://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("ws://") {
        (false, rest)
    } else {
        return Err(format!("not a ws:// or wss:// url: {url}"));
    };
    let addr = rest.split('/').next().unwrap_or(rest);
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_nodelay(true).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let spawn = |f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name("raw-client".into())
            .spawn(f)
            .map_err(|e| e.to_string())
    };
    let thread = if tls {
        let mut connector = native_tls::TlsConnector::builder();
        if let Some(pem) = ca_pem {
            connector.add_root_certificate(
                native_tls::Certificate::from_pem(pem).map_err(|e| e.to_string())?,
            );
        }
        let connector = connector.build().map_err(|e| e.to_string())?;
        let stream = connector
            .connect(host, sock)
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let (ws, _) = tungstenite::client::client(url.as_str(), stream)
            .map_err(|e| format!("websocket handshake: {e}"))?;
        spawn(Box::new(move || raw_loop(ws, &stopping, &counters, parse)))?
    } else {
        let (ws, _) = tungstenite::client::client(url.as_str(), sock)
            .map_err(|e| format!("websocket handshake: {e}"))?;
        spawn(Box::new(move || raw_loop(ws, &stopping, &counters, parse)))?
    };
    Ok(Client::Raw { stop, thread })
}

/// The raw client's one thread: read, parse, answer, until `stopping`.
fn raw_loop<S: Read + Write>(
    mut ws: tungstenite::WebSocket<S>,
    stopping: &AtomicBool,
    counters: &Counters,
    parse: bool,
) {
    while !stopping.load(Ordering::Relaxed) {
        let text = match ws.read() {
            Ok(Message::Text(t)) => t,
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return,
        };
        // The sink tells the flood events apart by their first bytes (`type` first, or third
        // after Slack's `client_msg_id` and `suppress_notification`), never parsing them.
        let head = text.as_bytes().get(..120).unwrap_or(text.as_bytes());
        let slack = text.starts_with(r#"{"client_msg_id""#);
        let has = |what: &[u8]| head.windows(what.len()).any(|w| w == what);
        if !parse
            && (text.starts_with(r#"{"type":"message""#) || slack && has(b"\"type\":\"message\""))
        {
            counters.counted(0);
            continue;
        }
        if !parse
            && (text.starts_with(r#"{"type":"ignored""#) || slack && has(b"\"type\":\"ignored\""))
        {
            continue;
        }
        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        match event["type"].as_str() {
            Some("message") => counters.on_message(&event),
            Some("bench_flood_done") => counters.finished(event["n"].as_u64().unwrap_or(0)),
            Some("hello") => {
                let _ = counters.hello.try_send(());
            }
            Some("user_typing") => {
                let reply = Message::text(typing_reply(&event).to_string());
                if ws.send(reply).is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
    let _ = ws.close(None);
    let _ = ws.flush();
}

// ----- process measurements (Linux /proc) -----

/// Sets the CPU affinity of every thread of `pids` (`taskset -a -p -c CPUS PID`); false (with a
/// note) when taskset is missing or refuses.
fn set_affinity(pids: &[u32], cpus: &str) -> bool {
    pids.iter().all(|pid| {
        let ok = Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &pid.to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("bench: taskset -a -p -c {cpus} {pid} failed; skipping the pinned series");
        }
        ok
    })
}

/// utime + stime of this process from /proc/self/stat, in ms (USER_HZ = 100: 10 ms steps).
fn cpu_ticks_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file; `after` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 * 10.0)
}

/// CPU time of all live threads from /proc/self/task/*/schedstat, in ms (ns precision).
fn cpu_sched_ms() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let s = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        ns += s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(ns as f64 / 1e6)
}

/// A `/proc/self/status` field's number (kB for the Vm* fields).
fn status(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A `/proc/self/smaps_rollup` field's number (kB).
fn rollup(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}

// ----- the run -----

struct Flood {
    /// This process's CPU time over the flood (utime + stime: 10 ms ticks, dead threads too).
    cpu_ms: Option<f64>,
    done: u64,
    secs: f64,
    eps: f64,
    touched: u64,
    stalled: bool,
}

fn flood(
    server: &mut Server,
    counters: &Counters,
    done: &Receiver<()>,
    n: u64,
    size: &str,
    stall: Duration,
) -> Result<Flood, String> {
    while done.try_recv().is_ok() {}
    counters.reset(n);
    let cpu0 = cpu_ticks_ms();
    let started = Instant::now();
    server.command(&format!("!flood {n} {size}"), Duration::from_secs(10))?;
    let mut last = (0, Instant::now());
    let stalled = loop {
        match done.recv_timeout(Duration::from_millis(500)) {
            Ok(()) => break false,
            Err(RecvTimeoutError::Disconnected) => return Err("the counters went away".into()),
            Err(RecvTimeoutError::Timeout) => {
                let now = counters.count.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() >= stall {
                    break true;
                }
            }
        }
    };
    let count = counters.count.load(Ordering::SeqCst);
    let end = counters.done_at.lock().unwrap().unwrap_or(last.1);
    let secs = end.duration_since(started).as_secs_f64();
    let cpu_ms = match (cpu0, cpu_ticks_ms()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(Flood {
        cpu_ms,
        done: count,
        secs,
        eps: count as f64 / secs,
        touched: counters.touched.load(Ordering::SeqCst),
        stalled,
    })
}

fn default_server() -> String {
    // target/<profile>/examples/bench → target/<profile>/slack-rtm
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("slack-rtm")))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "slack-rtm".into())
}

fn run(args: &Args) -> Result<(), String> {
    if let Some(n) = args.clients {
        return run_many(args, n);
    }
    let server_path = args.server.clone().unwrap_or_else(default_server);
    let mut server = Server::spawn(&server_path, args.tls)?;
    let ca_pem = match &args.ca_file {
        Some(path) => Some(read_ca(path)?),
        None => server.ca_pem.clone(),
    };
    let _store = system_store(args, &mut ca_pem.clone())?;
    let ca_pem = if args.system_store { None } else { ca_pem };
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let (hello_tx, hello_rx) = crossbeam_channel::bounded(1);
    let counters = Arc::new(Counters {
        count: AtomicU64::new(0),
        touched: AtomicU64::new(0),
        target: AtomicU64::new(u64::MAX),
        done_at: Mutex::new(None),
        done: done_tx,
        hello: hello_tx,
    });
    let client = Client::start(args, &server.url, ca_pem.as_deref(), &counters)?;
    let result = measure(args, &mut server, &counters, &done_rx, &hello_rx);
    client.stop();
    drop(server);
    let mut result = result?;

    if args.ceiling {
        let n = args.events.min(1_000_000) as usize;
        let mut bases: Vec<&str> = args
            .sizes
            .iter()
            .map(|s| s.trim_end_matches("-ignored"))
            .collect();
        bases.dedup();
        bases.sort();
        bases.dedup();
        for size in bases {
            let (eps, cpu) = common::ceiling(common::event(size), n);
            result[format!("ceiling_{size}_eps")] = json!(eps.round());
            result[format!("ceiling_{size}_cpu_us_per_event")] =
                json!(cpu.map(|us| (us * 1000.0).round() / 1000.0));
        }
    }
    print_summary(&result);
    println!("RESULT {result}");
    Ok(())
}

fn measure(
    args: &Args,
    server: &mut Server,
    counters: &Counters,
    done: &Receiver<()>,
    hello: &Receiver<()>,
) -> Result<Value, String> {
    hello
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "no hello within 10 s".to_string())?;
    let mut r = json!({
        "client": match args.client.as_str() {
            "raw" => "raw tungstenite+serde_json (1 thread)",
            "sink" => "sink: tungstenite decode only (1 thread)",
            _ => "slack-rtm",
        },
        "events": args.events,
        "tls": args.tls,
    });

    // Idle: right after hello, settled for a second.
    std::thread::sleep(Duration::from_secs(1));
    let (ticks0, sched0) = (cpu_ticks_ms(), cpu_sched_ms());
    std::thread::sleep(Duration::from_secs(args.idle_secs));
    let (ticks1, sched1) = (cpu_ticks_ms(), cpu_sched_ms());
    r["idle_secs"] = json!(args.idle_secs);
    if let (Some(a), Some(b)) = (ticks0, ticks1) {
        r["idle_cpu_ticks_ms"] = json!(b - a);
    }
    if let (Some(a), Some(b)) = (sched0, sched1) {
        r["idle_cpu_ms"] = json!(((b - a) * 100.0).round() / 100.0);
    }
    r["rss_idle_kb"] = json!(status("VmRSS"));
    // What the idle RSS is: the process's own memory, and pages of mapped files (the binary,
    // libc, OpenSSL's libraries), most of them shared with every process that maps the file.
    r["rss_idle_anon_kb"] = json!(rollup("Anonymous"));
    r["rss_idle_shared_file_kb"] = json!(rollup("Shared_Clean"));
    let names = thread_names();
    r["threads_total"] = json!(names.len());
    // main and bench-server-out are the harness's.
    r["threads_harness"] = json!(2);
    r["threads_lib"] = json!(names.iter().filter(|n| n.starts_with("rtm-")).count());
    r["thread_names"] = json!(names);

    // Warm-up, then the round trips.
    flood(
        server,
        counters,
        done,
        10_000,
        "small",
        Duration::from_secs(10),
    )?;
    // Three series: both processes on one CPU, back to back (`rtt_1cpu_*`); unpinned, back to
    // back (`rtt_b2b_*`); unpinned, `--rtt-gap-us` apart (`rtt_*`).
    let all_cpus = format!(
        "0-{}",
        std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
    );
    let pids = [std::process::id(), server.child.id()];
    for (prefix, gap_us, pinned) in [
        ("rtt_1cpu", 0, true),
        ("rtt_b2b", 0, false),
        ("rtt", args.rtt_gap_us, false),
    ] {
        if args.rtt == 0 {
            break;
        }
        if pinned && !set_affinity(&pids, "0") {
            continue;
        }
        let timeout = Duration::from_secs(30) + Duration::from_micros(gap_us) * 2 * args.rtt as u32;
        let rtt = server.command(&format!("!rtt {} {gap_us}", args.rtt), timeout);
        if pinned && !set_affinity(&pids, &all_cpus) {
            return Err("cannot undo the CPU pinning".into());
        }
        let rtt = rtt?;
        for key in [
            "n", "done", "timeouts", "gap_us", "min_us", "p50_us", "p90_us", "p99_us", "max_us",
            "mean_us",
        ] {
            r[format!("{prefix}_{key}")] = rtt[key].clone();
        }
    }

    for size in &args.sizes {
        let stall = Duration::from_secs(args.stall_secs);
        let f = flood(server, counters, done, args.events, size, stall)?;
        let ignored = size.ends_with("-ignored");
        let base = size.trim_end_matches("-ignored");
        let expected =
            args.events * common::touch(&serde_json::from_str(common::event(base)).unwrap()) as u64;
        r[format!("{size}_done")] = json!(f.done);
        r[format!("{size}_secs")] = json!((f.secs * 1000.0).round() / 1000.0);
        r[format!("{size}_eps")] = json!(f.eps.round());
        r[format!("{size}_stalled")] = json!(f.stalled);
        r[format!("{size}_cpu_us_per_event")] = match f.cpu_ms {
            Some(ms) if f.done > 0 => json!((ms * 1e6 / f.done as f64).round() / 1000.0),
            _ => Value::Null,
        };
        r[format!("{size}_read_ok")] = if args.client == "sink" || ignored {
            Value::Null
        } else {
            json!(f.stalled || f.touched == expected)
        };
        if f.stalled {
            eprintln!(
                "bench: the {size} flood stalled after {} of {} events",
                f.done, args.events
            );
            break;
        }
    }
    r["rss_peak_kb"] = json!(status("VmHWM"));
    r["rss_after_kb"] = json!(status("VmRSS"));
    r["threads_after"] = json!(status("Threads"));
    Ok(r)
}

/// The temporary trust store of `--system-store`, removed when dropped.
struct Store(std::path::PathBuf);

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// With `--system-store`: writes the system bundle plus the CA to a temporary file and points
/// `SSL_CERT_FILE` (OpenSSL's default store, read when a TLS context is made) at it.
fn system_store(args: &Args, ca_pem: &mut Option<Vec<u8>>) -> Result<Option<Store>, String> {
    if !args.system_store {
        return Ok(None);
    }
    let system = std::env::var("SSL_CERT_FILE")
        .unwrap_or_else(|_| "/etc/ssl/certs/ca-certificates.crt".into());
    let mut bundle =
        std::fs::read(&system).map_err(|e| format!("the system bundle {system}: {e}"))?;
    bundle.push(b'\n');
    bundle.extend(ca_pem.take().ok_or("--system-store: no CA to trust")?);
    let path = std::env::temp_dir().join(format!("bench-store-{}.pem", std::process::id()));
    std::fs::write(&path, bundle).map_err(|e| format!("{}: {e}", path.display()))?;
    // Before any client exists: nothing reads the environment concurrently.
    std::env::set_var("SSL_CERT_FILE", &path);
    Ok(Some(Store(path)))
}

fn read_ca(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the CA file {path:?}: {e}"))
}

// ----- many clients in one process -----

/// CPU time (ns) of this process's threads other than the main thread and the harness's
/// server-output reader: the clients' threads. Leaving the main thread out keeps the cost of
/// reading thousands of schedstat files out of the window it measures.
fn clients_cpu_ns() -> u64 {
    let me = std::process::id().to_string();
    let mut ns = 0;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for task in dir.flatten() {
        if task.file_name().to_string_lossy() == me {
            continue;
        }
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "bench-server-out" {
            continue;
        }
        let s = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        ns += s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    ns
}

/// A `/proc/PID/status` field's number (kB for the Vm* fields).
fn status_of(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `--clients N`: N clients connected to one fake and idle; what each adds to this process.
fn run_many(args: &Args, n: u64) -> Result<(), String> {
    let mut server = match &args.url {
        Some(_) => None,
        None => {
            let path = args.server.clone().unwrap_or_else(default_server);
            Some(Server::spawn(&path, args.tls)?)
        }
    };
    let url = match (&args.url, &server) {
        (Some(u), _) => u.clone(),
        (None, Some(s)) => s.url.clone(),
        (None, None) => unreachable!("a server is spawned when --url is absent"),
    };
    let ca_pem = match (&args.ca_file, &server) {
        (Some(path), _) => Some(read_ca(path)?),
        (None, Some(s)) => s.ca_pem.clone(),
        (None, None) => None,
    };
    let _store = system_store(args, &mut ca_pem.clone())?;
    let ca_pem = if args.system_store { None } else { ca_pem };
    if args.tls != url.starts_with("https://") {
        return Err(format!("--tls and the server's URL disagree: {url}"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = status("VmRSS");
    let threads_before = status("Threads");

    let (hello_tx, hello_rx) = crossbeam_channel::unbounded();
    let mut running = Vec::with_capacity(n as usize);
    let started = Instant::now();
    let mut failure = None;
    for i in 0..n {
        let mut builder = RtmClient::builder(TOKEN)
            .base_url(&url)
            .handle_signals(false);
        if let Some(pem) = &ca_pem {
            builder = builder.root_certificate(pem);
        }
        let client = match builder.build() {
            Ok(c) => c,
            Err(e) => {
                failure = Some(format!("client {i}: build: {e}"));
                break;
            }
        };
        let tx = hello_tx.clone();
        let seen = AtomicBool::new(false);
        client.on("hello", move |_p: &Payload| {
            // A reconnect says hello again: count each client once.
            if !seen.swap(true, Ordering::SeqCst) {
                let _ = tx.send(());
            }
        });
        match client.spawn() {
            Ok(r) => running.push(r),
            Err(e) => {
                failure = Some(format!("client {i}: start: {e}"));
                break;
            }
        }
    }
    let deadline = started + Duration::from_secs(args.connect_secs);
    let mut hellos = 0u64;
    while failure.is_none() && hellos < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match hello_rx.recv_timeout(left) {
            Ok(()) => hellos += 1,
            Err(_) => {
                failure = Some(format!(
                    "only {hellos} of {n} clients said hello within {} s",
                    args.connect_secs
                ))
            }
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let mut r = json!({
        "mode": "clients",
        "client": "slack-rtm",
        "tls": args.tls,
        "clients": n,
        "connected": hellos,
        "connect_secs": (connect_secs * 1000.0).round() / 1000.0,
        "rss_before_kb": rss_before,
        "threads_before": threads_before,
    });
    let measured = if failure.is_none() {
        // Settled: every connection's first ping exchanged, start-up garbage returned.
        std::thread::sleep(Duration::from_secs(1));
        let (ticks0, cpu0) = (cpu_ticks_ms(), clients_cpu_ns());
        std::thread::sleep(Duration::from_secs(args.idle_secs));
        let (ticks1, cpu1) = (cpu_ticks_ms(), clients_cpu_ns());
        let rss_after = status("VmRSS");
        let threads_after = status("Threads");
        let names = thread_names();
        let idle_ms = (cpu1.saturating_sub(cpu0)) as f64 / 1e6;
        r["idle_secs"] = json!(args.idle_secs);
        r["idle_cpu_ms"] = json!((idle_ms * 100.0).round() / 100.0);
        if let (Some(a), Some(b)) = (ticks0, ticks1) {
            r["idle_cpu_ticks_ms"] = json!(b - a);
        }
        // Per 100 clients, per 10 s.
        let per100 = idle_ms * (100.0 / n as f64) * (10.0 / args.idle_secs.max(1) as f64);
        r["idle_cpu_ms_per_10s_per_100"] = json!((per100 * 100.0).round() / 100.0);
        r["rss_after_kb"] = json!(rss_after);
        if let (Some(a), Some(b)) = (rss_before, rss_after) {
            r["rss_per_client_kb"] =
                json!(((b as f64 - a as f64) / n as f64 * 10.0).round() / 10.0);
        }
        r["threads_after"] = json!(threads_after);
        if let (Some(a), Some(b)) = (threads_before, threads_after) {
            r["threads_per_client"] =
                json!(((b as f64 - a as f64) / n as f64 * 100.0).round() / 100.0);
        }
        r["threads_lib"] = json!(names.iter().filter(|t| t.starts_with("rtm-")).count());
        if let Some(s) = server.as_mut() {
            r["server_rss_kb"] = json!(status_of(s.child.id(), "VmRSS"));
            r["server_threads"] = json!(status_of(s.child.id(), "Threads"));
            match s.command("!clients", Duration::from_secs(10)) {
                Ok(v) => r["server_open"] = v["open"].clone(),
                Err(e) => eprintln!("bench: {e}"),
            }
        }
        Ok(())
    } else {
        Err(failure.clone().unwrap_or_default())
    };

    let stopping = Instant::now();
    for c in &running {
        c.stop();
    }
    for c in running {
        if let Err(e) = c.join() {
            eprintln!("bench: a client ended with {e}");
        }
    }
    r["stop_secs"] = json!((stopping.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
    drop(server);
    measured?;
    print_many_summary(&r);
    println!("RESULT {r}");
    Ok(())
}

fn print_many_summary(r: &Value) {
    let f = |k: &str| match &r[k] {
        Value::Null => "-".to_string(),
        v => v.to_string(),
    };
    println!(
        "clients:           {} slack-rtm over {} ({} said hello in {} s)",
        f("clients"),
        if r["tls"] == true { "wss://" } else { "ws://" },
        f("connected"),
        f("connect_secs")
    );
    println!(
        "RSS:               {} kB before, {} kB after: {} kB per client (target <= 256)",
        f("rss_before_kb"),
        f("rss_after_kb"),
        f("rss_per_client_kb")
    );
    println!(
        "threads:           {} before, {} after: {} per client (target <= 3; {} rtm-*)",
        f("threads_before"),
        f("threads_after"),
        f("threads_per_client"),
        f("threads_lib")
    );
    println!(
        "idle CPU:          {} ms in {} s for all: {} ms per 10 s per 100 clients (target <= 10)",
        f("idle_cpu_ms"),
        f("idle_secs"),
        f("idle_cpu_ms_per_10s_per_100")
    );
    println!(
        "fake server:       {} open websockets, {} kB RSS, {} threads; stop took {} s",
        f("server_open"),
        f("server_rss_kb"),
        f("server_threads"),
        f("stop_secs")
    );
}

fn print_summary(r: &Value) {
    let f = |k: &str| match &r[k] {
        Value::Null => "-".to_string(),
        v => v.to_string(),
    };
    println!("client:            {}", r["client"].as_str().unwrap_or("?"));
    for size in all_sizes() {
        if !r[format!("{size}_eps")].is_null() {
            println!(
                "flood {size:19}: {} events/s ({} of {} events in {} s, {} us CPU per event{})",
                f(&format!("{size}_eps")),
                f(&format!("{size}_done")),
                f("events"),
                f(&format!("{size}_secs")),
                f(&format!("{size}_cpu_us_per_event")),
                if r[format!("{size}_stalled")] == true {
                    ", STALLED"
                } else {
                    ""
                }
            );
        }
        if !r[format!("ceiling_{size}_eps")].is_null() {
            println!(
                "ceiling {size:17}: {} events/s (in memory, 1 thread; {} us CPU per event)",
                f(&format!("ceiling_{size}_eps")),
                f(&format!("ceiling_{size}_cpu_us_per_event"))
            );
        }
    }
    for prefix in ["rtt_1cpu", "rtt_b2b", "rtt"] {
        let k = |key: &str| f(&format!("{prefix}_{key}"));
        println!(
            "round trip:        p50 {} us, p90 {} us, p99 {} us, max {} us ({} of {}, gap {} us{})",
            k("p50_us"),
            k("p90_us"),
            k("p99_us"),
            k("max_us"),
            k("done"),
            k("n"),
            k("gap_us"),
            if prefix == "rtt_1cpu" {
                ", one CPU"
            } else {
                ""
            }
        );
    }
    println!(
        "idle CPU:          {} ms per {} s (schedstat; /proc/self/stat ticks: {} ms)",
        f("idle_cpu_ms"),
        f("idle_secs"),
        f("idle_cpu_ticks_ms")
    );
    println!(
        "threads:           {} total ({} harness, {} rtm-*): {}",
        f("threads_total"),
        f("threads_harness"),
        f("threads_lib"),
        r["thread_names"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "))
            .unwrap_or_default()
    );
    println!(
        "RSS:               {} kB idle ({} kB anonymous, {} kB shared file pages), {} kB peak (VmHWM)",
        f("rss_idle_kb"),
        f("rss_idle_anon_kb"),
        f("rss_idle_shared_file_kb"),
        f("rss_peak_kb")
    );
}
