//! The App over RTM (no Bolt has it): `message` and `event` listeners run on an `RtmClient`'s
//! events, `say` answers through the Web API, and the bot's own echoed message is ignored.

mod app_support;

use std::time::Duration;

use crossbeam_channel::unbounded;
use slack_rtm::app::App;
use slack_rtm::testing::{FakeSlack, FAKE_BOT_USER_ID};

use app_support::*;

#[test]
fn message_listeners_run_over_rtm_and_say_posts_with_the_web_api() {
    logs();
    let fake = FakeSlack::builder().token(BOT_TOKEN).start().unwrap();
    // No bot token on the App: the RTM client's authorizes it.
    let app = App::builder()
        .base_url(&fake.api_url())
        .handle_signals(false)
        .build()
        .unwrap();
    let (tx, rx) = unbounded();
    app.message("hello", move |ctx| {
        ctx.say(&format!("hello <@{}>", ctx.user_id().unwrap_or_default()))?;
        tx.send(ctx.channel_id().unwrap_or_default().to_owned())?;
        Ok(())
    });
    let running = app
        .rtm(BOT_TOKEN)
        .connect_rate(100, Duration::from_millis(10))
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    assert!(fake.wait_for_connections(1, SOON));
    fake.send_message("C0FAKE0002", "U0FAKEUSR2", "hello there");
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "C0FAKE0002");
    assert!(fake.wait_for_calls("chat.postMessage", 1, SOON));
    // The fake echoes the reply (from the bot, containing "hello"): ignored, no loop.
    std::thread::sleep(Duration::from_millis(300));
    assert!(rx.try_recv().is_err());
    let posted = fake.posted_messages();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["text"], "hello <@U0FAKEUSR2>");
    let call = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .unwrap();
    assert_eq!(call.token.as_deref(), Some(BOT_TOKEN));
    assert_eq!(fake.calls_to("auth.test"), 1, "once, for the bot's ids");
    assert_ne!(FAKE_BOT_USER_ID, "U0FAKEUSR2");
    running.stop();
    running.join().unwrap();
}
