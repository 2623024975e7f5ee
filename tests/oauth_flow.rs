//! The OAuth install flow without a browser, against the fake Slack: the install page and its
//! cookie, the redirect's checks (each failure a page and a status, never a panic), the code
//! exchange, `auth.test` and the saved installation.

mod oauth_support;

use std::sync::Arc;

use slack_rtm::app::oauth::{InstallationStore, MemoryStore, OAuthFlow, OAuthSettings};
use slack_rtm::app::AppResponse;
use slack_rtm::testing::{FakeSlack, MethodReply, OAuthInstall, FAKE_CLIENT_ID};

use oauth_support::*;

fn start() -> (FakeSlack, Arc<MemoryStore>, OAuthFlow) {
    let fake = FakeSlack::start().expect("fake");
    let store = memory();
    let flow = OAuthFlow::new(settings(&fake).store(store.clone())).expect("flow");
    (fake, store, flow)
}

fn installed(store: &MemoryStore) -> usize {
    store
        .find_installation(None, Some("T0FAKE0001"), None, false)
        .expect("find")
        .map_or(0, |_| 1)
}

#[test]
fn install_page_sets_a_single_use_state_cookie_and_links_to_slack() {
    let (fake, _store, flow) = start();
    let page = flow.handle(&get("/slack/install", None)).expect("page");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let set_cookie = page.header("set-cookie").expect("cookie");
    for attr in [
        "HttpOnly",
        "Secure",
        "Max-Age=600",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let state = state_cookie(&page);
    assert!(state.len() >= 32, "{state}");
    let link = add_to_slack_link(&page);
    assert!(link.starts_with(&fake.authorize_url()), "{link}");
    assert!(link.contains(&format!("state={state}")), "{link}");
    assert!(
        link.contains(&format!("client_id={FAKE_CLIENT_ID}")),
        "{link}"
    );
    assert!(link.contains("scope=chat%3Awrite%2Ccommands"), "{link}");
    assert!(
        link.contains("redirect_uri=http%3A%2F%2F127.0.0.1"),
        "{link}"
    );
    // Each visit gets its own state.
    let again = flow.handle(&get("/slack/install", None)).expect("page");
    assert_ne!(state_cookie(&again), state);
    // Other paths and methods are not the flow's.
    assert!(flow.handle(&get("/slack/events", None)).is_none());
    let post = slack_rtm::app::AppRequest::post("/slack/install", vec![], "");
    assert!(flow.handle(&post).is_none());
}

#[test]
fn direct_install_redirects_to_slack_with_the_cookie_state() {
    let fake = FakeSlack::start().expect("fake");
    let flow = OAuthFlow::new(settings(&fake).direct_install(true)).expect("flow");
    let page = flow
        .handle(&get("/slack/install?team=T0OTHER01", None))
        .expect("page");
    assert_eq!(page.status, 302);
    let location = page.header("location").expect("location");
    assert!(location.starts_with(&fake.authorize_url()), "{location}");
    assert!(location.contains(&format!("state={}", state_cookie(&page))));
    assert!(location.contains("team=T0OTHER01"), "{location}");
}

#[test]
fn approved_install_is_exchanged_tested_and_saved() {
    let (fake, store, flow) = start();
    let done = install(&fake, &flow);
    assert_eq!(done.status, 200, "{}", body(&done));
    assert!(body(&done).contains("oauth-success"), "{}", body(&done));
    // The state cookie is cleared.
    let cleared = done.header("set-cookie").expect("cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let i = store
        .find_installation(None, Some("T0FAKE0001"), None, false)
        .unwrap()
        .expect("saved");
    assert_eq!(i.bot_id.as_deref(), Some("B0FAKEBOT1"), "from auth.test");
    assert_eq!(i.bot_user_id.as_deref(), Some("U0FAKEBOT1"));
    assert_eq!(i.app_id.as_deref(), Some("A0FAKEAPP1"));
    assert_eq!(i.user_id, "U0FAKEUSR1");
    assert_eq!(i.team_name.as_deref(), Some("Fake Workspace"));
    assert_eq!(i.bot_scopes.as_deref(), Some("chat:write,commands"));
    assert!(i.bot_token_expires_at.is_none(), "no rotation asked");
    // The code went with the app's credentials (HTTP Basic) and the redirect URI.
    let call = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "oauth.v2.access")
        .expect("exchanged");
    assert!(call.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(call.param("redirect_uri"), Some(REDIRECT_URI));
    // auth.test went with the new bot token.
    let test = fake
        .api_calls()
        .into_iter()
        .find(|c| c.method == "auth.test")
        .expect("auth.test");
    assert_eq!(test.token, i.bot_token);
    let bot = store
        .find_bot(None, Some("T0FAKE0001"), false)
        .unwrap()
        .expect("bot");
    assert_eq!(bot.bot_token, i.bot_token.unwrap());
}

#[test]
fn a_replayed_state_is_refused() {
    let (fake, store, flow) = start();
    let (path, cookie) = approve(&fake, &flow);
    let first = flow.handle(&get(&path, Some(&cookie))).unwrap();
    assert_eq!(first.status, 200);
    let again = flow.handle(&get(&path, Some(&cookie))).unwrap();
    assert_eq!(again.status, 401, "{}", body(&again));
    assert!(body(&again).contains("invalid_state"));
    assert_eq!(
        fake.calls_to("oauth.v2.access"),
        1,
        "the replay never reached Slack"
    );
    assert_eq!(installed(&store), 1);
}

#[test]
fn a_redirect_without_the_cookie_or_with_another_is_refused() {
    let (fake, store, flow) = start();
    let (path, cookie) = approve(&fake, &flow);
    let none = flow.handle(&get(&path, None)).unwrap();
    assert_eq!(none.status, 400, "{}", body(&none));
    assert!(body(&none).contains("invalid_browser"));
    let other = flow.handle(&get(&path, Some("0123456789abcdef"))).unwrap();
    assert_eq!(other.status, 400);
    assert!(body(&other).contains("invalid_browser"));
    assert_eq!(fake.calls_to("oauth.v2.access"), 0);
    assert_eq!(installed(&store), 0);
    // The browser that started the install still can finish it.
    let right = flow.handle(&get(&path, Some(&cookie))).unwrap();
    assert_eq!(right.status, 200, "{}", body(&right));
}

#[test]
fn access_denied_is_a_failure_page() {
    let (fake, store, flow) = start();
    let page = flow.handle(&get("/slack/install", None)).unwrap();
    let cookie = state_cookie(&page);
    let redirect = fake.deny(&add_to_slack_link(&page)).expect("denied");
    assert!(redirect.contains("error=access_denied"), "{redirect}");
    let answer = flow
        .handle(&get(&path_of(&redirect), Some(&cookie)))
        .unwrap();
    assert_eq!(answer.status, 403, "{}", body(&answer));
    assert!(body(&answer).contains("access_denied"));
    assert!(
        body(&answer).contains("/slack/install"),
        "a way to try again"
    );
    assert_eq!(fake.calls_to("oauth.v2.access"), 0);
    assert_eq!(installed(&store), 0);
}

#[test]
fn missing_state_missing_code_and_an_expired_state_are_refused() {
    let (fake, _store, flow) = start();
    let r = flow
        .handle(&get("/slack/oauth_redirect?code=x", Some("s")))
        .unwrap();
    assert_eq!((r.status, body(&r).contains("missing_state")), (400, true));
    // A state the store issued, with its cookie, but no code.
    let page = flow.handle(&get("/slack/install", None)).unwrap();
    let state = state_cookie(&page);
    let r = flow
        .handle(&get(
            &format!("/slack/oauth_redirect?state={state}"),
            Some(&state),
        ))
        .unwrap();
    assert_eq!((r.status, body(&r).contains("missing_code")), (400, true));
    // States expire.
    let store = Arc::new(MemoryStore::new().state_expiry(0));
    let flow = OAuthFlow::new(settings(&fake).store(store)).unwrap();
    let (path, cookie) = approve(&fake, &flow);
    let r = flow.handle(&get(&path, Some(&cookie))).unwrap();
    assert_eq!((r.status, body(&r).contains("invalid_state")), (401, true));
}

#[test]
fn a_failing_code_exchange_is_a_failure_page() {
    let (fake, store, flow) = start();
    // A code Slack refuses.
    let page = flow.handle(&get("/slack/install", None)).unwrap();
    let state = state_cookie(&page);
    let r = flow
        .handle(&get(
            &format!("/slack/oauth_redirect?code=forged&state={state}"),
            Some(&state),
        ))
        .unwrap();
    assert_eq!(r.status, 401, "{}", body(&r));
    assert!(body(&r).contains("invalid_code"), "{}", body(&r));
    // Slack answering an error.
    fake.push_method_reply(
        "oauth.v2.access",
        MethodReply::Error("invalid_client_id".into()),
    );
    let r = install(&fake, &flow);
    assert_eq!(r.status, 401);
    assert!(body(&r).contains("invalid_client_id"), "{}", body(&r));
    // Slack out of reach (the connection dropped).
    fake.push_method_reply("oauth.v2.access", MethodReply::Drop);
    let r = install(&fake, &flow);
    assert_eq!(r.status, 502, "{}", body(&r));
    assert!(body(&r).contains("slack_unreachable"));
    assert_eq!(installed(&store), 0);
}

#[test]
fn a_store_error_is_a_500_page() {
    let fake = FakeSlack::start().expect("fake");
    let flow = OAuthFlow::new(settings(&fake).store(Arc::new(FailingStore::default()))).unwrap();
    let r = install(&fake, &flow);
    assert_eq!(r.status, 500, "{}", body(&r));
    assert!(body(&r).contains("storage_error"));
    assert!(body(&r).contains("disk full"));
}

#[test]
fn success_and_failure_pages_are_customizable() {
    let fake = FakeSlack::start().expect("fake");
    let flow = OAuthFlow::new(
        settings(&fake)
            .success_page(|i| {
                AppResponse::with_body(
                    200,
                    "text/plain",
                    format!("welcome {}", i.team_id.clone().unwrap_or_default()),
                )
            })
            .failure_page(|f| {
                AppResponse::with_body(f.status, "text/plain", format!("nope: {}", f.reason))
            }),
    )
    .unwrap();
    let ok = install(&fake, &flow);
    assert_eq!(body(&ok), "welcome T0FAKE0001");
    let bad = flow
        .handle(&get("/slack/oauth_redirect?error=access_denied", None))
        .unwrap();
    assert_eq!(
        (bad.status, body(&bad)),
        (403, "nope: access_denied".to_owned())
    );
}

#[test]
fn enterprise_installs_are_found_by_organization() {
    let fake = FakeSlack::start().expect("fake");
    fake.set_oauth_install(OAuthInstall::team("T0ORGWIDE1", "Org").enterprise("E0FAKEORG1", true));
    let store = memory();
    let flow = OAuthFlow::new(settings(&fake).store(store.clone())).unwrap();
    assert_eq!(install(&fake, &flow).status, 200);
    let i = store
        .find_installation(Some("E0FAKEORG1"), None, None, true)
        .unwrap()
        .expect("org-wide install");
    assert!(i.is_enterprise_install);
    assert_eq!(i.team_id, None, "an org-wide install has no team");
    // A request from any workspace of the organization is authorized.
    let auth = flow
        .authorizer()
        .authorize(Some("E0FAKEORG1"), Some("T0ANYTEAM1"), Some("U1"), false)
        .expect("authorized");
    assert_eq!(auth.bot_token, i.bot_token);
}

#[test]
fn settings_are_checked() {
    let fake = FakeSlack::start().expect("fake");
    assert!(OAuthFlow::new(OAuthSettings::new("", "s").scopes(&["a"])).is_err());
    assert!(
        OAuthFlow::new(OAuthSettings::new("i", "s")).is_err(),
        "no scope"
    );
    assert!(OAuthFlow::new(settings(&fake).install_path("slack/install")).is_err());
    assert!(OAuthFlow::new(settings(&fake).redirect_path("/slack/install")).is_err());
    assert!(!format!("{:?}", settings(&fake)).contains("fake-client-secret"));
}
