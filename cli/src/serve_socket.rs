//! `serve`'s Socket Mode side: the stdin commands that deliver envelopes to one Socket Mode
//! connection (`!event`, `!command`, `!interactive`, `!disconnect`), and `--frames`.

use std::io::Write;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;
use slack_rtm::testing::FakeSlack;

/// How long after a `disconnect` (other than `warning`) the fake closes the socket.
const CLOSE_AFTER: Duration = Duration::from_secs(1);

/// Carries out a Socket Mode stdin command. `None` when `line` is not one (its first word is not
/// `!event`, `!command`, `!interactive` or `!disconnect`); otherwise what was done, or why the
/// line was refused.
pub fn command(server: &FakeSlack, line: &str) -> Option<Result<String, String>> {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let result = match word {
        "!event" => event(server, rest),
        "!command" => slash_command(server, rest),
        "!interactive" => interactive(server, rest),
        "!disconnect" => disconnect(server, rest),
        _ => return None,
    };
    Some(result)
}

/// Where an envelope goes: "for a Socket Mode connection", or queued until one says hello.
fn destination(server: &FakeSlack) -> &'static str {
    if !server.wait_for_socket_ready(1, Duration::ZERO) {
        "queued until a Socket Mode connection says hello"
    } else {
        "sent to one Socket Mode connection"
    }
}

fn object(text: &str, what: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(format!("{what} must be a JSON object")),
        Err(e) => Err(format!("{what} is not JSON ({e})")),
    }
}

fn event(server: &FakeSlack, rest: &str) -> Result<String, String> {
    let event = object(rest, "!event needs an Events API event, which")?;
    if !event.get("type").is_some_and(Value::is_string) {
        return Err("!event needs an event with a string \"type\"".into());
    }
    let id = server.send_event(event);
    Ok(format!("events_api envelope {id} {}", destination(server)))
}

fn slash_command(server: &FakeSlack, rest: &str) -> Result<String, String> {
    let (name, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !name.starts_with('/') || name.len() < 2 {
        return Err(format!(
            "!command needs a command name starting with /, got {name:?}"
        ));
    }
    let id = server.send_slash_command(name, text.trim());
    Ok(format!(
        "slash_commands envelope {id} {}",
        destination(server)
    ))
}

fn interactive(server: &FakeSlack, rest: &str) -> Result<String, String> {
    let payload = object(rest, "!interactive needs an interaction payload, which")?;
    let Some(kind) = payload.get("type").and_then(Value::as_str) else {
        return Err(
            "!interactive needs a payload with a string \"type\" (block_actions, ...)".into(),
        );
    };
    // Slack lets these answer through the ack; shortcuts and closed views do not.
    let accepts = !matches!(kind, "shortcut" | "message_action" | "view_closed");
    let id = server.send_envelope("interactive", payload, accepts);
    Ok(format!("interactive envelope {id} {}", destination(server)))
}

fn disconnect(server: &FakeSlack, rest: &str) -> Result<String, String> {
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!(
            "!disconnect needs one reason (warning, refresh_requested, link_disabled, \
             too_many_websockets, ...), got {rest:?}"
        ));
    }
    let Some(conn) = server.socket_connection_ids().last().copied() else {
        return Err("no Socket Mode connection is open".into());
    };
    let sent = if rest == "warning" {
        server.send_socket_disconnect(conn, rest)
    } else {
        server.disconnect_socket(conn, rest, CLOSE_AFTER)
    };
    if !sent {
        return Err(format!("Socket Mode connection {conn} has just closed"));
    }
    Ok(if rest == "warning" {
        format!("disconnect {rest} sent to Socket Mode connection {conn}")
    } else {
        format!(
            "disconnect {rest} sent to Socket Mode connection {conn}, closing it in {} s",
            CLOSE_AFTER.as_secs()
        )
    })
}

/// `--frames`: prints every traffic record as one JSON line on stdout, flushed, until the
/// server is dropped.
pub fn print_frames(traffic: Receiver<Value>) {
    for record in traffic {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{record}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}
