//! The App routes every listener kind by its matchers (exact ids, message substrings, regexes,
//! closures, `{block_id, action_id}`, event subtypes), with Bolt's dispatch policy made
//! explicit: the first match for ack-bearing requests, every match for events.

mod app_support;

use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, Sender};
use serde_json::{json, Value};
use slack_rtm::app::{Ack, ActionIds, Matcher};
use slack_rtm::testing::{Delivery, FAKE_CHANNEL_ID, FAKE_USER_ID};

use app_support::*;

fn channel() -> (Sender<String>, Receiver<String>) {
    unbounded()
}

/// Everything sent within a short quiet period after the first.
fn drain(rx: &Receiver<String>) -> Vec<String> {
    let mut got = Vec::new();
    if let Ok(first) = rx.recv_timeout(SOON) {
        got.push(first);
    }
    while let Ok(more) = rx.recv_timeout(Duration::from_millis(300)) {
        got.push(more);
    }
    got.sort();
    got
}

#[test]
fn message_listeners_match_substrings_never_patterns() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = channel();
    for needle in ["hello", "?", "h.llo", "(", ""] {
        let tx = tx.clone();
        app.message(needle, move |ctx| {
            let text = ctx.event().unwrap()["text"].as_str().unwrap().to_owned();
            tx.send(format!("{needle:?} saw {text}"))?;
            Ok(())
        });
    }
    let (r, _) = dispatch(&app, &fake, &Delivery::message("well hello (there)?"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"", "events are acked bare, on arrival");
    assert_eq!(
        drain(&rx),
        vec![
            r#""" saw well hello (there)?"#,
            r#""(" saw well hello (there)?"#,
            r#""?" saw well hello (there)?"#,
            r#""hello" saw well hello (there)?"#,
        ],
        "every matching listener runs; h.llo is not a pattern"
    );
}

#[test]
fn message_listeners_skip_edits_which_event_subtype_listeners_see() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = channel();
    let t = tx.clone();
    app.message("hi", move |_| Ok(t.send("message".into())?));
    let t = tx.clone();
    app.event(
        Matcher::event_subtype("message", Some("message_changed")),
        move |ctx| {
            let new = ctx.event().unwrap()["message"]["text"]
                .as_str()
                .unwrap_or_default();
            Ok(t.send(format!("edited to {new}"))?)
        },
    );
    let t = tx.clone();
    app.event(Matcher::event_subtype("message", None), move |_| {
        Ok(t.send("plain".into())?)
    });
    let edit = json!({"type": "message", "subtype": "message_changed", "channel": FAKE_CHANNEL_ID,
        "hidden": true, "message": {"type": "message", "user": FAKE_USER_ID, "text": "hi all",
        "ts": "1.1", "edited": {"user": FAKE_USER_ID, "ts": "1.2"}},
        "previous_message": {"type": "message", "user": FAKE_USER_ID, "text": "hi", "ts": "1.1"},
        "ts": "1.2", "event_ts": "1.2"});
    dispatch(&app, &fake, &Delivery::event(edit));
    assert_eq!(drain(&rx), vec!["edited to hi all"]);
    dispatch(&app, &fake, &Delivery::message("hi"));
    assert_eq!(drain(&rx), vec!["message", "plain"]);
}

#[cfg(feature = "regex")]
#[test]
fn a_regex_matches_anywhere_and_its_captures_reach_the_listener() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = channel();
    let re = regex::Regex::new(r"deploy (\w+) to (\w+)").unwrap();
    app.message(re, move |ctx| {
        let m = ctx.matches();
        Ok(tx.send(format!("{:?} {:?}", m[0], m[1]))?)
    });
    dispatch(
        &app,
        &fake,
        &Delivery::message("please deploy api to prod now"),
    );
    assert_eq!(drain(&rx), vec![r#"Some("api") Some("prod")"#]);
}

#[test]
fn closures_match_on_the_payload() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = channel();
    let t = tx.clone();
    app.event(
        |e: &Value| e["type"] == "reaction_added" && e["reaction"] == "eyes",
        move |_| Ok(t.send("eyes".into())?),
    );
    app.action(
        |a: &Value| a["value"].as_str().is_some_and(|v| v.starts_with("env-")),
        move |ctx| {
            ctx.ack()?;
            Ok(tx.send(format!("env {}", ctx.action().unwrap().value.unwrap()))?)
        },
    );
    let reaction = json!({"type": "reaction_added", "user": FAKE_USER_ID, "reaction": "eyes",
        "item": {"type": "message", "channel": FAKE_CHANNEL_ID, "ts": "1.1"}, "event_ts": "1.3"});
    dispatch(&app, &fake, &Delivery::event(reaction));
    assert_eq!(drain(&rx), vec!["eyes"]);
    let (r, _) = dispatch(&app, &fake, &Delivery::action("pick").value("env-prod"));
    assert_eq!(r.status, 200);
    assert_eq!(drain(&rx), vec!["env env-prod"]);
}

#[test]
fn commands_match_exactly() {
    let fake = fake();
    let app = app(&fake);
    app.command("/deploy", |ctx| {
        let cmd = ctx.command().unwrap();
        ctx.ack_with(Ack::text(&format!(
            "deploying {} for {}",
            cmd.text, cmd.user_id
        )))?;
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/deploy", "api"));
    assert_eq!(r.status, 200);
    assert_eq!(
        json(&r),
        json!({"text": format!("deploying api for {FAKE_USER_ID}")})
    );
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/deploy-all", "api"));
    assert_eq!(r.status, 404, "no prefix matching");
}

#[test]
fn actions_match_by_action_id_or_by_block_and_action_ids() {
    let fake = fake();
    let app = app(&fake);
    let ids = ActionIds {
        block_id: "danger_zone",
        action_id: "approve",
    };
    app.action(ids, |ctx| {
        ctx.ack_with(Ack::text("careful")).map_err(Into::into)
    });
    app.action("approve", |ctx| {
        let a = ctx.action().unwrap();
        ctx.ack_with(Ack::text(&format!(
            "approved {} in {}",
            a.value.unwrap(),
            a.block_id
        )))?;
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::action("approve").value("v1"));
    assert_eq!(json(&r)["text"], "approved v1 in fake-block");
    let click = Delivery::action("approve").block_id("danger_zone");
    let (r, _) = dispatch(&app, &fake, &click);
    assert_eq!(json(&r)["text"], "careful");
}

#[test]
fn views_shortcuts_and_options_match_their_callback_and_action_ids() {
    let fake = fake();
    let app = app(&fake);
    app.view("deploy_modal", |ctx| {
        let v = ctx.view().unwrap();
        let env = v.value("env_block", "env").unwrap_or("none").to_owned();
        ctx.ack_with(Ack::update(json!({"type": "modal", "callback_id": "done",
            "title": {"type": "plain_text", "text": env}, "blocks": []})))?;
        Ok(())
    });
    let (tx, rx) = channel();
    let t = tx.clone();
    app.view_closed("deploy_modal", move |ctx| {
        Ok(t.send(format!("closed {}", ctx.view().unwrap().callback_id))?)
    });
    app.global_shortcut("open_deploy", |ctx| {
        ctx.ack_with(Ack::text("global"))?;
        Ok(())
    });
    app.message_shortcut("open_deploy", |ctx| {
        ctx.ack_with(Ack::text("message"))?;
        Ok(())
    });
    app.options("pick_env", |ctx| {
        let typed = ctx.payload()["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let options: Vec<Value> = ["prod", "staging", "dev"]
            .iter()
            .filter(|e| e.starts_with(&typed))
            .map(|e| json!({"text": {"type": "plain_text", "text": e}, "value": e}))
            .collect();
        ctx.ack_with(Ack::options(json!(options)))?;
        Ok(())
    });

    let submit = Delivery::view_submission("deploy_modal").state(
        "env_block",
        "env",
        json!({"type": "static_select", "selected_option": {"value": "prod"}}),
    );
    let (r, _) = dispatch(&app, &fake, &submit);
    assert_eq!(json(&r)["response_action"], "update");
    assert_eq!(json(&r)["view"]["title"]["text"], "prod");

    let (r, _) = dispatch(&app, &fake, &Delivery::view_closed("deploy_modal"));
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(drain(&rx), vec!["closed deploy_modal"]);

    let (r, _) = dispatch(&app, &fake, &Delivery::global_shortcut("open_deploy"));
    assert_eq!(json(&r)["text"], "global");
    let (r, _) = dispatch(&app, &fake, &Delivery::message_shortcut("open_deploy"));
    assert_eq!(json(&r)["text"], "message");

    let (r, _) = dispatch(&app, &fake, &Delivery::options("pick_env").value("st"));
    assert_eq!(
        json(&r),
        json!({"options": [{"text": {"type": "plain_text", "text": "staging"}, "value": "staging"}]})
    );
}

#[test]
fn shortcut_takes_both_kinds() {
    let fake = fake();
    let app = app(&fake);
    app.shortcut("s", |ctx| {
        ctx.ack_with(Ack::text(ctx.body()["type"].as_str().unwrap()))?;
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::global_shortcut("s"));
    assert_eq!(json(&r)["text"], "shortcut");
    let (r, _) = dispatch(&app, &fake, &Delivery::message_shortcut("s"));
    assert_eq!(json(&r)["text"], "message_action");
}

#[test]
fn the_first_match_answers_an_ack_bearing_request_and_every_match_sees_an_event() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = channel();
    for name in ["first", "second"] {
        let t = tx.clone();
        app.command("/who", move |ctx| {
            t.send(name.to_owned())?;
            ctx.ack_with(Ack::text(name))?;
            Ok(())
        });
        let t = tx.clone();
        app.event("app_mention", move |_| {
            Ok(t.send(format!("mention {name}"))?)
        });
    }
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/who", ""));
    assert_eq!(json(&r)["text"], "first");
    assert_eq!(drain(&rx), vec!["first"], "the second listener never runs");
    let mention = json!({"type": "app_mention", "user": FAKE_USER_ID, "text": "<@U0FAKEBOT1> hi",
        "ts": "1.1", "channel": FAKE_CHANNEL_ID, "event_ts": "1.1"});
    dispatch(&app, &fake, &Delivery::event(mention));
    assert_eq!(drain(&rx), vec!["mention first", "mention second"]);
}

#[test]
fn listeners_registered_while_running_take_the_next_request() {
    let fake = fake();
    let app = app(&fake);
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/late", ""));
    assert_eq!(r.status, 404);
    let inner = app.clone();
    app.command("/register", move |ctx| {
        inner.command("/late", |ctx| {
            ctx.ack_with(Ack::text("here")).map_err(Into::into)
        });
        ctx.ack()?;
        Ok(())
    });
    assert_eq!(
        dispatch(&app, &fake, &Delivery::command("/register", ""))
            .0
            .status,
        200
    );
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/late", ""));
    assert_eq!(json(&r)["text"], "here");
}
