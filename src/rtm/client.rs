//! [`RtmClient`]: handlers, `start`/`spawn`/`stop`, and [`Running`].

use std::fmt;
use std::sync::Arc;

use crate::config::Config;
use crate::engine::run::{launch, Threads};
use crate::error::Error;
use crate::registry::Registry;
use crate::rtm::dispatch::RtmDispatch;
use crate::rtm::handle::RtmHandle;
use crate::rtm::handlers::{Payload, RtmHandler};
use crate::rtm::Rtm;
use crate::web::WebClient;

/// A Slack RTM client: register handlers with [`on`](RtmClient::on), then
/// [`start`](RtmClient::start) (blocking) or [`spawn`](RtmClient::spawn) (background).
///
/// Cheap to clone; clones share everything (handlers, connection, Web API client).
///
/// ```no_run
/// use slack_rtm::{Payload, RtmClient};
///
/// let client = RtmClient::builder("xoxb-your-token").build()?;
/// client.on("message", |p: &Payload| {
///     if p.data["text"].as_str().is_some_and(|t| t.contains("Hello")) {
///         let channel = p.data["channel"].as_str().unwrap_or_default();
///         p.web_client.chat_post_message(channel, "Hi!").ok();
///     }
/// });
/// client.start()?; // until Ctrl-C
/// # Ok::<(), slack_rtm::Error>(())
/// ```
#[derive(Clone)]
pub struct RtmClient {
    rtm: Arc<Rtm>,
    handlers: Arc<Registry<RtmHandler>>,
}

impl RtmClient {
    pub(crate) fn from_config(config: Config) -> Result<RtmClient, Error> {
        Ok(RtmClient {
            rtm: Arc::new(Rtm::new(config)?),
            handlers: Arc::new(Registry::default()),
        })
    }

    /// Registers `handler` for events dispatched under `event` (`"message"`, `"hello"`, the
    /// pseudo-events `"open"`, `"close"`, `"error"`, `"reply"`, `"unknown"`, or `"*"` for
    /// every event). Handlers run on the dispatcher thread, one at a time, in arrival order;
    /// several handlers for one event run in registration order. Works before and after start;
    /// a handler added while events are being dispatched sees every later frame.
    ///
    /// To reach the client from a handler, use `p.rtm_client` or capture
    /// [`handle()`](RtmClient::handle): a handle does not keep the client alive. A handler
    /// that captures an `RtmClient` clone keeps its own client alive (a reference cycle, as
    /// with any `Arc` stored in what it owns).
    pub fn on<F>(&self, event: &str, handler: F)
    where
        F: Fn(&Payload<'_>) + Send + Sync + 'static,
    {
        self.handlers.add(event, Arc::new(handler));
    }

    /// A handle for sending and stopping from other threads and handlers.
    pub fn handle(&self) -> RtmHandle {
        RtmHandle::new(&self.rtm)
    }

    /// The client's Web API client (the same one handlers get).
    pub fn web_client(&self) -> &WebClient {
        &self.rtm.web
    }

    /// Requests a stop; see [`RtmHandle::stop`].
    pub fn stop(&self) {
        self.rtm.core.request_stop();
    }

    /// Connects and dispatches events on background threads until [`stop`](RtmClient::stop),
    /// blocking the calling thread. Returns `Ok(())` after a requested stop (a call or, with
    /// [`handle_signals`](crate::RtmClientBuilder::handle_signals), SIGINT/SIGTERM/SIGHUP);
    /// [`Error::Disconnected`] when the connection ended and `auto_reconnect` is off (or
    /// `max_attempts` ran out); the error itself when Slack refused the token (see
    /// [`Error::is_fatal`]).
    pub fn start(&self) -> Result<(), Error> {
        self.launch(self.rtm.config.engine.handle_signals)?.join()
    }

    /// Like [`start`](RtmClient::start), without blocking: the returned [`Running`] stops and
    /// joins the client. Signals are never handled for a spawned client.
    pub fn spawn(&self) -> Result<Running, Error> {
        self.launch(false)
    }

    fn launch(&self, handle_signals: bool) -> Result<Running, Error> {
        let dispatch = RtmDispatch::new(self.rtm.clone(), self.handlers.clone());
        Ok(Running {
            threads: launch(&self.rtm, dispatch, handle_signals)?,
            handle: self.handle(),
        })
    }
}

/// A client running on background threads, from [`RtmClient::spawn`]. Dropping it stops the
/// client and joins its threads (on one of the client's own threads, a handler, it requests
/// the stop and returns at once instead: the threads end by themselves).
#[must_use = "dropping `Running` stops the client; keep it, or call `join()`"]
pub struct Running {
    threads: Threads<Rtm>,
    handle: RtmHandle,
}

impl Running {
    /// Requests a stop (never blocks).
    pub fn stop(&self) {
        self.threads.stop();
    }

    /// A handle for sending and stopping.
    pub fn handle(&self) -> RtmHandle {
        self.handle.clone()
    }

    /// Waits until the client has stopped and every thread is joined; returns what
    /// [`RtmClient::start`] would have. Called from a handler of this client (one of its own
    /// threads), it cannot wait for itself: it requests the stop and returns
    /// [`Error::JoinFromClientThread`] at once; the threads end when the handler returns, and
    /// the client can be started again.
    pub fn join(self) -> Result<(), Error> {
        self.threads.join()
    }
}

impl fmt::Debug for RtmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtmClient")
            .field("base_url", &self.rtm.config.net.base_url)
            .field("running", &self.rtm.core.is_running())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running").finish_non_exhaustive()
    }
}
