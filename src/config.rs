//! The data layer of every client's options: every default in one place, the token, the
//! network options, RTM's configuration, and validation. No client lives here: each builder
//! (`rtm/builder.rs`, `socket_mode/builder.rs`, `web/builder.rs`) fills these in.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::tls::TlsOptions;

pub(crate) mod net;
pub(crate) mod setters;

/// Slack's Web API base URL, the default for [`RtmClientBuilder::base_url`](crate::RtmClientBuilder::base_url).
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

    /// The same network, with the Web API's retry and rate-limit options at their defaults:
    /// for a connect call, which keeps its own rules whatever the handlers' client is given.
    pub(crate) fn with_default_web_options(&self) -> NetConfig {
        NetConfig {
            max_retries: defaults::MAX_RETRIES,
            retry_server_errors: defaults::RETRY_SERVER_ERRORS,
            max_retry_wait: defaults::MAX_RETRY_WAIT,
            rate_limit: defaults::RATE_LIMIT,
            ..self.clone()
        }
    }

    /// Whether the Web API's retry and rate-limit options are all at their defaults.
    pub(crate) fn has_default_web_options(&self) -> bool {
        self.max_retries == defaults::MAX_RETRIES
            && self.retry_server_errors == defaults::RETRY_SERVER_ERRORS
            && self.max_retry_wait == defaults::MAX_RETRY_WAIT
            && self.rate_limit == defaults::RATE_LIMIT
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

/// The engine options the RTM and Socket Mode clients share, declared once: each client's
/// builder fills them in (see [`setters`]) and the engine reads them
/// (`engine::core::Settings::new`).
#[derive(Debug, Clone)]
pub(crate) struct EngineOptions {
    pub auto_reconnect: bool,
    /// 0: no pings (RTM only; Socket Mode refuses it).
    pub ping_interval: Duration,
    pub handle_signals: bool,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub healthy_after: Duration,
    pub connect_burst: u32,
    pub connect_interval: Duration,
    pub max_attempts: Option<u32>,
    pub max_message_size: usize,
    pub channel_capacity: usize,
}

impl EngineOptions {
    /// The shared defaults, with the two that differ by protocol.
    pub(crate) fn new(ping_interval: Duration, channel_capacity: usize) -> EngineOptions {
        EngineOptions {
            auto_reconnect: defaults::AUTO_RECONNECT,
            ping_interval,
            handle_signals: defaults::HANDLE_SIGNALS,
            backoff_base: defaults::BACKOFF_BASE,
            backoff_cap: defaults::BACKOFF_CAP,
            healthy_after: defaults::HEALTHY_AFTER,
            connect_burst: defaults::CONNECT_BURST,
            connect_interval: defaults::CONNECT_INTERVAL,
            max_attempts: None,
            max_message_size: defaults::MAX_MESSAGE_SIZE,
            channel_capacity,
        }
    }
}

/// The full configuration of an [`RtmClient`](crate::RtmClient), built by
/// [`RtmClientBuilder`](crate::RtmClientBuilder).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub net: NetConfig,
    pub engine: EngineOptions,
    pub pong_timeout: Option<Duration>,
    pub connect_method: ConnectMethod,
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
            .unwrap_or_else(|| self.engine.ping_interval.min(defaults::PONG_TIMEOUT_MAX))
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
}
