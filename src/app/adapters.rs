//! The receivers that are clients: Socket Mode ([`App::socket_mode`]) and RTM ([`App::rtm`]).
//! Both hand parsed requests straight to the dispatch core (no re-encoding to HTTP) from their
//! dispatcher thread, which returns at once: listeners run on the App's pool.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::ack::AckSink;
use super::core::Inner;
use super::error::AppError;
use super::parse;
use super::request::AppResponse;
use super::App;
use crate::config::Token;
use crate::handlers::Payload;
use crate::socket_mode::{AckErrorKind, Acker, Request, SocketModeClient, SocketModeClientBuilder};
use crate::{RtmClient, RtmClientBuilder};

/// The longest Socket Mode ack deadline the client accepts.
const SM_DEADLINE_MAX: Duration = Duration::from_millis(2990);
/// The Socket Mode client's own deadline trails the App's, so the App's acts first.
const SM_DEADLINE_MARGIN: Duration = Duration::from_millis(250);

/// RTM frames that are not events: pseudo-events, replies and connection frames.
const RTM_NOT_EVENTS: &[&str] = &[
    "open",
    "close",
    "error",
    "reply",
    "unknown",
    "hello",
    "pong",
    "goodbye",
    "reconnect_url",
];

impl App {
    /// A Socket Mode client for `app_token` (`xapp-…`) with this App wired in: every
    /// envelope goes to the App (events acked on arrival by the client, commands and
    /// interactions acked by their listener, a non-200 answer sends no ack). The builder
    /// starts from the App's network options, bot token and `handle_signals`; every Socket
    /// Mode option stays reachable on it.
    ///
    /// ```no_run
    /// # let app = slack_rtm::app::App::builder().bot_token("xoxb-…").build()?;
    /// app.socket_mode("xapp-…").connections(2).build()?.start()?;
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    pub fn socket_mode(&self, app_token: &str) -> SocketModeClientBuilder {
        let c = &self.inner().config;
        let deadline = (c.ack_deadline + SM_DEADLINE_MARGIN).min(SM_DEADLINE_MAX);
        let mut builder = SocketModeClient::builder(app_token)
            .net_from(&c.net)
            .handle_signals(c.handle_signals)
            .ack_deadline(deadline);
        if let Some(token) = &c.bot_token {
            builder = builder.bot_token(token.secret());
        }
        let inner = Arc::clone(self.inner());
        builder.setup(move |client: &SocketModeClient| {
            client.on("*", move |r: &Request<'_>| on_envelope(&inner, r));
        })
    }

    /// An RTM client for `bot_token` running this App's `message` and `event` listeners:
    /// each event goes to the App as the Events API would deliver it, and `say` answers
    /// through the Web API. The bot token also authorizes the App when it has none. The
    /// builder starts from the App's network options and `handle_signals`.
    ///
    /// ```no_run
    /// # let app = slack_rtm::app::App::builder().build()?;
    /// app.message("hello", |ctx| { ctx.say("Hi!")?; Ok(()) });
    /// app.rtm("xoxb-…").build()?.start()?;
    /// # Ok::<(), slack_rtm::Error>(())
    /// ```
    pub fn rtm(&self, bot_token: &str) -> RtmClientBuilder {
        let inner = Arc::clone(self.inner());
        if inner.config.bot_token.is_none() && inner.config.authorize.is_none() {
            if let Ok(token) = Token::new(bot_token) {
                *inner
                    .fallback_token
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(token);
            }
        }
        RtmClient::builder(bot_token)
            .net_from(&inner.config.net)
            .handle_signals(inner.config.handle_signals)
            .setup(move |client: &RtmClient| {
                client.on("*", move |p: &Payload<'_>| on_rtm_event(&inner, p));
            })
    }
}

fn on_envelope(inner: &Arc<Inner>, r: &Request<'_>) {
    // Once per envelope ("*" comes last); pseudo-events and hello/disconnect have no id.
    if r.name != "*" || r.envelope_id.is_empty() {
        return;
    }
    let mut incoming = parse::from_envelope(r.kind, r.payload.clone(), r.accepts_response_payload);
    incoming.retry_num = Some(r.retry_attempt);
    incoming.retry_reason = r.retry_reason.map(str::to_owned);
    // Events: the client acks them (on arrival by default, or when this handler returns with
    // `AckMode::AfterHandlers`), so their ack is never taken.
    let acker = if incoming.kind.is_event() {
        None
    } else {
        r.defer_ack()
    };
    let sink: Box<dyn AckSink> = match acker {
        Some(acker) => Box::new(move |resp: AppResponse| ack_envelope(&acker, resp)),
        None => Box::new(|_resp: AppResponse| Ok(())),
    };
    inner.submit(incoming, sink);
}

/// The App's answer as a Socket Mode ack: a 200 is the ack (its JSON body the payload), any
/// other status sends none.
fn ack_envelope(acker: &Acker, resp: AppResponse) -> Result<(), AppError> {
    if resp.status != 200 {
        acker.decline();
        return Ok(());
    }
    let payload = if resp.body.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice::<Value>(&resp.body).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&resp.body).into_owned())
            }),
        )
    };
    acker.ack(payload).map_err(|e| match e.kind() {
        AckErrorKind::Late => AppError::AckLate,
        AckErrorKind::AlreadyAcked(_) => AppError::AlreadyAcked,
        _ => AppError::AckRefused(e.to_string()),
    })
}

fn on_rtm_event(inner: &Arc<Inner>, p: &Payload<'_>) {
    if RTM_NOT_EVENTS.contains(&p.event) || !p.data.is_object() {
        return;
    }
    let incoming = parse::from_rtm_event(p.data, None);
    inner.submit(incoming, Box::new(|_resp: AppResponse| Ok(())));
}
