//! `serve --deliver URL`: the stdin commands `!event`, `!command` and `!interactive` POSTed to an
//! app in HTTP mode, signed as Slack signs them; each answer printed as one JSON line.

use serde_json::{json, Value};
use slack_rtm::testing::HttpDelivery;

/// Where `--deliver` sends and with which secret.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    pub secret: String,
}

/// Checks `--deliver URL` and the signing secret (the flag, else `SLACK_SIGNING_SECRET`).
pub fn target(url: Option<String>, secret: Option<String>) -> Result<Option<Target>, String> {
    if url.is_none() && secret.is_some() {
        // Accepted and ignored, it would let a user believe the fake checks or signs something.
        return Err(
            "--signing-secret only applies with --deliver URL (the app's request URL)".into(),
        );
    }
    let secret = secret.or_else(|| {
        std::env::var("SLACK_SIGNING_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
    });
    match (url, secret) {
        (None, _) => Ok(None),
        (Some(url), _) if !(url.starts_with("http://") || url.starts_with("https://")) => Err(
            format!("--deliver needs an http:// or https:// URL, got {url:?}"),
        ),
        (Some(_), None) => Err(
            "--deliver needs the app's signing secret: --signing-secret S or SLACK_SIGNING_SECRET"
                .into(),
        ),
        (Some(_), Some(secret)) if secret.is_empty() => {
            Err("--signing-secret must not be empty".into())
        }
        (Some(url), Some(secret)) => Ok(Some(Target { url, secret })),
    }
}

fn object(text: &str, what: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(format!("{what} must be a JSON object")),
        Err(e) => Err(format!("{what} is not JSON ({e})")),
    }
}

/// Carries out a stdin line for `--deliver`. `None` when its first word is not `!event`,
/// `!command` or `!interactive`; else the JSON line to print (the answer, or the delivery error),
/// or why the line was refused.
pub fn command(delivery: &HttpDelivery<'_>, line: &str) -> Option<Result<String, String>> {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let sent = match word {
        "!event" => object(rest, "!event needs an Events API event, which").and_then(|event| {
            if event.get("type").is_some_and(Value::is_string) {
                Ok(delivery.event(event))
            } else {
                Err("!event needs an event with a string \"type\"".into())
            }
        }),
        "!command" => {
            let (name, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if !name.starts_with('/') || name.len() < 2 {
                Err(format!(
                    "!command needs a command name starting with /, got {name:?}"
                ))
            } else {
                Ok(delivery.slash_command(name, text.trim()))
            }
        }
        "!interactive" => object(rest, "!interactive needs an interaction payload, which")
            .and_then(|payload| {
                if payload.get("type").is_some_and(Value::is_string) {
                    Ok(delivery.interactive(&payload))
                } else {
                    Err(
                        "!interactive needs a payload with a string \"type\" (block_actions, ...)"
                            .into(),
                    )
                }
            }),
        _ => return None,
    };
    Some(sent.map(|answer| match answer {
        // In the documented order (`status` first), which a JSON map would sort away.
        Ok(answer) => {
            let a = answer.to_json();
            format!(
                "{{\"status\":{},\"body\":{},\"latency_ms\":{}}}",
                a["status"], a["body"], a["latency_ms"]
            )
        }
        Err(e) => json!({ "error": e.to_string() }).to_string(),
    }))
}
