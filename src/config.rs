//! The builder, every default in one place, and validation.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::tls::TlsOptions;

pub(crate) mod net;
use crate::RtmClient;

/// Slack's Web API base URL, the default for [`RtmClientBuilder::base_url`].
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api/";

/// Every default, in one place.
pub(crate) mod defaults {
    use std::time::Duration;

    pub const AUTO_RECONNECT: bool = true;
    pub const TIMEOUT: Duration = Duration::from_secs(30);
    pub const PING_INTERVAL: Duration = Duration::from_secs(30);
    pub const PONG_TIMEOUT_MAX: Duration = Duration::from_secs(10);
    pub const HANDLE_SIGNALS: bool = true;
    pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
    pub const BACKOFF_CAP: Duration = Duration::from_secs(60);
    pub const HEALTHY_AFTER: Duration = Duration::from_secs(30);
    pub const CONNECT_BURST: u32 = 5;
    pub const CONNECT_INTERVAL: Duration = Duration::from_secs(60);
    pub const MAX_MESSAGE_SIZE: usize = 4 << 20;
    pub const CHANNEL_CAPACITY: usize = 16;
    pub const SEND_BURST: u32 = 3;
    pub const SEND_INTERVAL: Duration = Duration::from_secs(1);
    pub const SEND_QUEUE: usize = 100;
    /// The read tick: how often the reader wakes on an idle socket to notice a stop request.
    pub const READ_TICK: Duration = Duration::from_secs(1);
    /// Web API retries after a rate limit or a failure before the request reached Slack.
    pub const MAX_RETRIES: u32 = 3;
    /// Web API: whether 5xx answers, timeouts and dropped connections are retried too.
    pub const RETRY_SERVER_ERRORS: bool = false;
    /// Web API: the longest total wait for retries of one call.
    pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(120);
    /// Web API: the client-side rate limiter.
    pub const RATE_LIMIT: bool = false;
}

/// Durations beyond a year count as a year, so no deadline arithmetic can overflow.
pub(crate) fn capped(d: Duration) -> Duration {
    d.min(net::MAX_TIMEOUT)
}

/// The checks of the engine options both client builders share (one rule, no drift).
pub(crate) mod check {
    use std::time::Duration;

    use super::capped;
    use crate::error::Error;

    /// `backoff(base, cap)`: (base, cap), capped.
    pub(crate) fn backoff(base: Duration, cap: Duration) -> Result<(Duration, Duration), Error> {
        if base.is_zero() || cap < base {
            return Err(Error::Config(
                "backoff needs a non-zero base and a cap no smaller than the base".into(),
            ));
        }
        Ok((capped(base), capped(cap)))
    }

    /// `connect_rate(burst, interval)`.
    pub(crate) fn connect_rate(burst: u32, interval: Duration) -> Result<(u32, Duration), Error> {
        if burst == 0 {
            return Err(Error::Config(
                "connect_rate burst must be at least 1".into(),
            ));
        }
        Ok((burst, capped(interval)))
    }

    /// `max_attempts(n)`.
    pub(crate) fn max_attempts(attempts: u32) -> Result<Option<u32>, Error> {
        if attempts == 0 {
            return Err(Error::Config("max_attempts must be at least 1".into()));
        }
        Ok(Some(attempts))
    }

    /// `max_message_size(bytes)`.
    pub(crate) fn max_message_size(bytes: usize) -> Result<usize, Error> {
        if bytes < 1024 {
            return Err(Error::Config(
                "max_message_size must be at least 1024".into(),
            ));
        }
        Ok(bytes)
    }

    /// `channel_capacity(n)`: 1 to 65,536 (the channel allocates its slots up front).
    pub(crate) fn channel_capacity(capacity: usize) -> Result<usize, Error> {
        if capacity == 0 || capacity > 65_536 {
            return Err(Error::Config(format!(
                "channel_capacity must be between 1 and 65536, got {capacity}"
            )));
        }
        Ok(capacity)
    }
}

/// The token, kept out of every `Debug` and `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    pub(crate) fn new(token: &str) -> Result<Token, Error> {
        let t = token.trim();
        if t.is_empty() {
            return Err(Error::Config("the token is empty".into()));
        }
        if t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::Config(
                "the token contains whitespace or control characters".into(),
            ));
        }
        if !t.is_ascii() {
            // An HTTP header cannot carry it: every call would fail, for ever.
            return Err(Error::Config(
                "the token contains non-ASCII characters (Slack tokens are ASCII)".into(),
            ));
        }
        Ok(Token(t.to_string()))
    }

    /// No token: a client for the calls authenticated otherwise (`oauth.v2.access`).
    pub(crate) fn none() -> Token {
        Token(String::new())
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Which Web API method fetches the websocket URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectMethod {
    /// `rtm.connect`, the default and the only one new apps may call.
    #[default]
    RtmConnect,
    /// `rtm.start`, the deprecated method; since 2022 Slack answers it like `rtm.connect`.
    RtmStart,
}

impl ConnectMethod {
    /// The Web API method name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectMethod::RtmConnect => "rtm.connect",
            ConnectMethod::RtmStart => "rtm.start",
        }
    }
}

/// Options shared by the Web API client and the websocket: where Slack is and how to reach it.
#[derive(Clone)]
pub(crate) struct NetConfig {
    pub token: Token,
    pub base_url: String,
    pub timeout: Duration,
    /// An explicit proxy; `None` means the proxy environment variables decide.
    pub proxy: Option<ureq::Proxy>,
    pub tls: TlsOptions,
    pub headers: Vec<(String, String)>,
    /// Web API retries (see `web::retry`).
    pub max_retries: u32,
    pub retry_server_errors: bool,
    pub max_retry_wait: Duration,
    /// The Web API's client-side rate limiter (see `web::limiter`).
    pub rate_limit: bool,
}

/// Header values and URL credentials are left out: they may be secrets.
impl fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetConfig")
            .field("token", &self.token)
            .field("base_url", &net::redact_userinfo(&self.base_url))
            .field("timeout", &self.timeout)
            .field("explicit_proxy", &self.proxy.is_some())
            .field("tls", &self.tls)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("max_retries", &self.max_retries)
            .field("retry_server_errors", &self.retry_server_errors)
            .field("max_retry_wait", &self.max_retry_wait)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl NetConfig {
    pub(crate) fn new(token: &str) -> Result<NetConfig, Error> {
        Ok(NetConfig {
            token: Token::new(token)?,
            base_url: DEFAULT_BASE_URL.to_string(),
            timeout: defaults::TIMEOUT,
            proxy: None,
            tls: TlsOptions::default(),
            headers: Vec::new(),
            max_retries: defaults::MAX_RETRIES,
            retry_server_errors: defaults::RETRY_SERVER_ERRORS,
            max_retry_wait: defaults::MAX_RETRY_WAIT,
            rate_limit: defaults::RATE_LIMIT,
        })
    }

    /// The bound on each network wait. Zero is refused; longer than a year counts as a year.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        if timeout.is_zero() {
            return Err(Error::Config("timeout must not be zero".into()));
        }
        self.timeout = capped(timeout);
        Ok(())
    }

    /// The longest total wait for the retries of one Web API call (longer than a year counts
    /// as a year).
    pub(crate) fn set_max_retry_wait(&mut self, wait: Duration) {
        self.max_retry_wait = capped(wait);
    }

    /// Validates and normalizes a base URL: http(s) only, trailing `/` added.
    pub(crate) fn set_base_url(&mut self, url: &str) -> Result<(), Error> {
        let url = url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base_url must start with http:// or https://, got {url:?}"
            )));
        }
        let mut url = url.to_string();
        if !url.ends_with('/') {
            url.push('/');
        }
        let parsed: Result<ureq::http::Uri, _> = url.parse();
        if !parsed.is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty())) {
            return Err(Error::Config(format!(
                "base_url is not a valid URL with a host: {url:?}"
            )));
        }
        self.base_url = url;
        Ok(())
    }

    pub(crate) fn set_proxy(&mut self, url: &str) -> Result<(), Error> {
        self.proxy = Some(net::parse_proxy(url)?);
        Ok(())
    }

    pub(crate) fn add_header(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(Error::Config(format!("invalid header name {name:?}")));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(Error::Config(format!(
                "the value of header {name:?} contains a line break"
            )));
        }
        if name.eq_ignore_ascii_case("authorization") {
            return Err(Error::Config(
                "the Authorization header is set from the token; it cannot be overridden".into(),
            ));
        }
        if net::is_reserved_header(name) {
            return Err(Error::Config(format!(
                "the {name} header is set per request; it cannot be overridden"
            )));
        }
        self.headers.push((name.to_string(), value.to_string()));
        Ok(())
    }
}

/// What an adapter (the App) wires into the client a builder makes: run once, right after
/// `build()` made it.
pub(crate) struct Setup<C>(Vec<SetupFn<C>>);

type SetupFn<C> = Box<dyn FnOnce(&C) + Send>;

impl<C> Default for Setup<C> {
    fn default() -> Self {
        Setup(Vec::new())
    }
}

impl<C> Setup<C> {
    pub(crate) fn push(&mut self, f: impl FnOnce(&C) + Send + 'static) {
        self.0.push(Box::new(f));
    }

    pub(crate) fn run(self, client: &C) {
        for f in self.0 {
            f(client);
        }
    }
}

impl<C> fmt::Debug for Setup<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Setup({})", self.0.len())
    }
}

impl NetConfig {
    /// Everything but the token, from `other` (an adapter's builder starts from the App's
    /// network options).
    pub(crate) fn adopt(&mut self, other: &NetConfig) {
        let token = self.token.clone();
        *self = other.clone();
        self.token = token;
    }
}

/// The full configuration of an [`RtmClient`], built by [`RtmClientBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub net: NetConfig,
    pub auto_reconnect: bool,
    pub ping_interval: Duration,
    pub pong_timeout: Option<Duration>,
    pub connect_method: ConnectMethod,
    pub handle_signals: bool,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub healthy_after: Duration,
    pub connect_burst: u32,
    pub connect_interval: Duration,
    pub max_attempts: Option<u32>,
    pub max_message_size: usize,
    pub channel_capacity: usize,
    /// The `message` send throttle: burst and interval; `None` is off.
    pub send_rate: Option<(u32, Duration)>,
    pub send_queue: usize,
    pub batch_presence_aware: bool,
    pub presence_sub: bool,
}

impl Config {
    /// The keepalive deadline: no inbound frame for this long means the connection is dead.
    pub(crate) fn pong_deadline(&self) -> Duration {
        self.pong_timeout
            .unwrap_or_else(|| self.ping_interval.min(defaults::PONG_TIMEOUT_MAX))
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
        let client = RtmClient::from_config(config)?;
        self.setup.run(&client);
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_trimmed_and_redacted() {
        let t = Token::new("  xoxb-secret \n").unwrap();
        assert_eq!(t.secret(), "xoxb-secret");
        assert!(!format!("{t:?}").contains("secret"));
        assert!(Token::new("   ").is_err());
        assert!(Token::new("xoxb-a b").is_err());
        let e = Token::new("xoxb-caf\u{e9}").unwrap_err();
        assert!(e.to_string().contains("non-ASCII"), "{e}");
    }

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
    fn base_url_gets_a_trailing_slash_and_must_be_http() {
        let mut n = NetConfig::new("x").unwrap();
        n.set_base_url("http://127.0.0.1:1/api").unwrap();
        assert_eq!(n.base_url, "http://127.0.0.1:1/api/");
        assert!(n.set_base_url("ftp://x/").is_err());
        assert!(n.set_base_url("http://127.0.0.1:1/a b/").is_err());
        assert!(n.set_base_url("http:///api/").is_err());
    }

    #[test]
    fn headers_are_validated() {
        let mut n = NetConfig::new("x").unwrap();
        assert!(n.add_header("X-Extra", "1").is_ok());
        assert!(n.add_header("Bad Name", "1").is_err());
        assert!(n.add_header("X-A", "a\r\nInjected: 1").is_err());
        assert!(n.add_header("authorization", "Bearer other").is_err());
        assert!(n.add_header("Content-Type", "text/plain").is_err());
        assert!(n.add_header("host", "x").is_err());
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
