//! Listener kinds and matchers, free of I/O: which listener a request goes to, and the regex
//! captures it gets.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::parse::{Incoming, Kind};

/// What a listener matches on. Built from a `&str` (exact for ids, a substring for
/// [`App::message`](super::App::message)), a `regex::Regex` (feature `regex`), a closure
/// `Fn(&Value) -> bool` over the request's payload (what [`Ctx::payload`](super::Ctx::payload)
/// returns), [`ActionIds`], or the constructors below.
///
/// ```
/// use serde_json::Value;
/// use slack_rtm::app::{ActionIds, Matcher};
///
/// let exact: Matcher = "approve".into();
/// let both: Matcher = ActionIds { block_id: "deploy_block", action_id: "approve" }.into();
/// let edits = Matcher::event_subtype("message", Some("message_changed"));
/// let long = Matcher::from(|event: &Value| event["text"].as_str().is_some_and(|t| t.len() > 100));
/// # let _ = (exact, both, edits, long);
/// ```
#[derive(Clone)]
pub struct Matcher(Rule);

#[derive(Clone)]
enum Rule {
    Text(String),
    #[cfg(feature = "regex")]
    Regex(regex::Regex),
    Fn(Arc<dyn Fn(&Value) -> bool + Send + Sync + 'static>),
    Ids {
        block_id: String,
        action_id: String,
    },
    Subtype {
        event: String,
        subtype: Option<String>,
    },
    Any,
}

impl Matcher {
    /// Matches every request of the listener's kind.
    pub fn any() -> Matcher {
        Matcher(Rule::Any)
    }

    /// For [`App::event`](super::App::event): events of type `event` whose `subtype` is
    /// `subtype`; `None` means "no subtype" (a plain message, not an edit or a deletion).
    pub fn event_subtype(event: &str, subtype: Option<&str>) -> Matcher {
        Matcher(Rule::Subtype {
            event: event.to_owned(),
            subtype: subtype.map(str::to_owned),
        })
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rule::Text(t) => write!(f, "{t:?}"),
            #[cfg(feature = "regex")]
            Rule::Regex(r) => write!(f, "Regex({:?})", r.as_str()),
            Rule::Fn(_) => f.write_str("<closure>"),
            Rule::Ids {
                block_id,
                action_id,
            } => write!(f, "{{block_id: {block_id:?}, action_id: {action_id:?}}}"),
            Rule::Subtype { event, subtype } => write!(f, "{event:?} subtype {subtype:?}"),
            Rule::Any => f.write_str("any"),
        }
    }
}

impl From<&str> for Matcher {
    fn from(text: &str) -> Matcher {
        Matcher(Rule::Text(text.to_owned()))
    }
}

impl From<String> for Matcher {
    fn from(text: String) -> Matcher {
        Matcher(Rule::Text(text))
    }
}

impl From<&String> for Matcher {
    fn from(text: &String) -> Matcher {
        Matcher(Rule::Text(text.clone()))
    }
}

#[cfg(feature = "regex")]
#[cfg_attr(docsrs, doc(cfg(feature = "regex")))]
impl From<regex::Regex> for Matcher {
    /// Matches anywhere in the text (or id); the captures become
    /// [`Ctx::matches`](super::Ctx::matches).
    fn from(re: regex::Regex) -> Matcher {
        Matcher(Rule::Regex(re))
    }
}

impl<F> From<F> for Matcher
where
    F: Fn(&Value) -> bool + Send + Sync + 'static,
{
    fn from(f: F) -> Matcher {
        Matcher(Rule::Fn(Arc::new(f)))
    }
}

/// For [`App::action`](super::App::action) and [`App::options`](super::App::options): both the
/// `block_id` and the `action_id` must be equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionIds<'a> {
    /// The block's `block_id`.
    pub block_id: &'a str,
    /// The element's `action_id`.
    pub action_id: &'a str,
}

impl From<ActionIds<'_>> for Matcher {
    fn from(ids: ActionIds<'_>) -> Matcher {
        Matcher(Rule::Ids {
            block_id: ids.block_id.to_owned(),
            action_id: ids.action_id.to_owned(),
        })
    }
}

/// The kind of request a listener takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListenerKind {
    Event,
    Message,
    Command,
    Action,
    View,
    ViewClosed,
    /// Global and message shortcuts.
    Shortcut,
    GlobalShortcut,
    MessageShortcut,
    Options,
}

impl ListenerKind {
    /// The registration call, for logs: `app.action`.
    pub(crate) fn call(self) -> &'static str {
        match self {
            ListenerKind::Event => "event",
            ListenerKind::Message => "message",
            ListenerKind::Command => "command",
            ListenerKind::Action => "action",
            ListenerKind::View => "view",
            ListenerKind::ViewClosed => "view_closed",
            ListenerKind::Shortcut => "shortcut",
            ListenerKind::GlobalShortcut => "global_shortcut",
            ListenerKind::MessageShortcut => "message_shortcut",
            ListenerKind::Options => "options",
        }
    }

    fn takes(self, kind: &Kind) -> bool {
        matches!(
            (self, kind),
            (ListenerKind::Event | ListenerKind::Message, Kind::Event)
                | (ListenerKind::Command, Kind::Command)
                | (ListenerKind::Action, Kind::BlockActions)
                | (ListenerKind::View, Kind::ViewSubmission)
                | (ListenerKind::ViewClosed, Kind::ViewClosed)
                | (
                    ListenerKind::Shortcut,
                    Kind::Shortcut | Kind::MessageShortcut
                )
                | (ListenerKind::GlobalShortcut, Kind::Shortcut)
                | (ListenerKind::MessageShortcut, Kind::MessageShortcut)
                | (ListenerKind::Options, Kind::Options)
        )
    }
}

/// Message subtypes `message` listeners see (Bolt's): plain messages and these.
const MESSAGE_SUBTYPES: &[&str] = &["bot_message", "thread_broadcast", "file_share"];

/// The payload of a request, as Bolt defines it: the event, the first action, the view, or
/// the whole body.
pub(crate) fn payload(incoming: &Incoming) -> &Value {
    let b = &incoming.body;
    let pick = match incoming.kind {
        Kind::Event => b.get("event"),
        Kind::BlockActions => b.pointer("/actions/0"),
        Kind::ViewSubmission | Kind::ViewClosed => b.get("view"),
        _ => None,
    };
    pick.unwrap_or(b)
}

/// What a match yields: the regex captures (empty for other matchers).
pub(crate) type Captures = Vec<Option<String>>;

/// Whether a listener of `kind` with `matcher` takes `incoming`; its captures if so.
pub(crate) fn matches(
    kind: ListenerKind,
    matcher: &Matcher,
    incoming: &Incoming,
) -> Option<Captures> {
    if !kind.takes(&incoming.kind) {
        return None;
    }
    let payload = payload(incoming);
    let str_at = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    // The string this kind's `&str` and regex matchers look at.
    let subject: Option<String> = match kind {
        ListenerKind::Message => {
            if payload.get("type").and_then(Value::as_str) != Some("message") {
                return None;
            }
            match payload.get("subtype").and_then(Value::as_str) {
                None => {}
                Some(s) if MESSAGE_SUBTYPES.contains(&s) => {}
                Some(_) => return None,
            }
            Some(str_at(payload, "text").unwrap_or_default())
        }
        ListenerKind::Event => str_at(payload, "type"),
        _ => Some(incoming.id().to_owned()),
    };
    let subject = subject.unwrap_or_default();
    match &matcher.0 {
        Rule::Any => Some(Vec::new()),
        Rule::Text(t) if kind == ListenerKind::Message => {
            subject.contains(t.as_str()).then(Vec::new)
        }
        Rule::Text(t) => (subject == *t).then(Vec::new),
        #[cfg(feature = "regex")]
        Rule::Regex(re) => {
            let caps = re.captures(&subject)?;
            let groups: Captures = if caps.len() > 1 {
                caps.iter()
                    .skip(1)
                    .map(|m| m.map(|m| m.as_str().to_owned()))
                    .collect()
            } else {
                vec![caps.get(0).map(|m| m.as_str().to_owned())]
            };
            Some(groups)
        }
        Rule::Fn(f) => f(payload).then(Vec::new),
        Rule::Ids {
            block_id,
            action_id,
        } => {
            let ok = str_at(payload, "block_id").as_deref() == Some(block_id)
                && str_at(payload, "action_id").as_deref() == Some(action_id);
            ok.then(Vec::new)
        }
        Rule::Subtype { event, subtype } => {
            let ok = kind == ListenerKind::Event
                && subject == *event
                && str_at(payload, "subtype") == *subtype;
            ok.then(Vec::new)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(e: Value) -> Incoming {
        Incoming::new(Kind::Event, json!({"type": "event_callback", "event": e}))
    }

    fn m(kind: ListenerKind, matcher: impl Into<Matcher>, incoming: &Incoming) -> bool {
        matches(kind, &matcher.into(), incoming).is_some()
    }

    #[test]
    fn message_text_is_a_substring_never_a_pattern() {
        let hi = event(json!({"type": "message", "text": "well, hello there?"}));
        assert!(m(ListenerKind::Message, "hello", &hi));
        assert!(
            m(ListenerKind::Message, "?", &hi),
            "a literal question mark"
        );
        assert!(!m(ListenerKind::Message, "h.llo", &hi));
        assert!(m(ListenerKind::Message, "", &hi));
        assert!(!m(ListenerKind::Event, "hello", &hi));
        assert!(m(ListenerKind::Event, "message", &hi));
    }

    #[test]
    fn message_listeners_skip_edits_and_deletions() {
        for (subtype, seen) in [
            ("bot_message", true),
            ("thread_broadcast", true),
            ("file_share", true),
            ("message_changed", false),
            ("message_deleted", false),
            ("channel_join", false),
        ] {
            let e = event(json!({"type": "message", "subtype": subtype, "text": "hello"}));
            assert_eq!(m(ListenerKind::Message, "hello", &e), seen, "{subtype}");
            assert!(m(ListenerKind::Event, "message", &e), "{subtype}");
        }
        let mention = event(json!({"type": "app_mention", "text": "hello"}));
        assert!(!m(ListenerKind::Message, "hello", &mention));
    }

    #[test]
    fn event_subtype_filters() {
        let plain = event(json!({"type": "message", "text": "x"}));
        let edit = event(json!({"type": "message", "subtype": "message_changed"}));
        let none = Matcher::event_subtype("message", None);
        let changed = Matcher::event_subtype("message", Some("message_changed"));
        assert!(matches(ListenerKind::Event, &none, &plain).is_some());
        assert!(matches(ListenerKind::Event, &none, &edit).is_none());
        assert!(matches(ListenerKind::Event, &changed, &edit).is_some());
        assert!(matches(ListenerKind::Event, &changed, &plain).is_none());
        assert!(matches(ListenerKind::Message, &none, &plain).is_none());
    }

    #[test]
    fn ids_are_exact() {
        let click = Incoming::new(
            Kind::BlockActions,
            json!({"type": "block_actions",
                   "actions": [{"action_id": "approve", "block_id": "b1", "value": "v"}]}),
        );
        assert!(m(ListenerKind::Action, "approve", &click));
        assert!(!m(ListenerKind::Action, "approv", &click));
        assert!(!m(ListenerKind::Command, "approve", &click));
        let ids = ActionIds {
            block_id: "b1",
            action_id: "approve",
        };
        assert!(m(ListenerKind::Action, ids, &click));
        let other = ActionIds {
            block_id: "b2",
            action_id: "approve",
        };
        assert!(!m(ListenerKind::Action, other, &click));
        // A closure sees the action.
        assert!(m(
            ListenerKind::Action,
            |a: &Value| a["value"] == "v",
            &click
        ));
        assert!(m(ListenerKind::Action, Matcher::any(), &click));

        let cmd = Incoming::new(Kind::Command, json!({"command": "/deploy"}));
        assert!(m(ListenerKind::Command, "/deploy", &cmd));
        assert!(!m(ListenerKind::Command, "/deplo", &cmd));
        let view = Incoming::new(
            Kind::ViewSubmission,
            json!({"type": "view_submission", "view": {"callback_id": "modal"}}),
        );
        assert!(m(ListenerKind::View, "modal", &view));
        assert!(!m(ListenerKind::ViewClosed, "modal", &view));
        let shortcut = Incoming::new(Kind::MessageShortcut, json!({"callback_id": "s"}));
        assert!(m(ListenerKind::Shortcut, "s", &shortcut));
        assert!(m(ListenerKind::MessageShortcut, "s", &shortcut));
        assert!(!m(ListenerKind::GlobalShortcut, "s", &shortcut));
        let options = Incoming::new(Kind::Options, json!({"action_id": "pick", "block_id": "b"}));
        assert!(m(ListenerKind::Options, "pick", &options));
        let ids = ActionIds {
            block_id: "b",
            action_id: "pick",
        };
        assert!(m(ListenerKind::Options, ids, &options));
    }

    #[cfg(feature = "regex")]
    #[test]
    fn regexes_match_anywhere_and_capture() {
        let e = event(json!({"type": "message", "text": "please deploy api to prod"}));
        let re = regex::Regex::new(r"deploy (\w+) to (\w+)").unwrap();
        let caps = matches(ListenerKind::Message, &re.into(), &e).unwrap();
        assert_eq!(caps, vec![Some("api".to_owned()), Some("prod".to_owned())]);
        let whole = regex::Regex::new(r"dep\w+").unwrap();
        let caps = matches(ListenerKind::Message, &whole.into(), &e).unwrap();
        assert_eq!(caps, vec![Some("deploy".to_owned())]);
    }
}
