//! Helpers shared by the OAuth tests: the fake Slack's app settings, a flow driven without a
//! browser, and stores that fail.
#![allow(dead_code)] // each test file uses a different subset

pub mod cdp;

use std::sync::Arc;

use slack_rtm::app::oauth::{
    Installation, InstallationStore, MemoryStore, OAuthFlow, OAuthSettings, OAuthStateStore,
    StoreError, STATE_COOKIE,
};
use slack_rtm::app::{AppRequest, AppResponse};
use slack_rtm::testing::{FakeSlack, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};
use slack_rtm::WebClient;

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/slack/oauth_redirect";

/// A client for the fake's Web API that sends no token.
pub fn client(fake: &FakeSlack) -> WebClient {
    WebClient::builder_without_token()
        .base_url(&fake.api_url())
        .max_retries(0)
        .build()
        .expect("client")
}

/// Settings for the fake's app.
pub fn settings(fake: &FakeSlack) -> OAuthSettings {
    OAuthSettings::new(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET)
        .scopes(&["chat:write", "commands"])
        .redirect_uri(REDIRECT_URI)
        .authorize_url(&fake.authorize_url())
        .web_client(client(fake))
}

/// The value of the state cookie an install page set.
pub fn state_cookie(response: &AppResponse) -> String {
    let set = response
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("set-cookie") && v.starts_with(STATE_COOKIE))
        .map(|(_, v)| v.clone())
        .expect("a state cookie");
    set.split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("cookie value")
}

/// The authorize URL on an install page (the "Add to Slack" link).
pub fn add_to_slack_link(response: &AppResponse) -> String {
    let body = String::from_utf8_lossy(&response.body);
    let anchor = "id=\"add-to-slack\" href=\"";
    let start = body.find(anchor).expect("a link") + anchor.len();
    let end = body[start..].find('"').expect("end of link") + start;
    body[start..end].replace("&amp;", "&")
}

/// The path and query of the app's redirect URL.
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or("/".to_owned(), |i| rest[i..].to_owned())
}

/// A browser's GET with the state cookie (or none).
pub fn get(path: &str, cookie: Option<&str>) -> AppRequest {
    let headers = cookie
        .map(|c| vec![("Cookie".to_owned(), format!("{STATE_COOKIE}={c}"))])
        .unwrap_or_default();
    AppRequest::get(path, headers)
}

/// Install page → the fake's Allow → the redirect: (the redirect's path, the cookie).
pub fn approve(fake: &FakeSlack, flow: &OAuthFlow) -> (String, String) {
    let page = flow
        .handle(&get("/slack/install", None))
        .expect("install page");
    assert_eq!(page.status, 200);
    let cookie = state_cookie(&page);
    let redirect = fake.approve(&add_to_slack_link(&page)).expect("approved");
    (path_of(&redirect), cookie)
}

/// The whole install without a browser; the redirect's answer.
pub fn install(fake: &FakeSlack, flow: &OAuthFlow) -> AppResponse {
    let (path, cookie) = approve(fake, flow);
    flow.handle(&get(&path, Some(&cookie)))
        .expect("redirect page")
}

pub fn body(response: &AppResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

/// A store that keeps states in memory and fails every installation write (a full disk, a
/// database that went away).
#[derive(Default)]
pub struct FailingStore {
    pub memory: MemoryStore,
}

impl InstallationStore for FailingStore {
    fn save(&self, _: &Installation) -> Result<Installation, StoreError> {
        Err(StoreError::new("disk full"))
    }
    fn save_rotated(&self, _: &Installation, _: u64) -> Result<bool, StoreError> {
        Err(StoreError::new("disk full"))
    }
    fn find_installation(
        &self,
        e: Option<&str>,
        t: Option<&str>,
        u: Option<&str>,
        org: bool,
    ) -> Result<Option<Installation>, StoreError> {
        self.memory.find_installation(e, t, u, org)
    }
    fn delete_installation(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: Option<&str>,
        _: bool,
    ) -> Result<(), StoreError> {
        Err(StoreError::new("disk full"))
    }
    fn delete_bot(&self, _: Option<&str>, _: Option<&str>, _: bool) -> Result<(), StoreError> {
        Err(StoreError::new("disk full"))
    }
    fn delete_all(&self, _: Option<&str>, _: Option<&str>, _: bool) -> Result<(), StoreError> {
        Err(StoreError::new("disk full"))
    }
}

impl OAuthStateStore for FailingStore {
    fn issue(&self) -> Result<String, StoreError> {
        self.memory.issue()
    }
    fn consume(&self, state: &str) -> Result<bool, StoreError> {
        self.memory.consume(state)
    }
}

/// A fresh temporary folder for a test's files (removed by the caller, or left in /tmp).
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "slack-rtm-{name}-{}-{:x}",
        std::process::id(),
        rand_u64()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

/// A shared memory store.
pub fn memory() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}
