//! Socket Mode in the fake server: `apps.connections.open`, envelope helpers, delivery to one
//! socket per envelope, ack recording, redelivery of unacked events, disconnect and fault
//! injection, and the traffic taps. The connection threads live in [`super::sm_ws`].

use std::cmp::Reverse;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::debug;
use serde_json::{json, Value};
use tungstenite::Utf8Bytes;

use super::sm_state::{
    Delivery, HandshakeFault, Redelivery, SmCmd, SmState, SocketAck, SocketDelivery,
    SocketDistribution, SocketGreeting,
};
use super::state::{Shared, State};
use super::{random_uuid, ConnectReply, FakeSlack, FakeSlackBuilder, ReceivedFrame};

/// Slack silently drops acks this large or larger.
pub(crate) const MAX_ACK_BYTES: usize = 20_480;
/// The verification token found in fake payloads (Slack's is deprecated and unused).
const VERIFICATION_TOKEN: &str = "fakeVerificationToken";
/// The fake human user who triggers commands and interactions.
const HUMAN: (&str, &str) = ("U0FAKEUSR1", "fakeuser");
/// The channel commands and interactions come from.
const CHANNEL: (&str, &str) = ("C0FAKE0001", "general");

/// The answer to an `apps.connections.open` call.
#[derive(Debug)]
pub(crate) enum OpenAnswer {
    /// A JSON answer with this HTTP status and optional `Retry-After` seconds.
    Json {
        status: u16,
        body: Value,
        retry_after: Option<u64>,
    },
    /// Never answer.
    Hang,
}

/// Answers `apps.connections.open`: app tokens only, POST only, scripted replies first, then a
/// fresh single-use ticket URL.
pub(crate) fn open_answer(shared: &Shared, http_method: &str, token: Option<&str>) -> OpenAnswer {
    let error = |code: &str| OpenAnswer::Json {
        status: 200,
        body: json!({ "ok": false, "error": code }),
        retry_after: None,
    };
    if !http_method.eq_ignore_ascii_case("POST") {
        return error("insecure_request");
    }
    let mut state = shared.lock();
    let sm = &mut state.sm;
    let code = match token {
        None => Some("not_authed"),
        Some(t) if t.starts_with("xoxb-") || t.starts_with("xoxp-") => {
            Some("not_allowed_token_type")
        }
        Some(t) if !t.starts_with("xapp-") => Some("invalid_auth"),
        Some(t) => match &sm.settings.app_token {
            Some(expected) if expected != t => Some("invalid_auth"),
            _ => None,
        },
    };
    if let Some(code) = code {
        return error(code);
    }
    match sm.open_replies.pop_front().unwrap_or(ConnectReply::Normal) {
        ConnectReply::Normal => {
            let ticket = random_uuid();
            let ttl = sm.settings.ticket_ttl;
            sm.tickets.retain(|_, issued| issued.elapsed() <= ttl);
            sm.tickets.insert(ticket.clone(), Instant::now());
            let scheme = if shared.config.tls { "wss" } else { "ws" };
            let url = format!(
                "{scheme}://{}/link/?ticket={ticket}&app_id={}",
                shared.config.addr,
                app_hash(&sm.settings.app_id)
            );
            OpenAnswer::Json {
                status: 200,
                body: json!({ "ok": true, "url": url }),
                retry_after: None,
            }
        }
        ConnectReply::RateLimited { retry_after_secs } => OpenAnswer::Json {
            status: 429,
            body: json!({ "ok": false, "error": "ratelimited" }),
            retry_after: Some(retry_after_secs),
        },
        ConnectReply::HttpStatus(status) => OpenAnswer::Json {
            status,
            body: json!({ "ok": false, "error": "internal_error" }),
            retry_after: None,
        },
        ConnectReply::Error(code) => error(&code),
        ConnectReply::NoUrl => OpenAnswer::Json {
            status: 200,
            body: json!({ "ok": true }),
            retry_after: None,
        },
        ConnectReply::Hang => OpenAnswer::Hang,
    }
}

/// A 64-hex-digit `app_id` for ticket URLs, like Slack's (not the `A…` id of `hello`).
fn app_hash(app_id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = String::with_capacity(64);
    for round in 0..4u8 {
        for b in app_id.bytes().chain([round]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

// ----- delivery -----

/// Sends an `events_api` envelope around `payload` from code that has only the shared state
/// (the Web API's echo of the bot's posts); no redelivery timer is started for it.
pub(crate) fn push_event_envelope(shared: &Shared, payload: Value) -> bool {
    let envelope = json!({
        "envelope_id": random_uuid(),
        "type": "events_api",
        "accepts_response_payload": false,
        "payload": payload,
        "retry_attempt": 0,
        "retry_reason": "",
    });
    {
        let mut state = shared.lock();
        if state.sm.conns.is_empty() {
            return false;
        }
        deliver(&mut state.sm, &envelope, None);
    }
    shared.notify();
    true
}

/// Records an envelope and sends it to one ready socket (or queues it); returns its index.
fn deliver(sm: &mut SmState, envelope: &Value, chain: Option<usize>) -> usize {
    let envelope_id = envelope["envelope_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let kind = envelope["type"].as_str().unwrap_or_default().to_owned();
    let event_id = envelope
        .pointer("/payload/event_id")
        .and_then(Value::as_str)
        .filter(|_| kind == "events_api")
        .map(str::to_owned);
    let retry_attempt = envelope["retry_attempt"]
        .as_u64()
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let text = envelope.to_string();
    let index = sm.deliveries.len();
    sm.deliveries.push(Delivery {
        record: SocketDelivery {
            envelope_id: envelope_id.clone(),
            kind,
            event_id,
            retry_attempt,
            conn: None,
            at: None,
            acked: false,
        },
        accepts_response_payload: envelope["accepts_response_payload"]
            .as_bool()
            .unwrap_or(false),
        text: Some(text.clone()),
        chain: chain.unwrap_or(index),
        chain_acked: false,
    });
    if !envelope_id.is_empty() {
        sm.by_envelope.insert(envelope_id, index);
    }
    route(sm, index, Utf8Bytes::from(text));
    index
}

/// Sends delivery `index` to a socket chosen by the distribution policy, or queues it.
pub(crate) fn route(sm: &mut SmState, index: usize, text: Utf8Bytes) {
    let ready: Vec<u64> = sm
        .conns
        .iter()
        .filter(|(_, c)| c.ready && c.accepting)
        .map(|(&id, _)| id)
        .collect();
    let chosen = match sm.settings.distribution {
        _ if ready.is_empty() => None,
        SocketDistribution::Random => ready
            .get(usize::try_from(rand::random::<u64>() % ready.len() as u64).unwrap_or(0))
            .copied(),
        SocketDistribution::RoundRobin => {
            sm.round_robin = sm.round_robin.wrapping_add(1);
            ready
                .get(usize::try_from(sm.round_robin % ready.len() as u64).unwrap_or(0))
                .copied()
        }
        SocketDistribution::Newest => ready.last().copied(),
        SocketDistribution::Oldest => ready.first().copied(),
        SocketDistribution::Connection(id) => ready.contains(&id).then_some(id),
    };
    let sent = chosen.is_some_and(|id| {
        sm.conns
            .get(&id)
            .is_some_and(|c| c.tx.send(SmCmd::Deliver(index, text.clone())).is_ok())
    });
    if !sent {
        sm.backlog.push_back(index);
    }
}

/// A socket became ready (or the distribution changed): offer every queued envelope again.
pub(crate) fn route_backlog(sm: &mut SmState) {
    let queued: Vec<usize> = sm.backlog.drain(..).collect();
    for index in queued {
        match sm.deliveries[index].text.clone() {
            Some(text) => route(sm, index, Utf8Bytes::from(text)),
            None => debug!("fake slack: queued envelope {index} has no text"),
        }
    }
}

/// A connection thread wrote delivery `index` at `at`.
pub(crate) fn on_delivered(sm: &mut SmState, index: usize, conn: u64, at: Instant) {
    let Some(delivery) = sm.deliveries.get_mut(index) else {
        return;
    };
    delivery.record.conn = Some(conn);
    delivery.record.at = Some(at);
    let redeliverable = delivery.record.kind == "events_api"
        && !delivery.record.acked
        && sm.settings.redelivery.enabled;
    if !redeliverable {
        // Kept only to redeliver an unacked event.
        delivery.text = None;
    } else {
        if sm.watch.is_empty() {
            sm.timer_epoch += 1;
        }
        sm.watch.push_back(index);
    }
}

/// Records a client text frame on Socket Mode connection `conn` and, if it is an ack, the ack.
pub(crate) fn on_client_text(sm: &mut SmState, conn: u64, text: &str, at: Instant) {
    sm.frames.push(ReceivedFrame {
        conn,
        text: text.to_owned(),
        at,
    });
    sm.tap_frame(conn, "socket_mode", text);
    let Ok(Value::Object(frame)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(envelope_id) = frame.get("envelope_id").and_then(Value::as_str) else {
        return;
    };
    let payload = frame.get("payload").cloned();
    let dropped = text.len() >= MAX_ACK_BYTES;
    let index = sm.by_envelope.get(envelope_id).copied();
    let mut ack = SocketAck {
        conn,
        envelope_id: envelope_id.to_owned(),
        payload,
        size: text.len(),
        at,
        latency: None,
        dropped,
        known: index.is_some(),
        same_connection: false,
        unexpected_payload: false,
        duplicate: false,
    };
    if let Some(index) = index {
        let delivery = &sm.deliveries[index];
        ack.latency = delivery.record.at.map(|t| at.saturating_duration_since(t));
        ack.same_connection = delivery.record.conn == Some(conn);
        ack.unexpected_payload = ack.payload.is_some() && !delivery.accepts_response_payload;
        ack.duplicate = delivery.record.acked;
        if !dropped {
            let chain = delivery.chain;
            let delivery = &mut sm.deliveries[index];
            delivery.record.acked = true;
            delivery.text = None;
            sm.deliveries[chain].chain_acked = true;
        }
    }
    sm.acks.push(ack);
}

/// Starts the redelivery timer thread once.
fn ensure_timer(shared: &Arc<Shared>) {
    {
        let mut state = shared.lock();
        if state.sm.timer_started || state.stopping {
            return;
        }
        state.sm.timer_started = true;
    }
    let for_thread = Arc::clone(shared);
    if let Err(e) = shared.spawn("fake-sm-timer", move || timer(&for_thread)) {
        debug!("fake slack: cannot spawn the redelivery timer: {e}");
        shared.lock().sm.timer_started = false;
    }
}

/// The redelivery timer: finds events not acked in time and redelivers them on schedule.
fn timer(shared: &Arc<Shared>) {
    loop {
        let (epoch, next) = {
            let mut state = shared.lock();
            if state.stopping {
                return;
            }
            let next = redeliver_due(&mut state.sm, Instant::now());
            (state.sm.timer_epoch, next)
        };
        shared.notify();
        let timeout = next.map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(Instant::now())
        });
        shared.wait_until(timeout, |st: &State| {
            st.stopping || st.sm.timer_epoch != epoch
        });
    }
}

/// Schedules retries for events whose ack is overdue and redelivers those that are due.
/// Returns when to look again.
fn redeliver_due(sm: &mut SmState, now: Instant) -> Option<Instant> {
    let config = sm.settings.redelivery.clone();
    let mut next: Option<Instant> = None;
    while let Some(&index) = sm.watch.front() {
        let delivery = &sm.deliveries[index];
        let Some(at) = delivery.record.at else {
            sm.watch.pop_front();
            continue;
        };
        let due = at + config.ack_timeout;
        if due > now {
            next = Some(due);
            break;
        }
        sm.watch.pop_front();
        if !config.enabled || sm.deliveries[delivery.chain].chain_acked {
            continue;
        }
        let attempt = usize::try_from(delivery.record.retry_attempt).unwrap_or(usize::MAX);
        if let Some(wait) = config.schedule.get(attempt) {
            sm.retries.push(Reverse((due + *wait, index)));
        }
    }
    while let Some(&Reverse((when, index))) = sm.retries.peek() {
        if when > now {
            next = Some(next.map_or(when, |n| n.min(when)));
            break;
        }
        sm.retries.pop();
        let delivery = &mut sm.deliveries[index];
        let chain = delivery.chain;
        let Some(text) = delivery.text.take() else {
            continue;
        };
        if sm.deliveries[chain].chain_acked {
            continue;
        }
        let Ok(mut envelope) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let attempt = envelope["retry_attempt"].as_u64().unwrap_or(0) + 1;
        envelope["retry_attempt"] = Value::from(attempt);
        envelope["retry_reason"] = Value::from("timeout");
        if config.new_envelope_id {
            envelope["envelope_id"] = Value::from(random_uuid());
        }
        deliver(sm, &envelope, Some(chain));
    }
    next
}

// ----- envelopes -----

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1_700_000_000, |d| d.as_secs())
}

/// A fresh `Ev…` event id.
fn event_id() -> String {
    let n = rand::random::<u64>();
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = String::from("Ev");
    let mut m = n;
    for _ in 0..10 {
        id.push(char::from(alphabet[usize::try_from(m % 36).unwrap_or(0)]));
        m /= 36;
    }
    id
}

fn trigger_id() -> String {
    format!(
        "{}.{}.{:032x}",
        rand::random::<u32>(),
        rand::random::<u32>(),
        rand::random::<u128>()
    )
}

impl FakeSlack {
    fn socket_envelope(&self, kind: &str, payload: Value, accepts: bool) -> Value {
        let mut envelope = json!({
            "envelope_id": random_uuid(),
            "type": kind,
            "accepts_response_payload": accepts,
            "payload": payload,
        });
        if kind == "events_api" {
            envelope["retry_attempt"] = Value::from(0);
            envelope["retry_reason"] = Value::from("");
        }
        envelope
    }

    fn app_id(&self) -> String {
        self.shared.lock().sm.settings.app_id.clone()
    }

    fn response_url(&self, what: &str) -> String {
        let scheme = if self.shared.config.tls {
            "https"
        } else {
            "http"
        };
        format!(
            "{scheme}://{}/{what}/{}/{:016x}",
            self.shared.config.addr,
            self.shared.config.team_id,
            rand::random::<u64>()
        )
    }

    fn user_json(&self) -> Value {
        json!({
            "id": HUMAN.0,
            "username": HUMAN.1,
            "name": HUMAN.1,
            "team_id": self.shared.config.team_id,
        })
    }

    fn team_json(&self) -> Value {
        json!({ "id": self.shared.config.team_id, "domain": self.shared.config.team_domain })
    }

    /// The Events API wrapper (`event_callback`) around `event`, with a fresh `event_id`.
    pub(crate) fn event_callback(&self, event: Value) -> Value {
        let config = &self.shared.config;
        json!({
            "token": VERIFICATION_TOKEN,
            "team_id": config.team_id,
            "context_team_id": config.team_id,
            "context_enterprise_id": null,
            "api_app_id": self.app_id(),
            "event": event,
            "type": "event_callback",
            "event_id": event_id(),
            "event_time": now_secs(),
            "authorizations": [{
                "enterprise_id": null,
                "team_id": config.team_id,
                "user_id": config.bot_user_id,
                "is_bot": true,
                "is_enterprise_install": false,
            }],
            "is_ext_shared_channel": false,
            "event_context": format!("4-fake-{:016x}", rand::random::<u64>()),
        })
    }

    /// Sends a complete envelope (a JSON object with `envelope_id`, `type`, `payload`, ...)
    /// to one ready Socket Mode socket, chosen per [`SocketDistribution`]; when none is ready,
    /// it waits for the next `hello`. Unacked `events_api` envelopes are redelivered per
    /// [`Redelivery`]. Returns its `envelope_id` (empty if it has none).
    pub fn send_socket_envelope(&self, envelope: &Value) -> String {
        let envelope_id = envelope["envelope_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let is_event = envelope["type"] == "events_api";
        deliver(&mut self.shared.lock().sm, envelope, None);
        self.shared.notify();
        if is_event {
            ensure_timer(&self.shared);
        }
        envelope_id
    }

    /// Sends an envelope of type `kind` with this payload; returns its `envelope_id`.
    pub fn send_envelope(
        &self,
        kind: &str,
        payload: Value,
        accepts_response_payload: bool,
    ) -> String {
        let envelope = self.socket_envelope(kind, payload, accepts_response_payload);
        self.send_socket_envelope(&envelope)
    }

    /// Sends an Events API event (e.g. `{"type":"app_mention","text":..,"user":..,"channel":..}`)
    /// in an `events_api` envelope with a fresh `envelope_id` and `event_id`, the way Slack
    /// wraps it (`event_callback`, `team_id`, `api_app_id`, `authorizations`, ...). Returns the
    /// `envelope_id`; [`FakeSlack::socket_deliveries`] has the `event_id`.
    pub fn send_event(&self, event: Value) -> String {
        let payload = self.event_callback(event);
        self.send_envelope("events_api", payload, false)
    }

    /// Sends an `app_mention` event from the fake user in `#general`.
    pub fn send_app_mention(&self, text: &str) -> String {
        let ts = self.shared.next_ts();
        let bot = self.shared.config.bot_user_id.clone();
        self.send_event(json!({
            "type": "app_mention",
            "user": HUMAN.0,
            "text": format!("<@{bot}> {text}"),
            "ts": ts,
            "channel": CHANNEL.0,
            "event_ts": ts,
            "team": self.shared.config.team_id,
        }))
    }

    /// Sends an `events_api` envelope with no inner event, as Slack does when the app is over
    /// its event rate limit (`payload.type` `app_rate_limited`).
    pub fn send_app_rate_limited(&self) -> String {
        let payload = json!({
            "token": VERIFICATION_TOKEN,
            "type": "app_rate_limited",
            "team_id": self.shared.config.team_id,
            "minute_rate_limited": now_secs() / 60 * 60,
            "api_app_id": self.app_id(),
        });
        self.send_envelope("events_api", payload, false)
    }

    /// Sends a `slash_commands` envelope for `command` (e.g. `/deploy`) with `text`, from the
    /// fake user in `#general` (`accepts_response_payload: true`).
    pub fn send_slash_command(&self, command: &str, text: &str) -> String {
        let payload = self.slash_command_payload(command, text);
        self.send_envelope("slash_commands", payload, true)
    }

    /// A slash command's fields, in Slack's order, from the fake user in `#general`.
    pub(crate) fn slash_command_payload(&self, command: &str, text: &str) -> Value {
        let config = &self.shared.config;
        json!({
            "token": VERIFICATION_TOKEN,
            "team_id": config.team_id,
            "team_domain": config.team_domain,
            "channel_id": CHANNEL.0,
            "channel_name": CHANNEL.1,
            "user_id": HUMAN.0,
            "user_name": HUMAN.1,
            "command": command,
            "text": text,
            "api_app_id": self.app_id(),
            "is_enterprise_install": "false",
            "response_url": self.response_url("commands"),
            "trigger_id": trigger_id(),
        })
    }

    /// Sends an `interactive` envelope of `payload.type` `block_actions`: a click on a button
    /// with this `action_id` and `value` in a message of the bot's
    /// (`accepts_response_payload: true`).
    pub fn send_block_actions(&self, action_id: &str, value: &str) -> String {
        let payload = self.block_actions_payload(action_id, value, Vec::new());
        self.send_envelope("interactive", payload, true)
    }

    fn block_actions_payload(&self, action_id: &str, value: &str, blocks: Vec<Value>) -> Value {
        let ts = self.shared.next_ts();
        let config = &self.shared.config;
        json!({
            "type": "block_actions",
            "user": self.user_json(),
            "api_app_id": self.app_id(),
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": CHANNEL.0,
                "is_ephemeral": false,
            },
            "trigger_id": trigger_id(),
            "team": self.team_json(),
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": { "id": CHANNEL.0, "name": CHANNEL.1 },
            "message": {
                "type": "message",
                "user": config.bot_user_id,
                "ts": ts,
                "text": "Click the button",
                "blocks": blocks,
            },
            "response_url": self.response_url("actions"),
            "actions": [{
                "action_id": action_id,
                "block_id": "fake-block",
                "text": { "type": "plain_text", "text": "Click", "emoji": true },
                "value": value,
                "type": "button",
                "action_ts": ts,
            }],
        })
    }

    /// Sends an `interactive` envelope of `payload.type` `view_submission` for a modal with
    /// this `callback_id` and `state.values` (`accepts_response_payload: true`).
    pub fn send_view_submission(&self, callback_id: &str, values: Value) -> String {
        let payload = json!({
            "type": "view_submission",
            "team": self.team_json(),
            "user": self.user_json(),
            "api_app_id": self.app_id(),
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id(),
            "view": {
                "id": format!("V0FAKE{:04X}", rand::random::<u16>()),
                "team_id": self.shared.config.team_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": "",
                "title": { "type": "plain_text", "text": "Fake modal" },
                "blocks": [],
                "state": { "values": values },
                "hash": format!("{}.{:08x}", now_secs(), rand::random::<u32>()),
                "app_id": self.app_id(),
            },
            "response_urls": [],
        });
        self.send_envelope("interactive", payload, true)
    }

    /// Sends an `interactive` envelope of `payload.type` `shortcut` (a global shortcut) with
    /// this `callback_id` (`accepts_response_payload: false`).
    pub fn send_shortcut(&self, callback_id: &str) -> String {
        let payload = json!({
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": self.shared.next_ts(),
            "team": self.team_json(),
            "user": self.user_json(),
            "is_enterprise_install": false,
            "callback_id": callback_id,
            "trigger_id": trigger_id(),
        });
        self.send_envelope("interactive", payload, false)
    }

    /// Sends an envelope of a type Slack does not have (yet), e.g. `"future_thing"`.
    pub fn send_unknown_envelope(&self, kind: &str) -> String {
        self.send_envelope(
            kind,
            json!({ "type": kind, "note": "forward compatibility" }),
            false,
        )
    }

    /// Sends a `block_actions` envelope of at least `min_bytes` bytes (the message carries
    /// many section blocks), to exercise 16- and 64-bit websocket lengths; Slack's own tests use
    /// about 100 KB.
    pub fn send_large_envelope(&self, min_bytes: usize) -> String {
        let mut blocks = Vec::new();
        let mut size = 0;
        let mut i = 0u64;
        while size < min_bytes {
            let text = format!("Section {i}: {}", "lorem ipsum dolor sit amet ".repeat(20));
            size += text.len() + 80;
            blocks.push(json!({
                "type": "section",
                "block_id": format!("b{i}"),
                "text": { "type": "mrkdwn", "text": text, "verbatim": false },
            }));
            i += 1;
        }
        let payload = self.block_actions_payload("big_button", "big", blocks);
        self.send_envelope("interactive", payload, true)
    }

    // ----- frames and faults -----

    fn to_socket(&self, conn: u64, cmd: SmCmd) -> bool {
        let state = self.shared.lock();
        state
            .sm
            .conns
            .get(&conn)
            .is_some_and(|c| c.tx.send(cmd).is_ok())
    }

    fn to_every_socket(&self, cmd: &SmCmd) -> usize {
        let state = self.shared.lock();
        state
            .sm
            .conns
            .values()
            .filter(|c| c.tx.send(cmd.clone()).is_ok())
            .count()
    }

    /// Sends `text` verbatim (it need not be JSON) to every open Socket Mode socket; returns
    /// how many got it.
    pub fn send_socket_text(&self, text: &str) -> usize {
        self.to_every_socket(&SmCmd::Text(Utf8Bytes::from(text)))
    }

    /// Sends a binary frame to every open Socket Mode socket; returns how many got it.
    pub fn send_socket_binary(&self, bytes: &[u8]) -> usize {
        self.to_every_socket(&SmCmd::Binary(bytes.to_vec()))
    }

    /// Sends `{"type":"disconnect","reason":reason,"debug_info":{"host":..}}` on socket `conn`,
    /// which then gets no more envelopes (the socket stays open: close it with
    /// [`FakeSlack::close_socket`], or use [`FakeSlack::refresh_socket`] for the whole
    /// sequence). False if `conn` is not open.
    pub fn send_socket_disconnect(&self, conn: u64, reason: &str) -> bool {
        self.to_socket(conn, SmCmd::Disconnect(reason.to_owned(), None))
    }

    /// Sends `disconnect` with `reason` on socket `conn` like
    /// [`FakeSlack::send_socket_disconnect`], then closes it cleanly `close_after` later, as
    /// Slack does. False if `conn` is not open.
    pub fn disconnect_socket(&self, conn: u64, reason: &str, close_after: Duration) -> bool {
        self.to_socket(
            conn,
            SmCmd::Disconnect(reason.to_owned(), Some(close_after)),
        )
    }

    /// Refreshes socket `conn` like Slack every few hours: `disconnect` `warning` (when
    /// `warning_lead` is given), `refresh_requested` that long after it, then a clean close
    /// `close_after` later. Envelopes stop going to the socket at `refresh_requested`.
    pub fn refresh_socket(
        &self,
        conn: u64,
        warning_lead: Option<Duration>,
        close_after: Duration,
    ) -> bool {
        self.to_socket(
            conn,
            SmCmd::Refresh {
                warning_lead,
                close_after,
            },
        )
    }

    /// Closes socket `conn` cleanly: a close frame with `code` and `reason`, up to 500 ms for the
    /// client's answer, then the TCP connection is closed.
    pub fn close_socket(&self, conn: u64, code: u16, reason: &str) -> bool {
        self.to_socket(conn, SmCmd::Close(code, Utf8Bytes::from(reason)))
    }

    /// Drops socket `conn` hard: TCP shut down in both directions, no close frame.
    pub fn drop_socket(&self, conn: u64) -> bool {
        let state = self.shared.lock();
        let Some(c) = state.sm.conns.get(&conn) else {
            return false;
        };
        let _ = c.tcp.shutdown(std::net::Shutdown::Both);
        let _ = c.tx.send(SmCmd::Stop);
        true
    }

    /// Makes socket `conn` half-open: the server stops reading and writing (no pings, no
    /// pongs, no envelopes, no close) but keeps the TCP connection, like a path that died
    /// silently. Returns once the connection thread has stopped (false if `conn` is not open or
    /// the thread did not stop within 5 s). The socket still counts as open until the
    /// [`FakeSlack`] is dropped or [`FakeSlack::drop_socket`] is called; envelopes routed to
    /// it meanwhile are swallowed, as by a ghost socket.
    pub fn half_open_socket(&self, conn: u64) -> bool {
        self.to_socket(conn, SmCmd::Freeze)
            && self.shared.wait_until(Duration::from_secs(5), |st| {
                st.sm.conns.get(&conn).is_none_or(|c| c.frozen)
            })
    }

    /// Whether a client's close frame on a Socket Mode socket is answered (default true). With
    /// false the server ignores it and keeps the TCP connection open, as Slack often does: the
    /// client must drop TCP itself.
    pub fn set_answer_socket_close(&self, yes: bool) {
        self.shared.lock().sm.settings.answer_close = yes;
    }

    /// The interval of the server's websocket pings (payload `Ping from applink-<n>`) for new
    /// sockets and the next ping of open ones; `None` stops pinging.
    pub fn set_socket_ping_interval(&self, interval: Option<Duration>) {
        self.shared.lock().sm.settings.ping_interval = interval;
    }

    /// How unacked events are redelivered from now on.
    pub fn set_socket_redelivery(&self, redelivery: Redelivery) {
        self.shared.lock().sm.settings.redelivery = redelivery;
    }

    /// Which socket each envelope goes to when several are open.
    pub fn set_socket_distribution(&self, distribution: SocketDistribution) {
        let mut state = self.shared.lock();
        state.sm.settings.distribution = distribution;
        route_backlog(&mut state.sm);
    }

    /// Refreshes every socket opened from now on after `lifetime` (warning a tenth of it, at
    /// most 10 s, before; `refresh_requested` at `lifetime`; a close a tenth of it, at most 1 s,
    /// later), and reports it as `approximate_connection_time` in `hello`. `None` (the default):
    /// sockets live until closed.
    pub fn set_socket_lifetime(&self, lifetime: Option<Duration>) {
        self.shared.lock().sm.settings.lifetime = lifetime;
    }

    /// Switches Socket Mode off (true) or on in the app's settings. Off: every open socket gets
    /// `disconnect` `link_disabled` and is closed, and new sockets get the same in place of
    /// `hello`.
    pub fn set_link_disabled(&self, disabled: bool) {
        let mut state = self.shared.lock();
        state.sm.link_disabled = disabled;
        if disabled {
            for conn in state.sm.conns.values_mut() {
                conn.accepting = false;
                let _ = conn.tx.send(SmCmd::Disconnect(
                    "link_disabled".into(),
                    Some(Duration::ZERO),
                ));
            }
        }
    }

    /// Queues the answer to a future `apps.connections.open` call (first in, first out; calls
    /// with a bad token are answered without taking one).
    pub fn push_open_reply(&self, reply: ConnectReply) {
        self.shared.lock().sm.open_replies.push_back(reply);
    }

    /// Queues how a future Socket Mode socket is greeted (first in, first out; a socket over
    /// the cap, or opened while Socket Mode is off, gets its `disconnect` without taking one).
    pub fn push_socket_greeting(&self, greeting: SocketGreeting) {
        self.shared.lock().sm.greetings.push_back(greeting);
    }

    /// Queues a fault for a future websocket handshake on the Socket Mode path.
    pub fn push_socket_handshake_fault(&self, fault: HandshakeFault) {
        self.shared.lock().sm.handshake_faults.push_back(fault);
    }

    // ----- recording -----

    /// Every text frame clients sent on Socket Mode sockets, in the order the server read them.
    pub fn socket_frames(&self) -> Vec<ReceivedFrame> {
        self.shared.lock().sm.frames.clone()
    }

    /// Every ack received so far, in arrival order.
    pub fn socket_acks(&self) -> Vec<SocketAck> {
        self.shared.lock().sm.acks.clone()
    }

    /// Every envelope delivered or queued so far (retries included), in order.
    pub fn socket_deliveries(&self) -> Vec<SocketDelivery> {
        let state = self.shared.lock();
        let sm = &state.sm;
        sm.deliveries
            .iter()
            .map(|d| {
                let mut record = d.record.clone();
                record.acked |= sm.deliveries[d.chain].chain_acked;
                record
            })
            .collect()
    }

    /// The numbers of the open Socket Mode sockets (1 for the first one accepted, ...), oldest
    /// first.
    pub fn socket_connection_ids(&self) -> Vec<u64> {
        self.shared.lock().sm.conns.keys().copied().collect()
    }

    /// How many Socket Mode sockets are open now (half-open ones included).
    pub fn socket_connections_open(&self) -> usize {
        self.shared.lock().sm.conns.len()
    }

    /// How many Socket Mode sockets were opened so far (handshakes with a valid ticket).
    pub fn socket_connections_total(&self) -> u64 {
        self.shared.lock().sm.total
    }

    /// Pongs received on socket `conn` for the server's pings.
    pub fn socket_pongs(&self, conn: u64) -> u64 {
        self.shared
            .lock()
            .sm
            .conns
            .get(&conn)
            .map_or(0, |c| c.pongs)
    }

    /// Ping frames the client sent on socket `conn`.
    pub fn socket_client_pings(&self, conn: u64) -> u64 {
        self.shared
            .lock()
            .sm
            .conns
            .get(&conn)
            .map_or(0, |c| c.client_pings)
    }

    /// Every client frame (RTM and Socket Mode) and every Web API call from now on, as
    /// `{"conn":N,"protocol":"rtm"|"socket_mode","frame":{..}}` and
    /// `{"api":"method","params":{..}}` (tokens left out), in the order the server saw them.
    pub fn watch_traffic(&self) -> mpsc::Receiver<Value> {
        let (tx, rx) = mpsc::channel();
        self.shared.lock().sm.taps.push(tx);
        rx
    }

    // ----- waiting -----

    /// Waits for an ack of `envelope_id` (acks received before the call count too); `None` on
    /// timeout.
    pub fn wait_for_socket_ack(&self, envelope_id: &str, timeout: Duration) -> Option<SocketAck> {
        let mut found = None;
        self.shared.wait_until(timeout, |st| {
            found = st
                .sm
                .acks
                .iter()
                .find(|a| a.envelope_id == envelope_id)
                .cloned();
            found.is_some()
        });
        found
    }

    /// Waits until at least `n` acks were received; false on timeout.
    pub fn wait_for_socket_acks(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.sm.acks.len() >= n)
    }

    /// Waits until at least `n` envelopes were written to sockets (retries included); false on
    /// timeout.
    pub fn wait_for_socket_deliveries(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| {
            st.sm
                .deliveries
                .iter()
                .filter(|d| d.record.at.is_some())
                .count()
                >= n
        })
    }

    /// Waits until at least `total` Socket Mode sockets were opened so far; false on timeout.
    pub fn wait_for_socket_connections(&self, total: u64, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.sm.total >= total)
    }

    /// Waits until exactly `n` Socket Mode sockets are open; false on timeout.
    pub fn wait_for_socket_open(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.sm.conns.len() == n)
    }

    /// Waits until at least `n` open sockets said `hello` and take envelopes; false on timeout.
    pub fn wait_for_socket_ready(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| {
            st.sm
                .conns
                .values()
                .filter(|c| c.ready && c.accepting)
                .count()
                >= n
        })
    }
}

impl FakeSlackBuilder {
    /// Accepts only this app token for `apps.connections.open`. Without it, any `xapp-` token
    /// is accepted. Either way bot and user tokens get `not_allowed_token_type` and other
    /// tokens `invalid_auth`.
    pub fn app_token(mut self, token: &str) -> Self {
        self.socket_mode.app_token = Some(token.to_owned());
        self
    }

    /// The app's id in `hello` (`connection_info.app_id`) and in payloads (default
    /// `A0FAKEAPP1`).
    pub fn app_id(mut self, app_id: &str) -> Self {
        self.socket_mode.app_id = app_id.to_owned();
        self
    }

    /// Initial value of [`FakeSlack::set_socket_ping_interval`] (default 10 s, like Slack).
    pub fn socket_ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.socket_mode.ping_interval = interval;
        self
    }

    /// How many Socket Mode sockets may be registered at once (default 10, Slack's cap per
    /// app); the next one gets `disconnect` `too_many_websockets` in place of `hello`.
    pub fn socket_cap(mut self, cap: usize) -> Self {
        self.socket_mode.cap = cap;
        self
    }

    /// How long a Socket Mode ticket stays valid (default 30 s); a used or expired one is
    /// refused at the upgrade with HTTP 401.
    pub fn socket_ticket_ttl(mut self, ttl: Duration) -> Self {
        self.socket_mode.ticket_ttl = ttl;
        self
    }

    /// Initial value of [`FakeSlack::set_socket_redelivery`] (default [`Redelivery::default`]).
    pub fn socket_redelivery(mut self, redelivery: Redelivery) -> Self {
        self.socket_mode.redelivery = redelivery;
        self
    }

    /// Initial value of [`FakeSlack::set_socket_distribution`] (default random).
    pub fn socket_distribution(mut self, distribution: SocketDistribution) -> Self {
        self.socket_mode.distribution = distribution;
        self
    }

    /// Initial value of [`FakeSlack::set_socket_lifetime`] (default `None`).
    pub fn socket_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.socket_mode.lifetime = lifetime;
        self
    }

    /// How long a Socket Mode socket whose client vanished without a close frame still counts
    /// against the cap and in `num_connections`, like Slack's ghost sockets (default 0).
    pub fn socket_ghost_lifetime(mut self, lifetime: Duration) -> Self {
        self.socket_mode.ghost_lifetime = lifetime;
        self
    }
}

/// Helpers for [`super::sm_ws`]: the next handshake fault.
pub(crate) fn take_handshake_fault(sm: &mut SmState) -> Option<HandshakeFault> {
    sm.handshake_faults.pop_front()
}

/// The `hello` frame for a socket, with the current registration count.
pub(crate) fn hello_frame(sm: &SmState, conn: u64, num_connections: usize, debug: bool) -> String {
    let lifetime = sm
        .settings
        .lifetime
        .map(|l| l.as_secs().max(1))
        .unwrap_or(if debug { 360 } else { 18_060 });
    json!({
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": format!("applink-{conn}"),
            "build_number": 118,
            "approximate_connection_time": lifetime,
        },
        "connection_info": { "app_id": sm.settings.app_id },
    })
    .to_string()
}

/// A `disconnect` frame.
pub(crate) fn disconnect_frame(conn: u64, reason: &str) -> String {
    json!({
        "type": "disconnect",
        "reason": reason,
        "debug_info": { "host": format!("applink-{conn}") },
    })
    .to_string()
}

/// The greeting for a new socket: scripted first, then Socket Mode off, then the cap.
pub(crate) fn greeting_for(sm: &mut SmState, registered: usize) -> SocketGreeting {
    if let Some(scripted) = sm.greetings.pop_front() {
        return scripted;
    }
    if sm.link_disabled {
        return SocketGreeting::LinkDisabled;
    }
    if registered > sm.settings.cap {
        return SocketGreeting::TooManyWebsockets;
    }
    SocketGreeting::Hello
}
