//! The OAuth install end to end in a real headless Chromium (from the system packages; the
//! test says why it skips when there is none): open the app's `/slack/install`, follow "Add to
//! Slack" to the fake Slack's approval page, click Allow, land on the app's success page with
//! the state cookie checked, find the installation in the SQLite file; then a request from that
//! workspace is answered with its token. A replayed redirect in the same browser fails.

mod oauth_support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use slack_rtm::app::http::HttpReceiverBuilder;
use slack_rtm::app::oauth::{InstallationStore, OAuthSettings, SqliteStore};
use slack_rtm::app::{App, AppResponse};
use slack_rtm::testing::{Delivery, FakeSlack, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};

use oauth_support::cdp::Browser;
use oauth_support::*;

const STEP: Duration = Duration::from_secs(30);

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
    // The App is built once the receiver's port (its redirect URI) is known.
    let app_cell: Arc<OnceLock<App>> = Arc::new(OnceLock::new());
    let handler = {
        let cell = app_cell.clone();
        move |req| match cell.get() {
            Some(app) => App::dispatch(app, req),
            None => AppResponse::status(503),
        }
    };
    let receiver = HttpReceiverBuilder::new("127.0.0.1:0", handler)
        .get_path("/slack/install")
        .get_path("/slack/oauth_redirect")
        .handle_signals(false)
        .spawn()
        .expect("receiver");
    let url = |path: &str| format!("http://{}{path}", receiver.local_addr());
    let redirect_uri = url("/slack/oauth_redirect");
    let app = App::builder()
        .base_url(&fake.api_url())
        .oauth(
            OAuthSettings::new(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET)
                .scopes(&["chat:write", "commands"])
                .redirect_uri(&redirect_uri)
                .authorize_url(&fake.authorize_url())
                .store(store.clone()),
        )
        .build()
        .expect("app");
    app.command("/hello", |ctx| {
        ctx.ack()?;
        ctx.say("hello from the installed app")?;
        Ok(())
    });
    assert!(app_cell.set(app).is_ok());

    // The install page, its "Add to Slack" link, the fake Slack's approval page.
    browser.navigate(&url("/slack/install")).unwrap();
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
    let (headers, body) = fake.payload(&Delivery::command("/hello", "")).http_parts();
    let mut request = ureq::post(&url("/slack/events"));
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let answer = request.send(&body[..]).expect("command");
    assert_eq!(answer.status(), 200);
    assert!(fake.wait_for_calls("chat.postMessage", 1, STEP));
    let posted = fake
        .api_calls()
        .into_iter()
        .rfind(|c| c.method == "chat.postMessage")
        .expect("answered");
    assert_eq!(posted.token.as_deref(), Some(token.as_str()));

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
    receiver.stop();
    let _ = std::fs::remove_dir_all(dir);
}
