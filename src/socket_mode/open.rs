//! `apps.connections.open`, the call that hands out Socket Mode websocket URLs: its name, the
//! answers no retry can fix, and the `debug_reconnects` URL. Free of I/O.

/// The Web API method that hands out Socket Mode websocket URLs.
pub const OPEN_METHOD: &str = "apps.connections.open";

/// The `apps.connections.open` (Socket Mode) error codes that no retry can fix: one call, then
/// the error. Authentication and permission failures, retired methods and malformed requests;
/// every other `ok:false` code (`ratelimited`, `internal_error`, `accesslimited`,
/// `org_login_required`, ...), HTTP 429 and 5xx, network errors and an answer without `url` are
/// retried with backoff.
pub const OPEN_FATAL_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "missing_args",
    "is_bot",
    "forbidden_team",
    "access_denied",
    "ekm_access_denied",
    "two_factor_setup_required",
    "enterprise_is_restricted",
    "user_removed_from_team",
    "team_disabled",
    "method_deprecated",
    "deprecated_endpoint",
    "insecure_request",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_json",
    "json_not_object",
    "unknown_method",
];

/// Whether an `apps.connections.open` error code is fatal (see [`OPEN_FATAL_CODES`]).
pub fn is_fatal_open_code(code: &str) -> bool {
    OPEN_FATAL_CODES.contains(&code)
}

/// Whether an `apps.connections.open` answer with this HTTP status and error code ends the
/// client at once (what [`Error::is_fatal`](crate::Error::is_fatal) says for it): HTTP 401, 403
/// and 404, and the codes of [`OPEN_FATAL_CODES`]; never a 429.
pub(crate) fn is_fatal_open_answer(status: u16, code: &str) -> bool {
    status != 429 && (matches!(status, 401 | 403 | 404) || is_fatal_open_code(code))
}

/// The websocket URL with `debug_reconnects=true` appended (Slack then refreshes the connection
/// after about 360 s instead of about 5 h). The rest of the URL is left as it is.
pub(crate) fn with_debug_reconnects(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}debug_reconnects=true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_reconnects_is_appended() {
        assert_eq!(
            with_debug_reconnects("wss://x/link/?ticket=1&app_id=2"),
            "wss://x/link/?ticket=1&app_id=2&debug_reconnects=true"
        );
        assert_eq!(
            with_debug_reconnects("ws://x/link"),
            "ws://x/link?debug_reconnects=true"
        );
    }

    #[test]
    fn open_answers_no_retry_can_fix() {
        assert!(is_fatal_open_answer(200, "invalid_auth"));
        assert!(is_fatal_open_answer(200, "missing_args"));
        assert!(!is_fatal_open_answer(200, "accesslimited"));
        assert!(is_fatal_open_answer(401, "http_401"));
        assert!(is_fatal_open_answer(404, "http_404"));
        // A 429 is never fatal, whatever its code.
        assert!(!is_fatal_open_answer(429, "invalid_auth"));
        assert!(!is_fatal_open_answer(503, "http_503"));
    }
}
