//! The fake workspace's data, free of I/O: channels, users, messages with threads and
//! reactions, files, and views. Each method takes the request's parameters and returns the
//! answer's fields, or Slack's error code.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The `bot_id` reported for the fake bot user.
pub(crate) const BOT_ID: &str = "B0FAKEBOT1";

/// The answer to a method: the fields besides `"ok": true`, or Slack's error code.
pub(crate) type Answer = Result<Map<String, Value>, String>;

/// Slack's default page size.
const DEFAULT_LIMIT: usize = 100;
/// Slack's largest page size.
const MAX_LIMIT: usize = 1000;

/// The fake channels: id, name, whether the bot is a member.
const CHANNELS: [(&str, &str, bool); 5] = [
    ("C0FAKE0001", "general", true),
    ("C0FAKE0002", "random", true),
    ("C0FAKE0003", "dev", false),
    ("C0FAKE0004", "ops", false),
    ("C0FAKE0005", "bots", true),
];

/// The fake human users: id, name, real name.
const USERS: [(&str, &str, &str); 4] = [
    ("U0FAKEUSR1", "alice", "Alice Archer"),
    ("U0FAKEUSR2", "bob", "Bob Baker"),
    ("U0FAKEUSR3", "carol", "Carol Cooper"),
    ("U0FAKEUSR4", "dave", "Dave Dawson"),
];

#[derive(Debug, Clone)]
struct Channel {
    id: String,
    name: String,
    is_member: bool,
    is_im: bool,
    /// The other user of a DM.
    user: Option<String>,
}

/// A file announced by `files.getUploadURLExternal`.
#[derive(Debug, Clone)]
pub(crate) struct PendingFile {
    pub filename: String,
    pub length: usize,
    pub bytes: Option<Vec<u8>>,
}

/// The workspace.
#[derive(Debug)]
pub(crate) struct Workspace {
    team_id: String,
    team_domain: String,
    bot_user: (String, String),
    channels: Vec<Channel>,
    /// Messages by channel, oldest first (replies included, with `thread_ts`).
    messages: HashMap<String, Vec<Value>>,
    pub pending_files: HashMap<String, PendingFile>,
    files: BTreeMap<String, Value>,
    views: HashMap<String, Value>,
    next_id: u64,
}

impl Workspace {
    pub(crate) fn new(team_id: &str, team_domain: &str, bot_id: &str, bot_name: &str) -> Self {
        Workspace {
            team_id: team_id.into(),
            team_domain: team_domain.into(),
            bot_user: (bot_id.into(), bot_name.into()),
            channels: CHANNELS
                .iter()
                .map(|&(id, name, is_member)| Channel {
                    id: id.into(),
                    name: name.into(),
                    is_member,
                    is_im: false,
                    user: None,
                })
                .collect(),
            messages: HashMap::new(),
            pending_files: HashMap::new(),
            files: BTreeMap::new(),
            views: HashMap::new(),
            next_id: 0,
        }
    }

    fn fresh_id(&mut self, prefix: char) -> String {
        self.next_id += 1;
        format!("{prefix}0FAKE{:05}", self.next_id)
    }

    fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id || c.name == id)
    }

    /// A channel id that may hold messages: a known channel (by id or name), or any id a
    /// message was posted to.
    fn resolve(&self, id: &str) -> Option<String> {
        match self.channel(id) {
            Some(c) => Some(c.id.clone()),
            None => self.messages.contains_key(id).then(|| id.to_string()),
        }
    }

    fn channel_json(&self, c: &Channel) -> Value {
        if c.is_im {
            return json!({"id": c.id, "is_im": true, "is_channel": false, "is_private": true,
                          "user": c.user, "created": 1_700_000_000u64, "is_open": true});
        }
        json!({
            "id": c.id,
            "name": c.name,
            "is_channel": true,
            "is_group": false,
            "is_im": false,
            "is_private": false,
            "is_archived": false,
            "is_general": c.name == "general",
            "is_member": c.is_member,
            "created": 1_700_000_000u64,
            "creator": "U0FAKEUSR1",
            "num_members": self.members_of(c).len(),
            "topic": { "value": "", "creator": "", "last_set": 0 },
            "purpose": { "value": format!("The #{} channel", c.name), "creator": "", "last_set": 0 },
        })
    }

    /// The public channels (as `rtm.start` lists them).
    pub(crate) fn channels_json(&self) -> Vec<Value> {
        self.channels
            .iter()
            .filter(|c| !c.is_im)
            .map(|c| self.channel_json(c))
            .collect()
    }

    fn members_of(&self, c: &Channel) -> Vec<String> {
        let mut members: Vec<String> = match &c.user {
            Some(user) => vec![user.clone()],
            None => USERS.iter().map(|u| u.0.to_string()).collect(),
        };
        if c.is_member {
            members.insert(0, self.bot_user.0.clone());
        }
        members
    }

    fn users_json(&self) -> Vec<Value> {
        let bot = json!({
            "id": self.bot_user.0, "team_id": self.team_id, "name": self.bot_user.1,
            "real_name": self.bot_user.1, "is_bot": true, "deleted": false,
            "profile": {"bot_id": BOT_ID, "real_name": self.bot_user.1, "display_name": self.bot_user.1},
        });
        let mut users = vec![bot];
        users.extend(USERS.iter().map(|&(id, name, real)| {
            json!({
                "id": id, "team_id": self.team_id, "name": name, "real_name": real,
                "is_bot": false, "deleted": false, "tz": "Europe/London",
                "profile": {"real_name": real, "display_name": name,
                            "email": format!("{name}@example.com")},
            })
        }));
        users
    }

    // ----- channels and users -----

    pub(crate) fn conversations_list(&self, p: &Map<String, Value>) -> Answer {
        let types = param(p, "types").unwrap_or_else(|| "public_channel".into());
        let want_im = types.split(',').any(|t| t.trim() == "im");
        let want_public = types.split(',').any(|t| t.trim() == "public_channel");
        let all: Vec<Value> = self
            .channels
            .iter()
            .filter(|c| if c.is_im { want_im } else { want_public })
            .map(|c| self.channel_json(c))
            .collect();
        page(p, "channels", &all)
    }

    pub(crate) fn conversations_info(&self, p: &Map<String, Value>) -> Answer {
        let c = self
            .channel(&required(p, "channel")?)
            .ok_or("channel_not_found")?;
        Ok(fields([("channel", self.channel_json(c))]))
    }

    pub(crate) fn conversations_members(&self, p: &Map<String, Value>) -> Answer {
        let c = self
            .channel(&required(p, "channel")?)
            .ok_or("channel_not_found")?;
        let members: Vec<Value> = self.members_of(c).into_iter().map(Value::from).collect();
        page(p, "members", &members)
    }

    pub(crate) fn conversations_join(&mut self, p: &Map<String, Value>) -> Answer {
        let id = required(p, "channel")?;
        let c = self
            .channels
            .iter_mut()
            .find(|c| c.id == id && !c.is_im)
            .ok_or("channel_not_found")?;
        c.is_member = true;
        let c = c.clone();
        Ok(fields([("channel", self.channel_json(&c))]))
    }

    pub(crate) fn conversations_open(&mut self, p: &Map<String, Value>) -> Answer {
        if let Some(channel) = param(p, "channel") {
            let c = self.channel(&channel).ok_or("channel_not_found")?;
            return Ok(fields([("channel", json!({"id": c.id}))]));
        }
        let users = required(p, "users").map_err(|_| "users_list_not_supplied".to_string())?;
        let users: Vec<&str> = users.split(',').map(str::trim).collect();
        for u in &users {
            if !self.users_json().iter().any(|j| j["id"] == *u) {
                return Err("user_not_found".into());
            }
        }
        let key = users.join(",");
        let existing = self
            .channels
            .iter()
            .find(|c| c.is_im && c.user.as_deref() == Some(key.as_str()));
        let (id, already_open) = match existing {
            Some(c) => (c.id.clone(), true),
            None => {
                let id = self.fresh_id('D');
                self.channels.push(Channel {
                    id: id.clone(),
                    name: String::new(),
                    is_member: true,
                    is_im: true,
                    user: Some(key),
                });
                (id, false)
            }
        };
        let mut answer = fields([("channel", json!({"id": id}))]);
        if already_open {
            answer.insert("already_open".into(), true.into());
        }
        Ok(answer)
    }

    pub(crate) fn users_list(&self, p: &Map<String, Value>) -> Answer {
        page(p, "members", &self.users_json())
    }

    pub(crate) fn users_info(&self, p: &Map<String, Value>) -> Answer {
        let id = required(p, "user")?;
        let user = self
            .users_json()
            .into_iter()
            .find(|u| u["id"] == id.as_str())
            .ok_or("user_not_found")?;
        Ok(fields([("user", user)]))
    }

    // ----- messages -----

    /// Stores a message in `channel` (any id is accepted, as the fake always has).
    pub(crate) fn store_message(&mut self, channel: &str, message: Value) {
        let channel = self.resolve(channel).unwrap_or_else(|| channel.to_string());
        let thread = message
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ts = message
            .get("ts")
            .and_then(Value::as_str)
            .map(str::to_string);
        let list = self.messages.entry(channel).or_default();
        if let (Some(thread), Some(ts)) = (thread, ts) {
            if let Some(parent) = list.iter_mut().find(|m| m["ts"] == thread.as_str()) {
                let count = parent["reply_count"].as_u64().unwrap_or(0) + 1;
                parent["thread_ts"] = thread.clone().into();
                parent["reply_count"] = count.into();
                parent["latest_reply"] = ts.into();
            }
        }
        list.push(message);
    }

    fn message_mut(&mut self, p: &Map<String, Value>, ts_key: &str) -> Result<&mut Value, String> {
        let channel = required(p, "channel")?;
        let ts = required(p, ts_key)?;
        let channel = self.resolve(&channel).ok_or("channel_not_found")?;
        self.messages
            .get_mut(&channel)
            .and_then(|list| list.iter_mut().find(|m| m["ts"] == ts.as_str()))
            .ok_or_else(|| "message_not_found".to_string())
    }

    pub(crate) fn chat_update(&mut self, p: &Map<String, Value>, now_ts: &str) -> Answer {
        let text = param(p, "text").unwrap_or_default();
        let blocks = p.get("blocks").cloned();
        let m = self.message_mut(p, "ts")?;
        m["text"] = text.clone().into();
        if let Some(blocks) = blocks {
            m["blocks"] = parse_json(blocks);
        }
        m["edited"] = json!({"user": m["user"].clone(), "ts": now_ts});
        let ts = m["ts"].clone();
        Ok(fields([
            ("channel", Value::from(required(p, "channel")?)),
            ("ts", ts),
            ("text", text.into()),
        ]))
    }

    pub(crate) fn chat_delete(&mut self, p: &Map<String, Value>) -> Answer {
        let channel = required(p, "channel")?;
        let ts = required(p, "ts")?;
        self.message_mut(p, "ts")?;
        if let Some(list) = self
            .resolve(&channel)
            .and_then(|c| self.messages.get_mut(&c))
        {
            list.retain(|m| m["ts"] != ts.as_str());
        }
        Ok(fields([("channel", channel.into()), ("ts", ts.into())]))
    }

    pub(crate) fn chat_get_permalink(&mut self, p: &Map<String, Value>) -> Answer {
        let channel = required(p, "channel")?;
        let ts = required(p, "message_ts")?;
        self.message_mut(p, "message_ts")?;
        let link = format!(
            "https://{}.slack.com/archives/{channel}/p{}",
            self.team_domain,
            ts.replace('.', "")
        );
        Ok(fields([
            ("channel", channel.into()),
            ("permalink", link.into()),
        ]))
    }

    pub(crate) fn conversations_history(&self, p: &Map<String, Value>) -> Answer {
        let channel = required(p, "channel")?;
        let channel = self.resolve(&channel).ok_or("channel_not_found")?;
        let oldest = param(p, "oldest").and_then(|t| t.parse::<f64>().ok());
        let latest = param(p, "latest").and_then(|t| t.parse::<f64>().ok());
        let ts_of = |m: &Value| m["ts"].as_str().and_then(|t| t.parse::<f64>().ok());
        // Newest first; thread replies only when broadcast.
        let all: Vec<Value> = self
            .messages
            .get(&channel)
            .into_iter()
            .flatten()
            .rev()
            .filter(|m| {
                let reply = m.get("thread_ts").is_some() && m["thread_ts"] != m["ts"];
                !reply || m["subtype"] == "thread_broadcast"
            })
            .filter(|m| {
                let ts = ts_of(m).unwrap_or(0.0);
                oldest.is_none_or(|o| ts > o) && latest.is_none_or(|l| ts < l)
            })
            .cloned()
            .collect();
        page(p, "messages", &all)
    }

    pub(crate) fn conversations_replies(&self, p: &Map<String, Value>) -> Answer {
        let channel = required(p, "channel")?;
        let ts = required(p, "ts")?;
        let channel = self.resolve(&channel).ok_or("channel_not_found")?;
        let list = self
            .messages
            .get(&channel)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if !list.iter().any(|m| m["ts"] == ts.as_str()) {
            return Err("thread_not_found".into());
        }
        let thread: Vec<Value> = list
            .iter()
            .filter(|m| m["ts"] == ts.as_str() || m["thread_ts"] == ts.as_str())
            .cloned()
            .collect();
        page(p, "messages", &thread)
    }

    // ----- reactions -----

    pub(crate) fn reactions_add(&mut self, p: &Map<String, Value>) -> Answer {
        let name = required(p, "name")?;
        let bot = self.bot_user.0.clone();
        let m = self.message_mut(p, "timestamp")?;
        let reactions = m
            .as_object_mut()
            .ok_or("message_not_found")?
            .entry("reactions")
            .or_insert_with(|| json!([]));
        let list = reactions.as_array_mut().ok_or("message_not_found")?;
        match list.iter_mut().find(|r| r["name"] == name.as_str()) {
            Some(r) => {
                let users = r["users"].as_array_mut().ok_or("message_not_found")?;
                if users.iter().any(|u| u == bot.as_str()) {
                    return Err("already_reacted".into());
                }
                users.push(bot.into());
                r["count"] = (users.len() as u64).into();
            }
            None => list.push(json!({"name": name, "users": [bot], "count": 1})),
        }
        Ok(Map::new())
    }

    pub(crate) fn reactions_remove(&mut self, p: &Map<String, Value>) -> Answer {
        let name = required(p, "name")?;
        let bot = self.bot_user.0.clone();
        let m = self.message_mut(p, "timestamp")?;
        let Some(list) = m.get_mut("reactions").and_then(Value::as_array_mut) else {
            return Err("no_reaction".into());
        };
        let Some(i) = list.iter().position(|r| {
            r["name"] == name.as_str()
                && r["users"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|u| u == bot.as_str()))
        }) else {
            return Err("no_reaction".into());
        };
        let r = &mut list[i];
        if let Some(users) = r["users"].as_array_mut() {
            users.retain(|u| u != bot.as_str());
            let n = users.len() as u64;
            r["count"] = n.into();
            if n == 0 {
                list.remove(i);
            }
        }
        if list.is_empty() {
            if let Some(obj) = m.as_object_mut() {
                obj.remove("reactions");
            }
        }
        Ok(Map::new())
    }

    pub(crate) fn reactions_get(&mut self, p: &Map<String, Value>) -> Answer {
        let channel = required(p, "channel")?;
        let m = self.message_mut(p, "timestamp")?.clone();
        Ok(fields([
            ("type", "message".into()),
            ("channel", channel.into()),
            ("message", m),
        ]))
    }

    // ----- files -----

    /// `files.getUploadURLExternal`: the file id for `upload_base + id`.
    pub(crate) fn get_upload_url(&mut self, p: &Map<String, Value>, upload_base: &str) -> Answer {
        let filename = required(p, "filename")?;
        let length = param(p, "length")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|&l| l > 0)
            .ok_or("invalid_arguments")?;
        let id = self.fresh_id('F');
        self.pending_files.insert(
            id.clone(),
            PendingFile {
                filename,
                length,
                bytes: None,
            },
        );
        Ok(fields([
            ("upload_url", format!("{upload_base}{id}").into()),
            ("file_id", id.into()),
        ]))
    }

    /// The bytes of an upload; false if the id is unknown.
    pub(crate) fn receive_upload(&mut self, id: &str, bytes: Vec<u8>) -> bool {
        match self.pending_files.get_mut(id) {
            Some(f) => {
                f.bytes = Some(bytes);
                true
            }
            None => false,
        }
    }

    /// `files.completeUploadExternal`; `ts` is the share message's timestamp.
    pub(crate) fn complete_upload(&mut self, p: &Map<String, Value>, ts: &str) -> Answer {
        let files = match p.get("files").map(|f| parse_json(f.clone())) {
            Some(Value::Array(files)) if !files.is_empty() => files,
            _ => return Err("invalid_arguments".into()),
        };
        let channel = param(p, "channel_id")
            .or_else(|| param(p, "channels").and_then(|c| c.split(',').next().map(str::to_string)));
        let mut done = Vec::new();
        for f in &files {
            let id = f["id"].as_str().ok_or("invalid_arguments")?;
            let pending = self.pending_files.get(id).ok_or("file_not_found")?;
            let Some(bytes) = &pending.bytes else {
                return Err("file_upload_not_completed".into());
            };
            if bytes.len() != pending.length {
                return Err("file_upload_size_mismatch".into());
            }
            let title = f["title"]
                .as_str()
                .map_or_else(|| pending.filename.clone(), str::to_string);
            let file = json!({
                "id": id,
                "name": pending.filename,
                "title": title,
                "size": bytes.len(),
                "mimetype": "application/octet-stream",
                "user": self.bot_user.0,
                "url_private": format!("https://files.fake.slack.com/files-pri/{}/{}", id, pending.filename),
                "channels": channel.iter().collect::<Vec<_>>(),
                "created": 1_700_000_000u64,
            });
            done.push((id.to_string(), file));
        }
        for (id, file) in &done {
            self.pending_files.remove(id);
            self.files.insert(id.clone(), file.clone());
        }
        let files: Vec<Value> = done.into_iter().map(|(_, f)| f).collect();
        if let Some(channel) = &channel {
            let mut message = json!({
                "type": "message", "user": self.bot_user.0, "bot_id": BOT_ID,
                "text": param(p, "initial_comment").unwrap_or_default(),
                "ts": ts, "files": files, "upload": true,
            });
            if let Some(thread) = param(p, "thread_ts") {
                message["thread_ts"] = thread.into();
            }
            self.store_message(channel, message);
        }
        Ok(fields([("files", Value::Array(files))]))
    }

    pub(crate) fn files_info(&self, p: &Map<String, Value>) -> Answer {
        let id = required(p, "file")?;
        let file = self.files.get(&id).ok_or("file_not_found")?;
        Ok(fields([("file", file.clone())]))
    }

    /// The stored (completed) files.
    pub(crate) fn files(&self) -> Vec<Value> {
        self.files.values().cloned().collect()
    }

    /// Every message of `channel`, oldest first, thread replies included.
    pub(crate) fn messages(&self, channel: &str) -> Vec<Value> {
        self.resolve(channel)
            .and_then(|c| self.messages.get(&c).cloned())
            .unwrap_or_default()
    }

    // ----- views -----

    pub(crate) fn views_call(&mut self, method: &str, p: &Map<String, Value>) -> Answer {
        let view = match p.get("view").map(|v| parse_json(v.clone())) {
            Some(Value::Object(view)) => view,
            _ => return Err("invalid_arguments".into()),
        };
        let kind = view.get("type").and_then(Value::as_str).unwrap_or_default();
        let id = match method {
            "views.open" | "views.push" => {
                required(p, "trigger_id").map_err(|_| "invalid_trigger_id".to_string())?;
                if kind != "modal" {
                    return Err("invalid_arguments".into());
                }
                self.fresh_id('V')
            }
            "views.publish" => {
                let user = required(p, "user_id")?;
                if kind != "home" {
                    return Err("invalid_arguments".into());
                }
                let key = format!("home:{user}");
                match self.views.get(&key).and_then(|v| v["id"].as_str()) {
                    Some(id) => id.to_string(),
                    None => {
                        let id = self.fresh_id('V');
                        self.views.insert(key, json!({"id": id}));
                        id
                    }
                }
            }
            _ => {
                let id = required(p, "view_id").map_err(|_| "not_found".to_string())?;
                if !self.views.contains_key(&id) {
                    return Err("not_found".into());
                }
                id
            }
        };
        let mut stored = view;
        stored.insert("id".into(), id.clone().into());
        stored.insert("team_id".into(), self.team_id.clone().into());
        stored.insert("app_id".into(), "A0FAKEAPP1".into());
        stored.insert("bot_id".into(), BOT_ID.into());
        let stored = Value::Object(stored);
        self.views.insert(id, stored.clone());
        Ok(fields([("view", stored)]))
    }
}

/// A parameter as a string: strings as they are, numbers and booleans printed.
pub(crate) fn param(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn required(params: &Map<String, Value>, name: &str) -> Result<String, String> {
    param(params, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| match name {
            "channel" => "channel_not_found".to_string(),
            _ => "invalid_arguments".to_string(),
        })
}

/// A form value holding JSON (`blocks`, `view`, `files`) parsed; other values as they are.
fn parse_json(v: Value) -> Value {
    match &v {
        Value::String(s) => serde_json::from_str(s).unwrap_or(v),
        _ => v,
    }
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// One page of `items` under `key`, per `limit` and `cursor`, with
/// `response_metadata.next_cursor` (empty on the last page).
pub(crate) fn page(p: &Map<String, Value>, key: &str, items: &[Value]) -> Answer {
    let limit = param(p, "limit")
        .and_then(|l| l.trim().parse::<usize>().ok())
        .filter(|&l| l > 0)
        .map_or(DEFAULT_LIMIT, |l| l.min(MAX_LIMIT));
    let start = match param(p, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => match decode_cursor(&cursor) {
            Some(offset) if offset <= items.len() => offset,
            _ => return Err("invalid_cursor".into()),
        },
    };
    let end = start.saturating_add(limit).min(items.len());
    let next_cursor = if end < items.len() {
        URL_SAFE_NO_PAD.encode(format!("offset:{end}"))
    } else {
        String::new()
    };
    let mut answer = fields([
        (key, Value::Array(items[start..end].to_vec())),
        ("response_metadata", json!({ "next_cursor": next_cursor })),
    ]);
    if key == "messages" {
        answer.insert("has_more".into(), (end < items.len()).into());
    }
    Ok(answer)
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace::new("T1", "fake", "U0FAKEBOT1", "fakebot")
    }

    fn p(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn history_replies_and_reactions() {
        let mut w = ws();
        let msg = |ts: &str, thread: Option<&str>| {
            let mut m = json!({"type": "message", "user": "U0FAKEBOT1", "text": ts, "ts": ts});
            if let Some(t) = thread {
                m["thread_ts"] = t.into();
            }
            m
        };
        w.store_message("C0FAKE0001", msg("1.1", None));
        w.store_message("general", msg("1.2", Some("1.1")));
        w.store_message("C0FAKE0001", msg("1.3", None));
        let h = w
            .conversations_history(&p(json!({"channel": "C0FAKE0001", "limit": 1})))
            .unwrap();
        assert_eq!(h["messages"][0]["ts"], "1.3");
        assert_eq!(h["has_more"], true);
        let r = w
            .conversations_replies(&p(json!({"channel": "C0FAKE0001", "ts": "1.1"})))
            .unwrap();
        assert_eq!(r["messages"].as_array().unwrap().len(), 2);
        assert_eq!(r["messages"][0]["reply_count"], 1);
        let add = p(json!({"channel": "C0FAKE0001", "timestamp": "1.1", "name": "wave"}));
        w.reactions_add(&add).unwrap();
        assert_eq!(w.reactions_add(&add).unwrap_err(), "already_reacted");
        assert_eq!(w.messages("C0FAKE0001")[0]["reactions"][0]["count"], 1);
        w.reactions_remove(&add).unwrap();
        assert_eq!(w.reactions_remove(&add).unwrap_err(), "no_reaction");
        assert!(w.messages("C0FAKE0001")[0].get("reactions").is_none());
        assert_eq!(
            w.conversations_history(&p(json!({"channel": "C9NOPE"})))
                .unwrap_err(),
            "channel_not_found"
        );
    }

    #[test]
    fn pages_end_with_an_empty_cursor() {
        let w = ws();
        let mut cursor = String::new();
        let mut seen = 0;
        for _ in 0..10 {
            let a = w
                .users_list(&p(json!({"limit": 2, "cursor": cursor})))
                .unwrap();
            seen += a["members"].as_array().unwrap().len();
            cursor = a["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap()
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        assert_eq!(seen, 5);
        assert!(cursor.is_empty());
    }
}
