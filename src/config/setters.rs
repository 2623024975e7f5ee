//! The setters every builder shares, written once. [`net_setters`] gives `RtmClientBuilder`,
//! `SocketModeClientBuilder` and `WebClientBuilder` the network and Web API options (where
//! Slack is, how to reach it, retries, the rate limiter); [`engine_setters`] gives the two
//! websocket clients' builders the engine options (reconnects, backoff, limits, signals).
//!
//! Each builder keeps its options as `Result<_, Error>` and has a private
//! `fn with(self, f: impl FnOnce(&mut Options) -> Result<(), Error>) -> Self` that applies `f`
//! unless an earlier option failed (the first error is what `build()` reports). A macro call
//! names the builder and where, in its options, the [`NetConfig`](super::NetConfig) or the
//! [`EngineOptions`](super::EngineOptions) are:
//!
//! ```ignore
//! net_setters!(RtmClientBuilder, |c| c.net);
//! engine_setters!(RtmClientBuilder, |c| c.engine, connect = "rtm.connect");
//! ```
//!
//! Options whose default or meaning differs by protocol (`ping_interval`, `pong_timeout`,
//! `channel_capacity`) are each builder's own.

/// The network and Web API setters (see the module docs).
macro_rules! net_setters {
    ($builder:ty, |$c:ident| $net:expr) => {
        impl $builder {
            /// The Web API base URL (`http://` or `https://`), for every Web API call (the
            /// connect call, `rtm.connect` or `apps.connections.open`, included). A missing
            /// trailing `/` is added.
            ///
            /// Defaults to `https://slack.com/api/`.
            pub fn base_url(self, url: &str) -> Self {
                self.with(|$c| $net.set_base_url(url))
            }

            /// The bound on every network wait: each Web API request as a whole (connecting,
            /// including proxy and TLS, sending, and reading the answer; retries get their own
            /// bound each) and, for the RTM and Socket Mode clients, the websocket connect as
            /// a whole (TCP connect, proxy `CONNECT`, TLS handshake and websocket handshake
            /// share one deadline), each websocket write, and the wait for `hello` after the
            /// handshake. A timeout error names the phase that expired (see the crate docs).
            ///
            /// Defaults to 30 seconds. Must not be zero; longer than a year counts as a year.
            pub fn timeout(self, timeout: ::std::time::Duration) -> Self {
                self.with(|$c| $net.set_timeout(timeout))
            }

            /// An HTTP proxy, `http://[user:password@]host[:port]`, used for the Web API and,
            /// for the RTM and Socket Mode clients, the websocket (both tunnel through
            /// `CONNECT`). Only `http://` proxies are supported.
            ///
            /// Defaults to none: the `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY` environment
            /// variables (and `NO_PROXY`) decide, as in ureq.
            pub fn proxy(self, url: &str) -> Self {
                self.with(|$c| $net.set_proxy(url))
            }

            /// Trust these CA certificates (PEM, one or several) **instead of** the system
            /// store, for the Web API and, for the RTM and Socket Mode clients, the
            /// websocket. Repeated calls add to the set. This is the Python client's `ssl`
            /// option, as data.
            ///
            /// Defaults to the system trust store as OpenSSL sees it (`SSL_CERT_FILE` and
            /// `SSL_CERT_DIR` apply).
            pub fn root_certificate(self, pem: &[u8]) -> Self {
                self.with(|$c| $net.tls.add_roots(pem))
            }

            /// Present a client certificate: a PEM certificate chain and a PKCS#8 PEM private
            /// key, on every connection to Slack.
            ///
            /// Defaults to none.
            pub fn client_identity(self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
                self.with(|$c| $net.tls.set_identity(cert_pem, key_pem))
            }

            /// An extra header for every request to the Web API (not to a file upload host,
            /// and not on the websocket handshake, as in the Python client: the websocket URL
            /// carries its own credentials). `Authorization` (set from the token) and the body
            /// framing headers (`Content-Type`, `Content-Length`, `Transfer-Encoding`, `Host`)
            /// are refused by `build()`.
            ///
            /// Defaults to none.
            pub fn header(self, name: &str, value: &str) -> Self {
                self.with(|$c| $net.add_header(name, value))
            }

            /// How many times a Web API call is retried after HTTP 429 / `ratelimited`
            /// (waiting `Retry-After`) or after a failure before the request reached Slack
            /// (DNS, connect, proxy, TLS; waiting a backoff). 0 turns retries off. Each retry
            /// is logged at `warn`. For the RTM and Socket Mode clients this is the Web API
            /// client handlers get, not the connect call (`rtm.connect`,
            /// `apps.connections.open`), which keeps its own rules: the reconnect loop retries
            /// it.
            ///
            /// Defaults to 3 (at most 4 calls).
            pub fn max_retries(self, retries: u32) -> Self {
                self.with(|$c| {
                    $net.max_retries = retries;
                    Ok(())
                })
            }

            /// Also retry HTTP 5xx answers, timeouts and connections lost after the request
            /// was sent. Slack may have acted on such a request: a retried `chat.postMessage`
            /// can post the message twice. Turn it on for idempotent calls (reads,
            /// `reactions.add`, `views.publish`). For the RTM and Socket Mode clients, as
            /// [`max_retries`](Self::max_retries): the handlers' Web API client.
            ///
            /// Defaults to `false`.
            pub fn retry_server_errors(self, yes: bool) -> Self {
                self.with(|$c| {
                    $net.retry_server_errors = yes;
                    Ok(())
                })
            }

            /// The longest total wait for the retries of one Web API call: a retry whose wait
            /// would pass it is not made, and the last error (with its `Retry-After`) is
            /// returned. For the RTM and Socket Mode clients, as
            /// [`max_retries`](Self::max_retries): the handlers' Web API client.
            ///
            /// Defaults to 120 seconds; longer than a year counts as a year.
            pub fn max_retry_wait(self, wait: ::std::time::Duration) -> Self {
                self.with(|$c| {
                    $net.set_max_retry_wait(wait);
                    Ok(())
                })
            }

            /// A client-side rate limiter: each Web API call first waits for budget from its
            /// method's tier (`chat.postMessage`: about one per second per channel), so bursts
            /// are spread out instead of earning 429s. The budgets are shared by the clones of
            /// the client. See the crate docs for the table. After a 429, the method waits out
            /// its `Retry-After`; a call that would wait longer than
            /// [`max_retry_wait`](Self::max_retry_wait) fails at once with
            /// [`Error::Api`](crate::Error::Api) `ratelimited` and that wait as `retry_after`.
            /// For the RTM and Socket Mode clients, as [`max_retries`](Self::max_retries): the
            /// handlers' Web API client.
            ///
            /// Defaults to `false`.
            pub fn rate_limit(self, yes: bool) -> Self {
                self.with(|$c| {
                    $net.rate_limit = yes;
                    Ok(())
                })
            }
        }
    };
}

/// The engine setters of the websocket clients' builders (see the module docs); `connect`
/// names the protocol's connect call for the docs.
macro_rules! engine_setters {
    ($builder:ty, |$c:ident| $engine:expr, connect = $connect:literal) => {
        impl $builder {
            /// Whether to reconnect when the connection drops (not after `stop()`). With
            /// `false`, `start()` returns [`Error::Disconnected`](crate::Error::Disconnected)
            /// when the connection ends, and the first failed connection attempt is returned
            /// as is.
            ///
            /// Defaults to `true`.
            pub fn auto_reconnect(self, yes: bool) -> Self {
                self.with(|$c| {
                    $engine.auto_reconnect = yes;
                    Ok(())
                })
            }

            /// Whether `start()` stops gracefully on SIGINT, SIGTERM and SIGHUP. `spawn()`
            /// never handles signals.
            ///
            /// Defaults to `true`.
            pub fn handle_signals(self, yes: bool) -> Self {
                self.with(|$c| {
                    $engine.handle_signals = yes;
                    Ok(())
                })
            }

            /// The reconnect backoff: after the `k`-th failure in a row, the delay is drawn
            /// uniformly from `0..=min(cap, base * 2^(k-1))` (full jitter); a `Retry-After`
            /// is a floor.
            ///
            /// Defaults to a 1 second base and a 60 second cap.
            pub fn backoff(self, base: ::std::time::Duration, cap: ::std::time::Duration) -> Self {
                self.with(|$c| {
                    ($engine.backoff_base, $engine.backoff_cap) =
                        $crate::config::check::backoff(base, cap)?;
                    Ok(())
                })
            }

            /// How long a connection must stay up before the backoff attempt counter resets.
            ///
            /// Defaults to 30 seconds.
            pub fn healthy_after(self, after: ::std::time::Duration) -> Self {
                self.with(|$c| {
                    $engine.healthy_after = $crate::config::capped(after);
                    Ok(())
                })
            }

            #[doc = concat!(
                "The connect-rate gate: at most `burst` calls to `", $connect, "` in a row, ",
                "then one per `interval` (Slack's Tier 1 rate limit is about one per minute).",
            )]
            ///
            /// Defaults to a burst of 5 and 60 seconds.
            pub fn connect_rate(self, burst: u32, interval: ::std::time::Duration) -> Self {
                self.with(|$c| {
                    ($engine.connect_burst, $engine.connect_interval) =
                        $crate::config::check::connect_rate(burst, interval)?;
                    Ok(())
                })
            }

            /// Give up after this many failed connection attempts in a row (the last error is
            /// returned from `start()`).
            ///
            /// Defaults to no limit.
            pub fn max_attempts(self, attempts: u32) -> Self {
                self.with(|$c| {
                    $engine.max_attempts = $crate::config::check::max_attempts(attempts)?;
                    Ok(())
                })
            }

            /// The largest inbound websocket message accepted. A larger one gives an `error`
            /// event and a fresh connection.
            ///
            /// Defaults to 4 MiB.
            pub fn max_message_size(self, bytes: usize) -> Self {
                self.with(|$c| {
                    $engine.max_message_size = $crate::config::check::max_message_size(bytes)?;
                    Ok(())
                })
            }
        }
    };
}

pub(crate) use engine_setters;
pub(crate) use net_setters;
