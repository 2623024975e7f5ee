//! The Slack Web API client, [`WebClient`].
//!
//! One [`ureq::Agent`] (with its connection pool) behind an `Arc`: cheap to clone and to share
//! between threads. The token travels only in the `Authorization: Bearer` header; it never
//! appears in a URL, a request body, a log line, a `Debug` output or an error.
//!
//! Every call is a `POST` to `<base_url><method>`. Most methods get a JSON body; the read
//! methods that historically do not accept JSON (`rtm.*`, `auth.*`, `conversations.*`,
//! `users.*`, ...) and calls without parameters get an `application/x-www-form-urlencoded` body.
//! An answer with HTTP 2xx and `"ok": true` is a [`SlackResponse`]; anything else is an
//! [`Error::Api`] carrying Slack's error code, the body and the `Retry-After` delay.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, trace, warn};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::config::NetConfig;
use crate::error::{Error, Phase};

/// The largest response body read, 16 MiB.
const MAX_BODY: u64 = 16 << 20;

/// The `User-Agent` of every Web API request.
const USER_AGENT: &str = concat!("slack-rtm/", env!("CARGO_PKG_VERSION"), " ureq");

/// Headers that frame the request body or identify the caller; they are set per request and
/// cannot be added as custom headers.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
];

/// Method name prefixes that are sent as `application/x-www-form-urlencoded`: the read methods
/// that historically do not accept JSON bodies.
const FORM_PREFIXES: &[&str] = &[
    "rtm.",
    "auth.",
    "conversations.",
    "users.",
    "team.",
    "bots.",
    "emoji.",
    "channels.",
    "groups.",
    "im.",
    "mpim.",
];

/// `application/x-www-form-urlencoded`: everything but `A-Za-z0-9-._*` is percent-encoded.
const FORM_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";

/// A Slack Web API client over one [`ureq::Agent`]. Cheap to clone (an `Arc` inside), `Send` and
/// `Sync`: clones share the connection pool.
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
/// web.chat_post_message("C0123456789", "Hello from slack-rtm")?;
///
/// // Every page of a cursor-paginated method.
/// for page in web.paginate("conversations.list", &serde_json::json!({"limit": 200})) {
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
            .field("token", &"<redacted>")
            .finish()
    }
}

impl WebClient {
    /// A client with every default: base URL `https://slack.com/api/`, a 30 second timeout, the
    /// proxy from the environment, the system trust store.
    ///
    /// Fails with [`Error::Config`] when the token is empty or contains whitespace.
    pub fn new(token: &str) -> Result<WebClient, Error> {
        WebClient::builder(token).build()
    }

    /// A builder to set the base URL, timeout, proxy, TLS options and extra headers.
    pub fn builder(token: &str) -> WebClientBuilder {
        WebClientBuilder {
            net: NetConfig::new(token),
        }
    }

    /// The client for a [`NetConfig`] (used by the RTM client, which owns one).
    pub(crate) fn from_net(net: &NetConfig) -> Result<WebClient, Error> {
        // ureq's deadlines overflow (and panic) on a timeout like `Duration::MAX`.
        let timeout = net.timeout.min(crate::transport::MAX_TIMEOUT);
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .tls_config(net.tls.ureq_config()?)
            .user_agent(USER_AGENT);
        // The websocket makes the same choice (`transport::proxy`): the explicit proxy, else
        // the environment's if it is an http:// one (ureq applies its NO_PROXY per request).
        let proxy = match &net.proxy {
            Some(proxy) => Some(proxy.clone()),
            None => crate::transport::proxy::env_proxy(),
        };
        config = config.proxy(proxy);
        let agent: ureq::Agent = config.build().into();
        let headers = net
            .headers
            .iter()
            .filter(|(name, _)| {
                let reserved = is_reserved_header(name);
                if reserved {
                    warn!("ignoring the custom header {name:?}: it is set per request");
                }
                !reserved
            })
            .cloned()
            .collect();
        Ok(WebClient {
            inner: Arc::new(Inner {
                agent,
                base_url: net.base_url.clone(),
                authorization: format!("Bearer {}", net.token.secret()),
                headers,
                host: host_of(&net.base_url),
                timeout: net.timeout,
                explicit_proxy: net.proxy.is_some(),
            }),
        })
    }

    /// The base URL methods are appended to, with its trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Calls a Web API method with `params`, a JSON object (or `null` for none).
    ///
    /// The body is JSON, except for the methods that historically only take form data
    /// (`rtm.*`, `auth.*`, `conversations.*`, `users.*`, `team.*`, `bots.*`, `emoji.*` and the
    /// legacy `channels.*`, `groups.*`, `im.*`, `mpim.*`) and for calls without parameters:
    /// those are sent `application/x-www-form-urlencoded`, strings, numbers and booleans as
    /// they are, arrays and objects JSON-encoded, `null` values left out.
    ///
    /// Returns the answer when the HTTP status is 2xx and the body has `"ok": true`. Otherwise:
    /// [`Error::Api`] with Slack's error code (or `http_<status>`, or `invalid_response` for a
    /// 2xx answer that is not a Slack answer) and the `Retry-After` delay when the header is
    /// present; [`Error::Timeout`] when the whole exchange took longer than the timeout;
    /// [`Error::Io`], [`Error::Tls`], [`Error::Proxy`] or [`Error::Http`] for transport
    /// failures; [`Error::Config`] when `method` is not a method name or `params` is neither
    /// an object nor `null`.
    pub fn api_call(&self, method: &str, params: &Value) -> Result<SlackResponse, Error> {
        check_method(method)?;
        let empty = Map::new();
        let params = match params {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => {
                return Err(Error::Config(format!(
                    "the params of {method} must be a JSON object or null, got {}",
                    json_type(other)
                )))
            }
        };
        let (content_type, body) = if use_form(method, params.is_empty()) {
            (CONTENT_TYPE_FORM, form_encode(params).into_bytes())
        } else {
            let body = serde_json::to_vec(params)
                .map_err(|e| Error::Http(format!("cannot encode the params of {method}: {e}")))?;
            (CONTENT_TYPE_JSON, body)
        };
        self.post(method, content_type, &body)
    }

    /// `chat.postMessage` with a channel and a text.
    pub fn chat_post_message(&self, channel: &str, text: &str) -> Result<SlackResponse, Error> {
        self.chat_post_message_with(&PostMessage::new(channel, text))
    }

    /// `chat.postMessage` with every option of [`PostMessage`], sent as JSON.
    pub fn chat_post_message_with(&self, msg: &PostMessage<'_>) -> Result<SlackResponse, Error> {
        self.api_call("chat.postMessage", &msg.params())
    }

    /// `rtm.connect`, e.g. with `{}` or `{"batch_presence_aware": true}`.
    ///
    /// Besides the errors of [`api_call`](WebClient::api_call), fails with [`Error::NoUrl`]
    /// when Slack answered `ok: true` without a websocket `url`; a successful answer always
    /// has `url` as a string.
    pub fn rtm_connect(&self, params: &Value) -> Result<SlackResponse, Error> {
        self.rtm("rtm.connect", params)
    }

    /// `rtm.start`, the deprecated method (since 2022 Slack answers it like `rtm.connect`).
    ///
    /// Fails like [`rtm_connect`](WebClient::rtm_connect), including [`Error::NoUrl`].
    pub fn rtm_start(&self, params: &Value) -> Result<SlackResponse, Error> {
        self.rtm("rtm.start", params)
    }

    fn rtm(&self, method: &str, params: &Value) -> Result<SlackResponse, Error> {
        let resp = self.api_call(method, params)?;
        match resp.get("url") {
            Some(Value::String(url)) if !url.is_empty() => Ok(resp),
            _ => Err(Error::NoUrl {
                method: method.to_string(),
            }),
        }
    }

    /// `auth.test`: who the token belongs to (`user_id`, `team_id`, `url`, ...).
    pub fn auth_test(&self) -> Result<SlackResponse, Error> {
        self.api_call("auth.test", &Value::Null)
    }

    /// Every page of a cursor-paginated method (`conversations.list`, `users.list`, ...).
    ///
    /// The first request sends `params` as given; each following one adds the `cursor` from
    /// the previous answer's `response_metadata.next_cursor`, until that is empty or absent
    /// (or repeats the cursor just sent). The iterator yields each page, and after the first
    /// error yields that error and ends; `Pages::cursor` then tells where to resume (after
    /// waiting [`Error::retry_after`] for a rate-limited call, say).
    pub fn paginate<'a>(&'a self, method: &'a str, params: &Value) -> Pages<'a> {
        Pages {
            client: self,
            method,
            params: params.clone(),
            cursor: None,
            done: false,
        }
    }

    /// Sends one request and turns the answer into a response or an error.
    fn post(&self, method: &str, content_type: &str, body: &[u8]) -> Result<SlackResponse, Error> {
        let inner = &*self.inner;
        let url = format!("{}{}", inner.base_url, method);
        let start = Instant::now();
        let mut req = inner.agent.post(&url);
        for (name, value) in &inner.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = req
            .header("Authorization", inner.authorization.as_str())
            .header("Content-Type", content_type);
        let answer = req.send(body).and_then(|mut resp| {
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
        });
        let elapsed = start.elapsed().as_millis();
        let (status, headers, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let err = map_ureq_error(e, &inner.host);
                debug!("web api {method}: failed after {elapsed} ms: {err}");
                return Err(err);
            }
        };
        if !method.starts_with("oauth.") {
            // oauth.* answers carry tokens; keep them out of the log.
            trace!(
                "web api {method}: response body {}",
                String::from_utf8_lossy(&body)
            );
        }
        let retry_after = find_header(&headers, "retry-after");
        match interpret(method, status, retry_after, &body) {
            Ok(data) => {
                debug!("web api {method}: http {status}, ok, {elapsed} ms");
                Ok(SlackResponse {
                    data,
                    status,
                    headers,
                })
            }
            Err(err) => {
                if let Error::Api { code, .. } = &err {
                    debug!("web api {method}: http {status}, {code}, {elapsed} ms");
                }
                Err(err)
            }
        }
    }
}

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
                .field("token", &"<redacted>"),
            Err(e) => d.field("error", e),
        };
        d.finish()
    }
}

impl WebClientBuilder {
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
    /// and reading the answer.
    ///
    /// Defaults to 30 seconds. Must not be zero.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|net| {
            if timeout.is_zero() {
                return Err(Error::Config("timeout must not be zero".into()));
            }
            net.timeout = timeout;
            Ok(())
        })
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

    /// An extra header for every request. `Authorization` (set from the token) and the body
    /// framing headers (`Content-Type`, `Content-Length`, `Transfer-Encoding`, `Host`) are
    /// refused.
    ///
    /// Defaults to none.
    pub fn header(self, name: &str, value: &str) -> Self {
        self.with(|net| {
            if is_reserved_header(name) && !name.eq_ignore_ascii_case("authorization") {
                return Err(Error::Config(format!(
                    "the {name} header is set per request; it cannot be overridden"
                )));
            }
            net.add_header(name, value)
        })
    }

    /// Validates the options and builds the client.
    pub fn build(self) -> Result<WebClient, Error> {
        WebClient::from_net(&self.net?)
    }
}

/// A successful Web API answer: HTTP 2xx with `"ok": true`.
#[derive(Debug, Clone)]
pub struct SlackResponse {
    data: Value,
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
}

impl SlackResponse {
    /// The parsed JSON body.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The parsed JSON body, by value.
    pub fn into_data(self) -> Value {
        self.data
    }

    /// The HTTP status (2xx).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a response header, by case-insensitive name. Headers whose value is
    /// not valid UTF-8 are not kept.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// A top-level field of the body, `data()[key]` without the `null` fallback.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }
}

/// The options of `chat.postMessage`, for [`WebClient::chat_post_message_with`].
///
/// ```
/// # use slack_rtm::PostMessage;
/// let msg = PostMessage::new("C0123456789", "a reply")
///     .thread_ts("1700000000.000100")
///     .reply_broadcast(true);
/// assert_eq!(msg.thread_ts, Some("1700000000.000100"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[must_use = "a message does nothing until it is posted"]
pub struct PostMessage<'a> {
    /// The channel, private group or IM channel ID (or name) to post to.
    pub channel: &'a str,
    /// The message text (the fallback text when `blocks` are given).
    pub text: &'a str,
    /// The `ts` of the parent message, to reply in its thread. Defaults to none.
    pub thread_ts: Option<&'a str>,
    /// With `thread_ts`, also show the reply in the channel. Defaults to `false`.
    pub reply_broadcast: bool,
    /// Block Kit blocks (a JSON array). Defaults to none.
    pub blocks: Option<&'a Value>,
}

impl<'a> PostMessage<'a> {
    /// A plain message with no thread, no broadcast and no blocks.
    pub fn new(channel: &'a str, text: &'a str) -> PostMessage<'a> {
        PostMessage {
            channel,
            text,
            ..PostMessage::default()
        }
    }

    /// Reply in the thread of the message with this `ts`. Defaults to none.
    pub fn thread_ts(mut self, ts: &'a str) -> Self {
        self.thread_ts = Some(ts);
        self
    }

    /// Also show a thread reply in the channel. Defaults to `false`.
    pub fn reply_broadcast(mut self, yes: bool) -> Self {
        self.reply_broadcast = yes;
        self
    }

    /// Block Kit blocks (a JSON array). Defaults to none.
    pub fn blocks(mut self, blocks: &'a Value) -> Self {
        self.blocks = Some(blocks);
        self
    }

    fn params(&self) -> Value {
        let mut p = Map::new();
        p.insert("channel".into(), self.channel.into());
        p.insert("text".into(), self.text.into());
        if let Some(ts) = self.thread_ts {
            p.insert("thread_ts".into(), ts.into());
        }
        if self.reply_broadcast {
            p.insert("reply_broadcast".into(), true.into());
        }
        if let Some(blocks) = self.blocks {
            p.insert("blocks".into(), blocks.clone());
        }
        Value::Object(p)
    }
}

/// The pages of a cursor-paginated method, from [`WebClient::paginate`]: an iterator of
/// `Result<SlackResponse, Error>` that ends after the last page or after the first error.
pub struct Pages<'a> {
    client: &'a WebClient,
    method: &'a str,
    params: Value,
    /// The cursor of the next request (`None` for the first page).
    cursor: Option<String>,
    done: bool,
}

impl fmt::Debug for Pages<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The params are left out: they may hold secrets.
        f.debug_struct("Pages")
            .field("method", &self.method)
            .field("cursor", &self.cursor)
            .field("done", &self.done)
            .finish()
    }
}

impl Pages<'_> {
    /// The cursor the next request sends: `None` before the first page. After an error, the
    /// cursor of the failed request, to resume with `paginate` and `{"cursor": ...}`.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<SlackResponse, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = match (&self.cursor, &self.params) {
            (Some(cursor), Value::Object(params)) => {
                let mut params = params.clone();
                params.insert("cursor".into(), Value::String(cursor.clone()));
                self.client.api_call(self.method, &Value::Object(params))
            }
            (Some(cursor), _) => self
                .client
                .api_call(self.method, &serde_json::json!({ "cursor": cursor })),
            (None, params) => self.client.api_call(self.method, params),
        };
        match &result {
            Ok(page) => {
                let next = next_cursor(page.data());
                if next.is_none() || next == self.cursor.as_deref() {
                    self.done = true;
                } else {
                    self.cursor = next.map(str::to_string);
                }
            }
            Err(_) => self.done = true,
        }
        Some(result)
    }
}

impl std::iter::FusedIterator for Pages<'_> {}

/// `response_metadata.next_cursor`, when present and not empty.
fn next_cursor(data: &Value) -> Option<&str> {
    data.get("response_metadata")?
        .get("next_cursor")?
        .as_str()
        .filter(|c| !c.is_empty())
}

/// Whether `method` is sent as `application/x-www-form-urlencoded` rather than JSON: the read
/// methods that historically do not accept JSON, and every call without parameters.
fn use_form(method: &str, params_empty: bool) -> bool {
    params_empty || FORM_PREFIXES.iter().any(|p| method.starts_with(p))
}

/// Form-encodes a params object: scalars as they are (booleans `true`/`false`), arrays and
/// objects as JSON, `null` values left out.
fn form_encode(params: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (key, value) in params {
        let value: Cow<'_, str> = match value {
            Value::Null => continue,
            Value::String(s) => Cow::Borrowed(s),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            Value::Number(n) => Cow::Owned(n.to_string()),
            nested => Cow::Owned(nested.to_string()),
        };
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(key, FORM_SET));
        out.push('=');
        out.extend(utf8_percent_encode(&value, FORM_SET));
    }
    out
}

/// Turns an HTTP answer into Slack's data or an [`Error::Api`].
fn interpret(
    method: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<Value, Error> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let success = (200..300).contains(&status);
    if success && parsed.as_ref().and_then(|v| v.get("ok")) == Some(&Value::Bool(true)) {
        return Ok(parsed.unwrap_or_default());
    }
    let error_code = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let code = match error_code {
        Some(code) => code,
        None if success => "invalid_response".to_string(),
        None => format!("http_{status}"),
    };
    Err(Error::Api {
        method: method.to_string(),
        status,
        code,
        body: parsed.unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into_owned())),
        retry_after: retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs),
    })
}

/// Maps a ureq error to the crate's error. ureq errors carry neither headers nor bodies, so no
/// token can leak through them; proxy URLs are never included.
fn map_ureq_error(e: ureq::Error, host: &str) -> Error {
    let tls = |reason: String| Error::Tls {
        host: host.to_string(),
        reason,
    };
    match e {
        ureq::Error::Timeout(_) => Error::Timeout { phase: Phase::Http },
        ureq::Error::Io(e) => match crate::tls::tls_layer_error(&e) {
            Some(reason) => tls(reason),
            None => Error::io(Phase::Http, e),
        },
        ureq::Error::Tls(reason) => tls(reason.to_string()),
        ureq::Error::NativeTls(e) => tls(e.to_string()),
        ureq::Error::Der(e) => tls(format!("bad certificate or key: {e}")),
        ureq::Error::Pem(e) => tls(format!("bad PEM: {e:?}")),
        ureq::Error::TlsRequired => tls("the transport is not TLS secured".into()),
        ureq::Error::ConnectProxyFailed(reason) => Error::Proxy { reason },
        ureq::Error::InvalidProxyUrl => Error::Proxy {
            reason: "invalid proxy url".into(),
        },
        ureq::Error::HostNotFound => Error::Http(format!("host not found: {host}")),
        ureq::Error::BadUri(_) => Error::Url(format!(
            "the base url and method do not form a valid url (host {host})"
        )),
        ureq::Error::BodyExceedsLimit(_) => Error::Http(format!(
            "the response body is larger than {} MiB",
            MAX_BODY >> 20
        )),
        other => Error::Http(other.to_string()),
    }
}

/// Web API method names are dotted words; anything else could change the URL.
fn check_method(method: &str) -> Result<(), Error> {
    let valid = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{method:?} is not a Web API method name"
        )))
    }
}

fn is_reserved_header(name: &str) -> bool {
    RESERVED_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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

/// A URL with any `user:password@` removed, for `Debug`.
fn redact_userinfo(url: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Cow::Borrowed(url);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => Cow::Owned(format!("{scheme}://<redacted>@{}", &rest[at + 1..])),
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};

    const TOKEN: &str = "xoxb-1234-secret-token";

    // ---- pure parts -------------------------------------------------------------------------

    #[test]
    fn form_is_chosen_for_read_methods_and_empty_params() {
        assert!(use_form("rtm.connect", false));
        assert!(use_form("rtm.start", false));
        assert!(use_form("auth.test", false));
        assert!(use_form("conversations.list", false));
        assert!(use_form("users.info", false));
        assert!(use_form("chat.postMessage", true));
        assert!(!use_form("chat.postMessage", false));
        assert!(!use_form("reactions.add", false));
        // A prefix must match a whole namespace.
        assert!(!use_form("rtmx.foo", false));
    }

    #[test]
    fn form_encoding_of_scalars_and_nested_values() {
        let p = json!({
            "a": "x y&z=1/é",
            "b": true,
            "c": false,
            "d": 42,
            "e": 1.5,
            "f": null,
            "g": ["C1", "C2"],
            "h": {"k": "v"},
        });
        let Value::Object(p) = p else { unreachable!() };
        let encoded = form_encode(&p);
        let pairs: Vec<&str> = encoded.split('&').collect();
        assert!(pairs.contains(&"a=x%20y%26z%3D1%2F%C3%A9"), "{encoded}");
        assert!(pairs.contains(&"b=true"));
        assert!(pairs.contains(&"c=false"));
        assert!(pairs.contains(&"d=42"));
        assert!(pairs.contains(&"e=1.5"));
        assert!(pairs.contains(&"g=%5B%22C1%22%2C%22C2%22%5D"));
        assert!(pairs.contains(&"h=%7B%22k%22%3A%22v%22%7D"));
        assert!(!encoded.contains("f="));
        assert_eq!(pairs.len(), 7);
        assert_eq!(form_encode(&Map::new()), "");
    }

    #[test]
    fn interpret_ok_true() {
        let v = interpret("auth.test", 200, None, br#"{"ok":true,"user":"bot"}"#).unwrap();
        assert_eq!(v["user"], "bot");
    }

    #[test]
    fn interpret_ok_false_uses_the_error_code() {
        let e = interpret(
            "auth.test",
            200,
            None,
            br#"{"ok":false,"error":"invalid_auth"}"#,
        )
        .unwrap_err();
        match &e {
            Error::Api {
                method,
                status,
                code,
                body,
                retry_after,
            } => {
                assert_eq!(method, "auth.test");
                assert_eq!(*status, 200);
                assert_eq!(code, "invalid_auth");
                assert_eq!(body["error"], "invalid_auth");
                assert_eq!(*retry_after, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(e.is_fatal());
    }

    #[test]
    fn interpret_rate_limit_and_http_errors() {
        let e = interpret(
            "rtm.connect",
            429,
            Some(" 7 "),
            br#"{"ok":false,"error":"ratelimited"}"#,
        )
        .unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
        assert!(matches!(&e, Error::Api { code, .. } if code == "ratelimited"));

        let e = interpret("rtm.connect", 503, None, b"<html>down</html>").unwrap_err();
        match &e {
            Error::Api { code, body, .. } => {
                assert_eq!(code, "http_503");
                assert_eq!(body, &Value::String("<html>down</html>".into()));
            }
            other => panic!("{other:?}"),
        }
        assert!(e.is_retryable());

        // An unparsable Retry-After is ignored; a present one is kept for any status.
        let e = interpret("x.y", 429, Some("soon"), b"").unwrap_err();
        assert_eq!(e.retry_after(), None);
        let e = interpret("x.y", 503, Some("2"), b"").unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));

        // A 4xx/5xx with ok:true is still an error.
        let e = interpret("x.y", 500, None, br#"{"ok":true}"#).unwrap_err();
        assert!(matches!(&e, Error::Api { code, .. } if code == "http_500"));

        let e = interpret("x.y", 401, None, b"").unwrap_err();
        assert!(e.is_fatal());
    }

    #[test]
    fn interpret_non_slack_2xx_is_invalid_response() {
        for body in [&b"not json"[..], b"[1,2]", br#"{"ok":false}"#, b""] {
            let e = interpret("x.y", 200, None, body).unwrap_err();
            assert!(
                matches!(&e, Error::Api { code, .. } if code == "invalid_response"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn ureq_errors_are_mapped() {
        let host = "slack.com";
        assert!(matches!(
            map_ureq_error(ureq::Error::Timeout(ureq::Timeout::Global), host),
            Error::Timeout { phase: Phase::Http }
        ));
        assert!(matches!(
            map_ureq_error(ureq::Error::Io(std::io::ErrorKind::TimedOut.into()), host),
            Error::Timeout { phase: Phase::Http }
        ));
        assert!(matches!(
            map_ureq_error(
                ureq::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
                host
            ),
            Error::Io {
                phase: Phase::Http,
                ..
            }
        ));
        match map_ureq_error(ureq::Error::Tls("bad cert"), host) {
            Error::Tls { host, reason } => {
                assert_eq!(host, "slack.com");
                assert_eq!(reason, "bad cert");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            map_ureq_error(
                ureq::Error::ConnectProxyFailed("proxy server responded 407/407".into()),
                host
            ),
            Error::Proxy { .. }
        ));
        assert!(matches!(
            map_ureq_error(ureq::Error::HostNotFound, host),
            Error::Http(_)
        ));
    }

    #[test]
    fn method_names_are_checked() {
        assert!(check_method("chat.postMessage").is_ok());
        assert!(check_method("admin.users.session.reset").is_ok());
        assert!(check_method("").is_err());
        assert!(check_method("chat.postMessage?x=1").is_err());
        assert!(check_method("../x").is_err());
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
    fn post_message_params() {
        let blocks = json!([{"type": "divider"}]);
        let m = PostMessage::new("C1", "hi")
            .thread_ts("1.2")
            .reply_broadcast(true)
            .blocks(&blocks);
        assert_eq!(
            m.params(),
            json!({"channel": "C1", "text": "hi", "thread_ts": "1.2", "reply_broadcast": true,
                   "blocks": [{"type": "divider"}]})
        );
        assert_eq!(
            PostMessage::new("C1", "hi").params(),
            json!({"channel": "C1", "text": "hi"})
        );
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
    }

    #[test]
    fn params_must_be_an_object_or_null() {
        let c = WebClient::builder(TOKEN)
            .base_url("http://127.0.0.1:1/api")
            .build()
            .unwrap();
        let e = c.api_call("chat.postMessage", &json!([1])).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        let mut pages = c.paginate("conversations.list", &json!("x"));
        assert!(matches!(pages.next(), Some(Err(Error::Config(_)))));
        assert!(pages.next().is_none());
    }

    // ---- loopback server --------------------------------------------------------------------

    /// One request as the server saw it.
    struct Recorded {
        head: String,
        body: String,
    }

    impl Recorded {
        fn request_line(&self) -> &str {
            self.head.lines().next().unwrap_or("")
        }

        fn header(&self, name: &str) -> Option<&str> {
            self.head.lines().skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
        }
    }

    fn response(status: &str, extra_headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n{extra_headers}\r\n{body}",
            body.len()
        )
    }

    /// Serves the canned responses, one per connection, in order, on one thread; returns the
    /// base URL and the recorded requests.
    fn serve(responses: Vec<String>) -> (String, JoinHandle<Vec<Recorded>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/api/", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let mut recorded = Vec::new();
            for canned in responses {
                let (stream, _) = listener.accept().unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let mut stream = reader.into_inner();
                stream.write_all(canned.as_bytes()).unwrap();
                stream.flush().unwrap();
                recorded.push(Recorded {
                    head,
                    body: String::from_utf8(body).unwrap(),
                });
            }
            recorded
        });
        (base, handle)
    }

    fn client(base: &str) -> WebClient {
        WebClient::builder(TOKEN)
            .base_url(base)
            .timeout(Duration::from_secs(5))
            .header("X-Custom", "custom-value")
            .build()
            .unwrap()
    }

    fn assert_no_token(r: &Recorded) {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(!r.request_line().contains(TOKEN), "{}", r.request_line());
        assert!(!r.body.contains(TOKEN), "{}", r.body);
        assert_eq!(
            r.head.matches(TOKEN).count(),
            1,
            "the token appears once, in Authorization: {}",
            r.head
        );
    }

    #[test]
    fn json_post_with_bearer_and_custom_headers() {
        let (base, server) = serve(vec![response(
            "200 OK",
            "X-Slack-Req-Id: abc\r\n",
            r#"{"ok":true,"channel":"C1","ts":"1.2"}"#,
        )]);
        let c = client(&base);
        let resp = c
            .chat_post_message_with(&PostMessage::new("C1", "hello & bye").thread_ts("1.0"))
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.get("ts"), Some(&json!("1.2")));
        assert_eq!(resp.header("x-slack-req-id"), Some("abc"));
        assert_eq!(resp.header("X-SLACK-REQ-ID"), Some("abc"));
        assert_eq!(resp.clone().into_data()["channel"], "C1");

        let reqs = server.join().unwrap();
        let r = &reqs[0];
        assert_eq!(r.request_line(), "POST /api/chat.postMessage HTTP/1.1");
        assert_no_token(r);
        assert_eq!(r.header("x-custom"), Some("custom-value"));
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE_JSON));
        assert!(r.header("user-agent").unwrap().starts_with("slack-rtm/"));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"channel": "C1", "text": "hello & bye", "thread_ts": "1.0"})
        );
    }

    #[test]
    fn form_post_for_rtm_connect() {
        let (base, server) = serve(vec![
            response(
                "200 OK",
                "",
                r#"{"ok":true,"url":"wss://example.invalid/ws","self":{"id":"U1"}}"#,
            ),
            response("200 OK", "", r#"{"ok":true,"user_id":"U1"}"#),
        ]);
        let c = client(&base);
        let resp = c
            .rtm_connect(&json!({"batch_presence_aware": true}))
            .unwrap();
        assert_eq!(resp.data()["url"], "wss://example.invalid/ws");
        c.auth_test().unwrap();

        let reqs = server.join().unwrap();
        let r = &reqs[0];
        assert_eq!(r.request_line(), "POST /api/rtm.connect HTTP/1.1");
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE_FORM));
        assert_eq!(r.body, "batch_presence_aware=true");
        assert_no_token(r);
        assert_eq!(r.header("x-custom"), Some("custom-value"));
        let r = &reqs[1];
        assert_eq!(r.request_line(), "POST /api/auth.test HTTP/1.1");
        assert_eq!(r.header("content-type"), Some(CONTENT_TYPE_FORM));
        assert_eq!(r.body, "");
        assert_no_token(r);
    }

    #[test]
    fn rtm_connect_without_url_is_no_url() {
        let (base, server) = serve(vec![response("200 OK", "", r#"{"ok":true}"#)]);
        let e = client(&base).rtm_connect(&json!({})).unwrap_err();
        assert!(matches!(&e, Error::NoUrl { method } if method == "rtm.connect"));
        server.join().unwrap();
    }

    #[test]
    fn rate_limit_becomes_a_retryable_api_error() {
        let (base, server) = serve(vec![response(
            "429 Too Many Requests",
            "Retry-After: 7\r\n",
            r#"{"ok":false,"error":"ratelimited"}"#,
        )]);
        let e = client(&base).rtm_connect(&json!({})).unwrap_err();
        match &e {
            Error::Api {
                method,
                status,
                code,
                retry_after,
                ..
            } => {
                assert_eq!(method, "rtm.connect");
                assert_eq!(*status, 429);
                assert_eq!(code, "ratelimited");
                assert_eq!(*retry_after, Some(Duration::from_secs(7)));
            }
            other => panic!("{other:?}"),
        }
        assert!(e.is_retryable());
        assert!(!e.to_string().contains(TOKEN));
        server.join().unwrap();
    }

    #[test]
    fn invalid_auth_is_fatal() {
        let (base, server) = serve(vec![response(
            "200 OK",
            "",
            r#"{"ok":false,"error":"invalid_auth"}"#,
        )]);
        let e = client(&base).auth_test().unwrap_err();
        assert!(matches!(&e, Error::Api { code, status: 200, .. } if code == "invalid_auth"));
        assert!(e.is_fatal());
        assert!(!format!("{e:?}").contains(TOKEN));
        server.join().unwrap();
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/api/", listener.local_addr().unwrap());
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            // Read (and ignore) until the client gives up and closes.
            let mut buf = [0u8; 1024];
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        });
        let c = WebClient::builder(TOKEN)
            .base_url(&base)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let start = Instant::now();
        let e = c.auth_test().unwrap_err();
        let elapsed = start.elapsed();
        assert!(matches!(e, Error::Timeout { phase: Phase::Http }), "{e:?}");
        assert!(e.is_retryable());
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        server.join().unwrap();
    }

    #[test]
    fn connection_refused_is_an_io_error() {
        // Bind then drop to get a port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = WebClient::builder(TOKEN)
            .base_url(&format!("http://127.0.0.1:{port}/api/"))
            .build()
            .unwrap();
        let e = c.auth_test().unwrap_err();
        assert!(
            matches!(
                e,
                Error::Io {
                    phase: Phase::Http,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.is_retryable());
    }

    #[test]
    fn pagination_follows_cursors_across_three_pages() {
        let (base, server) = serve(vec![
            response(
                "200 OK",
                "",
                r#"{"ok":true,"members":[1],"response_metadata":{"next_cursor":"c2"}}"#,
            ),
            response(
                "200 OK",
                "",
                r#"{"ok":true,"members":[2],"response_metadata":{"next_cursor":"c3=="}}"#,
            ),
            response(
                "200 OK",
                "",
                r#"{"ok":true,"members":[3],"response_metadata":{"next_cursor":""}}"#,
            ),
        ]);
        let c = client(&base);
        let mut pages = c.paginate("users.list", &json!({"limit": 1}));
        let mut members = Vec::new();
        for page in pages.by_ref() {
            members.push(page.unwrap().data()["members"][0].clone());
        }
        assert_eq!(members, vec![json!(1), json!(2), json!(3)]);
        assert!(pages.next().is_none());

        let reqs = server.join().unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].body, "limit=1");
        assert_eq!(reqs[1].body, "cursor=c2&limit=1");
        assert_eq!(reqs[2].body, "cursor=c3%3D%3D&limit=1");
        for r in &reqs {
            assert_eq!(r.request_line(), "POST /api/users.list HTTP/1.1");
            assert_no_token(r);
        }
    }

    #[test]
    fn pagination_stops_after_the_first_error() {
        let (base, server) = serve(vec![
            response(
                "200 OK",
                "",
                r#"{"ok":true,"response_metadata":{"next_cursor":"c2"}}"#,
            ),
            response(
                "429 Too Many Requests",
                "Retry-After: 3\r\n",
                r#"{"ok":false,"error":"ratelimited"}"#,
            ),
        ]);
        let c = client(&base);
        let mut pages = c.paginate("conversations.list", &Value::Null);
        assert!(pages.next().unwrap().is_ok());
        let e = pages.next().unwrap().unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(pages.cursor(), Some("c2"));
        assert!(pages.next().is_none());
        assert!(pages.next().is_none());
        let reqs = server.join().unwrap();
        assert_eq!(reqs[1].body, "cursor=c2");
    }
}
