//! `slack-rtm serve --deliver URL --signing-secret S`: `!event`, `!command` and `!interactive`
//! reach an HTTP app as Slack sends them (content types, Slack's user agent, a signature the
//! library verifies, form fields in Slack's order), each answer is one JSON line on stdout, bad
//! lines and an unreachable app are reported, and the flags are checked.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::Value;
use slack_rtm::app::http::{HttpReceiverBuilder, HttpRunning};
use slack_rtm::app::signature::{unix_now, verify};
use slack_rtm::app::{AppRequest, AppResponse};

const SOON: Duration = Duration::from_secs(10);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A running `slack-rtm serve`, killed on drop.
struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("SLACK_SIGNING_SECRET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slack-rtm serve");
        let stdin = child.stdin.take();
        let out = lines(child.stdout.take().expect("stdout"));
        let err = lines(child.stderr.take().expect("stderr"));
        let first = out.recv_timeout(SOON).expect("the URL line");
        assert!(first.starts_with("SLACK_API_URL="), "{first}");
        Serve {
            child,
            stdin,
            out,
            err,
        }
    }

    /// Types `line` and returns the JSON line printed for it.
    fn answer(&mut self, line: &str) -> Value {
        let out = self.raw_answer(line);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out:?}: {e}"))
    }

    /// Types `line` and returns the answer line as printed.
    fn raw_answer(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        self.out.recv_timeout(SOON).expect("an answer line")
    }

    /// Types `line` and waits for a stderr line containing `needle`.
    fn refused(&mut self, line: &str, needle: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        loop {
            let l = self.err.recv_timeout(SOON).expect("a stderr line");
            if l.contains(needle) {
                return;
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP app that verifies each request's signature and answers by kind.
fn app() -> (HttpRunning, Receiver<AppRequest>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let run = HttpReceiverBuilder::new("127.0.0.1:0", move |req: AppRequest| {
        let verified = verify(
            SECRET,
            req.header("x-slack-request-timestamp"),
            req.header("x-slack-signature"),
            &req.body,
            unix_now(),
        );
        let _ = tx.lock().unwrap().send(req.clone());
        if verified.is_err() {
            return AppResponse::status(401);
        }
        if req.header("content-type") == Some("application/json") {
            AppResponse::ok()
        } else {
            AppResponse::json(&serde_json::json!({"text": "got it"}))
        }
    })
    .handle_signals(false)
    .spawn()
    .unwrap();
    (run, rx)
}

#[test]
fn deliver_posts_signed_slack_requests_and_prints_each_answer() {
    let (run, seen) = app();
    let url = format!("http://{}/slack/events", run.local_addr());
    let mut serve = Serve::start(&["--deliver", &url, "--signing-secret", SECRET]);

    let a = serve.answer(r#"!event {"type":"app_mention","text":"<@U0FAKEBOT1> hi","user":"U0FAKEUSR1","channel":"C0FAKE0001"}"#);
    assert_eq!(a["status"], 200, "{a}");
    assert_eq!(a["body"], "");
    assert!(a["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{a}");
    let req = seen.recv_timeout(SOON).unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/slack/events");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("user-agent"),
        Some("Slackbot 1.0 (+https://api.slack.com/robots)")
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["type"], "event_callback");
    assert_eq!(body["event"]["type"], "app_mention");
    assert!(body["event_id"]
        .as_str()
        .is_some_and(|id| id.starts_with("Ev")));

    let a = serve.answer("!command /deploy prod now & then");
    assert_eq!(
        (a["status"].as_u64(), a["body"].as_str()),
        (Some(200), Some(r#"{"text":"got it"}"#))
    );
    let req = seen.recv_timeout(SOON).unwrap();
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = String::from_utf8(req.body).unwrap();
    let names: Vec<&str> = form
        .split('&')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "token",
            "team_id",
            "team_domain",
            "channel_id",
            "channel_name",
            "user_id",
            "user_name",
            "command",
            "text",
            "api_app_id",
            "is_enterprise_install",
            "response_url",
            "trigger_id"
        ]
    );
    assert!(
        form.contains("&command=%2Fdeploy&text=prod+now+%26+then&"),
        "{form}"
    );

    let a = serve.answer(r#"!interactive {"type":"block_actions","actions":[{"action_id":"approve","value":"a&b"}]}"#);
    assert_eq!(a["status"], 200);
    let req = seen.recv_timeout(SOON).unwrap();
    let form = String::from_utf8(req.body).unwrap();
    assert!(form.starts_with("payload=%7B%22"), "{form}");
    assert!(!form.contains('&'), "one field only: {form}");

    // Bad lines are skipped with a reason; nothing is sent.
    serve.refused("!event [1]", "must be a JSON object");
    serve.refused("!command deploy", "starting with /");
    serve.refused(r#"!interactive {"x":1}"#, "string \"type\"");
    assert!(seen.try_recv().is_err());
}

#[test]
fn a_wrong_secret_gets_401_and_an_unreachable_app_an_error_line() {
    let (run, _seen) = app();
    let url = format!("http://{}/slack/events", run.local_addr());
    let mut serve = Serve::start(&["--deliver", &url, "--signing-secret", "not-the-secret"]);
    assert_eq!(serve.answer("!command /deploy")["status"], 401);
    drop(serve);
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        a
    };
    let mut serve = Serve::start(&[
        "--deliver",
        &format!("http://{dead}/slack/events"),
        "--signing-secret",
        SECRET,
    ]);
    let a = serve.answer("!command /deploy");
    assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "{a}");
}

#[test]
fn each_answer_line_reads_as_documented_status_first() {
    let (run, _seen) = app();
    let url = format!("http://{}/slack/events", run.local_addr());
    let mut serve = Serve::start(&["--deliver", &url, "--signing-secret", SECRET]);
    let line = serve.raw_answer("!command /deploy prod");
    assert!(line.starts_with("{\"status\":200,\"body\":"), "{line}");
    assert!(line.contains(",\"latency_ms\":"), "{line}");
    run.stop();
}

#[test]
fn deliver_flags_are_checked() {
    let usage = |args: &[&str], needle: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
            .arg("serve")
            .args(args)
            .env_remove("SLACK_SIGNING_SECRET")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    };
    usage(&["--deliver", "http://127.0.0.1:9/x"], "signing secret");
    usage(
        &["--deliver", "127.0.0.1:9", "--signing-secret", "s"],
        "http:// or https://",
    );
    usage(
        &["--deliver", "http://127.0.0.1:9/x", "--signing-secret", ""],
        "must not be empty",
    );
    // Without --deliver the flag would do nothing: refused rather than ignored.
    usage(&["--signing-secret", "s"], "only applies with --deliver");
    let help = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--deliver URL"));
}
