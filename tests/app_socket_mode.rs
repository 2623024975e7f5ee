//! The App over Socket Mode against the fake Slack, as a bot's own tests would read: a slash
//! command answered in its ack, a click answered through `response_url`, a shortcut opening a
//! modal with its `trigger_id`, a modal refused with errors, a message answered with `say`
//! whose echo (the bot's own message coming back) is ignored, an unhandled interaction left
//! unacked, a slow listener delaying no other ack, and events acked by the client in either
//! ack mode.

mod app_support;

use std::thread;
use std::time::Duration;

use crossbeam_channel::unbounded;
use serde_json::json;
use slack_rtm::app::{Ack, App};
use slack_rtm::socket_mode::SocketModeRunning;
use slack_rtm::testing::{Delivery, FakeSlack, FAKE_CHANNEL_ID, FAKE_USER_ID};

use app_support::*;

fn run(app: &App) -> SocketModeRunning {
    app.socket_mode(APP_TOKEN)
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .build()
        .expect("build the Socket Mode client")
        .spawn()
        .expect("spawn")
}

fn start(fake: &FakeSlack, app: &App) -> SocketModeRunning {
    let running = run(app);
    assert!(fake.wait_for_socket_ready(1, SOON), "connected");
    running
}

#[test]
fn a_slash_command_is_answered_in_its_ack() {
    let fake = fake();
    let app = app(&fake);
    app.command("/deploy", |ctx| {
        let cmd = ctx.command().unwrap();
        ctx.ack_with(Ack::text(&format!("deploying {}…", cmd.text)).ephemeral())?;
        Ok(())
    });
    let _running = start(&fake, &app);
    let sent = fake.deliver(&Delivery::command("/deploy", "api"));
    let ack = fake.wait_for_socket_ack(&sent.envelope_id, SOON).unwrap();
    assert_eq!(
        ack.payload,
        Some(json!({"text": "deploying api…", "response_type": "ephemeral"}))
    );
    assert!(ack.same_connection && !ack.duplicate);
}

#[test]
fn a_click_is_acked_and_answered_through_its_response_url_without_a_token() {
    let fake = fake();
    let app = app(&fake);
    app.action("approve", |ctx| {
        ctx.ack()?;
        let who = ctx.user_id().unwrap_or_default().to_owned();
        ctx.respond(json!({"text": format!("approved by <@{who}>"), "replace_original": true}))?;
        Ok(())
    });
    let _running = start(&fake, &app);
    let sent = fake.deliver(&Delivery::action("approve").value("build-42"));
    let ack = fake.wait_for_socket_ack(&sent.envelope_id, SOON).unwrap();
    assert_eq!(ack.payload, None, "a bare ack");
    assert!(fake.wait_for_response_url_posts(1, SOON));
    let post = fake.response_url_posts().remove(0);
    assert!(post.is_for(sent.response_url.as_deref().unwrap()));
    assert_eq!(
        post.body,
        json!({"text": format!("approved by <@{FAKE_USER_ID}>"), "replace_original": true})
    );
    assert_eq!(
        post.header("authorization"),
        None,
        "no token to a response_url"
    );
}

#[test]
fn a_shortcut_opens_a_modal_and_its_submission_is_refused_with_errors() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.shortcut("open_deploy", move |ctx| {
        ctx.ack()?;
        let trigger = ctx.body()["trigger_id"].as_str().unwrap_or_default();
        let modal = json!({"type": "modal", "callback_id": "deploy_modal",
            "title": {"type": "plain_text", "text": "Deploy"}, "blocks": []});
        let opened = ctx.client().views_open(trigger, &modal);
        let bogus = ctx.client().views_open("1.2.bogus", &modal);
        tx.send((opened.is_ok(), bogus.err().map(|e| e.to_string())))?;
        Ok(())
    });
    app.view("deploy_modal", |ctx| {
        let view = ctx.view().unwrap();
        if view.value("env_block", "env").is_none() {
            ctx.ack_with(Ack::errors(json!({"env_block": "Pick an environment"})))?;
        }
        Ok(())
    });
    let _running = start(&fake, &app);
    fake.deliver(&Delivery::global_shortcut("open_deploy"));
    let (opened, bogus) = rx.recv_timeout(SOON).unwrap();
    assert!(opened, "views.open with the delivered trigger_id");
    assert!(bogus.unwrap().contains("invalid_trigger_id"));

    let sent = fake.deliver(&Delivery::view_submission("deploy_modal"));
    let ack = fake.wait_for_socket_ack(&sent.envelope_id, SOON).unwrap();
    assert_eq!(
        ack.payload,
        Some(json!({"response_action": "errors", "errors": {"env_block": "Pick an environment"}}))
    );
    let filled = Delivery::view_submission("deploy_modal").state(
        "env_block",
        "env",
        json!({"type": "static_select", "selected_option": {"value": "prod"}}),
    );
    let sent = fake.deliver(&filled);
    let ack = fake.wait_for_socket_ack(&sent.envelope_id, SOON).unwrap();
    assert_eq!(ack.payload, None, "a bare ack closes the modal");
}

#[test]
fn say_answers_a_message_and_the_bots_own_echo_is_ignored() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.message("hello", move |ctx| {
        // The reply contains "hello" too: without ignore-self this would loop.
        ctx.say(&format!("hello <@{}>!", ctx.user_id().unwrap_or_default()))?;
        tx.send(())?;
        Ok(())
    });
    let _running = start(&fake, &app);
    fake.deliver(&Delivery::message("hello bot"));
    rx.recv_timeout(SOON).unwrap();
    // The echo of the bot's reply is delivered (and acked) as Slack would...
    assert!(fake.wait_for_socket_acks(2, SOON));
    let events = fake
        .socket_deliveries()
        .into_iter()
        .filter(|d| d.kind == "events_api")
        .count();
    assert_eq!(events, 2, "the bot's own message came back as an event");
    // ...and no listener answered it.
    thread::sleep(Duration::from_millis(300));
    assert!(rx.try_recv().is_err());
    let posts = fake.posted_messages();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["channel"], FAKE_CHANNEL_ID);
    assert_eq!(posts[0]["text"], format!("hello <@{FAKE_USER_ID}>!"));
}

#[test]
fn an_unhandled_interaction_is_never_acked_over_socket_mode() {
    let fake = fake();
    let app = app_builder(&fake)
        .ack_deadline(Duration::from_millis(200))
        .build()
        .unwrap();
    app.action("handled", |_| Ok(()));
    let _running = start(&fake, &app);
    let unhandled = fake.deliver(&Delivery::action("sm_unhandled_button"));
    let handled = fake.deliver(&Delivery::action("handled"));
    assert!(fake
        .wait_for_socket_ack(&handled.envelope_id, SOON)
        .is_some());
    // Past both deadlines (the App's and the client's, 250 ms later).
    thread::sleep(Duration::from_millis(1000));
    assert!(
        fake.socket_acks()
            .iter()
            .all(|a| a.envelope_id != unhandled.envelope_id),
        "no ack: Slack shows the user an error"
    );
    let warned = lines(log::Level::Warn, "sm_unhandled_button");
    assert_eq!(warned.len(), 1, "{warned:?}");
}

#[test]
fn a_slow_listener_delays_no_other_ack_over_socket_mode() {
    let fake = fake();
    let app = app(&fake);
    app.command("/slow", |ctx| {
        thread::sleep(Duration::from_millis(2000));
        ctx.ack()?;
        Ok(())
    });
    app.command("/fast", |ctx| {
        ctx.ack_with(Ack::text("fast")).map_err(Into::into)
    });
    let _running = start(&fake, &app);
    let slow = fake.deliver(&Delivery::command("/slow", ""));
    let fast = fake.deliver(&Delivery::command("/fast", ""));
    let ack = fake.wait_for_socket_ack(&fast.envelope_id, SOON).unwrap();
    let latency = ack.latency.unwrap();
    assert!(
        latency < Duration::from_millis(500),
        "fast ack after {latency:?}"
    );
    let ack = fake.wait_for_socket_ack(&slow.envelope_id, SOON).unwrap();
    assert!(ack.latency.unwrap() >= Duration::from_millis(1400));
}

#[test]
fn retries_reach_the_listener() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.event("app_mention", move |ctx| {
        tx.send((ctx.retry_num(), ctx.retry_reason().map(str::to_owned)))?;
        Ok(())
    });
    let _running = start(&fake, &app);
    fake.send_app_mention("first");
    assert_eq!(rx.recv_timeout(SOON).unwrap(), (None, None));
    let envelope = fake.payload(&Delivery::event(json!({"type": "app_mention",
        "user": FAKE_USER_ID, "text": "again", "ts": "1.1", "channel": FAKE_CHANNEL_ID,
        "event_ts": "1.1"})));
    fake.send_socket_envelope(
        &json!({"envelope_id": "retried-envelope", "type": "events_api",
        "accepts_response_payload": false, "payload": envelope.payload,
        "retry_attempt": 2, "retry_reason": "timeout"}),
    );
    assert_eq!(
        rx.recv_timeout(SOON).unwrap(),
        (Some(2), Some("timeout".to_owned()))
    );
}

#[test]
fn events_are_acked_by_the_client_in_either_ack_mode() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.event("app_mention", move |_| {
        thread::sleep(Duration::from_millis(1500));
        tx.send(())?;
        Ok(())
    });
    let running = app
        .socket_mode(APP_TOKEN)
        .event_ack(slack_rtm::socket_mode::AckMode::AfterHandlers)
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    let sent = fake.send_app_mention("hi");
    let ack = fake.wait_for_socket_ack(&sent, SOON).unwrap();
    // The App's dispatcher handler returns at once: the ack does not wait for the listener,
    // nor for the client's ack deadline.
    assert!(
        ack.latency.unwrap() < Duration::from_millis(1000),
        "{ack:?}"
    );
    rx.recv_timeout(SOON).unwrap();
    drop(running);
}
