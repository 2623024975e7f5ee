//! An App built with `oauth(OAuthSettings)`: it serves the install and redirect pages on GET
//! (through `dispatch` and `handle_http`), saves the installation, authorizes every request
//! from the store (so `ctx.say` and `ctx.client()` carry that workspace's token), refuses
//! requests from workspaces without an installation, and cleans up on `app_uninstalled`.

mod oauth_support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use slack_rtm::app::oauth::{InstallationStore, MemoryStore, OAuthSettings};
use slack_rtm::app::{App, AppRequest};
use slack_rtm::testing::{Delivery, FakeSlack, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};

use oauth_support::*;

const TEAM: Option<&str> = Some("T0FAKE0001");

/// An App for the fake's OAuth app; the OAuth calls go through the App's own network options
/// (its base URL), not a client of the settings.
fn oauth_app(fake: &FakeSlack, store: Arc<MemoryStore>) -> App {
    App::builder()
        .base_url(&fake.api_url())
        .oauth(
            OAuthSettings::new(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET)
                .scopes(&["chat:write", "commands"])
                .redirect_uri(REDIRECT_URI)
                .authorize_url(&fake.authorize_url())
                .store(store),
        )
        .build()
        .expect("app")
}

fn install_through(app: &App, fake: &FakeSlack) -> u16 {
    let page = app.dispatch(get("/slack/install", None));
    assert_eq!(page.status, 200, "{}", body(&page));
    let cookie = state_cookie(&page);
    let redirect = fake.approve(&add_to_slack_link(&page)).expect("approved");
    app.dispatch(get(&path_of(&redirect), Some(&cookie))).status
}

#[test]
fn the_app_installs_and_answers_each_request_with_its_workspaces_token() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    let app = oauth_app(&fake, store.clone());
    app.command("/hello", |ctx| {
        ctx.ack()?;
        ctx.say("hello from the installed app")?;
        Ok(())
    });
    let command = || {
        let (headers, body) = fake.payload(&Delivery::command("/hello", "")).http_parts();
        app.dispatch(AppRequest::post("/slack/events", headers, body))
    };
    let (errors, reported) = crossbeam_channel::unbounded();
    app.error(move |err, _ctx| {
        let _ = errors.send(err.to_string());
    });
    // Not installed yet: the user is told to reinstall, no listener ran, the error reported.
    let refused = command();
    assert_eq!(refused.status, 200);
    assert!(
        body(&refused).contains("Please reinstall"),
        "{}",
        body(&refused)
    );
    assert!(fake.posted_messages().is_empty());
    let why = reported.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(why.contains("please reinstall"), "{why}");

    assert_eq!(install_through(&app, &fake), 200);
    let token = store
        .find_bot(None, TEAM, false)
        .unwrap()
        .expect("installed")
        .bot_token;
    assert_eq!(command().status, 200);
    assert!(fake.wait_for_calls("chat.postMessage", 1, Duration::from_secs(10)));
    let call = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .unwrap();
    assert_eq!(
        call.token.as_deref(),
        Some(token.as_str()),
        "the workspace's token"
    );
    // The code exchange went to the App's base URL without the App's (placeholder) token.
    let exchange = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "oauth.v2.access")
        .unwrap();
    assert!(exchange
        .header("authorization")
        .unwrap()
        .starts_with("Basic "));
}

#[test]
fn handle_http_serves_the_oauth_pages_on_get_only() {
    let fake = FakeSlack::start().unwrap();
    let app = oauth_app(&fake, memory());
    let none: [(&str, &str); 0] = [];
    let page = app.handle_http("GET", "/slack/install", none, "");
    assert_eq!(page.status, 200);
    assert!(body(&page).contains("add-to-slack"));
    let redirect = app.handle_http("GET", "/slack/oauth_redirect?error=access_denied", none, "");
    assert_eq!(redirect.status, 403);
    assert_eq!(
        app.handle_http("GET", "/slack/events", none, "").status,
        405
    );
    assert!(app.serves_oauth_path("/slack/oauth_redirect?code=x"));
    assert!(!app.serves_oauth_path("/slack/events"));
    assert!(app.oauth().is_some());
}

#[test]
fn app_uninstalled_deletes_the_workspace_and_can_be_switched_off() {
    let fake = FakeSlack::start().unwrap();
    for cleanup in [true, false] {
        let store = memory();
        let app = App::builder()
            .base_url(&fake.api_url())
            .token_revocation(cleanup)
            .oauth(settings(&fake).store(store.clone()))
            .build()
            .unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        // Registered after the built-in clean-up, so it runs after it.
        app.event("app_uninstalled", move |_ctx| {
            let _ = tx.send(());
            Ok(())
        });
        assert_eq!(install_through(&app, &fake), 200);
        let event = json!({"type": "event_callback", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1",
            "event_id": "Ev1", "event_time": 1, "event": {"type": "app_uninstalled"},
            "authorizations": [{"team_id": "T0FAKE0001", "is_enterprise_install": false}]});
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let r = app.dispatch(AppRequest::post(
            "/slack/events",
            headers,
            event.to_string(),
        ));
        assert_eq!(r.status, 200);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the event ran");
        let left = store.find_installation(None, TEAM, None, false).unwrap();
        assert_eq!(left.is_none(), cleanup, "cleanup {cleanup}");
    }
}

#[test]
fn oauth_cannot_be_combined_with_a_bot_token_or_an_authorize_hook() {
    let fake = FakeSlack::start().unwrap();
    let e = App::builder()
        .bot_token("xoxb-1")
        .oauth(settings(&fake))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("oauth"), "{e}");
    let e = App::builder()
        .authorize(|_| Ok(Default::default()))
        .oauth(settings(&fake))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("oauth"), "{e}");
    // Invalid settings are a build error too.
    assert!(App::builder()
        .oauth(OAuthSettings::new("id", "secret"))
        .build()
        .is_err());
}

/// A client that reads error statuses as answers.
fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

#[test]
fn a_socket_mode_app_serves_its_install_pages_over_http_alone() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    let app = oauth_app(&fake, store.clone());
    app.command("/hello", |ctx| {
        ctx.ack()?;
        ctx.say("hello over Socket Mode")?;
        Ok(())
    });
    let pages = app
        .oauth_http("127.0.0.1:0")
        .unwrap()
        .handle_signals(false)
        .spawn()
        .unwrap();
    let base = format!("http://{}", pages.local_addr());
    let agent = http();
    // The install page over real HTTP, then the fake's approval, then the redirect.
    let mut page = agent.get(&format!("{base}/slack/install")).call().unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("state cookie")
        .to_owned();
    let html = page.body_mut().read_to_string().unwrap();
    let anchor = "id=\"add-to-slack\" href=\"";
    let start = html.find(anchor).unwrap() + anchor.len();
    let link = html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&");
    let redirect = fake.approve(&link).unwrap();
    let mut done = agent
        .get(&format!("{base}{}", path_of(&redirect)))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(
        done.status(),
        200,
        "{}",
        done.body_mut().read_to_string().unwrap()
    );
    let token = store
        .find_bot(None, TEAM, false)
        .unwrap()
        .expect("installed")
        .bot_token;
    // Slack's requests do not go to this receiver: no POST path.
    let post = agent
        .post(&format!("{base}/slack/events"))
        .send("{}")
        .unwrap();
    assert_eq!(post.status(), 404);
    // They come over Socket Mode, authorized from the store.
    let socket = app
        .socket_mode("xapp-1-oauth")
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    fake.deliver(&Delivery::command("/hello", ""));
    assert!(fake.wait_for_calls("chat.postMessage", 1, Duration::from_secs(10)));
    let call = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .unwrap();
    assert_eq!(call.token.as_deref(), Some(token.as_str()));
    socket.stop();
    pages.stop();
    // Without OAuth settings there is nothing to serve.
    let plain = App::builder().base_url(&fake.api_url()).build().unwrap();
    assert!(plain.oauth_http("127.0.0.1:0").is_err());
    assert!(plain.oauth_paths().is_empty());
}

#[test]
fn an_expiring_token_is_rotated_before_the_listener_uses_it() {
    let fake = FakeSlack::start().unwrap();
    fake.set_token_rotation(Some(Duration::from_secs(12 * 3600)));
    let store = memory();
    let app = oauth_app(&fake, store.clone());
    app.command("/hello", |ctx| {
        ctx.ack()?;
        ctx.client().chat_post_message("C0FAKE0001", "rotated?")?;
        Ok(())
    });
    assert_eq!(install_through(&app, &fake), 200);
    // The stored token expires in a minute.
    let mut i = store
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    let old = i.bot_token.clone().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i.bot_token_expires_at = Some(now + 60);
    assert!(store.save_rotated(&i, i.version).unwrap());
    let (headers, body) = fake.payload(&Delivery::command("/hello", "")).http_parts();
    let r = app.dispatch(AppRequest::post("/slack/events", headers, body));
    assert_eq!(r.status, 200);
    assert!(fake.wait_for_calls("chat.postMessage", 1, Duration::from_secs(10)));
    assert_eq!(fake.token_refreshes(), 1);
    let new = store
        .find_bot(None, TEAM, false)
        .unwrap()
        .unwrap()
        .bot_token;
    assert_ne!(new, old);
    let call = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage")
        .unwrap();
    assert_eq!(
        call.token.as_deref(),
        Some(new.as_str()),
        "ctx.client() has the new token"
    );
}

#[test]
fn app_http_serves_the_install_pages_beside_slacks_requests() {
    let fake = FakeSlack::start().unwrap();
    let app = App::builder()
        .base_url(&fake.api_url())
        .signing_secret("8f742231b10e8888abcd99yyyzzz85a5")
        .oauth(settings(&fake))
        .build()
        .unwrap();
    let running = app
        .http("127.0.0.1:0")
        .handle_signals(false)
        .spawn()
        .unwrap();
    let base = format!("http://{}", running.local_addr());
    let agent = http();
    let page = agent.get(&format!("{base}/slack/install")).call().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("set-cookie").is_some());
    let denied = agent
        .get(&format!("{base}/slack/oauth_redirect?error=access_denied"))
        .call()
        .unwrap();
    assert_eq!(denied.status(), 403);
    // Slack's path still takes signed POSTs only.
    assert_eq!(
        agent
            .get(&format!("{base}/slack/events"))
            .call()
            .unwrap()
            .status(),
        405
    );
    let unsigned = agent
        .post(&format!("{base}/slack/events"))
        .send("{}")
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    running.stop();
}
