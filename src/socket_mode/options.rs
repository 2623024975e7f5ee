//! The Socket Mode options' defaults and checks (the builder runs them in `build()`): the app
//! token, `connections(n)`, the keepalive and the ack deadline. Free of I/O.

use std::time::Duration;

use crate::error::Error;

/// Default interval between the client's websocket ping frames.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);
/// Default silence after which a Socket Mode connection counts as dead (any inbound frame,
/// Slack's own pings included, counts as life).
pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(20);
/// The shortest accepted pong timeout: shorter ones produce false disconnects on ordinary links.
pub const MIN_PONG_TIMEOUT: Duration = Duration::from_secs(5);
/// Most sockets Slack allows one app (across all its instances).
pub const MAX_CONNECTIONS: usize = 10;

/// Checks that `token` is an app-level token (`xapp-…`). The message never contains the token.
pub(crate) fn check_app_token(token: &str) -> Result<(), Error> {
    let token = token.trim();
    let why = if token.starts_with("xapp-") {
        return Ok(());
    } else if token.is_empty() {
        "the app token is empty: Socket Mode connects with an app-level token (xapp-...) that has \
         the connections:write scope"
    } else if token.starts_with("xoxb-") {
        "a bot token (xoxb-...) was given as the app token: Socket Mode connects with an \
         app-level token (xapp-...); pass the bot token to bot_token() for Web API calls"
    } else if token.starts_with("xoxp-") {
        "a user token (xoxp-...) was given as the app token: Socket Mode connects with an \
         app-level token (xapp-...)"
    } else {
        "the app token must be an app-level token starting with xapp- (made in the app's Basic \
         Information page, scope connections:write)"
    };
    Err(Error::Config(why.to_owned()))
}

/// Checks `connections(n)`: 1 to [`MAX_CONNECTIONS`].
pub(crate) fn check_connections(n: usize) -> Result<(), Error> {
    if (1..=MAX_CONNECTIONS).contains(&n) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "connections must be between 1 and {MAX_CONNECTIONS} (Slack's cap per app), not {n}"
        )))
    }
}

/// Checks the keepalive options: a non-zero ping interval and a pong timeout of at least
/// [`MIN_PONG_TIMEOUT`].
pub(crate) fn check_keepalive(
    ping_interval: Duration,
    pong_timeout: Duration,
) -> Result<(), Error> {
    if ping_interval.is_zero() {
        return Err(Error::Config(
            "ping_interval must be greater than zero".into(),
        ));
    }
    if pong_timeout < MIN_PONG_TIMEOUT {
        return Err(Error::Config(format!(
            "pong_timeout must be at least {} s (shorter ones drop healthy connections), not {} ms",
            MIN_PONG_TIMEOUT.as_secs(),
            pong_timeout.as_millis()
        )));
    }
    Ok(())
}

/// Checks `ack_deadline`: above zero and below Slack's 3 s limit.
pub(crate) fn check_ack_deadline(deadline: Duration) -> Result<(), Error> {
    if deadline.is_zero() || deadline >= Duration::from_secs(3) {
        return Err(Error::Config(format!(
            "ack_deadline must be above 0 and below Slack's 3 s limit, not {} ms",
            deadline.as_millis()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn only_app_tokens_pass_and_the_message_never_shows_the_token() {
        assert!(check_app_token("xapp-1-A0-123-abc").is_ok());
        let cases = [
            ("", "empty"),
            ("xoxb-123-secret", "bot token (xoxb-...)"),
            ("xoxp-123-secret", "user token (xoxp-...)"),
            ("abc-secret", "must be an app-level token"),
        ];
        for (token, expected) in cases {
            let err = check_app_token(token).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{token:?}: {text}");
            assert!(!text.contains("secret"), "{text}");
            assert!(err.is_fatal());
        }
        assert!(check_app_token("xoxb-1")
            .unwrap_err()
            .to_string()
            .contains("bot_token()"));
    }

    #[test]
    fn option_checks() {
        assert!(check_connections(1).is_ok());
        assert!(check_connections(10).is_ok());
        assert!(check_connections(0).is_err());
        assert!(check_connections(11)
            .unwrap_err()
            .to_string()
            .contains("between 1 and 10"));
        assert!(check_keepalive(10 * S, 20 * S).is_ok());
        assert!(check_keepalive(10 * S, 5 * S).is_ok());
        assert!(check_keepalive(Duration::ZERO, 20 * S).is_err());
        assert!(check_keepalive(S, Duration::from_millis(4999))
            .unwrap_err()
            .to_string()
            .contains("at least 5 s"));
        assert!(check_ack_deadline(Duration::from_millis(2500)).is_ok());
        assert!(check_ack_deadline(Duration::ZERO).is_err());
        assert!(check_ack_deadline(3 * S).is_err());
    }
}
