//! [`Installation`] and [`Bot`]: what an OAuth install leaves behind, as the stores keep it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One installation of the app: the workspace (or the whole Enterprise Grid organization, for
/// an org-wide install), the bot token and, when the app asks for user scopes, the installing
/// user's token. Built from `oauth.v2.access` and `auth.test` by the OAuth flow; saved by an
/// [`InstallationStore`](super::InstallationStore).
///
/// Rotating tokens come with a refresh token and an expiry (`*_expires_at`, Unix seconds);
/// [`InstallationAuthorizer`](super::InstallationAuthorizer) refreshes them before use.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Installation {
    /// The app's id (`A…`).
    pub app_id: Option<String>,
    /// The Enterprise Grid organization (`E…`), if any.
    pub enterprise_id: Option<String>,
    /// The organization's name.
    pub enterprise_name: Option<String>,
    /// The workspace (`T…`); `None` for an org-wide install.
    pub team_id: Option<String>,
    /// The workspace's name.
    pub team_name: Option<String>,
    /// The user who installed the app (`U…`).
    pub user_id: String,
    /// Whether the app was installed on the whole organization.
    pub is_enterprise_install: bool,
    /// The bot token (`xoxb-…`, or `xoxe.xoxb-…` when it rotates).
    pub bot_token: Option<String>,
    /// The bot's id (`B…`), from `auth.test`.
    pub bot_id: Option<String>,
    /// The bot's user id (`U…`).
    pub bot_user_id: Option<String>,
    /// The bot token's scopes, comma-separated as Slack sends them.
    pub bot_scopes: Option<String>,
    /// The bot token's refresh token (token rotation).
    pub bot_refresh_token: Option<String>,
    /// When the bot token expires, in Unix seconds (token rotation).
    pub bot_token_expires_at: Option<u64>,
    /// The installing user's token (`xoxp-…`), when the app asked for user scopes.
    pub user_token: Option<String>,
    /// The user token's scopes.
    pub user_scopes: Option<String>,
    /// The user token's refresh token (token rotation).
    pub user_refresh_token: Option<String>,
    /// When the user token expires, in Unix seconds (token rotation).
    pub user_token_expires_at: Option<u64>,
    /// The incoming webhook (`incoming_webhook` in `oauth.v2.access`), as Slack sent it.
    pub incoming_webhook: Option<Value>,
    /// When the app was installed, in Unix seconds.
    pub installed_at: u64,
    /// The store's version of this record: 1 when first saved, one more at each save. A
    /// rotated installation is saved only if the stored version is still the one that was
    /// read ([`InstallationStore::save_rotated`](super::InstallationStore::save_rotated)).
    pub version: u64,
}

impl std::fmt::Debug for Installation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("Installation")
            .field("app_id", &self.app_id)
            .field("enterprise_id", &self.enterprise_id)
            .field("team_id", &self.team_id)
            .field("user_id", &self.user_id)
            .field("is_enterprise_install", &self.is_enterprise_install)
            .field("bot_token", &hidden(&self.bot_token))
            .field("bot_id", &self.bot_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("bot_refresh_token", &hidden(&self.bot_refresh_token))
            .field("bot_token_expires_at", &self.bot_token_expires_at)
            .field("user_token", &hidden(&self.user_token))
            .field("user_refresh_token", &hidden(&self.user_refresh_token))
            .field("user_token_expires_at", &self.user_token_expires_at)
            .field("installed_at", &self.installed_at)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Installation {
    /// An installation for a workspace and the user who installed it (every other field
    /// empty): for tests and stores of your own.
    pub fn new(enterprise_id: Option<&str>, team_id: Option<&str>, user_id: &str) -> Installation {
        Installation {
            enterprise_id: enterprise_id.map(str::to_owned),
            team_id: team_id.map(str::to_owned),
            user_id: user_id.to_owned(),
            ..Installation::default()
        }
    }

    /// The bot part of this installation, when it has a bot token.
    pub fn bot(&self) -> Option<Bot> {
        Some(Bot {
            app_id: self.app_id.clone(),
            enterprise_id: self.enterprise_id.clone(),
            team_id: self.team_id.clone(),
            is_enterprise_install: self.is_enterprise_install,
            bot_token: self.bot_token.clone()?,
            bot_id: self.bot_id.clone(),
            bot_user_id: self.bot_user_id.clone(),
            bot_scopes: self.bot_scopes.clone(),
            bot_refresh_token: self.bot_refresh_token.clone(),
            bot_token_expires_at: self.bot_token_expires_at,
            installed_at: self.installed_at,
        })
    }

    /// The store key: `(enterprise_id or "", team_id or "")`, the team left out for an
    /// org-wide install (it is installed on every workspace of the organization).
    pub(crate) fn key(&self) -> (String, String) {
        workspace_key(
            self.enterprise_id.as_deref(),
            self.team_id.as_deref(),
            self.is_enterprise_install,
        )
    }

    /// Copies the bot fields of `other` (the workspace's bot is one bot, whoever installed).
    pub(crate) fn copy_bot_from(&mut self, other: &Installation) {
        self.bot_token.clone_from(&other.bot_token);
        self.bot_id.clone_from(&other.bot_id);
        self.bot_user_id.clone_from(&other.bot_user_id);
        self.bot_scopes.clone_from(&other.bot_scopes);
        self.bot_refresh_token.clone_from(&other.bot_refresh_token);
        self.bot_token_expires_at = other.bot_token_expires_at;
    }

    /// Removes the bot fields (the bot token was revoked).
    pub(crate) fn clear_bot(&mut self) {
        self.bot_token = None;
        self.bot_refresh_token = None;
        self.bot_token_expires_at = None;
    }
}

/// The store key of a workspace: `(enterprise_id or "", team_id or "")`, the team left out
/// for an org-wide install.
pub(crate) fn workspace_key(
    enterprise_id: Option<&str>,
    team_id: Option<&str>,
    is_enterprise_install: bool,
) -> (String, String) {
    let team = if is_enterprise_install {
        ""
    } else {
        team_id.unwrap_or_default()
    };
    (
        enterprise_id.unwrap_or_default().to_owned(),
        team.to_owned(),
    )
}

/// The bot of an installation: what a request needs to act as the app in that workspace.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bot {
    /// The app's id.
    pub app_id: Option<String>,
    /// The Enterprise Grid organization, if any.
    pub enterprise_id: Option<String>,
    /// The workspace; `None` for an org-wide install.
    pub team_id: Option<String>,
    /// Whether the app was installed on the whole organization.
    pub is_enterprise_install: bool,
    /// The bot token.
    pub bot_token: String,
    /// The bot's id (`B…`).
    pub bot_id: Option<String>,
    /// The bot's user id (`U…`).
    pub bot_user_id: Option<String>,
    /// The bot token's scopes.
    pub bot_scopes: Option<String>,
    /// The refresh token (token rotation).
    pub bot_refresh_token: Option<String>,
    /// When the bot token expires, in Unix seconds (token rotation).
    pub bot_token_expires_at: Option<u64>,
    /// When the app was installed, in Unix seconds.
    pub installed_at: u64,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("app_id", &self.app_id)
            .field("enterprise_id", &self.enterprise_id)
            .field("team_id", &self.team_id)
            .field("is_enterprise_install", &self.is_enterprise_install)
            .field("bot_token", &"<redacted>")
            .field("bot_id", &self.bot_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("bot_token_expires_at", &self.bot_token_expires_at)
            .finish_non_exhaustive()
    }
}

pub(crate) use crate::app::signature::unix_now;
