//! Middleware and the built-ins around it: global and per-listener middleware nest like an
//! onion (`next.run()` returns what the rest returned), a middleware that does not call next
//! stops the request (acked bare), the bot's own events are dropped (Bolt's rules), and
//! authorization runs `auth.test` once or asks the `authorize` hook.

mod app_support;

use std::sync::{Arc, Mutex};

use crossbeam_channel::unbounded;
use serde_json::json;
use slack_rtm::app::{Ack, App, Authorization};
use slack_rtm::testing::{Delivery, FAKE_BOT_ID, FAKE_BOT_USER_ID, FAKE_TEAM_ID};

use app_support::*;

#[test]
fn middleware_nests_like_an_onion() {
    let fake = fake();
    let app = app(&fake);
    let trace = Arc::new(Mutex::new(Vec::<String>::new()));
    for name in ["outer", "inner"] {
        let t = trace.clone();
        app.middleware(move |_, next| {
            t.lock().unwrap().push(format!("{name} before"));
            let result = next.run();
            t.lock()
                .unwrap()
                .push(format!("{name} after ok={}", result.is_ok()));
            result
        });
    }
    let t = trace.clone();
    app.command("/onion", move |ctx| {
        t.lock().unwrap().push("listener".into());
        ctx.ack()?;
        Err("listener error".into())
    })
    .middleware({
        let t = trace.clone();
        move |_, next| {
            t.lock().unwrap().push("listener middleware".into());
            next.run()
        }
    });
    let (errors_tx, errors_rx) = unbounded();
    app.error(move |e, _| {
        let _ = errors_tx.send(e.to_string());
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/onion", ""));
    assert_eq!(r.status, 200);
    assert_eq!(errors_rx.recv_timeout(SOON).unwrap(), "listener error");
    assert_eq!(
        *trace.lock().unwrap(),
        [
            "outer before",
            "inner before",
            "listener middleware",
            "listener",
            "inner after ok=false",
            "outer after ok=false"
        ]
    );
}

#[test]
fn a_middleware_that_does_not_call_next_stops_the_request() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded::<&str>();
    app.middleware(|ctx, next| {
        if ctx.user_id() == Some("U0BLOCKED") {
            return Ok(()); // stops here
        }
        next.run()
    });
    let t = tx.clone();
    app.command("/guarded", move |ctx| {
        t.send("listener ran")?;
        ctx.ack_with(Ack::text("welcome"))?;
        Ok(())
    })
    .middleware(|ctx, next| {
        if ctx.command().is_some_and(|c| c.text == "forbidden") {
            ctx.ack_with(Ack::text("not allowed").ephemeral())?;
            return Ok(());
        }
        next.run()
    });
    let (r, _) = dispatch(
        &app,
        &fake,
        &Delivery::command("/guarded", "").user("U0BLOCKED"),
    );
    assert_eq!((r.status, r.body.len()), (200, 0), "acked bare");
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/guarded", "forbidden"));
    assert_eq!(
        json(&r),
        json!({"text": "not allowed", "response_type": "ephemeral"})
    );
    assert!(rx.try_recv().is_err(), "the listener never ran");
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/guarded", "hi"));
    assert_eq!(json(&r)["text"], "welcome");
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "listener ran");
}

#[test]
fn the_bots_own_events_are_ignored_except_membership_events() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded::<String>();
    let t = tx.clone();
    app.message("", move |ctx| {
        Ok(t.send(format!("message {}", ctx.user_id().unwrap_or("-")))?)
    });
    app.event("member_joined_channel", move |ctx| {
        Ok(tx.send(format!("joined {}", ctx.user_id().unwrap()))?)
    });
    // The bot's own message, by user id and by bot id.
    dispatch(
        &app,
        &fake,
        &Delivery::message("mine").user(FAKE_BOT_USER_ID),
    );
    let bot_message = json!({"type": "message", "subtype": "bot_message", "bot_id": FAKE_BOT_ID,
        "text": "also mine", "ts": "1.1", "channel": "C1", "event_ts": "1.1"});
    dispatch(&app, &fake, &Delivery::event(bot_message));
    let joined = json!({"type": "member_joined_channel", "user": FAKE_BOT_USER_ID,
        "channel": "C1", "channel_type": "C", "team": FAKE_TEAM_ID, "event_ts": "1.2"});
    dispatch(&app, &fake, &Delivery::event(joined));
    dispatch(&app, &fake, &Delivery::message("theirs"));
    let mut got = vec![
        rx.recv_timeout(SOON).unwrap(),
        rx.recv_timeout(SOON).unwrap(),
    ];
    got.sort();
    assert_eq!(
        got,
        [
            format!("joined {FAKE_BOT_USER_ID}"),
            "message U0FAKEUSR1".into()
        ]
    );
    assert!(rx
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_err());
    assert_eq!(
        fake.calls_to("auth.test"),
        1,
        "auth.test once, for the bot's ids"
    );
}

#[test]
fn ignore_self_can_be_switched_off() {
    let fake = fake();
    let app = app_builder(&fake).ignore_self(false).build().unwrap();
    let (tx, rx) = unbounded::<String>();
    app.message("", move |_| Ok(tx.send("seen".into())?));
    dispatch(
        &app,
        &fake,
        &Delivery::message("mine").user(FAKE_BOT_USER_ID),
    );
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "seen");
}

#[test]
fn the_bot_ids_come_from_auth_test_once_and_the_client_carries_the_token() {
    let fake = fake();
    let app = app(&fake);
    app.command("/whoami", |ctx| {
        let me = format!("{} {}", ctx.bot_user_id().unwrap(), ctx.bot_id().unwrap());
        ctx.client().chat_post_message("C0FAKE0001", &me)?;
        ctx.ack_with(Ack::text(&me))?;
        Ok(())
    });
    for _ in 0..3 {
        let (r, _) = dispatch(&app, &fake, &Delivery::command("/whoami", ""));
        assert_eq!(
            json(&r)["text"],
            format!("{FAKE_BOT_USER_ID} {FAKE_BOT_ID}")
        );
    }
    assert_eq!(fake.calls_to("auth.test"), 1);
    let posts: Vec<_> = fake
        .api_calls()
        .into_iter()
        .filter(|c| c.method == "chat.postMessage")
        .collect();
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|c| c.token.as_deref() == Some(BOT_TOKEN)));
}

#[test]
fn the_authorize_hook_picks_the_token_per_workspace() {
    let fake = slack_rtm::testing::FakeSlack::start().unwrap();
    let (tx, rx) = unbounded::<String>();
    let app = App::builder()
        .base_url(&fake.api_url())
        .authorize(move |q| {
            tx.send(format!("{:?} {:?}", q.team_id, q.user_id))?;
            match q.team_id {
                Some(FAKE_TEAM_ID) => Ok(Authorization {
                    bot_token: Some("xoxb-for-fake-team".into()),
                    bot_user_id: Some("U0OTHERBOT".into()),
                    ..Authorization::default()
                }),
                _ => Err("no installation for this workspace".into()),
            }
        })
        .build()
        .unwrap();
    app.command("/who", |ctx| {
        ctx.say("hello from the installed bot")?;
        ctx.ack_with(Ack::text(ctx.bot_user_id().unwrap_or("-")))?;
        Ok(())
    });
    let (errors_tx, errors_rx) = unbounded::<String>();
    app.error(move |e, _| {
        let _ = errors_tx.send(e.to_string());
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/who", ""));
    assert_eq!(json(&r)["text"], "U0OTHERBOT");
    assert_eq!(
        rx.recv_timeout(SOON).unwrap(),
        format!("Some({FAKE_TEAM_ID:?}) Some(\"U0FAKEUSR1\")")
    );
    let post = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .unwrap();
    assert_eq!(post.token.as_deref(), Some("xoxb-for-fake-team"));
    assert_eq!(fake.calls_to("auth.test"), 0, "the hook is trusted");

    // Another workspace: refused before any listener.
    let other = slack_rtm::testing::FakeSlack::builder()
        .team("T0OTHER", "Other")
        .start()
        .unwrap();
    let (r, _) = dispatch(&app, &other, &Delivery::command("/who", ""));
    assert_eq!(r.status, 200, "acked, the user told to reinstall");
    assert_eq!(json(&r)["text"], slack_rtm::app::REINSTALL_MESSAGE);
    assert!(errors_rx
        .recv_timeout(SOON)
        .unwrap()
        .contains("no installation for this workspace"));
}

#[test]
fn bot_token_and_authorize_cannot_be_combined_and_an_empty_secret_is_refused() {
    let e = App::builder()
        .bot_token("xoxb-1")
        .authorize(|_| Ok(Authorization::default()))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("authorize"), "{e}");
    let e = App::builder().signing_secret("  ").build().unwrap_err();
    assert!(e.to_string().contains("signing_secret"), "{e}");
}
