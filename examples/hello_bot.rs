//! The hello bot: answers "Hi <@user>!" in a thread to every message containing "Hello".
//!
//! With `SLACK_BOT_TOKEN` (or `SLACK_API_TOKEN`) set, it connects to Slack (or to
//! `SLACK_API_URL`) and runs until Ctrl-C. Without a token it runs against the embedded fake
//! Slack, plays a short conversation, and exits:
//!
//! ```text
//! cargo run --example hello_bot
//! ```

use std::time::Duration;

use slack_rtm::testing::FakeSlack;
use slack_rtm::{Payload, RtmClient};

// The handler itself, shared with `slack-rtm demo`.
#[path = "support/say_hello.rs"]
mod support;
use support::say_hello;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger_init();
    let token = std::env::var("SLACK_BOT_TOKEN")
        .or_else(|_| std::env::var("SLACK_API_TOKEN"))
        .ok()
        .filter(|t| !t.trim().is_empty());
    match token {
        Some(token) => run_for_real(&token),
        None => run_offline(),
    }
}

/// Against Slack: runs until Ctrl-C.
fn run_for_real(token: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = RtmClient::builder(token);
    if let Ok(url) = std::env::var("SLACK_API_URL") {
        builder = builder.base_url(&url);
    }
    let client = builder.build()?;
    client.on("message", say_hello);
    client.start()?;
    Ok(())
}

/// Against the embedded fake Slack: a short scripted conversation.
fn run_offline() -> Result<(), Box<dyn std::error::Error>> {
    println!("no SLACK_BOT_TOKEN: running against the embedded fake Slack");
    let fake = FakeSlack::start()?;
    let client = RtmClient::builder("xoxb-offline")
        .base_url(&fake.api_url())
        .build()?;
    client.on("message", say_hello);
    let (ready_tx, ready) = crossbeam_channel::bounded(1);
    client.on("hello", move |_p: &Payload| {
        let _ = ready_tx.try_send(());
    });
    let running = client.spawn()?;
    ready.recv_timeout(Duration::from_secs(10))?;
    fake.send_message("C0GENERAL1", "U0ALICE001", "Hello, bot!");
    fake.send_message("C0GENERAL1", "U0BOB00001", "Nothing to see here");
    if !fake.wait_for_calls("chat.postMessage", 1, Duration::from_secs(10)) {
        return Err("the bot did not reply".into());
    }
    running.stop();
    running.join()?;
    for m in fake.posted_messages() {
        println!("fake Slack received chat.postMessage: {m}");
    }
    Ok(())
}

/// Logs to stderr when RUST_LOG is set (the example has no logger dependency of its own).
fn env_logger_init() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, _: &log::Metadata) -> bool {
            true
        }
        fn log(&self, r: &log::Record) {
            if r.target().starts_with("slack_rtm") {
                eprintln!("[{}] {}", r.level(), r.args());
            }
        }
        fn flush(&self) {}
    }
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = log::set_boxed_logger(Box::new(Stderr));
        log::set_max_level(log::LevelFilter::Info);
    }
}
