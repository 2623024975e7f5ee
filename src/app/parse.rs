//! Parsing, free of I/O: an [`AppRequest`] (or a Socket Mode envelope, or an RTM event) becomes
//! an [`Incoming`] — its [`Kind`] and its body as JSON — by content type, as Slack sends them:
//! JSON for the Events API, a form with one `payload` field for interactivity, form fields for
//! slash commands, `ssl_check=1` for Slack's certificate check.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::request::AppRequest;

/// What a request is, for routing and acking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An Events API `event_callback`.
    Event,
    /// `app_rate_limited` (an Events API body without an event).
    AppRateLimited,
    /// `url_verification`: answered with its `challenge`.
    UrlVerification,
    /// `ssl_check=1`: answered 200, never dispatched.
    SslCheck,
    /// A slash command.
    Command,
    /// `block_actions`.
    BlockActions,
    /// `view_submission`.
    ViewSubmission,
    /// `view_closed`.
    ViewClosed,
    /// A global shortcut (`shortcut`).
    Shortcut,
    /// A message shortcut (`message_action`).
    MessageShortcut,
    /// `block_suggestion` or `dialog_suggestion`: an external select's options.
    Options,
    /// Another interaction (`interactive_message`, `dialog_submission`, …): acked, never routed
    /// to a listener kind of its own.
    OtherInteractive(String),
    /// Anything else that is not an answerable request (an unknown Events API body, an unknown
    /// Socket Mode envelope type): treated as an event.
    Unknown(String),
}

impl Kind {
    /// Events are acked on arrival; everything else waits for its listener's ack.
    pub(crate) fn is_event(&self) -> bool {
        matches!(self, Kind::Event | Kind::AppRateLimited | Kind::Unknown(_))
    }

    fn interactive(kind: &str) -> Kind {
        match kind {
            "block_actions" => Kind::BlockActions,
            "view_submission" => Kind::ViewSubmission,
            "view_closed" => Kind::ViewClosed,
            "shortcut" => Kind::Shortcut,
            "message_action" => Kind::MessageShortcut,
            "block_suggestion" | "dialog_suggestion" => Kind::Options,
            other => Kind::OtherInteractive(other.to_owned()),
        }
    }

    /// The kind of a JSON body (Events API, or an interaction posted as JSON).
    fn of_json(body: &Value) -> Kind {
        match body.get("type").and_then(Value::as_str).unwrap_or_default() {
            "event_callback" => Kind::Event,
            "app_rate_limited" => Kind::AppRateLimited,
            "url_verification" => Kind::UrlVerification,
            t @ ("block_actions" | "view_submission" | "view_closed" | "shortcut"
            | "message_action" | "block_suggestion" | "dialog_suggestion") => Kind::interactive(t),
            other => Kind::Unknown(other.to_owned()),
        }
    }

    /// The name Slack gives the request (`event_callback`, `block_actions`, `slash_commands`…).
    pub(crate) fn name(&self) -> &str {
        match self {
            Kind::Event => "event",
            Kind::AppRateLimited => "app_rate_limited",
            Kind::UrlVerification => "url_verification",
            Kind::SslCheck => "ssl_check",
            Kind::Command => "command",
            Kind::BlockActions => "block_actions",
            Kind::ViewSubmission => "view_submission",
            Kind::ViewClosed => "view_closed",
            Kind::Shortcut => "shortcut",
            Kind::MessageShortcut => "message_action",
            Kind::Options => "options",
            Kind::OtherInteractive(t) | Kind::Unknown(t) => t,
        }
    }
}

/// A parsed request.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    pub(crate) kind: Kind,
    /// The whole body: the Events API JSON, the interaction's `payload`, the slash command's
    /// fields as a JSON object of strings.
    pub(crate) body: Value,
    pub(crate) retry_num: Option<u32>,
    pub(crate) retry_reason: Option<String>,
}

impl Incoming {
    pub(crate) fn new(kind: Kind, body: Value) -> Incoming {
        Incoming {
            kind,
            body,
            retry_num: None,
            retry_reason: None,
        }
    }

    /// The id listeners of this kind match on: the event type, the command, the first
    /// action's `action_id`, the view's or shortcut's `callback_id`.
    pub(crate) fn id(&self) -> &str {
        fn s(v: Option<&Value>) -> &str {
            v.and_then(Value::as_str).unwrap_or_default()
        }
        let b = &self.body;
        match self.kind {
            Kind::Event => s(b.pointer("/event/type")),
            Kind::Command => s(b.get("command")),
            Kind::BlockActions => s(b.pointer("/actions/0/action_id")),
            Kind::ViewSubmission | Kind::ViewClosed => s(b.pointer("/view/callback_id")),
            Kind::Shortcut | Kind::MessageShortcut => s(b.get("callback_id")),
            Kind::Options => match b.get("action_id") {
                Some(a) => s(Some(a)),
                None => s(b.get("callback_id")),
            },
            _ => "",
        }
    }

    /// How the request is named in logs: `command /deploy`, `block_actions approve`.
    pub(crate) fn label(&self) -> String {
        let id = self.id();
        if id.is_empty() {
            self.kind.name().to_owned()
        } else {
            format!("{} {id}", self.kind.name())
        }
    }

    /// The registration that would handle this request, for the unhandled warning.
    pub(crate) fn suggestion(&self) -> String {
        let id = self.id();
        let call = match self.kind {
            Kind::Command => "command",
            Kind::BlockActions => "action",
            Kind::ViewSubmission => "view",
            Kind::ViewClosed => "view_closed",
            Kind::Shortcut => "shortcut",
            Kind::MessageShortcut => "message_shortcut",
            Kind::Options => "options",
            Kind::Event => "event",
            _ => return format!("a listener for {}", self.kind.name()),
        };
        format!("app.{call}({id:?}, …)")
    }
}

/// Why a request could not be parsed (answered 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadRequest(pub(crate) String);

/// Parses an HTTP-shaped request by content type.
pub(crate) fn parse(req: &AppRequest) -> Result<Incoming, BadRequest> {
    let content_type = req
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let text =
        std::str::from_utf8(&req.body).map_err(|_| BadRequest("the body is not UTF-8".into()))?;
    let mut incoming = if content_type.contains("json") || text.trim_start().starts_with('{') {
        let body: Value = serde_json::from_str(text)
            .map_err(|e| BadRequest(format!("the body is not valid JSON: {e}")))?;
        if !body.is_object() {
            return Err(BadRequest("the body is not a JSON object".into()));
        }
        Incoming::new(Kind::of_json(&body), body)
    } else {
        parse_form(text)?
    };
    incoming.retry_num = req
        .header("x-slack-retry-num")
        .and_then(|n| n.trim().parse().ok());
    incoming.retry_reason = req.header("x-slack-retry-reason").map(str::to_owned);
    Ok(incoming)
}

fn parse_form(text: &str) -> Result<Incoming, BadRequest> {
    let fields = form_fields(text);
    // Only the exact value `1`, and nothing else is read from such a body.
    if fields.iter().any(|(k, v)| k == "ssl_check" && v == "1") {
        return Ok(Incoming::new(Kind::SslCheck, Value::Null));
    }
    if let Some((_, payload)) = fields.iter().find(|(k, _)| k == "payload") {
        let body: Value = serde_json::from_str(payload)
            .map_err(|e| BadRequest(format!("the payload field is not valid JSON: {e}")))?;
        let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
        if !body.is_object() {
            return Err(BadRequest("the payload field is not a JSON object".into()));
        }
        return Ok(Incoming::new(Kind::interactive(kind), body));
    }
    if fields.iter().any(|(k, _)| k == "command") {
        let body: Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        return Ok(Incoming::new(Kind::Command, Value::Object(body)));
    }
    Err(BadRequest(
        "a form without payload, command or ssl_check".into(),
    ))
}

/// `application/x-www-form-urlencoded` pairs, decoded (`+` is a space).
pub(crate) fn form_fields(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// A Socket Mode envelope's request: its type and payload, no re-encoding.
pub(crate) fn from_envelope(
    envelope_type: &str,
    payload: Value,
    accepts_response_payload: bool,
) -> Incoming {
    let kind = match envelope_type {
        "events_api" => match Kind::of_json(&payload) {
            Kind::Event => Kind::Event,
            Kind::AppRateLimited => Kind::AppRateLimited,
            other => Kind::Unknown(other.name().to_owned()),
        },
        "slash_commands" => Kind::Command,
        "interactive" => Kind::interactive(
            payload
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        other if accepts_response_payload => Kind::OtherInteractive(other.to_owned()),
        other => Kind::Unknown(other.to_owned()),
    };
    Incoming::new(kind, payload)
}

/// An RTM event, wrapped as the Events API would send it.
pub(crate) fn from_rtm_event(event: &Value, team_id: Option<&str>) -> Incoming {
    let mut body = Map::new();
    body.insert("type".into(), "event_callback".into());
    if let Some(team) = team_id.or_else(|| event.get("team").and_then(Value::as_str)) {
        body.insert("team_id".into(), team.into());
    }
    body.insert("event".into(), event.clone());
    Incoming::new(Kind::Event, Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(content_type: &str, body: &str) -> AppRequest {
        AppRequest::post(
            "/slack/events",
            vec![("Content-Type".into(), content_type.into())],
            body,
        )
    }

    #[test]
    fn json_bodies_by_type() {
        let event = json!({"type": "event_callback", "event": {"type": "app_mention"}});
        let p = parse(&req("application/json", &event.to_string())).unwrap();
        assert_eq!(p.kind, Kind::Event);
        assert_eq!(p.id(), "app_mention");
        assert_eq!(p.label(), "event app_mention");
        let p = parse(&req(
            "application/json",
            r#"{"type":"url_verification","challenge":"c"}"#,
        ));
        assert_eq!(p.unwrap().kind, Kind::UrlVerification);
        let p = parse(&req("", r#"{"type":"app_rate_limited"}"#)).unwrap();
        assert_eq!(p.kind, Kind::AppRateLimited);
        assert!(p.kind.is_event());
        let p = parse(&req("application/json", r#"{"type":"something_new"}"#)).unwrap();
        assert_eq!(p.kind, Kind::Unknown("something_new".into()));
        assert!(parse(&req("application/json", "[1]")).is_err());
        assert!(parse(&req("application/json", "{nope")).is_err());
    }

    #[test]
    fn interactive_forms_carry_one_payload() {
        let payload = json!({"type": "block_actions", "actions": [{"action_id": "approve"}]});
        let body = format!(
            "payload={}",
            percent_encoding::utf8_percent_encode(
                &payload.to_string(),
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let p = parse(&req("application/x-www-form-urlencoded", &body)).unwrap();
        assert_eq!(p.kind, Kind::BlockActions);
        assert_eq!(p.id(), "approve");
        assert_eq!(p.suggestion(), r#"app.action("approve", …)"#);
        assert!(!p.kind.is_event());
    }

    #[test]
    fn slash_commands_are_form_fields() {
        let body = "token=x&command=%2Fdeploy&text=prod+now&user_id=U1&payload_note=payload";
        let p = parse(&req("application/x-www-form-urlencoded", body)).unwrap();
        assert_eq!(p.kind, Kind::Command);
        assert_eq!(p.body["text"], "prod now");
        assert_eq!(p.body["command"], "/deploy");
        assert_eq!(p.label(), "command /deploy");
        // A text that mentions "payload" is still a command.
        let p = parse(&req("", "command=%2Fq&text=payload%3D1")).unwrap();
        assert_eq!(p.kind, Kind::Command);
        assert_eq!(p.body["text"], "payload=1");
    }

    #[test]
    fn ssl_check_is_exactly_one_and_nothing_beside_it() {
        let p = parse(&req("", "ssl_check=1&token=x&command=%2Fdeploy")).unwrap();
        assert_eq!(p.kind, Kind::SslCheck);
        assert_eq!(p.body, Value::Null, "nothing smuggled next to it survives");
        let p = parse(&req("", "ssl_check=true&command=%2Fdeploy")).unwrap();
        assert_eq!(p.kind, Kind::Command);
        assert!(parse(&req("", "ssl_check=true")).is_err());
    }

    #[test]
    fn retry_headers_are_read() {
        let mut r = req(
            "application/json",
            r#"{"type":"event_callback","event":{}}"#,
        );
        r.headers.push(("X-Slack-Retry-Num".into(), "2".into()));
        r.headers
            .push(("X-Slack-Retry-Reason".into(), "http_timeout".into()));
        let p = parse(&r).unwrap();
        assert_eq!(p.retry_num, Some(2));
        assert_eq!(p.retry_reason.as_deref(), Some("http_timeout"));
    }

    #[test]
    fn envelopes_and_rtm_events() {
        let p = from_envelope("slash_commands", json!({"command": "/d"}), true);
        assert_eq!(p.kind, Kind::Command);
        let p = from_envelope("interactive", json!({"type": "view_closed"}), false);
        assert_eq!(p.kind, Kind::ViewClosed);
        let p = from_envelope("interactive", json!({"type": "block_suggestion"}), true);
        assert_eq!(p.kind, Kind::Options);
        let p = from_envelope("events_api", json!({"type": "event_callback"}), false);
        assert_eq!(p.kind, Kind::Event);
        let p = from_envelope("future", json!({}), false);
        assert!(p.kind.is_event());
        let p = from_envelope("future", json!({}), true);
        assert!(!p.kind.is_event());
        let p = from_rtm_event(&json!({"type": "message", "text": "hi"}), Some("T1"));
        assert_eq!(p.body["event"]["text"], "hi");
        assert_eq!(p.body["team_id"], "T1");
        assert_eq!(p.id(), "message");
    }
}
