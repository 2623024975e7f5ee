//! [`InstallationAuthorizer`]: each request's tokens from the installation store, rotated
//! before they expire; and the clean-up on `tokens_revoked` / `app_uninstalled`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use log::{info, warn};
use serde_json::{json, Value};

use super::installation::{unix_now, Installation};
use super::store::{key, InstallationStore, Key, StoreError};
use crate::error::Error;
use crate::web::WebClient;

/// Refresh a rotating token when it expires within this window: 120 minutes, as Bolt.
pub const DEFAULT_ROTATION_WINDOW: Duration = Duration::from_secs(120 * 60);

/// Why a request could not be authorized.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// No installation for the workspace: the app must be (re)installed there.
    NotInstalled {
        /// The organization of the request.
        enterprise_id: Option<String>,
        /// The workspace of the request.
        team_id: Option<String>,
    },
    /// Refreshing a rotating token failed; `code` is Slack's error (`invalid_refresh_token`,
    /// …) or the transport's.
    Rotation {
        /// Slack's error code, or `network` when Slack was not reached.
        code: String,
        /// The Web API error.
        source: Box<Error>,
    },
    /// The installation store failed.
    Store(StoreError),
}

impl fmt::Display for AuthorizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorizeError::NotInstalled {
                enterprise_id,
                team_id,
            } => write!(
                f,
                "no installation for workspace {} (enterprise {}): please reinstall the app",
                team_id.as_deref().unwrap_or("-"),
                enterprise_id.as_deref().unwrap_or("-")
            ),
            AuthorizeError::Rotation { code, .. } => {
                write!(f, "token rotation failed: oauth.v2.access answered {code}")
            }
            AuthorizeError::Store(e) => write!(f, "installation store: {e}"),
        }
    }
}

impl std::error::Error for AuthorizeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthorizeError::NotInstalled { .. } => None,
            AuthorizeError::Rotation { source, .. } => Some(source.as_ref()),
            AuthorizeError::Store(e) => Some(e),
        }
    }
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        AuthorizeError::Store(e)
    }
}

/// Finds each request's installation in an [`InstallationStore`] and refreshes its rotating
/// tokens before they expire: the App's `authorize` step for an app that many workspaces
/// installed. `Send + Sync`; share it behind an `Arc`.
///
/// **Rotation.** A bot or user token whose `*_expires_at` falls within the window (default
/// 120 minutes) is refreshed with `oauth.v2.access` (`grant_type=refresh_token`) and the new
/// tokens are saved before use. Requests for one workspace that race refresh **once** (they
/// wait for the first, then re-read). Between processes or hosts, the save is a
/// compare-and-swap ([`InstallationStore::save_rotated`]): the loser re-reads and uses the
/// winner's token. A failed refresh is [`AuthorizeError::Rotation`] with Slack's error.
pub struct InstallationAuthorizer {
    store: Arc<dyn InstallationStore>,
    client_id: String,
    client_secret: String,
    client: Option<WebClient>,
    window: Duration,
    rotation: bool,
    /// One lock per workspace being refreshed.
    refreshing: Mutex<HashMap<Key, Arc<Mutex<()>>>>,
}

impl fmt::Debug for InstallationAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationAuthorizer")
            .field("client_id", &self.client_id)
            .field("window", &self.window)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A map of locks, or a unit: valid after any panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl InstallationAuthorizer {
    /// An authorizer over `store`, refreshing tokens as the app `client_id` with
    /// `client_secret`.
    pub fn new(
        store: Arc<dyn InstallationStore>,
        client_id: &str,
        client_secret: &str,
    ) -> InstallationAuthorizer {
        InstallationAuthorizer {
            store,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            client: None,
            window: DEFAULT_ROTATION_WINDOW,
            rotation: true,
            refreshing: Mutex::new(HashMap::new()),
        }
    }

    /// The network setup for `oauth.v2.access` (its own token is not sent).
    ///
    /// Defaults to [`WebClient::builder_without_token`] with its defaults.
    #[must_use]
    pub fn web_client(mut self, client: WebClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Refresh tokens that expire within this window.
    ///
    /// Defaults to 120 minutes ([`DEFAULT_ROTATION_WINDOW`]).
    #[must_use]
    pub fn rotation_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Whether rotating tokens are refreshed at all.
    ///
    /// Defaults to `true`.
    #[must_use]
    pub fn token_rotation(mut self, yes: bool) -> Self {
        self.rotation = yes;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn InstallationStore> {
        &self.store
    }

    /// The installation for a request from this workspace and user, with fresh tokens: the
    /// workspace's latest installation (its bot token), with the user's own user token when
    /// that user installed the app too. `is_enterprise_install` comes from the request; an
    /// organization's request also finds an org-wide install.
    pub fn authorize(
        &self,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        user_id: Option<&str>,
        is_enterprise_install: bool,
    ) -> Result<Installation, AuthorizeError> {
        let mut org_wide = is_enterprise_install;
        let mut found = self
            .store
            .find_installation(enterprise_id, team_id, None, org_wide)?;
        if found.is_none() && enterprise_id.is_some() && !org_wide {
            org_wide = true;
            found = self
                .store
                .find_installation(enterprise_id, team_id, None, true)?;
        }
        let Some(found) = found else {
            warn!(
                "authorize: no installation for {} (enterprise {}): please reinstall",
                team_id.unwrap_or("-"),
                enterprise_id.unwrap_or("-")
            );
            return Err(AuthorizeError::NotInstalled {
                enterprise_id: enterprise_id.map(str::to_owned),
                team_id: team_id.map(str::to_owned),
            });
        };
        let mut installation = self.fresh(found, enterprise_id, team_id, None, org_wide)?;
        if let Some(user) = user_id.filter(|u| *u != installation.user_id) {
            if let Some(own) = self
                .store
                .find_installation(enterprise_id, team_id, Some(user), org_wide)?
                .filter(|own| own.user_token.is_some())
            {
                let own = self.fresh(own, enterprise_id, team_id, Some(user), org_wide)?;
                installation.user_id = own.user_id;
                installation.user_token = own.user_token;
                installation.user_scopes = own.user_scopes;
                installation.user_refresh_token = own.user_refresh_token;
                installation.user_token_expires_at = own.user_token_expires_at;
            }
        }
        Ok(installation)
    }

    fn expiring(&self, installation: &Installation) -> bool {
        if !self.rotation {
            return false;
        }
        let limit = unix_now().saturating_add(self.window.as_secs());
        let soon = |at: Option<u64>, refresh: &Option<String>| {
            refresh.is_some() && at.is_some_and(|at| at <= limit)
        };
        soon(
            installation.bot_token_expires_at,
            &installation.bot_refresh_token,
        ) || soon(
            installation.user_token_expires_at,
            &installation.user_refresh_token,
        )
    }

    /// `read` with fresh tokens: refreshed once per workspace in this process, saved with a
    /// compare-and-swap, re-read when another writer won.
    fn fresh(
        &self,
        read: Installation,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        user_id: Option<&str>,
        org_wide: bool,
    ) -> Result<Installation, AuthorizeError> {
        if !self.expiring(&read) {
            return Ok(read);
        }
        let gate = {
            let mut map = lock(&self.refreshing);
            map.entry(key(enterprise_id, team_id, org_wide))
                .or_default()
                .clone()
        };
        let _one_at_a_time = lock(&gate);
        let find = || {
            self.store
                .find_installation(enterprise_id, team_id, user_id, org_wide)
        };
        // Another request (or process) may have refreshed while this one waited.
        let current = find()?.unwrap_or(read);
        if !self.expiring(&current) {
            return Ok(current);
        }
        let rotated = self.refresh(&current)?;
        if self.store.save_rotated(&rotated, current.version)? {
            info!(
                "authorize: rotated the tokens of {} (enterprise {})",
                team_id.unwrap_or("-"),
                enterprise_id.unwrap_or("-")
            );
            let mut rotated = rotated;
            rotated.version = current.version + 1;
            return Ok(rotated);
        }
        // Lost the compare-and-swap: the winner's tokens are in the store.
        info!(
            "authorize: another process rotated {} first; using its tokens",
            team_id.unwrap_or("-")
        );
        Ok(find()?.unwrap_or(rotated))
    }

    /// The installation with its expiring tokens refreshed (not saved).
    fn refresh(&self, current: &Installation) -> Result<Installation, AuthorizeError> {
        let client = match &self.client {
            Some(c) => c.clone(),
            None => WebClient::builder_without_token()
                .build()
                .map_err(|e| rotation_error("config", e))?,
        };
        let limit = unix_now().saturating_add(self.window.as_secs());
        let mut rotated = current.clone();
        let due = |at: Option<u64>| at.is_some_and(|at| at <= limit);
        if let (Some(refresh), true) = (
            current.bot_refresh_token.as_deref(),
            due(current.bot_token_expires_at),
        ) {
            let answer = self.call(&client, refresh)?;
            rotated.bot_token = answer.0;
            rotated.bot_refresh_token = answer.1.or(rotated.bot_refresh_token);
            rotated.bot_token_expires_at = answer.2;
        }
        if let (Some(refresh), true) = (
            current.user_refresh_token.as_deref(),
            due(current.user_token_expires_at),
        ) {
            let answer = self.call(&client, refresh)?;
            rotated.user_token = answer.0;
            rotated.user_refresh_token = answer.1.or(rotated.user_refresh_token);
            rotated.user_token_expires_at = answer.2;
        }
        Ok(rotated)
    }

    /// One refresh: the new access token, refresh token and expiry.
    #[allow(clippy::type_complexity)] // reason: a private triple, named at its two uses
    fn call(
        &self,
        client: &WebClient,
        refresh_token: &str,
    ) -> Result<(Option<String>, Option<String>, Option<u64>), AuthorizeError> {
        let now = unix_now();
        let answer = client
            .oauth_v2_access(
                &self.client_id,
                &self.client_secret,
                &json!({"grant_type": "refresh_token", "refresh_token": refresh_token}),
            )
            .map_err(|e| {
                let code = match &e {
                    Error::Api { code, .. } => code.clone(),
                    _ => "network".to_owned(),
                };
                warn!("authorize: token rotation failed: {code}");
                rotation_error(&code, e)
            })?;
        let s = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        let token = s("access_token");
        if token.is_none() {
            return Err(rotation_error(
                "invalid_response",
                Error::Config("oauth.v2.access answered no access_token".into()),
            ));
        }
        Ok((
            token,
            s("refresh_token"),
            answer
                .get("expires_in")
                .and_then(Value::as_u64)
                .map(|secs| now + secs),
        ))
    }
}

fn rotation_error(code: &str, source: Error) -> AuthorizeError {
    AuthorizeError::Rotation {
        code: code.to_owned(),
        source: Box::new(source),
    }
}

/// The workspace an Events API body is about: `(enterprise_id, team_id,
/// is_enterprise_install)`, from its first `authorizations` entry, else its top-level fields.
fn workspace_of(body: &Value) -> (Option<&str>, Option<&str>, bool) {
    let auth = body
        .get("authorizations")
        .and_then(|a| a.get(0))
        .unwrap_or(&Value::Null);
    let pick = |k: &str| {
        auth.get(k)
            .and_then(Value::as_str)
            .or_else(|| body.get(k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
    };
    let org_wide = auth
        .get("is_enterprise_install")
        .or_else(|| body.get("is_enterprise_install"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (pick("enterprise_id"), pick("team_id"), org_wide)
}

/// Deletes what a `tokens_revoked` or `app_uninstalled` event (the whole Events API body,
/// `event_callback`) names: `app_uninstalled` → everything of the workspace
/// ([`InstallationStore::delete_all`]); `tokens_revoked` → the installations of the users in
/// `tokens.oauth` and, when `tokens.bot` is not empty, the bot. Returns whether the body was
/// such an event. Bolt's `enable_token_revocation_listeners`.
pub fn handle_token_revocation(
    store: &dyn InstallationStore,
    body: &Value,
) -> Result<bool, StoreError> {
    let event = body.get("event").unwrap_or(&Value::Null);
    let (enterprise_id, team_id, org_wide) = workspace_of(body);
    match event.get("type").and_then(Value::as_str) {
        Some("app_uninstalled") => {
            info!(
                "app_uninstalled: deleting every installation of {} (enterprise {})",
                team_id.unwrap_or("-"),
                enterprise_id.unwrap_or("-")
            );
            store.delete_all(enterprise_id, team_id, org_wide)?;
            Ok(true)
        }
        Some("tokens_revoked") => {
            let tokens = event.get("tokens").unwrap_or(&Value::Null);
            let ids = |k: &str| -> Vec<&str> {
                tokens
                    .get(k)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default()
            };
            for user in ids("oauth") {
                store.delete_installation(enterprise_id, team_id, Some(user), org_wide)?;
            }
            if !ids("bot").is_empty() {
                store.delete_bot(enterprise_id, team_id, org_wide)?;
            }
            info!(
                "tokens_revoked: deleted the revoked tokens of {}",
                team_id.unwrap_or("-")
            );
            Ok(true)
        }
        _ => Ok(false),
    }
}

impl From<Installation> for crate::app::Authorization {
    /// The tokens and ids an installation gives a request.
    fn from(i: Installation) -> Self {
        crate::app::Authorization {
            bot_token: i.bot_token,
            bot_id: i.bot_id,
            bot_user_id: i.bot_user_id,
            team_id: i.team_id,
            enterprise_id: i.enterprise_id,
            user_token: i.user_token,
            user_id: (!i.user_id.is_empty()).then_some(i.user_id),
            is_enterprise_install: i.is_enterprise_install,
        }
    }
}
