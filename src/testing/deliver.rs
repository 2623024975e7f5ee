//! HTTP delivery: the fake POSTs signed requests shaped as Slack's (Events API JSON,
//! interactivity `payload=` forms, slash-command forms) to an app's request URL, and reports
//! each answer with its latency. Nothing here uses the library: the signature is computed with
//! `hmac` and `sha2` directly, the requests go out through `ureq`.

use std::io;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use sha2::Sha256;

use super::{Delivered, Delivery, FakeSlack};

/// The `User-Agent` Slack's request deliveries carry.
pub const SLACK_USER_AGENT: &str = "Slackbot 1.0 (+https://api.slack.com/robots)";

/// The `X-Slack-Signature` value (`v0=` and 64 hex digits) of `body` sent at `timestamp` (Unix
/// seconds) for an app with this signing secret, as Slack computes it: HMAC-SHA256 over
/// `v0:{timestamp}:{body}`.
///
/// ```
/// use slack_rtm::testing::sign;
/// // Slack's published example.
/// let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
/// assert_eq!(
///     sign("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body),
///     "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
/// );
/// ```
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(67);
    out.push_str("v0=");
    for b in tag.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What `application/x-www-form-urlencoded` leaves as is (space becomes `+` separately).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'*')
    .remove(b' ');

/// A form value encoded as browsers and Slack do (`/` → `%2F`, space → `+`).
pub fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, FORM)
        .to_string()
        .replace(' ', "+")
}

/// A slash command's form fields in the order Slack sends them.
const COMMAND_FIELDS: [&str; 13] = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
];

/// One answer from the app.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The response body (lossily decoded as UTF-8).
    pub body: String,
    /// From the first byte of the request written to the whole answer read.
    pub latency: Duration,
}

impl HttpAnswer {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The answer as a JSON object: `{"status":..,"body":..,"latency_ms":..}` (what
    /// `slack-rtm serve --deliver` prints).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "status": self.status,
            "body": self.body,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
        })
    }
}

/// Delivers Slack's HTTP requests to one app, from [`FakeSlack::http_delivery`]: each method
/// builds the request Slack would send (with the fake's team, user, channel and a
/// `response_url` on the fake), signs it with the current time, POSTs it over a kept-alive
/// connection and returns the answer.
pub struct HttpDelivery<'a> {
    fake: &'a FakeSlack,
    url: String,
    secret: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpDelivery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDelivery")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl FakeSlack {
    /// Delivers requests to the app listening at `url` (`http://127.0.0.1:3000/slack/events`),
    /// signed with `signing_secret`.
    pub fn http_delivery(&self, url: &str, signing_secret: &str) -> HttpDelivery<'_> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .proxy(None)
            .user_agent(SLACK_USER_AGENT)
            .build()
            .into();
        HttpDelivery {
            fake: self,
            url: url.to_owned(),
            secret: signing_secret.to_owned(),
            agent,
        }
    }

    /// The JSON body Slack POSTs for `event` (an `event_callback` with a fresh `event_id`).
    pub fn event_body(&self, event: Value) -> String {
        self.event_callback(event).to_string()
    }

    /// The form body Slack POSTs for the slash command `command` (`/deploy`) with `text`, from
    /// the fake user in `#general`, fields in Slack's order.
    pub fn slash_command_body(&self, command: &str, text: &str) -> String {
        command_form(&self.slash_command_payload(command, text))
    }
}

/// A slash command's fields as a form: Slack's fields in Slack's order, then any others.
pub(crate) fn command_form(payload: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut fields: Vec<String> = COMMAND_FIELDS
        .iter()
        .filter(|f| payload.get(**f).is_some())
        .map(|f| format!("{f}={}", form_encode(&text(&payload[*f]))))
        .collect();
    if let Some(map) = payload.as_object() {
        for (k, v) in map {
            if !COMMAND_FIELDS.contains(&k.as_str()) {
                fields.push(format!("{}={}", form_encode(k), form_encode(&text(v))));
            }
        }
    }
    fields.join("&")
}

/// The form body Slack POSTs for an interaction: one `payload` field holding the JSON.
pub fn interactive_body(payload: &Value) -> String {
    format!("payload={}", form_encode(&payload.to_string()))
}

impl HttpDelivery<'_> {
    /// POSTs what a user did (the [`Delivery`] shapes of Socket Mode tests: a command, a
    /// click, a modal submission, a message, any event), built by [`FakeSlack::payload`], as
    /// Slack sends it over HTTP. Returns what was built (`response_url`, `trigger_id`, ids) and
    /// the answer.
    ///
    /// # Errors
    ///
    /// As [`HttpDelivery::event`].
    pub fn deliver(&self, delivery: &Delivery) -> io::Result<(Delivered, HttpAnswer)> {
        let built = self.fake.payload(delivery);
        let (content_type, body) = match built.envelope_type.as_str() {
            "events_api" => ("application/json", built.payload.to_string()),
            "slash_commands" => (
                "application/x-www-form-urlencoded",
                command_form(&built.payload),
            ),
            _ => (
                "application/x-www-form-urlencoded",
                interactive_body(&built.payload),
            ),
        };
        let answer = self.post(content_type, body.as_bytes(), &[])?;
        Ok((built, answer))
    }

    /// POSTs an Events API `event` (wrapped in `event_callback`) as `application/json`.
    ///
    /// # Errors
    ///
    /// When the app cannot be reached or its answer cannot be read.
    pub fn event(&self, event: Value) -> io::Result<HttpAnswer> {
        let body = self.fake.event_body(event);
        self.post("application/json", body.as_bytes(), &[])
    }

    /// POSTs the slash command `command` with `text` as a form.
    ///
    /// # Errors
    ///
    /// As [`HttpDelivery::event`].
    pub fn slash_command(&self, command: &str, text: &str) -> io::Result<HttpAnswer> {
        let body = self.fake.slash_command_body(command, text);
        self.post("application/x-www-form-urlencoded", body.as_bytes(), &[])
    }

    /// POSTs an interaction `payload` (`block_actions`, `view_submission`, `shortcut`, ...) as
    /// a `payload=` form.
    ///
    /// # Errors
    ///
    /// As [`HttpDelivery::event`].
    pub fn interactive(&self, payload: &Value) -> io::Result<HttpAnswer> {
        let body = interactive_body(payload);
        self.post("application/x-www-form-urlencoded", body.as_bytes(), &[])
    }

    /// POSTs `body` with this content type, signed with the current time, plus `headers`
    /// (`X-Slack-Retry-Num`, ...).
    ///
    /// # Errors
    ///
    /// As [`HttpDelivery::event`].
    pub fn post(
        &self,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> io::Result<HttpAnswer> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.post_at(now, content_type, body, headers)
    }

    /// [`post`](HttpDelivery::post) signed as sent at `timestamp` (Unix seconds): a stale or
    /// future request.
    ///
    /// # Errors
    ///
    /// As [`HttpDelivery::event`].
    pub fn post_at(
        &self,
        timestamp: u64,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> io::Result<HttpAnswer> {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", content_type)
            .header("Accept", "*/*")
            .header("X-Slack-Request-Timestamp", &timestamp.to_string())
            .header("X-Slack-Signature", &sign(&self.secret, timestamp, body));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let started = Instant::now();
        let mut resp = req.send(body).map_err(io::Error::other)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(io::Error::other)?;
        Ok(HttpAnswer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            latency: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slacks_published_vector() {
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            sign("8f742231b10e8888abcd99yyyzzz85a5", 1_531_420_618, body),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    #[test]
    fn form_encoding_as_slack() {
        assert_eq!(form_encode("/webhook-collect"), "%2Fwebhook-collect");
        assert_eq!(form_encode("a b&c=d+e"), "a+b%26c%3Dd%2Be");
        assert_eq!(form_encode("https://x/y"), "https%3A%2F%2Fx%2Fy");
        assert_eq!(form_encode("é"), "%C3%A9");
    }
}
