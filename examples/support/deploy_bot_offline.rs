//! `examples/deploy_bot.rs` without tokens: the bot against the embedded fake Slack, each
//! feature once, with what Slack saw printed.

use std::time::Duration;

use serde_json::json;
use slack_rtm::app::App;
use slack_rtm::testing::{Delivery, FakeSlack, FAKE_BOT_USER_ID};

pub fn run(bot: fn(&App)) -> Result<(), Box<dyn std::error::Error>> {
    println!("no SLACK_APP_TOKEN/SLACK_BOT_TOKEN: running against the embedded fake Slack");
    let fake = FakeSlack::start()?;
    let app = App::builder()
        .bot_token("xoxb-offline")
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()?;
    bot(&app);
    let running = app
        .socket_mode("xapp-1-A0OFFLINE-1-offline")
        .build()?
        .spawn()?;
    let wait = Duration::from_secs(10);
    if !fake.wait_for_socket_ready(1, wait) {
        return Err("the bot did not connect".into());
    }
    let mention = Delivery::event(json!({"type": "app_mention", "user": "U0FAKEUSR1",
        "text": format!("<@{FAKE_BOT_USER_ID}> hi"), "ts": "1700000000.000100",
        "channel": "C0FAKE0001", "event_ts": "1700000000.000100"}));
    fake.deliver(&mention);
    let deploy = fake.deliver(&Delivery::command("/deploy", "api"));
    let ack = fake.wait_for_socket_ack(&deploy.envelope_id, wait);
    println!(
        "/deploy api → ack {}",
        ack.and_then(|a| a.payload).unwrap_or_default()
    );
    fake.deliver(&Delivery::action("open_deploy").value("api"));
    if !fake.wait_for_calls("views.open", 1, wait) {
        return Err("no modal".into());
    }
    let submit = |env: &str| {
        let d = Delivery::view_submission("deploy_modal")
            .private_metadata("api")
            .state(
                "env",
                "env_input",
                json!({"type": "plain_text_input", "value": env}),
            );
        let sent = fake.deliver(&d);
        fake.wait_for_socket_ack(&sent.envelope_id, wait)
            .and_then(|a| a.payload)
            .map_or("(bare: the modal closes)".to_owned(), |p| p.to_string())
    };
    println!("submit \"qa\" → ack {}", submit("qa"));
    println!("submit \"prod\" → ack {}", submit("prod"));
    // Recorded once answered (the call itself is recorded first).
    let t0 = std::time::Instant::now();
    while fake.posted_messages().len() < 2 {
        if t0.elapsed() > wait {
            return Err("the bot did not answer everything".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    running.stop();
    running.join()?;
    for m in fake.posted_messages() {
        let thread = m["thread_ts"]
            .as_str()
            .map(|t| format!(" (thread {t})"))
            .unwrap_or_default();
        println!(
            "chat.postMessage to {}{thread}: {}",
            m["channel"], m["text"]
        );
    }
    Ok(())
}
