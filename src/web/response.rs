//! What came back: [`SlackResponse`], turning an HTTP answer into data or an [`Error::Api`],
//! mapping ureq's errors, and sorting failures for the retry policy.

use std::time::Duration;

use serde_json::Value;

use super::retry::Failure;
use crate::error::{Cause, Error, Phase};

/// The largest response body read, 16 MiB.
pub(crate) const MAX_BODY: u64 = 16 << 20;

/// A successful Web API answer: HTTP 2xx with `"ok": true`.
#[derive(Debug, Clone)]
pub struct SlackResponse {
    data: Value,
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
}

impl SlackResponse {
    pub(crate) fn new(data: Value, status: u16, headers: Vec<(String, String)>) -> SlackResponse {
        SlackResponse {
            data,
            status,
            headers,
        }
    }

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

    /// Slack's `response_metadata.messages` (warnings such as `[WARN] superfluous_charset`),
    /// empty when there are none.
    pub fn response_messages(&self) -> Vec<&str> {
        response_messages(&self.data)
    }

    /// `response_metadata.next_cursor`, when present and not empty: the cursor of the next
    /// page of a paginated method.
    pub fn next_cursor(&self) -> Option<&str> {
        next_cursor(&self.data)
    }
}

/// `response_metadata.messages` of a body.
pub(crate) fn response_messages(body: &Value) -> Vec<&str> {
    body.pointer("/response_metadata/messages")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `response_metadata.next_cursor`, when present and not empty.
pub(crate) fn next_cursor(data: &Value) -> Option<&str> {
    data.get("response_metadata")?
        .get("next_cursor")?
        .as_str()
        .filter(|c| !c.is_empty())
}

/// Turns an HTTP answer into Slack's data or an [`Error::Api`].
pub(crate) fn interpret(
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

/// The `method` of errors from [`WebClient::post_response_url`](super::WebClient::post_response_url).
pub(crate) const RESPONSE_URL: &str = "response_url";

/// Reads the answer of a `response_url` (or an incoming webhook): Slack answers `ok` as text on
/// success and an error code as text with a 4xx status (`expired_url`, `no_text`,
/// `invalid_blocks`, …); JSON answers are read like Web API answers, except that a 2xx JSON
/// answer without `"ok": false` is a success.
pub(crate) fn interpret_hook(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<Value, Error> {
    let success = (200..300).contains(&status);
    if let Some(json) = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
    {
        if success && json.get("ok") != Some(&Value::Bool(false)) {
            return Ok(json);
        }
        return interpret(RESPONSE_URL, status, retry_after, body);
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    if success {
        return Ok(serde_json::json!({"ok": true, "body": text}));
    }
    let is_code = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let code = if is_code {
        text.clone()
    } else {
        format!("http_{status}")
    };
    Err(Error::Api {
        method: RESPONSE_URL.to_string(),
        status,
        code,
        body: Value::String(text),
        retry_after: retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs),
    })
}

/// Sorts an [`Error::Api`] for the retry policy: rate limited (HTTP 429 or a `ratelimited`
/// code), a server error (5xx), or final.
pub(crate) fn classify_answer(e: Error) -> Failure {
    match &e {
        Error::Api {
            status,
            code,
            retry_after,
            ..
        } => {
            let retry_after = *retry_after;
            if *status == 429 || code == "ratelimited" || code == "rate_limited" {
                Failure::RateLimited(e, retry_after)
            } else if (500..600).contains(status) {
                Failure::Server(e, retry_after)
            } else {
                Failure::Final(e)
            }
        }
        _ => Failure::Final(e),
    }
}

/// Maps a ureq error to the crate's error, sorted for the retry policy: did the request
/// possibly reach Slack? ureq errors carry neither headers nor bodies, so no token can leak
/// through them; proxy URLs are never included.
pub(crate) fn map_ureq_error(e: ureq::Error, host: &str) -> Failure {
    use std::io::ErrorKind as K;
    let tls = |reason: String, cause: Cause| Error::tls(host.to_string(), reason, Some(cause));
    let http = |reason: String, cause: ureq::Error| Error::Http {
        reason,
        source: Some(Box::new(cause)),
    };
    match e {
        ureq::Error::Timeout(t) => {
            let err = Error::Timeout { phase: Phase::Http };
            match t {
                ureq::Timeout::Resolve | ureq::Timeout::Connect => Failure::BeforeSend(err),
                _ => Failure::AfterSend(err),
            }
        }
        ureq::Error::Io(e) => match crate::tls::tls_layer_error(&e) {
            Some(reason) => Failure::BeforeSend(tls(reason, Box::new(e))),
            None => match e.kind() {
                K::ConnectionRefused
                | K::AddrNotAvailable
                | K::NetworkUnreachable
                | K::HostUnreachable => Failure::BeforeSend(Error::io(Phase::Http, e)),
                _ => Failure::AfterSend(Error::io(Phase::Http, e)),
            },
        },
        ureq::Error::Tls(reason) => {
            Failure::BeforeSend(Error::tls(host.to_string(), reason.to_string(), None))
        }
        ureq::Error::NativeTls(e) => Failure::BeforeSend(tls(e.to_string(), Box::new(e))),
        e @ ureq::Error::Der(_) => {
            Failure::Final(tls(format!("bad certificate or key: {e}"), Box::new(e)))
        }
        e @ ureq::Error::Pem(_) => Failure::Final(tls(format!("bad PEM: {e}"), Box::new(e))),
        ureq::Error::TlsRequired => Failure::Final(Error::tls(
            host.to_string(),
            "the transport is not TLS secured".into(),
            None,
        )),
        ureq::Error::ConnectProxyFailed(reason) => Failure::BeforeSend(Error::Proxy { reason }),
        ureq::Error::InvalidProxyUrl => Failure::Final(Error::Proxy {
            reason: "invalid proxy url".into(),
        }),
        e @ ureq::Error::HostNotFound => {
            Failure::BeforeSend(http(format!("host not found: {host}"), e))
        }
        ureq::Error::BadUri(_) => Failure::Final(Error::Url(format!(
            "the base url and method do not form a valid url (host {host})"
        ))),
        e @ ureq::Error::BodyExceedsLimit(_) => Failure::Final(http(
            format!("the response body is larger than {} MiB", MAX_BODY >> 20),
            e,
        )),
        other => Failure::AfterSend(http(other.to_string(), other)),
    }
}

pub(crate) fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_url_answers() {
        let ok = |status, body: &[u8]| interpret_hook(status, None, body).unwrap();
        let err = |status, body: &[u8]| match interpret_hook(status, Some("7"), body) {
            Err(Error::Api {
                method,
                status,
                code,
                retry_after,
                ..
            }) => {
                assert_eq!(method, RESPONSE_URL);
                (status, code, retry_after)
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            ok(200, b"ok"),
            serde_json::json!({"ok": true, "body": "ok"})
        );
        assert_eq!(ok(200, b""), serde_json::json!({"ok": true, "body": ""}));
        assert_eq!(ok(200, br#"{"ok":true}"#), serde_json::json!({"ok": true}));
        assert_eq!(ok(204, br#"{"x":1}"#), serde_json::json!({"x": 1}));
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            err(404, b"expired_url\n"),
            (404, "expired_url".into(), secs(7))
        );
        assert_eq!(err(400, b"no_text"), (400, "no_text".into(), secs(7)));
        assert_eq!(
            err(200, br#"{"ok":false,"error":"invalid_blocks"}"#),
            (200, "invalid_blocks".into(), secs(7))
        );
        // Not a code: the status says it.
        assert_eq!(
            err(500, b"<html>oops</html>"),
            (500, "http_500".into(), secs(7))
        );
        assert_eq!(err(302, b""), (302, "http_302".into(), secs(7)));
        assert_eq!(err(400, b"[1]"), (400, "http_400".into(), secs(7)));
        assert!(matches!(
            classify_answer(interpret_hook(429, Some("3"), b"rate_limited").unwrap_err()),
            Failure::RateLimited(_, Some(d)) if d == Duration::from_secs(3)
        ));
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
        assert!(matches!(
            classify_answer(e),
            Failure::RateLimited(_, Some(d)) if d == Duration::from_secs(7)
        ));

        let e = interpret("rtm.connect", 503, None, b"<html>down</html>").unwrap_err();
        match &e {
            Error::Api { code, body, .. } => {
                assert_eq!(code, "http_503");
                assert_eq!(body, &Value::String("<html>down</html>".into()));
            }
            other => panic!("{other:?}"),
        }
        assert!(e.is_retryable());
        assert!(matches!(classify_answer(e), Failure::Server(_, None)));

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
        assert!(matches!(classify_answer(e), Failure::Final(_)));

        // ratelimited with HTTP 200 is a rate limit too.
        let e = interpret("x.y", 200, None, br#"{"ok":false,"error":"ratelimited"}"#).unwrap_err();
        assert!(matches!(classify_answer(e), Failure::RateLimited(_, None)));
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
    fn response_messages_are_reachable() {
        let body = serde_json::json!({"ok": false, "error": "invalid_blocks",
            "response_metadata": {"messages": ["[ERROR] no more than 50 items allowed"]}});
        assert_eq!(
            response_messages(&body),
            vec!["[ERROR] no more than 50 items allowed"]
        );
        let r = SlackResponse::new(
            serde_json::json!({"ok": true, "response_metadata": {"next_cursor": "c2"}}),
            200,
            Vec::new(),
        );
        assert!(r.response_messages().is_empty());
        assert_eq!(r.next_cursor(), Some("c2"));
    }

    #[test]
    fn ureq_errors_are_mapped_and_sorted() {
        let host = "slack.com";
        let m = |e| map_ureq_error(e, host);
        assert!(matches!(
            m(ureq::Error::Timeout(ureq::Timeout::Global)),
            Failure::AfterSend(Error::Timeout { phase: Phase::Http })
        ));
        assert!(matches!(
            m(ureq::Error::Timeout(ureq::Timeout::Connect)),
            Failure::BeforeSend(Error::Timeout { phase: Phase::Http })
        ));
        assert!(matches!(
            m(ureq::Error::Io(std::io::ErrorKind::TimedOut.into())),
            Failure::AfterSend(Error::Timeout { phase: Phase::Http })
        ));
        assert!(matches!(
            m(ureq::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into()
            )),
            Failure::BeforeSend(Error::Io {
                phase: Phase::Http,
                ..
            })
        ));
        assert!(matches!(
            m(ureq::Error::Io(std::io::ErrorKind::ConnectionReset.into())),
            Failure::AfterSend(Error::Io { .. })
        ));
        match m(ureq::Error::Tls("bad cert")) {
            Failure::BeforeSend(Error::Tls { host, reason, .. }) => {
                assert_eq!(host, "slack.com");
                assert_eq!(reason, "bad cert");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            m(ureq::Error::ConnectProxyFailed(
                "proxy server responded 407/407".into()
            )),
            Failure::BeforeSend(Error::Proxy { .. })
        ));
        let tls_io = std::io::Error::other("handshake failure");
        match m(ureq::Error::Io(tls_io)) {
            Failure::BeforeSend(e @ Error::Tls { .. }) => {
                assert!(std::error::Error::source(&e).is_some(), "{e:?}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            m(ureq::Error::HostNotFound),
            Failure::BeforeSend(e @ Error::Http { .. }) if std::error::Error::source(&e).is_some()
        ));
    }
}
