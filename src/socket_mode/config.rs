//! [`SocketModeClientBuilder`]: the options of a Socket Mode client, their defaults, and
//! validation. Options shared with [`RtmClientBuilder`](crate::RtmClientBuilder) keep their
//! names, defaults and rules.

use std::time::Duration;

use super::ack::{AckMode, DEFAULT_ACK_DEADLINE};
use super::client::SocketModeClient;
use super::rules::{
    check_ack_deadline, check_app_token, check_connections, check_keepalive, DEFAULT_PING_INTERVAL,
    DEFAULT_PONG_TIMEOUT,
};
use super::settings::SmConfig;
use crate::config::{capped, check, defaults, NetConfig, Setup, Token};
use crate::error::Error;

/// The default queue between the reader and the dispatcher, in socket reads. Much deeper than
/// RTM's: the reader acks events as it reads them, so it must keep reading while handlers are
/// slow (a socket read usually carries one envelope of a few KB).
pub(crate) const CHANNEL_CAPACITY: usize = 4096;

impl SocketModeClient {
    /// Starts building a client for `app_token`, an app-level token (`xapp-…`, scope
    /// `connections:write`). A bot or user token is a [`build`](SocketModeClientBuilder::build)
    /// error.
    pub fn builder(app_token: &str) -> SocketModeClientBuilder {
        SocketModeClientBuilder::new(app_token)
    }
}

/// Builds a [`SocketModeClient`]. Created by [`SocketModeClient::builder`].
///
/// Every option has a default; [`build`](SocketModeClientBuilder::build) validates them all and
/// reports the first problem as [`Error::Config`].
#[derive(Debug)]
pub struct SocketModeClientBuilder {
    config: Result<SmConfig, Error>,
    setup: Setup<SocketModeClient>,
}

impl SocketModeClientBuilder {
    pub(crate) fn new(app_token: &str) -> SocketModeClientBuilder {
        let config = check_app_token(app_token)
            .and_then(|()| NetConfig::new(app_token))
            .map(|net| SmConfig {
                net,
                bot_token: None,
                auto_reconnect: defaults::AUTO_RECONNECT,
                ping_interval: DEFAULT_PING_INTERVAL,
                pong_timeout: DEFAULT_PONG_TIMEOUT,
                handle_signals: defaults::HANDLE_SIGNALS,
                backoff_base: defaults::BACKOFF_BASE,
                backoff_cap: defaults::BACKOFF_CAP,
                healthy_after: defaults::HEALTHY_AFTER,
                connect_burst: defaults::CONNECT_BURST,
                connect_interval: defaults::CONNECT_INTERVAL,
                max_attempts: None,
                max_message_size: defaults::MAX_MESSAGE_SIZE,
                channel_capacity: CHANNEL_CAPACITY,
                connections: 1,
                debug_reconnects: false,
                ack_deadline: DEFAULT_ACK_DEADLINE,
                event_ack: AckMode::Immediate,
                dedupe: true,
            });
        SocketModeClientBuilder {
            config,
            setup: Setup::default(),
        }
    }

    /// An adapter's setup (the App wiring itself in), run on the client `build()` makes.
    pub(crate) fn setup(mut self, f: impl FnOnce(&SocketModeClient) + Send + 'static) -> Self {
        self.setup.push(f);
        self
    }

    /// The network options (all but the app token) of `net`.
    pub(crate) fn net_from(self, net: &NetConfig) -> Self {
        self.with(|c| {
            c.net.adopt(net);
            Ok(())
        })
    }

    fn with(mut self, f: impl FnOnce(&mut SmConfig) -> Result<(), Error>) -> Self {
        if let Ok(c) = &mut self.config {
            if let Err(e) = f(c) {
                self.config = Err(e);
            }
        }
        self
    }

    /// The bot token (`xoxb-…`) of the Web API client handlers get
    /// ([`Request::web_client`](super::Request::web_client)).
    ///
    /// Defaults to none: handlers' Web API client then carries the app token, which only
    /// app-level methods accept.
    pub fn bot_token(self, token: &str) -> Self {
        self.with(|c| {
            c.bot_token = Some(Token::new(token)?);
            Ok(())
        })
    }

    /// The Web API base URL (for `apps.connections.open` and handlers' calls). A missing
    /// trailing `/` is added.
    ///
    /// Defaults to `https://slack.com/api/`.
    pub fn base_url(self, url: &str) -> Self {
        self.with(|c| c.net.set_base_url(url))
    }

    /// Whether to reconnect when the connection drops. With `false`, `start()` returns
    /// [`Error::Disconnected`] when the connection ends.
    ///
    /// Defaults to `true`.
    pub fn auto_reconnect(self, yes: bool) -> Self {
        self.with(|c| {
            c.auto_reconnect = yes;
            Ok(())
        })
    }

    /// The bound on every network wait, as for the RTM client: each Web API request, the
    /// websocket connect as a whole, each websocket write, and the wait for `hello`.
    ///
    /// Defaults to 30 seconds. Must not be zero.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|c| {
            if timeout.is_zero() {
                return Err(Error::Config("timeout must not be zero".into()));
            }
            c.net.timeout = capped(timeout);
            Ok(())
        })
    }

    /// How often to send a websocket ping frame (Socket Mode has no JSON ping).
    ///
    /// Defaults to 10 seconds. Must not be zero.
    pub fn ping_interval(self, interval: Duration) -> Self {
        self.with(|c| {
            c.ping_interval = capped(interval);
            Ok(())
        })
    }

    /// How long the connection may stay silent (no frame at all: Slack's own pings, pongs and
    /// envelopes all count) before it is dropped and replaced. Suspended while the reader
    /// waits behind slow handlers.
    ///
    /// Defaults to 20 seconds. Must be at least 5 seconds (shorter ones drop healthy links).
    pub fn pong_timeout(self, timeout: Duration) -> Self {
        self.with(|c| {
            c.pong_timeout = capped(timeout);
            Ok(())
        })
    }

    /// An HTTP proxy, `http://[user:password@]host[:port]`, for the Web API **and** the
    /// websocket.
    ///
    /// Defaults to none: the proxy environment variables decide, as for the RTM client.
    pub fn proxy(self, url: &str) -> Self {
        self.with(|c| c.net.set_proxy(url))
    }

    /// Trust these CA certificates (PEM) instead of the system store, on both paths.
    ///
    /// Defaults to the system trust store.
    pub fn root_certificate(self, pem: &[u8]) -> Self {
        self.with(|c| c.net.tls.add_roots(pem))
    }

    /// Present a client certificate (PEM chain, PKCS#8 PEM key) on both paths.
    ///
    /// Defaults to none.
    pub fn client_identity(self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        self.with(|c| c.net.tls.set_identity(cert_pem, key_pem))
    }

    /// An extra header for every Web API request.
    ///
    /// Defaults to none.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.with(|c| c.net.add_header(name, value))
    }

    /// Whether `start()` stops gracefully on SIGINT, SIGTERM and SIGHUP.
    ///
    /// Defaults to `true`.
    pub fn handle_signals(self, yes: bool) -> Self {
        self.with(|c| {
            c.handle_signals = yes;
            Ok(())
        })
    }

    /// The reconnect backoff (full jitter; `Retry-After` is a floor).
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

    /// The connect-rate gate: at most `burst` calls to `apps.connections.open` in a row, then
    /// one per `interval`.
    ///
    /// Defaults to a burst of 5 and 60 seconds.
    pub fn connect_rate(self, burst: u32, interval: Duration) -> Self {
        self.with(|c| {
            (c.connect_burst, c.connect_interval) = check::connect_rate(burst, interval)?;
            Ok(())
        })
    }

    /// Give up after this many failed connection attempts in a row.
    ///
    /// Defaults to no limit.
    pub fn max_attempts(self, attempts: u32) -> Self {
        self.with(|c| {
            c.max_attempts = check::max_attempts(attempts)?;
            Ok(())
        })
    }

    /// The largest inbound websocket message accepted.
    ///
    /// Defaults to 4 MiB.
    pub fn max_message_size(self, bytes: usize) -> Self {
        self.with(|c| {
            c.max_message_size = check::max_message_size(bytes)?;
            Ok(())
        })
    }

    /// The capacity of the queue between the reader and the dispatcher, in socket reads. The
    /// reader acks events as it reads them ([`AckMode::Immediate`]) and keeps reading while
    /// handlers are slow, until this many reads wait for the handlers; only then does it stop
    /// reading (and acking), and TCP pushes back on Slack.
    ///
    /// Defaults to 4096 (a read usually carries one envelope: thousands of envelopes may wait
    /// behind slow handlers without delaying an ack).
    pub fn channel_capacity(self, capacity: usize) -> Self {
        self.with(|c| {
            c.channel_capacity = check::channel_capacity(capacity)?;
            Ok(())
        })
    }

    /// How many sockets to keep open at once, 1 to 10 (Slack allows 10 per app). Slack
    /// spreads envelopes over them, so a socket that drops or refreshes costs no gap while the
    /// others carry on. Each socket has its own reader thread and reconnect loop (with its own
    /// connect-rate gate); the pinger and the dispatcher are shared, and handlers still run one
    /// at a time (in arrival order per socket; across sockets there is no order, as Slack
    /// gives none). Acks go on the socket their envelope came from.
    ///
    /// Defaults to 1.
    pub fn connections(self, n: usize) -> Self {
        self.with(|c| {
            check_connections(n)?;
            c.connections = n;
            Ok(())
        })
    }

    /// Appends `debug_reconnects=true` to every websocket URL: Slack then refreshes the
    /// connection after about 360 seconds instead of about 5 hours, to test refreshes.
    ///
    /// Defaults to `false`.
    pub fn debug_reconnects(self, yes: bool) -> Self {
        self.with(|c| {
            c.debug_reconnects = yes;
            Ok(())
        })
    }

    /// How long after an envelope arrived a still-pending ack is sent bare (slash commands,
    /// interactions, and events under [`AckMode::AfterHandlers`]); a `late_ack` error event
    /// follows when the handlers return, and a later `ack_with` fails.
    ///
    /// Defaults to 2.5 seconds. Must be above 0 and below Slack's 3 seconds.
    pub fn ack_deadline(self, deadline: Duration) -> Self {
        self.with(|c| {
            check_ack_deadline(deadline)?;
            c.ack_deadline = deadline;
            Ok(())
        })
    }

    /// When `events_api` envelopes are acked.
    ///
    /// Defaults to [`AckMode::Immediate`]: by the reader, as soon as the frame arrives.
    pub fn event_ack(self, mode: AckMode) -> Self {
        self.with(|c| {
            c.event_ack = mode;
            Ok(())
        })
    }

    /// Whether an event whose `event_id` was dispatched in the last 10 minutes is acked and not
    /// dispatched again (Slack redelivers events it thinks were not acked in time).
    ///
    /// Defaults to `true`.
    pub fn dedupe(self, yes: bool) -> Self {
        self.with(|c| {
            c.dedupe = yes;
            Ok(())
        })
    }

    /// Validates the options and builds the client.
    pub fn build(self) -> Result<SocketModeClient, Error> {
        let config = self.config?;
        check_keepalive(config.ping_interval, config.pong_timeout)?;
        let client = SocketModeClient::from_config(config)?;
        self.setup.run(&client);
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_refuses_bad_tokens_and_options_with_clear_messages() {
        let err = |b: SocketModeClientBuilder| b.build().unwrap_err().to_string();
        assert!(err(SocketModeClientBuilder::new("xoxb-1-secret")).contains("bot_token()"));
        assert!(err(SocketModeClientBuilder::new("")).contains("empty"));
        let ok = || SocketModeClientBuilder::new("xapp-1-A-1-secret");
        assert!(err(ok().pong_timeout(Duration::from_secs(4))).contains("at least 5 s"));
        assert!(err(ok().ping_interval(Duration::ZERO)).contains("ping_interval"));
        assert!(err(ok().connections(0)).contains("between 1 and 10"));
        assert!(ok().connections(10).build().is_ok());
        // The shared engine options follow the same rules as on RtmClientBuilder.
        assert!(err(ok().channel_capacity(usize::MAX)).contains("between 1 and 65536"));
        assert!(err(ok().backoff(Duration::ZERO, Duration::ZERO)).contains("backoff"));
        assert!(err(ok().ack_deadline(Duration::from_secs(3))).contains("ack_deadline"));
        assert!(err(ok().bot_token(" ")).contains("empty"));
        assert!(!err(ok().base_url("ftp://x")).contains("secret"));
        assert!(ok().connections(1).bot_token("xoxb-2").build().is_ok());
    }
}
