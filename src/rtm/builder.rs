//! [`RtmClientBuilder`]: the options of an [`RtmClient`], their defaults, and validation.

use std::time::Duration;

use crate::config::setters::{engine_setters, net_setters};
use crate::config::{
    capped, check, defaults, Config, ConnectMethod, EngineOptions, NetConfig, Setup,
};
use crate::error::Error;
use crate::rtm::client::RtmClient;

impl RtmClient {
    /// Starts building a client for `token` (a bot `xoxb-` or user `xoxp-` token of a classic
    /// app). The token is trimmed and must not be empty.
    pub fn builder(token: &str) -> RtmClientBuilder {
        RtmClientBuilder::new(token)
    }
}

/// Builds an [`RtmClient`]. Created by [`RtmClient::builder`].
///
/// Every option has a default; [`build`](RtmClientBuilder::build) validates them all and reports
/// the first problem as [`Error::Config`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build()`"]
pub struct RtmClientBuilder {
    config: Result<Config, Error>,
    setup: Setup<RtmClient>,
}

impl RtmClientBuilder {
    pub(crate) fn new(token: &str) -> RtmClientBuilder {
        let config = NetConfig::new(token).map(|net| Config {
            net,
            engine: EngineOptions::new(defaults::PING_INTERVAL, defaults::CHANNEL_CAPACITY),
            pong_timeout: None,
            connect_method: ConnectMethod::RtmConnect,
            send_rate: Some((defaults::SEND_BURST, defaults::SEND_INTERVAL)),
            send_queue: defaults::SEND_QUEUE,
            batch_presence_aware: false,
            presence_sub: false,
        });
        RtmClientBuilder {
            config,
            setup: Setup::default(),
        }
    }

    /// An adapter's setup, run on the client `build()` makes.
    pub(crate) fn setup(mut self, f: impl FnOnce(&RtmClient) + Send + 'static) -> Self {
        self.setup.push(f);
        self
    }

    /// The network options (all but the token) of `net`.
    pub(crate) fn net_from(self, net: &NetConfig) -> Self {
        self.with(|c| {
            c.net.adopt(net);
            Ok(())
        })
    }

    fn with(mut self, f: impl FnOnce(&mut Config) -> Result<(), Error>) -> Self {
        if let Ok(c) = &mut self.config {
            if let Err(e) = f(c) {
                self.config = Err(e);
            }
        }
        self
    }

    /// How often to send an RTM `ping`. [`Duration::ZERO`] disables pings **and** the dead
    /// connection deadline.
    ///
    /// Defaults to 30 seconds.
    pub fn ping_interval(self, interval: Duration) -> Self {
        self.with(|c| {
            c.engine.ping_interval = capped(interval);
            Ok(())
        })
    }

    /// How long the connection may stay silent (no frame at all from Slack) before it is
    /// considered dead, dropped and replaced. Only used when pings are enabled.
    ///
    /// Defaults to the ping interval, at most 10 seconds.
    pub fn pong_timeout(self, timeout: Duration) -> Self {
        self.with(|c| {
            if timeout.is_zero() {
                return Err(Error::Config("pong_timeout must not be zero".into()));
            }
            c.pong_timeout = Some(capped(timeout));
            Ok(())
        })
    }

    /// Which method fetches the websocket URL.
    ///
    /// Defaults to [`ConnectMethod::RtmConnect`].
    pub fn connect_method(self, method: ConnectMethod) -> Self {
        self.with(|c| {
            c.connect_method = method;
            Ok(())
        })
    }

    /// The capacity of the channel between the reader and the dispatcher, in socket reads
    /// (each carries the frames of one read). When the handlers fall behind and the channel is
    /// full, the reader waits, and TCP pushes back on Slack.
    ///
    /// Defaults to 16: enough to keep both threads busy during a flood (a larger queue measured
    /// no faster). Between 1 and 65,536. What waits in memory is at most `capacity` socket
    /// reads: usually up to 64 KiB of frames each, but a read that completes a large message
    /// carries the whole message, so the worst case is `capacity × (64 KiB +
    /// max_message_size)` (16 × 4.06 MiB ≈ 65 MiB with the defaults, only when Slack sends
    /// several messages that large in a row while the handlers lag).
    pub fn channel_capacity(self, capacity: usize) -> Self {
        self.with(|c| {
            c.engine.channel_capacity = check::channel_capacity(capacity)?;
            Ok(())
        })
    }

    /// The send throttle for outbound frames of type `message` (whichever method sent them):
    /// up to `burst` at once, then one per `interval`, as Slack asks ("1 per second, short
    /// bursts allowed"; going faster gets error replies, then a disconnect). Other frame types
    /// (pings, typing, presence) are never throttled.
    ///
    /// Defaults to a burst of 3 and 1 second.
    pub fn send_rate(self, burst: u32, interval: Duration) -> Self {
        self.with(|c| {
            if burst == 0 {
                return Err(Error::Config("send_rate burst must be at least 1".into()));
            }
            c.send_rate = Some((burst, capped(interval)));
            Ok(())
        })
    }

    /// Turns the `message` send throttle off (`false`) or back on with the default rate.
    ///
    /// Defaults to on.
    pub fn send_throttle(self, enabled: bool) -> Self {
        self.with(|c| {
            c.send_rate = enabled.then_some((defaults::SEND_BURST, defaults::SEND_INTERVAL));
            Ok(())
        })
    }

    /// How many `message` frames may wait for the throttle (or, for
    /// [`send_message`](crate::RtmHandle::send_message), for the connection). A send beyond
    /// it fails with [`SendErrorKind::QueueFull`](crate::SendErrorKind::QueueFull) and gives the
    /// message back.
    ///
    /// Defaults to 100.
    pub fn send_queue_capacity(self, capacity: usize) -> Self {
        self.with(|c| {
            c.send_queue = capacity;
            Ok(())
        })
    }

    /// Asks `rtm.connect` for batched presence events (`presence_change` with a `users`
    /// array).
    ///
    /// Defaults to `false`.
    pub fn batch_presence_aware(self, yes: bool) -> Self {
        self.with(|c| {
            c.batch_presence_aware = yes;
            Ok(())
        })
    }

    /// Passes `presence_sub=true` to `rtm.connect`: presence events only for the users you
    /// subscribe to with [`subscribe_presence`](crate::RtmHandle::subscribe_presence) (Slack
    /// has worked this way for every client since 2018).
    ///
    /// Defaults to `false` (the argument is not sent).
    pub fn presence_sub(self, yes: bool) -> Self {
        self.with(|c| {
            c.presence_sub = yes;
            Ok(())
        })
    }

    /// Validates the options and builds the client.
    pub fn build(self) -> Result<RtmClient, Error> {
        let config = self.config?;
        let client = RtmClient::from_config(config)?;
        self.setup.run(&client);
        Ok(client)
    }
}

net_setters!(RtmClientBuilder, |c| c.net);
engine_setters!(RtmClientBuilder, |c| c.engine, connect = "rtm.connect");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::net;

    #[test]
    fn channel_capacity_is_bounded() {
        for bad in [0, 65_537, usize::MAX] {
            let e = RtmClientBuilder::new("x")
                .channel_capacity(bad)
                .config
                .unwrap_err();
            assert!(e.to_string().contains("channel_capacity"), "{e}");
        }
        let c = RtmClientBuilder::new("x")
            .channel_capacity(65_536)
            .config
            .unwrap();
        assert_eq!(c.engine.channel_capacity, 65_536);
    }

    #[test]
    fn debug_hides_header_values_and_url_credentials() {
        let b = RtmClientBuilder::new("xoxb-secret-token")
            .base_url("https://user:hunter2@example.com/api/")
            .header("X-Api-Key", "key-value-secret");
        let shown = format!("{b:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("key-value-secret"), "{shown}");
        assert!(!shown.contains("xoxb-secret-token"), "{shown}");
        assert!(shown.contains("X-Api-Key"), "{shown}");
    }

    #[test]
    fn both_builders_validate_headers_and_timeouts_alike() {
        assert!(RtmClientBuilder::new("x")
            .header("Content-Type", "text/plain")
            .config
            .is_err());
        let c = RtmClientBuilder::new("x")
            .timeout(Duration::MAX)
            .config
            .unwrap();
        assert_eq!(c.net.timeout, net::MAX_TIMEOUT);
        assert!(RtmClientBuilder::new("x")
            .timeout(Duration::ZERO)
            .config
            .is_err());
    }

    #[test]
    fn pong_deadline_defaults_to_the_interval_capped_at_ten_seconds() {
        let c = RtmClientBuilder::new("x").config.unwrap();
        assert_eq!(c.pong_deadline(), Duration::from_secs(10));
        let c = RtmClientBuilder::new("x")
            .ping_interval(Duration::from_secs(2))
            .config
            .unwrap();
        assert_eq!(c.pong_deadline(), Duration::from_secs(2));
    }
}
