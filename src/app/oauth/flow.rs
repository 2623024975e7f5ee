//! [`OAuthSettings`] and [`OAuthFlow`]: the install page and the redirect of Slack's OAuth v2
//! flow, as transport-free handlers of [`AppRequest`]s.

use std::fmt;
use std::sync::Arc;

use log::{info, warn};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::authorize::InstallationAuthorizer;
use super::installation::{unix_now, Installation};
use super::memory::MemoryStore;
use super::store::{InstallationStore, OAuthStateStore};
use crate::app::parse::form_fields;
use crate::app::{AppRequest, AppResponse};
use crate::error::Error;
use crate::web::WebClient;

/// The cookie that binds a `state` to the browser that started the install.
pub const STATE_COOKIE: &str = "slack-app-oauth-state";

/// Slack's authorize page.
pub const DEFAULT_AUTHORIZE_URL: &str = "https://slack.com/oauth/v2/authorize";

/// `application/x-www-form-urlencoded` (everything but `A-Za-z0-9-._*` encoded).
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

type SuccessPage = Arc<dyn Fn(&Installation) -> AppResponse + Send + Sync>;
type FailurePage = Arc<dyn Fn(&OAuthFailure) -> AppResponse + Send + Sync>;

/// The OAuth settings of an app that other workspaces install: Slack's OAuth v2 flow (an
/// install page, Slack's approval, the redirect), where installations and states are kept,
/// and the pages shown. `client_id` and `client_secret` come from the app's "Basic
/// Information" page.
///
/// ```
/// use std::sync::Arc;
/// use slack_rtm::app::oauth::{MemoryStore, OAuthSettings};
/// let settings = OAuthSettings::new("123.456", "client-secret")
///     .scopes(&["chat:write", "commands"])
///     .redirect_uri("https://bot.example.com/slack/oauth_redirect")
///     .store(Arc::new(MemoryStore::new()));
/// ```
#[derive(Clone)]
pub struct OAuthSettings {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    scopes: Vec<String>,
    user_scopes: Vec<String>,
    redirect_uri: Option<String>,
    install_path: String,
    redirect_path: String,
    direct_install: bool,
    state_cookie_max_age: u64,
    authorize_url: String,
    pub(crate) installations: Arc<dyn InstallationStore>,
    states: Arc<dyn OAuthStateStore>,
    pub(crate) web_client: Option<WebClient>,
    success_page: Option<SuccessPage>,
    failure_page: Option<FailurePage>,
}

impl fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("user_scopes", &self.user_scopes)
            .field("redirect_uri", &self.redirect_uri)
            .field("install_path", &self.install_path)
            .field("redirect_path", &self.redirect_path)
            .field("direct_install", &self.direct_install)
            .field("authorize_url", &self.authorize_url)
            .finish_non_exhaustive()
    }
}

impl OAuthSettings {
    /// Settings for the app with this client id and secret; every other option has its
    /// default (installations and states in memory).
    pub fn new(client_id: &str, client_secret: &str) -> OAuthSettings {
        let memory = Arc::new(MemoryStore::new());
        OAuthSettings {
            client_id: client_id.trim().to_owned(),
            client_secret: client_secret.trim().to_owned(),
            scopes: Vec::new(),
            user_scopes: Vec::new(),
            redirect_uri: None,
            install_path: "/slack/install".into(),
            redirect_path: "/slack/oauth_redirect".into(),
            direct_install: false,
            state_cookie_max_age: super::store::DEFAULT_STATE_EXPIRY,
            authorize_url: DEFAULT_AUTHORIZE_URL.into(),
            installations: memory.clone(),
            states: memory,
            web_client: None,
            success_page: None,
            failure_page: None,
        }
    }

    /// The bot scopes the app asks for (`chat:write`, `commands`, …).
    ///
    /// Defaults to none; at least one bot or user scope is required.
    #[must_use]
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The user scopes the app asks for (a user token for the installing user).
    ///
    /// Defaults to none.
    #[must_use]
    pub fn user_scopes(mut self, scopes: &[&str]) -> Self {
        self.user_scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The redirect URL sent to Slack and to `oauth.v2.access`: one of the app's "Redirect
    /// URLs" (OAuth & Permissions page), ending with the redirect path.
    ///
    /// Defaults to none: Slack then uses the app's first Redirect URL.
    #[must_use]
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uri = Some(uri.to_owned());
        self
    }

    /// The path of the install page.
    ///
    /// Defaults to `/slack/install`.
    #[must_use]
    pub fn install_path(mut self, path: &str) -> Self {
        self.install_path = path.to_owned();
        self
    }

    /// The path Slack redirects the browser to after the approval.
    ///
    /// Defaults to `/slack/oauth_redirect`.
    #[must_use]
    pub fn redirect_path(mut self, path: &str) -> Self {
        self.redirect_path = path.to_owned();
        self
    }

    /// `true`: the install path answers `302` straight to Slack's authorize page instead of a
    /// page with an "Add to Slack" link.
    ///
    /// Defaults to `false`.
    #[must_use]
    pub fn direct_install(mut self, yes: bool) -> Self {
        self.direct_install = yes;
        self
    }

    /// The `Max-Age` of the state cookie, in seconds; keep it equal to the state store's
    /// expiry.
    ///
    /// Defaults to 600.
    #[must_use]
    pub fn state_cookie_max_age(mut self, seconds: u64) -> Self {
        self.state_cookie_max_age = seconds;
        self
    }

    /// Slack's authorize page (the fake's, in tests: `FakeSlack::authorize_url`).
    ///
    /// Defaults to `https://slack.com/oauth/v2/authorize`.
    #[must_use]
    pub fn authorize_url(mut self, url: &str) -> Self {
        self.authorize_url = url.to_owned();
        self
    }

    /// Keep installations **and** states in `store` (a [`SqliteStore`](super) or a store of
    /// your own implementing both traits).
    ///
    /// Defaults to a [`MemoryStore`].
    #[must_use]
    pub fn store<S: InstallationStore + OAuthStateStore + 'static>(
        mut self,
        store: Arc<S>,
    ) -> Self {
        self.installations = store.clone();
        self.states = store;
        self
    }

    /// Keep installations in this store.
    ///
    /// Defaults to a [`MemoryStore`].
    #[must_use]
    pub fn installation_store(mut self, store: Arc<dyn InstallationStore>) -> Self {
        self.installations = store;
        self
    }

    /// Keep OAuth states in this store (one that every host of the app reaches, when the
    /// redirect may land on another host than the install page).
    ///
    /// Defaults to a [`MemoryStore`].
    #[must_use]
    pub fn state_store(mut self, store: Arc<dyn OAuthStateStore>) -> Self {
        self.states = store;
        self
    }

    /// The network setup for `oauth.v2.access` and `auth.test` (base URL, proxy, TLS,
    /// timeout); its own token, if any, is never sent by these calls.
    ///
    /// Defaults to [`WebClient::builder_without_token`] with its defaults
    /// (`https://slack.com/api/`).
    #[must_use]
    pub fn web_client(mut self, client: WebClient) -> Self {
        self.web_client = Some(client);
        self
    }

    /// The page shown after a successful install.
    ///
    /// Defaults to a short page saying the app was installed, with a link that opens Slack.
    #[must_use]
    pub fn success_page(
        mut self,
        page: impl Fn(&Installation) -> AppResponse + Send + Sync + 'static,
    ) -> Self {
        self.success_page = Some(Arc::new(page));
        self
    }

    /// The page shown when the install fails (see [`OAuthFailure`] for the reasons and their
    /// statuses).
    ///
    /// Defaults to a short page naming the reason, with the status of the failure.
    #[must_use]
    pub fn failure_page(
        mut self,
        page: impl Fn(&OAuthFailure) -> AppResponse + Send + Sync + 'static,
    ) -> Self {
        self.failure_page = Some(Arc::new(page));
        self
    }

    /// The installation store.
    pub(crate) fn installations(&self) -> Arc<dyn InstallationStore> {
        self.installations.clone()
    }

    /// The install path and the redirect path.
    pub(crate) fn paths(&self) -> [&str; 2] {
        [&self.install_path, &self.redirect_path]
    }

    pub(crate) fn client(&self) -> Result<WebClient, Error> {
        match &self.web_client {
            Some(client) => Ok(client.clone()),
            None => WebClient::builder_without_token().build(),
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.client_id.is_empty() || self.client_secret.is_empty() {
            return Err(Error::Config(
                "oauth: the client id and the client secret must not be empty".into(),
            ));
        }
        if self.scopes.is_empty() && self.user_scopes.is_empty() {
            return Err(Error::Config(
                "oauth: ask for at least one scope (scopes or user_scopes)".into(),
            ));
        }
        for (name, path) in [
            ("install_path", &self.install_path),
            ("redirect_path", &self.redirect_path),
        ] {
            if !path.starts_with('/') || path.contains('?') {
                return Err(Error::Config(format!(
                    "oauth: {name} must be a path starting with / (no query)"
                )));
            }
        }
        if self.install_path == self.redirect_path {
            return Err(Error::Config(
                "oauth: install_path and redirect_path must differ".into(),
            ));
        }
        if !(self.authorize_url.starts_with("https://")
            || self.authorize_url.starts_with("http://"))
        {
            return Err(Error::Config(
                "oauth: authorize_url must be an http(s) URL".into(),
            ));
        }
        Ok(())
    }
}

/// Why an install failed, for [`OAuthSettings::failure_page`]. Each `reason` has its status:
///
/// | reason | status | when |
/// | --- | --- | --- |
/// | `access_denied` (or Slack's other `error`) | 403 | the user cancelled on Slack's page |
/// | `missing_state` | 400 | the redirect has no `state` |
/// | `invalid_browser` | 400 | no `slack-app-oauth-state` cookie, or another state in it |
/// | `invalid_state` | 401 | the state is unknown, expired or already used |
/// | `missing_code` | 400 | the redirect has no `code` |
/// | `invalid_code` | 401 | `oauth.v2.access` refused the code (`detail`: Slack's error) |
/// | `slack_unreachable` | 502 | `oauth.v2.access` or `auth.test` failed on the network |
/// | `auth_test_failed` | 502 | `auth.test` with the new bot token failed |
/// | `storage_error` | 500 | the state or installation store failed |
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthFailure {
    /// The reason, from the table above.
    pub reason: String,
    /// The HTTP status of the failure page.
    pub status: u16,
    /// More detail (Slack's error code, the store's message); never a token.
    pub detail: String,
}

/// Serves Slack's OAuth v2 install flow: `GET` of the install path (a page or a `302` to
/// Slack's authorize URL, setting the state cookie) and of the redirect path (state and
/// cookie checked, the code exchanged with `oauth.v2.access`, `auth.test` for the bot id, the
/// installation saved). Transport-free: the App's receivers call [`OAuthFlow::handle`].
#[derive(Clone, Debug)]
pub struct OAuthFlow {
    settings: OAuthSettings,
    client: WebClient,
}

impl OAuthFlow {
    /// The flow for these settings.
    ///
    /// Fails with [`Error::Config`] when the client id or secret is empty, no scope is asked
    /// for, a path does not start with `/`, or the authorize URL is not http(s).
    pub fn new(settings: OAuthSettings) -> Result<OAuthFlow, Error> {
        settings.check()?;
        let client = settings.client()?;
        Ok(OAuthFlow { settings, client })
    }

    /// The settings.
    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    /// An authorizer over the same installation store, client id and secret, and network
    /// setup: what finds (and rotates) each request's tokens.
    pub fn authorizer(&self) -> InstallationAuthorizer {
        InstallationAuthorizer::new(
            self.settings.installations.clone(),
            &self.settings.client_id,
            &self.settings.client_secret,
        )
        .web_client(self.client.clone())
    }

    /// Answers a request for the install or the redirect path (`GET`), `None` for any other.
    /// Never panics: every failure is a page with its status ([`OAuthFailure`]).
    pub fn handle(&self, request: &AppRequest) -> Option<AppResponse> {
        if !request.method.eq_ignore_ascii_case("GET") {
            return None;
        }
        let path = request.path_only();
        if path == self.settings.install_path {
            Some(self.install(request))
        } else if path == self.settings.redirect_path {
            Some(self.redirect(request))
        } else {
            None
        }
    }

    /// Slack's authorize URL for this state (and `team`, when the install page got one).
    pub fn authorize_url(&self, state: &str, team: Option<&str>) -> String {
        let s = &self.settings;
        let mut url = format!(
            "{}?state={}&client_id={}&scope={}&user_scope={}",
            s.authorize_url,
            enc(state),
            enc(&s.client_id),
            enc(&s.scopes.join(",")),
            enc(&s.user_scopes.join(",")),
        );
        if let Some(uri) = &s.redirect_uri {
            url.push_str("&redirect_uri=");
            url.push_str(&enc(uri));
        }
        if let Some(team) = team.filter(|t| !t.is_empty()) {
            url.push_str("&team=");
            url.push_str(&enc(team));
        }
        url
    }

    fn install(&self, request: &AppRequest) -> AppResponse {
        let state = match self.settings.states.issue() {
            Ok(state) => state,
            Err(e) => {
                return self.fail("storage_error", 500, format!("cannot issue a state: {e}"));
            }
        };
        let query = form_fields(request.query().unwrap_or_default());
        let url = self.authorize_url(&state, query_get(&query, "team"));
        let mut response = if self.settings.direct_install {
            let mut r = AppResponse::status(302);
            r.headers.push(("Location".into(), url));
            r
        } else {
            AppResponse::with_body(200, "text/html; charset=utf-8", install_page(&url))
        };
        response.headers.push((
            "Set-Cookie".into(),
            format!(
                "{STATE_COOKIE}={state}; Secure; HttpOnly; Path=/; Max-Age={}; SameSite=Lax",
                self.settings.state_cookie_max_age
            ),
        ));
        response
            .headers
            .push(("Cache-Control".into(), "no-store".into()));
        response
    }

    fn redirect(&self, request: &AppRequest) -> AppResponse {
        let mut response = match self.callback(request) {
            Ok(installation) => {
                info!(
                    "oauth: installed in {} (enterprise {}, by {})",
                    installation.team_id.as_deref().unwrap_or("-"),
                    installation.enterprise_id.as_deref().unwrap_or("-"),
                    installation.user_id
                );
                match &self.settings.success_page {
                    Some(page) => page(&installation),
                    None => AppResponse::with_body(
                        200,
                        "text/html; charset=utf-8",
                        success_page(&installation),
                    ),
                }
            }
            Err(failure) => {
                warn!(
                    "oauth: install failed: {} ({}): {}",
                    failure.reason, failure.status, failure.detail
                );
                self.failure_response(&failure)
            }
        };
        // The state is spent either way: the cookie goes.
        response.headers.push((
            "Set-Cookie".into(),
            format!("{STATE_COOKIE}=; Secure; HttpOnly; Path=/; Max-Age=0; SameSite=Lax"),
        ));
        response
            .headers
            .push(("Cache-Control".into(), "no-store".into()));
        response
    }

    fn callback(&self, request: &AppRequest) -> Result<Installation, OAuthFailure> {
        let query = form_fields(request.query().unwrap_or_default());
        if let Some(error) = query_get(&query, "error") {
            return Err(failure(
                if error.is_empty() {
                    "access_denied"
                } else {
                    error
                },
                403,
                "the installation was cancelled on Slack's page".into(),
            ));
        }
        let state = match query_get(&query, "state") {
            Some(state) if !state.is_empty() => state,
            _ => {
                return Err(failure(
                    "missing_state",
                    400,
                    "the redirect has no state".into(),
                ))
            }
        };
        match cookie(request, STATE_COOKIE) {
            Some(c) if c == state => {}
            Some(_) => {
                return Err(failure(
                    "invalid_browser",
                    400,
                    "the state cookie holds another state: start the install again in this browser"
                        .into(),
                ))
            }
            None => {
                return Err(failure(
                    "invalid_browser",
                    400,
                    "no state cookie: start the install from the install page, in this browser"
                        .into(),
                ))
            }
        }
        match self.settings.states.consume(state) {
            Ok(true) => {}
            Ok(false) => {
                return Err(failure(
                    "invalid_state",
                    401,
                    "the state is unknown, expired or already used: start the install again".into(),
                ))
            }
            Err(e) => return Err(failure("storage_error", 500, e.to_string())),
        }
        let code = match query_get(&query, "code") {
            Some(code) if !code.is_empty() => code,
            _ => {
                return Err(failure(
                    "missing_code",
                    400,
                    "the redirect has no code".into(),
                ))
            }
        };
        let mut params = json!({ "code": code });
        if let Some(uri) = &self.settings.redirect_uri {
            params["redirect_uri"] = Value::from(uri.as_str());
        }
        let answer = self
            .client
            .oauth_v2_access(
                &self.settings.client_id,
                &self.settings.client_secret,
                &params,
            )
            .map_err(|e| match &e {
                Error::Api { code, .. } => failure(
                    "invalid_code",
                    401,
                    format!("oauth.v2.access answered {code}"),
                ),
                _ => failure("slack_unreachable", 502, format!("oauth.v2.access: {e}")),
            })?;
        let mut installation = installation_from(answer.data(), unix_now());
        if let Some(token) = installation.bot_token.clone() {
            let test = self
                .client
                .with_token(&token)
                .and_then(|c| c.auth_test())
                .map_err(|e| match &e {
                    Error::Api { code, .. } => failure(
                        "auth_test_failed",
                        502,
                        format!("auth.test with the new bot token answered {code}"),
                    ),
                    _ => failure("slack_unreachable", 502, format!("auth.test: {e}")),
                })?;
            installation.bot_id = test
                .get("bot_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if installation.bot_user_id.is_none() {
                installation.bot_user_id = test
                    .get("user_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        }
        self.settings
            .installations
            .save(&installation)
            .map_err(|e| failure("storage_error", 500, e.to_string()))
    }

    fn fail(&self, reason: &str, status: u16, detail: String) -> AppResponse {
        let f = failure(reason, status, detail);
        warn!("oauth: {} ({}): {}", f.reason, f.status, f.detail);
        self.failure_response(&f)
    }

    fn failure_response(&self, failure: &OAuthFailure) -> AppResponse {
        match &self.settings.failure_page {
            Some(page) => page(failure),
            None => AppResponse::with_body(
                failure.status,
                "text/html; charset=utf-8",
                failure_page(failure, &self.settings.install_path),
            ),
        }
    }
}

fn failure(reason: &str, status: u16, detail: String) -> OAuthFailure {
    OAuthFailure {
        reason: reason.to_owned(),
        status,
        detail,
    }
}

/// An installation from an `oauth.v2.access` answer received at `now` (Unix seconds).
pub(crate) fn installation_from(a: &Value, now: u64) -> Installation {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let expires = |v: &Value| {
        v.get("expires_in")
            .and_then(Value::as_u64)
            .map(|secs| now + secs)
    };
    let user = a.get("authed_user").cloned().unwrap_or(Value::Null);
    let enterprise = a.get("enterprise").cloned().unwrap_or(Value::Null);
    let team = a.get("team").cloned().unwrap_or(Value::Null);
    // With only user scopes, the top-level token is a user token.
    let bot = s(a, "token_type").as_deref() != Some("user");
    let mut installation = Installation {
        app_id: s(a, "app_id"),
        enterprise_id: s(&enterprise, "id"),
        enterprise_name: s(&enterprise, "name"),
        team_id: s(&team, "id"),
        team_name: s(&team, "name"),
        user_id: s(&user, "id").unwrap_or_default(),
        is_enterprise_install: a
            .get("is_enterprise_install")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        user_token: s(&user, "access_token"),
        user_scopes: s(&user, "scope"),
        user_refresh_token: s(&user, "refresh_token"),
        user_token_expires_at: expires(&user),
        incoming_webhook: a.get("incoming_webhook").cloned(),
        installed_at: now,
        ..Installation::default()
    };
    if bot {
        installation.bot_token = s(a, "access_token");
        installation.bot_user_id = s(a, "bot_user_id");
        installation.bot_scopes = s(a, "scope");
        installation.bot_refresh_token = s(a, "refresh_token");
        installation.bot_token_expires_at = expires(a);
    }
    installation
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY_SET).to_string()
}

pub(crate) fn query_get<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'r>(request: &'r AppRequest, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Text safe inside HTML.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{padding:10px 15px;font-family:verdana,sans-serif;text-align:center}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head>\
         <body><h2>{title}</h2>{body}</body></html>\n"
    )
}

fn install_page(url: &str) -> String {
    page(
        "Slack App Installation",
        &format!(
            "<p><a id=\"add-to-slack\" href=\"{}\">Add to Slack</a></p>",
            html_escape(url)
        ),
    )
}

fn success_page(installation: &Installation) -> String {
    let team = installation
        .team_id
        .as_deref()
        .or(installation.enterprise_id.as_deref())
        .unwrap_or_default();
    let app = installation.app_id.as_deref().unwrap_or_default();
    page(
        "Thank you!",
        &format!(
            "<p id=\"oauth-success\">The app was installed{}. \
             <a href=\"slack://app?team={}&amp;id={}\">Open Slack</a></p>",
            installation
                .team_name
                .as_deref()
                .map(|n| format!(" in {}", html_escape(n)))
                .unwrap_or_default(),
            html_escape(team),
            html_escape(app),
        ),
    )
}

fn failure_page(failure: &OAuthFailure, install_path: &str) -> String {
    page(
        "Oops, Something Went Wrong!",
        &format!(
            "<p id=\"oauth-failure\">The installation failed: <code>{}</code>. {}</p>\
             <p><a href=\"{}\">Try again</a></p>",
            html_escape(&failure.reason),
            html_escape(&failure.detail),
            html_escape(install_path),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oauth_answer_becomes_an_installation() {
        let answer = json!({
            "ok": true, "app_id": "A1", "access_token": "xoxe.xoxb-1", "token_type": "bot",
            "scope": "chat:write", "bot_user_id": "UB", "refresh_token": "xoxe-1",
            "expires_in": 43200, "team": {"id": "T1", "name": "One"}, "enterprise": null,
            "is_enterprise_install": false,
            "authed_user": {"id": "U1", "scope": "search:read", "access_token": "xoxp-1",
                            "token_type": "user", "expires_in": 100, "refresh_token": "xoxe-u"}
        });
        let i = installation_from(&answer, 1000);
        assert_eq!(i.team_id.as_deref(), Some("T1"));
        assert_eq!(i.enterprise_id, None);
        assert_eq!(i.bot_token.as_deref(), Some("xoxe.xoxb-1"));
        assert_eq!(i.bot_token_expires_at, Some(44200));
        assert_eq!(i.user_token.as_deref(), Some("xoxp-1"));
        assert_eq!(i.user_token_expires_at, Some(1100));
        assert_eq!(i.user_id, "U1");
        assert!(!format!("{i:?}").contains("xoxp-1"));
        // Only user scopes: no bot.
        let user_only = json!({"ok": true, "token_type": "user", "access_token": "xoxp-2",
                               "authed_user": {"id": "U2", "access_token": "xoxp-2"}});
        assert_eq!(installation_from(&user_only, 0).bot_token, None);
    }

    #[test]
    fn cookies_and_queries_parse_and_pages_escape() {
        let r = AppRequest::get(
            "/x",
            vec![(
                "Cookie".into(),
                "a=1; slack-app-oauth-state=abc ; b=2".into(),
            )],
        );
        assert_eq!(cookie(&r, STATE_COOKIE), Some("abc"));
        assert_eq!(cookie(&r, "c"), None);
        let q = form_fields("code=a%2Bb+c&state=s&x");
        assert_eq!(query_get(&q, "code"), Some("a+b c"));
        assert_eq!(query_get(&q, "x"), Some(""));
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
