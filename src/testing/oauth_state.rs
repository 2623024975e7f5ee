//! The fake's OAuth records (no I/O, no server state): the app's credentials, the codes the
//! approval page issued, the tokens `oauth.v2.access` issued, and the test's clock.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The user who approves installs: the fake's first person (`FAKE_USER_ID`).
const INSTALLER: &str = "U0FAKEUSR1";

/// The client id the fake's app has (see [`FakeSlack::set_oauth_client`](super::FakeSlack::set_oauth_client)).
pub const FAKE_CLIENT_ID: &str = "1111111111.2222222222";
/// The client secret the fake's app has.
pub const FAKE_CLIENT_SECRET: &str = "fake-client-secret";
/// How long a code from the authorize page can be exchanged: 10 minutes, as Slack.
pub(crate) const CODE_TTL: u64 = 600;

/// Where approvals install the app (see [`FakeSlack::set_oauth_install`](super::FakeSlack::set_oauth_install)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthInstall {
    /// The workspace (`T…`); an authorize URL's `team` parameter overrides it.
    pub team_id: String,
    /// The workspace's name.
    pub team_name: String,
    /// The Enterprise Grid organization, if any.
    pub enterprise_id: Option<String>,
    /// An org-wide install (the answer's `team` is then `null`).
    pub is_enterprise_install: bool,
    /// The approving user.
    pub user_id: String,
}

impl OAuthInstall {
    /// Installs into this workspace, approved by `U0FAKEUSR1` ([`FAKE_USER_ID`](super::FAKE_USER_ID)).
    pub fn team(team_id: &str, team_name: &str) -> OAuthInstall {
        OAuthInstall {
            team_id: team_id.to_owned(),
            team_name: team_name.to_owned(),
            enterprise_id: None,
            is_enterprise_install: false,
            user_id: INSTALLER.to_owned(),
        }
    }

    /// In this Enterprise Grid organization; `org_wide` for an org-wide install.
    pub fn enterprise(mut self, enterprise_id: &str, org_wide: bool) -> OAuthInstall {
        self.enterprise_id = Some(enterprise_id.to_owned());
        self.is_enterprise_install = org_wide;
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub(crate) install: OAuthInstall,
    pub(crate) scope: String,
    pub(crate) user_scope: String,
    pub(crate) redirect_uri: String,
    pub(crate) issued: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct TokenInfo {
    pub(crate) user: bool,
    pub(crate) install: OAuthInstall,
    pub(crate) scope: String,
    pub(crate) expires_at: Option<u64>,
    pub(crate) revoked: bool,
}

/// The OAuth state of one fake server.
#[derive(Debug)]
pub(crate) struct OAuthState {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// `expires_in` of new tokens; `None`: tokens that never expire (no rotation).
    pub(crate) rotation: Option<u64>,
    pub(crate) clock_offset: u64,
    pub(crate) install: Option<OAuthInstall>,
    pub(crate) codes: HashMap<String, Grant>,
    pub(crate) tokens: HashMap<String, TokenInfo>,
    /// Refresh token → the access token it refreshes (kind, workspace, scope).
    pub(crate) refresh: HashMap<String, TokenInfo>,
    pub(crate) refreshes: usize,
}

impl Default for OAuthState {
    fn default() -> Self {
        OAuthState {
            client_id: FAKE_CLIENT_ID.to_owned(),
            client_secret: FAKE_CLIENT_SECRET.to_owned(),
            rotation: None,
            clock_offset: 0,
            install: None,
            codes: HashMap::new(),
            tokens: HashMap::new(),
            refresh: HashMap::new(),
            refreshes: 0,
        }
    }
}

impl OAuthState {
    pub(crate) fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + self.clock_offset
    }

    /// A fresh access token (and its refresh token, when tokens rotate) for `info`.
    pub(crate) fn issue(&mut self, mut info: TokenInfo) -> (String, Option<String>, Option<u64>) {
        let prefix = if info.user { "xoxp" } else { "xoxb" };
        let n = rand::random::<u64>();
        let token = match self.rotation {
            Some(_) => format!("xoxe.{prefix}-1-{n:016x}"),
            None => format!("{prefix}-{}-{n:016x}", info.install.team_id),
        };
        info.expires_at = self.rotation.map(|secs| self.now() + secs);
        let expires_in = self.rotation;
        let refresh = expires_in.map(|_| format!("xoxe-1-{:016x}", rand::random::<u64>()));
        if let Some(r) = &refresh {
            self.refresh.insert(r.clone(), info.clone());
        }
        self.tokens.insert(token.clone(), info);
        (token, refresh, expires_in)
    }
}
