//! Many workspaces: Slack's OAuth v2 install flow, the stores of installations and OAuth
//! states, and per-request authorization with token rotation (Bolt's `OAuthSettings`,
//! `InstallationStore`, `TokenRotator`).
//!
//! - [`OAuthSettings`] and [`OAuthFlow`]: the install page (`/slack/install`: an "Add to
//!   Slack" page, or a `302` to Slack with [`OAuthSettings::direct_install`]) and the redirect
//!   (`/slack/oauth_redirect`). The `state` is random and single-use, bound to the browser by
//!   the `slack-app-oauth-state` cookie (`HttpOnly; Secure; SameSite=Lax; Max-Age=600`) and
//!   consumed from an [`OAuthStateStore`]; the code is exchanged with `oauth.v2.access`,
//!   `auth.test` gives the bot id, and the [`Installation`] is saved. Every failure is a page
//!   with its status ([`OAuthFailure`]).
//! - [`InstallationStore`] and [`OAuthStateStore`], with [`MemoryStore`], [`JsonFileStore`]
//!   and `SqliteStore` (feature `sqlite`, several processes on one host).
//! - [`InstallationAuthorizer`]: each request's tokens, refreshed before they expire, once per
//!   workspace however many requests race; [`handle_token_revocation`] for `tokens_revoked`
//!   and `app_uninstalled`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use slack_rtm::app::oauth::{JsonFileStore, OAuthFlow, OAuthSettings};
//! use slack_rtm::app::AppRequest;
//!
//! let flow = OAuthFlow::new(
//!     OAuthSettings::new("123.456", "client-secret")
//!         .scopes(&["chat:write", "commands"])
//!         .store(Arc::new(JsonFileStore::new("installations.json"))),
//! )?;
//! // In any HTTP server: hand it the GET requests; `None` means "not an OAuth path".
//! let page = flow.handle(&AppRequest::get("/slack/install", vec![]));
//! assert_eq!(page.map(|p| p.status), Some(200));
//! // Per request: the workspace's tokens.
//! let installation = flow.authorizer().authorize(None, Some("T0123"), Some("U0123"), false)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod authorize;
mod flow;
mod installation;
mod memory;
mod receiver;
#[cfg(feature = "sqlite")]
mod sqlite;
pub(crate) mod store;

pub use authorize::{
    handle_token_revocation, AuthorizeError, InstallationAuthorizer, DEFAULT_ROTATION_WINDOW,
};
pub use flow::{OAuthFailure, OAuthFlow, OAuthSettings, DEFAULT_AUTHORIZE_URL, STATE_COOKIE};
pub use installation::{Bot, Installation};
pub use memory::{JsonFileStore, MemoryStore};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
pub use store::{InstallationStore, OAuthStateStore, StoreError, DEFAULT_STATE_EXPIRY};
