//! Network choices that need no I/O: the longest bound a phase gets, which headers a caller may
//! add, and which HTTP proxy a URL uses (explicit, else the environment unless `NO_PROXY`
//! exempts the host). The Web API and the websocket both follow these; the proxy tunnel itself
//! (I/O) lives in `transport::proxy`.

use std::borrow::Cow;
use std::time::Duration;

use tungstenite::http::Uri;

use crate::error::Error;

/// The longest bound a phase gets, in the Web API and on the websocket: a longer `timeout`
/// (`Duration::MAX` as "forever") is cut to this, so deadlines never overflow.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Headers that frame the request body or identify the caller: they are set per request and
/// cannot be added as custom headers.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
];

/// Whether `name` is one of the headers set per request.
pub(crate) fn is_reserved_header(name: &str) -> bool {
    RESERVED_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// Parses an explicit proxy URL. Only `http://` proxies are supported. Errors never echo the URL
/// (it may carry credentials).
pub(crate) fn parse_proxy(url: &str) -> Result<ureq::Proxy, Error> {
    let url = url.trim();
    if !url.to_ascii_lowercase().starts_with("http://") {
        return Err(Error::Config(
            "the proxy must be an http:// URL (http://[user:password@]host[:port])".into(),
        ));
    }
    let proxy = ureq::Proxy::new(url)
        .map_err(|_| Error::Config("the proxy URL cannot be parsed".into()))?;
    if proxy.protocol() != ureq::ProxyProtocol::Http {
        return Err(Error::Config("the proxy must be an http:// URL".into()));
    }
    Ok(proxy)
}

/// The proxy to use for `target`: the explicit one if given, else the one from the environment
/// (see [`env_proxy`]) unless `NO_PROXY` exempts the host.
pub(crate) fn proxy_for(explicit: Option<&ureq::Proxy>, target: &Uri) -> Option<ureq::Proxy> {
    if let Some(p) = explicit {
        return Some(p.clone());
    }
    env_proxy().filter(|p| !p.is_no_proxy(target))
}

/// The proxy from the environment, as ureq reads it: the first of `ALL_PROXY`, `all_proxy`,
/// `HTTPS_PROXY`, `https_proxy`, `HTTP_PROXY`, `http_proxy` that holds a proxy URL, whatever
/// the target's scheme, carrying `NO_PROXY`/`no_proxy` for the caller to apply per target.
///
/// Only `http://` proxies are supported: any other is ignored with a warning, on both paths
/// (the Web API is configured with this function's answer, not with ureq's default).
pub(crate) fn env_proxy() -> Option<ureq::Proxy> {
    let p = ureq::Proxy::try_from_env()?;
    if p.protocol() != ureq::ProxyProtocol::Http {
        log::warn!("ignoring the proxy from the environment: only http:// proxies are supported");
        return None;
    }
    Some(p)
}

/// A URL with any `user:password@` removed, for `Debug`.
pub(crate) fn redact_userinfo(url: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Cow::Borrowed(url);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => Cow::Owned(format!("{scheme}://<redacted>@{}", &rest[at + 1..])),
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_proxies_are_accepted_and_errors_hide_credentials() {
        assert!(parse_proxy("http://user:pa%40ss@127.0.0.1:3128").is_ok());
        let e = parse_proxy("socks5://user:secret@host:1080").unwrap_err();
        assert!(!e.to_string().contains("secret"));
        assert!(parse_proxy("https://host:1").is_err());
    }

    #[test]
    fn explicit_proxy_wins() {
        let p = parse_proxy("http://127.0.0.1:3128").unwrap();
        let target: Uri = "wss://example.com/ws".parse().unwrap();
        let chosen = proxy_for(Some(&p), &target).unwrap();
        assert_eq!(chosen.port(), 3128);
    }

    #[test]
    fn reserved_headers_are_recognised_in_any_case() {
        assert!(is_reserved_header("Content-Type"));
        assert!(is_reserved_header("AUTHORIZATION"));
        assert!(!is_reserved_header("X-Extra"));
    }
}
