//! `slack-rtm socket` against the embedded fake Slack: prints every frame Slack sends, one per
//! line (hello, envelopes of every type, disconnect), prints a redelivered event once, acks
//! every envelope, `--exit-on`, exit codes (2 usage, 3 refused token, 1 link_disabled), and
//! never prints the token.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slack_rtm::testing::{ConnectReply, FakeSlack};

const SOON: Duration = Duration::from_secs(10);
const APP_TOKEN: &str = "xapp-1-A0CLI-1-SeKrEtSoCkEt";

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

struct Socket {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Socket {
    fn start(fake: &FakeSlack, token: &str, args: &[&str]) -> Socket {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
            .arg("socket")
            .args(args)
            .env("SLACK_APP_TOKEN", token)
            .env("SLACK_API_URL", fake.api_url())
            .env("RUST_LOG", "trace")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slack-rtm socket");
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        Socket { child, out, err }
    }

    fn next_json(&self) -> Value {
        let line = self.out.recv_timeout(SOON).expect("a stdout line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Waits for the exit; returns the code and all remaining output.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + SOON;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "slack-rtm socket did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut rest: Vec<String> = self.out.iter().collect();
        rest.extend(self.err.iter());
        (status.code(), rest.join("\n"))
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fake() -> FakeSlack {
    FakeSlack::builder().app_token(APP_TOKEN).start().unwrap()
}

#[test]
fn prints_every_frame_once_and_acks_every_envelope() {
    let fake = fake();
    let socket = Socket::start(&fake, APP_TOKEN, &["--exit-on", "/deploy"]);
    let hello = socket.next_json();
    assert_eq!(hello["type"], "hello");

    let first = fake.send_event(json!({"type": "app_mention", "text": "hi"}));
    let e = socket.next_json();
    assert_eq!(e["envelope_id"], first.as_str());
    // The same event again (a redelivery): acked, not printed.
    let event_id = e["payload"]["event_id"].clone();
    let mut again = e.clone();
    again["envelope_id"] = json!("redelivered-1");
    again["retry_attempt"] = json!(1);
    again["retry_reason"] = json!("timeout");
    fake.send_socket_envelope(&again);
    assert!(fake.wait_for_socket_ack("redelivered-1", SOON).is_some());
    let unknown = fake.send_unknown_envelope("future_thing");
    let e = socket.next_json();
    assert_eq!(
        e["envelope_id"],
        unknown.as_str(),
        "the redelivery was not printed"
    );
    assert_eq!(
        event_id,
        fake.socket_deliveries()[1]
            .event_id
            .clone()
            .unwrap()
            .as_str()
    );

    fake.send_shortcut("s");
    assert_eq!(socket.next_json()["payload"]["type"], "shortcut");
    assert!(fake.send_socket_disconnect(1, "refresh_requested"));
    assert_eq!(socket.next_json()["reason"], "refresh_requested");
    // The client reconnects after the disconnect; then the command ends it (--exit-on).
    assert!(fake.wait_for_socket_ready(1, SOON));
    let cmd = fake.send_slash_command("/deploy", "prod");
    let mut line = socket.next_json();
    while line["type"] == "hello" {
        line = socket.next_json();
    }
    assert_eq!(line["envelope_id"], cmd.as_str());
    let (code, rest) = socket.finish();
    assert_eq!(code, Some(0), "{rest}");
    assert!(!rest.contains("SeKrEt"), "the token was printed: {rest}");
    for id in [first.as_str(), unknown.as_str(), cmd.as_str()] {
        let ack = fake.wait_for_socket_ack(id, SOON).expect("acked");
        assert_eq!(ack.payload, None);
    }
}

#[test]
fn exit_codes() {
    let fake = fake();
    // No token, or a bot token: usage errors.
    let mut child = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
        .arg("socket")
        .env_remove("SLACK_APP_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(2));
    let (code, out) = Socket::start(&fake, "xoxb-SeKrEt", &[]).finish();
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("bot token"), "{out}");
    let (code, out) = Socket::start(&fake, APP_TOKEN, &["--connections", "11"]).finish();
    assert_eq!(code, Some(2), "{out}");

    // A refused token: 3, after one call.
    fake.push_open_reply(ConnectReply::Error("invalid_auth".into()));
    let (code, out) = Socket::start(&fake, APP_TOKEN, &[]).finish();
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("invalid_auth"), "{out}");

    // Socket Mode switched off: 1, with the reason.
    let socket = Socket::start(&fake, APP_TOKEN, &[]);
    assert_eq!(socket.next_json()["type"], "hello");
    fake.set_link_disabled(true);
    assert_eq!(socket.next_json()["reason"], "link_disabled");
    let (code, out) = socket.finish();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("link_disabled"), "{out}");
}

#[test]
fn several_connections_each_say_hello() {
    let fake = fake();
    let socket = Socket::start(
        &fake,
        APP_TOKEN,
        &["--connections", "2", "--exit-on", "/stop"],
    );
    assert_eq!(socket.next_json()["type"], "hello");
    assert_eq!(socket.next_json()["type"], "hello");
    assert!(fake.wait_for_socket_ready(2, SOON));
    let cmd = fake.send_slash_command("/stop", "");
    assert_eq!(socket.next_json()["envelope_id"], cmd.as_str());
    let (code, rest) = socket.finish();
    assert_eq!(code, Some(0), "{rest}");
}
