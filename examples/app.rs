//! Bolt's getting-started app on `slack_rtm::app::App` over Socket Mode: "hello" gets a
//! greeting with a button, the button says who clicked, `/hello` answers in its ack, the
//! `open_modal` shortcut opens a modal whose submission comes back as a direct message.
//!
//! With `SLACK_APP_TOKEN` (an app-level `xapp-…` token) and `SLACK_BOT_TOKEN` set, it connects
//! to Slack (or to `SLACK_API_URL`, e.g. `slack-rtm serve`) and runs until Ctrl-C. Without them
//! it runs against the embedded fake Slack, plays each of them once, prints what Slack saw, and
//! exits:
//!
//! ```text
//! cargo run --example app
//! ```

use std::time::Duration;

use serde_json::json;
use slack_rtm::app::App;
use slack_rtm::testing::{Delivery, FakeSlack};

// The listeners themselves, shared with `slack-rtm demo`.
#[path = "support/hello_app.rs"]
mod support;
use support::hello_app;

#[path = "support/stderr_log.rs"]
mod stderr_log;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| {
        std::env::var(name)
            .ok()
            .filter(|t: &String| !t.trim().is_empty())
    };
    match (env("SLACK_APP_TOKEN"), env("SLACK_BOT_TOKEN")) {
        (Some(app_token), Some(bot_token)) => {
            stderr_log::init();
            let mut builder = App::builder().bot_token(&bot_token);
            if let Some(url) = env("SLACK_API_URL") {
                builder = builder.base_url(&url);
            }
            let app = builder.build()?;
            hello_app(&app);
            app.socket_mode(&app_token).build()?.start()?;
            Ok(())
        }
        _ => run_offline(),
    }
}

/// Against the embedded fake Slack: a message, a click, a command, a shortcut, a submission.
fn run_offline() -> Result<(), Box<dyn std::error::Error>> {
    println!("no SLACK_APP_TOKEN/SLACK_BOT_TOKEN: running against the embedded fake Slack");
    let fake = FakeSlack::start()?;
    let app = App::builder()
        .bot_token("xoxb-offline")
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()?;
    hello_app(&app);
    let running = app
        .socket_mode("xapp-1-A0OFFLINE-1-offline")
        .build()?
        .spawn()?;
    let wait = Duration::from_secs(10);
    if !fake.wait_for_socket_ready(1, wait) {
        return Err("the app did not connect".into());
    }
    fake.deliver(&Delivery::message("hello app"));
    if !fake.wait_for_calls("chat.postMessage", 1, wait) {
        return Err("no greeting".into());
    }
    fake.deliver(&Delivery::action("button_click"));
    let command = fake.deliver(&Delivery::command("/hello", ""));
    let answer = fake.wait_for_socket_ack(&command.envelope_id, wait);
    fake.deliver(&Delivery::global_shortcut("open_modal"));
    if !fake.wait_for_calls("views.open", 1, wait) {
        return Err("no modal".into());
    }
    let dream = json!({"type": "plain_text_input", "value": "a blocking Bolt"});
    fake.deliver(&Delivery::view_submission("modal_view").state("input_c", "dreamy_input", dream));
    // Recorded once answered (the call itself is recorded first).
    let t0 = std::time::Instant::now();
    while fake.posted_messages().len() < 3 {
        if t0.elapsed() > wait {
            return Err("the app did not answer everything".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    running.stop();
    running.join()?;
    let payload = answer.and_then(|a| a.payload).unwrap_or_default();
    println!("/hello answered in its ack: {payload}");
    for m in fake.posted_messages() {
        println!("chat.postMessage to {}: {}", m["channel"], m["text"]);
    }
    Ok(())
}
