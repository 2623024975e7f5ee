//! Byte streams used by the fake server: plain or TLS sockets, and a wrapper
//! that replays bytes already read while parsing an HTTP request head.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use native_tls::TlsStream;

/// One accepted client connection, plain TCP or TLS over TCP.
#[derive(Debug)]
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// The underlying TCP socket (for timeouts and peeking).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => tls.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(tls) => tls.flush(),
        }
    }
}

/// A stream that first yields `pending` bytes, then reads from `inner`.
///
/// The HTTP layer reads a request head before it knows that the request is a
/// websocket upgrade; this hands those bytes to tungstenite's handshake.
#[derive(Debug)]
pub(crate) struct Replay<S> {
    pending: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Replay<S> {
    pub fn new(pending: Vec<u8>, inner: S) -> Replay<S> {
        Replay {
            pending,
            pos: 0,
            inner,
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Read> Read for Replay<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.pending.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            if !self.pending.is_empty() {
                self.pending = Vec::new();
                self.pos = 0;
            }
            return self.inner.read(buf);
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl<S: Write> Write for Replay<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
