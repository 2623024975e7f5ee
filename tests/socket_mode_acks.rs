//! Socket Mode acks held by handlers and keyed by delivery: a deferred ack (`Request::defer_ack`)
//! goes out from another thread after the dispatcher moved on, on the envelope's own connection,
//! under the same rules as a handler's ack; envelopes that share an id each get their own ack on
//! their own connection.
#![cfg(feature = "testing")]

mod common;

use std::time::Duration;

use common::SOON;
use crossbeam_channel::Receiver;
use serde_json::{json, Value};
use slack_rtm::socket_mode::{
    AckErrorKind, AckMode, AckedBy, Acker, Request, SocketModeClient, SocketModeClientBuilder,
};
use slack_rtm::testing::{FakeSlack, SocketDistribution};

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-SeKrEtApP";
const BOT_TOKEN: &str = "xoxb-SeKrEtBoT";

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .app_token(APP_TOKEN)
        .token(BOT_TOKEN)
        .start()
        .expect("start the fake")
}

fn builder(fake: &FakeSlack) -> SocketModeClientBuilder {
    SocketModeClient::builder(APP_TOKEN)
        .bot_token(BOT_TOKEN)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .timeout(Duration::from_secs(5))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect_rate(100, Duration::from_millis(10))
}

/// The `error` events dispatched, as their data.
fn errors(client: &SocketModeClient) -> Receiver<Value> {
    let (tx, rx) = crossbeam_channel::unbounded();
    client.on("error", move |r: &Request| {
        let _ = tx.send(r.payload.clone());
    });
    rx
}

#[test]
fn an_acker_is_owned_and_thread_safe() {
    fn owned<T: Send + Sync + Clone + 'static>() {}
    owned::<Acker>();
}

#[test]
fn a_deferred_ack_goes_out_from_another_thread_after_the_dispatcher_moved_on() {
    let fake = fake();
    let client = builder(&fake)
        .ack_deadline(Duration::from_millis(2900))
        .build()
        .unwrap();
    let (tx, ackers) = crossbeam_channel::unbounded::<Acker>();
    client.on("/report", move |r: &Request| {
        let acker = r.defer_ack().expect("an envelope");
        assert_eq!(acker.envelope_id(), r.envelope_id);
        let _ = tx.send(acker);
    });
    let (tx, hellos) = crossbeam_channel::unbounded();
    client.on("hello", move |r: &Request| {
        // Not an envelope: nothing to defer.
        let _ = tx.send(r.defer_ack().is_none());
    });
    let (tx, events) = crossbeam_channel::unbounded();
    client.on("message", move |r: &Request| {
        // Acked by the reader on arrival (the default for events).
        let e = r.defer_ack().unwrap().ack(None).unwrap_err();
        let _ = tx.send(e.kind().clone());
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    assert!(hellos.recv_timeout(SOON).unwrap());

    let cmd = fake.send_slash_command("/report", "weekly");
    let acker = ackers.recv_timeout(SOON).unwrap();
    // The dispatcher moved on: the next envelope is dispatched while the command is unacked.
    let event = fake.send_event(json!({"type": "message", "text": "next"}));
    assert_eq!(
        events.recv_timeout(SOON).unwrap(),
        AckErrorKind::AlreadyAcked(AckedBy::Reader)
    );
    assert!(fake.wait_for_socket_ack(&event, SOON).is_some());
    assert!(
        fake.socket_acks().iter().all(|a| a.envelope_id != cmd),
        "no bare ack when the handlers returned: {:?}",
        fake.socket_acks()
    );

    // Acked from this thread, with a response, on the envelope's connection.
    let from = std::thread::spawn(move || {
        let refused = acker.ack(Some(json!([1]))).unwrap_err();
        assert_eq!(refused.kind(), &AckErrorKind::InvalidPayload);
        acker.ack(Some(json!({"text": "report ready"}))).unwrap();
        acker
    })
    .join()
    .unwrap();
    let ack = fake.wait_for_socket_ack(&cmd, SOON).unwrap();
    assert_eq!(ack.payload, Some(json!({"text": "report ready"})));
    assert!(ack.same_connection && !ack.dropped, "{ack:?}");
    let twice = from.clone().ack(None).unwrap_err();
    assert_eq!(twice.kind(), &AckErrorKind::AlreadyAcked(AckedBy::Handler));
    // Exactly one ack per envelope: the event's and the command's.
    assert!(!fake.wait_for_socket_acks(3, Duration::from_millis(200)));
    drop(running);
}

#[test]
fn a_deferred_ack_still_has_its_deadline() {
    let fake = fake();
    let client = builder(&fake)
        .ack_deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let (tx, ackers) = crossbeam_channel::unbounded::<Acker>();
    client.on("shortcut", move |r: &Request| {
        let _ = tx.send(r.defer_ack().unwrap());
    });
    let errors = errors(&client);
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));

    let id = fake.send_shortcut("s");
    let acker = ackers.recv_timeout(SOON).unwrap();
    // Nobody acks: a bare ack at the deadline, and a `late_ack` error event.
    let ack = fake.wait_for_socket_ack(&id, SOON).unwrap();
    assert_eq!(ack.payload, None);
    let latency = ack.latency.unwrap();
    assert!(latency >= Duration::from_millis(280), "{latency:?}");
    let error = errors.recv_timeout(SOON).unwrap();
    assert_eq!(error["kind"], "late_ack");
    assert_eq!(error["envelope_id"], id.as_str());
    let late = acker.ack(None).unwrap_err();
    assert_eq!(late.kind(), &AckErrorKind::Late);
    assert_eq!(fake.socket_acks().len(), 1);
    drop(running);
}

#[test]
fn a_deferred_ack_of_an_event_after_handlers_mode_is_the_handlers() {
    let fake = fake();
    let client = builder(&fake)
        .event_ack(AckMode::AfterHandlers)
        .build()
        .unwrap();
    let (tx, ackers) = crossbeam_channel::unbounded::<Acker>();
    client.on("app_mention", move |r: &Request| {
        let _ = tx.send(r.defer_ack().unwrap());
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    let id = fake.send_app_mention("hi");
    let acker = ackers.recv_timeout(SOON).unwrap();
    // An event accepts no response payload.
    let e = acker.ack(Some(json!({"text": "no"}))).unwrap_err();
    assert_eq!(e.kind(), &AckErrorKind::PayloadNotAccepted);
    acker.ack(None).unwrap();
    let ack = fake.wait_for_socket_ack(&id, SOON).unwrap();
    assert_eq!(ack.payload, None);
    drop(running);
}

#[test]
fn an_acker_of_a_stopped_client_reports_the_connection_gone() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let (tx, ackers) = crossbeam_channel::unbounded::<Acker>();
    client.on("/later", move |r: &Request| {
        let _ = tx.send(r.defer_ack().unwrap());
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    fake.send_slash_command("/later", "");
    let acker = ackers.recv_timeout(SOON).unwrap();
    running.join_after_stop();
    let e = acker.ack(Some(json!({"text": "too late"}))).unwrap_err();
    assert_eq!(e.kind(), &AckErrorKind::ConnectionGone);
    assert_eq!(e.into_payload(), Some(json!({"text": "too late"})));
}

trait StopJoin {
    fn join_after_stop(self);
}

impl StopJoin for slack_rtm::socket_mode::SocketModeRunning {
    fn join_after_stop(self) {
        self.stop();
        common::within(SOON, move || self.join()).unwrap();
    }
}

/// A slash command envelope with this id, as Slack sends it.
fn command(envelope_id: &str, text: &str) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {"command": "/echo", "text": text, "user_id": "U0FAKEUSER1"},
    })
}

/// Registers a `/echo` handler that answers with its text; returns each `ack_with` result.
fn echo(client: &SocketModeClient) -> Receiver<Result<(), AckErrorKind>> {
    let (tx, results) = crossbeam_channel::unbounded();
    client.on("/echo", move |r: &Request| {
        let text = r.payload["text"].as_str().unwrap_or_default();
        let result = r.ack_with(json!({ "text": text }));
        let _ = tx.send(result.map_err(|e| e.kind().clone()));
    });
    results
}

#[test]
fn two_envelopes_with_one_id_on_one_socket_are_acked_separately() {
    let fake = fake();
    let client = builder(&fake).build().unwrap();
    let results = echo(&client);
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    fake.send_socket_envelope(&command("same-id", "first"));
    fake.send_socket_envelope(&command("same-id", "second"));
    for _ in 0..2 {
        assert_eq!(results.recv_timeout(SOON).unwrap(), Ok(()));
    }
    assert!(fake.wait_for_socket_acks(2, SOON));
    let texts: Vec<Value> = fake
        .socket_acks()
        .iter()
        .map(|a| a.payload.clone().unwrap_or_default()["text"].clone())
        .collect();
    assert_eq!(texts, [json!("first"), json!("second")]);
    drop(running);
}

#[test]
fn two_envelopes_with_one_id_on_two_sockets_are_acked_each_on_its_own() {
    let fake = fake();
    let client = builder(&fake).connections(2).build().unwrap();
    let results = echo(&client);
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(2, SOON));
    let conns = fake.socket_connection_ids();
    assert_eq!(conns.len(), 2);
    // One delivery on each socket, the second while the first waits for its ack.
    fake.set_socket_distribution(SocketDistribution::Connection(conns[0]));
    fake.send_socket_envelope(&command("shared-id", "on-first"));
    fake.set_socket_distribution(SocketDistribution::Connection(conns[1]));
    fake.send_socket_envelope(&command("shared-id", "on-second"));
    for _ in 0..2 {
        assert_eq!(results.recv_timeout(SOON).unwrap(), Ok(()));
    }
    assert!(fake.wait_for_socket_acks(2, SOON));
    let mut acks: Vec<(u64, Value)> = fake
        .socket_acks()
        .iter()
        .map(|a| {
            (
                a.conn,
                a.payload.clone().unwrap_or_default()["text"].clone(),
            )
        })
        .collect();
    acks.sort_by_key(|a| a.0);
    assert_eq!(
        acks,
        [
            (conns[0], json!("on-first")),
            (conns[1], json!("on-second"))
        ]
    );
    drop(running);
}

#[test]
fn a_deferred_ack_goes_on_its_own_socket_while_that_socket_is_replaced() {
    let fake = fake();
    let client = builder(&fake)
        .ack_deadline(Duration::from_millis(2900))
        .build()
        .unwrap();
    let (tx, ackers) = crossbeam_channel::unbounded::<Acker>();
    client.on("/later", move |r: &Request| {
        let _ = tx.send(r.defer_ack().unwrap());
    });
    let (tx, events) = crossbeam_channel::unbounded();
    for name in ["hello", "close"] {
        let tx = tx.clone();
        client.on(name, move |r: &Request| {
            let _ = tx.send((r.name.to_string(), r.payload.clone()));
        });
    }
    let next = |want: &str| loop {
        let (name, data) = events.recv_timeout(SOON).unwrap();
        if name == want {
            return data;
        }
    };
    let running = client.spawn().unwrap();
    next("hello");
    let first = fake.socket_connection_ids()[0];
    let id = fake.send_slash_command("/later", "");
    let acker = ackers.recv_timeout(SOON).unwrap();
    // Slack refreshes the socket: the client opens its replacement, which says hello.
    assert!(fake.refresh_socket(first, None, Duration::from_secs(5)));
    next("hello");
    acker.ack(Some(json!({"text": "done"}))).unwrap();
    let ack = fake.wait_for_socket_ack(&id, SOON).unwrap();
    assert_eq!(ack.conn, first);
    assert!(ack.same_connection, "{ack:?}");
    assert_eq!(ack.payload, Some(json!({"text": "done"})));
    // Its ack out, the replaced socket closes.
    let close = next("close");
    assert_eq!(close["replaced"], true, "{close}");
    assert_eq!(close["connection"].as_u64().map(|c| c > 0), Some(true));
    drop(running);
}

#[test]
fn a_deferred_ack_of_a_lost_socket_still_meets_its_deadline() {
    let fake = fake();
    let client = builder(&fake)
        .ack_deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    let (tx, ackers) = crossbeam_channel::unbounded::<Acker>();
    client.on("/later", move |r: &Request| {
        let _ = tx.send(r.defer_ack().unwrap());
    });
    let errors = errors(&client);
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    let first = fake.socket_connection_ids()[0];
    let id = fake.send_slash_command("/later", "");
    let acker = ackers.recv_timeout(SOON).unwrap();
    // The socket is lost before the deadline; the client reconnects.
    assert!(fake.drop_socket(first));
    assert!(fake.wait_for_socket_connections(2, SOON));
    // The deadline still passes for the envelope: a `late_ack` event, and the Acker says so.
    let error = loop {
        let e = errors.recv_timeout(SOON).expect("a late_ack error");
        if e["kind"] == "late_ack" {
            break e;
        }
    };
    assert_eq!(error["envelope_id"], id.as_str());
    assert_eq!(acker.ack(None).unwrap_err().kind(), &AckErrorKind::Late);
    drop(running);
}
