//! HTTP mode against Slack's own Python SDKs: signatures made here verify with
//! `slack_sdk.signature.SignatureVerifier` and the reverse (also over the wire: requests it
//! signs are accepted by this crate's receiver and verifier), stale ones fail on both sides; a
//! Bolt for Python app in HTTP mode (`app.start`) answers what the fake's HTTP delivery — the
//! code behind `slack-rtm serve --deliver` — sends: an event, a slash command, a button click, a
//! view submission; and refuses a stale or wrongly signed one.
//!
//! Packages as in `interop_socket_mode.rs` (pinned, in a temporary folder); without `python3`
//! or the registry the tests print one `skipping: …` line and pass.
#![cfg(feature = "testing")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::peers::*;
use serde_json::{json, Value};
use slack_rtm::app::http::HttpReceiverBuilder;
use slack_rtm::app::signature::{sign, unix_now, verify};
use slack_rtm::app::{AppRequest, AppResponse};
use slack_rtm::testing::{self, FakeSlack};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

fn python(packages: &Path, script_name: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(script(script_name)).env("PYTHONPATH", packages);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `http_signature.py` on `cases`; its answers.
fn ask_python(packages: &Path, cases: &Value) -> Vec<Value> {
    let mut child = python(packages, "http_signature.py")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(cases.to_string().as_bytes()).unwrap();
    drop(stdin);
    let mut running = Running::new(child);
    assert!(running.wait(APP_DEADLINE), "{:?}", running.output());
    let (out, err) = running.output();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"))
}

#[test]
fn signatures_agree_with_slack_sdks_signature_verifier() {
    let Some(packages) = python_packages() else {
        return;
    };
    let fake = FakeSlack::builder().start().unwrap();
    let bodies = [
        fake.slash_command_body("/deploy", "prod & then + more"),
        fake.event_body(json!({"type": "app_mention", "text": "héllo ✓ <@U0FAKEBOT1>"})),
        testing::interactive_body(&json!({"type": "block_actions", "actions": []})),
        String::new(),
    ];
    let now = unix_now();
    let ts = now.to_string();
    let mut cases = Vec::new();
    for body in &bodies {
        // Ours (the library's and the fake's) verified there ...
        cases.push(
            json!({"op": "verify", "secret": SECRET, "ts": ts, "body": body,
                          "sig": sign(SECRET, now, body.as_bytes())}),
        );
        cases.push(
            json!({"op": "verify", "secret": SECRET, "ts": ts, "body": body,
                          "sig": testing::sign(SECRET, now, body.as_bytes())}),
        );
        // ... a tampered one and a stale one refused there ...
        let mut tampered = sign(SECRET, now, body.as_bytes());
        tampered.replace_range(3..4, if tampered[3..4] == *"0" { "1" } else { "0" });
        cases.push(
            json!({"op": "verify", "secret": SECRET, "ts": ts, "body": body,
                          "sig": tampered}),
        );
        let stale = now - 301;
        cases.push(
            json!({"op": "verify", "secret": SECRET, "ts": stale.to_string(),
                          "body": body, "sig": sign(SECRET, stale, body.as_bytes())}),
        );
        // ... and theirs made there.
        cases.push(json!({"op": "sign", "secret": SECRET, "ts": ts, "body": body}));
    }
    let answers = ask_python(&packages, &Value::from(cases));
    for (i, body) in bodies.iter().enumerate() {
        let a = &answers[i * 5..i * 5 + 5];
        assert_eq!(a[0]["ok"], true, "ours, verified by slack_sdk: {body:?}");
        assert_eq!(
            a[1]["ok"], true,
            "the fake's, verified by slack_sdk: {body:?}"
        );
        assert_eq!(a[2]["ok"], false, "tampered: {body:?}");
        assert_eq!(a[3]["ok"], false, "stale: {body:?}");
        let theirs = a[4]["sig"].as_str().unwrap();
        assert_eq!(
            verify(SECRET, Some(&ts), Some(theirs), body.as_bytes(), now),
            Ok(()),
            "slack_sdk's, verified here: {body:?}"
        );
        assert_eq!(theirs, sign(SECRET, now, body.as_bytes()));
    }
    say(&format!(
        "slack_sdk SignatureVerifier: {} bodies agree both ways",
        bodies.len()
    ));
}

#[test]
fn requests_signed_by_slack_sdk_are_accepted_by_the_receiver() {
    let Some(packages) = python_packages() else {
        return;
    };
    let run = HttpReceiverBuilder::new("127.0.0.1:0", |req: AppRequest| {
        match verify(
            SECRET,
            req.header("x-slack-request-timestamp"),
            req.header("x-slack-signature"),
            &req.body,
            unix_now(),
        ) {
            Ok(()) => AppResponse::with_body(200, "text/plain", req.body),
            Err(_) => AppResponse::status(401),
        }
    })
    .handle_signals(false)
    .spawn()
    .unwrap();
    let url = format!("http://{}/slack/events", run.local_addr());
    let fake = FakeSlack::builder().start().unwrap();
    let form = fake.slash_command_body("/deploy", "prod");
    let cases = json!([
        {"op": "post", "secret": SECRET, "url": url, "body": form,
         "content_type": "application/x-www-form-urlencoded"},
        {"op": "post", "secret": "another secret", "url": url, "body": form,
         "content_type": "application/x-www-form-urlencoded"},
    ]);
    let answers = ask_python(&packages, &cases);
    assert_eq!(answers[0]["status"], 200, "{answers:?}");
    assert_eq!(answers[0]["body"], form);
    assert_eq!(answers[1]["status"], 401, "{answers:?}");
}

/// A child app whose stdout lines arrive on a channel; killed on drop.
struct App {
    child: Child,
    lines: Receiver<String>,
}

impl App {
    fn start(mut cmd: Command) -> (App, u16) {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the app");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut app = App { child, lines };
        let first = app.line();
        let port = first
            .strip_prefix("PORT=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("first line {first:?}"));
        (app, port)
    }

    /// The next line, past Bolt's boot message.
    fn line(&mut self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(APP_DEADLINE)
                .expect("a line from the app");
            if !line.contains("Bolt app is running") {
                return line;
            }
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Delivers until the app answers (its server starts a moment after it prints the port).
fn first_delivery(delivery: &testing::HttpDelivery<'_>) -> testing::HttpAnswer {
    let until = std::time::Instant::now() + APP_DEADLINE;
    loop {
        match delivery.event(json!({"type": "app_mention", "text": "<@U0FAKEBOT1> hi",
                                   "user": "U0FAKEUSR1", "channel": "C0FAKE0001"}))
        {
            Ok(d) => return d,
            Err(e) if std::time::Instant::now() > until => panic!("the app never answered: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[test]
fn a_bolt_for_python_http_app_answers_what_the_fake_delivers() {
    let Some(packages) = python_packages() else {
        return;
    };
    let mut cmd = python(&packages, "http_bolt.py");
    cmd.env("SLACK_SIGNING_SECRET", SECRET);
    let (mut app, port) = App::start(cmd);
    let fake = FakeSlack::builder().start().unwrap();
    let url = format!("http://127.0.0.1:{port}/slack/events");
    let delivery = fake.http_delivery(&url, SECRET);

    let event = first_delivery(&delivery);
    assert_eq!((event.status, event.body.as_str()), (200, ""));
    assert_eq!(app.line(), "event app_mention <@U0FAKEBOT1> hi");

    let command = delivery.slash_command("/deploy", "prod & staging").unwrap();
    assert_eq!(command.status, 200, "{command:?}");
    // Bolt answers a text-only ack as text/plain, which Slack accepts for commands.
    assert_eq!(command.body, "deploying prod & staging");
    assert_eq!(app.line(), "command /deploy prod & staging");

    let click = delivery
        .interactive(&json!({
            "type": "block_actions",
            "user": {"id": "U0FAKEUSR1", "username": "fakeuser", "team_id": "T0FAKETEAM"},
            "api_app_id": "A0FAKEAPP1",
            "team": {"id": "T0FAKETEAM", "domain": "fake"},
            "trigger_id": "1.2.3",
            "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0FAKE0001"},
            "channel": {"id": "C0FAKE0001", "name": "general"},
            "response_url": "http://127.0.0.1:9/actions/x",
            "actions": [{"action_id": "approve", "block_id": "b", "type": "button",
                         "value": "v=1&two", "action_ts": "1.2"}],
        }))
        .unwrap();
    assert_eq!(click.status, 200, "{click:?}");
    assert_eq!(app.line(), "action approve v=1&two");

    let submit = delivery
        .interactive(&json!({
            "type": "view_submission",
            "team": {"id": "T0FAKETEAM", "domain": "fake"},
            "user": {"id": "U0FAKEUSR1", "team_id": "T0FAKETEAM"},
            "api_app_id": "A0FAKEAPP1",
            "trigger_id": "1.2.3",
            "view": {"id": "V1", "type": "modal", "callback_id": "deploy_modal",
                     "private_metadata": "", "state": {"values": {}}},
        }))
        .unwrap();
    assert_eq!(submit.status, 200, "{submit:?}");
    let body: Value = serde_json::from_str(&submit.body).unwrap();
    assert_eq!(
        body,
        json!({"response_action": "errors", "errors": {"env": "pick one"}})
    );
    assert_eq!(app.line(), "view deploy_modal");

    // Bolt refuses what is stale or signed with another secret.
    let form = fake.slash_command_body("/deploy", "x");
    let stale = delivery
        .post_at(
            unix_now() - 400,
            "application/x-www-form-urlencoded",
            form.as_bytes(),
            &[],
        )
        .unwrap();
    assert_eq!(stale.status, 401);
    let wrong = fake
        .http_delivery(&url, "another secret")
        .slash_command("/deploy", "x")
        .unwrap();
    assert_eq!(wrong.status, 401);
    say(&format!(
        "slack_bolt HTTP app: event {:?}, command {:?}",
        event.latency, command.latency
    ));
}
