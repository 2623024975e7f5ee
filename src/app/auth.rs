//! Authorization: who the App is in the workspace a request comes from — one bot token
//! verified once with `auth.test`, or an `authorize` hook for many workspaces.

use std::fmt;

use serde_json::Value;

use super::error::BoxError;

/// The tokens and ids the App acts with for one request: what `auth.test` says about the
/// single bot token, or what an [`authorize`](super::AppBuilder::authorize) hook returns (an
/// installation store, say). [`Ctx::client`](super::Ctx::client) carries `bot_token`, else
/// `user_token`.
///
/// ```
/// use slack_rtm::app::Authorization;
/// let auth = Authorization {
///     bot_token: Some("xoxb-…".into()),
///     bot_user_id: Some("U0BOT".into()),
///     team_id: Some("T0TEAM".into()),
///     ..Authorization::default()
/// };
/// assert!(!format!("{auth:?}").contains("xoxb"), "tokens never show in Debug");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    /// The bot token (`xoxb-…`).
    pub bot_token: Option<String>,
    /// The bot's `B…` id (`bot_id` in the bot's own messages).
    pub bot_id: Option<String>,
    /// The bot's user id (`U…`).
    pub bot_user_id: Option<String>,
    /// The workspace.
    pub team_id: Option<String>,
    /// The Enterprise Grid organization, if any.
    pub enterprise_id: Option<String>,
    /// A user token (`xoxp-…`), for apps installed with user scopes.
    pub user_token: Option<String>,
    /// The user the user token belongs to.
    pub user_id: Option<String>,
    /// True for an organization-wide install.
    pub is_enterprise_install: bool,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("Authorization")
            .field("bot_token", &redact(&self.bot_token))
            .field("bot_id", &self.bot_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("team_id", &self.team_id)
            .field("enterprise_id", &self.enterprise_id)
            .field("user_token", &redact(&self.user_token))
            .field("user_id", &self.user_id)
            .field("is_enterprise_install", &self.is_enterprise_install)
            .finish()
    }
}

impl Authorization {
    /// What `auth.test` answered for a bot token.
    pub(crate) fn from_auth_test(token: &str, data: &Value) -> Authorization {
        let s = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Authorization {
            bot_token: Some(token.to_owned()),
            bot_id: s("bot_id"),
            bot_user_id: s("user_id"),
            team_id: s("team_id"),
            enterprise_id: s("enterprise_id"),
            user_token: None,
            user_id: None,
            is_enterprise_install: data
                .get("is_enterprise_install")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// The token `ctx.client()` uses: the bot's, else the user's.
    pub(crate) fn token(&self) -> Option<&str> {
        self.bot_token.as_deref().or(self.user_token.as_deref())
    }
}

/// What the user who triggered a request (a slash command, a click, a shortcut) sees when
/// the App cannot authorize it — no installation for the workspace, a failed `auth.test` or
/// token rotation, an `authorize` hook's `Err` — as Bolt's
/// `user_facing_authorize_error_message`. The request is acked with 200 (so Slack does not
/// retry it), the error goes to [`App::error`](super::App::error), and no listener runs.
pub const REINSTALL_MESSAGE: &str = ":x: Please reinstall this app into the workspace :bow:";

/// What an [`authorize`](super::AppBuilder::authorize) hook is asked: where the request comes
/// from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeQuery<'a> {
    /// The workspace (`team_id`), when the request names one.
    pub team_id: Option<&'a str>,
    /// The Enterprise Grid organization, when the request names one.
    pub enterprise_id: Option<&'a str>,
    /// The user who acted (the event's `user`, the command's `user_id`, the interaction's
    /// `user.id`).
    pub user_id: Option<&'a str>,
    /// True when the request comes from an organization-wide install.
    pub is_enterprise_install: bool,
}

/// An `authorize` hook.
pub(crate) type AuthorizeFn =
    dyn Fn(&AuthorizeQuery<'_>) -> Result<Authorization, BoxError> + Send + Sync + 'static;

/// Bolt's ignore-self rule: an event from the bot itself (its `bot_id`, or its user id as the
/// event's user) is dropped, except `member_joined_channel` and `member_left_channel`.
pub(crate) fn is_self_event(event: &Value, auth: &Authorization) -> bool {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(kind, "member_joined_channel" | "member_left_channel") {
        return false;
    }
    let field = |k: &str| event.get(k).and_then(Value::as_str);
    let by_bot_id = auth.bot_id.is_some() && field("bot_id") == auth.bot_id.as_deref();
    let by_user = auth.bot_user_id.is_some() && field("user") == auth.bot_user_id.as_deref();
    by_bot_id || by_user
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_test_answers_become_an_authorization() {
        let a = Authorization::from_auth_test(
            "xoxb-1",
            &json!({"ok": true, "user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T1",
                    "enterprise_id": "", "is_enterprise_install": false}),
        );
        assert_eq!(a.bot_user_id.as_deref(), Some("U0BOT"));
        assert_eq!(a.bot_id.as_deref(), Some("B0BOT"));
        assert_eq!(a.enterprise_id, None);
        assert_eq!(a.token(), Some("xoxb-1"));
    }

    #[test]
    fn ignore_self_follows_bolt() {
        let me = Authorization {
            bot_id: Some("B0BOT".into()),
            bot_user_id: Some("U0BOT".into()),
            ..Authorization::default()
        };
        let own = json!({"type": "message", "user": "U0BOT", "text": "hi"});
        assert!(is_self_event(&own, &me));
        let own_bot = json!({"type": "message", "subtype": "bot_message", "bot_id": "B0BOT"});
        assert!(is_self_event(&own_bot, &me));
        let other_bot = json!({"type": "message", "subtype": "bot_message", "bot_id": "B0OTHER"});
        assert!(!is_self_event(&other_bot, &me));
        let human = json!({"type": "message", "user": "U0HUMAN"});
        assert!(!is_self_event(&human, &me));
        let joined = json!({"type": "member_joined_channel", "user": "U0BOT"});
        assert!(!is_self_event(&joined, &me));
        let left = json!({"type": "member_left_channel", "user": "U0BOT"});
        assert!(!is_self_event(&left, &me));
        // Without ids nothing is dropped.
        assert!(!is_self_event(&own, &Authorization::default()));
    }
}
