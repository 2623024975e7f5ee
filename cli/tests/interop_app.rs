//! Slack's own Bolt for Python and `slack_rtm::app::App` run the same bot
//! (`tests/interop/app_bolt.py` and [`rust_bot`] below) against `slack-rtm serve` in Socket
//! Mode, each on its own `serve`, and receive the same deliveries (a message, a mention, a
//! slash command, a click, an unhandled click, a modal submission refused and accepted): they
//! must answer alike — the same acks with the same payloads, no ack for the unhandled click,
//! the same Web API calls — and neither answers its own echoed message.
//!
//! Bolt for Python is installed with pip into a folder under the system's temporary directory
//! (never into the repository). When `python3` is missing or the package registry cannot be
//! reached, the test prints one `skipping: …` line on stderr and passes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use serde_json::{json, Value};
use slack_rtm::app::{Ack, App};

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-interop";
const BOT_TOKEN: &str = "xoxb-interop";
/// The versions proven here (the ones `tests/interop_socket_mode.rs` pins, sharing its folder).
const PY_PACKAGES: [&str; 2] = ["slack_sdk==3.48.0", "slack_bolt==1.30.0"];
const INSTALL_DEADLINE: Duration = Duration::from_secs(300);
const APP_DEADLINE: Duration = Duration::from_secs(60);

fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The Rust twin of `tests/interop/app_bolt.py`.
fn rust_bot(app: &App) {
    app.message("hello", |ctx| {
        ctx.say(&format!("hello <@{}>!", ctx.user_id().unwrap_or_default()))?;
        Ok(())
    });
    app.event("app_mention", |ctx| {
        let ts = ctx
            .event()
            .and_then(|e| e["ts"].as_str())
            .unwrap_or_default();
        let text = format!("Hi <@{}>", ctx.user_id().unwrap_or_default());
        ctx.say_with(slack_rtm::ChatMessage::new("", &text).thread_ts(ts))?;
        Ok(())
    });
    app.command("/deploy", |ctx| {
        let text = ctx.command().map_or("", |c| c.text);
        let target = if text.is_empty() { "staging" } else { text };
        ctx.ack_with(Ack::text(&format!("Deploying {target}")).ephemeral())?;
        Ok(())
    });
    app.action("approve", |ctx| {
        ctx.ack()?;
        let value = ctx.action().and_then(|a| a.value).unwrap_or_default();
        ctx.say(&format!(
            "<@{}> approved {value}",
            ctx.user_id().unwrap_or_default()
        ))?;
        Ok(())
    });
    app.view("deploy_modal", |ctx| {
        let env = ctx.view().and_then(|v| v.value("env", "env_input"));
        if !matches!(env, Some("prod" | "staging")) {
            ctx.ack_with(Ack::errors(json!({"env": "prod or staging"})))?;
        }
        Ok(())
    });
}

/// What both apps receive, as `serve` stdin lines, with how long to watch for the answer.
fn deliveries() -> Vec<(String, Duration)> {
    let short = Duration::from_millis(1500);
    let click = |action_id: &str| {
        json!({"type": "block_actions", "user": {"id": "U0FAKEUSR2", "team_id": "T0FAKE0001"},
            "api_app_id": "A0FAKEAPP1", "team": {"id": "T0FAKE0001"},
            "container": {"type": "message", "message_ts": "1700000000.000300",
                          "channel_id": "C0FAKE0001", "is_ephemeral": false},
            "channel": {"id": "C0FAKE0001", "name": "general"}, "trigger_id": "1.2.3",
            "actions": [{"action_id": action_id, "block_id": "b1", "type": "button",
                         "value": "build-42", "action_ts": "1700000000.000400"}]})
    };
    let submission = |env: &str| {
        json!({"type": "view_submission", "team": {"id": "T0FAKE0001"},
            "user": {"id": "U0FAKEUSR2", "team_id": "T0FAKE0001"}, "api_app_id": "A0FAKEAPP1",
            "trigger_id": "1.2.4", "view": {"id": "V0FAKE0001", "type": "modal",
            "callback_id": "deploy_modal", "private_metadata": "", "team_id": "T0FAKE0001",
            "state": {"values": {"env": {"env_input": {"type": "plain_text_input",
            "value": env}}}}}, "response_urls": []})
    };
    vec![
        (
            format!(
                "!event {}",
                json!({"type": "message", "user": "U0FAKEUSR2", "text": "hello bots",
                "channel": "C0FAKE0001", "ts": "1700000000.000100", "channel_type": "channel"})
            ),
            short,
        ),
        (
            format!(
                "!event {}",
                json!({"type": "app_mention", "user": "U0FAKEUSR2",
                "text": "<@U0FAKEBOT1> hi", "channel": "C0FAKE0001", "ts": "1700000000.000200"})
            ),
            short,
        ),
        ("!command /deploy api".to_owned(), short),
        ("!command /deploy".to_owned(), short),
        (format!("!interactive {}", click("approve")), short),
        // Unhandled: watched past both Bolt's and our ack deadlines.
        (
            format!("!interactive {}", click("nobody_listens")),
            Duration::from_millis(3500),
        ),
        (format!("!interactive {}", submission("qa")), short),
        (format!("!interactive {}", submission("prod")), short),
    ]
}

/// A `serve --frames` child: its stdin, and its stdout lines on a channel.
struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    url: String,
}

impl Serve {
    fn start() -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
            .args(["serve", "--frames"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slack-rtm serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = unbounded();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let first = lines
            .recv_timeout(APP_DEADLINE)
            .expect("serve's first line");
        let url = first
            .strip_prefix("SLACK_API_URL=")
            .expect("SLACK_API_URL=…")
            .to_owned();
        Serve {
            stdin: child.stdin.take(),
            child,
            lines,
            url,
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("serve's stdin");
        writeln!(stdin, "{line}").expect("write to serve");
        stdin.flush().expect("flush");
    }

    /// The JSON records printed until `quiet` passes with none (or `max` in all).
    fn records(&self, quiet: Duration, max: Duration) -> Vec<Value> {
        let end = Instant::now() + max;
        let mut out = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(quiet.min(end.saturating_duration_since(Instant::now())))
        {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                out.push(v);
            }
        }
        out
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What an app did in answer to one delivery: its acks (payload or `bare`) and Web API calls
/// (method, channel, text, thread_ts), in order; connection-level calls left out.
fn answers(records: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for r in records {
        if let Some(frame) = r.get("frame") {
            // serve prints frames as text or JSON; acks carry an envelope_id.
            let frame = match frame {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            if frame.get("envelope_id").is_some() {
                match frame.get("payload") {
                    Some(p) => out.push(format!("ack {p}")),
                    None => out.push("ack bare".to_owned()),
                }
            }
        } else if let Some(method) = r.get("api").and_then(Value::as_str) {
            if matches!(method, "apps.connections.open" | "auth.test") {
                continue;
            }
            let p = &r["params"];
            out.push(format!(
                "{method} channel={} text={} thread_ts={}",
                p["channel"], p["text"], p["thread_ts"]
            ));
        }
    }
    out
}

/// Runs the deliveries against one app on a fresh `serve`; `start` connects the app (given
/// the URL) and returns a stopper.
fn transcript(
    label: &str,
    start: impl FnOnce(&str) -> Box<dyn FnOnce() -> String>,
) -> Vec<Vec<String>> {
    let mut serve = Serve::start();
    let stop = start(&serve.url);
    // The connection (apps.connections.open, hello) and any start-up calls.
    let setup = serve.records(Duration::from_millis(1500), APP_DEADLINE);
    assert!(
        setup.iter().any(|r| r["api"] == "apps.connections.open"),
        "{label}: did not connect: {setup:?}"
    );
    let mut all = Vec::new();
    for (line, watch) in deliveries() {
        serve.send(&line);
        let records = serve.records(Duration::from_millis(700).min(watch), watch);
        let mut got = answers(&records);
        // Events are acked on arrival (bare), like the echoes of the bot's own messages,
        // which no listener answers.
        if line.starts_with("!event") {
            got.retain(|a| a != "ack bare");
        }
        // Bolt for Python sends an ack when its request thread next polls (every 10 ms),
        // often after the listener's next call; the App sends it at once: order within one
        // delivery is timing, not behaviour.
        got.sort();
        all.push(got);
    }
    let output = stop();
    say(&format!("{label}: {all:?}\n{output}"));
    all
}

fn python_packages() -> Option<PathBuf> {
    let exists = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        say("skipping: python3 not found");
        return None;
    }
    let root = std::env::temp_dir().join("slack-rtm-interop");
    let name = format!("py-{}", PY_PACKAGES.join("-").replace("==", ""));
    let target = root.join(&name);
    if target.join("slack_bolt").exists() {
        return Some(target);
    }
    let staging = root.join(format!("{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    if std::fs::create_dir_all(&staging).is_err() {
        say("skipping: cannot create the package folder");
        return None;
    }
    let mut child = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--target"])
        .arg(&staging)
        .args(PY_PACKAGES)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let end = Instant::now() + INSTALL_DEADLINE;
    let ok = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    if !ok || !staging.join("slack_bolt").exists() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        say(&format!(
            "skipping: could not install slack_bolt (registry unreachable?): {last}"
        ));
        let _ = std::fs::remove_dir_all(&staging);
        return None;
    }
    if std::fs::rename(&staging, &target).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    target.join("slack_bolt").exists().then_some(target)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop")
        .join(name)
}

#[test]
fn bolt_for_python_and_the_app_answer_the_same_deliveries_alike() {
    let Some(packages) = python_packages() else {
        return;
    };
    // Each app on its own serve, both at once.
    let bolt_run = || {
        transcript("Bolt for Python", |url| {
            let mut child = Command::new("python3")
                .arg(script("app_bolt.py"))
                .env("PYTHONPATH", &packages)
                .env("SLACK_API_URL", url)
                .env("SLACK_APP_TOKEN", APP_TOKEN)
                .env("SLACK_BOT_TOKEN", BOT_TOKEN)
                .env("NO_PROXY", "127.0.0.1,localhost")
                .env_remove("HTTP_PROXY")
                .env_remove("HTTPS_PROXY")
                .env_remove("http_proxy")
                .env_remove("https_proxy")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the Bolt app");
            let stdin = child.stdin.take();
            let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
            let mut first = String::new();
            let _ = stdout.read_line(&mut first);
            assert_eq!(first.trim(), "connected", "the Bolt app did not start");
            // Read the rest of its stdout, so its last line never meets a closed pipe.
            let rest = thread::spawn(move || {
                let mut text = String::new();
                let _ = stdout.read_to_string(&mut text);
                text
            });
            Box::new(move || {
                drop(stdin);
                let end = Instant::now() + APP_DEADLINE;
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < end {
                    thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let out = rest.join().unwrap_or_default();
                assert!(
                    out.contains("closed"),
                    "the Bolt app did not close: {out}\n{err}"
                );
                err
            })
        })
    };
    let our_run = || {
        transcript("slack_rtm::app::App", |url| {
            let app = App::builder()
                .bot_token(BOT_TOKEN)
                .base_url(url)
                .handle_signals(false)
                .build()
                .expect("build the App");
            rust_bot(&app);
            let running = app
                .socket_mode(APP_TOKEN)
                .build()
                .expect("build the client")
                .spawn()
                .expect("spawn");
            Box::new(move || {
                running.stop();
                let _ = running.join();
                String::new()
            })
        })
    };
    let (bolt, ours) = thread::scope(|s| {
        let bolt = s.spawn(bolt_run);
        let ours = s.spawn(our_run);
        (bolt.join(), ours.join())
    });
    let (bolt, ours) = (bolt.expect("the Bolt run"), ours.expect("the App run"));
    // Not vacuous: what the bot must have done.
    let expected = [
        vec![r#"chat.postMessage channel="C0FAKE0001" text="hello <@U0FAKEUSR2>!" thread_ts=null"#],
        vec![
            r#"chat.postMessage channel="C0FAKE0001" text="Hi <@U0FAKEUSR2>" thread_ts="1700000000.000200""#,
        ],
        vec![r#"ack {"response_type":"ephemeral","text":"Deploying api"}"#],
        vec![r#"ack {"response_type":"ephemeral","text":"Deploying staging"}"#],
        // The click's ack, and the ack of the echo of the bot's own reply (answered by no one).
        vec![
            "ack bare",
            "ack bare",
            r#"chat.postMessage channel="C0FAKE0001" text="<@U0FAKEUSR2> approved build-42" thread_ts=null"#,
        ],
        vec![],
        vec![r#"ack {"errors":{"env":"prod or staging"},"response_action":"errors"}"#],
        vec!["ack bare"],
    ];
    for (i, (b, o)) in bolt.iter().zip(&ours).enumerate() {
        let line = &deliveries()[i].0;
        assert_eq!(b, o, "delivery {i} ({line}): Bolt for Python vs the App");
        assert_eq!(*o, expected[i], "delivery {i} ({line})");
    }
    assert_eq!(bolt.len(), ours.len());
}
