//! How a call goes on the wire: the HTTP verb, JSON or form body, the method-name check.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::error::Error;

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
    "files.",
    "oauth.",
];

/// The read methods sent as `GET` with the parameters in the query string, as Slack's Python
/// `WebClient` sends them (its `http_verb="GET"` methods).
const GET_METHODS: &[&str] = &[
    "bots.info",
    "chat.getPermalink",
    "conversations.history",
    "conversations.info",
    "conversations.list",
    "conversations.members",
    "conversations.replies",
    "dnd.info",
    "emoji.list",
    "files.info",
    "files.list",
    "pins.list",
    "reactions.get",
    "reactions.list",
    "team.info",
    "usergroups.list",
    "usergroups.users.list",
    "users.getPresence",
    "users.info",
    "users.list",
    "users.lookupByEmail",
    "users.profile.get",
];

/// `application/x-www-form-urlencoded`: everything but `A-Za-z0-9-._*` is percent-encoded.
const FORM_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*');

pub(crate) const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
pub(crate) const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";

/// One encoded request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// `GET <url>?<query>` (an empty query adds no `?`).
    Get { query: String },
    /// `POST` with this content type and body.
    Post {
        content_type: &'static str,
        body: Vec<u8>,
    },
}

/// Encodes `params` (a JSON object or `null`) for `method`.
pub(crate) fn encode(method: &str, params: &Value) -> Result<Request, Error> {
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
    if is_get(method) {
        return Ok(Request::Get {
            query: form_encode(params),
        });
    }
    if use_form(method, params.is_empty()) {
        return Ok(Request::Post {
            content_type: CONTENT_TYPE_FORM,
            body: form_encode(params).into_bytes(),
        });
    }
    let body = serde_json::to_vec(params)
        .map_err(|e| Error::http(format!("cannot encode the params of {method}: {e}")))?;
    Ok(Request::Post {
        content_type: CONTENT_TYPE_JSON,
        body,
    })
}

/// Whether `method` is sent as a `GET`.
pub(crate) fn is_get(method: &str) -> bool {
    GET_METHODS.contains(&method)
}

/// Whether `method` is sent as `application/x-www-form-urlencoded` rather than JSON: the read
/// methods that historically do not accept JSON, and every call without parameters.
pub(crate) fn use_form(method: &str, params_empty: bool) -> bool {
    params_empty || FORM_PREFIXES.iter().any(|p| method.starts_with(p))
}

/// Form-encodes a params object: scalars as they are (booleans `true`/`false`), arrays and
/// objects as JSON, `null` values left out.
pub(crate) fn form_encode(params: &Map<String, Value>) -> String {
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

/// Web API method names are dotted words; anything else could change the URL.
pub(crate) fn check_method(method: &str) -> Result<(), Error> {
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

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_is_chosen_for_read_methods_and_empty_params() {
        assert!(use_form("rtm.connect", false));
        assert!(use_form("rtm.start", false));
        assert!(use_form("auth.test", false));
        assert!(use_form("conversations.list", false));
        assert!(use_form("users.info", false));
        assert!(use_form("files.completeUploadExternal", false));
        assert!(use_form("chat.postMessage", true));
        assert!(!use_form("chat.postMessage", false));
        assert!(!use_form("reactions.add", false));
        // A prefix must match a whole namespace.
        assert!(!use_form("rtmx.foo", false));
    }

    #[test]
    fn read_methods_are_gets() {
        assert_eq!(
            encode(
                "conversations.history",
                &json!({"channel": "C1", "limit": 2})
            )
            .unwrap(),
            Request::Get {
                query: "channel=C1&limit=2".into()
            }
        );
        assert!(matches!(
            encode("conversations.open", &json!({"users": "U1"})).unwrap(),
            Request::Post {
                content_type: CONTENT_TYPE_FORM,
                ..
            }
        ));
        assert!(matches!(
            encode("chat.update", &json!({"channel": "C1"})).unwrap(),
            Request::Post {
                content_type: CONTENT_TYPE_JSON,
                ..
            }
        ));
        assert!(matches!(
            encode("chat.update", &json!([1])),
            Err(Error::Config(_))
        ));
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
    fn method_names_are_checked() {
        assert!(check_method("chat.postMessage").is_ok());
        assert!(check_method("admin.users.session.reset").is_ok());
        assert!(check_method("").is_err());
        assert!(check_method("chat.postMessage?x=1").is_err());
        assert!(check_method("../x").is_err());
    }
}
