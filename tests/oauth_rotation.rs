//! Authorization from the installation store: the workspace's tokens per request, "please
//! reinstall" without an installation, token rotation (once under concurrent requests, saved
//! before use, a failed refresh reported with Slack's error, the compare-and-swap between two
//! processes on one SQLite file), and the clean-up on `tokens_revoked` / `app_uninstalled`.

mod oauth_support;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use slack_rtm::app::oauth::{
    handle_token_revocation, AuthorizeError, InstallationAuthorizer, InstallationStore, OAuthFlow,
    SqliteStore,
};
use slack_rtm::testing::{FakeSlack, MethodReply, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};
use slack_rtm::Error;

use oauth_support::*;

const TEAM: Option<&str> = Some("T0FAKE0001");
const TWELVE_HOURS: Duration = Duration::from_secs(12 * 3600);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Installs the fake's app into `store` with rotating tokens; returns the flow.
fn install_rotating(fake: &FakeSlack, store: Arc<dyn InstallationStore>) -> OAuthFlow {
    fake.set_token_rotation(Some(TWELVE_HOURS));
    let flow = OAuthFlow::new(
        settings(fake)
            .installation_store(store)
            .state_store(memory()),
    )
    .expect("flow");
    assert_eq!(install(fake, &flow).status, 200);
    flow
}

/// Makes the stored bot token expire in `secs` (as if it had been issued 12 h ago).
fn expire_soon(store: &dyn InstallationStore, secs: u64) -> String {
    let mut i = store
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .expect("installed");
    i.bot_token_expires_at = Some(now() + secs);
    assert!(store.save_rotated(&i, i.version).unwrap());
    i.bot_token.unwrap()
}

fn authorizer(fake: &FakeSlack, store: Arc<dyn InstallationStore>) -> InstallationAuthorizer {
    InstallationAuthorizer::new(store, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET).web_client(client(fake))
}

#[test]
fn a_request_gets_its_workspace_tokens_and_none_means_reinstall() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    let flow = OAuthFlow::new(settings(&fake).store(store.clone())).unwrap();
    let auth = flow.authorizer();
    match auth.authorize(None, TEAM, Some("U1"), false) {
        Err(e @ AuthorizeError::NotInstalled { .. }) => {
            assert!(e.to_string().contains("please reinstall"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(install(&fake, &flow).status, 200);
    let i = auth
        .authorize(None, TEAM, Some("U0FAKEUSR2"), false)
        .unwrap();
    let token = i.bot_token.expect("a bot token");
    // The token works for that workspace.
    let web = client(&fake).with_token(&token).unwrap();
    assert_eq!(
        web.auth_test().unwrap().get("team_id").unwrap(),
        "T0FAKE0001"
    );
    // Another workspace is not installed.
    assert!(matches!(
        auth.authorize(None, Some("T0OTHER001"), None, false),
        Err(AuthorizeError::NotInstalled { .. })
    ));
}

#[test]
fn tokens_are_refreshed_once_under_ten_concurrent_requests_and_saved_before_use() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    install_rotating(&fake, store.clone());
    // Eleven hours later (on Slack's clock and, below, on the store's), the token is about to
    // expire.
    fake.advance_oauth_clock(Duration::from_secs(11 * 3600));
    let old = expire_soon(store.as_ref(), 60);
    let auth = Arc::new(authorizer(&fake, store.clone()));
    let start = Arc::new(Barrier::new(10));
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let (auth, start) = (auth.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                auth.authorize(None, TEAM, None, false)
                    .unwrap()
                    .bot_token
                    .unwrap()
            })
        })
        .collect();
    let tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(fake.token_refreshes(), 1, "one refresh for the workspace");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_ne!(tokens[0], old);
    let stored = store
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.bot_token.as_deref(),
        Some(tokens[0].as_str()),
        "saved"
    );
    assert!(stored.bot_token_expires_at.unwrap() >= now() + TWELVE_HOURS.as_secs() - 60);
    // The refresh went with the refresh token.
    let call = fake
        .api_calls()
        .into_iter()
        .rfind(|c| c.method == "oauth.v2.access")
        .unwrap();
    assert_eq!(call.param("grant_type"), Some("refresh_token"));
    // Two hours later on Slack's clock the old token has expired, the new one has not.
    fake.advance_oauth_clock(Duration::from_secs(2 * 3600));
    let web = client(&fake);
    let err = web.with_token(&old).unwrap().auth_test().unwrap_err();
    assert!(
        matches!(&err, Error::Api { code, .. } if code == "token_expired"),
        "{err:?}"
    );
    assert!(web.with_token(&tokens[0]).unwrap().auth_test().is_ok());
    // A fresh token is not refreshed again.
    auth.authorize(None, TEAM, None, false).unwrap();
    assert_eq!(fake.token_refreshes(), 1);
}

#[test]
fn the_rotation_window_is_configurable() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    install_rotating(&fake, store.clone());
    expire_soon(store.as_ref(), 3 * 3600);
    // 3 h left: outside the default 120 minutes.
    authorizer(&fake, store.clone())
        .authorize(None, TEAM, None, false)
        .unwrap();
    assert_eq!(fake.token_refreshes(), 0);
    authorizer(&fake, store.clone())
        .rotation_window(Duration::from_secs(4 * 3600))
        .authorize(None, TEAM, None, false)
        .unwrap();
    assert_eq!(fake.token_refreshes(), 1);
}

#[test]
fn a_failed_refresh_is_an_authorization_failure_with_slacks_error() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    install_rotating(&fake, store.clone());
    let old = expire_soon(store.as_ref(), 60);
    fake.push_method_reply(
        "oauth.v2.access",
        MethodReply::Error("invalid_refresh_token".into()),
    );
    let err = authorizer(&fake, store.clone())
        .authorize(None, TEAM, None, false)
        .unwrap_err();
    match &err {
        AuthorizeError::Rotation { code, .. } => assert_eq!(code, "invalid_refresh_token"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("invalid_refresh_token"));
    let stored = store
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    assert_eq!(stored.bot_token, Some(old), "nothing saved");
}

#[test]
fn two_processes_on_one_sqlite_file_rotate_once_and_share_the_winners_token() {
    let dir = temp_dir("oauth-cas");
    let path = dir.join("installations.sqlite");
    let fake = FakeSlack::start().unwrap();
    // Two "processes": two connections to one file, two authorizers (no shared lock).
    let a: Arc<dyn InstallationStore> = Arc::new(SqliteStore::open(&path).unwrap());
    let b: Arc<dyn InstallationStore> = Arc::new(SqliteStore::open(&path).unwrap());
    install_rotating(&fake, a.clone());
    expire_soon(a.as_ref(), 60);
    // Both refreshes take a while, so both hosts read the old version before either saves.
    fake.push_method_reply(
        "oauth.v2.access",
        MethodReply::Delay(Duration::from_millis(500)),
    );
    fake.push_method_reply(
        "oauth.v2.access",
        MethodReply::Delay(Duration::from_millis(500)),
    );
    let start = Arc::new(Barrier::new(2));
    let run = |store: Arc<dyn InstallationStore>| {
        let auth = authorizer(&fake, store);
        let start = start.clone();
        thread::spawn(move || {
            start.wait();
            auth.authorize(None, TEAM, None, false)
                .unwrap()
                .bot_token
                .unwrap()
        })
    };
    let (ta, tb) = (run(a.clone()), run(b.clone()));
    let (ta, tb) = (ta.join().unwrap(), tb.join().unwrap());
    assert_eq!(ta, tb, "the loser uses the winner's token");
    let stored = b
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    assert_eq!(stored.bot_token.as_deref(), Some(ta.as_str()));
    assert!(fake.token_refreshes() >= 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn compare_and_swap_across_two_connections() {
    let dir = temp_dir("oauth-cas2");
    let path = dir.join("s.sqlite");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    let mut i = slack_rtm::app::oauth::Installation::new(None, TEAM, "U1");
    i.bot_token = Some("xoxb-old".into());
    a.save(&i).unwrap();
    let read_a = a
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    let read_b = b
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    assert_eq!(read_a.version, read_b.version);
    let mut ra = read_a.clone();
    ra.bot_token = Some("xoxb-a".into());
    let mut rb = read_b.clone();
    rb.bot_token = Some("xoxb-b".into());
    assert!(
        a.save_rotated(&ra, read_a.version).unwrap(),
        "first writer wins"
    );
    assert!(
        !b.save_rotated(&rb, read_b.version).unwrap(),
        "second writer loses"
    );
    let now = b
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .unwrap();
    assert_eq!(now.bot_token.as_deref(), Some("xoxb-a"));
    assert_eq!(now.version, read_a.version + 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn uninstall_and_revoked_tokens_clean_the_store() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    let flow = OAuthFlow::new(
        settings(&fake)
            .user_scopes(&["search:read"])
            .store(store.clone()),
    )
    .unwrap();
    assert_eq!(install(&fake, &flow).status, 200);
    let i = store
        .find_installation(None, TEAM, Some("U0FAKEUSR1"), false)
        .unwrap()
        .unwrap();
    assert!(i.user_token.is_some() && i.bot_token.is_some());
    let event = |event: serde_json::Value| {
        json!({"type": "event_callback", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1",
               "event": event, "authorizations": [{"enterprise_id": null, "team_id": "T0FAKE0001",
               "user_id": "U0FAKEBOT1", "is_bot": true, "is_enterprise_install": false}]})
    };
    // The user's token revoked: their installation goes, the bot stays.
    let revoked =
        event(json!({"type": "tokens_revoked", "tokens": {"oauth": ["U0FAKEUSR1"], "bot": []}}));
    assert!(handle_token_revocation(store.as_ref(), &revoked).unwrap());
    assert!(store
        .find_installation(None, TEAM, Some("U0FAKEUSR1"), false)
        .unwrap()
        .is_none());
    let bot = store
        .find_bot(None, TEAM, false)
        .unwrap()
        .expect("the bot stays");
    assert_eq!(Some(bot.bot_token), i.bot_token);
    // The bot's token revoked.
    let revoked = event(json!({"type": "tokens_revoked", "tokens": {"bot": ["U0FAKEBOT1"]}}));
    assert!(handle_token_revocation(store.as_ref(), &revoked).unwrap());
    assert!(store.find_bot(None, TEAM, false).unwrap().is_none());
    // Reinstalled, then uninstalled: nothing is left.
    assert_eq!(install(&fake, &flow).status, 200);
    assert!(store.find_bot(None, TEAM, false).unwrap().is_some());
    let uninstalled = event(json!({"type": "app_uninstalled"}));
    assert!(handle_token_revocation(store.as_ref(), &uninstalled).unwrap());
    assert!(store
        .find_installation(None, TEAM, None, false)
        .unwrap()
        .is_none());
    assert!(matches!(
        flow.authorizer().authorize(None, TEAM, None, false),
        Err(AuthorizeError::NotInstalled { .. })
    ));
    // Other events are left alone.
    assert!(!handle_token_revocation(store.as_ref(), &event(json!({"type": "message"}))).unwrap());
}

#[test]
fn apps_uninstall_revokes_the_workspaces_tokens_at_the_fake() {
    let fake = FakeSlack::start().unwrap();
    let store = memory();
    let flow = OAuthFlow::new(settings(&fake).store(store.clone())).unwrap();
    assert_eq!(install(&fake, &flow).status, 200);
    let token = store
        .find_bot(None, TEAM, false)
        .unwrap()
        .unwrap()
        .bot_token;
    let web = client(&fake).with_token(&token).unwrap();
    web.api_call(
        "apps.uninstall",
        &json!({"client_id": FAKE_CLIENT_ID, "client_secret": FAKE_CLIENT_SECRET}),
    )
    .unwrap();
    let err = web.auth_test().unwrap_err();
    assert!(
        matches!(&err, Error::Api { code, .. } if code == "token_revoked"),
        "{err:?}"
    );
}
