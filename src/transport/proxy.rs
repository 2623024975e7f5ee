//! HTTP `CONNECT` proxies: which proxy a URL uses, and the tunnel itself.
//!
//! ureq's [`ureq::Proxy`] parses proxy URLs and the proxy environment variables; this module
//! makes the one decision (explicit proxy, else the environment unless `NO_PROXY` exempts the
//! host) that both the Web API and the websocket follow.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use base64::Engine as _;
use tungstenite::http::Uri;

use crate::error::{Error, Phase};

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

/// Opens a `CONNECT host:port` tunnel through an already connected proxy socket.
pub(crate) fn tunnel(
    sock: &mut TcpStream,
    proxy: &ureq::Proxy,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<(), Error> {
    let io = |e| Error::io(Phase::Proxy, e);
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    // As ureq does: credentials when the URL has a user or a password.
    if proxy.username().is_some() || proxy.password().is_some() {
        let creds = format!(
            "{}:{}",
            proxy.username().unwrap_or(""),
            proxy.password().unwrap_or("")
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(creds);
        req.push_str(&format!("Proxy-Authorization: Basic {b64}\r\n"));
    }
    req.push_str("\r\n");
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout {
            phase: Phase::Proxy,
        });
    }
    sock.set_write_timeout(Some(left)).map_err(io)?;
    sock.write_all(req.as_bytes()).map_err(io)?;

    // Read the answer head byte by byte so no tunnelled byte is consumed.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                phase: Phase::Proxy,
            });
        }
        sock.set_read_timeout(Some(left)).map_err(io)?;
        match sock.read(&mut byte).map_err(io)? {
            0 => {
                return Err(Error::Proxy {
                    reason: "the proxy closed the connection during CONNECT".into(),
                })
            }
            _ => head.push(byte[0]),
        }
        if head.len() > 16 * 1024 {
            return Err(Error::Proxy {
                reason: "the proxy's CONNECT answer is too large".into(),
            });
        }
    }
    let status_line = head
        .split(|&b| b == b'\r')
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(()),
        Some(407) => Err(Error::Proxy {
            reason: "407 proxy authentication required".into(),
        }),
        Some(code) => Err(Error::Proxy {
            reason: format!("CONNECT answered {code}"),
        }),
        None => Err(Error::Proxy {
            reason: "the proxy did not answer CONNECT with HTTP".into(),
        }),
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
}
