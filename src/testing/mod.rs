//! An embedded fake Slack server for tests, demos and bot development.
//!
//! [`FakeSlack`] imitates the parts of Slack's Web API and RTM websocket
//! that an RTM client touches, on a loopback port (`127.0.0.1`, plain HTTP or
//! TLS). Point a client at [`FakeSlack::api_url`], then *script* the server
//! (send events, break connections, make `rtm.connect` fail), *inspect* what
//! the client did (every API call and every websocket frame is recorded with
//! its arrival time), and *wait* for it to happen without sleeping.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//!
//! use slack_rtm::testing::{ConnectReply, FakeSlack};
//!
//! let fake = FakeSlack::builder().token("xoxb-test").start()?;
//! assert!(fake.api_url().starts_with("http://127.0.0.1:"));
//!
//! // The code under test talks to `fake.api_url()`; here, a raw request.
//! let mut http = TcpStream::connect(fake.addr())?;
//! http.write_all(
//!     b"GET /api/auth.test?token=xoxb-test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
//! )?;
//! let mut answer = String::new();
//! http.read_to_string(&mut answer)?;
//! assert!(answer.contains(r#""user_id":"U0FAKEBOT1""#));
//!
//! // Everything the client did is recorded ...
//! assert!(fake.wait_for_calls("auth.test", 1, Duration::from_secs(5)));
//! assert_eq!(fake.api_calls()[0].token.as_deref(), Some("xoxb-test"));
//!
//! // ... and what happens next is scripted: the next rtm.connect is rate
//! // limited, the one after it succeeds.
//! fake.push_connect_reply(ConnectReply::RateLimited { retry_after_secs: 3 });
//! // No client connected the websocket: the wait gives up after 10 ms.
//! assert!(!fake.wait_for_connections(1, Duration::from_millis(10)));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Web API
//!
//! One port serves HTTP/1.1 (keep-alive supported) and the websocket. Web API
//! methods live under `/api/<method>` and take parameters from the query
//! string and from a form (`application/x-www-form-urlencoded`) or JSON
//! (`application/json`) body. The token comes from an
//! `Authorization: Bearer <token>` header, else from a `token` parameter.
//! Answers are JSON with HTTP 200 unless noted, like Slack's:
//!
//! | method | answer |
//! | --- | --- |
//! | `rtm.connect` | `{"ok":true,"url":"ws://127.0.0.1:PORT/websocket/<ticket>","team":{..},"self":{..}}`, or the next queued [`ConnectReply`] |
//! | `rtm.start` | as `rtm.connect`, plus a small snapshot (`users`, `channels`, `groups`, `ims`, `bots`) |
//! | `auth.test` | `{"ok":true,"url":..,"team":..,"user":..,"team_id":..,"user_id":..,"bot_id":"B0FAKEBOT1"}` |
//! | `chat.postMessage` | needs `channel` and `text` (or `blocks`); recorded in [`FakeSlack::posted_messages`], stored in the channel's history, and echoed as a `message` event |
//! | `chat.update`, `chat.delete`, `chat.getPermalink` | edit, delete, link a stored message (`message_not_found` otherwise) |
//! | `chat.postEphemeral` | needs `channel`, `user`, `text`; answers `message_ts` (not stored) |
//! | `reactions.add`, `reactions.remove`, `reactions.get` | the bot's reactions on a stored message (`already_reacted`, `no_reaction`) |
//! | `conversations.list` | five fake channels (and opened DMs with `types=im`) |
//! | `conversations.history`, `conversations.replies` | the stored messages, newest first / the thread oldest first; `oldest`, `latest` |
//! | `conversations.info`, `conversations.members`, `conversations.join`, `conversations.open` | the channels; `open` makes a DM (`D…`) |
//! | `users.list`, `users.info` | the bot and four fake people (`U0FAKEUSR1`..`4`) |
//! | `files.getUploadURLExternal`, `files.completeUploadExternal`, `files.info` | the upload flow: the `upload_url` is the fake itself as `localhost` ([`FakeSlack::upload_url_base`]); completed files are shared as messages, listed in [`FakeSlack::files`] |
//! | `views.open`, `views.push`, `views.publish`, `views.update` | modal / home views stored with a fresh `V…` id (`not_found` for an unknown `view_id`) |
//! | anything else | `{"ok":false,"error":"unknown_method"}` |
//!
//! Every list method is paginated with `limit` (default 100, at most 1000) and `cursor`,
//! answering `response_metadata.next_cursor` (empty on the last page). Any method's next
//! answers can be scripted with [`FakeSlack::push_method_reply`]: a 429 with `Retry-After`,
//! a 5xx, an error code, any JSON, a dropped connection, a slow or a missing answer.
//!
//! Every method checks the token: a missing one is `not_authed`; with
//! [`FakeSlackBuilder::token`] set, any other token is `invalid_auth`.
//! Every request to `/api/` is recorded in [`FakeSlack::api_calls`] before it
//! is answered (the most recent 10,000 are kept; see [`FakeSlackBuilder::record_limit`]). Malformed requests get HTTP 400 and a closed connection;
//! heads are limited to 64 KiB and bodies to 4 MiB.
//!
//! # RTM websocket
//!
//! A `url` from `rtm.connect` holds a ticket that works once, within 30
//! seconds. A connection with a valid ticket gets `{"type":"hello"}` first
//! (see [`FakeSlack::set_auto_hello`]); one with an unknown, used or expired
//! ticket gets `{"type":"error","error":{"code":1,"msg":"Socket URL has expired"}}`
//! and a close frame, and does not count as a connection.
//!
//! Every text frame from a client is recorded ([`FakeSlack::frames`]) with
//! the instant it was read, then answered by its JSON `type`:
//!
//! * `ping`: `{"type":"pong","reply_to":<id>}` plus every other scalar field
//!   of the ping, unless pings are ignored ([`FakeSlack::set_answer_pings`]).
//! * `message`: acknowledged per [`RtmAckMode`] and, unless the ack mode is
//!   [`RtmAckMode::Error`], echoed to every open connection as a `message` event
//!   from the bot user ([`FakeSlack::set_echo_messages`]).
//! * `presence_query`: one `presence_change` event (`"presence":"active"`) per
//!   id in `ids`.
//! * anything else, including invalid JSON: recorded only.
//!
//! Client messages up to 1 MiB are accepted (real Slack drops the connection
//! above 16 KB).
//!
//! # Socket Mode
//!
//! `POST /api/apps.connections.open` takes an app-level token (`Authorization: Bearer xapp-…`;
//! with [`FakeSlackBuilder::app_token`] only that one) and answers
//! `{"ok":true,"url":"ws://127.0.0.1:PORT/link/?ticket=<uuid>&app_id=<64 hex>"}`, or the next
//! queued [`ConnectReply`] ([`FakeSlack::push_open_reply`]). A bot or user token gets
//! `not_allowed_token_type`, another token `invalid_auth`, no token `not_authed`, a method other
//! than POST `insecure_request`. Tickets work once, within 30 s
//! ([`FakeSlackBuilder::socket_ticket_ttl`]); a used or expired one is refused at the upgrade
//! with HTTP 401. Appending `&debug_reconnects=true` to the URL works as on Slack.
//!
//! A new socket gets `hello` (`num_connections` counting open and ghost sockets, `debug_info`
//! with `host` `applink-<n>` and `approximate_connection_time`, `connection_info.app_id`), or a
//! [`SocketGreeting`] that was queued, or `disconnect` `too_many_websockets` when it is over the
//! cap (10, [`FakeSlackBuilder::socket_cap`]), or `disconnect` `link_disabled` while Socket Mode
//! is off ([`FakeSlack::set_link_disabled`]). The server pings every socket every 10 s
//! (websocket ping frames, `Ping from applink-<n>`; [`FakeSlack::set_socket_ping_interval`]) and
//! counts the pongs.
//!
//! Envelope helpers — [`FakeSlack::send_event`], [`FakeSlack::send_app_mention`],
//! [`FakeSlack::send_slash_command`], [`FakeSlack::send_block_actions`],
//! [`FakeSlack::send_view_submission`], [`FakeSlack::send_shortcut`],
//! [`FakeSlack::send_app_rate_limited`], [`FakeSlack::send_unknown_envelope`],
//! [`FakeSlack::send_large_envelope`], [`FakeSlack::send_envelope`] — build what Slack sends and
//! deliver it to **one** ready socket ([`SocketDistribution`], random by default), or hold it
//! until the next `hello` when none is ready; each returns the `envelope_id`. Every ack is
//! recorded ([`FakeSlack::socket_acks`], [`SocketAck`]: connection, latency since the envelope
//! was written, payload; an ack frame of 20,480 bytes or more counts as dropped, as Slack drops
//! it). Unacked `events_api` envelopes are redelivered with `retry_attempt` + 1 and
//! `retry_reason` `"timeout"` per [`Redelivery`] (Slack's 3 s, then at once, +1 min, +5 min; or
//! [`Redelivery::compressed`] for fast tests); interactions and commands never are.
//!
//! Faults: [`FakeSlack::refresh_socket`] (`warning`, `refresh_requested`, close),
//! [`FakeSlack::set_socket_lifetime`] (the same on a schedule),
//! [`FakeSlack::send_socket_disconnect`], [`FakeSlack::close_socket`],
//! [`FakeSlack::drop_socket`], [`FakeSlack::half_open_socket`] (stops reading and writing, keeps
//! TCP), [`FakeSlack::set_answer_socket_close`] (ignore the client's close frame, as Slack often
//! does), [`FakeSlack::push_socket_handshake_fault`] (409, hang, reset), ghost sockets
//! ([`FakeSlackBuilder::socket_ghost_lifetime`]). [`FakeSlack::watch_traffic`] streams every
//! client frame of both protocols and every Web API call, as `slack-rtm serve --frames` prints
//! them.
//!
//! # Apps (Bolt-style tests)
//!
//! [`FakeSlack::deliver`] takes the shape of what a user did — a [`Delivery`]: a slash
//! command, a click (`action_id`, `block_id`, value), a modal submission (`callback_id`,
//! `private_metadata`, state values), a shortcut, an options request, a message, any event;
//! from a user in a channel — builds the payload as Slack does, sends it to the Socket Mode app,
//! and returns what it delivered ([`Delivered`]: `envelope_id`, `response_url`, `trigger_id`,
//! `event_id`, view id, message `ts`). [`FakeSlack::payload`] builds the same without sending
//! it, for tests that call an App's `dispatch` ([`Delivered::http_parts`]). The response URLs
//! are served by the fake and every post to them is recorded
//! ([`FakeSlack::response_url_posts`]); `views.open` and `views.push` accept
//! only trigger ids the fake issued, for 3 s ([`FakeSlack::set_check_trigger_ids`]); a
//! message the bot posts comes back to Socket Mode apps as a `message` event, as Slack does.
//! The fake's ids are constants: [`FAKE_TEAM_ID`], [`FAKE_BOT_USER_ID`], [`FAKE_BOT_ID`],
//! [`FAKE_APP_ID`], [`FAKE_USER_ID`], [`FAKE_CHANNEL_ID`].
//!
//! # OAuth
//!
//! The fake serves Slack's OAuth v2 install flow, so an app's install can be tested (or clicked
//! through by hand, `slack-rtm serve`) offline:
//!
//! - [`FakeSlack::authorize_url`] (`/oauth/v2/authorize`): an approval page for `client_id`
//!   ([`FAKE_CLIENT_ID`], see [`FakeSlack::set_oauth_client`]), `scope`/`user_scope`,
//!   `redirect_uri` and `state`, with an `Allow` button (redirects to `redirect_uri` with a
//!   single-use `code` and the `state`) and a `Cancel` button (`error=access_denied`).
//!   [`FakeSlack::approve`] and [`FakeSlack::deny`] do what the buttons do, without a browser.
//!   Installs go to the fake's workspace, or where [`FakeSlack::set_oauth_install`] says
//!   (another team, an Enterprise Grid organization, an org-wide install).
//! - `oauth.v2.access`: the app's credentials in HTTP Basic or as parameters
//!   (`invalid_client_id`, `bad_client_secret`); a `code` once, within 10 minutes
//!   (`invalid_code`, `bad_redirect_uri`); `grant_type=refresh_token` (`invalid_refresh_token`).
//!   With [`FakeSlack::set_token_rotation`] tokens come with `refresh_token` and `expires_in`,
//!   and expire on a clock the test moves ([`FakeSlack::advance_oauth_clock`]): an expired token
//!   answers `token_expired` to every method. [`FakeSlack::token_refreshes`] counts refreshes.
//! - `auth.test` answers each issued token with its workspace; `apps.uninstall` (the app's
//!   credentials and a token) revokes the workspace's tokens (`token_revoked`), as does
//!   [`FakeSlack::revoke_token`] for one.
//!
//! # HTTP delivery
//!
//! For apps in HTTP mode, [`FakeSlack::http_delivery`] POSTs what Slack would to an app's
//! request URL: [`HttpDelivery::deliver`] (any [`Delivery`], built as for Socket Mode),
//! [`HttpDelivery::event`] (Events API JSON), [`HttpDelivery::slash_command`]
//! (form fields in Slack's order), [`HttpDelivery::interactive`] (a `payload=` form), or any
//! body with [`HttpDelivery::post`] / [`HttpDelivery::post_at`] (a chosen timestamp, extra
//! headers such as `X-Slack-Retry-Num`). Each is signed ([`sign`]) with the current time, sent
//! with Slack's `User-Agent` over a kept-alive connection, and answered with an [`HttpAnswer`]
//! (status, headers, body, latency). `slack-rtm serve --deliver URL --signing-secret S` does
//! the same for the stdin commands `!event`, `!command` and `!interactive`.
//!
//! # Threads and shutdown
//!
//! The server runs on its own threads: one accepting connections
//! (`fake-slack-acc`), one per HTTP connection (`fake-slack-http`), and two
//! per websocket: `fake-slack-ws` owns the connection and wakes up at once
//! for a scripted frame or for client data, which `fake-slack-peek` watches
//! for. Frames therefore move in either direction within microseconds, each
//! client frame is timestamped as soon as it is read, and idle connections
//! cost no CPU. All [`FakeSlack`] methods take `&self` and may be called from
//! any thread. Dropping the [`FakeSlack`] shuts every socket down and joins
//! the threads (waiting at most half a second).
//!
//! # Limitations
//!
//! * Websocket-level pings (RFC 6455 ping frames) are always answered, by
//!   tungstenite, even when RTM pings are ignored.
//! * Client certificates are not supported in TLS mode.

mod app;
mod app_state;
mod deliver;
mod http;
mod net;
mod oauth;
mod oauth_state;
mod rtm;
mod socket_mode;
mod state;
mod web;
mod wire;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use native_tls::{Identity, TlsAcceptor};
use serde_json::{json, Value};
use tungstenite::{Bytes, Utf8Bytes};

pub use oauth_state::{OAuthInstall, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};
use socket_mode::state::SmSettings;
use state::{Config, Outbound, Settings, Shared};

pub use app::{
    Delivered, Delivery, FAKE_APP_ID, FAKE_BOT_ID, FAKE_BOT_USER_ID, FAKE_CHANNEL_ID, FAKE_TEAM_ID,
    FAKE_USER_ID, TRIGGER_TTL,
};
pub use deliver::{
    form_encode, interactive_body, sign, HttpAnswer, HttpDelivery, SLACK_USER_AGENT,
};
pub use socket_mode::state::{
    HandshakeFault, Redelivery, SocketAck, SocketDelivery, SocketDistribution, SocketGreeting,
};

/// The scripted answer to one `rtm.connect` or `rtm.start` call.
///
/// Queue answers with [`FakeSlack::push_connect_reply`]; each call takes the
/// oldest one, and calls find [`ConnectReply::Normal`] when the queue is
/// empty. A call with a missing or wrong token is answered `not_authed` /
/// `invalid_auth` and leaves the queue alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConnectReply {
    /// Success: a fresh single-use websocket URL.
    #[default]
    Normal,
    /// HTTP 429 with a `Retry-After` header and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// This HTTP status with `{"ok":false,"error":"internal_error"}`, e.g. 500
    /// or 503. Statuses outside 200..=599 are sent as 500.
    HttpStatus(u16),
    /// HTTP 200 with `{"ok":false,"error":<code>}`, e.g. `"invalid_auth"` or
    /// `"migration_in_progress"`.
    Error(String),
    /// HTTP 200 with `{"ok":true,...}` but no `url` field.
    NoUrl,
    /// Read the request and never answer: the connection is held open until
    /// the [`FakeSlack`] is dropped.
    Hang,
}

/// A scripted answer to one call of a Web API method; see
/// [`FakeSlack::push_method_reply`].
///
/// A call with a missing or wrong token to a method the fake knows is answered `not_authed`
/// / `invalid_auth` and leaves the queue alone.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MethodReply {
    /// HTTP 429 with a `Retry-After` header and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// This HTTP status with `{"ok":false,"error":"internal_error"}`, e.g. 500 or 503.
    /// Statuses outside 200..=599 are sent as 500.
    HttpStatus(u16),
    /// HTTP 200 with `{"ok":false,"error":<code>}`.
    Error(String),
    /// HTTP 200 with this body, as is.
    Json(Value),
    /// Read the request, then close the connection without an answer (the request reached
    /// the server: the method did not run).
    Drop,
    /// Wait this long, then answer normally (a slow answer; the wait ends early when the
    /// server is dropped).
    Delay(Duration),
    /// Read the request and never answer: the connection is held open until the
    /// [`FakeSlack`] is dropped.
    Hang,
}

/// One recorded request to the fake's upload host (the `upload_url` of
/// `files.getUploadURLExternal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// The file id in the URL.
    pub file_id: String,
    /// The HTTP method, `"POST"` for an upload.
    pub http_method: String,
    /// All request header fields in order; names are lowercased.
    pub headers: Vec<(String, String)>,
    /// The size of the file received (the first part of a multipart body, else the body).
    pub len: usize,
    /// When the request was read completely.
    pub at: Instant,
}

/// One recorded request to a `response_url` the fake handed out (in a slash command or a
/// `block_actions` payload): what a handler's "respond" sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResponseUrlPost {
    /// The URL's path (`/commands/T…/…`, `/actions/T…/…`): which `response_url` it was.
    pub path: String,
    /// The HTTP method, `"POST"`.
    pub http_method: String,
    /// All request header fields in order; names are lowercased.
    pub headers: Vec<(String, String)>,
    /// The JSON body, or the body as a string when it is not JSON.
    pub body: Value,
    /// When the request was read completely.
    pub at: Instant,
}

impl ResponseUrlPost {
    /// The first value of a header (`name` is matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether it was posted to `response_url` (a full URL, as in the payload).
    pub fn is_for(&self, response_url: &str) -> bool {
        response_url.ends_with(&self.path)
    }
}

impl UploadRequest {
    /// The first value of a header (`name` is matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the fake acknowledges the RTM `message` frames a client sends (`reply_to` acks); set
/// with [`FakeSlackBuilder::ack_mode`] or [`FakeSlack::set_ack_mode`]. Not to be confused with
/// [`socket_mode::AckMode`](crate::socket_mode::AckMode), when a Socket Mode client acks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RtmAckMode {
    /// `{"ok":true,"reply_to":<id>,"ts":<fresh ts>,"text":<text>}`.
    #[default]
    Ok,
    /// `{"ok":false,"reply_to":<id>,"error":{"code":<code>,"msg":<msg>}}`; the
    /// message is then not echoed.
    Error {
        /// The `error.code` field.
        code: i64,
        /// The `error.msg` field.
        msg: String,
    },
    /// No acknowledgement at all (the message is still echoed).
    Ignore,
}

/// The former name of [`RtmAckMode`] (it clashed with `socket_mode::AckMode`).
#[doc(hidden)]
#[deprecated(note = "renamed to `RtmAckMode`")]
pub type AckMode = RtmAckMode;

/// One recorded Web API request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// The method, i.e. the path after `/api/`, e.g. `"rtm.connect"`.
    pub method: String,
    /// The HTTP method, e.g. `"GET"` or `"POST"`.
    pub http_method: String,
    /// All request header fields in order; names are lowercased.
    pub headers: Vec<(String, String)>,
    /// A JSON object of all parameters: the query string merged with the
    /// form or JSON body (body wins). Form values are strings, JSON values
    /// keep their type. A `token` parameter is included if one was sent.
    pub params: Value,
    /// The token, from an `Authorization: Bearer` header or a `token` parameter.
    pub token: Option<String>,
    /// When the request was read completely.
    pub at: Instant,
}

impl ApiCall {
    /// The first value of a header (`name` is matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A parameter as a string, if it was sent as one.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }
}

/// One recorded text frame sent by a client over an RTM websocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// The connection it came from: 1 for the first websocket the server
    /// accepted, 2 for the second, and so on.
    pub conn: u64,
    /// The frame's text, exactly as received (not necessarily valid JSON).
    pub text: String,
    /// When the server read the frame.
    pub at: Instant,
}

impl ReceivedFrame {
    /// The frame parsed as JSON, if it is valid JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.text).ok()
    }

    /// The `type` field of a JSON object frame, e.g. `"ping"` or `"message"`.
    pub fn frame_type(&self) -> Option<String> {
        self.json()?.get("type")?.as_str().map(str::to_owned)
    }
}

/// Configures and starts a [`FakeSlack`]; see [`FakeSlack::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `start()`"]
pub struct FakeSlackBuilder {
    token: Option<String>,
    port: u16,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    settings: Settings,
    team: (String, String),
    bot_user: (String, String),
    record_limit: usize,
    socket_mode: SmSettings,
}

/// The default of [`FakeSlackBuilder::record_limit`].
pub const DEFAULT_RECORD_LIMIT: usize = 10_000;

impl fmt::Debug for FakeSlackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The TLS key is deliberately left out.
        f.debug_struct("FakeSlackBuilder")
            .field("token", &self.token)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("settings", &self.settings)
            .field("team", &self.team)
            .field("bot_user", &self.bot_user)
            .field("record_limit", &self.record_limit)
            .field("socket_mode", &self.socket_mode)
            .finish()
    }
}

impl Default for FakeSlackBuilder {
    fn default() -> Self {
        FakeSlackBuilder {
            token: None,
            port: 0,
            tls: None,
            settings: Settings {
                auto_hello: true,
                echo_messages: true,
                answer_pings: true,
                ack_mode: RtmAckMode::Ok,
            },
            team: ("T0FAKE0001".into(), "Fake Workspace".into()),
            bot_user: ("U0FAKEBOT1".into(), "fakebot".into()),
            record_limit: DEFAULT_RECORD_LIMIT,
            socket_mode: SmSettings::default(),
        }
    }
}

impl FakeSlackBuilder {
    /// Accepts only this token. Without it, any non-empty token is accepted.
    /// Either way a request without a token gets `not_authed`; with a token
    /// set, a different token gets `invalid_auth`.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Listens on this port of `127.0.0.1`. The default, 0, picks a free port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves HTTPS and WSS with this certificate chain and PKCS #8 private
    /// key, both PEM encoded (see [`native_tls::Identity::from_pkcs8`]).
    /// [`FakeSlackBuilder::start`] fails if they cannot be loaded.
    pub fn tls(mut self, cert_pem: &[u8], key_pem_pkcs8: &[u8]) -> Self {
        self.tls = Some((cert_pem.to_vec(), key_pem_pkcs8.to_vec()));
        self
    }

    /// Initial value of [`FakeSlack::set_auto_hello`] (default true).
    pub fn auto_hello(mut self, yes: bool) -> Self {
        self.settings.auto_hello = yes;
        self
    }

    /// Initial value of [`FakeSlack::set_echo_messages`] (default true).
    pub fn echo_messages(mut self, yes: bool) -> Self {
        self.settings.echo_messages = yes;
        self
    }

    /// Initial value of [`FakeSlack::set_answer_pings`] (default true).
    pub fn answer_pings(mut self, yes: bool) -> Self {
        self.settings.answer_pings = yes;
        self
    }

    /// Initial value of [`FakeSlack::set_ack_mode`] (default [`RtmAckMode::Ok`]).
    pub fn ack_mode(mut self, mode: RtmAckMode) -> Self {
        self.settings.ack_mode = mode;
        self
    }

    /// The workspace (default `T0FAKE0001`, `"Fake Workspace"`). Its domain
    /// is derived from the name (`"fake-workspace"`).
    pub fn team(mut self, id: &str, name: &str) -> Self {
        self.team = (id.to_owned(), name.to_owned());
        self
    }

    /// The bot's own user (default `U0FAKEBOT1`, `"fakebot"`), reported as
    /// `self` by `rtm.connect` and as the author of echoed messages.
    pub fn bot_user(mut self, id: &str, name: &str) -> Self {
        self.bot_user = (id.to_owned(), name.to_owned());
        self
    }

    /// How many of each kind of record (client frames, API calls, posted messages, upload
    /// requests) are kept: at least the most recent `n`, at most `n + n/4` (older ones are
    /// dropped in batches), so a long-running server's memory stays bounded. Counts
    /// ([`FakeSlack::calls_to`], [`FakeSlack::frames_total`]) are never trimmed.
    ///
    /// Defaults to [`DEFAULT_RECORD_LIMIT`] (10,000); at least 1.
    pub fn record_limit(mut self, n: usize) -> Self {
        self.record_limit = n;
        self
    }

    /// Binds the port and starts serving.
    ///
    /// # Errors
    ///
    /// Fails if the port cannot be bound, a thread cannot be started, or the
    /// TLS certificate or key is invalid ([`io::ErrorKind::InvalidInput`]).
    pub fn start(self) -> io::Result<FakeSlack> {
        let acceptor = match &self.tls {
            None => None,
            Some((cert, key)) => {
                let identity = Identity::from_pkcs8(cert, key)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let acceptor = TlsAcceptor::new(identity)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                Some(Arc::new(acceptor))
            }
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))?;
        let addr = listener.local_addr()?;
        let (team_id, team_name) = self.team;
        let (bot_user_id, bot_user_name) = self.bot_user;
        let config = Config {
            token: self.token,
            team_domain: domain_of(&team_name),
            team_id,
            team_name,
            bot_user_id,
            bot_user_name,
            addr,
            tls: acceptor.is_some(),
        };
        let shared = Arc::new(Shared::new(config, self.settings, self.record_limit));
        shared.lock().sm.settings = self.socket_mode;
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("fake-slack-acc".into())
                .spawn(move || http::accept_loop(shared, listener, acceptor))?
        };
        Ok(FakeSlack {
            shared,
            accept: Some(accept),
        })
    }
}

/// A workspace domain from its name: `"Fake Workspace"` → `"fake-workspace"`.
fn domain_of(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        "fake".to_owned()
    } else {
        words.join("-")
    }
}

/// A running fake Slack server; see the [module documentation](self).
///
/// Dropping it stops the server: every connection is closed and the server
/// threads are joined (for at most half a second).
pub struct FakeSlack {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSlack")
            .field("api_url", &self.api_url())
            .field("connections_open", &self.connections_open())
            .field("connections_total", &self.connections_total())
            .finish_non_exhaustive()
    }
}

impl FakeSlack {
    /// Starts a server with the default configuration; the same as
    /// `FakeSlack::builder().start()`.
    ///
    /// # Errors
    ///
    /// See [`FakeSlackBuilder::start`].
    pub fn start() -> io::Result<FakeSlack> {
        FakeSlack::builder().start()
    }

    /// A builder to configure a server before starting it.
    pub fn builder() -> FakeSlackBuilder {
        FakeSlackBuilder::default()
    }

    /// The Web API base URL, `http://127.0.0.1:PORT/api/` (`https://` with
    /// TLS). It always ends with `/`: append the method name.
    pub fn api_url(&self) -> String {
        let scheme = if self.shared.config.tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/api/", self.shared.config.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.config.addr
    }

    // ----- scripting -----

    /// Sends `event` as a text frame to every open websocket. Returns how
    /// many connections it was queued for; each connection thread writes it
    /// at once (microseconds), after anything queued for it before.
    pub fn send_json(&self, event: &Value) -> usize {
        self.send_text(&event.to_string())
    }

    /// Sends `text` verbatim (it need not be JSON) as a text frame to every
    /// open websocket; returns how many got it.
    pub fn send_text(&self, text: &str) -> usize {
        self.shared
            .broadcast(&Outbound::Text(Utf8Bytes::from(text)))
    }

    /// Sends a binary frame to every open websocket; returns how many got it.
    pub fn send_binary(&self, bytes: &[u8]) -> usize {
        self.shared
            .broadcast(&Outbound::Binary(Bytes::copy_from_slice(bytes)))
    }

    /// Sends `{"type":"hello"}` to every open websocket.
    pub fn send_hello(&self) -> usize {
        self.send_json(&json!({ "type": "hello" }))
    }

    /// Sends `{"type":"goodbye"}` (the server is about to close) to every
    /// open websocket.
    pub fn send_goodbye(&self) -> usize {
        self.send_json(&json!({ "type": "goodbye" }))
    }

    /// Sends `{"type":"team_migration_started"}` to every open websocket.
    pub fn send_team_migration_started(&self) -> usize {
        self.send_json(&json!({ "type": "team_migration_started" }))
    }

    /// Sends `{"type":"error","error":{"code":code,"msg":msg}}` to every open
    /// websocket.
    pub fn send_error_event(&self, code: i64, msg: &str) -> usize {
        self.send_json(&json!({ "type": "error", "error": { "code": code, "msg": msg } }))
    }

    /// Sends a realistic `message` event from `user` in `channel` to every
    /// open websocket, with a fresh unique `ts` (such as
    /// `"1700000000.000123"`), `event_ts`, `team` and `client_msg_id`.
    pub fn send_message(&self, channel: &str, user: &str, text: &str) -> usize {
        let ts = self.shared.next_ts();
        self.send_json(&json!({
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.shared.config.team_id,
            "event_ts": ts,
            "client_msg_id": random_uuid(),
        }))
    }

    /// Has every open websocket write the text frame `event_text` `count`
    /// times, as fast as the client reads them. Returns at once with the
    /// number of connections; the writing happens on the connection threads
    /// (which keep recording incoming frames meanwhile, less promptly).
    pub fn flood(&self, event_text: &str, count: usize) -> usize {
        self.shared
            .broadcast(&Outbound::Flood(Utf8Bytes::from(event_text), count))
    }

    /// Closes every open websocket cleanly: a close frame with `code` and
    /// `reason`, then up to 500 ms for the client's close reply, then the TCP
    /// connection is closed. Frames queued before are sent first.
    pub fn close_all(&self, code: u16, reason: &str) {
        self.shared
            .broadcast(&Outbound::Close(code, Utf8Bytes::from(reason)));
    }

    /// Drops every open websocket hard: the TCP connection is shut down in
    /// both directions at once, without a close frame.
    pub fn drop_all(&self) {
        let state = self.shared.lock();
        for conn in state.ws_conns.values() {
            let _ = conn.tcp.shutdown(Shutdown::Both);
            let _ = conn.tx.send(Outbound::Stop);
        }
    }

    /// Queues the answer for a future `rtm.connect` / `rtm.start` call
    /// (first in, first out; see [`ConnectReply`]).
    pub fn push_connect_reply(&self, reply: ConnectReply) {
        self.shared.lock().connect_replies.push_back(reply);
    }

    /// Whether RTM `{"type":"ping"}` frames get a pong (default true).
    /// `false` makes a "zombie" server that silently ignores them.
    ///
    /// Websocket-level ping frames are still answered (tungstenite answers
    /// them itself).
    pub fn set_answer_pings(&self, yes: bool) {
        self.shared.lock().settings.answer_pings = yes;
    }

    /// How client `message` frames are acknowledged from now on.
    pub fn set_ack_mode(&self, mode: RtmAckMode) {
        self.shared.lock().settings.ack_mode = mode;
    }

    /// Whether new connections get `{"type":"hello"}` as their first frame
    /// (default true).
    pub fn set_auto_hello(&self, yes: bool) {
        self.shared.lock().settings.auto_hello = yes;
    }

    /// Whether messages are echoed back to all open websockets as `message`
    /// events from the bot user (default true), like Slack does: those
    /// posted with `chat.postMessage` and those sent as RTM `message` frames.
    pub fn set_echo_messages(&self, yes: bool) {
        self.shared.lock().settings.echo_messages = yes;
    }

    /// Queues the answer for a future call to `method` (first in, first out; see
    /// [`MethodReply`]). Calls find the normal answer when the queue is empty.
    /// `rtm.connect` and `rtm.start` use [`FakeSlack::push_connect_reply`] queue after this
    /// one.
    pub fn push_method_reply(&self, method: &str, reply: MethodReply) {
        self.shared
            .lock()
            .method_replies
            .entry(method.to_owned())
            .or_default()
            .push_back(reply);
    }

    /// The base of the upload URLs handed out by `files.getUploadURLExternal`:
    /// `http://localhost:PORT/upload/` (`https://` with TLS: the certificate must then be
    /// valid for `localhost` too). It names the fake as `localhost`, unlike
    /// [`FakeSlack::api_url`], so requests to the upload host are told apart by their `Host`
    /// header too.
    pub fn upload_url_base(&self) -> String {
        self.shared.config.upload_base()
    }

    // ----- recording -----

    /// Every request to the upload host so far (the most recent ones, see
    /// [`FakeSlackBuilder::record_limit`]), in arrival order.
    pub fn upload_requests(&self) -> Vec<UploadRequest> {
        self.shared.lock().uploads.clone()
    }

    /// Every message of a channel (by id or name) as `conversations.history` holds it, oldest
    /// first, thread replies included: posted with `chat.postMessage`, sent over the
    /// websocket, or shared files; with their edits and reactions.
    pub fn channel_messages(&self, channel: &str) -> Vec<Value> {
        self.shared.lock().workspace.messages(channel)
    }

    /// Every request to a `response_url` so far (the most recent ones, see
    /// [`FakeSlackBuilder::record_limit`]).
    pub fn response_url_posts(&self) -> Vec<ResponseUrlPost> {
        self.shared.lock().response_posts.clone()
    }

    /// Waits until at least `n` requests reached a `response_url`; false on timeout.
    pub fn wait_for_response_url_posts(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |st| st.response_posts.len() >= n)
    }

    /// Every file whose upload was completed (`files.completeUploadExternal`).
    pub fn files(&self) -> Vec<Value> {
        self.shared.lock().workspace.files()
    }

    /// How many text frames clients sent so far (never trimmed).
    pub fn frames_total(&self) -> usize {
        self.shared.lock().frames_total
    }

    /// Every Web API request so far (the most recent ones, see
    /// [`FakeSlackBuilder::record_limit`]), in arrival order.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.shared.lock().api_calls.clone()
    }

    /// How many requests to `method` (e.g. `"rtm.connect"`) arrived so far.
    pub fn calls_to(&self, method: &str) -> usize {
        count_calls(&self.shared.lock(), method)
    }

    /// Every text frame clients sent so far (RTM pings included; the most recent ones, see
    /// [`FakeSlackBuilder::record_limit`]), in the order the server read them.
    pub fn frames(&self) -> Vec<ReceivedFrame> {
        self.shared.lock().frames.clone()
    }

    /// How many RTM websockets are open now.
    pub fn connections_open(&self) -> usize {
        self.shared.lock().ws_conns.len()
    }

    /// How many RTM websockets were opened so far (completed handshakes with a
    /// valid ticket).
    pub fn connections_total(&self) -> u64 {
        self.shared.lock().connections_total
    }

    /// The parameters of every successful `chat.postMessage` call so far (the most recent
    /// ones, see [`FakeSlackBuilder::record_limit`]).
    pub fn posted_messages(&self) -> Vec<Value> {
        self.shared.lock().posted.clone()
    }

    // ----- waiting -----

    /// Waits until at least `n` client frames were recorded; false on timeout.
    pub fn wait_for_frames(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.frames_total >= n)
    }

    /// Waits for a recorded client frame matching `pred` (frames recorded
    /// before the call count too) and returns the first one; `None` on timeout.
    ///
    /// `pred` runs while the recording is locked, so it must not call back
    /// into this `FakeSlack`.
    pub fn wait_for_frame<F: Fn(&ReceivedFrame) -> bool>(
        &self,
        pred: F,
        timeout: Duration,
    ) -> Option<ReceivedFrame> {
        // `checked` counts frames since the start; `frames` holds the most recent ones.
        let mut checked: usize = 0;
        let mut found = None;
        self.shared.wait_until(timeout, |st| {
            let first = st.frames_total - st.frames.len();
            let skip = checked.saturating_sub(first);
            let new = st.frames.get(skip..).unwrap_or_default();
            found = new.iter().find(|f| pred(f)).cloned();
            checked = st.frames_total;
            found.is_some()
        });
        found
    }

    /// Waits until at least `total` RTM websockets were opened so far; false
    /// on timeout.
    pub fn wait_for_connections(&self, total: u64, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |st| st.connections_total >= total)
    }

    /// Waits until exactly `n` RTM websockets are open (also use it to wait
    /// for a client to close: `wait_for_open(0, ..)`); false on timeout.
    pub fn wait_for_open(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.ws_conns.len() == n)
    }

    /// Waits until at least `n` requests to `method` arrived; false on timeout.
    pub fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |st| count_calls(st, method) >= n)
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        let mut threads = self.shared.begin_stop();
        // Wake the accept thread, blocked in `accept`.
        let _ = TcpStream::connect_timeout(&self.shared.config.addr, Duration::from_millis(100));
        threads.extend(self.accept.take());
        join_bounded(threads, Duration::from_millis(500));
    }
}

fn count_calls(state: &state::State, method: &str) -> usize {
    state.call_counts.get(method).copied().unwrap_or(0)
}

/// Joins the threads that finish within `limit`; the others are detached.
fn join_bounded(mut threads: Vec<JoinHandle<()>>, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (finished, running): (Vec<_>, Vec<_>) =
            threads.into_iter().partition(|t| t.is_finished());
        for thread in finished {
            let _ = thread.join();
        }
        threads = running;
        if threads.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            log::warn!(
                "fake slack: {} server threads still running after shutdown",
                threads.len()
            );
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// A random version 4 UUID, as Slack uses for `client_msg_id`.
fn random_uuid() -> String {
    let n = rand::random::<u128>();
    let n = (n & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
