//! What goes wrong around listeners: an `Err` or a panic reaches `app.error` and the App keeps
//! serving (a request not yet acked answers 500); an unhandled command or interaction is not
//! acked (404) with one warning naming the registration; `app.unhandled` replaces that; an
//! unhandled event is acked; `say` without a channel and `respond` without a `response_url`
//! are typed errors.

mod app_support;

use std::thread;
use std::time::Duration;

use crossbeam_channel::unbounded;
use serde_json::json;
use slack_rtm::app::Ack;
use slack_rtm::testing::Delivery;

use app_support::*;

#[test]
fn a_panic_reaches_the_error_handler_and_the_app_goes_on_serving() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.error(move |err, ctx| {
        let _ = tx.send(format!("{} in {}", err, ctx.body()["command"]));
    });
    app.command("/boom", |_| panic!("kaboom"));
    app.command("/ok", |ctx| {
        ctx.ack_with(Ack::text("fine")).map_err(Into::into)
    });
    for _ in 0..3 {
        let (r, _) = dispatch(&app, &fake, &Delivery::command("/boom", ""));
        assert_eq!(r.status, 500, "not acked before the panic");
        let got = rx.recv_timeout(SOON).unwrap();
        assert_eq!(got, r#"listener panicked: kaboom in "/boom""#);
        let (r, _) = dispatch(&app, &fake, &Delivery::command("/ok", ""));
        assert_eq!(json(&r)["text"], "fine");
    }
}

#[test]
fn an_error_after_the_ack_keeps_the_ack_and_reaches_the_error_handler() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.error(move |err, _| {
        let _ = tx.send(err.to_string());
    });
    app.command("/half", |ctx| {
        ctx.ack_with(Ack::text("started"))?;
        Err("the second half failed".into())
    });
    app.command("/fail", |_| Err(std::io::Error::other("disk full").into()));
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/half", ""));
    assert_eq!(json(&r)["text"], "started");
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "the second half failed");
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/fail", ""));
    assert_eq!(r.status, 500);
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "disk full");
}

#[test]
fn every_event_listener_failure_is_reported_and_the_others_still_run() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    let t = tx.clone();
    app.error(move |err, _| {
        let _ = t.send(format!("error: {err}"));
    });
    app.message("x", |_| panic!("first"));
    app.message("x", |_| Err("second".into()));
    let t = tx.clone();
    app.message("x", move |_| Ok(t.send("third ran".to_owned())?));
    let (r, _) = dispatch(&app, &fake, &Delivery::message("x"));
    assert_eq!(r.status, 200);
    let mut got: Vec<String> = (0..3).map(|_| rx.recv_timeout(SOON).unwrap()).collect();
    got.sort();
    assert_eq!(
        got,
        [
            "error: listener panicked: first",
            "error: second",
            "third ran"
        ]
    );
}

#[test]
fn an_unhandled_interaction_is_not_acked_and_one_warning_names_the_registration() {
    let fake = fake();
    let app = app(&fake);
    let (r, _) = dispatch(&app, &fake, &Delivery::action("approve_unhandled"));
    assert_eq!(r.status, 404);
    assert_eq!(json(&r), json!({"error": "unhandled request"}));
    let warned = lines(log::Level::Warn, "approve_unhandled");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains(r#"app.action("approve_unhandled", …)"#),
        "{}",
        warned[0]
    );
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/unhandled-cmd", ""));
    assert_eq!(r.status, 404);
    let warned = lines(log::Level::Warn, r#"app.command("/unhandled-cmd", …)"#);
    assert_eq!(warned.len(), 1, "{warned:?}");
}

#[test]
fn an_unhandled_event_is_acked_and_logged_at_debug_only() {
    let fake = fake();
    let app = app(&fake);
    let event = json!({"type": "pin_added", "user": "U1", "channel_id": "C1",
        "item": {}, "event_ts": "1.1"});
    let (r, _) = dispatch(&app, &fake, &Delivery::event(event));
    assert_eq!((r.status, r.body.len()), (200, 0));
    let deadline = std::time::Instant::now() + SOON;
    while lines(log::Level::Debug, "event pin_added: no listener").is_empty() {
        assert!(std::time::Instant::now() < deadline, "no debug line");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(lines(log::Level::Warn, "pin_added").is_empty());
}

#[test]
fn app_unhandled_replaces_the_default() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.unhandled(move |ctx| {
        tx.send(ctx.body()["type"].as_str().unwrap_or("command").to_owned())?;
        if ctx.body()["type"] == "block_actions" {
            ctx.ack_with(Ack::text("caught"))?;
        }
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::action("nobody_custom"));
    assert_eq!(json(&r)["text"], "caught");
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "block_actions");
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/nobody-custom", ""));
    assert_eq!(r.status, 404, "left unacked by the hook");
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "command");
    assert!(
        lines(log::Level::Warn, "nobody").is_empty(),
        "no default warning"
    );
}

#[test]
fn say_without_a_channel_and_respond_without_a_response_url_are_typed_errors() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    app.view("no_channel", move |ctx| {
        ctx.ack()?;
        let said = ctx.say("where?");
        let responded = ctx.respond(json!({"text": "to whom?"}));
        tx.send(format!(
            "{} | {}",
            said.unwrap_err(),
            responded.unwrap_err()
        ))?;
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::view_submission("no_channel"));
    assert_eq!(r.status, 200);
    assert_eq!(
        rx.recv_timeout(SOON).unwrap(),
        "say: this request has no channel | respond: this request has no response_url"
    );
    assert_eq!(fake.calls_to("chat.postMessage"), 0);
}
