//! [`WebClientBuilder`]: the options of a [`WebClient`].

use std::fmt;
use std::time::Duration;

use super::WebClient;
use crate::config::net::redact_userinfo;
use crate::config::NetConfig;
use crate::error::Error;

/// Builds a [`WebClient`]. Created by [`WebClient::builder`].
///
/// Every option has a default; [`build`](WebClientBuilder::build) reports the first invalid
/// option as [`Error::Config`].
#[must_use = "a builder does nothing until `build()`"]
pub struct WebClientBuilder {
    net: Result<NetConfig, Error>,
}

impl fmt::Debug for WebClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("WebClientBuilder");
        match &self.net {
            Ok(net) => d
                .field("base_url", &redact_userinfo(&net.base_url))
                .field("timeout", &net.timeout)
                .field("explicit_proxy", &net.proxy.is_some())
                .field("tls", &net.tls)
                .field(
                    "headers",
                    &net.headers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>(),
                )
                .field("max_retries", &net.max_retries)
                .field("retry_server_errors", &net.retry_server_errors)
                .field("max_retry_wait", &net.max_retry_wait)
                .field("rate_limit", &net.rate_limit)
                .field("token", &"<redacted>"),
            Err(e) => d.field("error", e),
        };
        d.finish()
    }
}

impl WebClientBuilder {
    pub(crate) fn new(token: &str) -> WebClientBuilder {
        WebClientBuilder {
            net: NetConfig::new(token),
        }
    }

    /// A builder whose client sends no token (see [`WebClient::builder_without_token`]).
    pub(crate) fn without_token() -> WebClientBuilder {
        let net = NetConfig::new("placeholder").map(|mut net| {
            net.token = crate::config::Token::none();
            net
        });
        WebClientBuilder { net }
    }

    fn with(mut self, f: impl FnOnce(&mut NetConfig) -> Result<(), Error>) -> Self {
        if let Ok(net) = &mut self.net {
            if let Err(e) = f(net) {
                self.net = Err(e);
            }
        }
        self
    }

    /// The Web API base URL (`http://` or `https://`). A missing trailing `/` is added.
    ///
    /// Defaults to `https://slack.com/api/`.
    pub fn base_url(self, url: &str) -> Self {
        self.with(|net| net.set_base_url(url))
    }

    /// The bound on each request as a whole: connecting (including proxy and TLS), sending,
    /// and reading the answer. Retries get their own bound each.
    ///
    /// Defaults to 30 seconds. Must not be zero; longer than a year counts as a year.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|net| net.set_timeout(timeout))
    }

    /// An HTTP proxy, `http://[user:password@]host[:port]`, tunnelled through `CONNECT`.
    ///
    /// Defaults to none: the `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY` environment variables (and
    /// `NO_PROXY`) decide, as in ureq.
    pub fn proxy(self, url: &str) -> Self {
        self.with(|net| net.set_proxy(url))
    }

    /// Trust these CA certificates (PEM, one or several) **instead of** the system store.
    /// Repeated calls add to the set.
    ///
    /// Defaults to the system trust store.
    pub fn root_certificate(self, pem: &[u8]) -> Self {
        self.with(|net| net.tls.add_roots(pem))
    }

    /// Present a client certificate: a PEM certificate chain and a PKCS#8 PEM private key.
    ///
    /// Defaults to none.
    pub fn client_identity(self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        self.with(|net| net.tls.set_identity(cert_pem, key_pem))
    }

    /// An extra header for every request to the Web API (not to a file upload host).
    /// `Authorization` (set from the token) and the body framing headers (`Content-Type`,
    /// `Content-Length`, `Transfer-Encoding`, `Host`) are refused.
    ///
    /// Defaults to none.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.with(|net| net.add_header(name, value))
    }

    /// How many times a call is retried after HTTP 429 / `ratelimited` (waiting `Retry-After`)
    /// or after a failure before the request reached Slack (DNS, connect, proxy, TLS; waiting
    /// a backoff). 0 turns retries off. Each retry is logged at `warn`.
    ///
    /// Defaults to 3 (at most 4 calls).
    pub fn max_retries(self, retries: u32) -> Self {
        self.with(|net| {
            net.max_retries = retries;
            Ok(())
        })
    }

    /// Also retry HTTP 5xx answers, timeouts and connections lost after the request was sent.
    /// Slack may have acted on such a request: a retried `chat.postMessage` can post the
    /// message twice. Turn it on for idempotent calls (reads, `reactions.add`, `views.publish`).
    ///
    /// Defaults to `false`.
    pub fn retry_server_errors(self, yes: bool) -> Self {
        self.with(|net| {
            net.retry_server_errors = yes;
            Ok(())
        })
    }

    /// The longest total wait for the retries of one call: a retry whose wait would pass it is
    /// not made, and the last error (with its `Retry-After`) is returned.
    ///
    /// Defaults to 120 seconds.
    pub fn max_retry_wait(self, wait: Duration) -> Self {
        self.with(|net| {
            net.set_max_retry_wait(wait);
            Ok(())
        })
    }

    /// A client-side rate limiter: each call first waits for budget from its method's tier
    /// (`chat.postMessage`: about one per second per channel), so bursts are spread out
    /// instead of earning 429s. The budgets are shared by the clones of this client. See the
    /// crate docs for the table.
    ///
    /// Defaults to `false`.
    pub fn rate_limit(self, yes: bool) -> Self {
        self.with(|net| {
            net.rate_limit = yes;
            Ok(())
        })
    }

    /// Validates the options and builds the client.
    pub fn build(self) -> Result<WebClient, Error> {
        WebClient::from_net(&self.net?)
    }
}
