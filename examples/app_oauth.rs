//! An app that many workspaces install: Slack's OAuth v2 flow on an HTTP receiver, the
//! installations in a SQLite file, and a `/hello` command answered in each workspace with that
//! workspace's own token (rotated before it expires, when token rotation is on).
//!
//! With `SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET` and `SLACK_SIGNING_SECRET` set it serves real
//! Slack on `0.0.0.0:3000` (`PORT` to change it) until Ctrl-C: put TLS in front (a reverse
//! proxy or a tunnel), add `https://<host>/slack/oauth_redirect` to the app's Redirect URLs
//! (and `SLACK_REDIRECT_URI`), point the slash command at `https://<host>/slack/events`, and
//! open `https://<host>/slack/install`. Installations go to `installations.sqlite`
//! (`SLACK_INSTALLATIONS` to change it).
//!
//! Without them it runs against the embedded fake Slack: it installs itself (the install
//! page, the fake's approval, the redirect with its cookie), runs `/hello` from the new
//! workspace, prints what happened, and exits. With `--wait` it prints the install URL instead
//! and waits for you to click through it in a browser, offline:
//!
//! ```text
//! cargo run --example app_oauth --features sqlite [-- --wait]
//! ```

use std::sync::{Arc, OnceLock};

use slack_rtm::app::http::HttpReceiverBuilder;
use slack_rtm::app::oauth::{InstallationStore, OAuthSettings, SqliteStore};
use slack_rtm::app::{App, AppResponse};
use slack_rtm::testing::{Delivery, FakeSlack, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};

type Failure = Box<dyn std::error::Error>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The listeners: the same in every workspace; `ctx.say` carries the workspace's token.
fn register(app: &App) {
    app.command("/hello", |ctx| {
        ctx.ack()?;
        let team = ctx.team_id().unwrap_or("?").to_owned();
        ctx.say(&format!("Hello, workspace {team}!"))?;
        Ok(())
    });
}

#[path = "support/stderr_log.rs"]
mod stderr_log;

fn main() -> Result<(), Failure> {
    match (
        env("SLACK_CLIENT_ID"),
        env("SLACK_CLIENT_SECRET"),
        env("SLACK_SIGNING_SECRET"),
    ) {
        (Some(id), Some(secret), Some(signing)) => real_slack(&id, &secret, &signing),
        _ => fake_slack(std::env::args().any(|a| a == "--wait")),
    }
}

fn real_slack(client_id: &str, client_secret: &str, signing_secret: &str) -> Result<(), Failure> {
    stderr_log::init();
    let path = env("SLACK_INSTALLATIONS").unwrap_or_else(|| "installations.sqlite".into());
    let mut settings = OAuthSettings::new(client_id, client_secret)
        .scopes(&["commands", "chat:write"])
        .store(Arc::new(SqliteStore::open(&path)?));
    if let Some(uri) = env("SLACK_REDIRECT_URI") {
        settings = settings.redirect_uri(&uri);
    }
    let app = App::builder()
        .signing_secret(signing_secret)
        .oauth(settings)
        .build()?;
    register(&app);
    let addr = format!("0.0.0.0:{}", env("PORT").unwrap_or_else(|| "3000".into()));
    // Slack's requests on /slack/events, the install pages on GET.
    let receiver = app.http(&addr).build()?;
    eprintln!(
        "listening on {}: install at /slack/install, installations in {path}",
        receiver.local_addr()
    );
    receiver.start()?; // until Ctrl-C
    Ok(())
}

fn fake_slack(wait: bool) -> Result<(), Failure> {
    let fake = FakeSlack::start()?;
    let dir = std::env::temp_dir().join(format!("app-oauth-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("installations.sqlite");
    let store = Arc::new(SqliteStore::open(&db)?);
    // The receiver first: the redirect URI names its port.
    let cell: Arc<OnceLock<App>> = Arc::new(OnceLock::new());
    let handler = {
        let cell = cell.clone();
        move |req| match cell.get() {
            Some(app) => app.dispatch(req),
            None => AppResponse::status(503),
        }
    };
    let receiver = HttpReceiverBuilder::new("127.0.0.1:0", handler)
        .get_path("/slack/install")
        .get_path("/slack/oauth_redirect")
        .handle_signals(wait)
        .build()?;
    let base = format!("http://{}", receiver.local_addr());
    let app = App::builder()
        .base_url(&fake.api_url())
        .oauth(
            OAuthSettings::new(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET)
                .scopes(&["commands", "chat:write"])
                .redirect_uri(&format!("{base}/slack/oauth_redirect"))
                .authorize_url(&fake.authorize_url())
                .store(store.clone()),
        )
        .build()?;
    register(&app);
    let _ = cell.set(app);

    if wait {
        println!("open {base}/slack/install in a browser and click Allow (Ctrl-C to stop)");
        receiver.start()?;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let running = receiver.spawn()?;
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    // 1. The install page sets the state cookie and links to Slack's (the fake's) approval.
    let mut page = http.get(&format!("{base}/slack/install")).call()?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let html = page.body_mut().read_to_string()?;
    let link = html
        .split("id=\"add-to-slack\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no Add to Slack link")?
        .replace("&amp;", "&");
    // 2. The user clicks Allow: Slack redirects the browser with a code and the state.
    let redirect = fake.approve(&link)?;
    let done = http.get(&redirect).header("Cookie", &cookie).call()?;
    println!(
        "install: {} {}",
        done.status(),
        redirect.split('?').next().unwrap_or_default()
    );
    let installed = store
        .find_installation(None, Some("T0FAKE0001"), None, false)?
        .ok_or("not installed")?;
    println!(
        "installed in {} ({}); bot {} saved in {}",
        installed.team_name.as_deref().unwrap_or("?"),
        installed.team_id.as_deref().unwrap_or("?"),
        installed.bot_id.as_deref().unwrap_or("?"),
        db.display()
    );
    // 3. `/hello` from that workspace, as Slack POSTs it.
    let (headers, body) = fake.payload(&Delivery::command("/hello", "")).http_parts();
    let mut request = http.post(&format!("{base}/slack/events"));
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    println!("/hello: {}", request.send(&body[..])?.status());
    fake.wait_for_calls("chat.postMessage", 1, std::time::Duration::from_secs(5));
    for call in fake
        .api_calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage")
    {
        let same = call.token == installed.bot_token;
        println!(
            "chat.postMessage {:?} with the workspace's token: {same}",
            call.param("text").unwrap_or_default()
        );
    }
    running.stop();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
