//! [`WebClientBuilder`]: the options of a [`WebClient`].

use std::fmt;

use super::WebClient;
use crate::config::net::redact_userinfo;
use crate::config::setters::net_setters;
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

    /// Validates the options and builds the client.
    pub fn build(self) -> Result<WebClient, Error> {
        WebClient::from_net(&self.net?)
    }
}

net_setters!(WebClientBuilder, |net| net);
