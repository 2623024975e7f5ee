//! `slack-rtm`: tail a Slack RTM stream, run the embedded fake Slack, or watch a demo bot.
//!
//! Output contract: stdout carries data only (frames for `tail`, the URL line for `serve`, the
//! transcript for `demo`); lifecycle and errors go to stderr through `log` (`RUST_LOG`, default
//! `info`). Exit codes: 0 graceful stop, 1 failure, 2 usage error, 3 Slack refused the token,
//! 130 a second SIGINT.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slack_rtm::testing::FakeSlack;
use slack_rtm::{ConnectMethod, Error, Payload, RtmClient, SendErrorKind};

const USAGE: &str = "\
slack-rtm: a command-line client for Slack's Real Time Messaging API

Usage: slack-rtm <command> [flags]

Commands:
  tail    connect and print every frame Slack sends, one per line; send stdin lines
  serve   run the embedded fake Slack on loopback
  demo    run the hello bot against the embedded fake Slack and print the conversation

Run `slack-rtm <command> --help` for the flags of a command.";

const TAIL_USAGE: &str = "\
Usage: slack-rtm tail [flags]

Connects to Slack's RTM API and prints every frame the server sends (events, hello, acks,
pongs) on stdout, one per line, in arrival order. Each line read on stdin must be a JSON object;
it is sent over the websocket (an id is added when absent). Lifecycle goes to stderr.

The token comes from SLACK_BOT_TOKEN, else SLACK_API_TOKEN.

Flags:
  --api-url URL          Web API base URL (else SLACK_API_URL, else https://slack.com/api/)
  --ca-file PEM          trust the CA certificates in this PEM file instead of the system store
  --no-reconnect         exit (status 1) when the connection ends instead of reconnecting
  --ping-interval SECS   seconds between RTM pings; 0 disables pings (default 30)
  --connect-method M     rtm.connect (default) or rtm.start
  --proxy URL            http:// proxy for the Web API and the websocket
                         (else ALL_PROXY, HTTPS_PROXY or HTTP_PROXY, with NO_PROXY)
  --exit-on NAME         exit 0 right after the first event dispatched as NAME (e.g. hello)
  -h, --help             show this help

Exit codes: 0 stopped (SIGINT, SIGTERM, SIGHUP, --exit-on), 1 failure, 2 usage error,
3 Slack refused the token, 130 a second SIGINT.";

const SERVE_USAGE: &str = "\
Usage: slack-rtm serve [--port P] [--token T] [--bench]

Runs the embedded fake Slack on 127.0.0.1 and prints SLACK_API_URL=http://127.0.0.1:PORT/api/
as the first line on stdout. Each JSON line typed on stdin is sent as an event to every
connected client. Ctrl-C stops it.

Flags:
  --port P     port to listen on (default: any free port)
  --token T    accept only this token (default: any non-empty token)
  --bench      benchmark mode (see BENCHMARKS.md): also accept the commands below on stdin,
               and stop when stdin closes
  -h, --help   show this help

Benchmark commands (with --bench; each prints exactly one `BENCH <json>` line on stdout):
  !flood N small|large   write the small (184 B) or large (607 B) `message` event N times to
                         every client, as fast as they read; answers at once
  !rtt N [GAP_US]        N sequential round trips (default gap 1000 us): send
                         {\"type\":\"user_typing\",...,\"seq\":i}, wait for the client's
                         {\"type\":\"typing\",\"seq\":i}; the time from just before the send to
                         the server's read of the answer; answers with percentiles in us
  !clients               the number of open websockets";

const DEMO_USAGE: &str = "\
Usage: slack-rtm demo

Starts the embedded fake Slack, runs the hello bot (it answers \"Hi <@user>!\" in a thread to
messages containing \"Hello\") against it, prints the conversation and exits. Always offline;
any token in the environment is ignored.";

/// A usage error: exit code 2.
struct Usage(String);

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!(
            "slack-rtm: missing command (tail, serve or demo); run `slack-rtm --help` for usage"
        );
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "tail" => tail(rest),
        "serve" => serve(rest),
        "demo" => demo(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Usage(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(code) => code,
        Err(Usage(msg)) => {
            // One line: the contract is "one clear line on stderr" for every failure.
            let help = match command.as_str() {
                "tail" | "serve" | "demo" => format!("slack-rtm {command} --help"),
                _ => "slack-rtm --help".to_string(),
            };
            eprintln!("slack-rtm: {msg}; run `{help}` for usage");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filters = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let logger = env_logger::Builder::new()
        .parse_filters(&filters)
        .format_timestamp_millis()
        .target(env_logger::Target::Stderr)
        .build();
    let max = logger.filter();
    if log::set_logger(Box::leak(Box::new(CappedLogger(logger)))).is_ok() {
        log::set_max_level(max);
    }
}

/// Passes other crates' records on only up to `info`, whatever `RUST_LOG` says.
///
/// Dependencies' debug and trace output is of no use here, and some of it is dangerous:
/// `ureq_proto` traces the raw request bytes, `Authorization: Bearer <token>` and
/// `Proxy-Authorization` included. A crate-level cap in env_logger is not enough (a more
/// specific directive such as `RUST_LOG=ureq_proto::util=trace` overrides it), so the cap is
/// applied here, on every record.
struct CappedLogger(env_logger::Logger);

impl CappedLogger {
    fn allowed(metadata: &log::Metadata<'_>) -> bool {
        let target = metadata.target();
        metadata.level() <= log::Level::Info
            || target == "slack_rtm"
            || target.starts_with("slack_rtm::")
    }
}

impl log::Log for CappedLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        Self::allowed(metadata) && self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if Self::allowed(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Pulls flags off an argument list.
struct Flags<'a> {
    args: std::slice::Iter<'a, String>,
}

impl<'a> Flags<'a> {
    fn new(args: &'a [String]) -> Flags<'a> {
        Flags { args: args.iter() }
    }

    /// The next flag, with its value split off `--flag=value` if given that way.
    fn next_flag(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        let arg = self.args.next()?;
        Some(match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg.as_str(), None),
        })
    }

    fn value(&mut self, flag: &str, inline: Option<&'a str>) -> Result<&'a str, Usage> {
        match inline {
            Some(v) => Ok(v),
            None => self
                .args
                .next()
                .map(String::as_str)
                .ok_or_else(|| Usage(format!("{flag} needs a value"))),
        }
    }
}

fn no_value(flag: &str, inline: Option<&str>) -> Result<(), Usage> {
    match inline {
        Some(_) => Err(Usage(format!("{flag} takes no value"))),
        None => Ok(()),
    }
}

#[derive(Default)]
struct TailArgs {
    api_url: Option<String>,
    ca_file: Option<String>,
    no_reconnect: bool,
    ping_interval: Option<Duration>,
    connect_method: Option<ConnectMethod>,
    proxy: Option<String>,
    exit_on: Option<String>,
}

fn parse_tail(args: &[String]) -> Result<Option<TailArgs>, Usage> {
    let mut t = TailArgs::default();
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next_flag() {
        match flag {
            "-h" | "--help" => return Ok(None),
            "--api-url" => t.api_url = Some(flags.value(flag, inline)?.to_string()),
            "--ca-file" => t.ca_file = Some(flags.value(flag, inline)?.to_string()),
            "--proxy" => t.proxy = Some(flags.value(flag, inline)?.to_string()),
            "--exit-on" => {
                let name = flags.value(flag, inline)?;
                if name.is_empty() || name.starts_with('-') {
                    return Err(Usage(format!(
                        "--exit-on needs an event name (e.g. hello), got {name:?}"
                    )));
                }
                t.exit_on = Some(name.to_string());
            }
            "--no-reconnect" => {
                no_value(flag, inline)?;
                t.no_reconnect = true;
            }
            "--ping-interval" => {
                let v = flags.value(flag, inline)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .ok_or_else(|| {
                        Usage(format!(
                            "--ping-interval needs a number of seconds, got {v:?}"
                        ))
                    })?;
                t.ping_interval = Some(Duration::from_secs_f64(secs));
            }
            "--connect-method" => {
                t.connect_method = Some(match flags.value(flag, inline)? {
                    "rtm.start" => ConnectMethod::RtmStart,
                    "rtm.connect" => ConnectMethod::RtmConnect,
                    other => {
                        return Err(Usage(format!(
                            "--connect-method must be rtm.connect or rtm.start, got {other:?}"
                        )))
                    }
                })
            }
            other => return Err(Usage(format!("unknown flag {other:?} for tail"))),
        }
    }
    Ok(Some(t))
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn tail(args: &[String]) -> Result<ExitCode, Usage> {
    let Some(t) = parse_tail(args)? else {
        println!("{TAIL_USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let token = env_nonempty("SLACK_BOT_TOKEN")
        .or_else(|| env_nonempty("SLACK_API_TOKEN"))
        .ok_or_else(|| Usage("no token: set SLACK_BOT_TOKEN or SLACK_API_TOKEN".into()))?;
    let api_url = t.api_url.clone().or_else(|| env_nonempty("SLACK_API_URL"));

    let mut builder = RtmClient::builder(&token).auto_reconnect(!t.no_reconnect);
    if let Some(url) = &api_url {
        builder = builder.base_url(url);
    }
    if let Some(path) = &t.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Usage(format!("cannot read --ca-file {path:?}: {e}")))?;
        builder = builder.root_certificate(&pem);
    }
    if let Some(i) = t.ping_interval {
        builder = builder.ping_interval(i);
    }
    if let Some(m) = t.connect_method {
        builder = builder.connect_method(m);
    }
    if let Some(p) = &t.proxy {
        builder = builder.proxy(p);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(Error::Config(msg)) => {
            // Name the flag, not the library option, when the CA file is the problem.
            return Err(Usage(match &t.ca_file {
                Some(path) if msg.contains("root_certificate") => {
                    format!("--ca-file {path:?}: {msg}")
                }
                _ => msg,
            }));
        }
        Err(e) => {
            eprintln!("slack-rtm: {e}");
            return Ok(ExitCode::from(1));
        }
    };

    let exited_on = Arc::new(AtomicBool::new(false));
    let exit_on = t.exit_on.clone();
    let flag = exited_on.clone();
    client.on("*", move |p: &Payload| {
        if let Some(raw) = p.raw() {
            print_frame(raw);
        }
        if exit_on.as_deref() == Some(p.event) && !flag.swap(true, Ordering::SeqCst) {
            log::info!("got {:?}: exiting", p.event);
            p.rtm_client.stop();
        }
    });
    spawn_stdin_sender(&client);

    match client.start() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("slack-rtm: {e}");
            // 3 is for Slack's own refusal only; a fatal local problem (an unusable URL) is 1.
            let refused = matches!(e, Error::Api { .. }) && e.is_fatal();
            Ok(ExitCode::from(if refused { 3 } else { 1 }))
        }
    }
}

/// Reports a stdin line that was not sent: straight to stderr, so it shows whatever
/// `RUST_LOG` says (SPEC: one clear stderr line per refused line).
fn skipped(number: u64, why: &str) {
    eprintln!("stdin line {number} skipped: {why}");
}

/// Prints a frame on one line: raw line breaks (JSON allows them only as whitespace) removed.
fn print_frame(raw: &str) {
    let mut out = std::io::stdout().lock();
    let result = if raw.contains(['\n', '\r']) {
        let line: String = raw.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        writeln!(out, "{line}")
    } else {
        writeln!(out, "{raw}")
    };
    if result.and_then(|()| out.flush()).is_err() {
        // stdout is gone (a closed pipe): nothing left to do but stop quietly.
        std::process::exit(0);
    }
}

/// Lines held while disconnected, at most.
const STDIN_QUEUE: usize = 1000;

/// Reads stdin line by line, handing each line (1-based number, text without its line break)
/// to `each`. A line that is not UTF-8 gets a line on stderr and is skipped; reading ends at
/// EOF, on a read error, or when `each` returns false.
fn read_stdin_lines(mut each: impl FnMut(u64, &str) -> bool) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        match stdin.read_until(b'\n', &mut buf) {
            Ok(0) => {
                log::info!("stdin closed after {number} line(s); still running");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                log::error!("cannot read stdin: {e}; still running");
                return;
            }
        }
        number += 1;
        let Ok(line) = std::str::from_utf8(&buf) else {
            skipped(number, "not UTF-8");
            continue;
        };
        let line = line.trim();
        if !line.is_empty() && !each(number, line) {
            return;
        }
    }
}

/// Reads stdin lines and sends them, in order, holding them while disconnected. EOF on stdin
/// does not stop the client.
fn spawn_stdin_sender(client: &RtmClient) {
    let (tx, rx) = crossbeam_channel::bounded::<(u64, Value)>(STDIN_QUEUE);
    let spawned = std::thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            read_stdin_lines(|number, line| {
                match serde_json::from_str::<Value>(line) {
                    Ok(v) if v.is_object() => return tx.send((number, v)).is_ok(),
                    Ok(_) => skipped(number, "not a JSON object"),
                    Err(e) => skipped(number, &format!("not JSON ({e})")),
                }
                true
            });
        });
    if let Err(e) = spawned {
        log::error!("cannot read stdin: {e}");
        return;
    }
    let handle = client.handle();
    let spawned = std::thread::Builder::new()
        .name("stdin-sender".into())
        .spawn(move || {
            for (number, mut v) in rx.iter() {
                let mut held = false;
                loop {
                    match handle.send_over_websocket(v) {
                        Ok(id) => {
                            log::debug!("stdin line {number} sent with id {id}");
                            break;
                        }
                        // Held while disconnected, or while the message throttle's queue
                        // is full: stdin is the bounded buffer then.
                        Err(e)
                            if matches!(
                                e.kind(),
                                SendErrorKind::NotConnected | SendErrorKind::QueueFull
                            ) =>
                        {
                            if !held {
                                held = true;
                                log::debug!("stdin line {number} held until connected");
                            }
                            v = e.into_payload();
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => {
                            skipped(number, &e.kind().to_string());
                            break;
                        }
                    }
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot send stdin lines: {e}");
    }
}

fn serve(args: &[String]) -> Result<ExitCode, Usage> {
    let mut builder = FakeSlack::builder();
    let mut bench_mode = false;
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next_flag() {
        match flag {
            "-h" | "--help" => {
                println!("{SERVE_USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            "--port" => {
                let v = flags.value(flag, inline)?;
                let port = v
                    .parse::<u16>()
                    .map_err(|_| Usage(format!("--port needs a port number, got {v:?}")))?;
                builder = builder.port(port);
            }
            "--token" => builder = builder.token(flags.value(flag, inline)?),
            "--bench" => {
                no_value(flag, inline)?;
                bench_mode = true;
            }
            other => return Err(Usage(format!("unknown flag {other:?} for serve"))),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("slack-rtm: cannot handle signals: {e}");
            return Ok(ExitCode::from(1));
        }
    }
    let server = match builder.start() {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("slack-rtm: cannot start the fake Slack: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    println!("SLACK_API_URL={}", server.api_url());
    let _ = std::io::stdout().flush();
    log::info!("fake Slack listening; JSON lines on stdin go to every connected client");

    let s = server.clone();
    let eof_stop = stop.clone();
    let reader = std::thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            read_stdin_lines(|number, line| {
                if bench_mode && line.starts_with('!') {
                    bench::command(&s, line);
                    return true;
                }
                match serde_json::from_str::<Value>(line) {
                    // The line goes out as typed: key order and spacing kept.
                    Ok(_) => {
                        let n = s.send_text(line);
                        log::info!("stdin line {number} sent to {n} client(s)");
                    }
                    Err(e) => skipped(number, &format!("not JSON ({e})")),
                }
                true
            });
            if bench_mode {
                // A benchmark driver that dies leaves no server behind.
                log::info!("stdin closed: stopping (--bench)");
                eof_stop.store(true, Ordering::SeqCst);
            }
        });
    if let Err(e) = reader {
        log::error!("cannot read stdin: {e}");
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    log::info!("stopping the fake Slack");
    Ok(ExitCode::SUCCESS)
}

fn demo(args: &[String]) -> Result<ExitCode, Usage> {
    if let Some(a) = args.first() {
        if a == "-h" || a == "--help" {
            println!("{DEMO_USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        return Err(Usage(format!("demo takes no arguments, got {a:?}")));
    }
    match run_demo() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("slack-rtm: demo failed: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn run_demo() -> Result<(), Box<dyn std::error::Error>> {
    let server = FakeSlack::builder().token("xoxb-demo-token").start()?;
    println!("fake Slack listening at {}", server.api_url());

    let client = RtmClient::builder("xoxb-demo-token")
        .base_url(&server.api_url())
        .handle_signals(false)
        .build()?;
    let (hello_tx, hello_rx) = crossbeam_channel::bounded::<()>(1);
    client.on("open", |p: &Payload| {
        println!(
            "bot connected as {} to {}",
            p.data["self"]["name"].as_str().unwrap_or("?"),
            p.data["team"]["name"].as_str().unwrap_or("?")
        );
    });
    client.on("hello", move |_p: &Payload| {
        let _ = hello_tx.try_send(());
    });
    // The hello bot of examples/hello_bot.rs.
    client.on("message", |p: &Payload| {
        let data = p.data;
        if data["subtype"].is_string() || data["bot_id"].is_string() {
            return;
        }
        let text = data["text"].as_str().unwrap_or_default();
        println!(
            "<@{}> in {}: {text}",
            data["user"].as_str().unwrap_or("?"),
            data["channel"].as_str().unwrap_or("?")
        );
        if text.contains("Hello") {
            let (Some(channel), Some(user), Some(ts)) = (
                data["channel"].as_str(),
                data["user"].as_str(),
                data["ts"].as_str(),
            ) else {
                return;
            };
            let reply = format!("Hi <@{user}>!");
            let msg = slack_rtm::PostMessage::new(channel, &reply).thread_ts(ts);
            match p.web_client.chat_post_message_with(&msg) {
                Ok(_) => println!("bot replied in thread {ts}: {reply}"),
                Err(e) => println!("bot could not reply: {e}"),
            }
        }
    });
    let running = client.spawn()?;
    hello_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the bot did not connect within 10 s")?;

    let script = [
        ("C0GENERAL1", "U0ALICE001", "Hello everyone!"),
        ("C0GENERAL1", "U0BOB00001", "how is everyone today?"),
        ("C0RANDOM01", "U0BOB00001", "Hello from #random"),
    ];
    let expected_replies = script
        .iter()
        .filter(|(_, _, t)| t.contains("Hello"))
        .count();
    for (channel, user, text) in script {
        server.send_message(channel, user, text);
    }
    if !server.wait_for_calls(
        "chat.postMessage",
        expected_replies,
        Duration::from_secs(10),
    ) {
        return Err("the bot did not answer within 10 s".into());
    }
    running.stop();
    running.join()?;
    println!(
        "demo finished: {} message(s) posted by the bot",
        server.posted_messages().len()
    );
    Ok(())
}

/// `serve --bench`: the benchmark commands of BENCHMARKS.md, read from stdin.
///
/// Every command prints exactly one `BENCH <json>` line on stdout (`{"cmd":"error",...}` for
/// a bad one), so a driver in any language can wait for the answer with a timeout.
mod bench {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};
    use slack_rtm::testing::{FakeSlack, ReceivedFrame};

    /// The small flood event (184 bytes), shared with the in-memory benches.
    const SMALL: &str = include_str!("../../benches/events/small.json");
    /// The large flood event (607 bytes, with blocks).
    const LARGE: &str = include_str!("../../benches/events/large.json");
    /// How long one round trip may take before `!rtt` gives up.
    const RTT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Most round trips or flood events one command accepts.
    const MAX_COUNT: usize = 100_000_000;

    pub(super) fn command(server: &FakeSlack, line: &str) {
        let answer = run(server, line).unwrap_or_else(|message| {
            log::error!("bench command {line:?}: {message}");
            json!({"cmd": "error", "line": line, "message": message})
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "BENCH {answer}").and_then(|()| out.flush());
    }

    fn run(server: &FakeSlack, line: &str) -> Result<Value, String> {
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match (cmd, args.as_slice()) {
            ("!flood", [n, size]) => {
                let n = count(n)?;
                let text = match *size {
                    "small" => SMALL.trim_ascii(),
                    "large" => LARGE.trim_ascii(),
                    other => return Err(format!("size must be small or large, got {other:?}")),
                };
                let clients = server.flood(text, n);
                Ok(json!({
                    "cmd": "flood",
                    "n": n,
                    "size": size,
                    "bytes": text.len(),
                    "clients": clients,
                }))
            }
            ("!rtt", [n]) => rtt(server, count(n)?, Duration::from_micros(1000)),
            ("!rtt", [n, gap]) => {
                let gap: u64 = gap
                    .parse()
                    .map_err(|_| format!("the gap must be microseconds, got {gap:?}"))?;
                rtt(server, count(n)?, Duration::from_micros(gap))
            }
            ("!clients", []) => Ok(json!({
                "cmd": "clients",
                "open": server.connections_open(),
                "total": server.connections_total(),
            })),
            _ => Err("unknown command; try !flood N small|large, !rtt N [GAP_US], !clients".into()),
        }
    }

    fn count(s: &str) -> Result<usize, String> {
        s.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| format!("a count must be 1..={MAX_COUNT}, got {s:?}"))
    }

    /// Round trips: the time from just before a probe is queued for the connection thread to
    /// the instant that thread read the client's answer (`ReceivedFrame::at`).
    fn rtt(server: &FakeSlack, n: usize, gap: Duration) -> Result<Value, String> {
        if server.connections_open() == 0 {
            return Err("no client connected".into());
        }
        let mut samples = Vec::with_capacity(n);
        let mut timeouts = 0;
        for seq in 1..=n {
            let probe = format!(
                r#"{{"type":"user_typing","channel":"C0BENCH001","user":"U0BENCH001","seq":{seq}}}"#
            );
            let sent = Instant::now();
            if server.send_text(&probe) == 0 {
                return Err("the client went away".into());
            }
            // Frames older than the probe are skipped by their timestamp alone, so the check
            // holds the recording lock only briefly.
            let is_reply = |f: &ReceivedFrame| f.at >= sent && answers(f, seq);
            match server.wait_for_frame(is_reply, RTT_TIMEOUT) {
                Some(frame) => samples.push(frame.at.saturating_duration_since(sent)),
                None => {
                    timeouts += 1;
                    break;
                }
            }
            if !gap.is_zero() {
                std::thread::sleep(gap);
            }
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        // Nearest rank.
        let pct = |q: f64| {
            let rank = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len().max(1));
            us.get(rank - 1).map(|v| (v * 10.0).round() / 10.0)
        };
        let mean = (!us.is_empty()).then(|| us.iter().sum::<f64>() / us.len() as f64);
        Ok(json!({
            "cmd": "rtt",
            "n": n,
            "done": us.len(),
            "timeouts": timeouts,
            "gap_us": gap.as_micros() as u64,
            "min_us": pct(0.0),
            "p50_us": pct(0.50),
            "p90_us": pct(0.90),
            "p99_us": pct(0.99),
            "max_us": pct(1.0),
            "mean_us": mean.map(|m| (m * 10.0).round() / 10.0),
        }))
    }

    /// Whether `frame` is `{"type":"typing", "seq": seq, ...}`.
    fn answers(frame: &ReceivedFrame, seq: usize) -> bool {
        frame.text.contains("typing")
            && frame
                .json()
                .is_some_and(|v| v["type"] == "typing" && v["seq"].as_u64() == Some(seq as u64))
    }
}
