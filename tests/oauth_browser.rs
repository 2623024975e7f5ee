//! The OAuth install end to end in a real headless Chromium (from the system packages; the
//! test says why it skips when there is none): open the app's `/slack/install`, follow "Add to
//! Slack" to the fake Slack's approval page, click Allow, land on the app's success page with
//! the state cookie checked, find the installation in the SQLite file; then a request from that
//! workspace is answered with its token. A replayed redirect in the same browser fails.

mod oauth_support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use slack_rtm::app::oauth::{InstallationStore, OAuthFlow, SqliteStore};
use slack_rtm::app::{AppRequest, AppResponse};
use slack_rtm::testing::FakeSlack;

use oauth_support::cdp::Browser;
use oauth_support::server::Server;
use oauth_support::*;

const STEP: Duration = Duration::from_secs(30);

/// The app: the OAuth paths, and `/slack/events` answering a mention with the workspace's
/// token.
fn app(flow: &OAuthFlow, api_url: &str, request: AppRequest) -> AppResponse {
    if let Some(page) = flow.handle(&request) {
        return page;
    }
    if request.path_only() != "/slack/events" {
        return AppResponse::status(404);
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let team = body["team_id"].as_str();
    let user = body["event"]["user"].as_str();
    let installation = match flow.authorizer().authorize(None, team, user, false) {
        Ok(i) => i,
        Err(e) => return AppResponse::with_body(401, "text/plain", e.to_string()),
    };
    let Some(token) = installation.bot_token else {
        return AppResponse::status(401);
    };
    let web = slack_rtm::WebClient::builder(&token)
        .base_url(api_url)
        .build()
        .expect("client");
    let channel = body["event"]["channel"].as_str().unwrap_or_default();
    match web.chat_post_message(channel, "hello from the installed app") {
        Ok(_) => AppResponse::ok(),
        Err(e) => AppResponse::with_body(500, "text/plain", e.to_string()),
    }
}

#[test]
fn install_in_a_headless_browser_then_the_workspace_is_served_with_its_token() {
    let dir = temp_dir("oauth-browser");
    let mut browser = match Browser::launch(&dir.join("profile")) {
        Ok(Some(b)) => b,
        Ok(None) => {
            eprintln!(
                "skipping: no Chromium found (install the `chromium` package, or set CHROMIUM)"
            );
            return;
        }
        Err(e) => panic!("chromium is installed but could not be driven: {e}"),
    };
    let fake = FakeSlack::start().expect("fake");
    let db = dir.join("installations.sqlite");
    let store = Arc::new(SqliteStore::open(&db).expect("sqlite"));
    let flow_cell: Arc<OnceLock<OAuthFlow>> = Arc::new(OnceLock::new());
    let api_url = fake.api_url();
    let server = {
        let cell = flow_cell.clone();
        Server::start(move |req| match cell.get() {
            Some(flow) => app(flow, &api_url, req),
            None => AppResponse::status(503),
        })
    };
    let redirect_uri = server.url("/slack/oauth_redirect");
    let flow = OAuthFlow::new(
        settings(&fake)
            .redirect_uri(&redirect_uri)
            .store(store.clone()),
    )
    .expect("flow");
    assert!(flow_cell.set(flow).is_ok());

    // The install page, its "Add to Slack" link, the fake Slack's approval page.
    browser.navigate(&server.url("/slack/install")).unwrap();
    browser
        .wait_for("document.getElementById('add-to-slack') !== null", STEP)
        .unwrap();
    browser
        .eval("document.getElementById('add-to-slack').click(); true")
        .unwrap();
    browser
        .wait_for("document.getElementById('approve') !== null", STEP)
        .unwrap();
    let team = browser
        .eval("document.getElementById('team').textContent")
        .unwrap();
    assert_eq!(team, "Fake Workspace");
    browser
        .eval("document.getElementById('approve').click(); true")
        .unwrap();
    // Slack redirects to the app with code and state; the browser sends the state cookie.
    browser
        .wait_for(
            "document.getElementById('oauth-success') !== null || document.getElementById('oauth-failure') !== null",
            STEP,
        )
        .unwrap();
    let text = browser.eval("document.body.innerText").unwrap();
    let landed = browser.eval("location.href").unwrap();
    assert!(
        browser
            .eval("document.getElementById('oauth-success') !== null")
            .unwrap()
            == Value::Bool(true),
        "not the success page: {landed}: {text}"
    );
    assert!(
        landed.as_str().unwrap().starts_with(&redirect_uri),
        "{landed}"
    );
    assert!(landed.as_str().unwrap().contains("code="), "{landed}");

    // The installation is in the SQLite file (read through another connection).
    let reopened = SqliteStore::open(&db).expect("reopen");
    let installation = reopened
        .find_installation(None, Some("T0FAKE0001"), None, false)
        .expect("find")
        .expect("installed");
    let token = installation.bot_token.clone().expect("bot token");
    assert_eq!(installation.bot_id.as_deref(), Some("B0FAKEBOT1"));

    // A request from that workspace is answered with its token.
    let event = serde_json::json!({
        "type": "event_callback", "team_id": "T0FAKE0001",
        "event": {"type": "app_mention", "user": "U0FAKEUSR2", "channel": "C0FAKEGEN1", "text": "<@U0FAKEBOT1> hi"}
    });
    let answer = ureq::post(&server.url("/slack/events"))
        .header("Content-Type", "application/json")
        .send(event.to_string())
        .expect("event");
    assert_eq!(answer.status(), 200);
    let posted = fake
        .api_calls()
        .into_iter()
        .rfind(|c| c.method == "chat.postMessage")
        .expect("answered");
    assert_eq!(posted.token.as_deref(), Some(token.as_str()));
    assert_eq!(posted.param("channel"), Some("C0FAKEGEN1"));

    // The same redirect again, in the same browser: the state was single-use.
    browser.navigate(landed.as_str().unwrap()).unwrap();
    browser
        .wait_for("document.getElementById('oauth-failure') !== null", STEP)
        .unwrap();
    let text = browser.eval("document.body.innerText").unwrap();
    assert!(
        text.as_str().unwrap().contains("invalid_browser")
            || text.as_str().unwrap().contains("invalid_state"),
        "{text}"
    );
    assert_eq!(fake.calls_to("oauth.v2.access"), 1);
    drop(browser);
    let _ = std::fs::remove_dir_all(dir);
}
