//! A request the App cannot authorize — no installation for its workspace, or an `authorize`
//! hook's `Err` — is answered as Bolt does: acked with 200 (Slack does not retry it), the user
//! who triggered it sees "please reinstall" (in a slash command's answer, through a click's
//! `response_url`), the error reaches `app.error`, and no listener runs. Over `App::dispatch`
//! (so HTTP mode) and over Socket Mode.

mod app_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver};
use serde_json::json;
use slack_rtm::app::oauth::{MemoryStore, OAuthSettings};
use slack_rtm::app::{App, REINSTALL_MESSAGE};
use slack_rtm::testing::{Delivery, FakeSlack, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};

use app_support::*;

/// An OAuth App whose installation store is empty: every workspace must (re)install it.
/// Returns how many listeners ran and what reached `app.error`.
fn not_installed(fake: &FakeSlack) -> (App, Arc<AtomicUsize>, Receiver<String>) {
    let app = App::builder()
        .base_url(&fake.api_url())
        .handle_signals(false)
        .oauth(
            OAuthSettings::new(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET)
                .scopes(&["commands"])
                .store(Arc::new(MemoryStore::new())),
        )
        .build()
        .expect("app");
    listen(app)
}

fn listen(app: App) -> (App, Arc<AtomicUsize>, Receiver<String>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let (r1, r2, r3) = (ran.clone(), ran.clone(), ran.clone());
    app.command("/deploy", move |_| {
        r1.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    app.action("approve", move |_| {
        r2.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    app.event("app_mention", move |_| {
        r3.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let (tx, errors) = unbounded();
    app.error(move |err, _ctx| {
        let _ = tx.send(err.to_string());
    });
    (app, ran, errors)
}

fn reinstall() -> serde_json::Value {
    json!({"response_type": "ephemeral", "text": REINSTALL_MESSAGE})
}

#[test]
fn a_command_from_a_workspace_without_installation_is_told_to_reinstall() {
    let fake = fake();
    let (app, ran, errors) = not_installed(&fake);
    let (answer, _) = dispatch(&app, &fake, &Delivery::command("/deploy", "prod"));
    assert_eq!(answer.status, 200, "acked, so Slack shows the text");
    assert_eq!(json(&answer), reinstall());
    assert!(REINSTALL_MESSAGE.contains("Please reinstall"));
    let why = errors.recv_timeout(SOON).expect("reported to app.error");
    assert!(why.contains("please reinstall"), "{why}");
    assert_eq!(ran.load(Ordering::SeqCst), 0, "no listener ran");
}

#[test]
fn a_click_from_a_workspace_without_installation_gets_the_text_through_its_response_url() {
    let fake = fake();
    let (app, ran, errors) = not_installed(&fake);
    let (answer, sent) = dispatch(&app, &fake, &Delivery::action("approve"));
    assert_eq!(answer.status, 200);
    assert!(fake.wait_for_response_url_posts(1, SOON));
    let post = fake.response_url_posts().remove(0);
    assert!(post.is_for(sent.response_url.as_deref().unwrap()));
    assert_eq!(post.body, reinstall());
    let why = errors.recv_timeout(SOON).expect("reported to app.error");
    assert!(why.contains("please reinstall"), "{why}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn an_event_from_a_workspace_without_installation_is_acked_so_slack_does_not_retry() {
    let fake = fake();
    let (app, ran, errors) = not_installed(&fake);
    let mention = json!({"type": "app_mention", "user": "U0OTHER", "text": "<@U0BOT> hi",
                         "channel": "C0FAKE0001", "ts": "1700000000.000100"});
    let (answer, _) = dispatch(&app, &fake, &Delivery::event(mention));
    assert_eq!((answer.status, body(&answer)), (200, String::new()));
    let why = errors.recv_timeout(SOON).expect("still reported");
    assert!(why.contains("please reinstall"), "{why}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn over_socket_mode_a_refused_command_is_acked_with_the_reinstall_text() {
    let fake = fake();
    let app = App::builder()
        .base_url(&fake.api_url())
        .handle_signals(false)
        .authorize(|_q| Err("no installation for this workspace".into()))
        .build()
        .expect("app");
    let (app, ran, errors) = listen(app);
    let _running = app
        .socket_mode(APP_TOKEN)
        .build()
        .expect("client")
        .spawn()
        .expect("spawn");
    assert!(fake.wait_for_socket_ready(1, SOON), "connected");
    let sent = fake.deliver(&Delivery::command("/deploy", "prod"));
    let ack = fake
        .wait_for_socket_ack(&sent.envelope_id, SOON)
        .expect("acked, not left for Slack to time out");
    assert_eq!(ack.payload, Some(reinstall()));
    let why = errors.recv_timeout(SOON).expect("reported");
    assert!(why.contains("no installation"), "{why}");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}
