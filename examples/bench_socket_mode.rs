//! The Socket Mode benchmark's slack-rtm client (BENCHMARKS.md, "Socket Mode";
//! `benches/socket_mode.sh` runs it with the Python and Node peers).
//!
//! It spawns `slack-rtm serve --bench` (the fake Slack in its own process), connects a
//! `SocketModeClient` to it with the library's defaults (events acked by the reader on
//! arrival), registers a `message` handler that reads the event's `text` and then sleeps
//! (`--handler sleep`, 1 s by default) or returns at once (`--handler noop`), has the server
//! send `--envelopes` envelopes at `--rate` per second (0: all at once), and prints the
//! server's ack report as one `RESULT <json>` line, with the process's RSS and the handler's
//! own rate (`handled_per_sec`: envelopes between the first and the last it saw, per second).
//!
//! ```text
//! cargo build --profile profiling --bin slack-rtm --example bench_socket_mode
//! target/profiling/examples/bench_socket_mode --handler sleep --envelopes 2000 --rate 200
//! target/profiling/examples/bench_socket_mode --handler noop --envelopes 20000 --rate 0
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slack_rtm::socket_mode::{Request, SocketModeClient};

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-bench";

struct Args {
    server: String,
    handler: String,
    sleep: Duration,
    envelopes: u64,
    rate: f64,
    wait_ms: u64,
}

const USAGE: &str =
    "Usage: bench_socket_mode [--server PATH] [--handler sleep|noop] [--sleep-ms MS]
                         [--envelopes N] [--rate PER_SEC] [--wait-ms MS]

  --server PATH    the slack-rtm binary (default: next to this example's profile folder)
  --handler KIND   sleep: each handler sleeps --sleep-ms (default); noop: returns at once
  --sleep-ms MS    how long a sleeping handler sleeps (default 1000)
  --envelopes N    envelopes to send (default 2000)
  --rate PER_SEC   envelopes per second, 0 for all at once (default 200)
  --wait-ms MS     how long after the flood to wait for the acks (default 5000)";

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        server: default_server(),
        handler: "sleep".into(),
        sleep: Duration::from_secs(1),
        envelopes: 2000,
        rate: 200.0,
        wait_ms: 5000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(None);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("bad value {value:?} for {flag}: {e}");
        match flag.as_str() {
            "--server" => args.server = value,
            "--handler" => match value.as_str() {
                "sleep" | "noop" => args.handler = value,
                _ => return Err(format!("--handler must be sleep or noop, got {value:?}")),
            },
            "--sleep-ms" => args.sleep = Duration::from_millis(value.parse().map_err(|e| bad(&e))?),
            "--envelopes" => args.envelopes = value.parse().map_err(|e| bad(&e))?,
            "--rate" => args.rate = value.parse().map_err(|e| bad(&e))?,
            "--wait-ms" => args.wait_ms = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if args.envelopes == 0 {
        return Err("--envelopes must be at least 1".into());
    }
    Ok(Some(args))
}

/// `target/<profile>/slack-rtm`, next to `target/<profile>/examples/`.
fn default_server() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("slack-rtm")))
        .map_or_else(
            || "target/profiling/slack-rtm".into(),
            |p| p.display().to_string(),
        )
}

/// `slack-rtm serve --bench`; EOF on its stdin stops it, and it is killed (by pid) when it
/// lingers.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    url: String,
}

impl Server {
    fn spawn(path: &str) -> Result<Server, String> {
        let mut child = Command::new(path)
            .args(["serve", "--bench"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {path:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
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
        };
        let first = server
            .lines
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the server printed no SLACK_API_URL line within 10 s".to_string())?;
        server.url = first
            .strip_prefix("SLACK_API_URL=")
            .ok_or_else(|| format!("unexpected first server line {first:?}"))?
            .to_string();
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

fn run(args: &Args) -> Result<Value, String> {
    let mut server = Server::spawn(&args.server)?;
    let client = SocketModeClient::builder(APP_TOKEN)
        .base_url(&server.url)
        .handle_signals(false)
        .build()
        .map_err(|e| format!("build: {e}"))?;
    let handled = Arc::new(AtomicU64::new(0));
    let touched = Arc::new(AtomicU64::new(0));
    // When the handler saw the first and the last envelope.
    let times: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    {
        let (handled, touched, times) = (handled.clone(), touched.clone(), times.clone());
        let sleep = (args.handler == "sleep").then_some(args.sleep);
        let last = args.envelopes;
        client.on("message", move |r: &Request| {
            // Read the event, as real handlers do.
            let n = r
                .event()
                .and_then(|e| e["text"].as_str())
                .map_or(0, str::len);
            touched.fetch_add(n as u64, Ordering::Relaxed);
            let count = handled.fetch_add(1, Ordering::Relaxed) + 1;
            if count == 1 || count == last {
                let mut t = times.lock().unwrap_or_else(|e| e.into_inner());
                let now = Some(Instant::now());
                if count == 1 {
                    t.0 = now;
                }
                if count == last {
                    t.1 = now;
                }
            }
            if let Some(d) = sleep {
                std::thread::sleep(d);
            }
        });
    }
    let running = client.spawn().map_err(|e| format!("spawn: {e}"))?;
    // `!sm-flood` waits (up to 10 s) for the socket's hello; the idle RSS is taken 1 s after it.
    let flood_secs = if args.rate > 0.0 {
        args.envelopes as f64 / args.rate
    } else {
        0.0
    };
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = status("VmRSS");
    let flood = server.command(
        &format!("!sm-flood {} {}", args.envelopes, args.rate),
        Duration::from_secs_f64(flood_secs + 60.0),
    )?;
    let report = server.command(
        &format!("!sm-report {}", args.wait_ms),
        Duration::from_millis(args.wait_ms + 60_000),
    )?;
    // The handlers may lag the acks (ours are sent on arrival): give them the same wait.
    let deadline = Instant::now() + Duration::from_millis(args.wait_ms);
    while handled.load(Ordering::Relaxed) < args.envelopes && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let handled_per_sec = match *times.lock().unwrap_or_else(|e| e.into_inner()) {
        (Some(first), Some(last)) if last > first => {
            Some(((args.envelopes - 1) as f64 / (last - first).as_secs_f64()).round())
        }
        _ => None,
    };
    let rss_peak = status("VmHWM");
    // Not joined: with sleeping handlers the dispatcher holds a backlog of envelopes that
    // would take `envelopes` seconds to drain; the process exits after printing.
    running.stop();
    Ok(json!({
        "client": "slack-rtm",
        "handler": args.handler,
        "sleep_ms": args.sleep.as_millis() as u64,
        "flood": flood,
        "report": report,
        "handled": handled.load(Ordering::Relaxed),
        "handled_per_sec": handled_per_sec,
        "touched": touched.load(Ordering::Relaxed),
        "rss_idle_kb": rss_idle,
        "rss_peak_kb": rss_peak,
    }))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_socket_mode: {e}");
            return ExitCode::from(2);
        }
    };
    let result = run(&args);
    let code = match result {
        Ok(r) => {
            println!("RESULT {r}");
            0
        }
        Err(e) => {
            eprintln!("bench_socket_mode: {e}");
            println!(
                "RESULT {}",
                json!({"client": "slack-rtm", "handler": args.handler, "error": e})
            );
            1
        }
    };
    let _ = std::io::stdout().flush();
    // Exit without waiting for the handlers' backlog (see above); the server has been stopped.
    std::process::exit(code);
}
