//! Every ack path of the App: an ack in time (the request answers before the listener
//! returns), a bare ack when the listener returns, a bare ack and a warning at the ack
//! deadline with a later ack refused, a `view_submission` answered bare with an empty body,
//! a slow listener delaying no other request, a `Ctx` acking from another thread, a full queue.

mod app_support;

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use serde_json::json;
use slack_rtm::app::{Ack, AppError};
use slack_rtm::testing::Delivery;

use app_support::*;

#[test]
fn an_ack_in_time_answers_while_the_listener_works_on() {
    let fake = fake();
    let app = app(&fake);
    let (done_tx, done_rx) = bounded(1);
    app.command("/deploy", move |ctx| {
        ctx.ack_with(Ack::text("deploying…").in_channel())?;
        thread::sleep(Duration::from_millis(2500));
        done_tx.send(())?;
        Ok(())
    });
    let t0 = Instant::now();
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/deploy", "prod"));
    let took = t0.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        json(&r),
        json!({"text": "deploying…", "response_type": "in_channel"})
    );
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    assert!(done_rx.try_recv().is_err(), "the listener still runs");
    done_rx.recv_timeout(SOON).unwrap();
}

#[test]
fn a_listener_that_returns_without_acking_is_acked_bare() {
    let fake = fake();
    let app = app(&fake);
    app.action("noop", |_| Ok(()));
    app.view("modal", |_| Ok(()));
    let (r, _) = dispatch(&app, &fake, &Delivery::action("noop"));
    assert_eq!((r.status, body(&r)), (200, String::new()));
    let (r, _) = dispatch(&app, &fake, &Delivery::view_submission("modal"));
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty(), "never {{\"ok\":true}}: {}", body(&r));
}

#[test]
fn at_the_deadline_a_bare_ack_goes_a_warning_names_the_request_and_a_later_ack_fails() {
    let fake = fake();
    let app = app_builder(&fake)
        .ack_deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let (late_tx, late_rx) = bounded(1);
    app.command("/slow-deadline", move |ctx| {
        thread::sleep(Duration::from_millis(2000));
        let late = ctx.ack_with(Ack::text("too late"));
        late_tx.send(late)?;
        Ok(())
    });
    let t0 = Instant::now();
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/slow-deadline", ""));
    let took = t0.elapsed();
    assert_eq!((r.status, r.body.len()), (200, 0), "a bare ack");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1800),
        "answered at the deadline, after {took:?}"
    );
    let late = late_rx.recv_timeout(SOON).unwrap();
    assert!(matches!(late, Err(AppError::AckLate)), "{late:?}");
    let warned = lines(log::Level::Warn, "command /slow-deadline");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("ack deadline"), "{}", warned[0]);
}

#[test]
fn a_second_ack_and_an_answer_to_an_event_are_refused() {
    let fake = fake();
    let app = app(&fake);
    let (tx, rx) = unbounded();
    let t = tx.clone();
    app.action("twice", move |ctx| {
        ctx.ack()?;
        t.send(format!("{:?}", ctx.ack_with(Ack::text("again"))))?;
        Ok(())
    });
    app.event("app_mention", move |ctx| {
        tx.send(format!(
            "{:?} {:?}",
            ctx.ack(),
            ctx.ack_with(Ack::text("x"))
        ))?;
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::action("twice"));
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "Err(AlreadyAcked)");
    let mention = json!({"type": "app_mention", "user": "U1", "text": "hi", "ts": "1.1",
        "channel": "C1", "event_ts": "1.1"});
    dispatch(&app, &fake, &Delivery::event(mention));
    assert_eq!(rx.recv_timeout(SOON).unwrap(), "Ok(()) Err(NotAckable)");
}

#[test]
fn a_slow_listener_delays_no_other_request() {
    let fake = fake();
    let app = app(&fake);
    let (release_tx, release_rx) = bounded::<()>(0);
    let (started_tx, started_rx) = bounded::<()>(1);
    app.command("/slow", move |ctx| {
        let _ = started_tx.try_send(());
        // Holds its worker until the test ends, without acking.
        let _ = release_rx.recv_timeout(Duration::from_secs(5));
        ctx.ack()?;
        Ok(())
    });
    app.command("/fast", |ctx| {
        ctx.ack_with(Ack::text("fast")).map_err(Into::into)
    });
    let slow = {
        let (app, delivered) = (app.clone(), fake.payload(&Delivery::command("/slow", "")));
        thread::spawn(move || {
            let (headers, body) = delivered.http_parts();
            app.dispatch(slack_rtm::app::AppRequest::post(
                "/slack/events",
                headers,
                body,
            ))
        })
    };
    // The slow one is running (its request is waiting) when the fast one comes.
    started_rx
        .recv_timeout(SOON)
        .expect("the slow listener started");
    let t0 = Instant::now();
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/fast", ""));
    let took = t0.elapsed();
    assert_eq!(json(&r)["text"], "fast");
    assert!(
        took < Duration::from_millis(500),
        "the fast ack took {took:?}"
    );
    drop(release_tx);
    assert_eq!(slow.join().unwrap().status, 200);
}

#[test]
fn a_ctx_moved_to_another_thread_acks_from_there() {
    let fake = fake();
    let app = app(&fake);
    app.command("/elsewhere", |ctx| {
        let ctx = ctx.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let _ = ctx.ack_with(Ack::text("from a thread"));
        });
        // Returning now would ack bare: wait for the other thread's ack instead.
        thread::sleep(Duration::from_millis(200));
        Ok(())
    });
    let (r, _) = dispatch(&app, &fake, &Delivery::command("/elsewhere", ""));
    assert_eq!(json(&r)["text"], "from a thread");
}

#[test]
fn a_full_queue_refuses_with_503_instead_of_blocking_the_receiver() {
    let fake = fake();
    let app = app_builder(&fake)
        .workers(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (release_tx, release_rx) = bounded::<()>(0);
    let (started_tx, started_rx) = bounded::<()>(1);
    app.event("app_mention", move |_| {
        let _ = started_tx.try_send(());
        let _ = release_rx.recv_timeout(Duration::from_secs(5));
        Ok(())
    });
    let mention = || {
        Delivery::event(
            json!({"type": "app_mention", "user": "U1", "text": "hi", "ts": "1.1",
            "channel": "C1", "event_ts": "1.1"}),
        )
    };
    assert_eq!(dispatch(&app, &fake, &mention()).0.status, 200, "running");
    started_rx.recv_timeout(SOON).unwrap();
    assert_eq!(dispatch(&app, &fake, &mention()).0.status, 200, "queued");
    let t0 = Instant::now();
    assert_eq!(dispatch(&app, &fake, &mention()).0.status, 503, "refused");
    assert!(t0.elapsed() < Duration::from_millis(1500));
    drop(release_tx);
}

#[test]
fn ordered_events_run_one_at_a_time_in_arrival_order() {
    let fake = fake();
    let app = app_builder(&fake).ordered_events(true).build().unwrap();
    let (tx, rx) = unbounded();
    app.message("", move |ctx| {
        let text = ctx.event().unwrap()["text"].as_str().unwrap().to_owned();
        // The first is the slowest: unordered, it would finish last.
        if text == "0" {
            thread::sleep(Duration::from_millis(200));
        }
        tx.send(text)?;
        Ok(())
    });
    for i in 0..5 {
        dispatch(&app, &fake, &Delivery::message(&i.to_string()));
    }
    let got: Vec<String> = (0..5).map(|_| rx.recv_timeout(SOON).unwrap()).collect();
    assert_eq!(got, ["0", "1", "2", "3", "4"]);
}
