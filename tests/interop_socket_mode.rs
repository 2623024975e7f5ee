//! Slack's own Socket Mode clients work against the embedded fake Slack: Python's
//! `slack_sdk.socket_mode` (builtin client), a `slack_bolt` app on it, and Node's
//! `@slack/socket-mode` each receive an `app_mention` event and a `/deploy` slash command, and
//! the fake records their acks (the command's with its response payload).
//!
//! The packages are installed once into a folder under the system's temporary directory (never
//! into the repository). When `python3`/`node` is missing or the package registry cannot be
//! reached, the test prints one `skipping: …` line on stderr and passes.
#![cfg(feature = "testing")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::peers::*;
use serde_json::json;
use slack_rtm::testing::FakeSlack;

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-interop";
const BOT_TOKEN: &str = "xoxb-interop";

/// Starts the app `cmd` against a fresh fake, sends it an event and a slash command, and
/// checks the acks and what the app printed. Returns the fake for further checks.
fn exercise(label: &str, mut cmd: Command) -> FakeSlack {
    let fake = FakeSlack::builder()
        .token(BOT_TOKEN)
        .app_token(APP_TOKEN)
        .start()
        .expect("start the fake");
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
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("SLACK_API_URL", fake.api_url())
        .env("SLACK_APP_TOKEN", APP_TOKEN)
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut app = Running::new(cmd.spawn().expect("start the app"));
    let fail = |app: &mut Running, what: &str| -> ! {
        let _ = app.child.kill();
        let _ = app.child.wait();
        let (out, err) = app.output();
        panic!("{label}: {what}\n--- stdout\n{out}\n--- stderr\n{err}");
    };
    if !fake.wait_for_socket_ready(1, APP_DEADLINE) {
        fail(&mut app, "no Socket Mode connection said hello");
    }
    let event = fake.send_app_mention("deploy please");
    let command = fake.send_slash_command("/deploy", "prod");
    let Some(event_ack) = fake.wait_for_socket_ack(&event, APP_DEADLINE) else {
        fail(&mut app, "the event was not acked");
    };
    let Some(command_ack) = fake.wait_for_socket_ack(&command, APP_DEADLINE) else {
        fail(&mut app, "the slash command was not acked");
    };
    for ack in [&event_ack, &command_ack] {
        assert!(
            ack.known && ack.same_connection && !ack.dropped,
            "{label}: {ack:?}"
        );
        assert!(!ack.duplicate, "{label}: {ack:?}");
    }
    assert_eq!(
        command_ack.payload.as_ref().and_then(|p| p.get("text")),
        Some(&json!("deploying prod")),
        "{label}: the command's response payload"
    );
    // Wait for the app to print both (acks go out before the print).
    let ready = fake.wait_for_socket_acks(2, APP_DEADLINE);
    assert!(ready);
    drop(app.child.stdin.take()); // EOF: the app closes and exits
    let exited = app.wait(APP_DEADLINE);
    let (out, err) = app.output();
    assert!(exited, "{label}: did not exit cleanly\n{out}\n{err}");
    for line in [
        "connected",
        "event app_mention",
        "command /deploy",
        "closed",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "{label}: missing {line:?}\n--- stdout\n{out}\n--- stderr\n{err}"
        );
    }
    assert!(fake.calls_to("apps.connections.open") >= 1);
    say(&format!(
        "{label}: event acked in {:?}, command acked in {:?}",
        event_ack.latency.unwrap_or_default(),
        command_ack.latency.unwrap_or_default()
    ));
    fake
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

#[test]
fn python_slack_sdk_socket_mode_client_works_against_the_fake() {
    let Some(packages) = python_packages() else {
        return;
    };
    let mut cmd = Command::new("python3");
    cmd.arg(script("socket_mode_sdk.py"))
        .env("PYTHONPATH", &packages);
    exercise("slack_sdk SocketModeClient", cmd);
}

#[test]
fn a_python_bolt_app_works_against_the_fake() {
    let Some(packages) = python_packages() else {
        return;
    };
    let mut cmd = Command::new("python3");
    cmd.arg(script("socket_mode_bolt.py"))
        .env("PYTHONPATH", &packages);
    let fake = exercise("slack_bolt App", cmd);
    // Bolt's `say` went through the Web API with the bot token.
    let posted = fake.posted_messages();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0]["text"], "hi from bolt");
    assert!(fake
        .api_calls()
        .iter()
        .any(|c| c.method == "auth.test" && c.token.as_deref() == Some(BOT_TOKEN)));
}

#[test]
fn node_slack_socket_mode_client_works_against_the_fake() {
    let Some(packages) = node_packages() else {
        return;
    };
    let mut cmd = Command::new("node");
    cmd.arg(script("socket_mode_node.js"))
        .env("NODE_PATH", packages.join("node_modules"));
    exercise("@slack/socket-mode", cmd);
}
