//! `slack-rtm demo`: the hello bot of `examples/hello_bot.rs` against the embedded fake Slack.

use std::process::ExitCode;
use std::time::Duration;

use slack_rtm::testing::FakeSlack;
use slack_rtm::{Payload, RtmClient};

use crate::args::{self, Asked, Usage};

// The bot's handler, the very file the example uses.
#[path = "../../examples/support/say_hello.rs"]
mod hello;

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    if let Some(a) = args.first() {
        return match args::common_flag(a) {
            Some(Asked::Help) => {
                outln!("{}", usage());
                Ok(ExitCode::SUCCESS)
            }
            Some(Asked::Version) => {
                outln!("{}", args::VERSION);
                Ok(ExitCode::SUCCESS)
            }
            None => Err(Usage(format!("demo takes no arguments, got {a:?}"))),
        };
    }
    match run_demo() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("slack-rtm: demo failed: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn run_demo() -> Result<(), Box<dyn std::error::Error>> {
    let server = FakeSlack::builder().token("xoxb-demo-token").start()?;
    outln!("fake Slack listening at {}", server.api_url());

    let client = RtmClient::builder("xoxb-demo-token")
        .base_url(&server.api_url())
        .handle_signals(false)
        .build()?;
    let (hello_tx, hello_rx) = crossbeam_channel::bounded::<()>(1);
    client.on("open", |p: &Payload| {
        outln!(
            "bot connected as {} to {}",
            p.data["self"]["name"].as_str().unwrap_or("?"),
            p.data["team"]["name"].as_str().unwrap_or("?")
        );
    });
    client.on("hello", move |_p: &Payload| {
        let _ = hello_tx.try_send(());
    });
    // The transcript: every message as it arrives, then the bot's own handler.
    client.on("message", |p: &Payload| {
        let data = p.data;
        if data["subtype"].is_string() || data["bot_id"].is_string() {
            return;
        }
        outln!(
            "<@{}> in {}: {}",
            data["user"].as_str().unwrap_or("?"),
            data["channel"].as_str().unwrap_or("?"),
            data["text"].as_str().unwrap_or_default()
        );
    });
    client.on("message", hello::say_hello);
    let running = client.spawn()?;
    hello_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the bot did not connect within 10 s")?;

    let script = [
        ("C0GENERAL1", "U0ALICE001", "Hello everyone!"),
        ("C0GENERAL1", "U0BOB00001", "how is everyone today?"),
        ("C0RANDOM01", "U0BOB00001", "Hello from #random"),
    ];
    let expected_replies = script
        .iter()
        .filter(|(_, _, t)| t.contains("Hello"))
        .count();
    for (channel, user, text) in script {
        server.send_message(channel, user, text);
    }
    if !server.wait_for_calls(
        "chat.postMessage",
        expected_replies,
        Duration::from_secs(10),
    ) {
        return Err("the bot did not answer within 10 s".into());
    }
    running.stop();
    running.join()?;
    outln!(
        "demo finished: {} message(s) posted by the bot",
        server.posted_messages().len()
    );
    Ok(())
}

/// `demo --help`.
pub fn usage() -> String {
    "\
Usage: slack-rtm demo

Starts the embedded fake Slack, runs the hello bot (it answers \"Hi <@user>!\" in a thread to
messages containing \"Hello\") against it, prints the conversation and exits. Always offline.

Flags:
  -h, --help      show this help
  -V, --version   print the version

Environment:
  RUST_LOG        what goes to stderr (default info)
  (demo ignores SLACK_BOT_TOKEN, SLACK_API_TOKEN, SLACK_API_URL and the proxy variables)

Exit codes: 0 the bot answered, 1 failure, 2 usage error."
        .to_string()
}
