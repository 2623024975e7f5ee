//! [`AppBuilder`]: the App's options, their defaults, and validation. Options shared with the
//! clients keep their names and meaning.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::ack::DEFAULT_ACK_DEADLINE;
use super::auth::{Authorization, AuthorizeFn, AuthorizeQuery};
use super::error::BoxError;
use super::oauth::{handle_token_revocation, InstallationStore, OAuthFlow, OAuthSettings};
use super::App;
use crate::config::setters::net_setters;
use crate::config::{defaults, NetConfig, Token};
use crate::error::Error;
use crate::web::WebClient;

/// The default number of listener threads.
pub const DEFAULT_WORKERS: usize = 10;
/// The default depth of the listeners' queue; a request that finds it full is refused (503).
pub const DEFAULT_QUEUE_CAPACITY: usize = 1000;
/// The placeholder token of the App's Web API template (replaced per request).
pub(crate) const NO_TOKEN: &str = "unauthorized";

/// Everything the App was built with.
#[derive(Clone)]
pub(crate) struct AppConfig {
    /// Network options (base URL, timeout, proxy, TLS, headers, retries); its token is a
    /// placeholder, each request's client gets the authorized one.
    pub(crate) net: NetConfig,
    pub(crate) bot_token: Option<Token>,
    pub(crate) signing_secret: Option<String>,
    pub(crate) authorize: Option<Arc<AuthorizeFn>>,
    pub(crate) ack_deadline: Duration,
    pub(crate) workers: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) ordered_events: bool,
    pub(crate) handle_signals: bool,
    pub(crate) ssl_check: bool,
    pub(crate) request_verification: bool,
    pub(crate) token_verification: bool,
    pub(crate) ignore_self: bool,
    pub(crate) url_verification: bool,
    /// OAuth settings, made into `oauth` at build.
    pub(crate) oauth_settings: Option<OAuthSettings>,
    /// The OAuth flow (install and redirect pages), when the App has OAuth settings.
    pub(crate) oauth: Option<OAuthFlow>,
    pub(crate) token_revocation: bool,
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("net", &self.net)
            .field("bot_token", &self.bot_token)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("authorize", &self.authorize.is_some())
            .field("ack_deadline", &self.ack_deadline)
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("ordered_events", &self.ordered_events)
            .finish_non_exhaustive()
    }
}

/// Builds an [`App`]. Created by [`App::builder`].
///
/// Every option has a default; [`build`](AppBuilder::build) validates them all and reports the
/// first problem as [`Error::Config`].
#[derive(Debug)]
#[must_use = "a builder does nothing until build() is called"]
pub struct AppBuilder {
    config: Result<AppConfig, Error>,
}

impl AppBuilder {
    pub(crate) fn new() -> AppBuilder {
        let config = NetConfig::new(NO_TOKEN).map(|net| AppConfig {
            net,
            bot_token: None,
            signing_secret: None,
            authorize: None,
            ack_deadline: DEFAULT_ACK_DEADLINE,
            workers: DEFAULT_WORKERS,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            ordered_events: false,
            handle_signals: defaults::HANDLE_SIGNALS,
            ssl_check: true,
            request_verification: true,
            token_verification: true,
            ignore_self: true,
            url_verification: true,
            oauth_settings: None,
            oauth: None,
            token_revocation: true,
        });
        AppBuilder { config }
    }

    fn with(mut self, f: impl FnOnce(&mut AppConfig) -> Result<(), Error>) -> Self {
        if let Ok(c) = &mut self.config {
            if let Err(e) = f(c) {
                self.config = Err(e);
            }
        }
        self
    }

    /// The bot token (`xoxb-…`) of a single-workspace app: verified once with `auth.test`
    /// (for the bot's ids and team), and carried by every [`Ctx::client`](super::Ctx::client).
    ///
    /// Defaults to none. Use [`authorize`](AppBuilder::authorize) for many workspaces instead.
    pub fn bot_token(self, token: &str) -> Self {
        self.with(|c| {
            c.bot_token = Some(Token::new(token)?);
            Ok(())
        })
    }

    /// The app's signing secret, for requests over HTTP ([`App::dispatch`],
    /// [`App::handle_http`]): each request's `X-Slack-Signature` is checked against it. An
    /// empty secret is a build error.
    ///
    /// Defaults to none: HTTP requests are not verified (fine for Socket Mode and tests, never
    /// for a public HTTP endpoint).
    pub fn signing_secret(self, secret: &str) -> Self {
        self.with(|c| {
            if secret.trim().is_empty() {
                return Err(Error::Config("signing_secret must not be empty".into()));
            }
            c.signing_secret = Some(secret.trim().to_owned());
            Ok(())
        })
    }

    /// Authorizes each request with a hook, for apps installed in many workspaces: given where
    /// the request comes from, return the tokens and ids to act with (from an installation
    /// store, say). An `Err` stops the request — no listener runs — and goes to
    /// [`App::error`]; the request is acked with 200 and the user who triggered it sees
    /// [`REINSTALL_MESSAGE`](super::REINSTALL_MESSAGE), as Bolt. Cannot be combined with
    /// [`bot_token`](AppBuilder::bot_token).
    ///
    /// ```no_run
    /// use slack_rtm::app::{App, Authorization};
    /// let app = App::builder()
    ///     .authorize(|q| {
    ///         let team = q.team_id.ok_or("no team in the request")?;
    ///         let token = std::env::var(format!("SLACK_BOT_TOKEN_{team}"))?;
    ///         Ok(Authorization { bot_token: Some(token), ..Authorization::default() })
    ///     })
    ///     .build()?;
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    ///
    /// Defaults to none.
    pub fn authorize<F>(self, hook: F) -> Self
    where
        F: Fn(&AuthorizeQuery<'_>) -> Result<Authorization, BoxError> + Send + Sync + 'static,
    {
        self.with(|c| {
            c.authorize = Some(Arc::new(hook));
            Ok(())
        })
    }

    /// OAuth for an app that many workspaces install (SPEC: Bolt's `OAuthSettings`): the
    /// install page and the redirect are served on `GET` by [`App::dispatch`] and
    /// [`App::handle_http`] (so by the HTTP receiver), each installation is saved in the
    /// settings' store, and every request is authorized from that store (its workspace's
    /// tokens, rotated before they expire; "please reinstall" when there is none). The OAuth
    /// calls use this builder's network options (`base_url`, `proxy`, TLS, `timeout`) unless the
    /// settings carry a [`web_client`](OAuthSettings::web_client). Cannot be combined with
    /// [`bot_token`](AppBuilder::bot_token) or [`authorize`](AppBuilder::authorize).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use slack_rtm::app::App;
    /// use slack_rtm::app::oauth::{JsonFileStore, OAuthSettings};
    /// let app = App::builder()
    ///     .signing_secret("…")
    ///     .oauth(
    ///         OAuthSettings::new("123.456", "client-secret")
    ///             .scopes(&["chat:write", "commands"])
    ///             .store(Arc::new(JsonFileStore::new("installations.json"))),
    ///     )
    ///     .build()?;
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    ///
    /// Defaults to none.
    pub fn oauth(self, settings: OAuthSettings) -> Self {
        self.with(|c| {
            c.oauth_settings = Some(settings);
            Ok(())
        })
    }

    /// With [`oauth`](AppBuilder::oauth): delete what `tokens_revoked` and `app_uninstalled`
    /// events name from the installation store (Bolt's token revocation listeners; your own
    /// listeners for these events run too).
    ///
    /// Defaults to `true`.
    pub fn token_revocation(self, yes: bool) -> Self {
        self.with(|c| {
            c.token_revocation = yes;
            Ok(())
        })
    }

    /// Whether the adapters' `start()` stops on SIGINT/SIGTERM.
    ///
    /// Defaults to `true`.
    pub fn handle_signals(self, yes: bool) -> Self {
        self.with(|c| {
            c.handle_signals = yes;
            Ok(())
        })
    }

    /// How long a request waits for its listener's ack: a listener still running then is
    /// acked bare, a warning names the request, and a later ack fails with
    /// [`AppError::AckLate`](super::AppError::AckLate).
    ///
    /// Defaults to 2.5 seconds (Slack gives up at 3). Between 1 ms and 3 s.
    pub fn ack_deadline(self, deadline: Duration) -> Self {
        self.with(|c| {
            if deadline.is_zero() || deadline > Duration::from_secs(3) {
                return Err(Error::Config(format!(
                    "ack_deadline must be between 1 ms and 3 s, got {deadline:?}"
                )));
            }
            c.ack_deadline = deadline;
            Ok(())
        })
    }

    /// The number of listener threads.
    ///
    /// Defaults to 10. Between 1 and 1,000.
    pub fn workers(self, n: usize) -> Self {
        self.with(|c| {
            if n == 0 || n > 1000 {
                return Err(Error::Config(format!(
                    "workers must be between 1 and 1000, got {n}"
                )));
            }
            c.workers = n;
            Ok(())
        })
    }

    /// How many requests may wait for a listener thread; one more is refused (HTTP 503, no
    /// ack over Socket Mode) and logged, never blocking the receiver.
    ///
    /// Defaults to 1,000. Between 1 and 1,000,000.
    pub fn queue_capacity(self, n: usize) -> Self {
        self.with(|c| {
            if n == 0 || n > 1_000_000 {
                return Err(Error::Config(format!(
                    "queue_capacity must be between 1 and 1000000, got {n}"
                )));
            }
            c.queue_capacity = n;
            Ok(())
        })
    }

    /// Runs events one at a time, in arrival order, on a thread of their own (still off the
    /// receiver). Commands and interactions stay on the pool.
    ///
    /// Defaults to `false`: events run on the pool, in no particular order, as in Bolt.
    pub fn ordered_events(self, yes: bool) -> Self {
        self.with(|c| {
            c.ordered_events = yes;
            Ok(())
        })
    }

    /// Built-in middleware: answer `ssl_check=1` with 200 (HTTP).
    ///
    /// Defaults to `true`.
    pub fn ssl_check(self, yes: bool) -> Self {
        self.with(|c| {
            c.ssl_check = yes;
            Ok(())
        })
    }

    /// Built-in middleware: check HTTP requests' signatures when a signing secret is set.
    ///
    /// Defaults to `true`.
    pub fn request_verification(self, yes: bool) -> Self {
        self.with(|c| {
            c.request_verification = yes;
            Ok(())
        })
    }

    /// Built-in middleware: verify the bot token with `auth.test` (once) for the bot's ids,
    /// which ignore-self needs. With `false`, the ids are unknown and nothing is called.
    ///
    /// Defaults to `true`.
    pub fn token_verification(self, yes: bool) -> Self {
        self.with(|c| {
            c.token_verification = yes;
            Ok(())
        })
    }

    /// Built-in middleware: drop (after acking) events from the bot itself — its `bot_id`, or
    /// its user id as the event's `user` — except `member_joined_channel` and
    /// `member_left_channel`, as Bolt does.
    ///
    /// Defaults to `true`.
    pub fn ignore_self(self, yes: bool) -> Self {
        self.with(|c| {
            c.ignore_self = yes;
            Ok(())
        })
    }

    /// Built-in middleware: answer `url_verification` with its `challenge` (HTTP).
    ///
    /// Defaults to `true`.
    pub fn url_verification(self, yes: bool) -> Self {
        self.with(|c| {
            c.url_verification = yes;
            Ok(())
        })
    }

    /// Validates the options and starts the App's threads (the listener pool and the ack
    /// deadline timer; no network yet).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first invalid option; [`Error::Io`] when a thread cannot
    /// be started.
    pub fn build(self) -> Result<App, Error> {
        let mut config = self.config?;
        if config.bot_token.is_some() && config.authorize.is_some() {
            return Err(Error::Config(
                "bot_token and authorize cannot be used together: authorize returns the token"
                    .into(),
            ));
        }
        let revocation = match config.oauth_settings.take() {
            Some(settings) => with_oauth(&mut config, settings)?,
            None => None,
        };
        let app = App::from_config(config)?;
        if let Some(store) = revocation {
            for event in ["tokens_revoked", "app_uninstalled"] {
                let store = store.clone();
                app.event(event, move |ctx| {
                    handle_token_revocation(store.as_ref(), ctx.body())?;
                    Ok(())
                });
            }
        }
        Ok(app)
    }
}

// The network and Web API options of the clients' builders, with the same names and rules:
// `auth.test`, `say`, `ctx.client()`, the OAuth calls and the adapters' connections use them.
net_setters!(AppBuilder, |c| c.net);

/// Makes the OAuth flow and the `authorize` hook over its store; the store, when token
/// revocation clean-up is on.
fn with_oauth(
    config: &mut AppConfig,
    settings: OAuthSettings,
) -> Result<Option<Arc<dyn InstallationStore>>, Error> {
    if config.bot_token.is_some() || config.authorize.is_some() {
        return Err(Error::Config(
            "oauth cannot be combined with bot_token or authorize: the installation store \
             gives each request its token"
                .into(),
        ));
    }
    let settings = if settings.web_client.is_some() {
        settings
    } else {
        // The App's network options, no token (the OAuth calls carry their own credentials).
        let mut net = config.net.clone();
        net.token = Token::none();
        settings.web_client(WebClient::from_net(&net)?)
    };
    let flow = OAuthFlow::new(settings)?;
    let authorizer = flow.authorizer();
    config.authorize = Some(Arc::new(move |q: &AuthorizeQuery<'_>| {
        authorizer
            .authorize(
                q.enterprise_id,
                q.team_id,
                q.user_id,
                q.is_enterprise_install,
            )
            .map(Authorization::from)
            .map_err(|e| Box::new(e) as BoxError)
    }));
    let store = flow.settings().installations();
    config.oauth = Some(flow);
    Ok(config.token_revocation.then_some(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_network_setters_reach_the_apps_web_client() {
        let app = AppBuilder::new()
            .base_url("http://127.0.0.1:9/api")
            .max_retries(0)
            .retry_server_errors(true)
            .build()
            .unwrap();
        let client = &app.inner.base_client;
        assert_eq!(client.base_url(), "http://127.0.0.1:9/api/");
        assert_eq!(client.policy().max_retries, 0);
        assert!(client.policy().retry_server_errors);
        assert!(AppBuilder::new().timeout(Duration::ZERO).build().is_err());
    }
}
