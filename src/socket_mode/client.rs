//! [`SocketModeClient`]: handlers, `start`/`spawn`/`stop`, and [`SocketModeRunning`].

use std::fmt;
use std::sync::Arc;

use super::dispatch::SmDispatch;
use super::request::{Request, SmHandler};
use super::settings::SmConfig;
use super::state::{SocketMode, SocketModeHandle};
use crate::engine::run::{launch, Threads};
use crate::error::Error;
use crate::registry::Registry;
use crate::web::WebClient;

/// A Slack Socket Mode client: register handlers with [`on`](SocketModeClient::on), then
/// [`start`](SocketModeClient::start) (blocking) or [`spawn`](SocketModeClient::spawn).
///
/// Cheap to clone; clones share everything.
///
/// ```no_run
/// use serde_json::json;
/// use slack_rtm::socket_mode::{Request, SocketModeClient};
///
/// let client = SocketModeClient::builder(&std::env::var("SLACK_APP_TOKEN").unwrap_or_default())
///     .bot_token(&std::env::var("SLACK_BOT_TOKEN").unwrap_or_default())
///     .build()?;
/// client.on("app_mention", |r: &Request| {
///     let event = r.event().expect("an events_api envelope");
///     let channel = event["channel"].as_str().unwrap_or_default();
///     r.web_client.chat_post_message(channel, "Hi!").ok();
/// });
/// client.on("/deploy", |r: &Request| {
///     r.ack_with(json!({"text": "deploying"})).ok();
/// });
/// client.start()?; // until Ctrl-C
/// # Ok::<(), slack_rtm::Error>(())
/// ```
#[derive(Clone)]
pub struct SocketModeClient {
    sm: Arc<SocketMode>,
    handlers: Arc<Registry<SmHandler>>,
}

impl SocketModeClient {
    pub(crate) fn from_config(config: SmConfig) -> Result<SocketModeClient, Error> {
        Ok(SocketModeClient {
            sm: Arc::new(SocketMode::new(config)?),
            handlers: Arc::new(Registry::default()),
        })
    }

    /// Registers `handler` for requests dispatched under `name`: an inner name (`app_mention`,
    /// `/deploy`, `block_actions`), an envelope type (`events_api`, `slash_commands`,
    /// `interactive`), `unknown`, `hello`, `disconnect`, a pseudo-event (`open`, `close`,
    /// `error`), or `"*"` for everything. Handlers run on the dispatcher thread, one at a
    /// time, in arrival order.
    pub fn on<F>(&self, name: &str, handler: F)
    where
        F: Fn(&Request<'_>) + Send + Sync + 'static,
    {
        self.handlers.add(name, Arc::new(handler));
    }

    /// A handle for stopping from other threads and handlers.
    pub fn handle(&self) -> SocketModeHandle {
        SocketModeHandle::new(&self.sm)
    }

    /// The handlers' Web API client.
    pub fn web_client(&self) -> &WebClient {
        &self.sm.web
    }

    /// Requests a stop (never blocks).
    pub fn stop(&self) {
        self.sm.core.request_stop();
    }

    /// Connects and dispatches until a stop, blocking the calling thread. Returns `Ok(())`
    /// after a requested stop (a call or, with `handle_signals`, SIGINT/SIGTERM/SIGHUP);
    /// [`Error::LinkDisabled`] when Slack switched Socket Mode off; a fatal
    /// `apps.connections.open` answer ([`Error::is_fatal`]); [`Error::Disconnected`] when the
    /// connection ended and `auto_reconnect` is off.
    pub fn start(&self) -> Result<(), Error> {
        self.launch(self.sm.config.engine.handle_signals)?.join()
    }

    /// Like [`start`](SocketModeClient::start), without blocking. Signals are never handled.
    pub fn spawn(&self) -> Result<SocketModeRunning, Error> {
        self.launch(false)
    }

    fn launch(&self, handle_signals: bool) -> Result<SocketModeRunning, Error> {
        let dispatch = SmDispatch::new(self.sm.clone(), self.handlers.clone(), self.handle());
        if !self.sm.core.is_running() {
            // A new run tries again, even after Slack said link_disabled to the last one.
            self.sm.set_link_disabled(false);
        }
        let threads = launch(&self.sm, dispatch, handle_signals)?;
        Ok(SocketModeRunning {
            threads,
            handle: self.handle(),
            sm: self.sm.clone(),
        })
    }
}

/// A client running on background threads, from [`SocketModeClient::spawn`]. Dropping it stops
/// the client and joins its threads.
#[must_use = "dropping a SocketModeRunning stops the client"]
pub struct SocketModeRunning {
    threads: Threads<SocketMode>,
    handle: SocketModeHandle,
    sm: Arc<SocketMode>,
}

impl SocketModeRunning {
    /// Requests a stop (never blocks).
    pub fn stop(&self) {
        self.threads.stop();
    }

    /// A handle for stopping.
    pub fn handle(&self) -> SocketModeHandle {
        self.handle.clone()
    }

    /// Waits until the client has stopped and every thread is joined; returns what
    /// [`SocketModeClient::start`] would have.
    pub fn join(self) -> Result<(), Error> {
        match self.threads.join() {
            // Without auto_reconnect the connection's end is the result: say why it ended.
            Err(Error::Disconnected { .. }) if self.sm.link_disabled() => Err(Error::LinkDisabled),
            result => result,
        }
    }
}

impl fmt::Debug for SocketModeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketModeClient")
            .field("base_url", &self.sm.config.net.base_url)
            .field("running", &self.sm.core.is_running())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SocketModeRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketModeRunning").finish_non_exhaustive()
    }
}
