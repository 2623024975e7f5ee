//! The Slack Web API client, [`WebClient`].
//!
//! One [`ureq::Agent`] (with its connection pool) behind an `Arc`: cheap to clone and to share
//! between threads. The token travels only in the `Authorization: Bearer` header of requests to
//! the Web API base URL; it never appears in a URL, a request body, a log line, a `Debug`
//! output or an error, and never goes to a file upload host.
//!
//! Read methods (`conversations.history`, `users.info`, ...) are sent as `GET` with the
//! parameters in the query string, as Slack's Python `WebClient` does; every other call is a
//! `POST` to `<base_url><method>`: a JSON body, except for the methods that historically do not
//! accept JSON (`rtm.*`, `auth.*`, `conversations.*`, `users.*`, `files.*`, ...) and calls
//! without parameters, which get an `application/x-www-form-urlencoded` body. An answer with
//! HTTP 2xx and `"ok": true` is a [`SlackResponse`]; anything else is an [`Error::Api`]
//! carrying Slack's error code, the body and the `Retry-After` delay. Failed calls are retried
//! as the `retry` module's table says.
//!
//! Layout: `builder` (options), `encode` (verb and body), `response` (answers and errors),
//! `retry` and `limiter` (I/O-free policies), `pages` (cursor pagination), `methods` (typed
//! helpers), `upload` (`files_upload_v2`).

mod builder;
mod encode;
mod limiter;
mod methods;
mod oauth;
mod pages;
mod response;
mod retry;
mod upload;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use log::{debug, trace, warn};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use builder::WebClientBuilder;
pub use pages::Pages;
#[doc(hidden)]
pub use response::__fuzz_web_answer;
pub use response::SlackResponse;
pub use upload::FileUpload;

/// An older name for [`ChatMessage`](crate::ChatMessage), kept so existing code compiles.
#[doc(hidden)]
pub type PostMessage<'a> = crate::chat::ChatMessage<'a>;

use crate::config::net::{self, redact_userinfo};
use crate::config::NetConfig;
use crate::error::Error;
use encode::Request;
use limiter::Limiter;
use response::{
    classify_answer, find_header, interpret, interpret_hook, map_ureq_error, MAX_BODY, RESPONSE_URL,
};
use retry::{Failure, Policy};

/// The `User-Agent` of every Web API request.
const USER_AGENT: &str = concat!("slack-rtm/", env!("CARGO_PKG_VERSION"), " ureq");

/// Methods whose answer carries a single-use URL (a websocket ticket): its `url` is redacted
/// in TRACE logs, and the request says `Connection: close`. A connect call is made once per
/// (re)connect, and the client may then idle for hours: a kept-alive connection would sit in the
/// agent's pool holding its socket, its buffers and, over TLS, its OpenSSL session (about
/// 0.5 MB of an idle client's 11 MB over TLS, 0.26 MB over ws) until the next Web API call.
const TICKET_METHODS: &[&str] = &["rtm.connect", "rtm.start", "apps.connections.open"];

/// A Slack Web API client over one [`ureq::Agent`]. Cheap to clone (an `Arc` inside), `Send` and
/// `Sync`: clones share the connection pool and the rate limiter.
///
/// Create one with [`WebClient::new`] (all defaults) or [`WebClient::builder`].
///
/// ```no_run
/// # fn main() -> Result<(), slack_rtm::Error> {
/// use slack_rtm::WebClient;
///
/// let web = WebClient::new("xoxb-your-token")?;
/// let me = web.auth_test()?;
/// println!("I am {}", me.get("user").and_then(|u| u.as_str()).unwrap_or("?"));
///
/// let posted = web.chat_post_message("C0123456789", "Hello from slack-rtm")?;
/// let ts = posted.get("ts").and_then(|t| t.as_str()).unwrap_or_default();
/// web.reactions_add("C0123456789", ts, "wave")?;
///
/// // Every page of a cursor-paginated method.
/// for page in web.conversations_list(&serde_json::json!({"limit": 200})) {
///     let page = page?;
///     for channel in page.get("channels").and_then(|c| c.as_array()).into_iter().flatten() {
///         println!("{}", channel["name"]);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WebClient {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    base_url: String,
    /// `Bearer <token>`: the only place the token is kept.
    authorization: String,
    headers: Vec<(String, String)>,
    /// The host of `base_url`, for TLS errors.
    host: String,
    timeout: Duration,
    explicit_proxy: bool,
    policy: Policy,
    limiter: Option<Mutex<Limiter>>,
}

impl fmt::Debug for WebClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("WebClient")
            .field("base_url", &redact_userinfo(&i.base_url))
            .field("timeout", &i.timeout)
            .field("explicit_proxy", &i.explicit_proxy)
            .field(
                "headers",
                &i.headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("max_retries", &i.policy.max_retries)
            .field("retry_server_errors", &i.policy.retry_server_errors)
            .field("rate_limit", &i.limiter.is_some())
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What makes two agents different: everything else (token, base URL, headers, retries) is
/// per request.
#[derive(PartialEq, Eq, Hash)]
struct AgentKey {
    timeout: Duration,
    tls: crate::tls::TlsKey,
    /// URI, user name, password, from the environment.
    proxy: Option<(String, Option<String>, Option<String>, bool)>,
}

/// The process's agent for `key`, made on first use. Clients with the same network setup share
/// one agent, so one trust store, one TLS context and one pool of idle connections (ureq keeps
/// at most 10, 3 per host) serve a thousand clients, instead of a copy each (a pooled
/// connection holds 256 KiB of buffers; a TLS context several megabytes). The token is sent
/// per request, so sharing the pool mixes nothing.
fn shared_agent(key: AgentKey, make: impl FnOnce() -> ureq::Agent) -> ureq::Agent {
    let mut agents = agents().lock().unwrap_or_else(|e| e.into_inner());
    agents.entry(key).or_insert_with(make).clone()
}

fn agents() -> &'static Mutex<HashMap<AgentKey, ureq::Agent>> {
    static AGENTS: OnceLock<Mutex<HashMap<AgentKey, ureq::Agent>>> = OnceLock::new();
    AGENTS.get_or_init(Mutex::default)
}

impl WebClient {
    /// A client with every default: base URL `https://slack.com/api/`, a 30 second timeout, the
    /// proxy from the environment, the system trust store, up to 3 retries.
    ///
    /// Fails with [`Error::Config`] when the token is empty or contains whitespace.
    pub fn new(token: &str) -> Result<WebClient, Error> {
        WebClient::builder(token).build()
    }

    /// A builder to set the base URL, timeout, proxy, TLS options, extra headers, retries and
    /// the rate limiter.
    pub fn builder(token: &str) -> WebClientBuilder {
        WebClientBuilder::new(token)
    }

    /// A builder for a client that sends no token: for [`oauth_v2_access`](WebClient::oauth_v2_access)
    /// (authenticated with the app's client id and secret) before any workspace has installed
    /// the app. Any other call answers Slack's `not_authed`; [`with_token`](WebClient::with_token)
    /// makes a client with a token and the same network setup.
    pub fn builder_without_token() -> WebClientBuilder {
        WebClientBuilder::without_token()
    }

    /// The client for a [`NetConfig`] (used by the RTM client, which owns one).
    pub(crate) fn from_net(net: &NetConfig) -> Result<WebClient, Error> {
        // ureq's deadlines overflow (and panic) on a timeout like `Duration::MAX`.
        let timeout = net.timeout.min(net::MAX_TIMEOUT);
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            // TLS is the connector chain's (`TlsOptions::ureq_connector`): the websocket's
            // context and trust store, shared.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::NativeTls)
                    .build(),
            )
            .user_agent(USER_AGENT);
        // The websocket makes the same choice (`config::net::proxy_for`): the explicit proxy,
        // else the environment's if it is an http:// one (ureq applies its NO_PROXY per request).
        let proxy = match &net.proxy {
            Some(proxy) => Some(proxy.clone()),
            None => net::env_proxy(),
        };
        let key = AgentKey {
            timeout,
            tls: net.tls.key(),
            proxy: proxy.as_ref().map(|p| {
                (
                    p.uri().to_string(),
                    p.username().map(str::to_string),
                    p.password().map(str::to_string),
                    p.is_from_env(),
                )
            }),
        };
        config = config.proxy(proxy);
        let agent = shared_agent(key, || {
            ureq::Agent::with_parts(
                config.build(),
                net.tls.ureq_connector(),
                ureq::unversioned::resolver::DefaultResolver::default(),
            )
        });
        Ok(WebClient {
            inner: Arc::new(Inner {
                agent,
                base_url: net.base_url.clone(),
                // No token (an OAuth-only client): no header.
                authorization: match net.token.secret() {
                    "" => String::new(),
                    token => format!("Bearer {token}"),
                },
                // `NetConfig::add_header` refuses the reserved names.
                headers: net.headers.clone(),
                host: host_of(&net.base_url),
                timeout: net.timeout,
                explicit_proxy: net.proxy.is_some(),
                policy: Policy {
                    max_retries: net.max_retries,
                    retry_server_errors: net.retry_server_errors,
                    max_wait: net.max_retry_wait,
                },
                limiter: net.rate_limit.then(|| Mutex::new(Limiter::default())),
            }),
        })
    }

    /// The base URL methods are appended to, with its trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Calls a Web API method with `params`: anything that serializes to a JSON object (a
    /// `serde_json::Value`, a `#[derive(Serialize)]` struct, a map), or to `null` (`&()`) for
    /// none.
    ///
    /// Read methods (`conversations.history`, `users.info`, ... — the ones Slack's Python
    /// client sends as `GET`) go as `GET` with the parameters in the query string. The others
    /// are `POST`s with a JSON body, except for the methods that historically only take form
    /// data (`rtm.*`, `auth.*`, `conversations.*`, `users.*`, `files.*`, `team.*`, `bots.*`,
    /// `emoji.*` and the legacy `channels.*`, `groups.*`, `im.*`, `mpim.*`) and for calls
    /// without parameters: those are sent `application/x-www-form-urlencoded`, strings,
    /// numbers and booleans as they are, arrays and objects JSON-encoded, `null` values left
    /// out.
    ///
    /// A rate-limited answer (HTTP 429 or `ratelimited`) is retried after its `Retry-After`,
    /// and a failure before the request reached Slack after a backoff, up to
    /// [`max_retries`](WebClientBuilder::max_retries) times; 5xx answers, timeouts and lost
    /// connections only with [`retry_server_errors`](WebClientBuilder::retry_server_errors).
    ///
    /// Returns the answer when the HTTP status is 2xx and the body has `"ok": true`. Otherwise:
    /// [`Error::Api`] with Slack's error code (or `http_<status>`, or `invalid_response` for a
    /// 2xx answer that is not a Slack answer) and the `Retry-After` delay when the header is
    /// present; [`Error::Timeout`] when the whole exchange took longer than the timeout;
    /// [`Error::Io`], [`Error::Tls`], [`Error::Proxy`] or [`Error::Http`] for transport
    /// failures; [`Error::Config`] when `method` is not a method name or `params` is neither
    /// an object nor `null`.
    pub fn api_call(
        &self,
        method: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        let params = to_params(method, params)?;
        self.call(method, &params, self.inner.policy)
    }

    /// [`api_call`](WebClient::api_call), with the answer's body decoded into `T` (any
    /// `serde::de::DeserializeOwned` type: a struct with the fields you need, a `Value`).
    ///
    /// Fails like `api_call`, and with [`Error::Api`] (code `invalid_response`, the body kept)
    /// when the body does not decode into `T`.
    pub fn api_call_as<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Result<T, Error> {
        let resp = self.api_call(method, params)?;
        let status = resp.status();
        let body = resp.into_data();
        T::deserialize(&body).map_err(|e| {
            debug!("web api {method}: the answer does not decode: {e}");
            Error::Api {
                method: method.to_string(),
                status,
                code: "invalid_response".into(),
                body,
                retry_after: None,
            }
        })
    }

    /// `rtm.connect`, e.g. with `{}` or `{"batch_presence_aware": true}`.
    ///
    /// Made once, without the client's retries: the RTM client's reconnect loop owns the
    /// retries of this Tier 1 method (backoff, `Retry-After`, the connect-rate gate).
    ///
    /// Besides the errors of [`api_call`](WebClient::api_call), fails with [`Error::NoUrl`]
    /// when Slack answered `ok: true` without a websocket `url`; a successful answer always
    /// has `url` as a string.
    pub fn rtm_connect(&self, params: &(impl Serialize + ?Sized)) -> Result<SlackResponse, Error> {
        self.rtm("rtm.connect", params)
    }

    /// `rtm.start`, the deprecated method (since 2022 Slack answers it like `rtm.connect`).
    ///
    /// Made once and fails like [`rtm_connect`](WebClient::rtm_connect), including
    /// [`Error::NoUrl`].
    pub fn rtm_start(&self, params: &(impl Serialize + ?Sized)) -> Result<SlackResponse, Error> {
        self.rtm("rtm.start", params)
    }

    fn rtm(
        &self,
        method: &str,
        params: &(impl Serialize + ?Sized),
    ) -> Result<SlackResponse, Error> {
        let params = to_params(method, params)?;
        let resp = self.call(method, &params, Policy::NEVER)?;
        match resp.get("url") {
            Some(Value::String(url)) if !url.is_empty() => Ok(resp),
            _ => Err(Error::NoUrl {
                method: method.to_string(),
            }),
        }
    }

    /// Every page of a cursor-paginated method (`conversations.list`, `users.list`,
    /// `conversations.history`, ... — any method that answers `response_metadata.next_cursor`).
    ///
    /// The first request sends `params` as given; each following one adds the `cursor` from
    /// the previous answer's `response_metadata.next_cursor`, until that is empty or absent.
    /// The iterator yields each page, and after the first error yields that error and ends;
    /// `Pages::cursor` then tells where to resume. A `next_cursor` already sent (a cycle) ends
    /// it with [`Error::Api`] code `repeated_cursor`.
    pub fn paginate<'a>(
        &'a self,
        method: &'a str,
        params: &(impl Serialize + ?Sized),
    ) -> Pages<'a> {
        Pages::new(self, method, to_params(method, params))
    }

    /// One call with `policy`'s retries and the rate limiter.
    pub(crate) fn call(
        &self,
        method: &str,
        params: &Value,
        policy: Policy,
    ) -> Result<SlackResponse, Error> {
        self.call_as(method, params, policy, &self.inner.authorization)
    }

    /// [`call`](WebClient::call) with this `Authorization` header value instead of the
    /// client's token (empty: none).
    pub(crate) fn call_as(
        &self,
        method: &str,
        params: &Value,
        policy: Policy,
        authorization: &str,
    ) -> Result<SlackResponse, Error> {
        let request = encode::encode(method, params)?;
        let channel = params.get("channel").and_then(Value::as_str);
        let url = format!("{}{}", self.inner.base_url, method);
        self.with_retries(method, Some(channel), policy, || {
            self.send(method, &url, &request, authorization)
        })
    }

    /// The client's retry policy.
    pub(crate) fn policy(&self) -> Policy {
        self.inner.policy
    }

    /// A client with the same network setup (base URL, agent and its connection pool, proxy,
    /// TLS, headers, retries) and another token: the client of one workspace, in an app that
    /// many workspaces installed. A rate limiter, when on, starts afresh for the new token.
    ///
    /// Fails with [`Error::Config`] when the token is empty or contains whitespace.
    pub fn with_token(&self, token: &str) -> Result<WebClient, Error> {
        let token = crate::config::Token::new(token)?;
        let i = &*self.inner;
        Ok(WebClient {
            inner: Arc::new(Inner {
                agent: i.agent.clone(),
                base_url: i.base_url.clone(),
                authorization: format!("Bearer {}", token.secret()),
                headers: i.headers.clone(),
                host: i.host.clone(),
                timeout: i.timeout,
                explicit_proxy: i.explicit_proxy,
                policy: i.policy,
                limiter: i.limiter.as_ref().map(|_| Mutex::new(Limiter::default())),
            }),
        })
    }

    /// Runs `attempt` until it succeeds or `policy` gives up. With `limit` (the channel of the
    /// call, if any), it first waits for the rate limiter's budget for `method` each time;
    /// `None` is for requests that are not Web API calls (file uploads).
    pub(crate) fn with_retries<T>(
        &self,
        method: &str,
        limit: Option<Option<&str>>,
        policy: Policy,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, Error> {
        let mut retries = 0;
        let mut waited = Duration::ZERO;
        loop {
            let limiter = self.inner.limiter.as_ref().zip(limit);
            if let Some((limiter, channel)) = limiter {
                let wait = {
                    let mut l = lock(limiter);
                    let now = Instant::now();
                    let wait = l.wait(method, channel, now);
                    // Never a wait the retries could not make either (a long Retry-After
                    // from Slack): the call fails at once, with the wait as its Retry-After.
                    if wait > policy.max_wait.saturating_sub(waited) {
                        drop(l);
                        debug!(
                            "web api {method}: the rate limiter holds it for {} ms: not sent",
                            wait.as_millis()
                        );
                        return Err(held_by_limiter(method, wait));
                    }
                    l.acquire(method, channel, now)
                };
                if !wait.is_zero() {
                    debug!(
                        "web api {method}: waiting {} ms for the rate limiter",
                        wait.as_millis()
                    );
                    std::thread::sleep(wait);
                }
            }
            let failure = match attempt() {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            if let (Failure::RateLimited(_, Some(after)), Some((limiter, channel))) =
                (&failure, limiter)
            {
                lock(limiter).penalize(method, channel, Instant::now(), *after);
            }
            match policy.next_wait(&failure, retries, waited, rand::random::<f64>()) {
                Some(wait) => {
                    retries += 1;
                    warn!(
                        "web api {method}: {} ({}); retry {retries} of {} in {} ms",
                        failure.reason(),
                        failure.error(),
                        policy.max_retries,
                        wait.as_millis()
                    );
                    std::thread::sleep(wait);
                    waited += wait;
                }
                None => return Err(failure.into_error()),
            }
        }
    }

    /// Sends one request to the Web API and turns the answer into a response or a failure.
    fn send(
        &self,
        method: &str,
        url: &str,
        request: &Request,
        authorization: &str,
    ) -> Result<SlackResponse, Failure> {
        let inner = &*self.inner;
        let start = Instant::now();
        let close = TICKET_METHODS.contains(&method);
        let answer = match request {
            Request::Get { query } => {
                let url = if query.is_empty() {
                    Cow::Borrowed(url)
                } else {
                    Cow::Owned(format!("{url}?{query}"))
                };
                let mut req = inner.agent.get(url.as_ref());
                if close {
                    req = req.header("Connection", "close");
                }
                for (name, value) in &inner.headers {
                    req = req.header(name.as_str(), value.as_str());
                }
                if !authorization.is_empty() {
                    req = req.header("Authorization", authorization);
                }
                req.call()
            }
            Request::Post { content_type, body } => {
                let mut req = no_redirects(inner.agent.post(url));
                if close {
                    req = req.header("Connection", "close");
                }
                for (name, value) in &inner.headers {
                    req = req.header(name.as_str(), value.as_str());
                }
                if !authorization.is_empty() {
                    req = req.header("Authorization", authorization);
                }
                req.header("Content-Type", *content_type).send(&body[..])
            }
        };
        let elapsed = start.elapsed().as_millis();
        let (status, headers, body) = match answer.and_then(read_answer) {
            Ok(answer) => answer,
            Err(e) => {
                let failure = map_ureq_error(e, &inner.host);
                debug!(
                    "web api {method}: failed after {elapsed} ms: {}",
                    failure.error()
                );
                return Err(failure);
            }
        };
        trace_body(method, &body);
        let retry_after = find_header(&headers, "retry-after");
        match interpret(method, status, retry_after, &body) {
            Ok(data) => {
                debug!("web api {method}: http {status}, ok, {elapsed} ms");
                Ok(SlackResponse::new(data, status, headers))
            }
            Err(err) => {
                if let Error::Api { code, .. } = &err {
                    debug!("web api {method}: http {status}, {code}, {elapsed} ms");
                }
                Err(classify_answer(err))
            }
        }
    }

    /// POSTs `bytes` to a file upload URL: no `Authorization` and no custom header (the upload
    /// host is not the Web API and must never see the token). Any 2xx answer is success.
    fn send_upload(&self, url: &str, bytes: &[u8]) -> Result<(), Failure> {
        let inner = &*self.inner;
        let host = host_of(url);
        let answer = no_redirects(inner.agent.post(url))
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .and_then(read_answer);
        match answer {
            Ok((status, _, _)) if (200..300).contains(&status) => Ok(()),
            Ok((status, _, _)) if is_redirect(status) => {
                warn!("file upload: the upload URL answered a redirect (HTTP {status}): not followed, the file was not delivered");
                Err(Failure::Final(Error::http(format!(
                    "the upload URL answered a redirect (HTTP {status}); a POST is never redirected, so the file was not delivered"
                ))))
            }
            Ok((status, headers, body)) => {
                let retry_after = find_header(&headers, "retry-after");
                let err = interpret("file upload", status, retry_after, &body)
                    .err()
                    .unwrap_or_else(|| Error::http(format!("the upload answered {status}")));
                Err(classify_answer(err))
            }
            Err(e) => Err(map_ureq_error(e, &host)),
        }
    }
}

impl WebClient {
    /// Posts `body` (a JSON object: `{"text": …}`, `{"blocks": …}`, `{"replace_original":
    /// true, …}`, `{"response_type": "in_channel", …}`) to a `response_url` from a slash
    /// command or an interaction payload, as Bolt's `respond()` does. Slack accepts up to 5
    /// posts to one `response_url` within 30 minutes.
    ///
    /// The token is never sent (a `response_url` authorizes itself), nor the client's extra
    /// headers; the proxy, TLS options, timeout and retries are the client's (a 5xx answer is
    /// retried only with [`retry_server_errors`](WebClientBuilder::retry_server_errors), and
    /// a retried post may show twice). The URL never appears in logs or errors. A redirect is
    /// not followed (it would turn the POST into a GET): it fails.
    ///
    /// Returns the answer on a 2xx status: a JSON answer as it is, Slack's usual text answer
    /// (`ok`) as `{"ok": true, "body": "ok"}`. Otherwise [`Error::Api`] (method
    /// `response_url`) with the code Slack answered as text or JSON (`expired_url`,
    /// `no_text`, `invalid_blocks`, `used_url`, …) or `http_<status>`; transport failures as
    /// for [`api_call`](WebClient::api_call); [`Error::Config`] when `url` is not an `http://`
    /// or `https://` URL.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), slack_rtm::Error> {
    /// # let web = slack_rtm::WebClient::new("xoxb-your-token")?;
    /// # let payload = serde_json::json!({});
    /// let url = payload["response_url"].as_str().unwrap_or_default();
    /// web.post_response_url(url, &serde_json::json!({"text": "done", "replace_original": true}))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn post_response_url(&self, url: &str, body: &Value) -> Result<SlackResponse, Error> {
        let scheme_ok = ["https://", "http://"].iter().any(|s| {
            url.get(..s.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s))
        });
        if !scheme_ok || url.len() <= "http://".len() {
            return Err(Error::Config(
                "a response_url must be an http:// or https:// URL".into(),
            ));
        }
        // A Value always serializes.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.with_retries(RESPONSE_URL, None, self.inner.policy, || {
            self.send_response_url(url, &bytes)
        })
    }

    fn send_response_url(&self, url: &str, bytes: &[u8]) -> Result<SlackResponse, Failure> {
        let inner = &*self.inner;
        let start = Instant::now();
        let answer = no_redirects(inner.agent.post(url))
            .header("Content-Type", "application/json; charset=utf-8")
            .send(bytes)
            .and_then(read_answer);
        let elapsed = start.elapsed().as_millis();
        let (status, headers, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let failure = map_ureq_error(e, &host_of(url));
                debug!(
                    "{RESPONSE_URL}: failed after {elapsed} ms: {}",
                    failure.error()
                );
                return Err(failure);
            }
        };
        if is_redirect(status) {
            warn!("{RESPONSE_URL}: answered a redirect (HTTP {status}): not followed, nothing was delivered");
        }
        let retry_after = find_header(&headers, "retry-after");
        match interpret_hook(status, retry_after, &body) {
            Ok(data) => {
                debug!("{RESPONSE_URL}: http {status}, ok, {elapsed} ms");
                Ok(SlackResponse::new(data, status, headers))
            }
            Err(err) => {
                if let Error::Api { code, .. } = &err {
                    debug!("{RESPONSE_URL}: http {status}, {code}, {elapsed} ms");
                }
                Err(classify_answer(err))
            }
        }
    }
}

/// The error of a call the rate limiter holds for longer than the retries would wait: like
/// Slack's own 429 (code `ratelimited`, the wait as `retry_after`), though nothing was sent.
fn held_by_limiter(method: &str, wait: Duration) -> Error {
    Error::Api {
        method: method.to_string(),
        status: 429,
        code: "ratelimited".into(),
        body: serde_json::json!({
            "ok": false,
            "error": "ratelimited",
            "warning": "held by the client-side rate limiter: not sent",
        }),
        retry_after: Some(wait),
    }
}

/// A POST is never redirected: ureq would follow a 301/302/303 with a body-less GET and report
/// that answer, so a redirected POST is answered as the redirect itself, and fails.
fn no_redirects(
    req: ureq::RequestBuilder<ureq::typestate::WithBody>,
) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
    req.config().max_redirects(0).build()
}

fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status)
}

/// Status, lower-cased headers and body of an answer.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn read_answer(mut resp: ureq::http::Response<ureq::Body>) -> Result<Answer, ureq::Error> {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((name.as_str().to_ascii_lowercase(), value.to_string()))
        })
        .collect::<Vec<_>>();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()?;
    Ok((status, headers, body))
}

/// Logs an answer at TRACE, without credentials: `oauth.*` answers (tokens) are left out, and
/// single-use URLs (websocket tickets, upload URLs) are redacted.
fn trace_body(method: &str, body: &[u8]) {
    if !log::log_enabled!(log::Level::Trace) || method.starts_with("oauth.") {
        return;
    }
    let redact: &[&str] = if TICKET_METHODS.contains(&method) {
        &["url"]
    } else if method == "files.getUploadURLExternal" {
        &["upload_url"]
    } else {
        &[]
    };
    trace!("web api {method}: response body {}", redacted(body, redact));
}

/// The body as text, with the string fields named in `fields` replaced by `<redacted>`.
fn redacted<'b>(body: &'b [u8], fields: &[&str]) -> Cow<'b, str> {
    if fields.is_empty() {
        return String::from_utf8_lossy(body);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            for field in fields {
                if let Some(v) = map.get_mut(*field) {
                    *v = Value::from("<redacted>");
                }
            }
            Cow::Owned(Value::Object(map).to_string())
        }
        // Not a JSON object: nothing to show safely.
        _ => Cow::Owned(format!("<{} bytes, not shown>", body.len())),
    }
}

/// `params` as a JSON value (an object or `null` are accepted by `encode`).
fn to_params(method: &str, params: &(impl Serialize + ?Sized)) -> Result<Value, Error> {
    serde_json::to_value(params)
        .map_err(|e| Error::Config(format!("the params of {method} cannot be serialized: {e}")))
}

fn lock(limiter: &Mutex<Limiter>) -> std::sync::MutexGuard<'_, Limiter> {
    // The limiter's state is valid after any panic (a map of instants).
    limiter.lock().unwrap_or_else(|e| e.into_inner())
}

/// The authority of a URL without user info: `host[:port]`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "xoxb-1234-secret-token";

    #[test]
    fn clients_with_the_same_network_setup_share_one_agent() {
        let timeout = Duration::from_secs(7_777);
        let count = || {
            agents()
                .lock()
                .unwrap()
                .keys()
                .filter(|k| k.timeout == timeout || k.timeout == timeout * 2)
                .count()
        };
        let make = |t: Duration, token: &str, base: &str| {
            WebClient::builder(token)
                .base_url(base)
                .timeout(t)
                .build()
                .unwrap()
        };
        make(timeout, "xoxb-a", "http://127.0.0.1:1/api/");
        assert_eq!(count(), 1);
        // Another token, another base URL: the same agent (both are per request).
        make(timeout, "xoxb-b", "http://127.0.0.1:2/api/");
        assert_eq!(count(), 1);
        // Another timeout: another agent.
        make(timeout * 2, "xoxb-a", "http://127.0.0.1:1/api/");
        assert_eq!(count(), 2);
    }

    #[test]
    fn url_helpers() {
        assert_eq!(host_of("https://slack.com/api/"), "slack.com");
        assert_eq!(host_of("http://u:p@127.0.0.1:8080/api/"), "127.0.0.1:8080");
        assert_eq!(
            redact_userinfo("http://u:p@h/api/"),
            "http://<redacted>@h/api/"
        );
        assert_eq!(
            redact_userinfo("https://slack.com/api/"),
            "https://slack.com/api/"
        );
    }

    #[test]
    fn tickets_are_redacted_in_traces() {
        let body = br#"{"ok":true,"url":"wss://x/websocket/SECRET","self":{"id":"U1"}}"#;
        let shown = redacted(body, &["url"]);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("U1"));
        assert!(!redacted(b"SECRET", &["url"]).contains("SECRET"));
        assert_eq!(redacted(b"plain", &[]), "plain");
    }

    #[test]
    fn client_is_send_sync_and_never_shows_the_token() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<WebClient>();
        let b = WebClient::builder(TOKEN).header("X-Extra", "1");
        assert!(!format!("{b:?}").contains(TOKEN));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains(TOKEN));
        assert_eq!(c.base_url(), "https://slack.com/api/");
    }

    #[test]
    fn builder_errors_are_deferred_to_build() {
        let e = WebClient::builder(TOKEN)
            .timeout(Duration::ZERO)
            .base_url("http://127.0.0.1:1/")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)));
        assert!(WebClient::builder(TOKEN)
            .base_url("ftp://x/")
            .build()
            .is_err());
        assert!(WebClient::builder(TOKEN)
            .header("Content-Type", "text/plain")
            .build()
            .is_err());
        assert!(WebClient::builder(TOKEN)
            .header("Authorization", "Bearer x")
            .build()
            .is_err());
        assert!(WebClient::new("  ").is_err());
        // A huge timeout is capped, not refused.
        assert!(WebClient::builder(TOKEN)
            .timeout(Duration::MAX)
            .build()
            .is_ok());
    }

    #[test]
    fn params_must_be_an_object_or_null() {
        let c = WebClient::builder(TOKEN)
            .base_url("http://127.0.0.1:1/api")
            .build()
            .unwrap();
        let e = c.api_call("chat.postMessage", &json!([1])).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        let e = c.api_call("chat.postMessage", &"text").unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        let mut pages = c.paginate("conversations.list", &json!("x"));
        assert!(matches!(pages.next(), Some(Err(Error::Config(_)))));
        assert!(pages.next().is_none());
    }
}
