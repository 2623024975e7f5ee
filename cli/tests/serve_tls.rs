//! `slack-rtm serve --tls`: HTTPS/WSS with a CA made at start, its PEM in a temporary file that
//! `tail --ca-file` trusts, removed when serve stops. Black-box tests on the binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const TOKEN: &str = "xoxb-serve-tls-test";
/// How long any one step may take.
const SOON: Duration = Duration::from_secs(20);
const HELLO: &str = r#"{"type":"hello"}"#;

/// Variables of the caller's environment that would change what the binary does.
const CONTROLLED_ENV: &[&str] = &[
    "SLACK_BOT_TOKEN",
    "SLACK_API_TOKEN",
    "SLACK_API_URL",
    "RUST_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

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

/// A running child; killed (by its pid) on drop if a test fails before it ends.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<String>,
    err: Receiver<String>,
}

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slack-rtm");
        let out = lines(child.stdout.take().expect("stdout"));
        let err = lines(child.stderr.take().expect("stderr"));
        let stdin = child.stdin.take();
        Proc {
            child,
            stdin,
            out,
            err,
        }
    }

    fn next_line(&mut self) -> String {
        self.out
            .recv_timeout(SOON)
            .unwrap_or_else(|_| panic!("no stdout line within {SOON:?}"))
    }

    fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill {sig}");
    }

    /// Waits for the exit (at most `SOON`); returns the status and all of stdout and stderr
    /// not read yet.
    fn finish(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + SOON;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "no exit within {SOON:?}");
            std::thread::sleep(Duration::from_millis(10));
        };
        let drain = |rx: &Receiver<String>| {
            let mut v = Vec::new();
            while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
                v.push(l);
            }
            v
        };
        (status, drain(&self.out), drain(&self.err))
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

/// `serve --tls` and its two lines: the https URL and the CA file.
fn serve_tls(extra: &[&str]) -> (Proc, String, String) {
    let mut args = vec!["serve", "--tls"];
    args.extend_from_slice(extra);
    let mut serve = Proc::spawn(command(&args, &[]));
    let first = serve.next_line();
    let url = first
        .strip_prefix("SLACK_API_URL=")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    assert!(
        url.starts_with("https://127.0.0.1:") && url.ends_with("/api/"),
        "{url}"
    );
    let second = serve.next_line();
    let ca = second
        .strip_prefix("SLACK_CA_FILE=")
        .unwrap_or_else(|| panic!("second line {second:?}"))
        .to_string();
    let pem = std::fs::read_to_string(&ca).expect("the CA file exists while serve runs");
    assert!(
        pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "a PEM certificate: {pem}"
    );
    (serve, url, ca)
}

#[test]
fn tail_with_the_ca_file_talks_to_serve_tls_and_the_file_goes_when_serve_stops() {
    let (mut serve, url, ca) = serve_tls(&[]);
    let mut tail = Proc::spawn(command(
        &["tail", "--ca-file", &ca, "--exit-on", "custom_event"],
        &[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_API_URL", &url)],
    ));
    assert_eq!(tail.next_line(), HELLO);
    let event = r#"{"type":"custom_event","over":"wss"}"#;
    serve.write_line(event);
    let (status, out, err) = tail.finish();
    assert_eq!(status.code(), Some(0), "tail stderr: {err:?}");
    assert_eq!(out, [event]);

    serve.signal(libc::SIGTERM);
    let (status, out, err) = serve.finish();
    assert_eq!(status.code(), Some(0), "serve stderr: {err:?}");
    assert!(out.is_empty(), "only the two lines on stdout: {out:?}");
    assert!(!Path::new(&ca).exists(), "{ca} removed when serve stopped");
}

#[test]
fn tail_without_the_ca_refuses_the_certificate() {
    let (serve, url, ca) = serve_tls(&[]);
    let tail = Proc::spawn(command(
        &["tail", "--no-reconnect"],
        &[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_API_URL", &url)],
    ));
    let (status, out, err) = tail.finish();
    assert_eq!(status.code(), Some(1), "tail stderr: {err:?}");
    assert!(out.is_empty(), "{out:?}");
    let all = err.join("\n").to_lowercase();
    assert!(
        all.contains("certificate") || all.contains("tls"),
        "a TLS error on stderr: {err:?}"
    );
    drop(serve);
    // A killed serve cannot clean up; the test removes what it left.
    let _ = std::fs::remove_file(ca);
}

#[test]
fn serve_tls_bench_answers_commands_and_stops_on_eof_without_its_ca_file() {
    let (mut serve, url, ca) = serve_tls(&["--bench"]);
    let mut tail = Proc::spawn(command(
        &["tail", "--ca-file", &ca, "--exit-on", "bench_flood_done"],
        &[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_API_URL", &url)],
    ));
    assert_eq!(tail.next_line(), HELLO);
    serve.write_line("!clients");
    let answer = serve.next_line();
    assert!(
        answer.starts_with("BENCH ") && answer.contains(r#""open":1"#),
        "{answer}"
    );
    // An ignored flood: the frames under type `ignored`, then `bench_flood_done`.
    serve.write_line("!flood 3 small-ignored");
    let answer = serve.next_line();
    assert!(answer.contains(r#""cmd":"flood""#), "{answer}");
    let (status, out, err) = tail.finish();
    assert_eq!(status.code(), Some(0), "tail stderr: {err:?}");
    assert_eq!(out.len(), 4, "{out:?}");
    for line in &out[..3] {
        assert!(line.starts_with(r#"{"type":"ignored","#), "{line}");
    }
    assert_eq!(out[3], r#"{"type":"bench_flood_done","n":3}"#);

    drop(serve.stdin.take());
    let (status, _, err) = serve.finish();
    assert_eq!(status.code(), Some(0), "serve stderr: {err:?}");
    assert!(!Path::new(&ca).exists(), "{ca} removed when serve stopped");
}
