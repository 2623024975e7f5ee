//! `slack-rtm api`: one Web API call against the embedded fake Slack, printed as one JSON line
//! (one per page with `--paginate`), with the contract's exit codes: 0 ok, 1 a failure (the
//! error code on stderr), 2 a usage error, 3 Slack refused the token. The token never shows.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use slack_rtm::testing::{FakeSlack, MethodReply};

const TOKEN: &str = "xoxb-API-SeKrEt-PlMnBv";

/// Environment variables that would change what the binary does: removed for every run.
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
];

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .token(TOKEN)
        .echo_messages(false)
        .start()
        .unwrap()
}

/// Runs `slack-rtm api ARGS` with `env` (and nothing else of ours), bounded.
fn api(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slack-rtm"));
    cmd.arg("api").args(args).stdin(Stdio::null());
    for name in CONTROLLED_ENV {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("slack-rtm api {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(TOKEN), "the token leaked: {all}");
    out
}

fn with_fake(fake: &FakeSlack, args: &[&str]) -> Output {
    let url = fake.api_url();
    api(args, &[("SLACK_BOT_TOKEN", TOKEN), ("SLACK_API_URL", &url)])
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_ok_answer_is_one_json_line_and_exit_0() {
    let fake = fake();
    let out = with_fake(&fake, &["auth.test"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let l = lines(&out);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["ok"], true);
    assert_eq!(l[0]["user_id"], "U0FAKEBOT1");
    assert_eq!(fake.api_calls()[0].token.as_deref(), Some(TOKEN));

    // key=value pairs over --json; SLACK_API_TOKEN when SLACK_BOT_TOKEN is unset; --api-url.
    let url = fake.api_url();
    let out = api(
        &[
            "chat.postMessage",
            "--api-url",
            &url,
            "--json",
            r#"{"channel":"C0FAKE0001","text":"from json","unfurl_links":false}"#,
            "text=hello world",
        ],
        &[("SLACK_API_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let posted = &fake.posted_messages()[0];
    assert_eq!(posted["text"], "hello world");
    assert_eq!(posted["unfurl_links"], false);
    assert_eq!(fake.channel_messages("C0FAKE0001").len(), 1);
}

#[test]
fn paginate_prints_one_line_per_page_to_the_end() {
    let fake = fake();
    let out = with_fake(&fake, &["users.list", "limit=2", "--paginate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pages = lines(&out);
    assert_eq!(pages.len(), 3);
    let members: usize = pages
        .iter()
        .map(|p| p["members"].as_array().unwrap().len())
        .sum();
    assert_eq!(members, 5);
    assert_eq!(fake.calls_to("users.list"), 3);
    // Without --paginate: the first page only.
    let out = with_fake(&fake, &["users.list", "limit=2"]);
    assert_eq!(lines(&out).len(), 1);
}

#[test]
fn paginate_stops_with_an_error_on_a_cursor_cycle() {
    let fake = fake();
    // A server whose cursors go A, B, A, B, ...: the third page repeats A.
    for n in 0..40 {
        let next = ["A", "B"][n % 2];
        let page = serde_json::json!({
            "ok": true,
            "channels": [{"id": format!("C{n}")}],
            "response_metadata": {"next_cursor": next},
        });
        fake.push_method_reply("conversations.list", MethodReply::Json(page));
    }
    let out = with_fake(&fake, &["conversations.list", "--paginate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("repeated_cursor"), "{}", stderr(&out));
    assert_eq!(lines(&out).len(), 3);
    assert_eq!(fake.calls_to("conversations.list"), 3);
}

#[test]
fn a_refused_token_exits_3() {
    let fake = fake();
    let url = fake.api_url();
    let out = api(
        &["auth.test"],
        &[("SLACK_BOT_TOKEN", "xoxb-wrong"), ("SLACK_API_URL", &url)],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("invalid_auth"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn other_failures_exit_1_with_the_code_on_stderr() {
    let fake = fake();
    let out = with_fake(&fake, &["conversations.info", "channel=C404"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("channel_not_found"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    fake.push_method_reply(
        "chat.postMessage",
        MethodReply::Json(serde_json::json!({"ok": false, "error": "invalid_blocks",
            "response_metadata": {"messages": ["[ERROR] missing required field: text"]}})),
    );
    let out = with_fake(&fake, &["chat.postMessage", "channel=C1", "blocks=[{}]"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("invalid_blocks") && err.contains("missing required field"),
        "{err}"
    );

    let out = with_fake(&fake, &["no.suchMethod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown_method"));
}

#[test]
fn rate_limits_are_retried() {
    let fake = fake();
    fake.push_method_reply(
        "users.info",
        MethodReply::RateLimited {
            retry_after_secs: 0,
        },
    );
    let out = with_fake(&fake, &["users.info", "user=U0FAKEUSR1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fake.calls_to("users.info"), 2);
    assert!(stderr(&out).contains("retry 1 of 3"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let fake = fake();
    for args in [
        &[][..],
        &["auth.test", "not-a-pair"][..],
        &["auth.test", "--json", "[1]"][..],
        &["auth.test", "--no-such-flag"][..],
        &["auth.test", "--paginate=yes"][..],
        &["bad method/name"][..],
    ] {
        let out = with_fake(&fake, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = api(&["auth.test"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no token"));
    assert!(fake.api_calls().is_empty());
    let out = api(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--paginate"));
}

#[test]
fn trace_logs_never_show_the_websocket_ticket() {
    let fake = fake();
    let url = fake.api_url();
    let out = api(
        &["rtm.connect"],
        &[
            ("SLACK_BOT_TOKEN", TOKEN),
            ("SLACK_API_URL", &url),
            ("RUST_LOG", "slack_rtm=trace"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The answer on stdout is what the user asked for; the log must not repeat the ticket.
    let answer = &lines(&out)[0];
    let ws_url = answer["url"].as_str().unwrap();
    let ticket = ws_url.rsplit('/').next().unwrap();
    assert!(ticket.len() >= 16, "{ws_url}");
    let err = stderr(&out);
    assert!(
        err.contains("rtm.connect: response body"),
        "trace is on: {err}"
    );
    assert!(err.contains("<redacted>"), "{err}");
    assert!(
        !err.contains(ticket),
        "the ticket leaked into the log: {err}"
    );
}
