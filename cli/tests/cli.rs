//! The slack-rtm command line keeps its contract: exact flags and environment variables, frames
//! on stdout (one per line, as sent), lifecycle and errors on stderr, stdin lines sent in order,
//! and exit codes 0 (graceful stop), 1 (failure), 2 (usage), 3 (Slack refused the token) and
//! 130 (a second SIGINT). Every case runs the real binary against an in-process fake Slack on
//! loopback, with deadlines on every wait, and kills its child if anything fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[path = "../../tests/common/proxy.rs"]
mod proxy;

use serde_json::{json, Value};
use slack_rtm::testing::{ConnectReply, FakeSlack};

/// The deadline for anything that should happen "soon"; normally it takes milliseconds.
const SOON: Duration = Duration::from_secs(10);

/// Environment variables that would change what the binary does: all removed for every run.
const CONTROLLED_ENV: &[&str] = &[
    "SLACK_BOT_TOKEN",
    "SLACK_API_TOKEN",
    "SLACK_API_URL",
    "SLACK_APP_TOKEN",
    "RUST_LOG",
    "RUST_LOG_STYLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// Long, with upper-case letters: no piece of it turns up in output by chance (see
/// `assert_secret_absent`).
const TOKEN: &str = "xoxb-CLI-SeKrEt-QzWvYx-TuRp";

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .echo_messages(false)
        .start()
        .expect("start the fake Slack")
}

/// `slack-rtm` with `args` and a controlled environment: none of `CONTROLLED_ENV`, then `env`.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slack-rtm"));
    cmd.args(args);
    for name in CONTROLLED_ENV {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

/// `slack-rtm tail` against `fake` with the test token.
fn tail(fake: &FakeSlack, args: &[&str]) -> Proc {
    tail_env(fake, args, &[])
}

fn tail_env(fake: &FakeSlack, args: &[&str], env: &[(&str, &str)]) -> Proc {
    let url = fake.api_url();
    let mut full = vec!["tail", "--api-url", url.as_str()];
    full.extend_from_slice(args);
    let mut all_env = vec![("SLACK_BOT_TOKEN", TOKEN)];
    all_env.extend_from_slice(env);
    Proc::spawn(command(&full, &all_env))
}

/// Reads `stream` line by line onto a channel, on its own thread.
fn line_reader(stream: impl Read + Send + 'static) -> (Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, thread)
}

/// A running child. Every wait has a deadline; a failing test kills the child on drop, so no
/// process is left behind.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out_rx: Receiver<String>,
    err_rx: Receiver<String>,
    readers: Vec<JoinHandle<()>>,
    /// Every line seen so far.
    out: Vec<String>,
    err: Vec<String>,
}

/// Everything a finished child did.
struct Finished {
    status: ExitStatus,
    out: Vec<String>,
    err: Vec<String>,
}

impl Finished {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// stdout and stderr together, for secrets checks.
    fn all_output(&self) -> String {
        let mut all = self.out.join("\n");
        all.push('\n');
        all.push_str(&self.err.join("\n"));
        all
    }

    /// stderr lines written by the tool itself, not through the logger.
    fn own_err_lines(&self) -> Vec<&String> {
        self.err
            .iter()
            .filter(|l| l.starts_with("slack-rtm:"))
            .collect()
    }
}

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slack-rtm");
        let stdin = child.stdin.take();
        let (out_rx, t1) = line_reader(child.stdout.take().expect("stdout"));
        let (err_rx, t2) = line_reader(child.stderr.take().expect("stderr"));
        Proc {
            child,
            stdin,
            out_rx,
            err_rx,
            readers: vec![t1, t2],
            out: Vec::new(),
            err: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Moves every stderr line available now into `self.err`.
    fn drain_err(&mut self) {
        self.err.extend(self.err_rx.try_iter());
    }

    fn context(&mut self) -> String {
        self.drain_err();
        format!(
            "stdout so far: {:#?}\nstderr so far: {:#?}",
            self.out, self.err
        )
    }

    /// The next stdout line; panics if none comes within `SOON`.
    fn next_line(&mut self) -> String {
        match self.out_rx.recv_timeout(SOON) {
            Ok(line) => {
                self.out.push(line.clone());
                line
            }
            Err(e) => panic!("no stdout line within {SOON:?} ({e:?})\n{}", self.context()),
        }
    }

    /// Waits for a stderr line containing `needle` (lines seen before count too).
    fn wait_err(&mut self, needle: &str) -> String {
        self.drain_err();
        if let Some(l) = self.err.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + SOON;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err_rx.recv_timeout(left) {
                Ok(line) => {
                    self.err.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no stderr line containing {needle:?} within {SOON:?}\n{}",
                    self.context()
                ),
            }
        }
    }

    fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .expect("write to the child's stdin");
    }

    fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Sends a signal with the `kill` command.
    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{sig} failed");
    }

    /// Waits for the child to exit (panics after `SOON`, and the drop kills it), then collects
    /// the rest of its output.
    fn finish(mut self) -> Finished {
        let deadline = Instant::now() + SOON;
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break status,
                None if Instant::now() >= deadline => {
                    panic!("slack-rtm did not exit within {SOON:?}\n{}", self.context())
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        self.close_stdin();
        // The pipes reach EOF now that the child is gone.
        let deadline = Instant::now() + SOON;
        for (rx, seen) in [(&self.out_rx, &mut self.out), (&self.err_rx, &mut self.err)] {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => seen.push(line),
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => panic!("output pipes not closed"),
                }
            }
        }
        for t in self.readers.drain(..) {
            t.join().expect("reader thread");
        }
        Finished {
            status,
            out: std::mem::take(&mut self.out),
            err: std::mem::take(&mut self.err),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `slack-rtm args` with stdin closed and waits for it.
fn run(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut p = Proc::spawn(command(args, env));
    p.close_stdin();
    p.finish()
}

/// Asserts a usage error: status 2, nothing on stdout, exactly one line on stderr.
fn assert_usage_error(f: &Finished, mention: &str) {
    assert_eq!(f.code(), Some(2), "stderr: {:?}", f.err);
    assert!(f.out.is_empty(), "stdout must be empty: {:?}", f.out);
    assert_eq!(f.err.len(), 1, "one stderr line: {:?}", f.err);
    assert!(f.err[0].starts_with("slack-rtm: "), "{:?}", f.err);
    assert!(
        f.err[0].contains(mention),
        "{:?} should mention {mention:?}",
        f.err
    );
}

/// Asserts that no 8-character piece of `secret` is in `output`: a dependency's hex dump
/// (ureq traces request bytes in rows of 16) would leak a secret in pieces.
fn assert_secret_absent(output: &str, secret: &str, what: &str) {
    let chars: Vec<char> = secret.chars().collect();
    for window in chars.windows(8.min(chars.len())) {
        let piece: String = window.iter().collect();
        assert!(
            !output.contains(&piece),
            "{what}: a piece of the secret ({piece:?}) is in the output:\n{output}"
        );
    }
}

fn frames_of_type(fake: &FakeSlack, ty: &str) -> Vec<Value> {
    fake.frames()
        .iter()
        .filter(|f| f.frame_type().as_deref() == Some(ty))
        .map(|f| f.json().expect("JSON"))
        .collect()
}

const HELLO: &str = r#"{"type":"hello"}"#;

// ----- usage -----

#[test]
fn tail_without_a_token_is_a_usage_error() {
    let f = run(&["tail"], &[]);
    assert_usage_error(&f, "SLACK_BOT_TOKEN");
    // A blank token counts as none, for both variables.
    let f = run(
        &["tail"],
        &[("SLACK_BOT_TOKEN", " "), ("SLACK_API_TOKEN", "")],
    );
    assert_usage_error(&f, "SLACK_BOT_TOKEN");
}

#[test]
fn unknown_flags_commands_and_bad_values_are_usage_errors() {
    let token = [("SLACK_BOT_TOKEN", TOKEN)];
    assert_usage_error(&run(&["tail", "--bogus"], &token), "--bogus");
    assert_usage_error(&run(&["tail", "extra"], &token), "extra");
    assert_usage_error(&run(&["frobnicate"], &token), "frobnicate");
    assert_usage_error(&run(&[], &token), "command");
    assert_usage_error(
        &run(&["tail", "--ping-interval", "abc"], &token),
        "--ping-interval",
    );
    assert_usage_error(
        &run(&["tail", "--ping-interval=-1"], &token),
        "--ping-interval",
    );
    assert_usage_error(
        &run(&["tail", "--connect-method", "foo"], &token),
        "--connect-method",
    );
    assert_usage_error(&run(&["tail", "--exit-on"], &token), "--exit-on");
    assert_usage_error(
        &run(&["tail", "--exit-on", "--no-reconnect"], &token),
        "--exit-on",
    );
    assert_usage_error(&run(&["tail", "--exit-on="], &token), "--exit-on");
    assert_usage_error(
        &run(&["tail", "--no-reconnect=yes"], &token),
        "--no-reconnect",
    );
    assert_usage_error(
        &run(&["tail", "--proxy", "socks5://127.0.0.1:1080"], &token),
        "proxy",
    );
    assert_usage_error(&run(&["serve", "--port", "http"], &[]), "--port");
    assert_usage_error(&run(&["serve", "--bogus"], &[]), "--bogus");
    assert_usage_error(&run(&["demo", "--bogus"], &[]), "--bogus");
}

#[test]
fn help_for_each_command_goes_to_stdout() {
    for (args, mention) in [
        (&["--help"][..], "Usage: slack-rtm <command>"),
        (&["help"][..], "Usage: slack-rtm <command>"),
        (&["tail", "--help"][..], "Usage: slack-rtm tail"),
        (&["tail", "-h"][..], "Usage: slack-rtm tail"),
        (&["serve", "--help"][..], "Usage: slack-rtm serve"),
        (&["demo", "--help"][..], "Usage: slack-rtm demo"),
    ] {
        let f = run(args, &[]);
        assert_eq!(f.code(), Some(0), "{args:?}: {:?}", f.err);
        assert!(f.err.is_empty(), "{args:?}: {:?}", f.err);
        assert!(f.out.join("\n").contains(mention), "{args:?}: {:?}", f.out);
    }
    // The flags of the contract are documented.
    let f = run(&["tail", "--help"], &[]);
    let help = f.out.join("\n");
    for flag in [
        "--api-url",
        "--ca-file",
        "--no-reconnect",
        "--ping-interval",
        "--connect-method",
        "--proxy",
        "--exit-on",
        "SLACK_BOT_TOKEN",
        "SLACK_API_TOKEN",
        "SLACK_API_URL",
    ] {
        assert!(help.contains(flag), "tail --help should mention {flag}");
    }
}

// ----- tail: connecting -----

#[test]
fn exit_on_hello_prints_exactly_the_hello_frame() {
    let fake = fake();
    let f = tail(&fake, &["--exit-on", "hello"]).finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    // Lifecycle goes to stderr.
    assert!(
        f.err.iter().any(|l| l.contains("connected")),
        "lifecycle on stderr: {:?}",
        f.err
    );
    assert!(f.own_err_lines().is_empty(), "{:?}", f.err);
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    let call = &fake.api_calls()[0];
    assert_eq!(call.token.as_deref(), Some(TOKEN));
}

#[test]
fn the_token_comes_from_slack_bot_token_else_slack_api_token() {
    let fake = FakeSlack::builder()
        .token("xoxb-bot")
        .start()
        .expect("fake");
    let url = fake.api_url();
    // SLACK_API_TOKEN alone, and SLACK_API_URL from the environment.
    let f = run(
        &["tail", "--exit-on", "hello"],
        &[("SLACK_API_TOKEN", "xoxb-bot"), ("SLACK_API_URL", &url)],
    );
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    // Both set: SLACK_BOT_TOKEN wins.
    let f = run(
        &["tail", "--exit-on", "hello"],
        &[
            ("SLACK_BOT_TOKEN", "xoxb-bot"),
            ("SLACK_API_TOKEN", "xoxb-other"),
            ("SLACK_API_URL", &url),
        ],
    );
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    let tokens: Vec<_> = fake.api_calls().into_iter().map(|c| c.token).collect();
    assert_eq!(tokens, [Some("xoxb-bot".into()), Some("xoxb-bot".into())]);
}

#[test]
fn api_url_flag_overrides_slack_api_url() {
    let used = fake();
    let ignored = fake();
    let f = tail_env(
        &used,
        &["--exit-on", "hello"],
        &[("SLACK_API_URL", &ignored.api_url())],
    )
    .finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert_eq!(used.calls_to("rtm.connect"), 1);
    assert!(ignored.api_calls().is_empty());
    // The `--flag=value` form works too.
    let url = format!("--api-url={}", used.api_url());
    let f = run(
        &["tail", &url, "--exit-on=hello"],
        &[
            ("SLACK_BOT_TOKEN", TOKEN),
            ("SLACK_API_URL", &ignored.api_url()),
        ],
    );
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert!(ignored.api_calls().is_empty());
}

#[test]
fn connect_method_rtm_start_calls_rtm_start() {
    let fake = fake();
    let f = tail(
        &fake,
        &["--connect-method", "rtm.start", "--exit-on", "hello"],
    )
    .finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert_eq!(fake.calls_to("rtm.start"), 1);
    assert_eq!(fake.calls_to("rtm.connect"), 0);
}

#[test]
fn ping_interval_zero_is_accepted_and_pongs_are_printed() {
    let fake = fake();
    let f = tail(&fake, &["--ping-interval", "0", "--exit-on", "hello"]).finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);

    // A short interval: the ping goes out and its pong is printed like any frame.
    let f = tail(&fake, &["--ping-interval", "0.2", "--exit-on", "pong"]).finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out.len(), 2, "{:?}", f.out);
    assert_eq!(f.out[0], HELLO);
    let pong: Value = serde_json::from_str(&f.out[1]).expect("JSON pong");
    assert_eq!(pong["type"], "pong");
    let pings = frames_of_type(&fake, "ping");
    assert!(!pings.is_empty());
    assert_eq!(pong["reply_to"], pings[0]["id"]);
}

/// A self-signed P-256 CA certificate for 127.0.0.1 (as in `tests/fake_slack.rs`), and its key.
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

const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZT30OT7gGOpZ2Ojy
6gDD3vIyXvaC+l5yZ+CS6dQJhBOhRANCAATznJ60xwzs1AfkT3g6VYjSIeXcLc2p
QRwJ7KWHYcevJA+ghVFqZTIHs+5CsGAODpiQucnZBsH7sPFTIdyiFBxI
-----END PRIVATE KEY-----
";

/// Writes `contents` to a fresh file under Cargo's per-target temporary directory.
fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("write a temporary file");
    path
}

#[test]
fn ca_file_trusts_the_fake_over_tls() {
    let fake = FakeSlack::builder()
        .tls(TEST_CERT.as_bytes(), TEST_KEY.as_bytes())
        .start()
        .expect("fake with TLS");
    assert!(fake.api_url().starts_with("https://127.0.0.1:"));
    let ca = temp_file("ca.pem", TEST_CERT);
    let ca = ca.to_str().expect("UTF-8 path");

    // Trusted through --ca-file: rtm.connect over HTTPS, then the websocket over WSS.
    let f = tail(&fake, &["--ca-file", ca, "--exit-on", "hello"]).finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert!(fake.wait_for_connections(1, SOON));

    // Without it the certificate is not trusted: a failure (1), not a usage error.
    let before = fake.calls_to("rtm.connect");
    let f = tail(&fake, &["--no-reconnect"]).finish();
    assert_eq!(f.code(), Some(1), "stderr: {:?}", f.err);
    assert!(f.out.is_empty());
    assert_eq!(f.own_err_lines().len(), 1, "{:?}", f.err);
    assert_eq!(
        fake.calls_to("rtm.connect"),
        before,
        "no request got through"
    );

    // A missing or malformed file is a usage error.
    let missing = format!("{ca}.missing");
    assert_usage_error(
        &run(
            &["tail", "--ca-file", &missing],
            &[("SLACK_BOT_TOKEN", TOKEN)],
        ),
        "--ca-file",
    );
    let garbage = temp_file("garbage.pem", "this is no certificate\n");
    let garbage = garbage.to_str().expect("UTF-8 path");
    assert_usage_error(
        &run(
            &["tail", "--ca-file", garbage],
            &[("SLACK_BOT_TOKEN", TOKEN)],
        ),
        "root_certificate",
    );
}

// ----- tail: frames -----

#[test]
fn every_frame_is_printed_in_order_as_sent_on_one_line() {
    let fake = fake();
    let mut p = tail(&fake, &["--exit-on", "last"]);
    assert_eq!(p.next_line(), HELLO);
    let sent = [
        r#"{"z":1,"type":"ordered","a":{"y":2,"b":3}}"#,
        "{\n  \"type\": \"pretty\",\r\n  \"text\": \"a\\nb\",\n  \"list\": [\n    1,\n    2\n  ]\n}",
        r#"{"ok":true,"reply_to":7,"ts":"1.2"}"#,
        r#"{"no_type":true}"#,
        "not JSON at all",
        "[1, 2]",
        "\t{ \"type\" : \"spaced\" }  ",
        r#"{"type":"last"}"#,
    ];
    for text in sent {
        assert_eq!(fake.send_text(text), 1);
    }
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    let mut expected = vec![HELLO.to_string()];
    expected.extend(sent.iter().map(|t| t.replace(['\n', '\r'], "")));
    assert_eq!(f.out, expected);
    // The pretty one, exactly: only the raw line breaks are gone, the escaped one stays.
    assert_eq!(
        f.out[2],
        r#"{  "type": "pretty",  "text": "a\nb",  "list": [    1,    2  ]}"#
    );
}

// ----- tail: stdin -----

#[test]
fn stdin_lines_are_sent_bad_ones_skipped_and_the_ack_printed() {
    let fake = fake();
    let mut p = tail(&fake, &["--exit-on", "reply"]);
    assert_eq!(p.next_line(), HELLO);
    p.write_line("[1, 2]");
    p.write_line("this is not JSON");
    p.write_line(r#"{"type":"typing","id":-5}"#);
    p.write_line(&json!({"type": "big", "pad": "x".repeat(17_000)}).to_string());
    p.write_line(
        &json!({"type": "message", "channel": "C1", "text": "é".repeat(4001)}).to_string(),
    );
    p.write_line("");
    p.write_line(r#"{"type":"message","channel":"C0GENERAL1","text":"hi from stdin"}"#);
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);

    // The valid line went out with an id; the refused ones did not.
    let frames = fake.frames();
    let sent: Vec<Value> = frames
        .iter()
        .filter(|f| f.frame_type().as_deref() != Some("ping"))
        .map(|f| f.json().expect("JSON"))
        .collect();
    assert_eq!(sent.len(), 1, "{frames:?}");
    let msg = &sent[0];
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["channel"], "C0GENERAL1");
    assert_eq!(msg["text"], "hi from stdin");
    let id = msg["id"].as_u64().expect("an id was added");
    assert!(id > 0);

    // stdout: hello, then the ack for that id.
    assert_eq!(f.out.len(), 2, "{:?}", f.out);
    assert_eq!(f.out[0], HELLO);
    let ack: Value = serde_json::from_str(&f.out[1]).expect("JSON ack");
    assert_eq!(ack["ok"], true);
    assert_eq!(ack["reply_to"], json!(id));

    // One stderr line for each skipped line, naming it.
    for (number, why) in [
        (1, "not a JSON object"),
        (2, "not JSON"),
        (3, "invalid payload"),
        (4, "exceeds"),
        (5, "4000-character limit"),
    ] {
        let lines: Vec<_> = f
            .err
            .iter()
            .filter(|l| l.contains(&format!("stdin line {number} skipped")))
            .collect();
        assert_eq!(lines.len(), 1, "line {number}: {:?}", f.err);
        assert!(lines[0].contains(why), "{:?}", lines[0]);
    }
    assert!(f.own_err_lines().is_empty(), "{:?}", f.err);
}

#[test]
fn stdin_lines_wait_for_the_connection_and_go_out_in_order() {
    let fake = FakeSlack::builder()
        .echo_messages(false)
        .auto_hello(false)
        .start()
        .expect("fake");
    let mut p = tail_env(&fake, &["--exit-on", "go"], &[("RUST_LOG", "debug")]);
    // Written before anything is connected.
    for n in 1..=5 {
        p.write_line(&format!(r#"{{"type":"custom","n":{n}}}"#));
    }
    assert!(fake.wait_for_connections(1, SOON));
    // The websocket is open, but without hello the client is not connected: lines are held.
    p.wait_err("stdin line 1 held until connected");
    assert!(fake.frames().is_empty(), "{:?}", fake.frames());
    assert_eq!(fake.send_hello(), 1);
    let got = fake.wait_for_frames(5, SOON);
    assert!(got, "{:?}\n{}", fake.frames(), p.context());
    let ns: Vec<Value> = frames_of_type(&fake, "custom")
        .iter()
        .map(|f| f["n"].clone())
        .collect();
    assert_eq!(ns, [1, 2, 3, 4, 5]);
    assert_eq!(fake.send_text(r#"{"type":"go"}"#), 1);
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO, r#"{"type":"go"}"#]);
}

#[test]
fn eof_on_stdin_does_not_stop_the_client() {
    let fake = fake();
    let mut p = tail(&fake, &["--exit-on", "after_eof"]);
    assert_eq!(p.next_line(), HELLO);
    p.write_line(r#"{"type":"before_eof"}"#);
    p.close_stdin();
    p.wait_err("stdin closed");
    assert!(fake
        .wait_for_frame(|f| f.frame_type().as_deref() == Some("before_eof"), SOON)
        .is_some());
    assert_eq!(fake.send_text(r#"{"type":"after_eof"}"#), 1);
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO, r#"{"type":"after_eof"}"#]);
}

// ----- tail: failures -----

#[test]
fn an_invalid_token_exits_3_after_one_call() {
    let fake = FakeSlack::builder()
        .token("xoxb-right")
        .start()
        .expect("fake");
    // With logging off, the tool's own line is all there is.
    let f = tail_env(
        &fake,
        &[],
        &[("SLACK_BOT_TOKEN", "xoxb-wrong"), ("RUST_LOG", "off")],
    )
    .finish();
    assert_eq!(f.code(), Some(3), "stderr: {:?}", f.err);
    assert!(f.out.is_empty(), "{:?}", f.out);
    assert_eq!(f.err.len(), 1, "{:?}", f.err);
    assert!(f.err[0].starts_with("slack-rtm: "), "{:?}", f.err);
    assert!(f.err[0].contains("invalid_auth"), "{:?}", f.err);
    assert_eq!(fake.calls_to("rtm.connect"), 1);

    // With default logging: the same single line of the tool's own, last.
    let f = tail_env(&fake, &[], &[("SLACK_BOT_TOKEN", "xoxb-wrong")]).finish();
    assert_eq!(f.code(), Some(3), "stderr: {:?}", f.err);
    assert!(f.out.is_empty(), "{:?}", f.out);
    assert_eq!(f.own_err_lines().len(), 1, "{:?}", f.err);
    assert!(
        f.err.last().unwrap().contains("invalid_auth"),
        "{:?}",
        f.err
    );
    assert_eq!(fake.calls_to("rtm.connect"), 2);
}

#[test]
fn other_fatal_answers_exit_3_even_with_reconnect_on() {
    let fake = fake();
    for code in ["account_inactive", "token_revoked", "missing_scope"] {
        fake.push_connect_reply(ConnectReply::Error(code.into()));
        let before = fake.calls_to("rtm.connect");
        let f = tail(&fake, &[]).finish();
        assert_eq!(f.code(), Some(3), "{code}: {:?}", f.err);
        assert!(f.out.is_empty());
        assert_eq!(f.own_err_lines().len(), 1, "{:?}", f.err);
        assert!(f.err.last().unwrap().contains(code), "{:?}", f.err);
        assert_eq!(fake.calls_to("rtm.connect"), before + 1);
    }
}

#[test]
fn the_token_never_appears_in_any_output() {
    let levels = [
        "trace",
        "trace,ureq=trace,ureq_proto=trace,tungstenite=trace",
        "info,ureq_proto::util=trace,ureq_proto::client=trace,ureq::unversioned=trace",
    ];
    // Refused.
    let strict = FakeSlack::builder()
        .token("xoxb-right")
        .start()
        .expect("fake");
    for level in levels {
        let f = tail_env(&strict, &[], &[("RUST_LOG", level)]).finish();
        assert_eq!(f.code(), Some(3), "stderr: {:?}", f.err);
        assert!(!f.err.is_empty());
        assert_secret_absent(&f.all_output(), TOKEN, level);
    }
    // Accepted, with a message sent and acknowledged.
    let fake = fake();
    for level in levels {
        let mut p = tail_env(&fake, &["--exit-on", "reply"], &[("RUST_LOG", level)]);
        assert_eq!(p.next_line(), HELLO);
        p.write_line(r#"{"type":"message","channel":"C1","text":"x"}"#);
        let f = p.finish();
        assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
        assert!(!f.err.is_empty());
        assert_secret_absent(&f.all_output(), TOKEN, level);
    }
}

/// A minimal HTTP `CONNECT` proxy on loopback that requires Basic credentials and tunnels to
/// any target. It records each request head.
struct TunnelProxy {
    addr: std::net::SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TunnelProxy {
    fn start(expected_authorization: String) -> TunnelProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st) = (heads.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (h, auth) = (h.clone(), expected_authorization.clone());
                std::thread::spawn(move || tunnel(conn, &h, &auth));
            }
        });
        TunnelProxy {
            addr,
            heads,
            stop,
            thread: Some(thread),
        }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for TunnelProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tunnel(client: TcpStream, heads: &Mutex<Vec<String>>, authorization: &str) {
    proxy::tunnel(client, heads, |head| {
        let authorized = head.lines().any(|l| {
            l.split_once(':').is_some_and(|(name, value)| {
                name.eq_ignore_ascii_case("proxy-authorization") && value.trim() == authorization
            })
        });
        if authorized {
            proxy::Answer::Tunnel
        } else {
            proxy::Answer::Refuse(
                "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n".into(),
            )
        }
    })
}

#[test]
fn proxy_flag_tunnels_both_paths_and_credentials_never_appear() {
    use base64::Engine as _;
    const USER: &str = "proxyUSER";
    const PASSWORD: &str = "PxPaSsWoRdZqKv";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let proxy = TunnelProxy::start(format!("Basic {basic}"));
    let fake = fake();
    let proxy_url = format!("http://{USER}:{PASSWORD}@{}", proxy.addr);
    let mut p = tail_env(
        &fake,
        &["--proxy", &proxy_url, "--exit-on", "reply"],
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(p.next_line(), HELLO);
    p.write_line(r#"{"type":"message","channel":"C1","text":"through the proxy"}"#);
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out.len(), 2, "{:?}", f.out);
    // Both the Web API call and the websocket went through the tunnel, with credentials.
    let heads = proxy.heads();
    let target = format!("CONNECT {} ", fake.addr());
    assert!(heads.len() >= 2, "{heads:?}");
    assert!(heads.iter().all(|h| h.starts_with(&target)), "{heads:?}");
    let all = f.all_output();
    for secret in [PASSWORD, &basic, TOKEN] {
        assert_secret_absent(&all, secret, "tail --proxy with RUST_LOG=trace");
    }

    // Wrong credentials: the run fails (status 1 under --no-reconnect), still without a trace
    // of them.
    let wrong = format!("http://{USER}:WrOnGpAsSwOrD@{}", proxy.addr);
    let f = tail_env(
        &fake,
        &["--no-reconnect", "--proxy", &wrong],
        &[("RUST_LOG", "trace")],
    )
    .finish();
    assert_eq!(f.code(), Some(1), "stderr: {:?}", f.err);
    assert_eq!(f.own_err_lines().len(), 1, "{:?}", f.err);
    let wrong_basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:WrOnGpAsSwOrD"));
    let all = f.all_output();
    for secret in ["WrOnGpAsSwOrD", &wrong_basic, TOKEN] {
        assert_secret_absent(&all, secret, "a refused proxy login");
    }
}

#[test]
fn proxy_environment_variables_apply_and_no_proxy_only_to_them() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("envUSER:EnVpAsSwOrDzQ");
    let proxy = TunnelProxy::start(format!("Basic {basic}"));
    let fake = fake();
    let proxy_url = format!("http://envUSER:EnVpAsSwOrDzQ@{}", proxy.addr);
    let target = format!("CONNECT {} ", fake.addr());

    for var in ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"] {
        let before = proxy.heads().len();
        let f = tail_env(
            &fake,
            &["--exit-on", "hello"],
            &[(var, &proxy_url), ("RUST_LOG", "trace")],
        )
        .finish();
        assert_eq!(f.code(), Some(0), "{var}: {:?}", f.err);
        assert_eq!(f.out, [HELLO]);
        let heads = proxy.heads();
        assert!(heads.len() >= before + 2, "{var}: {heads:?}");
        assert!(heads.iter().all(|h| h.starts_with(&target)), "{heads:?}");
        for secret in ["EnVpAsSwOrDzQ", &basic, TOKEN] {
            assert_secret_absent(&f.all_output(), secret, var);
        }
    }

    // NO_PROXY exempts the fake from the environment's proxy ...
    let before = proxy.heads().len();
    let f = tail_env(
        &fake,
        &["--exit-on", "hello"],
        &[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "127.0.0.1")],
    )
    .finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert_eq!(proxy.heads().len(), before, "{:?}", proxy.heads());

    // ... but not from an explicit --proxy.
    let f = tail_env(
        &fake,
        &["--proxy", &proxy_url, "--exit-on", "hello"],
        &[("NO_PROXY", "127.0.0.1")],
    )
    .finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert!(proxy.heads().len() >= before + 2, "{:?}", proxy.heads());
}

#[test]
fn no_reconnect_exits_1_when_the_connection_ends() {
    let fake = fake();
    let mut p = tail(&fake, &["--no-reconnect"]);
    assert_eq!(p.next_line(), HELLO);
    fake.close_all(1000, "going away");
    let f = p.finish();
    assert_eq!(f.code(), Some(1), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO]);
    assert_eq!(f.own_err_lines().len(), 1, "{:?}", f.err);
    assert!(
        f.err.last().unwrap().starts_with("slack-rtm: "),
        "{:?}",
        f.err
    );
    assert_eq!(fake.calls_to("rtm.connect"), 1);
}

#[test]
fn no_reconnect_exits_1_when_the_first_connect_fails() {
    let fake = fake();
    fake.push_connect_reply(ConnectReply::HttpStatus(503));
    let f = tail(&fake, &["--no-reconnect"]).finish();
    assert_eq!(f.code(), Some(1), "stderr: {:?}", f.err);
    assert!(f.out.is_empty());
    assert_eq!(f.own_err_lines().len(), 1, "{:?}", f.err);
    assert_eq!(fake.calls_to("rtm.connect"), 1);
}

#[test]
fn without_no_reconnect_a_dropped_connection_is_replaced() {
    let fake = fake();
    let mut p = tail(&fake, &[]);
    assert_eq!(p.next_line(), HELLO);
    fake.drop_all();
    assert_eq!(p.next_line(), HELLO, "a second hello after reconnecting");
    assert!(fake.wait_for_connections(2, SOON));
    assert_eq!(fake.calls_to("rtm.connect"), 2);
    // The new connection works: frames still print.
    assert_eq!(fake.send_text(r#"{"type":"again"}"#), 1);
    assert_eq!(p.next_line(), r#"{"type":"again"}"#);
    p.signal("TERM");
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO, HELLO, r#"{"type":"again"}"#]);
}

// ----- tail: signals -----

#[test]
fn sigint_sigterm_and_sighup_stop_tail_with_0() {
    let fake = fake();
    // Three clients at once: a stop takes up to the reader's 1 s read tick.
    let mut procs: Vec<(&str, Proc)> = ["INT", "TERM", "HUP"]
        .into_iter()
        .map(|sig| (sig, tail(&fake, &[])))
        .collect();
    for (sig, p) in &mut procs {
        // Only once hello is printed is the client surely running (and handling signals).
        assert_eq!(p.next_line(), HELLO);
        p.signal(sig);
    }
    for (sig, p) in procs {
        let f = p.finish();
        assert_eq!(f.code(), Some(0), "SIG{sig}: {:?} / {:?}", f.status, f.err);
        assert_eq!(f.out, [HELLO]);
        assert!(f.own_err_lines().is_empty(), "{:?}", f.err);
        assert!(
            f.err.iter().any(|l| l.contains("stop signal received")),
            "{:?}",
            f.err
        );
    }
}

#[test]
fn a_second_sigint_during_the_stop_exits_130() {
    let fake = fake();
    // stdout is a pipe nobody reads: once it is full, the handler printing frames is stuck,
    // so the graceful stop cannot finish and the second SIGINT is sure to arrive during it.
    let url = fake.api_url();
    let mut child = command(
        &["tail", "--api-url", url.as_str()],
        &[("SLACK_BOT_TOKEN", TOKEN)],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn slack-rtm");
    let _stdout = child.stdout.take();
    let (err_rx, _t) = line_reader(child.stderr.take().expect("stderr"));
    let mut err = Vec::new();
    let mut wait_err = |needle: &str| {
        let deadline = Instant::now() + SOON;
        while !err.iter().any(|l: &String| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match err_rx.recv_timeout(left) {
                Ok(l) => err.push(l),
                Err(_) => panic!("no {needle:?} on stderr: {err:?}"),
            }
        }
    };
    let pid = child.id().to_string();
    if !fake.wait_for_open(1, SOON) {
        let _ = child.kill();
        panic!("tail never connected");
    }
    let kill = |sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
    };
    // 4 MB of events: far more than a pipe holds.
    fake.flood(
        &format!(r#"{{"type":"message","text":"{}"}}"#, "x".repeat(200)),
        20_000,
    );
    // Wait (bounded) until one of its threads is blocked writing the full pipe.
    let blocked = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|t| {
                std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains("pipe"))
            })
    };
    let deadline = Instant::now() + SOON;
    while !blocked() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("tail never blocked on its stdout pipe");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill("-INT");
    wait_err("stop signal received");
    kill("-INT");
    let deadline = Instant::now() + SOON;
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("slack-rtm did not exit after the second SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
}

// ----- serve -----

#[test]
fn serve_and_tail_talk_to_each_other() {
    let mut serve = Proc::spawn(command(&["serve"], &[]));
    let first = serve.next_line();
    let url = first
        .strip_prefix("SLACK_API_URL=")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/"),
        "{url}"
    );

    let mut tail = Proc::spawn(command(
        &["tail", "--exit-on", "custom_event"],
        &[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_API_URL", &url)],
    ));
    assert_eq!(tail.next_line(), HELLO);
    // Typed on serve's stdin: key order and spacing kept.
    let event = r#"{"type":"custom_event","zeta":1, "alpha":[true]}"#;
    serve.write_line("not json");
    serve.write_line(event);
    let f = tail.finish();
    assert_eq!(f.code(), Some(0), "tail stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO, event]);

    serve.wait_err("stdin line 1 skipped");
    serve.signal("INT");
    let f = serve.finish();
    assert_eq!(f.code(), Some(0), "serve stderr: {:?}", f.err);
    assert_eq!(f.out.len(), 1, "only the URL line on stdout: {:?}", f.out);
}

#[test]
fn serve_listens_on_the_given_port_and_stops_on_sigterm() {
    // A port that was free a moment ago (the binary must bind exactly it).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut serve = Proc::spawn(command(&["serve", "--port", &port.to_string()], &[]));
    assert_eq!(
        serve.next_line(),
        format!("SLACK_API_URL=http://127.0.0.1:{port}/api/")
    );
    serve.signal("TERM");
    let f = serve.finish();
    assert_eq!(f.code(), Some(0), "serve stderr: {:?}", f.err);
    assert_eq!(f.out.len(), 1, "{:?}", f.out);
}

// ----- demo -----

#[test]
fn demo_runs_offline_and_ignores_any_token() {
    for env in [
        &[][..],
        &[
            ("SLACK_BOT_TOKEN", "xoxb-bogus"),
            ("SLACK_API_URL", "http://127.0.0.1:9/api/"),
        ][..],
    ] {
        let f = run(&["demo"], env);
        assert_eq!(f.code(), Some(0), "{env:?}: {:?}", f.err);
        let out = f.out.join("\n");
        assert!(out.contains("Hi <@U0ALICE001>!"), "{out}");
        assert!(out.contains("Hi <@U0BOB00001>!"), "{out}");
        // The App part, over Socket Mode: a message, a click, a command and its ack.
        assert!(
            out.contains("app said in C0FAKE0001: Hey there <@U0FAKEUSR1>! [button: Click Me]"),
            "{out}"
        );
        assert!(
            out.contains("app said in C0FAKE0001: <@U0FAKEUSR1> clicked the button"),
            "{out}"
        );
        assert!(
            out.contains(
                r#"/hello acked with: {"text":"Hello <@U0FAKEUSR1>, from a slash command!"}"#
            ),
            "{out}"
        );
        assert!(!out.contains("xoxb-bogus"));
    }
}

// ----- tail: a stdout nobody reads -----

/// `slack-rtm tail` whose stdout is a pipe that is never read, with its stderr read by lines.
struct Blocked {
    proc: Proc,
    /// The read end of the child's stdout, held open and never read.
    stdout: std::process::ChildStdout,
}

/// Starts `tail` against `fake`, floods it until its stdout pipe is full (so the handler that
/// prints frames is blocked in `write`), and returns it.
fn tail_with_blocked_stdout(fake: &FakeSlack) -> Blocked {
    use std::os::fd::AsRawFd;

    let url = fake.api_url();
    let mut child = command(
        &["tail", "--api-url", url.as_str()],
        &[("SLACK_BOT_TOKEN", TOKEN)],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn slack-rtm");
    let stdout = child.stdout.take().expect("stdout");
    let stdin = child.stdin.take();
    let (err_rx, t) = line_reader(child.stderr.take().expect("stderr"));
    // A channel that never gets a line: stdout is not read.
    let (_, out_rx) = mpsc::channel();
    let mut proc = Proc {
        child,
        stdin,
        out_rx,
        err_rx,
        readers: vec![t],
        out: Vec::new(),
        err: Vec::new(),
    };
    assert!(fake.wait_for_connections(1, SOON), "{}", proc.context());
    let fd = stdout.as_raw_fd();
    // SAFETY: plain fcntl/ioctl queries on a pipe fd this test owns.
    let capacity = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    assert!(capacity > 0, "F_GETPIPE_SZ failed");
    let event = json!({"type": "flood", "pad": "x".repeat(200)}).to_string();
    // Many times the pipe's capacity: the rest waits in the client and the socket.
    fake.flood(&event, 20 * capacity as usize / event.len());
    // Full: nearly all of the capacity used (the kernel packs lines into pages, so a little
    // stays free) and no growth for a while although far more frames are on their way.
    let deadline = Instant::now() + SOON;
    let mut last = (0, Instant::now());
    loop {
        let mut pending: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int.
        let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut pending) };
        assert_eq!(rc, 0, "FIONREAD failed");
        if pending != last.0 {
            last = (pending, Instant::now());
        } else if pending > capacity - capacity / 8
            && last.1.elapsed() >= Duration::from_millis(200)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stdout pipe not full within {SOON:?} ({pending} of {capacity} bytes)\n{}",
            proc.context()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Blocked { proc, stdout }
}

impl Blocked {
    /// Waits for the exit (bounded), then collects stderr; the unread stdout is dropped.
    fn finish(self, within: Duration) -> (Finished, Duration) {
        let Blocked { mut proc, stdout } = self;
        let start = Instant::now();
        let deadline = start + within;
        let status = loop {
            match proc.child.try_wait().expect("try_wait") {
                Some(status) => break status,
                None if Instant::now() >= deadline => {
                    panic!(
                        "slack-rtm did not exit within {within:?}\n{}",
                        proc.context()
                    )
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let took = start.elapsed();
        drop(stdout);
        proc.close_stdin();
        let deadline = Instant::now() + SOON;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match proc.err_rx.recv_timeout(left) {
                Ok(line) => proc.err.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stderr not closed"),
            }
        }
        for t in proc.readers.drain(..) {
            t.join().expect("reader thread");
        }
        let f = Finished {
            status,
            out: Vec::new(),
            err: std::mem::take(&mut proc.err),
        };
        (f, took)
    }
}

#[test]
fn a_second_stop_signal_exits_at_once_even_when_stdout_is_blocked() {
    for (first, second, code) in [("TERM", "TERM", 143), ("HUP", "INT", 130)] {
        let fake = FakeSlack::builder()
            .echo_messages(false)
            .start()
            .expect("fake");
        let mut b = tail_with_blocked_stdout(&fake);
        b.proc.signal(first);
        b.proc.wait_err("stop signal received");
        b.proc.signal(second);
        // Well before the stuck-stop grace period (5 s) would end it.
        let (f, took) = b.finish(Duration::from_secs(3));
        assert_eq!(
            f.code(),
            Some(code),
            "SIG{first} then SIG{second}: {:?} / {:?}",
            f.status,
            f.err
        );
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(f.own_err_lines().is_empty(), "{:?}", f.err);
    }
}

#[test]
fn one_stop_signal_ends_a_stop_stuck_on_a_blocked_stdout_after_the_grace_period() {
    let fake = fake();
    let b = tail_with_blocked_stdout(&fake);
    b.proc.signal("TERM");
    // The grace period is 5 s.
    let (f, took) = b.finish(Duration::from_secs(5) + SOON);
    assert_eq!(f.code(), Some(143), "{:?} / {:?}", f.status, f.err);
    assert!(took >= Duration::from_secs(4), "{took:?}");
    let own = f.own_err_lines();
    assert_eq!(own.len(), 1, "{:?}", f.err);
    assert!(own[0].contains("did not finish within 5 s"), "{own:?}");
}

// ----- tail: stdin bounds -----

/// A process's peak resident set, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_huge_stdin_line_is_skipped_without_being_held() {
    let fake = fake();
    let mut p = tail(&fake, &["--exit-on", "reply"]);
    assert_eq!(p.next_line(), HELLO);
    let before = peak_rss_kib(p.pid());
    // 48 MiB in one line, written in pieces as a producer would.
    {
        let stdin = p.stdin.as_mut().expect("stdin");
        let piece = vec![b'x'; 1024 * 1024];
        for _ in 0..48 {
            stdin.write_all(&piece).expect("write");
        }
        stdin.write_all(b"\n").expect("write");
    }
    p.write_line(r#"{"type":"message","channel":"C0GENERAL1","text":"after the big one"}"#);
    p.wait_err("stdin line 1 skipped: longer than 65536 bytes");
    let peak = peak_rss_kib(p.pid());
    let f = p.finish();
    assert_eq!(f.code(), Some(0), "{:?}", f.err);
    assert_eq!(f.out.len(), 2, "hello and the ack of line 2: {:?}", f.out);
    assert!(
        peak < before + 16 * 1024,
        "peak RSS grew from {before} KiB to {peak} KiB for a skipped line"
    );
    let texts: Vec<_> = frames_of_type(&fake, "message")
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("after the big one")]);
}

// ----- version and arguments -----

#[test]
fn every_command_prints_its_version() {
    let expected = format!("slack-rtm {}", env!("CARGO_PKG_VERSION"));
    for args in [
        &["--version"][..],
        &["-V"][..],
        &["tail", "--version"][..],
        &["serve", "--version"][..],
        &["demo", "--version"][..],
        &["demo", "-V"][..],
    ] {
        let f = run(args, &[]);
        assert_eq!(f.code(), Some(0), "{args:?}: {:?}", f.err);
        assert_eq!(f.out, [expected.as_str()], "{args:?}");
        assert!(f.err.is_empty(), "{args:?}: {:?}", f.err);
    }
}

#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"--api-url=\xffbad");
    for args in [vec![bad], vec!["tail".as_ref(), bad]] {
        let mut cmd = command(&[], &[("SLACK_BOT_TOKEN", TOKEN)]);
        cmd.args(&args);
        let mut p = Proc::spawn(cmd);
        p.close_stdin();
        let f = p.finish();
        assert_usage_error(&f, "not valid UTF-8");
    }
}

#[test]
fn every_help_has_an_environment_section() {
    for (args, names) in [
        (
            &["--help"][..],
            &[
                "SLACK_BOT_TOKEN",
                "SLACK_API_TOKEN",
                "SLACK_API_URL",
                "HTTPS_PROXY",
                "NO_PROXY",
                "RUST_LOG",
            ][..],
        ),
        (
            &["tail", "--help"][..],
            &[
                "SLACK_BOT_TOKEN",
                "SLACK_API_TOKEN",
                "SLACK_API_URL",
                "ALL_PROXY",
                "HTTPS_PROXY",
                "HTTP_PROXY",
                "NO_PROXY",
                "RUST_LOG",
            ][..],
        ),
        (&["serve", "--help"][..], &["RUST_LOG"][..]),
        (&["demo", "--help"][..], &["RUST_LOG"][..]),
    ] {
        let help = run(args, &[]).out.join("\n");
        let env = help
            .split_once("\nEnvironment:\n")
            .unwrap_or_else(|| panic!("{args:?}: no Environment section:\n{help}"))
            .1;
        for name in names {
            assert!(env.contains(name), "{args:?}: {name} missing:\n{env}");
        }
    }
}

#[test]
fn serve_skips_a_stdin_line_over_4_mib_and_reads_on() {
    let mut serve = Proc::spawn(command(&["serve"], &[]));
    let first = serve.next_line();
    let url = first
        .strip_prefix("SLACK_API_URL=")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    let mut tail = Proc::spawn(command(
        &["tail", "--exit-on", "after_big"],
        &[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_API_URL", &url)],
    ));
    assert_eq!(tail.next_line(), HELLO);
    {
        let stdin = serve.stdin.as_mut().expect("stdin");
        let piece = vec![b' '; 1024 * 1024];
        stdin
            .write_all(b"{\"type\":\"big\",\"pad\":\"")
            .expect("write");
        for _ in 0..5 {
            stdin.write_all(&piece).expect("write");
        }
        stdin.write_all(b"\"}\n").expect("write");
    }
    serve.write_line(r#"{"type":"after_big"}"#);
    serve.wait_err("stdin line 1 skipped: longer than 4194304 bytes");
    let f = tail.finish();
    assert_eq!(f.code(), Some(0), "tail stderr: {:?}", f.err);
    assert_eq!(f.out, [HELLO, r#"{"type":"after_big"}"#]);
    serve.signal("TERM");
    let f = serve.finish();
    assert_eq!(f.code(), Some(0), "serve stderr: {:?}", f.err);
}

// ----- rough edges a new user hit -----

#[test]
fn a_closed_stdout_ends_quietly_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    for args in [&["--help"][..], &["serve", "--help"], &["demo"]] {
        let mut child = command(args, &[])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slack-rtm");
        // The reader leaves at once, as `| head -0` would.
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A token that is set but not UTF-8 is named as such (usage error), not "no token".
    let bad = std::ffi::OsStr::from_bytes(b"xoxb-\xff");
    let out = command(&["tail"], &[])
        .env("SLACK_BOT_TOKEN", bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SLACK_BOT_TOKEN is not valid UTF-8"), "{err}");
}

#[test]
fn serve_token_guards_socket_mode_and_unknown_commands_are_named() {
    let app = "xapp-1-A1-1-good";
    let mut serve = Proc::spawn(command(&["serve", "--token", app], &[]));
    let first = serve.next_line();
    let url = first.strip_prefix("SLACK_API_URL=").unwrap().to_string();
    // Another app token is refused: exit 3.
    let f = run(
        &["socket", "--api-url", &url],
        &[("SLACK_APP_TOKEN", "xapp-1-A1-1-wrong")],
    );
    assert_eq!(f.code(), Some(3), "{:?}", f.err);
    assert!(f.all_output().contains("invalid_auth"), "{:?}", f.err);
    // A bot token in SLACK_APP_TOKEN is a usage error that says what to do.
    let f = run(
        &["socket", "--api-url", &url],
        &[("SLACK_APP_TOKEN", "xoxb-1-bot")],
    );
    assert_usage_error(&f, "app-level token");
    serve.write_line("!bogus x");
    serve.wait_err("unknown command !bogus");
    serve.signal("INT");
    assert_eq!(serve.finish().code(), Some(0));
}
