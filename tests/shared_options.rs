//! The options the three builders share are one set: the Web API options (`max_retries`,
//! `retry_server_errors`, `max_retry_wait`, `rate_limit`) reach the Socket Mode client's
//! handlers' Web API client as they reach `WebClient`'s and the RTM client's, while the
//! connect call (`apps.connections.open`) keeps its own retry rules.
#![cfg(feature = "testing")]

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use slack_rtm::socket_mode::{Request, SocketModeClient, SocketModeClientBuilder};
use slack_rtm::testing::{ConnectReply, FakeSlack, MethodReply};
use slack_rtm::{Error, RtmClient, WebClient};

const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-1-SeKrEtApP";
const BOT_TOKEN: &str = "xoxb-SeKrEtBoT";
const SOON: Duration = Duration::from_secs(10);

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .app_token(APP_TOKEN)
        .token(BOT_TOKEN)
        .start()
        .expect("start the fake")
}

fn socket_mode(fake: &FakeSlack) -> SocketModeClientBuilder {
    SocketModeClient::builder(APP_TOKEN)
        .bot_token(BOT_TOKEN)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .timeout(Duration::from_secs(5))
}

/// Posts once after a scripted answer; the result and how many calls reached the fake.
fn post_after(fake: &FakeSlack, web: &WebClient, reply: MethodReply) -> (bool, usize) {
    let before = fake.calls_to("chat.postMessage");
    fake.push_method_reply("chat.postMessage", reply);
    let ok = web.chat_post_message("C1", "hi").is_ok();
    (ok, fake.calls_to("chat.postMessage") - before)
}

#[test]
fn socket_mode_retry_options_reach_the_handlers_web_client() {
    let fake = fake();
    let server_error = || MethodReply::HttpStatus(500);
    let limited = || MethodReply::RateLimited {
        retry_after_secs: 0,
    };

    // The defaults, as on every builder: a 429 is retried, a 5xx is not.
    let default = socket_mode(&fake).build().unwrap();
    assert_eq!(
        post_after(&fake, default.web_client(), limited()),
        (true, 2)
    );
    assert_eq!(
        post_after(&fake, default.web_client(), server_error()),
        (false, 1)
    );

    let retrying = socket_mode(&fake)
        .retry_server_errors(true)
        .build()
        .unwrap();
    assert_eq!(
        post_after(&fake, retrying.web_client(), server_error()),
        (true, 2)
    );

    let no_retries = socket_mode(&fake).max_retries(0).build().unwrap();
    assert_eq!(
        post_after(&fake, no_retries.web_client(), limited()),
        (false, 1)
    );

    // A Retry-After beyond max_retry_wait is not waited for: the 429 comes back at once.
    let short_wait = socket_mode(&fake)
        .max_retry_wait(Duration::from_secs(1))
        .build()
        .unwrap();
    fake.push_method_reply(
        "chat.postMessage",
        MethodReply::RateLimited {
            retry_after_secs: 600,
        },
    );
    let start = Instant::now();
    match short_wait.web_client().chat_post_message("C1", "hi") {
        Err(Error::Api { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(600)))
        }
        other => panic!("expected the 429 back, got {other:?}"),
    }
    assert!(start.elapsed() < SOON, "{:?}", start.elapsed());
}

#[test]
fn socket_mode_rate_limit_spaces_the_handlers_posts() {
    let fake = fake();
    let client = socket_mode(&fake).rate_limit(true).build().unwrap();
    let start = Instant::now();
    // chat.postMessage's budget: a short burst per channel, then about one per second.
    for i in 0..4 {
        client
            .web_client()
            .chat_post_message("C1", &format!("{i}"))
            .unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
}

#[test]
fn the_handlers_get_the_web_client_the_builder_configured() {
    let fake = fake();
    let client = socket_mode(&fake).max_retries(0).build().unwrap();
    let (tx, rx): (Sender<bool>, _) = crossbeam_channel::bounded(1);
    client.on("app_mention", move |r: &Request| {
        let _ = tx.send(r.web_client.chat_post_message("C1", "hi").is_ok());
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    fake.push_method_reply(
        "chat.postMessage",
        MethodReply::RateLimited {
            retry_after_secs: 0,
        },
    );
    fake.send_app_mention("hi");
    let posted = rx.recv_timeout(SOON).expect("the handler ran");
    assert!(!posted, "max_retries(0): the 429 is not retried");
    assert_eq!(fake.calls_to("chat.postMessage"), 1);
    running.stop();
    running.join().unwrap();
}

#[test]
fn the_connect_call_keeps_its_own_retry_rules() {
    let fake = fake();
    // With retries off for the handlers, `apps.connections.open` still retries a 429 itself:
    // without auto_reconnect a failed first attempt would end `start()`.
    let client = socket_mode(&fake)
        .max_retries(0)
        .auto_reconnect(false)
        .build()
        .unwrap();
    fake.push_open_reply(ConnectReply::RateLimited {
        retry_after_secs: 0,
    });
    let (tx, rx) = crossbeam_channel::bounded(1);
    client.on("hello", move |_: &Request| {
        let _ = tx.send(());
    });
    let running = client.spawn().unwrap();
    rx.recv_timeout(SOON)
        .expect("connected after the retried open");
    assert_eq!(fake.calls_to("apps.connections.open"), 2);
    running.stop();
    running.join().unwrap();
}

#[test]
fn the_three_builders_share_one_set_of_network_and_web_setters() {
    // The same option, the same rule, the same error on each.
    let rtm = RtmClient::builder("xoxb-1")
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    let web = WebClient::builder("xoxb-1")
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    let sm = SocketModeClient::builder(APP_TOKEN)
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(rtm.to_string(), web.to_string());
    assert_eq!(rtm.to_string(), sm.to_string());
    for e in [
        RtmClient::builder("x")
            .header("Host", "h")
            .build()
            .unwrap_err(),
        SocketModeClient::builder(APP_TOKEN)
            .header("Host", "h")
            .build()
            .unwrap_err(),
    ] {
        assert!(e.to_string().contains("Host"), "{e}");
    }
}

#[test]
fn socket_mode_max_message_size_gives_an_error_and_a_fresh_connection() {
    // An engine option written once: it works on the Socket Mode client as on the RTM one.
    let fake = fake();
    let client = socket_mode(&fake)
        .max_message_size(64 * 1024)
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .build()
        .unwrap();
    let (tx, rx): (Sender<String>, _) = crossbeam_channel::unbounded();
    client.on("error", move |r: &Request| {
        let _ = tx.send(r.payload.to_string());
    });
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    fake.send_large_envelope(100 * 1024);
    let error = rx
        .recv_timeout(SOON)
        .expect("an error event")
        .to_lowercase();
    assert!(
        error.contains("too large") || error.contains("too long"),
        "{error}"
    );
    assert!(fake.wait_for_socket_connections(2, SOON), "a fresh socket");
    running.stop();
    running.join().unwrap();
}
