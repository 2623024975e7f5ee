//! The App: Bolt for blocking Rust — listeners matched by event type, message text, command,
//! `action_id` and `callback_id`; `ack` / `say` / `respond`; middleware; one App that runs over
//! Socket Mode, HTTP or RTM.
//!
//! ```no_run
//! use serde_json::json;
//! use slack_rtm::app::{Ack, App};
//!
//! # fn main() -> Result<(), slack_rtm::Error> {
//! let app = App::builder().bot_token(&std::env::var("SLACK_BOT_TOKEN").unwrap_or_default()).build()?;
//! app.message("hello", |ctx| {
//!     ctx.say(&format!("Hey there <@{}>!", ctx.user_id().unwrap_or_default()))?;
//!     Ok(())
//! });
//! app.command("/deploy", |ctx| {
//!     ctx.ack_with(Ack::text("deploying…"))?;
//!     // …the long part, off the request path…
//!     ctx.respond(json!({"text": "deployed"}))?;
//!     Ok(())
//! });
//! app.socket_mode(&std::env::var("SLACK_APP_TOKEN").unwrap_or_default()).build()?.start()?;
//! # Ok(())
//! # }
//! ```
//!
//! # How a request runs
//!
//! Every receiver ends in one transport-free core, [`App::dispatch`] (an HTTP-shaped
//! [`AppRequest`] in, an [`AppResponse`] out); Socket Mode and RTM feed it parsed requests
//! directly. Built-in middleware runs first, in this order, each switchable on the
//! [`AppBuilder`]: `ssl_check` (HTTP), the signature check (HTTP, when a signing secret is
//! set), authorization (the bot token verified once with `auth.test`, or the `authorize`
//! hook), ignore-self (the bot's own events are acked and dropped, except
//! `member_joined_channel` / `member_left_channel`), and `url_verification` (HTTP). Then the
//! global middleware ([`App::middleware`]), then the listeners:
//!
//! | request | who runs | acked |
//! |---|---|---|
//! | events (`event`, `message`) | **every** matching listener, in registration order | on arrival |
//! | commands, actions, views, shortcuts, options | the **first** matching listener | by the listener, else when it returns, else at the ack deadline |
//!
//! Listeners run on a pool of worker threads (10 by default), never on a socket reader, the
//! client's dispatcher or an HTTP thread: a slow listener delays no other request. The
//! request waits for its ack on a channel; a listener that returns without acking is acked
//! bare then; one still running at the ack deadline (2.5 s) is acked bare, a `warn` names
//! the request, and a later `ack` fails with [`AppError::AckLate`]. Work after the ack
//! continues in the same closure. A bare ack of a `view_submission` is an empty 200 body (it
//! closes the modal).
//!
//! Nobody listening: an event is acked and logged at `debug`; a command or interaction is
//! **not** acked (HTTP 404; Slack shows the user an error) and one `warn` names the
//! registration that would handle it (`app.action("approve", …)`). [`App::unhandled`]
//! replaces that. A listener's `Err` or panic goes to [`App::error`] (default: logged at
//! `error`); a request not yet acked then answers 500 (no ack over Socket Mode). The App
//! goes on serving.
//!
//! # Matchers
//!
//! Ids (`command`, `action`, `view`, `shortcut`, `options`, the `event` type) match exactly; a
//! `message` listener's `&str` matches as a **substring** of the text (never a regex); a
//! `regex::Regex` (feature `regex`) matches anywhere and its captures are
//! [`Ctx::matches`]; a closure `Fn(&Value) -> bool` over the payload works everywhere;
//! [`ActionIds`] matches `block_id` and `action_id`; [`Matcher::event_subtype`] filters
//! events by subtype. `message` listeners see plain messages and the `bot_message`,
//! `thread_broadcast` and `file_share` subtypes, not edits or deletions.

mod ack;
mod adapters;
mod auth;
mod builder;
mod core;
mod ctx;
mod error;
pub mod http;
mod listener;
pub mod oauth;
mod parse;
mod pool;
mod request;
pub mod signature;

use std::sync::Arc;

use serde_json::json;

pub use self::core::Next;
pub use ack::{Ack, DEFAULT_ACK_DEADLINE};
pub use auth::{Authorization, AuthorizeQuery, REINSTALL_MESSAGE};
pub use builder::{AppBuilder, DEFAULT_QUEUE_CAPACITY, DEFAULT_WORKERS};
pub use ctx::{BlockAction, Ctx, SlashCommand, ViewSubmission};
pub use error::{AppError, BoxError, Result};
pub use listener::{ActionIds, Matcher};
pub use request::{AppRequest, AppResponse};

use self::core::{push, Entry, Inner};
use builder::AppConfig;
use listener::ListenerKind;
use parse::Kind;

/// A Slack app: listeners, middleware and the dispatch core. Cheap to clone (an `Arc`
/// inside), `Send + Sync`; listeners can be added at any time, also while it runs.
///
/// Build one with [`App::builder`], register listeners, then run it with a receiver:
/// [`App::socket_mode`], [`App::rtm`], or [`App::dispatch`] / [`App::handle_http`] from an
/// HTTP server.
///
/// Its threads (the listener pool, `app-worker-N`, and the ack deadline timer, `app-timer`)
/// end and are joined when the last clone is dropped. A listener that captures a clone of its
/// own App keeps it alive (an `Arc` cycle): register from a listener sparingly, or keep that
/// App for the life of the process.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A registered listener; [`middleware`](Registration::middleware) adds middleware that runs
/// for this listener only.
#[derive(Clone)]
pub struct Registration {
    entry: Arc<Entry>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("kind", &self.entry.kind.call())
            .field("matcher", &self.entry.matcher)
            .finish()
    }
}

impl Registration {
    /// Adds a middleware for this listener, run after the global ones (onion: call
    /// `next.run()` to go on).
    ///
    /// ```no_run
    /// # let app = slack_rtm::app::App::builder().build().unwrap();
    /// const ADMINS: &[&str] = &["U0ADMIN"];
    /// app.command("/deploy", |ctx| { ctx.ack()?; Ok(()) })
    ///     .middleware(|ctx, next| {
    ///         if ADMINS.contains(&ctx.user_id().unwrap_or_default()) {
    ///             next.run()
    ///         } else {
    ///             ctx.ack_with(slack_rtm::app::Ack::text("admins only"))?;
    ///             Ok(())
    ///         }
    ///     });
    /// ```
    pub fn middleware<F>(&self, middleware: F) -> &Registration
    where
        F: Fn(&Ctx, Next<'_>) -> Result + Send + Sync + 'static,
    {
        push(&self.entry.middleware, Arc::new(middleware) as Arc<_>);
        self
    }
}

impl App {
    /// Starts building an App.
    pub fn builder() -> AppBuilder {
        AppBuilder::new()
    }

    pub(crate) fn from_config(config: AppConfig) -> std::result::Result<App, crate::Error> {
        Ok(App {
            inner: Arc::new(Inner::new(config)?),
        })
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    fn add<F>(&self, kind: ListenerKind, matcher: Matcher, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        let entry = Arc::new(Entry {
            kind,
            matcher,
            middleware: Default::default(),
            handler: Arc::new(listener),
        });
        push(&self.inner.listeners, Arc::clone(&entry));
        Registration { entry }
    }

    /// Listens to Events API events of a type (`"app_mention"`, `"reaction_added"`), or to
    /// what a [`Matcher`] picks ([`Matcher::event_subtype`], a closure over the event). Every
    /// matching event listener runs.
    pub fn event<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::Event, matcher.into(), listener)
    }

    /// Listens to messages whose text contains `matcher` (a substring, never a pattern; `""`
    /// for every message), or matches a `regex::Regex` (feature `regex`; captures in
    /// [`Ctx::matches`]) or a closure. Sees plain messages and the `bot_message`,
    /// `thread_broadcast` and `file_share` subtypes; the bot's own are dropped (ignore-self).
    pub fn message<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::Message, matcher.into(), listener)
    }

    /// Listens to a slash command (`"/deploy"`, exact).
    pub fn command<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::Command, matcher.into(), listener)
    }

    /// Listens to `block_actions` by `action_id` (exact), or by [`ActionIds`].
    pub fn action<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::Action, matcher.into(), listener)
    }

    /// Listens to `view_submission` by the view's `callback_id`.
    pub fn view<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::View, matcher.into(), listener)
    }

    /// Listens to `view_closed` by the view's `callback_id` (sent only for modals opened with
    /// `notify_on_close`).
    pub fn view_closed<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::ViewClosed, matcher.into(), listener)
    }

    /// Listens to global and message shortcuts by `callback_id`.
    pub fn shortcut<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::Shortcut, matcher.into(), listener)
    }

    /// Listens to global shortcuts (`shortcut`) by `callback_id`.
    pub fn global_shortcut<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::GlobalShortcut, matcher.into(), listener)
    }

    /// Listens to message shortcuts (`message_action`) by `callback_id`.
    pub fn message_shortcut<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::MessageShortcut, matcher.into(), listener)
    }

    /// Listens to external select option requests (`block_suggestion`) by `action_id` (or
    /// [`ActionIds`]); answer with [`Ack::options`] or [`Ack::option_groups`].
    pub fn options<F>(&self, matcher: impl Into<Matcher>, listener: F) -> Registration
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        self.add(ListenerKind::Options, matcher.into(), listener)
    }

    /// Adds a global middleware: it runs for every request after the built-in ones and before
    /// the listeners, on the worker thread. Onion: `next.run()` runs the rest (later
    /// middleware, then the listener) and returns its result; not calling it ends the request
    /// (acked bare, unless the middleware acked).
    ///
    /// ```no_run
    /// # let app = slack_rtm::app::App::builder().build().unwrap();
    /// app.middleware(|ctx, next| {
    ///     let started = std::time::Instant::now();
    ///     let result = next.run();
    ///     log::info!("{:?} took {:?}", ctx.body()["type"], started.elapsed());
    ///     result
    /// });
    /// ```
    pub fn middleware<F>(&self, middleware: F) -> &App
    where
        F: Fn(&Ctx, Next<'_>) -> Result + Send + Sync + 'static,
    {
        push(&self.inner.middleware, Arc::new(middleware) as Arc<_>);
        self
    }

    /// Handles listeners' and middleware's errors and panics (replacing the default, which
    /// logs them at `error`).
    pub fn error<F>(&self, handler: F) -> &App
    where
        F: Fn(&BoxError, &Ctx) + Send + Sync + 'static,
    {
        *self.inner.error.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
        self
    }

    /// Handles what no listener matched, instead of the default (events: a `debug` line;
    /// commands and interactions: a `warn` naming the registration and no ack). The handler
    /// may ack; a command or interaction it leaves unacked is not acked (HTTP 404).
    pub fn unhandled<F>(&self, handler: F) -> &App
    where
        F: Fn(&Ctx) -> Result + Send + Sync + 'static,
    {
        *self
            .inner
            .unhandled
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
        self
    }

    /// The transport-free core: answers one HTTP-shaped request. Blocks until the request is
    /// acked — by its listener, when the listener returns, or at the ack deadline — not until
    /// the listener returns; an HTTP receiver writes the response the moment this returns.
    ///
    /// Statuses: 200 (the ack; a JSON body when it carries an answer, empty when bare; also a
    /// request that could not be authorized, answered with [`REINSTALL_MESSAGE`]), 400
    /// (not a Slack request), 401 (signature), 404 (no listener for a
    /// command or interaction), 500 (the listener failed before acking), 503 (the listener
    /// queue is full).
    ///
    /// ```
    /// use slack_rtm::app::{Ack, App, AppRequest};
    /// let app = App::builder().build()?;
    /// app.command("/echo", |ctx| {
    ///     let text = ctx.command().map(|c| c.text.to_owned()).unwrap_or_default();
    ///     ctx.ack_with(Ack::text(&text))?;
    ///     Ok(())
    /// });
    /// let response = app.dispatch(AppRequest::post(
    ///     "/slack/events",
    ///     vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
    ///     "command=%2Fecho&text=hi+there&user_id=U1&channel_id=C1",
    /// ));
    /// assert_eq!(response.status, 200);
    /// assert_eq!(response.body, br#"{"text":"hi there"}"#);
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    pub fn dispatch(&self, request: AppRequest) -> AppResponse {
        let config = &self.inner.config;
        // The OAuth pages (GET of the install and redirect paths) are browsers', not Slack's.
        if let Some(page) = config.oauth.as_ref().and_then(|flow| flow.handle(&request)) {
            return page;
        }
        if config.ssl_check && is_ssl_check(&request) {
            return AppResponse::ok();
        }
        if config.request_verification && config.signing_secret.is_none() {
            let once = std::sync::atomic::Ordering::Relaxed;
            if !self.inner.warned_unsigned.swap(true, once) {
                log::warn!(
                    "no signing_secret: HTTP requests are not verified (fine for tests and \
                     Socket Mode, never for a public endpoint)"
                );
            }
        }
        if config.request_verification {
            if let Some(secret) = &config.signing_secret {
                let verified = signature::verify(
                    secret,
                    request.header(signature::TIMESTAMP_HEADER),
                    request.header(signature::SIGNATURE_HEADER),
                    &request.body,
                    signature::unix_now(),
                );
                if let Err(e) = verified {
                    log::warn!("refused a request: {e}");
                    return AppResponse::with_body(
                        401,
                        "application/json",
                        json!({"error": "invalid request signature"}).to_string(),
                    );
                }
            }
        }
        let incoming = match parse::parse(&request) {
            Ok(i) => i,
            Err(parse::BadRequest(why)) => {
                log::warn!("refused a request: {why}");
                return AppResponse::with_body(
                    400,
                    "application/json",
                    json!({"error": why}).to_string(),
                );
            }
        };
        match incoming.kind {
            // `ssl_check` switched off: nothing to dispatch either.
            Kind::SslCheck => return AppResponse::ok(),
            Kind::UrlVerification if config.url_verification => {
                let challenge = incoming.body.get("challenge").cloned().unwrap_or_default();
                return AppResponse::json(&json!({ "challenge": challenge }));
            }
            _ => {}
        }
        self.wait(incoming)
    }

    /// [`dispatch`](App::dispatch) for any HTTP server: the method, the path (with its query),
    /// the headers and the raw body. A method other than `POST` answers 405.
    pub fn handle_http<I, K, V>(
        &self,
        method: &str,
        path: &str,
        headers: I,
        body: impl Into<Vec<u8>>,
    ) -> AppResponse
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if method.eq_ignore_ascii_case("GET") && self.serves_oauth_path(path) {
            let headers = headers
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect();
            return self.dispatch(AppRequest::get(path, headers));
        }
        if !method.eq_ignore_ascii_case("POST") {
            let mut r = AppResponse::status(405);
            r.headers.push(("Allow".into(), "POST".into()));
            return r;
        }
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        self.dispatch(AppRequest::post(path, headers, body))
    }

    /// The OAuth flow, when the App was built with [`oauth`](AppBuilder::oauth): its install
    /// and redirect pages, and the [`authorizer`](oauth::OAuthFlow::authorizer) over its store.
    pub fn oauth(&self) -> Option<&oauth::OAuthFlow> {
        self.inner.config.oauth.as_ref()
    }

    /// Whether `path` (with or without a query) is the OAuth install or redirect path.
    pub fn serves_oauth_path(&self, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or_default();
        self.oauth()
            .is_some_and(|flow| flow.settings().paths().contains(&path))
    }

    /// Submits a parsed request and waits for its answer on a channel.
    fn wait(&self, incoming: parse::Incoming) -> AppResponse {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let sink = move |r: AppResponse| {
            // The receiver waits until the deadline; a send to a gone caller is moot.
            let _ = tx.try_send(r);
            Ok(())
        };
        self.inner.submit(incoming, Box::new(sink));
        // The timer answers at the deadline; the margin covers a stalled timer thread.
        let bound = self.inner.config.ack_deadline + std::time::Duration::from_secs(2);
        rx.recv_timeout(bound).unwrap_or_else(|_| AppResponse::ok())
    }
}

/// `ssl_check=1` in a form body (the exact value; anything beside it is never read).
fn is_ssl_check(request: &AppRequest) -> bool {
    let is_json = request
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    !is_json
        && std::str::from_utf8(&request.body).is_ok_and(|text| {
            parse::form_fields(text)
                .iter()
                .any(|(k, v)| k == "ssl_check" && v == "1")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_and_its_ctx_travel_between_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        fn send_clone<T: Send + Clone + 'static>() {}
        send_sync::<App>();
        send_sync::<Ctx>();
        send_clone::<Ctx>();
        send_sync::<Registration>();
    }
}
