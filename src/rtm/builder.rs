//! [`RtmClientBuilder`]: the options of an [`RtmClient`], their defaults, and validation.

use std::time::Duration;

use crate::config::{capped, check, defaults, Config, ConnectMethod, NetConfig};
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
}

impl RtmClientBuilder {
    pub(crate) fn new(token: &str) -> RtmClientBuilder {
        let config = NetConfig::new(token).map(|net| Config {
            net,
            auto_reconnect: defaults::AUTO_RECONNECT,
            ping_interval: defaults::PING_INTERVAL,
            pong_timeout: None,
            connect_method: ConnectMethod::RtmConnect,
            handle_signals: defaults::HANDLE_SIGNALS,
            backoff_base: defaults::BACKOFF_BASE,
            backoff_cap: defaults::BACKOFF_CAP,
            healthy_after: defaults::HEALTHY_AFTER,
            connect_burst: defaults::CONNECT_BURST,
            connect_interval: defaults::CONNECT_INTERVAL,
            max_attempts: None,
            max_message_size: defaults::MAX_MESSAGE_SIZE,
            channel_capacity: defaults::CHANNEL_CAPACITY,
            send_rate: Some((defaults::SEND_BURST, defaults::SEND_INTERVAL)),
            send_queue: defaults::SEND_QUEUE,
            batch_presence_aware: false,
            presence_sub: false,
        });
        RtmClientBuilder { config }
    }

    fn with(mut self, f: impl FnOnce(&mut Config) -> Result<(), Error>) -> Self {
        if let Ok(c) = &mut self.config {
            if let Err(e) = f(c) {
                self.config = Err(e);
            }
        }
        self
    }

    /// The Web API base URL. A missing trailing `/` is added.
    ///
    /// Defaults to `https://slack.com/api/`.
    pub fn base_url(self, url: &str) -> Self {
        self.with(|c| c.net.set_base_url(url))
    }

    /// Whether to reconnect when the connection drops (not after [`stop`](RtmClient::stop)).
    /// With `false`, [`start`](RtmClient::start) returns [`Error::Disconnected`] when the
    /// connection ends, and the first failed connection attempt is returned as is.
    ///
    /// Defaults to `true`.
    pub fn auto_reconnect(self, yes: bool) -> Self {
        self.with(|c| {
            c.auto_reconnect = yes;
            Ok(())
        })
    }

    /// The bound on every network wait: each Web API request (`rtm.connect` included), the
    /// websocket connect as a whole (TCP connect, proxy `CONNECT`, TLS handshake and websocket
    /// handshake share one deadline), each websocket write, and the wait for `hello` after the
    /// handshake. A timeout error names the phase that expired (see the crate docs).
    ///
    /// Defaults to 30 seconds. Must not be zero; longer than a year counts as a year.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|c| c.net.set_timeout(timeout))
    }

    /// How often to send an RTM `ping`. [`Duration::ZERO`] disables pings **and** the dead
    /// connection deadline.
    ///
    /// Defaults to 30 seconds.
    pub fn ping_interval(self, interval: Duration) -> Self {
        self.with(|c| {
            c.ping_interval = capped(interval);
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

    /// An HTTP proxy, `http://[user:password@]host[:port]`, used for the Web API **and** the
    /// websocket (both tunnel through `CONNECT`). Only `http://` proxies are supported.
    ///
    /// Defaults to none: the `HTTPS_PROXY`/`ALL_PROXY`/`HTTP_PROXY` environment variables (and
    /// `NO_PROXY`) decide, as in ureq.
    pub fn proxy(self, url: &str) -> Self {
        self.with(|c| c.net.set_proxy(url))
    }

    /// Trust these CA certificates (PEM, one or several) **instead of** the system store, for
    /// both the Web API and the websocket. Repeated calls add to the set. This is the Python
    /// client's `ssl` option, as data.
    ///
    /// Defaults to the system trust store as OpenSSL sees it (`SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` apply).
    pub fn root_certificate(self, pem: &[u8]) -> Self {
        self.with(|c| c.net.tls.add_roots(pem))
    }

    /// Present a client certificate: a PEM certificate chain and a PKCS#8 PEM private key.
    ///
    /// Defaults to none.
    pub fn client_identity(self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        self.with(|c| c.net.tls.set_identity(cert_pem, key_pem))
    }

    /// An extra header for every Web API request. Headers are not sent on the websocket
    /// handshake (as in the Python client): the websocket URL carries its own credentials.
    /// `Authorization` (set from the token) and the body framing headers (`Content-Type`,
    /// `Content-Length`, `Transfer-Encoding`, `Host`) are refused by `build()`.
    ///
    /// Defaults to none.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.with(|c| c.net.add_header(name, value))
    }

    /// How many times the client's Web API calls (the `WebClient` handlers get, not
    /// `rtm.connect`, whose retries are the reconnect loop's) are retried after a rate limit
    /// or a failure before the request reached Slack; see
    /// [`WebClientBuilder::max_retries`](crate::WebClientBuilder::max_retries). 0 turns
    /// retries off.
    ///
    /// Defaults to 3.
    pub fn max_retries(self, retries: u32) -> Self {
        self.with(|c| {
            c.net.max_retries = retries;
            Ok(())
        })
    }

    /// Whether the client's Web API calls also retry 5xx answers, timeouts and connections
    /// dropped after the request was sent; see
    /// [`WebClientBuilder::retry_server_errors`](crate::WebClientBuilder::retry_server_errors)
    /// (a retried `chat.postMessage` may post twice).
    ///
    /// Defaults to `false`.
    pub fn retry_server_errors(self, yes: bool) -> Self {
        self.with(|c| {
            c.net.retry_server_errors = yes;
            Ok(())
        })
    }

    /// The longest total wait for the retries of one of the client's Web API calls; see
    /// [`WebClientBuilder::max_retry_wait`](crate::WebClientBuilder::max_retry_wait).
    ///
    /// Defaults to 120 seconds.
    pub fn max_retry_wait(self, wait: Duration) -> Self {
        self.with(|c| {
            c.net.set_max_retry_wait(wait);
            Ok(())
        })
    }

    /// Whether the client's Web API calls wait for budget in a client-side rate limiter; see
    /// [`WebClientBuilder::rate_limit`](crate::WebClientBuilder::rate_limit).
    ///
    /// Defaults to `false`.
    pub fn rate_limit(self, yes: bool) -> Self {
        self.with(|c| {
            c.net.rate_limit = yes;
            Ok(())
        })
    }

    /// Whether [`start`](RtmClient::start) stops gracefully on SIGINT, SIGTERM and SIGHUP.
    /// [`spawn`](RtmClient::spawn) never handles signals.
    ///
    /// Defaults to `true`.
    pub fn handle_signals(self, yes: bool) -> Self {
        self.with(|c| {
            c.handle_signals = yes;
            Ok(())
        })
    }

    /// The reconnect backoff: after the `k`-th failure in a row, the delay is drawn uniformly
    /// from `0..=min(cap, base * 2^(k-1))` (full jitter); a `Retry-After` is a floor.
    ///
    /// Defaults to a 1 second base and a 60 second cap.
    pub fn backoff(self, base: Duration, cap: Duration) -> Self {
        self.with(|c| {
            (c.backoff_base, c.backoff_cap) = check::backoff(base, cap)?;
            Ok(())
        })
    }

    /// How long a connection must stay up before the backoff attempt counter resets.
    ///
    /// Defaults to 30 seconds.
    pub fn healthy_after(self, after: Duration) -> Self {
        self.with(|c| {
            c.healthy_after = capped(after);
            Ok(())
        })
    }

    /// The connect-rate gate: at most `burst` calls to `rtm.connect` in a row, then one per
    /// `interval` (Slack's Tier 1 rate limit is about one per minute).
    ///
    /// Defaults to a burst of 5 and 60 seconds.
    pub fn connect_rate(self, burst: u32, interval: Duration) -> Self {
        self.with(|c| {
            (c.connect_burst, c.connect_interval) = check::connect_rate(burst, interval)?;
            Ok(())
        })
    }

    /// Give up after this many failed connection attempts in a row (the last error is returned
    /// from `start()`).
    ///
    /// Defaults to no limit.
    pub fn max_attempts(self, attempts: u32) -> Self {
        self.with(|c| {
            c.max_attempts = check::max_attempts(attempts)?;
            Ok(())
        })
    }

    /// The largest inbound websocket message accepted. A larger one gives an `error` event and
    /// a fresh connection.
    ///
    /// Defaults to 4 MiB.
    pub fn max_message_size(self, bytes: usize) -> Self {
        self.with(|c| {
            c.max_message_size = check::max_message_size(bytes)?;
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
            c.channel_capacity = check::channel_capacity(capacity)?;
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
        RtmClient::from_config(config)
    }
}

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
        assert_eq!(c.channel_capacity, 65_536);
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
