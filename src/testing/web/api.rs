//! The fake Web API methods: parameter collection, token checks, recording,
//! scripted answers, the upload host, and the method dispatch (the data lives in
//! [`super::workspace`]).

use std::time::Instant;

use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use super::workspace::{param, Answer};
use crate::testing::socket_mode::{self, OpenAnswer};
use crate::testing::state::{Outbound, Shared, BOT_ID, TICKET_TTL};
use crate::testing::wire::{Head, Response};
use crate::testing::{ApiCall, ConnectReply, MethodReply, ResponseUrlPost, UploadRequest};

/// What to do with an API request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Send this response.
    Respond(Response),
    /// Never answer; hold the connection until the server stops.
    Hang,
    /// Close the connection without an answer.
    Drop,
}

/// Records the call, checks the token, and runs `method`.
pub(crate) fn handle(shared: &Shared, head: &Head, method: &str, body: &[u8]) -> Reply {
    let (params, body_error) = collect_params(head, body);
    let token = bearer_token(head).or_else(|| {
        params
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    });
    {
        let mut state = shared.lock();
        state.record_call(ApiCall {
            method: method.to_owned(),
            http_method: head.method.clone(),
            headers: head.headers.clone(),
            params: Value::Object(params.clone()),
            token: token.clone(),
            at: Instant::now(),
        });
        state.sm.tap_api(method, &Value::Object(params.clone()));
    }
    shared.notify();
    if method == "apps.connections.open" {
        // Socket Mode checks app tokens itself (the `token` option is the bot's).
        return match socket_mode::open_answer(shared, &head.method, token.as_deref()) {
            OpenAnswer::Json {
                status,
                body,
                retry_after,
            } => {
                let response = Response::json(status, &body);
                Reply::Respond(match retry_after {
                    Some(secs) => response.with_header("Retry-After", secs.to_string()),
                    None => response,
                })
            }
            OpenAnswer::Hang => Reply::Hang,
        };
    }

    if let Some(code) = body_error {
        return error(code);
    }
    if let Some(code) = check_token(shared, token.as_deref()) {
        if KNOWN.contains(&method) {
            return error(code);
        }
    }
    let scripted = shared
        .lock()
        .method_replies
        .get_mut(method)
        .and_then(|q| q.pop_front());
    match scripted {
        None => {}
        Some(MethodReply::Delay(d)) => {
            // A stoppable sleep: dropping the server ends it.
            shared.wait_until(d, |st| st.stopping);
        }
        Some(reply) => return scripted_reply(reply),
    }
    // OAuth methods, and tokens the fake issued (expiry, revocation, auth.test).
    if let Some(response) =
        crate::testing::oauth::api(shared, head, method, &params, token.as_deref())
    {
        return Reply::Respond(response);
    }
    if !KNOWN.contains(&method) {
        return error("unknown_method");
    }
    if let Some(code) = check_token(shared, token.as_deref()) {
        return error(code);
    }
    match method {
        "rtm.connect" => rtm_connect(shared, false),
        "rtm.start" => rtm_connect(shared, true),
        "auth.test" => auth_test(shared),
        "chat.postMessage" => post_message(shared, params),
        "files.getUploadURLExternal" => {
            let base = shared.config.upload_base();
            answer(shared.lock().workspace.get_upload_url(&params, &base))
        }
        "files.completeUploadExternal" => {
            let ts = shared.next_ts();
            answer(shared.lock().workspace.complete_upload(&params, &ts))
        }
        "chat.update" => {
            let ts = shared.next_ts();
            answer(shared.lock().workspace.chat_update(&params, &ts))
        }
        "chat.postEphemeral" => post_ephemeral(shared, &params),
        m if m.starts_with("views.") => {
            if matches!(m, "views.open" | "views.push") {
                let trigger = params.get("trigger_id").and_then(Value::as_str);
                if let Some(code) = crate::testing::app::check_trigger(shared, trigger) {
                    return error(code);
                }
            }
            answer(shared.lock().workspace.views_call(m, &params))
        }
        m => {
            let mut state = shared.lock();
            let w = &mut state.workspace;
            answer(match m {
                "chat.delete" => w.chat_delete(&params),
                "chat.getPermalink" => w.chat_get_permalink(&params),
                "reactions.add" => w.reactions_add(&params),
                "reactions.remove" => w.reactions_remove(&params),
                "reactions.get" => w.reactions_get(&params),
                "conversations.list" => w.conversations_list(&params),
                "conversations.history" => w.conversations_history(&params),
                "conversations.replies" => w.conversations_replies(&params),
                "conversations.info" => w.conversations_info(&params),
                "conversations.members" => w.conversations_members(&params),
                "conversations.open" => w.conversations_open(&params),
                "conversations.join" => w.conversations_join(&params),
                "users.list" => w.users_list(&params),
                "users.info" => w.users_info(&params),
                "files.info" => w.files_info(&params),
                _ => Err("unknown_method".into()),
            })
        }
    }
}

/// The methods the fake answers.
pub(crate) const KNOWN: &[&str] = &[
    "rtm.connect",
    "rtm.start",
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.delete",
    "chat.postEphemeral",
    "chat.getPermalink",
    "reactions.add",
    "reactions.remove",
    "reactions.get",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "conversations.info",
    "conversations.members",
    "conversations.open",
    "conversations.join",
    "users.list",
    "users.info",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    "files.info",
    "views.open",
    "views.publish",
    "views.update",
    "views.push",
];

fn scripted_reply(reply: MethodReply) -> Reply {
    match reply {
        MethodReply::RateLimited { retry_after_secs } => Reply::Respond(
            Response::json(429, &json!({ "ok": false, "error": "ratelimited" }))
                .with_header("Retry-After", retry_after_secs.to_string()),
        ),
        MethodReply::HttpStatus(status) => Reply::Respond(Response::json(
            status,
            &json!({ "ok": false, "error": "internal_error" }),
        )),
        MethodReply::Error(code) => error(&code),
        MethodReply::Json(body) => Reply::Respond(Response::json(200, &body)),
        MethodReply::Drop => Reply::Drop,
        MethodReply::Hang => Reply::Hang,
        // Handled before the method runs.
        MethodReply::Delay(_) => error("internal_error"),
    }
}

/// The answer of a workspace method.
fn answer(result: Answer) -> Reply {
    match result {
        Ok(mut fields) => {
            fields.insert("ok".into(), Value::Bool(true));
            ok_json(Value::Object(fields))
        }
        Err(code) => error(&code),
    }
}

/// A request to the upload host (`/upload/<file id>`): recorded, then the bytes are kept for
/// `files.completeUploadExternal`. Answers like Slack's upload host: `OK - <length>`.
pub(crate) fn upload(shared: &Shared, head: &Head, file_id: &str, body: &[u8]) -> Reply {
    let bytes = file_bytes(head, body);
    let known = {
        let mut state = shared.lock();
        state.record_upload(UploadRequest {
            file_id: file_id.to_owned(),
            http_method: head.method.clone(),
            headers: head.headers.clone(),
            len: bytes.len(),
            at: Instant::now(),
        });
        head.method == "POST" && state.workspace.receive_upload(file_id, bytes.clone())
    };
    shared.notify();
    if known {
        Reply::Respond(Response::text(200, format!("OK - {}", bytes.len())))
    } else {
        Reply::Respond(Response::text(404, "Not Found".into()))
    }
}

/// A request to one of the `response_url`s the fake hands out (`/commands/…`, `/actions/…`):
/// recorded, then answered like Slack: `ok` as text for a `POST` with a JSON body, else an
/// error code as text with HTTP 400.
pub(crate) fn response_url(shared: &Shared, head: &Head, body: &[u8]) -> Reply {
    let json = serde_json::from_slice::<Value>(body).ok();
    let answer = match (&json, head.method.as_str()) {
        (Some(Value::Object(_)), "POST") => Response::text(200, "ok".into()),
        (_, "POST") => Response::text(400, "invalid_payload".into()),
        _ => Response::text(405, "method_not_allowed".into()),
    };
    shared.lock().record_response_post(ResponseUrlPost {
        path: head.path.clone(),
        http_method: head.method.clone(),
        headers: head.headers.clone(),
        body: json.unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into_owned())),
        at: Instant::now(),
    });
    shared.notify();
    Reply::Respond(answer)
}

/// The file in an upload body: the first part of a `multipart/form-data` body, else the
/// whole body.
fn file_bytes(head: &Head, body: &[u8]) -> Vec<u8> {
    let boundary = head
        .header("content-type")
        .filter(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"))
        .and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
        })
        .map(|b| format!("--{}", b.trim_matches('"')));
    let Some(boundary) = boundary else {
        return body.to_vec();
    };
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let Some(start) = find(body, boundary.as_bytes(), 0) else {
        return body.to_vec();
    };
    let Some(head_end) = find(body, b"\r\n\r\n", start) else {
        return body.to_vec();
    };
    let content = head_end + 4;
    let end = find(body, format!("\r\n{boundary}").as_bytes(), content).unwrap_or(body.len());
    body[content..end].to_vec()
}

fn post_ephemeral(shared: &Shared, params: &Map<String, Value>) -> Reply {
    let channel = param(params, "channel").filter(|c| !c.is_empty());
    let user = param(params, "user").filter(|u| !u.is_empty());
    match (channel, user) {
        (None, _) => error("channel_not_found"),
        (_, None) => error("user_not_found"),
        (Some(_), Some(_)) => {
            if param(params, "text").unwrap_or_default().is_empty()
                && !params.contains_key("blocks")
            {
                return error("no_text");
            }
            let ts = shared.next_ts();
            ok_json(json!({ "ok": true, "message_ts": ts }))
        }
    }
}

/// A `{"ok":false,"error":code}` answer with HTTP 200, as Slack does.
fn error(code: &str) -> Reply {
    ok_json(json!({ "ok": false, "error": code }))
}

fn ok_json(value: Value) -> Reply {
    Reply::Respond(Response::json(200, &value))
}

/// Merges query string and body parameters. Returns the parameters and,
/// if the body could not be understood, Slack's error code for it.
fn collect_params(head: &Head, body: &[u8]) -> (Map<String, Value>, Option<&'static str>) {
    let mut params = Map::new();
    parse_form(&head.query, &mut params);
    if body.is_empty() {
        return (params, None);
    }
    let content_type = head
        .header("content-type")
        .and_then(|ct| ct.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if content_type.ends_with("json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => return (params, Some("invalid_json")),
        }
    } else {
        parse_form(&String::from_utf8_lossy(body), &mut params);
    }
    (params, None)
}

/// Parses `application/x-www-form-urlencoded` pairs into `params` (last value wins).
fn parse_form(form: &str, params: &mut Map<String, Value>) {
    for pair in form.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(form_decode(name), Value::String(form_decode(value)));
    }
}

fn form_decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The token of an `Authorization: Bearer <token>` header, if any.
fn bearer_token(head: &Head) -> Option<String> {
    let value = head.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Slack's error code if `token` is not acceptable.
fn check_token(shared: &Shared, token: Option<&str>) -> Option<&'static str> {
    if token.is_some_and(|t| crate::testing::oauth::issued(shared, t)) {
        return None;
    }
    match (token, shared.config.token.as_deref()) {
        (None, _) => Some("not_authed"),
        (Some(given), Some(expected)) if given != expected => Some("invalid_auth"),
        _ => None,
    }
}

fn param_str(params: &Map<String, Value>, name: &str) -> Option<String> {
    param(params, name)
}

fn rtm_connect(shared: &Shared, start: bool) -> Reply {
    let scripted = shared.lock().connect_replies.pop_front();
    match scripted.unwrap_or(ConnectReply::Normal) {
        ConnectReply::Normal => {
            let ticket = format!("{:032x}", rand::random::<u128>());
            {
                let mut state = shared.lock();
                state
                    .tickets
                    .retain(|_, issued| issued.elapsed() <= TICKET_TTL);
                state.tickets.insert(ticket.clone(), Instant::now());
            }
            let mut answer = connect_answer(shared, start);
            answer.insert("url".into(), Value::from(shared.config.ws_url(&ticket)));
            ok_json(Value::Object(answer))
        }
        ConnectReply::RateLimited { retry_after_secs } => Reply::Respond(
            Response::json(429, &json!({ "ok": false, "error": "ratelimited" }))
                .with_header("Retry-After", retry_after_secs.to_string()),
        ),
        ConnectReply::HttpStatus(status) => Reply::Respond(Response::json(
            status,
            &json!({ "ok": false, "error": "internal_error" }),
        )),
        ConnectReply::Error(code) => error(&code),
        ConnectReply::NoUrl => ok_json(Value::Object(connect_answer(shared, start))),
        ConnectReply::Hang => Reply::Hang,
    }
}

/// A successful `rtm.connect` / `rtm.start` answer, without `url`.
fn connect_answer(shared: &Shared, start: bool) -> Map<String, Value> {
    let config = &shared.config;
    let mut answer = Map::new();
    answer.insert("ok".into(), Value::Bool(true));
    answer.insert("team".into(), config.team_json());
    answer.insert("self".into(), config.self_json());
    if start {
        let bot = json!({
            "id": config.bot_user_id,
            "name": config.bot_user_name,
            "is_bot": true,
            "team_id": config.team_id,
        });
        answer.insert("users".into(), json!([bot]));
        answer.insert(
            "channels".into(),
            Value::Array(shared.lock().workspace.channels_json()),
        );
        answer.insert("groups".into(), json!([]));
        answer.insert("ims".into(), json!([]));
        answer.insert(
            "bots".into(),
            json!([{ "id": BOT_ID, "name": config.bot_user_name, "deleted": false }]),
        );
    }
    answer
}

fn auth_test(shared: &Shared) -> Reply {
    let config = &shared.config;
    ok_json(json!({
        "ok": true,
        "url": "https://fake.slack.com/",
        "team": config.team_name,
        "user": config.bot_user_name,
        "team_id": config.team_id,
        "user_id": config.bot_user_id,
        "bot_id": BOT_ID,
    }))
}

fn post_message(shared: &Shared, params: Map<String, Value>) -> Reply {
    let channel = match param_str(&params, "channel") {
        Some(channel) if !channel.is_empty() => channel,
        _ => return error("channel_not_found"),
    };
    let text = param_str(&params, "text").unwrap_or_default();
    let has_blocks = match params.get("blocks") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    if text.is_empty() && !has_blocks {
        return error("no_text");
    }
    let thread_ts = param_str(&params, "thread_ts").filter(|t| !t.is_empty());
    let ts = shared.next_ts();

    let mut message = json!({
        "type": "message",
        "user": shared.config.bot_user_id,
        "bot_id": BOT_ID,
        "text": text,
        "ts": ts,
    });
    if let (Some(thread), Some(fields)) = (&thread_ts, message.as_object_mut()) {
        fields.insert("thread_ts".into(), Value::from(thread.as_str()));
    }
    if let (Some(blocks), Some(fields)) = (params.get("blocks"), message.as_object_mut()) {
        let blocks = match blocks {
            Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| blocks.clone()),
            other => other.clone(),
        };
        fields.insert("blocks".into(), blocks);
    }
    // `true` as a JSON boolean or a form string.
    let broadcast = param_str(&params, "reply_broadcast").as_deref() == Some("true");
    if broadcast && thread_ts.is_some() {
        message["subtype"] = "thread_broadcast".into();
    }
    let echo_event = {
        let mut state = shared.lock();
        state.workspace.store_message(&channel, message.clone());
        state.record_posted(Value::Object(params));
        state
            .settings
            .echo_messages
            .then(|| shared.bot_message_event(&channel, &text, &ts, thread_ts.as_deref()))
    };
    shared.notify();
    if let Some(event) = echo_event {
        shared.broadcast(&Outbound::Text(event.to_string().into()));
        crate::testing::app::echo_to_socket_mode(shared, event);
    }
    ok_json(json!({ "ok": true, "channel": channel, "ts": ts, "message": message }))
}
