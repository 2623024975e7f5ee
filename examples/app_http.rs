//! Bolt's getting-started app (the same listeners as `examples/app.rs`) in HTTP mode: Slack
//! POSTs signed requests to `/slack/events`, each verified with the signing secret and answered
//! the moment its listener acks.
//!
//! With `SLACK_SIGNING_SECRET` and `SLACK_BOT_TOKEN` set, it listens on `0.0.0.0:$PORT`
//! (default 3000) until Ctrl-C; put it behind a reverse proxy or tunnel that terminates TLS
//! and paste `https://<your host>/slack/events` into the app's Event Subscriptions,
//! Interactivity and Slash Commands settings. Without them it runs against the embedded fake
//! Slack on loopback, delivers each request once over HTTP (as `slack-rtm serve --deliver`
//! does), prints what came back and what Slack saw, and exits:
//!
//! ```text
//! cargo run --example app_http
//! ```

use std::time::Duration;

use serde_json::json;
use slack_rtm::app::App;
use slack_rtm::testing::{Delivery, FakeSlack};

// The listeners themselves, shared with `examples/app.rs` and `slack-rtm demo`.
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
    match (env("SLACK_SIGNING_SECRET"), env("SLACK_BOT_TOKEN")) {
        (Some(secret), Some(bot_token)) => {
            stderr_log::init();
            let mut builder = App::builder().bot_token(&bot_token).signing_secret(&secret);
            if let Some(url) = env("SLACK_API_URL") {
                builder = builder.base_url(&url);
            }
            let app = builder.build()?;
            hello_app(&app);
            let port = env("PORT").unwrap_or_else(|| "3000".into());
            let receiver = app.http(&format!("0.0.0.0:{port}")).build()?;
            println!(
                "listening on {}; the request URL is https://<your host>/slack/events",
                receiver.local_addr()
            );
            receiver.start()?;
            Ok(())
        }
        _ => run_offline(),
    }
}

/// Against the embedded fake Slack, over HTTP on loopback.
fn run_offline() -> Result<(), Box<dyn std::error::Error>> {
    println!("no SLACK_SIGNING_SECRET/SLACK_BOT_TOKEN: running against the embedded fake Slack");
    let secret = "offline-signing-secret";
    let fake = FakeSlack::start()?;
    let app = App::builder()
        .bot_token("xoxb-offline")
        .signing_secret(secret)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()?;
    hello_app(&app);
    let running = app.http("127.0.0.1:0").spawn()?;
    let url = format!("http://{}/slack/events", running.local_addr());
    let slack = fake.http_delivery(&url, secret);

    let (_, said) = slack.deliver(&Delivery::message("hello app"))?;
    println!("message event: HTTP {}", said.status);
    let wait = Duration::from_secs(10);
    if !fake.wait_for_calls("chat.postMessage", 1, wait) {
        return Err("no greeting".into());
    }
    let (_, clicked) = slack.deliver(&Delivery::action("button_click"))?;
    println!("button click: HTTP {}", clicked.status);
    let (_, hello) = slack.deliver(&Delivery::command("/hello", ""))?;
    println!(
        "/hello answered in {:.1} ms: {}",
        hello.latency.as_secs_f64() * 1000.0,
        hello.body
    );
    let (_, shortcut) = slack.deliver(&Delivery::global_shortcut("open_modal"))?;
    println!("shortcut: HTTP {}", shortcut.status);
    if !fake.wait_for_calls("views.open", 1, wait) {
        return Err("no modal".into());
    }
    let dream = json!({"type": "plain_text_input", "value": "a blocking Bolt"});
    let (_, submitted) = slack.deliver(&Delivery::view_submission("modal_view").state(
        "input_c",
        "dreamy_input",
        dream,
    ))?;
    println!("modal submission: HTTP {}", submitted.status);
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
    for m in fake.posted_messages() {
        println!("chat.postMessage to {}: {}", m["channel"], m["text"]);
    }
    Ok(())
}
