//! The Web API client against the embedded fake Slack: request encoding and credentials, the
//! retry rules (counts and waits), the rate limiter, typed helpers on stateful data,
//! pagination to the end, and the file upload flow (the upload host never sees the token).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slack_rtm::testing::{ConnectReply, FakeSlack, MethodReply};
use slack_rtm::{ChatMessage, Error, FileUpload, Phase, RtmClient, WebClient};

const TOKEN: &str = "xoxb-1234-secret-token";

fn fake() -> FakeSlack {
    FakeSlack::builder()
        .token(TOKEN)
        .echo_messages(false)
        .start()
        .expect("start the fake Slack")
}

fn builder(fake: &FakeSlack) -> slack_rtm::WebClientBuilder {
    WebClient::builder(TOKEN)
        .base_url(&fake.api_url())
        .timeout(Duration::from_secs(5))
        .header("X-Custom", "custom-value")
}

fn client(fake: &FakeSlack) -> WebClient {
    builder(fake).build().unwrap()
}

fn ts_of(resp: &slack_rtm::SlackResponse) -> String {
    resp.get("ts").and_then(Value::as_str).unwrap().to_string()
}

/// The token travels in `Authorization` only: never in the URL, the body or another header.
fn assert_token_only_in_authorization(fake: &FakeSlack) {
    for call in fake.api_calls() {
        assert_eq!(
            call.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(
            !call.params.to_string().contains(TOKEN),
            "{:?}",
            call.params
        );
        let elsewhere = call
            .headers
            .iter()
            .filter(|(n, _)| n != "authorization")
            .any(|(_, v)| v.contains(TOKEN));
        assert!(!elsewhere, "{:?}", call.headers);
    }
}

#[test]
fn json_post_with_bearer_and_custom_headers() {
    let fake = fake();
    let c = client(&fake);
    let resp = c
        .chat_post_message_with(&ChatMessage::new("C1", "hello & bye").thread_ts("1.0"))
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.get("channel"), Some(&json!("C1")));
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let call = &fake.api_calls()[0];
    assert_eq!(call.method, "chat.postMessage");
    assert_eq!(call.http_method, "POST");
    assert_eq!(call.header("x-custom"), Some("custom-value"));
    assert_eq!(
        call.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(call.header("user-agent").unwrap().starts_with("slack-rtm/"));
    assert_eq!(
        call.params,
        json!({"channel": "C1", "text": "hello & bye", "thread_ts": "1.0"})
    );
    assert_token_only_in_authorization(&fake);
}

#[test]
fn form_post_for_rtm_connect_and_get_for_read_methods() {
    let fake = fake();
    let c = client(&fake);
    let resp = c
        .rtm_connect(&json!({"batch_presence_aware": true}))
        .unwrap();
    assert!(resp.data()["url"].as_str().unwrap().starts_with("ws://"));
    c.auth_test().unwrap();
    c.users_info("U0FAKEUSR1").unwrap();
    let calls = fake.api_calls();
    assert_eq!(calls[0].http_method, "POST");
    assert_eq!(
        calls[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(calls[0].param("batch_presence_aware"), Some("true"));
    assert_eq!(calls[1].method, "auth.test");
    assert_eq!(calls[1].http_method, "POST");
    assert_eq!(calls[2].method, "users.info");
    assert_eq!(calls[2].http_method, "GET");
    assert_eq!(calls[2].param("user"), Some("U0FAKEUSR1"));
    assert_token_only_in_authorization(&fake);
}

/// The connect call asks for its connection to be closed: a client that then idles keeps no
/// pooled HTTP(S) connection (socket, buffers, TLS session) for it. Other calls keep alive.
#[test]
fn the_connect_call_closes_its_connection_other_calls_keep_it() {
    let fake = fake();
    let c = client(&fake);
    c.rtm_connect(&json!({})).unwrap();
    c.auth_test().unwrap();
    c.users_info("U0FAKEUSR1").unwrap();
    let calls = fake.api_calls();
    assert_eq!(calls[0].method, "rtm.connect");
    assert_eq!(calls[0].header("connection"), Some("close"));
    for call in &calls[1..] {
        assert_ne!(call.header("connection"), Some("close"), "{}", call.method);
    }
}

#[test]
fn rtm_connect_without_url_is_no_url_and_is_not_retried() {
    let fake = fake();
    fake.push_connect_reply(ConnectReply::NoUrl);
    let e = client(&fake).rtm_connect(&json!({})).unwrap_err();
    assert!(matches!(&e, Error::NoUrl { method } if method == "rtm.connect"));
    // rtm.connect's retries belong to the reconnect loop.
    fake.push_connect_reply(ConnectReply::RateLimited {
        retry_after_secs: 0,
    });
    let e = client(&fake).rtm_connect(&json!({})).unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    assert_eq!(fake.calls_to("rtm.connect"), 2);
}

// ---- retries ---------------------------------------------------------------------------

fn rate_limit(fake: &FakeSlack, method: &str, times: usize, secs: u64) {
    for _ in 0..times {
        fake.push_method_reply(
            method,
            MethodReply::RateLimited {
                retry_after_secs: secs,
            },
        );
    }
}

#[test]
fn rate_limits_are_retried_up_to_max_retries() {
    let fake = fake();
    // Default: 3 retries, so three 429s in a row still succeed, on the 4th call.
    rate_limit(&fake, "chat.postMessage", 3, 0);
    client(&fake).chat_post_message("C1", "hi").unwrap();
    assert_eq!(fake.calls_to("chat.postMessage"), 4);
    assert_eq!(fake.channel_messages("C1").len(), 1, "posted once");

    // A fourth 429 is one too many: the error comes back after 4 calls.
    rate_limit(&fake, "chat.postMessage", 4, 0);
    let e = client(&fake).chat_post_message("C1", "hi").unwrap_err();
    assert!(matches!(&e, Error::Api { status: 429, code, .. } if code == "ratelimited"));
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    assert_eq!(fake.calls_to("chat.postMessage"), 8);

    // max_retries(0): no retry.
    rate_limit(&fake, "chat.postMessage", 1, 0);
    let c = builder(&fake).max_retries(0).build().unwrap();
    assert!(c.chat_post_message("C1", "hi").is_err());
    assert_eq!(fake.calls_to("chat.postMessage"), 9);

    // ok:false "ratelimited" with HTTP 200 counts as a rate limit too.
    fake.push_method_reply("reactions.add", MethodReply::Error("ratelimited".into()));
    let ts = ts_of(&client(&fake).chat_post_message("C1", "x").unwrap());
    client(&fake).reactions_add("C1", &ts, "eyes").unwrap();
    assert_eq!(fake.calls_to("reactions.add"), 2);
}

#[test]
fn a_rate_limited_call_waits_retry_after() {
    let fake = fake();
    rate_limit(&fake, "users.info", 1, 1);
    let start = Instant::now();
    client(&fake).users_info("U0FAKEUSR2").unwrap();
    let elapsed = start.elapsed();
    let calls = fake.api_calls();
    assert_eq!(calls.len(), 2);
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_millis(990), "{gap:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn the_total_retry_wait_is_capped() {
    let fake = fake();
    rate_limit(&fake, "users.info", 1, 30);
    let c = builder(&fake)
        .max_retry_wait(Duration::from_secs(10))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = c.users_info("U0FAKEUSR2").unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(fake.calls_to("users.info"), 1);
}

#[test]
fn server_errors_are_retried_only_when_opted_in() {
    let fake = fake();
    fake.push_method_reply("chat.postMessage", MethodReply::HttpStatus(503));
    let e = client(&fake).chat_post_message("C1", "hi").unwrap_err();
    assert!(matches!(&e, Error::Api { status: 503, .. }));
    assert_eq!(fake.calls_to("chat.postMessage"), 1);

    fake.push_method_reply("chat.postMessage", MethodReply::HttpStatus(500));
    fake.push_method_reply("chat.postMessage", MethodReply::HttpStatus(502));
    let c = builder(&fake).retry_server_errors(true).build().unwrap();
    c.chat_post_message("C1", "hi").unwrap();
    assert_eq!(fake.calls_to("chat.postMessage"), 4);
}

#[test]
fn a_connection_dropped_after_sending_is_retried_only_when_opted_in() {
    let fake = fake();
    fake.push_method_reply("chat.update", MethodReply::Drop);
    let ts = ts_of(&client(&fake).chat_post_message("C1", "v1").unwrap());
    let e = client(&fake).chat_update("C1", &ts, "v2").unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(fake.calls_to("chat.update"), 1);

    fake.push_method_reply("chat.update", MethodReply::Drop);
    let c = builder(&fake).retry_server_errors(true).build().unwrap();
    c.chat_update("C1", &ts, "v2").unwrap();
    assert_eq!(fake.calls_to("chat.update"), 3);
    assert_eq!(fake.channel_messages("C1")[0]["text"], "v2");
}

#[test]
fn a_slow_answer_times_out_and_is_retried_only_when_opted_in() {
    let fake = fake();
    fake.push_method_reply("auth.test", MethodReply::Delay(Duration::from_secs(3)));
    let c = builder(&fake)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = c.auth_test().unwrap_err();
    assert!(matches!(e, Error::Timeout { phase: Phase::Http }), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.calls_to("auth.test"), 1);

    fake.push_method_reply("auth.test", MethodReply::Delay(Duration::from_secs(3)));
    let c = builder(&fake)
        .timeout(Duration::from_millis(300))
        .retry_server_errors(true)
        .build()
        .unwrap();
    c.auth_test().unwrap();
    assert_eq!(fake.calls_to("auth.test"), 3);
}

#[test]
fn failures_before_the_request_was_sent_back_off_and_retry() {
    // A port nobody listens on: connection refused, before anything was sent.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/api/");
    let once = WebClient::builder(TOKEN)
        .base_url(&base)
        .max_retries(0)
        .build()
        .unwrap();
    let start = Instant::now();
    let e = once.auth_test().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Io {
                phase: Phase::Http,
                ..
            }
        ),
        "{e:?}"
    );
    let single = start.elapsed();

    let twice = WebClient::builder(TOKEN)
        .base_url(&base)
        .max_retries(2)
        .build()
        .unwrap();
    let start = Instant::now();
    assert!(twice.auth_test().is_err());
    // Backoffs of [125, 250) and [250, 500) ms.
    let retried = start.elapsed();
    assert!(retried >= Duration::from_millis(375), "{retried:?}");
    assert!(retried < Duration::from_secs(3), "{retried:?}");
    assert!(single < Duration::from_millis(375), "{single:?}");
}

#[test]
fn fatal_answers_are_not_retried() {
    let fake = fake();
    let c = WebClient::builder("xoxb-wrong")
        .base_url(&fake.api_url())
        .build()
        .unwrap();
    let e = c.auth_test().unwrap_err();
    assert!(matches!(&e, Error::Api { code, status: 200, .. } if code == "invalid_auth"));
    assert!(e.is_fatal());
    assert!(!format!("{e:?}").contains(TOKEN));
    assert_eq!(fake.calls_to("auth.test"), 1);
}

#[test]
fn the_rtm_clients_web_client_takes_the_retry_options() {
    let fake = fake();
    let rtm = RtmClient::builder(TOKEN)
        .base_url(&fake.api_url())
        .handle_signals(false)
        .max_retries(1)
        .build()
        .unwrap();
    rate_limit(&fake, "chat.postMessage", 2, 0);
    assert!(rtm.web_client().chat_post_message("C1", "hi").is_err());
    assert_eq!(fake.calls_to("chat.postMessage"), 2);
}

// ---- rate limiter ------------------------------------------------------------------------

#[test]
fn the_rate_limiter_spaces_posts_per_channel() {
    let fake = fake();
    let c = builder(&fake).rate_limit(true).build().unwrap();
    let start = Instant::now();
    for i in 0..3 {
        c.chat_post_message("C1", &format!("burst {i}")).unwrap();
    }
    c.chat_post_message("C2", "another channel").unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(800),
        "the burst waits for nothing"
    );
    c.chat_post_message("C1", "fourth").unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // Clones share the budget.
    let clone = c.clone();
    let start = Instant::now();
    clone.chat_post_message("C1", "fifth").unwrap();
    assert!(start.elapsed() >= Duration::from_millis(900));
    // Without the limiter nothing waits.
    let free = client(&fake);
    let start = Instant::now();
    for _ in 0..5 {
        free.chat_post_message("C1", "x").unwrap();
    }
    assert!(start.elapsed() < Duration::from_millis(900));
}

// ---- helpers on a stateful fake ------------------------------------------------------------

#[test]
fn messages_threads_edits_reactions_and_links() {
    let fake = fake();
    let c = client(&fake);
    let parent = ts_of(&c.chat_post_message("C0FAKE0001", "parent").unwrap());
    let reply = ts_of(
        &c.chat_post_message_with(&ChatMessage::new("C0FAKE0001", "reply").thread_ts(&parent))
            .unwrap(),
    );
    c.chat_update("C0FAKE0001", &parent, "parent, edited")
        .unwrap();
    c.reactions_add("C0FAKE0001", &parent, "tada").unwrap();
    let e = c.reactions_add("C0FAKE0001", &parent, "tada").unwrap_err();
    assert!(matches!(&e, Error::Api { code, .. } if code == "already_reacted"));

    let history: Vec<Value> = c
        .conversations_history("C0FAKE0001", &())
        .map(|p| p.unwrap().into_data())
        .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(history.len(), 1, "replies stay in the thread: {history:?}");
    assert_eq!(history[0]["text"], "parent, edited");
    assert_eq!(history[0]["reactions"][0]["name"], "tada");
    assert_eq!(history[0]["reply_count"], 1);

    let thread: Vec<Value> = c
        .conversations_replies("C0FAKE0001", &parent, &json!({"limit": 1}))
        .map(|p| p.unwrap().into_data())
        .flat_map(|d| d["messages"].as_array().cloned().unwrap_or_default())
        .collect();
    let texts: Vec<&str> = thread.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["parent, edited", "reply"]);

    let link = c.chat_get_permalink("C0FAKE0001", &reply).unwrap();
    assert!(link
        .get("permalink")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("/archives/C0FAKE0001/p"));
    c.reactions_remove("C0FAKE0001", &parent, "tada").unwrap();
    c.chat_delete("C0FAKE0001", &reply).unwrap();
    let e = c.chat_delete("C0FAKE0001", &reply).unwrap_err();
    assert!(matches!(&e, Error::Api { code, .. } if code == "message_not_found"));
    assert!(fake.channel_messages("C0FAKE0001")[0]
        .get("reactions")
        .is_none());

    let eph = c
        .chat_post_ephemeral("C0FAKE0001", "U0FAKEUSR1", "psst")
        .unwrap();
    assert!(eph.get("message_ts").is_some());
}

#[test]
fn channels_users_and_dms() {
    let fake = fake();
    let c = client(&fake);
    let info = c.conversations_info("C0FAKE0003").unwrap();
    assert_eq!(info.data()["channel"]["is_member"], false);
    c.conversations_join("C0FAKE0003").unwrap();
    let info = c.conversations_info("C0FAKE0003").unwrap();
    assert_eq!(info.data()["channel"]["is_member"], true);
    let dm = c.conversations_open(&["U0FAKEUSR2"]).unwrap();
    let dm_id = dm.data()["channel"]["id"].as_str().unwrap().to_string();
    assert!(dm_id.starts_with('D'));
    c.chat_post_message(&dm_id, "hello in private").unwrap();
    assert_eq!(fake.channel_messages(&dm_id).len(), 1);
    let user = c.users_info("U0FAKEUSR2").unwrap();
    assert_eq!(user.data()["user"]["name"], "bob");
    let e = c.users_info("U404").unwrap_err();
    assert!(matches!(&e, Error::Api { code, .. } if code == "user_not_found"));
}

#[test]
fn pagination_runs_to_the_end() {
    let fake = fake();
    let c = client(&fake);
    let mut pages = c.users_list(&json!({"limit": 2}));
    let mut ids = Vec::new();
    for page in pages.by_ref() {
        let page = page.unwrap();
        for m in page.data()["members"].as_array().unwrap() {
            ids.push(m["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(pages.next().is_none());
    let calls = fake.api_calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].param("cursor"), None);
    assert!(calls[1].param("cursor").is_some());
    assert!(calls.iter().all(|c| c.http_method == "GET"));

    let channels: usize = c
        .conversations_list(&json!({"limit": 1}))
        .map(|p| p.unwrap().data()["channels"].as_array().unwrap().len())
        .sum();
    assert_eq!(channels, 5);
    let members: usize = c
        .conversations_members("C0FAKE0001", &json!({"limit": 2}))
        .map(|p| p.unwrap().data()["members"].as_array().unwrap().len())
        .sum();
    assert_eq!(members, 5);
    // The generic paginator works for any cursor method.
    assert_eq!(c.paginate("users.list", &json!({"limit": 4})).count(), 2);
}

#[test]
fn pagination_stops_after_the_first_error() {
    let fake = fake();
    let c = builder(&fake).max_retries(0).build().unwrap();
    let mut pages = c.conversations_list(&json!({"limit": 2}));
    assert!(pages.next().unwrap().is_ok());
    rate_limit(&fake, "conversations.list", 1, 3);
    let e = pages.next().unwrap().unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    let cursor = pages.cursor().unwrap().to_string();
    assert!(pages.next().is_none());
    // Resuming from the cursor gets the rest.
    let rest: usize = c
        .conversations_list(&json!({"limit": 2, "cursor": cursor}))
        .map(|p| p.unwrap().data()["channels"].as_array().unwrap().len())
        .sum();
    assert_eq!(rest, 3);
}

#[test]
fn views_open_push_update_and_publish() {
    let fake = fake();
    // These trigger ids were never issued by a delivery (tests/app_fake.rs checks them).
    fake.set_check_trigger_ids(false);
    let c = client(&fake);
    let modal = json!({"type": "modal", "title": {"type": "plain_text", "text": "Hi"},
                       "blocks": []});
    let opened = c.views_open("trigger-1", &modal).unwrap();
    let id = opened.data()["view"]["id"].as_str().unwrap().to_string();
    c.views_push("trigger-2", &modal).unwrap();
    let updated = c.views_update(&id, &modal).unwrap();
    assert_eq!(updated.data()["view"]["id"], id.as_str());
    let e = c.views_update("V404", &modal).unwrap_err();
    assert!(matches!(&e, Error::Api { code, .. } if code == "not_found"));
    let home = json!({"type": "home", "blocks": []});
    let a = c.views_publish("U0FAKEUSR1", &home).unwrap();
    let b = c.views_publish("U0FAKEUSR1", &home).unwrap();
    assert_eq!(a.data()["view"]["id"], b.data()["view"]["id"]);
    assert_eq!(fake.calls_to("views.open"), 1);
    assert_eq!(fake.api_calls()[0].params["view"]["type"], "modal");
}

#[test]
fn typed_answers_and_slack_messages() {
    #[derive(serde::Deserialize)]
    struct Auth {
        user_id: String,
        team_id: String,
    }
    #[derive(serde::Serialize)]
    struct Info<'a> {
        user: &'a str,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // only decoded, to prove a mismatch is an error
    struct Wrong {
        no_such_field: u64,
    }
    let fake = fake();
    let c = client(&fake);
    let me: Auth = c.api_call_as("auth.test", &()).unwrap();
    assert_eq!(me.user_id, "U0FAKEBOT1");
    assert_eq!(me.team_id, "T0FAKE0001");
    let user: Value = c
        .api_call_as("users.info", &Info { user: "U0FAKEUSR3" })
        .unwrap();
    assert_eq!(user["user"]["name"], "carol");
    let e = c.api_call_as::<Wrong>("auth.test", &()).unwrap_err();
    assert!(matches!(&e, Error::Api { code, body, .. }
        if code == "invalid_response" && body["user_id"] == "U0FAKEBOT1"));

    fake.push_method_reply(
        "chat.postMessage",
        MethodReply::Json(json!({"ok": false, "error": "invalid_blocks",
            "response_metadata": {"messages": ["[ERROR] must provide an array [json-pointer:/blocks]"]}})),
    );
    let blocks = json!("not an array");
    let e = c
        .chat_post_message_with(&ChatMessage::new("C1", "x").blocks(&blocks))
        .unwrap_err();
    assert_eq!(
        e.response_messages(),
        ["[ERROR] must provide an array [json-pointer:/blocks]"]
    );
}

#[test]
fn a_hanging_server_times_out() {
    let fake = fake();
    fake.push_method_reply("auth.test", MethodReply::Hang);
    let c = builder(&fake)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = c.auth_test().unwrap_err();
    assert!(matches!(e, Error::Timeout { phase: Phase::Http }), "{e:?}");
    assert!(e.is_retryable());
    assert!(start.elapsed() < Duration::from_secs(2));
}

// ---- files_upload_v2 ----------------------------------------------------------------------

#[test]
fn files_upload_v2_uploads_without_the_token_and_shares_the_file() {
    let fake = fake();
    let c = client(&fake);
    let parent = ts_of(&c.chat_post_message("C0FAKE0002", "report thread").unwrap());
    let bytes = b"a,b\n1,2\n".to_vec();
    let file = FileUpload::new("report.csv", bytes.clone())
        .channel("C0FAKE0002")
        .title("Weekly report")
        .initial_comment("Here it is")
        .thread_ts(parent.clone());
    let done = c.files_upload_v2(&file).unwrap();
    let shared = &done.data()["files"][0];
    assert_eq!(shared["title"], "Weekly report");
    assert_eq!(shared["size"], bytes.len());

    let methods: Vec<String> = fake.api_calls().iter().map(|c| c.method.clone()).collect();
    assert_eq!(
        methods,
        [
            "chat.postMessage",
            "files.getUploadURLExternal",
            "files.completeUploadExternal"
        ]
    );
    let get = &fake.api_calls()[1];
    assert_eq!(get.param("filename"), Some("report.csv"));
    assert_eq!(get.param("length"), Some("8"));
    assert_token_only_in_authorization(&fake);

    // The upload host got the bytes, and neither the token nor the custom headers.
    let uploads = fake.upload_requests();
    assert_eq!(uploads.len(), 1);
    let up = &uploads[0];
    assert_eq!(up.http_method, "POST");
    assert_eq!(up.len, bytes.len());
    assert_eq!(up.header("authorization"), None);
    assert_eq!(up.header("x-custom"), None);
    assert!(up.headers.iter().all(|(_, v)| !v.contains(TOKEN)));
    let port = fake.addr().port();
    assert_eq!(
        up.header("host"),
        Some(format!("localhost:{port}").as_str())
    );

    // Shared in the thread with the comment, and known to files.info.
    let messages = fake.channel_messages("C0FAKE0002");
    let share = messages.last().unwrap();
    assert_eq!(share["text"], "Here it is");
    assert_eq!(share["thread_ts"], parent.as_str());
    assert_eq!(share["files"][0]["name"], "report.csv");
    let id = shared["id"].as_str().unwrap();
    let info = c.api_call("files.info", &json!({"file": id})).unwrap();
    assert_eq!(info.data()["file"]["title"], "Weekly report");
    assert_eq!(fake.files().len(), 1);
}

#[test]
fn files_upload_v2_refuses_what_slack_would() {
    let fake = fake();
    let c = client(&fake);
    let e = c
        .files_upload_v2(&FileUpload::new("empty.txt", Vec::new()))
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    let e = c
        .files_upload_v2(&FileUpload::new("a.txt", "x").initial_comment("no channel"))
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(fake.api_calls().is_empty());
    // A file that is not shared anywhere still completes.
    let done = c.files_upload_v2(&FileUpload::new("a.txt", "x")).unwrap();
    assert_eq!(done.data()["files"][0]["channels"], json!([]));
    // An answer without upload_url is an invalid_response error.
    fake.push_method_reply(
        "files.getUploadURLExternal",
        MethodReply::Json(json!({"ok": true})),
    );
    let e = c
        .files_upload_v2(&FileUpload::new("a.txt", "x"))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Api { code, .. } if code == "invalid_response"),
        "{e:?}"
    );
}

// ---- recording is bounded -----------------------------------------------------------------

#[test]
fn the_fake_keeps_only_the_most_recent_records() {
    let fake = FakeSlack::builder()
        .token(TOKEN)
        .record_limit(8)
        .start()
        .unwrap();
    let c = client(&fake);
    for _ in 0..50 {
        c.auth_test().unwrap();
    }
    let kept = fake.api_calls().len();
    assert!((8..=10).contains(&kept), "{kept}");
    assert_eq!(fake.calls_to("auth.test"), 50);
    assert!(fake.wait_for_calls("auth.test", 50, Duration::from_millis(10)));
}
