//! Slack's request signature, version `v0`: HMAC-SHA256 with the app's signing secret over
//! `v0:{X-Slack-Request-Timestamp}:{raw body}`, hex, prefixed `v0=`, in `X-Slack-Signature`.
//!
//! [`verify`] checks the raw bytes before anything parses them, compares in constant time, and
//! refuses timestamps more than [`MAX_SKEW`] off in **either** direction (several SDKs accept
//! any timestamp from the future). [`sign`] makes the header value, for tests and the fake.
//!
//! ```
//! use slack_rtm::app::signature::{sign, verify};
//! let body = b"token=x&command=%2Fdeploy";
//! let sig = sign("8f742231b10e8888abcd99yyyzzz85a5", 1_531_420_618, body);
//! assert!(verify("8f742231b10e8888abcd99yyyzzz85a5", Some("1531420618"), Some(&sig), body, 1_531_420_700).is_ok());
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from the receiver's clock, either way: 300 s, as Slack
/// documents.
pub const MAX_SKEW: u64 = 300;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// The header that carries the request's Unix timestamp.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";

/// Why a request's signature was refused (every case answers 401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// No signing secret is configured (an empty secret verifies nothing).
    NoSecret,
    /// `X-Slack-Request-Timestamp` is missing.
    MissingTimestamp,
    /// `X-Slack-Request-Timestamp` is not a decimal Unix time.
    MalformedTimestamp,
    /// The timestamp is more than [`MAX_SKEW`] seconds in the past or the future.
    StaleTimestamp,
    /// `X-Slack-Signature` is missing.
    MissingSignature,
    /// `X-Slack-Signature` is not `v0=` and 64 hex digits.
    MalformedSignature,
    /// The signature does not match the body.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::NoSecret => "no signing secret is configured",
            SignatureError::MissingTimestamp => "missing X-Slack-Request-Timestamp",
            SignatureError::MalformedTimestamp => "malformed X-Slack-Request-Timestamp",
            SignatureError::StaleTimestamp => {
                "X-Slack-Request-Timestamp is more than 300 s from this host's clock"
            }
            SignatureError::MissingSignature => "missing X-Slack-Signature",
            SignatureError::MalformedSignature => "malformed X-Slack-Signature",
            SignatureError::Mismatch => "X-Slack-Signature does not match the body",
        })
    }
}

impl std::error::Error for SignatureError {}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value (`v0=` + 64 hex digits) for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    let mut out = String::with_capacity(67);
    out.push_str("v0=");
    for b in tag.iter() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Checks a request: `timestamp` and `signature` are the header values (`None` when absent),
/// `body` the raw bytes, `now` this host's Unix time in seconds.
///
/// # Errors
///
/// The first rule the request breaks, in this order: no secret, missing or malformed timestamp,
/// a timestamp more than [`MAX_SKEW`] off either way, missing or malformed signature, mismatch.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let ts_text = timestamp.ok_or(SignatureError::MissingTimestamp)?.trim();
    if ts_text.is_empty() || !ts_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    let ts: u64 = ts_text
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)?;
    if ts.abs_diff(now) > MAX_SKEW {
        return Err(SignatureError::StaleTimestamp);
    }
    let sig = signature.ok_or(SignatureError::MissingSignature)?.trim();
    let hex = sig
        .strip_prefix("v0=")
        .ok_or(SignatureError::MalformedSignature)?;
    let tag = unhex(hex).ok_or(SignatureError::MalformedSignature)?;
    mac(secret, ts_text, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

/// This host's Unix time in seconds (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_vector() {
        assert_eq!(sign(SECRET, 1_531_420_618, BODY), SIG);
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), BODY, 1_531_420_618),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let now = 1_531_420_618;
        let v = |ts: Option<&str>, sig: Option<&str>, body: &[u8], now: u64| {
            verify(SECRET, ts, sig, body, now)
        };
        assert_eq!(
            verify("", Some(TS), Some(SIG), BODY, now),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            v(None, Some(SIG), BODY, now),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            v(Some("-5"), Some(SIG), BODY, now),
            Err(SignatureError::MalformedTimestamp)
        );
        assert_eq!(
            v(Some("1e9"), Some(SIG), BODY, now),
            Err(SignatureError::MalformedTimestamp)
        );
        assert_eq!(
            v(Some(TS), Some(SIG), BODY, now + 301),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(
            v(Some(TS), Some(SIG), BODY, now - 301),
            Err(SignatureError::StaleTimestamp)
        );
        assert_eq!(v(Some(TS), Some(SIG), BODY, now + 300), Ok(()));
        assert_eq!(
            v(Some(TS), None, BODY, now),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            v(Some(TS), Some(&SIG[3..]), BODY, now),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(
            v(Some(TS), Some(&SIG[..66]), BODY, now),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(
            v(Some(TS), Some(&format!("v1={}", &SIG[3..])), BODY, now),
            Err(SignatureError::MalformedSignature)
        );
        let mut wrong = SIG.to_owned();
        wrong.replace_range(66.., "4");
        assert_eq!(
            v(Some(TS), Some(&wrong), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v(Some(TS), Some(SIG), b"token=other", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v(Some("1531420619"), Some(SIG), BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", Some(TS), Some(SIG), BODY, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn more_refusals_at_the_edges() {
        let now = 1_531_420_618;
        let v = |ts: Option<&str>, sig: Option<&str>| verify(SECRET, ts, sig, BODY, now);
        // Both edges of the window are inside it.
        assert_eq!(verify(SECRET, Some(TS), Some(SIG), BODY, now - 300), Ok(()));
        for ts in [
            "",
            "   ",
            "99999999999999999999999",
            "1531420618.5",
            "0x5b47",
        ] {
            assert_eq!(
                v(Some(ts), Some(SIG)),
                Err(SignatureError::MalformedTimestamp),
                "{ts:?}"
            );
        }
        let non_hex = format!("v0={}", "z".repeat(64));
        let too_long = format!("{SIG}0");
        let upper_prefix = SIG.replacen("v0=", "V0=", 1);
        for sig in [
            "",
            "v0=",
            non_hex.as_str(),
            too_long.as_str(),
            upper_prefix.as_str(),
        ] {
            assert_eq!(
                v(Some(TS), Some(sig)),
                Err(SignatureError::MalformedSignature),
                "{sig:?}"
            );
        }
    }
}
