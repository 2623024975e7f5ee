//! The fake's OAuth v2 side: Slack's authorize page (`/oauth/v2/authorize`, an approval page
//! whose buttons redirect to the app with `code` and `state`, or `error=access_denied`),
//! `oauth.v2.access` for codes and refresh tokens, tokens that expire on a clock the test
//! controls, `auth.test` per token and `apps.uninstall`.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::oauth_state::{Grant, OAuthInstall, TokenInfo, CODE_TTL};
use super::state::{Shared, BOT_ID};
use super::wire::{Head, Response};
use super::{FakeSlack, FAKE_APP_ID};
use crate::app::signature::unix_now;

const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY_SET).to_string()
}

fn dec(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (dec(k), dec(v))
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(status: u16, title: &str, body: &str) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body: format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
             <link rel=\"icon\" href=\"data:,\"></head><body><h1>{title}</h1>{body}</body></html>\n"
        ),
        content_type: "text/html; charset=utf-8",
    }
}

fn redirect(location: String) -> Response {
    Response {
        status: 302,
        headers: vec![("Location".to_owned(), location)],
        body: String::new(),
        content_type: "text/html; charset=utf-8",
    }
}

/// What the authorize page decides: an error page, or the approval page's fields.
fn check_authorize(shared: &Shared, q: &HashMap<String, String>) -> Result<Grant, String> {
    let state = shared.lock();
    let o = &state.oauth;
    let client_id = q.get("client_id").map(String::as_str).unwrap_or_default();
    if client_id != o.client_id {
        return Err(format!(
            "invalid_client_id: {client_id:?} is not this app's client id"
        ));
    }
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return Err(
            "bad_redirect_uri: the fake has no app configuration; send redirect_uri".to_owned(),
        );
    }
    let scope = q.get("scope").cloned().unwrap_or_default();
    let user_scope = q.get("user_scope").cloned().unwrap_or_default();
    if scope.is_empty() && user_scope.is_empty() {
        return Err("invalid_scope: no scope or user_scope".to_owned());
    }
    let mut install = o
        .install
        .clone()
        .unwrap_or_else(|| OAuthInstall::team(&shared.config.team_id, &shared.config.team_name));
    if let Some(team) = q.get("team").filter(|t| !t.is_empty()) {
        if *team != install.team_id {
            install.team_name = format!("Workspace {team}");
            install.team_id = team.clone();
        }
    }
    Ok(Grant {
        install,
        scope,
        user_scope,
        redirect_uri,
        issued: 0,
    })
}

/// `GET /oauth/v2/authorize` (the approval page) and `GET /oauth/v2/authorize/decide` (its
/// buttons).
pub(crate) fn page(shared: &Shared, head: &Head) -> Response {
    let q = parse_query(&head.query);
    match head.path.as_str() {
        "/oauth/v2/authorize" => {
            let grant = match check_authorize(shared, &q) {
                Ok(grant) => grant,
                Err(why) => {
                    return html(
                        400,
                        "Something went wrong",
                        &format!("<p>{}</p>", esc(&why)),
                    )
                }
            };
            let hidden: String = [
                "client_id",
                "scope",
                "user_scope",
                "redirect_uri",
                "state",
                "team",
            ]
            .iter()
            .filter_map(|k| q.get(*k).map(|v| (k, v)))
            .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
            .collect();
            html(
                200,
                "Fake Slack is requesting permission",
                &format!(
                    "<p>An app wants to be installed in <b id=\"team\">{}</b> ({}) by {}.</p>\
                     <p>Bot scopes: <code>{}</code>; user scopes: <code>{}</code></p>\
                     <form method=\"get\" action=\"/oauth/v2/authorize/decide\">{hidden}\
                     <button id=\"approve\" name=\"decision\" value=\"allow\">Allow</button> \
                     <button id=\"deny\" name=\"decision\" value=\"deny\">Cancel</button></form>",
                    esc(&grant.install.team_name),
                    esc(&grant.install.team_id),
                    esc(&grant.install.user_id),
                    esc(&grant.scope),
                    esc(&grant.user_scope),
                ),
            )
        }
        "/oauth/v2/authorize/decide" => match decide(shared, &q) {
            Ok(location) => redirect(location),
            Err(why) => html(
                400,
                "Something went wrong",
                &format!("<p>{}</p>", esc(&why)),
            ),
        },
        _ => html(404, "Not found", "<p>No such page.</p>"),
    }
}

/// The redirect an approval (`decision=allow`) or a denial makes.
fn decide(shared: &Shared, q: &HashMap<String, String>) -> Result<String, String> {
    let mut grant = check_authorize(shared, q)?;
    let state = q
        .get("state")
        .map(|s| format!("&state={}", enc(s)))
        .unwrap_or_default();
    let sep = if grant.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    if q.get("decision").map(String::as_str) != Some("allow") {
        return Ok(format!(
            "{}{sep}error=access_denied{state}",
            grant.redirect_uri
        ));
    }
    let code = format!("{:x}.{:x}", unix_now(), rand::random::<u64>());
    let location = format!("{}{sep}code={}{state}", grant.redirect_uri, enc(&code));
    {
        let mut st = shared.lock();
        grant.issued = st.oauth.now();
        st.oauth.codes.insert(code, grant);
    }
    shared.notify();
    Ok(location)
}

/// Whether the fake issued `token` with `oauth.v2.access` (such tokens are accepted whatever
/// [`super::FakeSlackBuilder::token`] says).
pub(crate) fn issued(shared: &Shared, token: &str) -> bool {
    shared.lock().oauth.tokens.contains_key(token)
}

fn error(code: &str) -> Response {
    Response::json(200, &json!({ "ok": false, "error": code }))
}

fn ok(value: Value) -> Response {
    Response::json(200, &value)
}

/// The app's credentials: HTTP Basic, else `client_id`/`client_secret` parameters.
fn client_credentials(head: &Head, params: &Map<String, Value>) -> (String, String) {
    let basic = head
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    basic.unwrap_or_else(|| {
        let p = |k: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        (p("client_id"), p("client_secret"))
    })
}

/// The OAuth methods, and the per-token answers for tokens the fake issued: `None` lets the
/// ordinary method run.
pub(crate) fn api(
    shared: &Shared,
    head: &Head,
    method: &str,
    params: &Map<String, Value>,
    token: Option<&str>,
) -> Option<Response> {
    match method {
        "oauth.v2.access" => return Some(access(shared, head, params)),
        "apps.uninstall" => return Some(uninstall(shared, head, params, token)),
        _ => {}
    }
    let token = token?;
    let st = shared.lock();
    let info = st.oauth.tokens.get(token)?;
    if info.revoked {
        return Some(error("token_revoked"));
    }
    if info.expires_at.is_some_and(|at| st.oauth.now() >= at) {
        return Some(error("token_expired"));
    }
    if method != "auth.test" {
        return None;
    }
    let i = &info.install;
    let mut answer = json!({
        "ok": true,
        "url": format!("https://{}.fake.slack.com/", i.team_id.to_ascii_lowercase()),
        "team": i.team_name,
        "user": if info.user { "fakeuser" } else { shared.config.bot_user_name.as_str() },
        "team_id": i.team_id,
        "user_id": if info.user { i.user_id.as_str() } else { shared.config.bot_user_id.as_str() },
        "is_enterprise_install": i.is_enterprise_install,
    });
    if !info.user {
        answer["bot_id"] = Value::from(BOT_ID);
    }
    if let Some(e) = &i.enterprise_id {
        answer["enterprise_id"] = Value::from(e.as_str());
    }
    Some(ok(answer))
}

fn access(shared: &Shared, head: &Head, params: &Map<String, Value>) -> Response {
    let (id, secret) = client_credentials(head, params);
    let p = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut st = shared.lock();
    let o = &mut st.oauth;
    if id != o.client_id {
        return error("invalid_client_id");
    }
    if secret != o.client_secret {
        return error("bad_client_secret");
    }
    if p("grant_type") == "refresh_token" {
        let Some(info) = o.refresh.get(p("refresh_token")).cloned() else {
            return error("invalid_refresh_token");
        };
        o.refreshes += 1;
        let (token, _, expires_in) = o.issue(info.clone());
        let i = &info.install;
        let mut answer = json!({
            "ok": true,
            "app_id": FAKE_APP_ID,
            "access_token": token,
            "token_type": if info.user { "user" } else { "bot" },
            "scope": info.scope,
            // Slack keeps the refresh token.
            "refresh_token": p("refresh_token"),
            "expires_in": expires_in,
            "team": if i.is_enterprise_install { Value::Null } else { json!({"id": i.team_id, "name": i.team_name}) },
            "enterprise": i.enterprise_id.as_ref().map_or(Value::Null, |e| json!({"id": e, "name": "Fake Org"})),
            "is_enterprise_install": i.is_enterprise_install,
        });
        if !info.user {
            answer["bot_user_id"] = Value::from(shared.config.bot_user_id.as_str());
        }
        return ok(answer);
    }
    let now = o.now();
    let grant = match o.codes.remove(p("code")) {
        Some(g) if now.saturating_sub(g.issued) < CODE_TTL => g,
        _ => return error("invalid_code"),
    };
    let redirect_uri = p("redirect_uri");
    if !redirect_uri.is_empty() && redirect_uri != grant.redirect_uri {
        return error("bad_redirect_uri");
    }
    let i = grant.install.clone();
    let mut answer = json!({
        "ok": true,
        "app_id": FAKE_APP_ID,
        "team": if i.is_enterprise_install { Value::Null } else { json!({"id": i.team_id, "name": i.team_name}) },
        "enterprise": i.enterprise_id.as_ref().map_or(Value::Null, |e| json!({"id": e, "name": "Fake Org"})),
        "is_enterprise_install": i.is_enterprise_install,
        "authed_user": {"id": i.user_id},
    });
    if !grant.scope.is_empty() {
        let (token, refresh, expires_in) = o.issue(TokenInfo {
            user: false,
            install: i.clone(),
            scope: grant.scope.clone(),
            expires_at: None,
            revoked: false,
        });
        answer["access_token"] = Value::from(token);
        answer["token_type"] = Value::from("bot");
        answer["scope"] = Value::from(grant.scope.as_str());
        answer["bot_user_id"] = Value::from(shared.config.bot_user_id.as_str());
        if let (Some(r), Some(e)) = (refresh, expires_in) {
            answer["refresh_token"] = Value::from(r);
            answer["expires_in"] = Value::from(e);
        }
    }
    if !grant.user_scope.is_empty() {
        let (token, refresh, expires_in) = o.issue(TokenInfo {
            user: true,
            install: i,
            scope: grant.user_scope.clone(),
            expires_at: None,
            revoked: false,
        });
        let user = &mut answer["authed_user"];
        user["access_token"] = Value::from(token);
        user["token_type"] = Value::from("user");
        user["scope"] = Value::from(grant.user_scope.as_str());
        if let (Some(r), Some(e)) = (refresh, expires_in) {
            user["refresh_token"] = Value::from(r);
            user["expires_in"] = Value::from(e);
        }
    }
    ok(answer)
}

fn uninstall(
    shared: &Shared,
    head: &Head,
    params: &Map<String, Value>,
    token: Option<&str>,
) -> Response {
    let (id, secret) = {
        let p = |k: &str| {
            params
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (id, secret) = (p("client_id"), p("client_secret"));
        if id.is_empty() {
            client_credentials(head, params)
        } else {
            (id, secret)
        }
    };
    let mut st = shared.lock();
    let o = &mut st.oauth;
    if id != o.client_id || secret != o.client_secret {
        return error("invalid_client_id");
    }
    let Some(token) = token else {
        return error("not_authed");
    };
    let Some(info) = o.tokens.get(token).cloned() else {
        return error("invalid_auth");
    };
    let team = info.install.team_id;
    for t in o.tokens.values_mut().filter(|t| t.install.team_id == team) {
        t.revoked = true;
    }
    o.refresh.retain(|_, t| t.install.team_id != team);
    ok(json!({ "ok": true }))
}

impl FakeSlack {
    /// The fake's authorize page, `http://127.0.0.1:PORT/oauth/v2/authorize`: give it to the
    /// app as Slack's authorize URL. It shows an approval page (`Allow` and `Cancel` buttons,
    /// ids `approve` and `deny`) that redirects to the `redirect_uri` with `code` and `state`,
    /// or `error=access_denied`. It needs `client_id` ([`FAKE_CLIENT_ID`](super::FAKE_CLIENT_ID) unless
    /// [`set_oauth_client`](FakeSlack::set_oauth_client)), `redirect_uri` and a scope.
    pub fn authorize_url(&self) -> String {
        let scheme = if self.shared.config.tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/oauth/v2/authorize", self.shared.config.addr)
    }

    /// The app's client id and secret, which `oauth.v2.access` and the authorize page check.
    /// Defaults to [`FAKE_CLIENT_ID`](super::FAKE_CLIENT_ID) and [`FAKE_CLIENT_SECRET`](super::FAKE_CLIENT_SECRET).
    pub fn set_oauth_client(&self, client_id: &str, client_secret: &str) {
        let mut st = self.shared.lock();
        st.oauth.client_id = client_id.to_owned();
        st.oauth.client_secret = client_secret.to_owned();
    }

    /// Token rotation: tokens issued from now on expire after `expires_in` (on the fake's
    /// clock, [`advance_oauth_clock`](FakeSlack::advance_oauth_clock)) and come with a
    /// refresh token; `None` (the default) issues tokens that never expire. Slack's rotating
    /// tokens last 12 hours.
    pub fn set_token_rotation(&self, expires_in: Option<Duration>) {
        self.shared.lock().oauth.rotation = expires_in.map(|d| d.as_secs().max(1));
    }

    /// Moves the fake's OAuth clock forward: issued tokens whose expiry has passed answer
    /// `token_expired` to every method.
    pub fn advance_oauth_clock(&self, by: Duration) {
        self.shared.lock().oauth.clock_offset += by.as_secs();
    }

    /// Where approvals install the app from now on. Defaults to the fake's workspace
    /// ([`FakeSlackBuilder::team`](super::FakeSlackBuilder::team)), approved by
    /// [`FAKE_USER_ID`](super::FAKE_USER_ID).
    pub fn set_oauth_install(&self, install: OAuthInstall) {
        self.shared.lock().oauth.install = Some(install);
    }

    /// What the approval page's `Allow` button does, without a browser: the URL the browser
    /// is redirected to (the app's `redirect_uri` with `code` and `state`). `Err` with the
    /// page's reason when the authorize URL is refused (unknown client id, no redirect URI,
    /// no scope).
    pub fn approve(&self, authorize_url: &str) -> Result<String, String> {
        let mut q = parse_query(authorize_url.split_once('?').map_or("", |(_, q)| q));
        q.insert("decision".into(), "allow".into());
        decide(&self.shared, &q)
    }

    /// What the `Cancel` button does: the redirect with `error=access_denied`.
    pub fn deny(&self, authorize_url: &str) -> Result<String, String> {
        let mut q = parse_query(authorize_url.split_once('?').map_or("", |(_, q)| q));
        q.insert("decision".into(), "deny".into());
        decide(&self.shared, &q)
    }

    /// How many refreshes (`oauth.v2.access` with `grant_type=refresh_token`) succeeded.
    pub fn token_refreshes(&self) -> usize {
        self.shared.lock().oauth.refreshes
    }

    /// Revokes one issued token: it answers `token_revoked` from now on.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.shared.lock().oauth.tokens.get_mut(token) {
            t.revoked = true;
        }
    }
}
