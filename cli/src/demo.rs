//! `slack-rtm demo`: the hello bot of `examples/hello_bot.rs` against the embedded fake Slack,
//! then the same hello as an App (`examples/app.rs`) over Socket Mode: a message, a button
//! click, a slash command with its ack.

use std::process::ExitCode;
use std::time::Duration;

use slack_rtm::app::App;
use slack_rtm::testing::{Delivery, FakeSlack};
use slack_rtm::{Payload, RtmClient};

use crate::args::{self, Asked, Usage};

// The bot's handler, the very file the example uses.
#[path = "../../examples/support/say_hello.rs"]
mod hello;

// The App's listeners, the very file `examples/app.rs` uses.
#[path = "../../examples/support/hello_app.rs"]
mod hello_app;

const WAIT: Duration = Duration::from_secs(10);

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    if let Some(a) = args.first() {
        return match args::common_flag(a) {
            Some(Asked::Help) => {
                outln!("{}", args::demo_usage());
                Ok(ExitCode::SUCCESS)
            }
            Some(Asked::Version) => {
                outln!("{}", args::VERSION);
                Ok(ExitCode::SUCCESS)
            }
            None => Err(Usage(format!("demo takes no arguments, got {a:?}"))),
        };
    }
    match run_demo().and_then(|()| run_app_demo()) {
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

/// The second part: the hello of `examples/app.rs`, Bolt-style listeners on an `App`, over
/// Socket Mode.
fn run_app_demo() -> Result<(), Box<dyn std::error::Error>> {
    outln!();
    outln!("the same hello as an App (Bolt-style listeners) over Socket Mode:");
    let server = FakeSlack::builder().token("xoxb-demo-token").start()?;
    let app = App::builder()
        .bot_token("xoxb-demo-token")
        .base_url(&server.api_url())
        .handle_signals(false)
        .build()?;
    hello_app::hello_app(&app);
    let running = app
        .socket_mode("xapp-1-A0DEMO-1-demo-token")
        .build()?
        .spawn()?;
    if !server.wait_for_socket_ready(1, WAIT) {
        return Err("the app did not connect within 10 s".into());
    }
    outln!("app connected over Socket Mode");

    let said = |n: usize| -> Result<(), Box<dyn std::error::Error>> {
        let t0 = std::time::Instant::now();
        while server.posted_messages().len() < n {
            if t0.elapsed() > WAIT {
                return Err("the app did not answer within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let m = &server.posted_messages()[n - 1];
        let button = m["blocks"][0]["accessory"]["text"]["text"]
            .as_str()
            .map(|b| format!(" [button: {b}]"))
            .unwrap_or_default();
        outln!(
            "app said in {}: {}{button}",
            m["channel"].as_str().unwrap_or("?"),
            m["text"].as_str().unwrap_or_default()
        );
        Ok(())
    };

    let hello = server.deliver(&Delivery::message("hello app"));
    let user = hello.payload["event"]["user"].as_str().unwrap_or("?");
    let channel = hello.payload["event"]["channel"].as_str().unwrap_or("?");
    outln!("<@{user}> in {channel}: hello app");
    said(1)?;

    let click = server.deliver(&Delivery::action("button_click"));
    outln!("<@{user}> clicked the button (action_id button_click)");
    let acked = server.wait_for_socket_ack(&click.envelope_id, WAIT);
    outln!(
        "click acked{}",
        acked
            .map(|a| format!(" ({})", bare(&a.payload)))
            .unwrap_or_else(|| " never".into())
    );
    said(2)?;

    let command = server.deliver(&Delivery::command("/hello", ""));
    outln!("<@{user}> ran /hello in {channel}");
    let ack = server
        .wait_for_socket_ack(&command.envelope_id, WAIT)
        .ok_or("/hello was not acked within 10 s")?;
    outln!("/hello acked with: {}", bare(&ack.payload));

    running.stop();
    running.join()?;
    outln!(
        "demo finished: {} message(s) posted by the app (its own, echoed back, ignored)",
        server.posted_messages().len()
    );
    Ok(())
}

fn bare(payload: &Option<serde_json::Value>) -> String {
    payload
        .as_ref()
        .map_or_else(|| "a bare ack".to_owned(), |p| p.to_string())
}
