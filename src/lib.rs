//! A blocking, thread-based Rust crate for Slack apps, with no async runtime: **the App**
//! ([`app::App`], Bolt for blocking Rust: listeners, `ack` / `say` / `respond`, middleware),
//! **Socket Mode** ([`socket_mode::SocketModeClient`], how Slack apps receive events today), the
//! **Web API** ([`WebClient`]) everything answers through, and the legacy **RTM API**
//! ([`RtmClient`], the Rust counterpart of Python's `slack_sdk.rtm.RTMClient`).
//!
//! Write listeners, call `start()` in `main`, and the library does the rest: it connects, keeps
//! the connection alive, reconnects with backoff when it breaks, acks what Slack needs acked
//! within its 3 seconds, runs your listeners on a pool of threads, lets them answer through the
//! ack, the Web API or `response_url`, and stops cleanly on Ctrl-C. The embedded fake Slack
//! ([`testing`]) speaks all of it, so you can run and test apps without any token.
//!
//! # Quick start
//!
//! ```no_run
//! use slack_rtm::app::{Ack, App};
//!
//! fn main() -> Result<(), slack_rtm::Error> {
//!     let env = |name| std::env::var(name).unwrap_or_default();
//!     let app = App::builder().bot_token(&env("SLACK_BOT_TOKEN")).build()?;
//!     app.message("hello", |ctx| {
//!         ctx.say(&format!("Hey there <@{}>!", ctx.user_id().unwrap_or_default()))?;
//!         Ok(())
//!     });
//!     app.command("/deploy", |ctx| {
//!         let target = ctx.command().map_or("", |c| c.text).to_owned();
//!         ctx.ack_with(Ack::text(&format!("deploying {target}…")).ephemeral())?;
//!         // The ack is out; the long part runs here, on the App's worker thread.
//!         ctx.respond(serde_json::json!({"text": format!("{target} deployed")}))?;
//!         Ok(())
//!     });
//!     app.socket_mode(&env("SLACK_APP_TOKEN")).build()?.start() // until Ctrl-C
//! }
//! ```
//!
//! # The App
//!
//! [`app::App`] is what Slack developers write with Bolt: listeners for events
//! ([`App::event`](app::App::event)), messages by text ([`App::message`](app::App::message)),
//! slash commands, actions by `action_id` (or `block_id` and `action_id`), modal submissions
//! and closes, shortcuts and external select options; each is an `Fn(&Ctx) -> app::Result`,
//! so `?` works on any error. The [`app::Ctx`] is owned (`Clone + Send`): the request
//! ([`body`](app::Ctx::body), [`payload`](app::Ctx::payload), typed
//! [`command`](app::Ctx::command) / [`action`](app::Ctx::action) / [`view`](app::Ctx::view)),
//! who it comes from ([`user_id`](app::Ctx::user_id), [`channel_id`](app::Ctx::channel_id), …),
//! and how to answer: [`ack`](app::Ctx::ack) / [`ack_with`](app::Ctx::ack_with) with an
//! [`app::Ack`], [`say`](app::Ctx::say), [`respond`](app::Ctx::respond) and
//! [`client`](app::Ctx::client).
//!
//! - **One core, three receivers.** [`App::dispatch`](app::App::dispatch) answers an
//!   HTTP-shaped [`AppRequest`](app::AppRequest) (tests call it directly;
//!   [`App::handle_http`](app::App::handle_http) mounts the App in any HTTP server, with
//!   Slack's signature check); [`App::socket_mode`](app::App::socket_mode) and
//!   [`App::rtm`](app::App::rtm) return the client builders below with the App wired in.
//! - **Who runs.** For a command or an interaction, the first listener that matches, in
//!   registration order; for an event, every listener that matches.
//! - **Acks.** Listeners run on a pool of worker threads (10 by default), never on a socket
//!   reader, a dispatcher or an HTTP thread; the request waits for its ack on a channel.
//!   Events are acked on arrival; a listener that returns without acking is acked bare then; one
//!   still running at the ack deadline (2.5 s) is acked bare with a `warn`, and its later ack
//!   fails. A bare `view_submission` ack is an empty body: the modal closes.
//! - **Built in**, in this order: `ssl_check`, the signature check, authorization (the bot
//!   token verified once with `auth.test`, or an `authorize` hook for many workspaces),
//!   ignore-self (the bot's own events), `url_verification`; then your middleware
//!   ([`App::middleware`](app::App::middleware), onion style with [`next.run()`](app::Next::run)).
//! - **When nobody listens**, an event is acked; a command or interaction is not (Slack shows
//!   the user an error) and one `warn` names the registration that would handle it
//!   (`app.action("approve", …)`). A listener's error or panic goes to
//!   [`App::error`](app::App::error); the App goes on.
//!
//! - **HTTP mode.** [`App::http`](app::App::http) serves the App on its own HTTP/1.1
//!   receiver ([`app::http`]): signed requests verified, answered the moment the listener
//!   acks, behind a TLS-terminating proxy or tunnel at `https://<host>/slack/events`.
//! - **Many workspaces.** [`AppBuilder::oauth`](app::AppBuilder::oauth) with
//!   [`app::oauth::OAuthSettings`]: the install and redirect pages, installations in a store
//!   (memory, JSON file, SQLite with feature `sqlite`), tokens rotated before they expire, and
//!   a "please reinstall" answer ([`app::REINSTALL_MESSAGE`]) for a workspace without one.
//!
//! The [`app`] module documents all of it; [`testing::Delivery`] and
//! [`testing::FakeSlack::deliver`] test an App the way bolt-python's scenario tests do.
//!
//! # Socket Mode
//!
//! RTM is closed to new Slack apps; **Socket Mode** is how an app receives Events API events,
//! slash commands and interactions over a websocket it opens itself (no public URL). The
//! [`socket_mode::SocketModeClient`] runs on the same engine as [`RtmClient`] (the same three
//! threads, transport, proxy and TLS options, reconnect policy, signals and stop). The
//! [App](#the-app) runs on it (`app.socket_mode(app_token)`); by hand it reads:
//!
//! ```no_run
//! use serde_json::json;
//! use slack_rtm::socket_mode::{Request, SocketModeClient};
//! use slack_rtm::ChatMessage;
//!
//! let client = SocketModeClient::builder(&std::env::var("SLACK_APP_TOKEN").unwrap_or_default())
//!     .bot_token(&std::env::var("SLACK_BOT_TOKEN").unwrap_or_default())
//!     .build()?;
//! client.on("app_mention", |r: &Request| {
//!     let Some(event) = r.event() else { return };
//!     let channel = event["channel"].as_str().unwrap_or_default();
//!     let ts = event["ts"].as_str().unwrap_or_default();
//!     r.web_client
//!         .chat_post_message_with(&ChatMessage::new(channel, "Hi!").thread_ts(ts))
//!         .ok();
//! });
//! client.on("/deploy", |r: &Request| {
//!     r.ack_with(json!({"text": "deploying"})).ok();
//! });
//! client.start()?; // until Ctrl-C
//! # Ok::<(), slack_rtm::Error>(())
//! ```
//!
//! - **Tokens.** The app-level token (`xapp-…`, scope `connections:write`) opens the socket;
//!   a bot or user token there is a `build()` error. The bot token (`xoxb-…`,
//!   [`bot_token`](socket_mode::SocketModeClientBuilder::bot_token)) is for the handlers' Web
//!   API calls.
//! - **Connecting.** Every connection starts with a fresh `apps.connections.open` (the URL is
//!   single-use). Fatal answers ([`socket_mode::OPEN_FATAL_CODES`], HTTP 401/403/404) stop after
//!   one call; others are retried with the RTM backoff and connect-rate gate.
//! - **Names.** Each envelope is dispatched under its inner name (`app_mention`, `/deploy`,
//!   `block_actions`, ...; `app_rate_limited` for an `events_api` envelope without an event),
//!   then its type (`events_api`, `slash_commands`, `interactive`), then `"*"`; unknown types
//!   as `unknown`. Also `hello`, `disconnect`, and the pseudo-events `open`, `close`, `error`.
//! - **Acks and the 3 s rule.** Slack redelivers events not acked within 3 s. Events are acked
//!   by the reader thread as soon as they arrive ([`socket_mode::AckMode::Immediate`]), so slow
//!   handlers never delay an ack. Slash commands and interactions wait for their handlers, which
//!   may answer with [`Request::ack_with`](socket_mode::Request::ack_with); when the handlers
//!   return without acking, a bare ack goes at once; at the ack deadline (2.5 s) a bare ack goes
//!   anyway, an `error` event of kind `late_ack` follows, and a later `ack_with` fails. An ack of
//!   20,480 bytes or more is refused locally (Slack drops it) and the payload comes back.
//! - **Retries and dedupe.** A redelivered event (`retry_attempt` 1–3, `retry_reason`
//!   `"timeout"`) whose `event_id` was dispatched in the last 10 minutes is acked and not
//!   dispatched again; a retry of an event never seen is dispatched.
//! - **Refresh without a gap.** Slack refreshes each socket about every 5 hours (`disconnect`
//!   `warning`, then about 10 s later `refresh_requested`). On either — or, without a
//!   warning, shortly before the `approximate_connection_time` its `hello` gave runs out (a
//!   tenth of it ahead, at most a minute) — the client opens the
//!   replacement socket **first** (a fresh URL) while a fourth thread (`sm-drain`) keeps reading
//!   the old one; when the new `hello` arrives it stops taking envelopes from the old socket,
//!   lets the acks of what it delivered go out, and closes it (a `close` event with
//!   `"replaced": true`). Never more than `connections(n) + 1` sockets.
//!   `link_disabled` stops the client with [`Error::LinkDisabled`]; `too_many_websockets` (10
//!   sockets per app, across all its instances) backs off exponentially (from 2 s to 5 min,
//!   never below half the step) with one `error` event.
//! - **Keepalive.** Websocket ping frames every 10 s; any inbound frame (Slack pings every
//!   ~10 s) counts as life; 20 s of silence replaces the connection.
//! - **Several sockets.** [`connections(n)`](socket_mode::SocketModeClientBuilder::connections)
//!   (1–10, default 1) keeps `n` sockets open, each with its own reader and reconnect loop:
//!   Slack spreads envelopes over them, so one that drops or refreshes leaves no gap. Acks go
//!   on the socket the envelope came from; dedupe spans all of them.
//! - **Threads.** `sm-reader`, `sm-pinger` and `sm-dispatch` (`sm-reader-1` … `sm-reader-n`
//!   with several sockets), plus `sm-drain` while a replaced socket is read during a refresh. Events wait for the handlers in a queue of up to 4096
//!   socket reads ([`channel_capacity`](socket_mode::SocketModeClientBuilder::channel_capacity)),
//!   already acked; only a fuller queue makes the reader pause.
//!
//! | Python `slack_sdk.socket_mode` / Bolt | slack-rtm |
//! |---|---|
//! | `SocketModeClient(app_token=..., web_client=WebClient(token=...))` | [`SocketModeClient::builder`](socket_mode::SocketModeClient::builder)`(app_token).bot_token(..).build()?` |
//! | `client.socket_mode_request_listeners.append(f)` | `client.on("*", f)` (or by name) |
//! | `client.send_socket_mode_response(SocketModeResponse(envelope_id))` | automatic; or [`Request::ack`](socket_mode::Request::ack) |
//! | `SocketModeResponse(envelope_id, payload={...})` / Bolt `ack({...})` | [`Request::ack_with`](socket_mode::Request::ack_with)`(json!({...}))` |
//! | `req.type`, `req.envelope_id`, `req.payload`, `req.retry_attempt` | `r.kind`, `r.envelope_id`, `r.payload`, `r.retry_attempt` |
//! | Bolt `@app.event("app_mention")`, `@app.command("/deploy")`, `@app.action(...)` | the [App](#the-app): `app.event("app_mention", ..)`, `app.command("/deploy", ..)`, `app.action(..)`; or by hand, `client.on("app_mention", ..)`, `client.on("/deploy", ..)`, `client.on("block_actions", ..)` |
//! | `client.connect()` / `SocketModeHandler(app, token).start()` | [`spawn`](socket_mode::SocketModeClient::spawn) / [`start`](socket_mode::SocketModeClient::start) |
//!
//! # Web API
//!
//! Every bot answers through the Web API: `p.web_client` in a handler (the client's own
//! [`WebClient`], sharing its token, base URL, proxy, TLS and retry options), or a
//! [`WebClient`] of your own. It has typed helpers for the methods bots use most, a generic
//! [`WebClient::api_call`] (any `Serialize` params) and [`WebClient::api_call_as`] (the answer
//! decoded into your type), cursor pagination ([`WebClient::paginate`] and the list helpers,
//! all returning [`Pages`]), and [`WebClient::files_upload_v2`]:
//!
//! ```no_run
//! # fn main() -> Result<(), slack_rtm::Error> {
//! use slack_rtm::{ChatMessage, FileUpload, WebClient};
//! use serde_json::json;
//!
//! let web = WebClient::builder("xoxb-your-token").rate_limit(true).build()?;
//! let posted = web.chat_post_message("C0123456789", "deploying...")?;
//! let ts = posted.get("ts").and_then(|t| t.as_str()).unwrap_or_default().to_string();
//! web.reactions_add("C0123456789", &ts, "rocket")?;
//! web.chat_update("C0123456789", &ts, "deployed")?;
//! let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*done*"}}]);
//! web.chat_post_message_with(&ChatMessage::new("C0123456789", "done").thread_ts(&ts).blocks(&blocks))?;
//! web.files_upload_v2(&FileUpload::new("log.txt", b"all good".to_vec()).channel("C0123456789"))?;
//! for page in web.conversations_history("C0123456789", &json!({"limit": 200})) {
//!     for m in page?.data()["messages"].as_array().into_iter().flatten() {
//!         println!("{}", m["text"]);
//!     }
//! }
//! #[derive(serde::Deserialize)]
//! struct Me { user_id: String }
//! let me: Me = web.api_call_as("auth.test", &())?;
//! # let _ = me.user_id;
//! # Ok(())
//! # }
//! ```
//!
//! **Retries.** A call is retried, each retry logged at `warn`, up to
//! [`max_retries`](WebClientBuilder::max_retries) times (default 3, so at most 4 calls), never
//! waiting more than [`max_retry_wait`](WebClientBuilder::max_retry_wait) (default 120 s) in
//! total for one call:
//!
//! | failure | retried | wait |
//! | --- | --- | --- |
//! | HTTP 429, or `ok:false` with `ratelimited` | always | `Retry-After` (1 s when absent) |
//! | before the request reached Slack: DNS, TCP connect, proxy `CONNECT`, TLS | always | backoff `250 ms · 2^n`, at most 8 s, jittered to 50–100 % |
//! | HTTP 5xx | with [`retry_server_errors(true)`](WebClientBuilder::retry_server_errors) | `Retry-After`, else the backoff |
//! | timeout, or the connection lost after the request was sent | with `retry_server_errors(true)` | the backoff |
//! | any other answer (`ok:false`, 4xx), a configuration error | never | |
//!
//! Why these defaults: a 429 or a failure to connect means Slack did not act on the request,
//! so retrying is always safe; a 5xx, a timeout or a lost connection may come *after* Slack
//! acted, and a retried `chat.postMessage` (or `chat.postEphemeral`, `files.completeUploadExternal`,
//! `conversations.open` with side effects...) may then **post twice**. Turn
//! `retry_server_errors` on for idempotent calls (reads, `reactions.add` — a repeat answers
//! `already_reacted` —, `chat.update`, `views.publish`), or on a separate client.
//! `rtm.connect`/`rtm.start` are made once: the reconnect loop owns their retries.
//!
//! **Rate limiter.** With [`rate_limit(true)`](WebClientBuilder::rate_limit), each call first
//! waits for budget from its method's Slack tier, shared by the client's clones, so bursts
//! are spread out instead of earning 429s (a 429 that still comes pushes the method's budget
//! out by its `Retry-After`):
//!
//! | tier | Slack's figure | budget here | methods with helpers |
//! | --- | --- | --- | --- |
//! | 1 | 1+ per minute | 1, then 1 per 60 s | `rtm.connect`, `rtm.start` |
//! | 2 | 20+ per minute | burst 3, then 1 per 3 s | `conversations.list`, `users.list`, `reactions.remove` |
//! | 3 | 50+ per minute | burst 5, then 1 per 1.2 s | `chat.update`, `chat.delete`, `reactions.add`, `conversations.history`/`replies`/`info`/`open`/`join`, any method not listed |
//! | 4 | 100+ per minute | burst 10, then 1 per 0.6 s | `chat.postEphemeral`, `chat.getPermalink`, `conversations.members`, `users.info`, `auth.test`, `views.*`, `files.*` |
//! | special | ~1 per second per channel | burst 3, then 1 per s, per channel | `chat.postMessage` |
//!
//! (Sources: Slack's "Rate limits" page and each method's reference page. Since 2025
//! `conversations.history`/`replies` are limited to 1 per minute for commercially distributed
//! apps outside the Marketplace; the table keeps Tier 3, the internal-app figure.)
//!
//! **Requests.** The token goes only in `Authorization: Bearer` to the base URL — never in a
//! URL, a body, a log line, a `Debug` output, an error, or to a file upload host. Read methods
//! (`conversations.history`, `users.info`, ...) are sent as `GET` like Slack's Python client
//! does; the rest as `POST` with JSON, or a form for the methods that historically take only
//! form data. Errors keep their chain: [`Error::Api`] has Slack's code, the HTTP status, the
//! body, `Retry-After`, and [`Error::response_messages`]; [`Error::Tls`], [`Error::WebSocket`]
//! and [`Error::Http`] return the underlying error from `source()`.
//!
//! | Python `slack_sdk.WebClient` | slack-rtm [`WebClient`] |
//! |---|---|
//! | `WebClient(token=..., base_url=..., timeout=..., proxy=..., ssl=..., headers=...)` | [`WebClient::builder`]`(token)` with the same options |
//! | `RateLimitErrorRetryHandler`, `ConnectionErrorRetryHandler` | built in: [`WebClientBuilder::max_retries`], [`WebClientBuilder::retry_server_errors`] |
//! | `api_call("m", json={...})` / `params={...}` | [`WebClient::api_call`]`("m", &json!({...}))`; [`WebClient::api_call_as`] for a typed answer |
//! | `chat_postMessage(channel=, text=, thread_ts=, reply_broadcast=, blocks=)` | `chat_post_message(channel, text)`, `chat_post_message_with(&ChatMessage::new(..).thread_ts(..).blocks(..))` |
//! | `chat_update(channel=, ts=, text=)`, `chat_delete(channel=, ts=)` | `chat_update(channel, ts, text)`, `chat_delete(channel, ts)` |
//! | `chat_postEphemeral(channel=, user=, text=)`, `chat_getPermalink(channel=, message_ts=)` | `chat_post_ephemeral(channel, user, text)`, `chat_get_permalink(channel, ts)` |
//! | `reactions_add(channel=, timestamp=, name=)`, `reactions_remove(...)` | `reactions_add(channel, ts, name)`, `reactions_remove(channel, ts, name)` |
//! | `conversations_list(limit=200)` (iterate for pages) | `conversations_list(&json!({"limit": 200}))` → [`Pages`] |
//! | `conversations_history(channel=, ...)`, `conversations_replies(channel=, ts=, ...)`, `conversations_members(channel=)` | `conversations_history(channel, &params)`, `conversations_replies(channel, ts, &params)`, `conversations_members(channel, &params)` → [`Pages`] |
//! | `conversations_info(channel=)`, `conversations_open(users=[...])`, `conversations_join(channel=)` | `conversations_info(channel)`, `conversations_open(&[users])`, `conversations_join(channel)` |
//! | `users_info(user=)`, `users_list()` | `users_info(user)`, `users_list(&())` → [`Pages`] |
//! | `auth_test()` | `auth_test()` |
//! | `views_open(trigger_id=, view=)`, `views_push`, `views_update(view_id=, view=)`, `views_publish(user_id=, view=)` | `views_open(trigger_id, &view)`, `views_push`, `views_update(view_id, &view)`, `views_publish(user_id, &view)` |
//! | `files_upload_v2(channel=, filename=, content=, title=, initial_comment=, thread_ts=)` | `files_upload_v2(&FileUpload::new(filename, bytes).channel(..).title(..).initial_comment(..).thread_ts(..))` |
//! | `SlackResponse["key"]`, `.status_code`, `.headers` | [`SlackResponse::get`], [`SlackResponse::status`], [`SlackResponse::header`] |
//! | `SlackApiError` (`e.response["error"]`) | [`Error::Api`] `{ code, status, body, retry_after, .. }` |
//!
//! # RTM
//!
//! The legacy Real Time Messaging API: only classic apps and legacy bot or user tokens may use
//! it (new apps get `not_allowed_token_type` and use Socket Mode). Register handlers with
//! [`RtmClient::on`] and call [`RtmClient::start`]; [`App::rtm`](app::App::rtm) runs an App's
//! `message` and `event` listeners over it instead.
//!
//!
//! ```no_run
//! use slack_rtm::{ChatMessage, Payload, RtmClient};
//!
//! fn main() -> Result<(), slack_rtm::Error> {
//!     let client = RtmClient::builder(&std::env::var("SLACK_BOT_TOKEN").unwrap_or_default())
//!         .build()?;
//!     client.on("message", |p: &Payload| {
//!         let text = p.data["text"].as_str().unwrap_or_default();
//!         if text.contains("Hello") {
//!             let channel = p.data["channel"].as_str().unwrap_or_default();
//!             let user = p.data["user"].as_str().unwrap_or_default();
//!             let ts = p.data["ts"].as_str().unwrap_or_default();
//!             let reply = format!("Hi <@{user}>!");
//!             let msg = ChatMessage::new(channel, &reply).thread_ts(ts);
//!             if let Err(e) = p.web_client.chat_post_message_with(&msg) {
//!                 eprintln!("reply failed: {e}");
//!             }
//!         }
//!     });
//!     client.start() // blocks until Ctrl-C (Ok) or a fatal error (Err)
//! }
//! ```
//!
//! # Events
//!
//! Every server frame is dispatched under a name, to the handlers of that name and then to the
//! `"*"` handlers:
//!
//! | frame | name | `data` |
//! |---|---|---|
//! | a JSON object with a string `type` | that type (`hello`, `message`, `pong`, ...) | the whole object, `type` included |
//! | an object with `reply_to` and no `type` (an acknowledgement) | `reply` | the object |
//! | any other object | `unknown` | the object |
//!
//! and the client adds pseudo-events:
//!
//! | name | when | `data` |
//! |---|---|---|
//! | `open` | right after each websocket handshake, before any frame | the `rtm.connect`/`rtm.start` answer |
//! | `close` | once for each opened connection, when it ends | `{"code", "reason", "will_reconnect", "attempt", "delay_ms"}` |
//! | `error` | a client-side problem: a failed connection attempt, a frame that is not a JSON object, a binary frame, a handler that panicked | `{"source": "client", "kind", "message"}` (+ `attempt`, `delay_ms` for connection attempts) |
//!
//! A server `{"type":"error"}` frame is dispatched as `error` too; its data has no
//! `"source": "client"`. A frame whose type no handler wants (no handler of that name and no
//! `"*"` handler) is skipped without being parsed, at the cost of a scan of its top level up
//! to its `type` (wherever Slack puts it; nested objects and strings are skipped unread): busy
//! workspaces send many events a bot never handles (`user_typing`, `presence_change`, ...).
//! So a malformed frame of such a type is not reported either. [`Payload::raw`] gives a server frame's text exactly as received, and
//! [`Payload::as_event`] the same event typed ([`Event`], see the [`event`] module) without
//! losing anything: unknown types and malformed known ones keep their JSON.
//!
//! # Threads
//!
//! A running client has three threads: `rtm-reader`, `rtm-pinger` and `rtm-dispatch` (plus a
//! short-lived `rtm-connect` during each connect call, so a stop never waits for one).
//!
//! ```text
//!                    ┌──── ws lock (memory only) ────┐
//!  socket ─read────▶ │ rtm-reader: bytes → TLS →      │ ──frames──▶ bounded channel ──▶ rtm-dispatch:
//!  (1 s tick)        │ websocket decode; sees hello,  │                                 parse JSON, call
//!                    │ resolves receipts (reply_to)   │                                 handlers in order
//!                    └────────────────────────────────┘
//!  send_over_websocket ──encode (ws lock)──▶ outbound buffer (≤ 1 MiB, in order)
//!  (any thread)        ──write (writer lock)─▶ socket       ◀── rtm-pinger also writes what
//!                                                               waits, pings, runs deadlines
//! ```
//!
//! TLS and the websocket protocol run over an in-memory stream. The reader thread does the
//! blocking socket reads (with a 1 s timeout, the tick at which it notices a stop request),
//! appends the bytes to the stream's input buffer and, under a short lock, decodes every
//! complete frame; when the buffer runs dry the stream answers `WouldBlock`, so the lock is
//! never held while waiting on the network. A sender encodes its frame under the same short
//! lock into an ordered outbound buffer, then writes the buffer to the socket under a second,
//! *writer* lock: **a send leaves at once, even on an idle connection**, TLS records are never
//! interleaved, and a server that stops reading blocks only the thread that is writing. While
//! one thread is blocked in a write, the reader keeps decoding and dispatching, other sends
//! queue behind it (returning at once) up to 1 MiB and are then refused with
//! [`SendErrorKind::OutboundFull`], and a stop drops the socket, which ends the blocked write.
//! The reader never writes to the socket itself (control replies such as pongs are written by
//! the pinger), so it can never be blocked by a peer that does not read.
//!
//! The reader hands the frames of each read to the dispatcher over a bounded channel; when
//! handlers fall behind, the channel fills and the reader waits, which pushes back on Slack
//! through TCP — no event is dropped and memory stays bounded (see
//! [`RtmClientBuilder::channel_capacity`] for the bound).
//!
//! The engine under the client is protocol-neutral: the threads, the transport, the reconnect
//! policy, keepalive and stop are shared with other websocket protocols; what is RTM's (the
//! connect call, `hello`, JSON pings, `reply_to` acks, `goodbye`) is a small layer on top.
//!
//! An [App](#the-app) adds its own threads, whatever its receiver: the listener pool
//! (`app-worker-0` … `app-worker-9` by default), `app-events-0` with `ordered_events(true)`, and
//! one ack deadline timer, `app-timer`. The client's dispatcher only hands each request to the
//! pool and returns, so the order above holds for requests, not for listeners:
//!
//! ```text
//! socket ─▶ sm-reader ─▶ sm-dispatch ─▶ queue ─▶ app-worker-N ─▶ your listener ─▶ ack/say/respond
//!              │ (events acked here)        └─▶ the request waits for its ack (channel, deadline: app-timer)
//! ```
//!
//! # Connecting, keepalive and reconnecting
//!
//! - Every connection starts with a fresh `rtm.connect` (or `rtm.start`, see
//!   [`ConnectMethod`]): the websocket URL is single-use and valid for 30 seconds.
//! - The client is *connected* once the websocket is open **and** `hello` has arrived (the
//!   reader recognises it, before any handler runs); before that, sends fail at once with
//!   [`SendErrorKind::NotConnected`]. A connection whose `hello` does not arrive within
//!   `timeout` of the websocket opening is dropped and replaced, whatever it sent before.
//! - Every `ping_interval` (default 30 s) the pinger sends `{"type":"ping"}`. If no frame at all
//!   arrives within the pong deadline (default: the interval, at most 10 s) the connection is
//!   dropped and replaced. `Duration::ZERO` disables both. While the reader waits behind slow
//!   handlers, the deadline is suspended: a slow handler never looks like a dead connection.
//! - With `auto_reconnect` (the default), a closed or broken connection, a missed pong,
//!   `goodbye`, `team_migration_started` or an `error` frame lead to a new `rtm.connect`,
//!   after an exponential backoff with full jitter (base 1 s, cap 60 s; `Retry-After` is a
//!   floor), through a connect-rate gate (bursts of 5, then one per minute, Slack's Tier 1).
//!   The attempt counter resets after a connection stayed up for 30 s; the first retry after
//!   such a connection is immediate. A connection that closed before it became healthy counts
//!   as a failed attempt toward [`RtmClientBuilder::max_attempts`].
//! - Fatal answers stop at once, after exactly one call, whatever `auto_reconnect` says:
//!   `invalid_auth`, `not_authed`, `account_inactive`, `token_revoked`, `token_expired`,
//!   `no_permission`, `missing_scope`, `not_allowed_token_type`, `ekm_access_denied`, the other
//!   access and malformed-request codes Slack documents for `rtm.connect`, `rtm_connect_required`,
//!   and HTTP 401, 403 and 404 ([`Error::is_fatal`]). Other `ok:false` codes, HTTP 429 and 5xx,
//!   an answer without `url` or with an unusable one ([`Error::BadUrl`]) and network errors
//!   are retried.
//!
//! # Sending
//!
//! [`RtmHandle::send_over_websocket`] adds an `id` when the payload has none and returns it.
//! Ids are positive, below 2^53 and unique for the client's lifetime (never reset on
//! reconnect, so a reply replayed after a reconnect cannot match the wrong message). A frame
//! over 16,384 bytes is refused locally ([`SendErrorKind::TooLarge`]): Slack would disconnect
//! the client. It never waits: not connected → [`SendErrorKind::NotConnected`] (also while a
//! connection is being lost or the client stops); a chat `message` held back by the throttle →
//! [`SendErrorKind::Throttled`]; 1 MiB already waiting for a socket the server does not read →
//! [`SendErrorKind::OutboundFull`]. Every refusal gives the payload back
//! ([`SendError::into_payload`]).
//!
//! ## Chat messages with receipts
//!
//! [`RtmHandle::send_message`] (and [`RtmHandle::send_message_with`] for threads and
//! broadcasts) returns a [`Receipt`]; [`Receipt::wait`] gives Slack's [`MessageAck`] (the stored `ts`
//! and text) or a [`MessageError`]: Slack's `{code, msg}`, [`MessageError::RateLimited`],
//! [`MessageError::ConnectionLost`], [`MessageError::Stopped`] or [`MessageError::Timeout`].
//! Acks resolve receipts on the reader thread, as soon as they arrive, so `wait` works inside
//! a handler too; they are still dispatched as `reply` events.
//!
//! - **Guards.** A frame over 16,384 bytes and `message` text over 4,000 characters (Unicode
//!   scalar values) are refused before anything reaches the wire; the connection stays up.
//!   [`RtmHandle::send_long_message`] splits long text at line breaks or spaces instead, each
//!   part within both limits, and queues all the parts or none.
//! - **Throttle.** Frames of type `message`, whichever method sends them, leave at most 3 at
//!   once and then 1 per second (Slack's limit; configurable with
//!   [`RtmClientBuilder::send_rate`], off with [`RtmClientBuilder::send_throttle`]). Pings,
//!   typing and presence frames are never throttled. Held messages wait in a bounded queue
//!   ([`RtmClientBuilder::send_queue_capacity`], default 100) and leave in order; a full queue
//!   refuses with [`SendErrorKind::QueueFull`] and gives the message back.
//! - **Reconnects.** `send_message` queues while disconnected and sends after the next `hello`.
//!   A message written to a connection that ends before its ack fails with
//!   [`MessageError::ConnectionLost`]: it may or may not have been posted, and it is never sent
//!   again silently. `send_over_websocket` never queues, for the connection or the throttle.
//! - **Presence.** [`RtmHandle::subscribe_presence`] remembers the list and sends it again after
//!   every reconnect (Slack forgets it with the connection); [`RtmHandle::presence_query`] asks
//!   once. [`RtmClientBuilder::batch_presence_aware`] and [`RtmClientBuilder::presence_sub`] are
//!   passed to `rtm.connect`.
//!
//! # Stopping
//!
//! [`RtmHandle::stop`] (also [`RtmClient::stop`], [`Running::stop`]) only requests a stop, so
//! it is safe inside a handler. The client sends a close frame (given at most 1 s to reach the
//! socket: Slack often never answers, and a server that stops reading cannot hold the stop),
//! drops the connection, dispatches that connection's `close`, discards queued events (a run
//! that ends on its own — a fatal answer, a lost connection without `auto_reconnect` — still
//! dispatches what it received), joins
//! its threads, and `start()` returns `Ok(())` — within about 1.5 s in every state: connected,
//! during a backoff wait, while `rtm.connect` or the websocket handshake hangs (the connect
//! call runs on its own short-lived thread, which the stop abandons; it ends by itself within
//! `timeout`), or while another thread is blocked writing to a server that stopped reading —
//! provided the running handler returns. A stopped client can be started again.
//!
//! [`Running::join`] (and dropping [`Running`]) called from one of the client's own handlers
//! cannot wait for itself: it requests the stop and returns at once
//! ([`Error::JoinFromClientThread`] from `join`); the threads end when the handler returns and
//! the client can be started again. A handle ([`RtmClient::handle`], `p.rtm_client`) does not
//! keep its client alive, so a handler may capture one freely; a handler that captures an
//! [`RtmClient`] clone keeps its own client alive.
//!
//! With `handle_signals(true)` (the default for `start()`; `spawn()` never handles signals),
//! SIGINT, SIGTERM and SIGHUP stop a running `start()` gracefully; a second SIGINT during the
//! stop exits the process with status 130. Outside a running `start()` the signals keep their
//! default action. The handlers are installed once per process (signal-hook cannot restore a
//! previous one), so a process-wide ignored or custom handler for these signals is replaced by
//! the default action once such a client has started.
//!
//! # Proxies and TLS
//!
//! [`RtmClientBuilder::proxy`] takes an `http://` proxy used for both the Web API and the
//! websocket (an HTTP `CONNECT` tunnel, with `Proxy-Authorization: Basic` when the URL has
//! credentials); it is always used, `NO_PROXY` notwithstanding. Without it, both paths take
//! the proxy from the environment as ureq reads it: the first of `ALL_PROXY`, `all_proxy`,
//! `HTTPS_PROXY`, `https_proxy`, `HTTP_PROXY`, `http_proxy` that is set, whatever the target's
//! scheme, unless `NO_PROXY` (or `no_proxy`: host names, `.suffix`/`*.suffix`, `*`) names the
//! host. A proxy from the environment that is not `http://` is ignored, with a warning, by
//! both paths. A refused tunnel is [`Error::Proxy`] (`407 proxy authentication required`,
//! say); proxy credentials never appear in errors or logs.
//!
//! TLS uses native-tls (OpenSSL on Linux) for both paths: the system store by default
//! (`SSL_CERT_FILE`/`SSL_CERT_DIR` apply), replaced by [`RtmClientBuilder::root_certificate`]
//! when given; certificates and host names are always verified, and `wss://` means TLS
//! whatever the port. [`RtmClientBuilder::client_identity`] presents a client certificate on
//! both paths. A failed handshake is [`Error::Tls`] with the server (`host[:port]`) and the
//! reason; so is a server's refusal that arrives just after the handshake (a TLS 1.3 server
//! refusing the client certificate), unless the server resets the connection instead of
//! sending its alert, which shows as [`Error::Io`].
//!
//! Every wait is bounded by [`RtmClientBuilder::timeout`] (default 30 s), and a timeout names
//! its [`Phase`]:
//!
//! | phase | bound | default | when it expires |
//! |---|---|---|---|
//! | Web API request (`rtm.connect`, every [`WebClient`] call): DNS, TCP, proxy `CONNECT`, TLS, request and response | `timeout` for the whole request | 30 s | [`Error::Timeout`] `{ phase: Phase::Http }` |
//! | websocket: DNS and TCP connect (to the proxy, if any) | one deadline, `timeout` after the websocket connect starts, shared by its four phases | 30 s in all | `Timeout { phase: Phase::Connect }` |
//! | websocket: proxy `CONNECT` | (the same deadline) | | `Timeout { phase: Phase::Proxy }` |
//! | websocket: TLS handshake (`wss://`) | (the same deadline) | | `Timeout { phase: Phase::Tls }` |
//! | websocket: HTTP upgrade handshake | (the same deadline) | | `Timeout { phase: Phase::Handshake }` |
//! | websocket write: what waits in the outbound buffer | `timeout` per write, however slowly the peer reads (the pinger's writes: the pong deadline) | 30 s | the writing send fails with [`SendErrorKind::Io`] (`websocket write timed out`) and the connection is replaced; the close frame gets 1 s |
//! | websocket read | the pong deadline (see above) | the ping interval, at most 10 s | the connection is replaced |
//!
//! So a server or proxy that accepts TCP and then says nothing costs at most one `timeout`
//! per phase it stalls, and `start()` never hangs on it. Host names for the websocket are
//! resolved on a short-lived helper thread so that DNS, too, is bounded (ureq does the same
//! for the Web API); if the system resolver hangs past the deadline, that thread finishes on
//! its own later. A `timeout` longer than a year counts as a year.
//!
//! # Logging
//!
//! The crate logs through [`log`]: `info` for connects and stops, `warn` for lost connections
//! and retries (with the cause, attempt and delay), `error` for fatal errors and panicking
//! handlers, `debug` for Web API calls, `trace` for frames sent. The token and proxy
//! credentials never appear in this crate's logs, `Debug` output or errors. One caution: the
//! HTTP layer underneath (`ureq_proto`) logs raw request bytes, `Authorization` header
//! included, at `trace`; keep `ureq`/`ureq_proto` at `info` or below in your logger's filter
//! (the `slack-rtm` tool does this whatever `RUST_LOG` says).
//!
//! # Coming from Python
//!
//! | Python `RTMClient` | slack-rtm |
//! |---|---|
//! | `RTMClient(token=...)` | [`RtmClient::builder`]`(token)...build()?` |
//! | `run_async=True` | [`RtmClient::spawn`] → [`Running`] |
//! | `auto_reconnect=` | [`RtmClientBuilder::auto_reconnect`] |
//! | `ssl=SSLContext` | [`RtmClientBuilder::root_certificate`], [`RtmClientBuilder::client_identity`] |
//! | `proxy=` | [`RtmClientBuilder::proxy`] |
//! | `timeout=` | [`RtmClientBuilder::timeout`] |
//! | `base_url=` | [`RtmClientBuilder::base_url`] |
//! | `connect_method="rtm.start"` | [`RtmClientBuilder::connect_method`]`(`[`ConnectMethod::RtmStart`]`)` |
//! | `ping_interval=` | [`RtmClientBuilder::ping_interval`] |
//! | `headers=` | [`RtmClientBuilder::header`] |
//! | `@RTMClient.run_on(event="message")` (class-wide) | `client.on("message", ...)` (per client) |
//! | `payload["data"]`, `payload["web_client"]`, `payload["rtm_client"]` | `p.data`, `p.web_client`, `p.rtm_client` |
//! | `rtm_client.send_over_websocket(payload=...)` | [`RtmHandle::send_over_websocket`] |
//! | `ping()`, `typing(channel=...)`, `stop()` | [`RtmHandle::ping`], [`RtmHandle::typing`], [`RtmHandle::stop`] |
//! | `SlackApiError` | [`Error::Api`] |
//! | `SlackClientNotConnectedError` | [`SendErrorKind::NotConnected`] |
//! | `rtm_client.stop()` in a handler, `future.result()` | [`RtmHandle::stop`]; [`Running::join`] from another thread |
//!
//! The Python `WebClient` methods map as in the [Web API](#web-api) table.
//!
//! Differences: `data` keeps the frame's `type` (Python pops it); handlers are registered per
//! client, not on the class; `start()` returns an error instead of raising in a loop.
//!
//! # Testing your bot
//!
//! [`testing::FakeSlack`] (feature `testing`) is a real local server on `127.0.0.1:0` that
//! speaks the Web API and the RTM websocket; script it and read what your bot sent. Its
//! workspace is stateful: posted messages appear in `conversations.history` and `replies`,
//! reactions, edits, DMs, files (uploaded to the fake itself) and views are kept, and any
//! method's next answers can be scripted (a 429 with `Retry-After`, a 5xx, a dropped
//! connection, a slow answer) with [`testing::FakeSlack::push_method_reply`]. See the
//! [`testing`] module. For an App, [`testing::FakeSlack::deliver`] takes the shape of what a
//! user did ([`testing::Delivery`]: a command, a click, a submitted modal with its state
//! values, a shortcut, a message) and returns what was delivered (`response_url`, `trigger_id`,
//! ids), and [`testing::FakeSlack::payload`] builds the same for [`app::App::dispatch`]. The
//! feature is off by default, so a bot's own build compiles no fake
//! server; turn it on where the tests are:
//!
//! ```toml
//! [dependencies]
//! slack-rtm = "0.1"
//!
//! [dev-dependencies]
//! slack-rtm = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `testing` | off | [`testing::FakeSlack`], the embedded fake Slack (no extra dependencies) |
//! | `regex` | off | `regex::Regex` matchers for the App's listeners (captures in [`app::Ctx::matches`]) |
//!
//! The command-line tool `slack-rtm` is a separate package of the repository (`cli/`), so its
//! dependencies (a logger) never reach a library user's build.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The guide links to `testing`, which exists only with that feature (docs.rs has it).
#![cfg_attr(not(feature = "testing"), allow(rustdoc::broken_intra_doc_links))]

pub mod app;
mod backoff;
mod chat;
mod config;
mod engine;
mod error;
pub mod event;
mod rate;
mod registry;
pub mod rtm;
mod scan;
mod signals;
pub mod socket_mode;
mod tls;
mod transport;
mod web;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

// The README's Rust snippets, compiled (and run unless marked `no_run`) by `cargo test --doc`.
// They use the fake Slack, which this repository's tests always have.
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use chat::ChatMessage;
pub use config::DEFAULT_BASE_URL;
pub use error::{Error, Phase, SendError, SendErrorKind};
pub use event::Event;
#[doc(inline)]
pub use rtm::{
    ConnectMethod, MessageAck, MessageError, Payload, Receipt, RtmClient, RtmClientBuilder,
    RtmHandle, Running, MAX_TEXT_CHARS,
};
#[doc(hidden)]
pub use web::__fuzz_web_answer;
pub use web::{FileUpload, Pages, SlackResponse, WebClient, WebClientBuilder};
// `ChatMessage`'s older names, kept so that existing code compiles.
#[doc(hidden)]
pub use {rtm::OutgoingMessage, web::PostMessage};
