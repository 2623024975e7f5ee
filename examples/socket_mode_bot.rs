//! A Socket Mode bot: answers `app_mention` with a threaded reply through the Web API, the
//! `/deploy` slash command with a response in its ack, and a button click (`block_actions`)
//! with a message.
//!
//! With `SLACK_APP_TOKEN` (an app-level `xapp-…` token) and `SLACK_BOT_TOKEN` set, it connects
//! to Slack (or to `SLACK_API_URL`) and runs until Ctrl-C. Without them it runs against the
//! embedded fake Slack, plays one of each, prints what the fake saw, and exits:
//!
//! ```text
//! cargo run --example socket_mode_bot
//! ```

use std::time::Duration;

use serde_json::json;
use slack_rtm::socket_mode::{Request, SocketModeClient};
use slack_rtm::testing::FakeSlack;
use slack_rtm::ChatMessage;

/// `app_mention`: a threaded "Hi" through the Web API (the event was acked on arrival).
fn on_mention(r: &Request) {
    let Some(event) = r.event() else { return };
    let channel = event["channel"].as_str().unwrap_or_default();
    let ts = event["ts"].as_str().unwrap_or_default();
    let user = event["user"].as_str().unwrap_or("there");
    let text = format!("Hi <@{user}>!");
    let reply = ChatMessage::new(channel, &text).thread_ts(ts);
    if let Err(e) = r.web_client.chat_post_message_with(&reply) {
        eprintln!("reply failed: {e}");
    }
}

/// `/deploy TARGET`: the answer travels in the ack, within Slack's 3 seconds.
fn on_deploy(r: &Request) {
    let target = r.payload["text"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or("staging");
    let answer = json!({"response_type": "in_channel", "text": format!("Deploying to {target}…")});
    if let Err(e) = r.ack_with(answer) {
        eprintln!("the /deploy answer was not sent: {e}");
    }
}

/// A button click: acked by the client when this returns; the answer goes through the Web API.
fn on_click(r: &Request) {
    let channel = r.payload["channel"]["id"].as_str().unwrap_or_default();
    let action = r.payload["actions"][0]["action_id"].as_str().unwrap_or("?");
    let user = r.payload["user"]["id"].as_str().unwrap_or("someone");
    let text = format!("<@{user}> clicked {action}");
    if let Err(e) = r.web_client.chat_post_message(channel, &text) {
        eprintln!("click answer failed: {e}");
    }
}

fn register(client: &SocketModeClient) {
    client.on("app_mention", on_mention);
    client.on("/deploy", on_deploy);
    client.on("block_actions", on_click);
}

#[path = "support/stderr_log.rs"]
mod stderr_log;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| {
        std::env::var(name)
            .ok()
            .filter(|t: &String| !t.trim().is_empty())
    };
    match (env("SLACK_APP_TOKEN"), env("SLACK_BOT_TOKEN")) {
        (Some(app), Some(bot)) => run_for_real(&app, &bot),
        _ => run_offline(),
    }
}

/// Against Slack: runs until Ctrl-C.
fn run_for_real(app_token: &str, bot_token: &str) -> Result<(), Box<dyn std::error::Error>> {
    stderr_log::init();
    let mut builder = SocketModeClient::builder(app_token).bot_token(bot_token);
    if let Ok(url) = std::env::var("SLACK_API_URL") {
        builder = builder.base_url(&url);
    }
    let client = builder.build()?;
    register(&client);
    client.start()?;
    Ok(())
}

/// Against the embedded fake Slack: one mention, one command, one click.
fn run_offline() -> Result<(), Box<dyn std::error::Error>> {
    println!("no SLACK_APP_TOKEN/SLACK_BOT_TOKEN: running against the embedded fake Slack");
    let fake = FakeSlack::start()?;
    let client = SocketModeClient::builder("xapp-1-A0OFFLINE-1-offline")
        .bot_token("xoxb-offline")
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()?;
    register(&client);
    let running = client.spawn()?;
    let wait = Duration::from_secs(10);
    if !fake.wait_for_socket_ready(1, wait) {
        return Err("the bot did not connect".into());
    }
    fake.send_app_mention("hello bot");
    let command = fake.send_slash_command("/deploy", "production");
    fake.send_block_actions("approve", "42");
    let answer = fake
        .wait_for_socket_ack(&command, wait)
        .ok_or("the command was not acked")?;
    if !fake.wait_for_calls("chat.postMessage", 2, wait) || !fake.wait_for_socket_acks(3, wait) {
        return Err("the bot did not answer everything".into());
    }
    running.stop();
    running.join()?;
    for ack in fake.socket_acks() {
        let latency = ack.latency.unwrap_or_default();
        println!(
            "ack of {} after {latency:?}: {:?}",
            ack.envelope_id, ack.payload
        );
    }
    println!(
        "/deploy answered in its ack: {}",
        answer.payload.unwrap_or_default()
    );
    for m in fake.posted_messages() {
        println!("fake Slack received chat.postMessage: {m}");
    }
    Ok(())
}
