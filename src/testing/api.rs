//! The fake Web API methods: parameter collection, token checks, recording,
//! scripted `rtm.connect` answers, and the method implementations.

use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use super::state::{Outbound, Shared, BOT_ID, TICKET_TTL};
use super::wire::{Head, Response};
use super::{ApiCall, ConnectReply};

/// What to do with an API request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Send this response.
    Respond(Response),
    /// Never answer; hold the connection until the server stops.
    Hang,
}

/// The fake channels served by `conversations.list` and `rtm.start`:
/// id, name, whether the bot is a member, member count.
const CHANNELS: [(&str, &str, bool, u64); 5] = [
    ("C0FAKE0001", "general", true, 42),
    ("C0FAKE0002", "random", true, 40),
    ("C0FAKE0003", "dev", false, 12),
    ("C0FAKE0004", "ops", false, 7),
    ("C0FAKE0005", "bots", true, 3),
];

/// Slack's default page size for `conversations.list`.
const DEFAULT_LIMIT: usize = 100;
/// Slack's largest page size for `conversations.list`.
const MAX_LIMIT: usize = 1000;

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
        state.api_calls.push(ApiCall {
            method: method.to_owned(),
            http_method: head.method.clone(),
            headers: head.headers.clone(),
            params: Value::Object(params.clone()),
            token: token.clone(),
            at: Instant::now(),
        });
    }
    shared.notify();

    let known = matches!(
        method,
        "rtm.connect" | "rtm.start" | "auth.test" | "chat.postMessage" | "conversations.list"
    );
    if !known {
        return error("unknown_method");
    }
    if let Some(code) = body_error {
        return error(code);
    }
    if let Some(code) = check_token(shared, token.as_deref()) {
        return error(code);
    }
    match method {
        "rtm.connect" => rtm_connect(shared, false),
        "rtm.start" => rtm_connect(shared, true),
        "auth.test" => auth_test(shared),
        "chat.postMessage" => post_message(shared, params),
        _ => conversations_list(&params),
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
    match (token, shared.config.token.as_deref()) {
        (None, _) => Some("not_authed"),
        (Some(given), Some(expected)) if given != expected => Some("invalid_auth"),
        _ => None,
    }
}

/// A parameter as a string: strings as they are, numbers and booleans printed.
fn param_str(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
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
            Value::Array(CHANNELS.iter().map(channel_json).collect()),
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
    let echo_event = {
        let mut state = shared.lock();
        state.posted.push(Value::Object(params));
        state
            .settings
            .echo_messages
            .then(|| shared.bot_message_event(&channel, &text, &ts, thread_ts.as_deref()))
    };
    shared.notify();
    if let Some(event) = echo_event {
        shared.broadcast(&Outbound::Text(event.to_string().into()));
    }
    ok_json(json!({ "ok": true, "channel": channel, "ts": ts, "message": message }))
}

fn channel_json(&(id, name, is_member, num_members): &(&str, &str, bool, u64)) -> Value {
    json!({
        "id": id,
        "name": name,
        "is_channel": true,
        "is_group": false,
        "is_im": false,
        "is_private": false,
        "is_archived": false,
        "is_general": name == "general",
        "is_member": is_member,
        "created": 1_700_000_000u64,
        "creator": "U0FAKEUSR1",
        "num_members": num_members,
        "topic": { "value": "", "creator": "", "last_set": 0 },
        "purpose": { "value": format!("The #{name} channel"), "creator": "", "last_set": 0 },
    })
}

fn conversations_list(params: &Map<String, Value>) -> Reply {
    let limit = param_str(params, "limit")
        .and_then(|l| l.trim().parse::<usize>().ok())
        .filter(|&l| l > 0)
        .map_or(DEFAULT_LIMIT, |l| l.min(MAX_LIMIT));
    let start = match param_str(params, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => match decode_cursor(&cursor) {
            Some(offset) if offset <= CHANNELS.len() => offset,
            _ => return error("invalid_cursor"),
        },
    };
    let end = start.saturating_add(limit).min(CHANNELS.len());
    let channels: Vec<Value> = CHANNELS[start..end].iter().map(channel_json).collect();
    let next_cursor = if end < CHANNELS.len() {
        URL_SAFE_NO_PAD.encode(format!("offset:{end}"))
    } else {
        String::new()
    };
    ok_json(json!({
        "ok": true,
        "channels": channels,
        "response_metadata": { "next_cursor": next_cursor },
    }))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}
