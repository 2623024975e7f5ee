//! Slack's own Socket Mode clients work against the embedded fake Slack: Python's
//! `slack_sdk.socket_mode` (builtin client), a `slack_bolt` app on it, and Node's
//! `@slack/socket-mode` each receive an `app_mention` event and a `/deploy` slash command, and
//! the fake records their acks (the command's with its response payload).
//!
//! The packages are installed once into a folder under the system's temporary directory (never
//! into the repository). When `python3`/`node` is missing or the package registry cannot be
//! reached, the test prints one `skipping: …` line on stderr and passes.
#![cfg(feature = "testing")]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;
use slack_rtm::testing::FakeSlack;

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-interop";
const BOT_TOKEN: &str = "xoxb-interop";
/// The versions proven here (pinned so that a new release cannot break CI unnoticed).
const PY_PACKAGES: [&str; 2] = ["slack_sdk==3.48.0", "slack_bolt==1.30.0"];
const NODE_PACKAGE: &str = "@slack/socket-mode@3.1.0";
/// How long installing may take.
const INSTALL_DEADLINE: Duration = Duration::from_secs(300);
/// How long an app may take to start, connect, or handle what it was sent.
const APP_DEADLINE: Duration = Duration::from_secs(60);

/// One install at a time in this process (the Python tests share one folder).
static INSTALL: Mutex<()> = Mutex::new(());

/// Prints a line on the real stderr, past the test harness's capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn tool_exists(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` to completion within `deadline`; returns (success, combined output).
fn run_bounded(mut cmd: Command, deadline: Duration) -> (bool, String) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => Running::new(child),
        Err(e) => return (false, format!("cannot start: {e}")),
    };
    let ok = child.wait(deadline);
    let (out, err) = child.output();
    (ok, format!("{out}{err}"))
}

/// Makes sure the packages are in `dir/name` (installing into a fresh folder and renaming it,
/// so a half-finished install is never used). `None` (after one `skipping` line) when they
/// cannot be installed.
fn installed(name: &str, marker: &str, install: impl Fn(&Path) -> Command) -> Option<PathBuf> {
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = std::env::temp_dir().join("slack-rtm-interop");
    let target = root.join(name);
    if target.join(marker).exists() {
        return Some(target);
    }
    let staging = root.join(format!("{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    if let Err(e) = std::fs::create_dir_all(&staging) {
        say(&format!(
            "skipping: cannot create {}: {e}",
            staging.display()
        ));
        return None;
    }
    let (ok, output) = run_bounded(install(&staging), INSTALL_DEADLINE);
    if !ok || !staging.join(marker).exists() {
        let last = output
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_owned();
        say(&format!(
            "skipping: could not install {name} packages (registry unreachable?): {last}"
        ));
        let _ = std::fs::remove_dir_all(&staging);
        return None;
    }
    if std::fs::rename(&staging, &target).is_err() {
        // Another process installed it meanwhile.
        let _ = std::fs::remove_dir_all(&staging);
    }
    target.join(marker).exists().then_some(target)
}

fn python_packages() -> Option<PathBuf> {
    if !tool_exists("python3") {
        say("skipping: python3 not found");
        return None;
    }
    let name = format!("py-{}", PY_PACKAGES.join("-").replace("==", ""));
    installed(&name, "slack_bolt", |dir| {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--target"])
        .arg(dir)
        .args(PY_PACKAGES);
        cmd
    })
}

fn node_packages() -> Option<PathBuf> {
    if !tool_exists("node") || !tool_exists("npm") {
        say("skipping: node or npm not found");
        return None;
    }
    let name = format!("node-{}", NODE_PACKAGE.replace(['@', '/'], "_"));
    installed(&name, "node_modules/@slack/socket-mode", |dir| {
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .arg(NODE_PACKAGE);
        cmd
    })
}

/// A child process that is killed if the test ends early, with its output collected on
/// background threads (so it never blocks on a full pipe).
struct Running {
    child: Child,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<String>> {
    let mut pipe = pipe?;
    Some(thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    }))
}

impl Running {
    fn new(mut child: Child) -> Running {
        let out = collect(child.stdout.take());
        let err = collect(child.stderr.take());
        Running { child, out, err }
    }

    /// Waits for the exit within `deadline` (killing it after); true for a zero exit status.
    fn wait(&mut self, deadline: Duration) -> bool {
        let end = Instant::now() + deadline;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return false;
                }
            }
        }
    }

    /// Its stdout and stderr (call after it exited).
    fn output(&mut self) -> (String, String) {
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        (join(self.out.take()), join(self.err.take()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

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
