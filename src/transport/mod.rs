//! Opening and using the websocket: TCP connect → optional proxy `CONNECT` → TLS for `wss://`
//! → websocket handshake, each phase bounded by the configured timeout. This is the only code
//! that knows sockets.

pub(crate) mod proxy;
pub(crate) mod stream;

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::Uri;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Message, Utf8Bytes, WebSocket};

use crate::config::NetConfig;
use crate::error::{Error, Phase};
use stream::{WireStream, WsStream};

/// One frame received from the server.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A text frame (a complete message; fragments are joined by tungstenite).
    Text(Utf8Bytes),
    /// A binary frame; RTM never sends one. Only its length is kept.
    Binary(usize),
}

/// How a connection ended, as seen by the decoder.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The server closed (close frame and/or end of stream).
    Closed { code: Option<u16>, reason: String },
    /// A protocol or I/O error: the connection is unusable.
    Failed(Error),
}

/// An open websocket. Shared by the reader (which feeds it bytes) and every sender.
#[derive(Debug)]
pub(crate) struct Connection {
    ws: Mutex<WebSocket<WsStream>>,
    ctl: TcpStream,
}

/// Where to connect, parsed from a `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub uri: Uri,
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::Url("the websocket url cannot be parsed".into()))?;
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => {
                return Err(Error::Url(
                    "the websocket url must start with ws:// or wss://".into(),
                ))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| Error::Url("the websocket url has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Target {
            uri,
            tls,
            host,
            port,
        })
    }
}

/// Connects to the websocket at `url`. Returns the shared connection and the socket the reader
/// thread reads from (its read timeout set to `read_tick`).
pub(crate) fn open(
    url: &str,
    net: &NetConfig,
    max_message_size: usize,
    read_tick: Duration,
) -> Result<(Connection, TcpStream), Error> {
    let target = Target::parse(url)?;
    let timeout = net.timeout;
    let proxy = proxy::proxy_for(net.proxy.as_ref(), &target.uri);

    let sock = match &proxy {
        Some(p) => {
            let mut s = tcp_connect(p.host(), p.port(), timeout)?;
            log::debug!(
                "tunnelling to {}:{} through a proxy",
                target.host,
                target.port
            );
            proxy::tunnel(
                &mut s,
                p,
                &target.host,
                target.port,
                Instant::now() + timeout,
            )?;
            s
        }
        None => tcp_connect(&target.host, target.port, timeout)?,
    };
    let io = |phase| move |e| Error::io(phase, e);
    sock.set_nodelay(true).map_err(io(Phase::Connect))?;
    sock.set_write_timeout(Some(timeout))
        .map_err(io(Phase::Connect))?;
    let ctl = sock.try_clone().map_err(io(Phase::Connect))?;
    let reader = sock.try_clone().map_err(io(Phase::Connect))?;

    let mut wire = WireStream::new(sock);
    let stream = if target.tls {
        wire.set_direct(Some(Instant::now() + timeout));
        let connector = net.tls.native_connector()?;
        let started = Instant::now();
        match connector.connect(&target.host, wire) {
            Ok(s) => WsStream::Tls(Box::new(s)),
            Err(native_tls::HandshakeError::Failure(e)) => {
                if started.elapsed() >= timeout {
                    return Err(Error::Timeout { phase: Phase::Tls });
                }
                return Err(Error::Tls {
                    host: target.host.clone(),
                    reason: e.to_string(),
                });
            }
            Err(native_tls::HandshakeError::WouldBlock(_)) => {
                return Err(Error::Timeout { phase: Phase::Tls })
            }
        }
    } else {
        WsStream::Plain(wire)
    };

    let mut stream = stream;
    stream.wire_mut().set_direct(Some(Instant::now() + timeout));
    let request = target
        .uri
        .to_string()
        .into_client_request()
        .map_err(|e| Error::Url(format!("the websocket url is not usable: {e}")))?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size));
    let mut ws = match tungstenite::client::client_with_config(request, stream, Some(config)) {
        Ok((ws, _response)) => ws,
        Err(HandshakeError::Failure(e)) => return Err(handshake_error(e)),
        Err(HandshakeError::Interrupted(_)) => {
            return Err(Error::Timeout {
                phase: Phase::Handshake,
            })
        }
    };
    ws.get_mut().wire_mut().set_direct(None);
    reader
        .set_read_timeout(Some(read_tick))
        .map_err(io(Phase::Read))?;
    Ok((
        Connection {
            ws: Mutex::new(ws),
            ctl,
        },
        reader,
    ))
}

fn handshake_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Io(e) => Error::io(Phase::Handshake, e),
        tungstenite::Error::Http(resp) => Error::WebSocket(format!(
            "the server refused the upgrade with http {}",
            resp.status().as_u16()
        )),
        other => Error::WebSocket(other.to_string()),
    }
}

/// Resolves `host` and connects to the first address that answers, within `timeout` overall.
fn tcp_connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::io(Phase::Connect, e))?
        .collect();
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                phase: Phase::Connect,
            });
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Error::io(Phase::Connect, e),
        None => Error::Io {
            phase: Phase::Connect,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{host} resolved to no address"),
            ),
        },
    })
}

impl Connection {
    fn lock(&self) -> MutexGuard<'_, WebSocket<WsStream>> {
        self.ws.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one text frame; it is on the wire when this returns.
    pub(crate) fn send_text(&self, text: String) -> Result<(), Error> {
        self.lock()
            .send(Message::text(text))
            .map_err(|e| ws_error(Phase::Write, e))
    }

    /// Feeds bytes read from the socket and decodes every complete frame into `out`; `eof`
    /// marks the end of the socket's input. Called with no bytes right after the handshake,
    /// it decodes frames that arrived together with the handshake answer. `Err` means the
    /// connection is over.
    pub(crate) fn decode(
        &self,
        bytes: &[u8],
        eof: bool,
        out: &mut Vec<Frame>,
    ) -> Result<(), Ended> {
        let mut ws = self.lock();
        ws.get_mut().wire_mut().feed(bytes);
        if eof {
            ws.get_mut().wire_mut().feed_eof();
        }
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => out.push(Frame::Text(t)),
                Ok(Message::Binary(b)) => out.push(Frame::Binary(b.len())),
                Ok(Message::Ping(_)) | Ok(Message::Pong(_)) | Ok(Message::Frame(_)) => {}
                Ok(Message::Close(frame)) => {
                    // tungstenite queued the close reply; send it and report the end.
                    let _ = ws.flush();
                    return Err(match frame {
                        Some(f) => Ended::Closed {
                            code: Some(u16::from(f.code)),
                            reason: if f.reason.is_empty() {
                                "closed by the server".into()
                            } else {
                                f.reason.to_string()
                            },
                        },
                        None => Ended::Closed {
                            code: None,
                            reason: "closed by the server".into(),
                        },
                    });
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // Pending control replies (pong, close echo) go out now.
                    return match ws.flush() {
                        Ok(()) => Ok(()),
                        Err(tungstenite::Error::Io(e))
                            if e.kind() == std::io::ErrorKind::WouldBlock =>
                        {
                            Ok(())
                        }
                        Err(tungstenite::Error::ConnectionClosed) => Err(Ended::closed()),
                        Err(e) => Err(Ended::Failed(ws_error(Phase::Write, e))),
                    };
                }
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => return Err(Ended::closed()),
                Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )) => {
                    return Err(Ended::Closed {
                        code: None,
                        reason: "the connection was closed without a close frame".into(),
                    })
                }
                Err(e) => return Err(Ended::Failed(ws_error(Phase::Read, e))),
            }
        }
    }

    /// Starts the closing handshake (best effort, bounded by the write timeout).
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let mut ws = self.lock();
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        if let Err(e) = ws.close(Some(frame)) {
            log::debug!("sending the close frame failed: {e}");
        }
        let _ = ws.flush();
    }

    /// Ends the socket's read side so a blocked read returns at once; writes (the close frame)
    /// still work.
    pub(crate) fn wake_reader(&self) {
        let _ = self.ctl.shutdown(Shutdown::Read);
    }

    /// Drops the connection hard: no close handshake, the reader sees the end at once.
    pub(crate) fn kill(&self) {
        let _ = self.ctl.shutdown(Shutdown::Both);
    }
}

impl Ended {
    fn closed() -> Ended {
        Ended::Closed {
            code: None,
            reason: "closed by the server".into(),
        }
    }
}

fn ws_error(phase: Phase, e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Io(e) => Error::io(phase, e),
        tungstenite::Error::Capacity(c) => Error::WebSocket(format!("message too large: {c}")),
        other => Error::WebSocket(other.to_string()),
    }
}

/// Reads what the socket has, up to `buf.len()`. `Ok(None)` is the read tick (nothing arrived).
pub(crate) fn read_socket(sock: &mut TcpStream, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    match sock.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(Error::io(Phase::Read, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_chosen_by_scheme_not_port() {
        let t = Target::parse("wss://example.com:80/ws").unwrap();
        assert!(t.tls);
        assert_eq!(t.port, 80);
        let t = Target::parse("ws://example.com:443/ws").unwrap();
        assert!(!t.tls);
        let t = Target::parse("wss://wss-primary.slack.com/websocket/abc").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("wss-primary.slack.com", 443));
        assert!(Target::parse("http://example.com/").is_err());
    }
}
