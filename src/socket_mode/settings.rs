//! The configuration of a Socket Mode client, as validated by the builder.

use std::time::Duration;

use super::ack::AckMode;
use crate::config::{EngineOptions, NetConfig, Token};
use crate::error::Error;
use crate::web::WebClient;

/// The full configuration of a [`SocketModeClient`](super::SocketModeClient).
#[derive(Debug, Clone)]
pub(crate) struct SmConfig {
    /// The app token and everything about reaching Slack.
    pub net: NetConfig,
    /// The bot token for handlers' Web API client.
    pub bot_token: Option<Token>,
    /// The engine options shared with the RTM client.
    pub engine: EngineOptions,
    pub pong_timeout: Duration,
    pub connections: usize,
    pub debug_reconnects: bool,
    pub ack_deadline: Duration,
    pub event_ack: AckMode,
    pub dedupe: bool,
}

impl SmConfig {
    /// The Web API clients: the one that opens connections (`apps.connections.open`, with the
    /// app token and the default retry rules whatever the builder set, as RTM's connect call
    /// keeps its own), and the one handlers get (the bot token when given, and the builder's
    /// Web API options). One client serves both when they would be the same.
    pub(crate) fn web_clients(&self) -> Result<(WebClient, WebClient), Error> {
        let opener = WebClient::from_net(&self.net.with_default_web_options())?;
        let web = match &self.bot_token {
            Some(token) => {
                let mut net = self.net.clone();
                net.token = token.clone();
                WebClient::from_net(&net)?
            }
            None if self.net.has_default_web_options() => opener.clone(),
            None => WebClient::from_net(&self.net)?,
        };
        Ok((opener, web))
    }
}
