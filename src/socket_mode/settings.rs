//! The configuration of a Socket Mode client, as validated by the builder.

use std::time::Duration;

use super::ack::AckMode;
use crate::config::{NetConfig, Token};

/// The full configuration of a [`SocketModeClient`](super::SocketModeClient).
#[derive(Debug, Clone)]
pub(crate) struct SmConfig {
    /// The app token and everything about reaching Slack.
    pub net: NetConfig,
    /// The bot token for handlers' Web API client.
    pub bot_token: Option<Token>,
    pub auto_reconnect: bool,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub handle_signals: bool,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub healthy_after: Duration,
    pub connect_burst: u32,
    pub connect_interval: Duration,
    pub max_attempts: Option<u32>,
    pub max_message_size: usize,
    pub channel_capacity: usize,
    pub connections: usize,
    pub debug_reconnects: bool,
    pub ack_deadline: Duration,
    pub event_ack: AckMode,
    pub dedupe: bool,
}
