//! The HTTP `CONNECT` tunnel through a proxy. Which proxy a URL uses (no I/O) is decided in
//! `config::net`, for the Web API and the websocket alike.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use base64::Engine as _;

use crate::error::{Error, Phase};

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
