//! The stream that TLS and tungstenite run over.
//!
//! Reads come from an in-memory buffer that the reader thread fills from the socket; when the
//! buffer is empty the stream answers `WouldBlock`, so a decoder under the connection lock never
//! waits on the network. Writes go straight to the socket, under that same lock, so a send leaves
//! at once and TLS records are never reordered. During the handshakes the stream reads the socket
//! directly, bounded by the phase's deadline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// A socket whose read side is an in-memory buffer (see the module docs).
#[derive(Debug)]
pub(crate) struct WireStream {
    sock: TcpStream,
    inbuf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// While set, reads go to the socket directly and fail with `TimedOut` past this instant.
    direct_until: Option<Instant>,
}

impl WireStream {
    pub(crate) fn new(sock: TcpStream) -> WireStream {
        WireStream {
            sock,
            inbuf: Vec::new(),
            pos: 0,
            eof: false,
            direct_until: None,
        }
    }

    /// Reads the socket directly until `deadline` (handshakes), or from the buffer (`None`).
    pub(crate) fn set_direct(&mut self, deadline: Option<Instant>) {
        self.direct_until = deadline;
    }

    /// Appends bytes the reader thread read from the socket.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.pos == self.inbuf.len() {
            self.inbuf.clear();
            self.pos = 0;
        }
        self.inbuf.extend_from_slice(bytes);
    }

    /// Marks the end of the socket's input: once the buffer is drained, reads return `Ok(0)`.
    pub(crate) fn feed_eof(&mut self) {
        self.eof = true;
    }
}

impl Read for WireStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.inbuf.len() {
            let n = (self.inbuf.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.inbuf[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.inbuf.len() {
                self.inbuf.clear();
                self.pos = 0;
            }
            return Ok(n);
        }
        if let Some(deadline) = self.direct_until {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.sock.set_read_timeout(Some(left))?;
            return self.sock.read(buf).map_err(timed_out);
        }
        if self.eof {
            Ok(0)
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

impl Write for WireStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Blocking, bounded by the socket's write timeout. A timeout must not look like
        // `WouldBlock`, which the protocol layers would take as "try again later".
        self.sock.write_all(buf).map_err(timed_out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::ErrorKind::TimedOut.into()
    } else {
        e
    }
}

/// The websocket's byte stream: plain for `ws://`, TLS for `wss://`.
#[derive(Debug)]
pub(crate) enum WsStream {
    Plain(WireStream),
    Tls(Box<native_tls::TlsStream<WireStream>>),
}

impl WsStream {
    pub(crate) fn wire_mut(&mut self) -> &mut WireStream {
        match self {
            WsStream::Plain(w) => w,
            WsStream::Tls(t) => t.get_mut(),
        }
    }
}

impl Read for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            WsStream::Plain(w) => w.read(buf),
            WsStream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for WsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WsStream::Plain(w) => w.write(buf),
            WsStream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            WsStream::Plain(w) => w.flush(),
            WsStream::Tls(t) => t.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    #[test]
    fn empty_buffer_would_block_then_eof_reads_zero() {
        let (a, _b) = pair();
        let mut w = WireStream::new(a);
        let mut buf = [0u8; 8];
        assert_eq!(
            w.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        w.feed(b"abc");
        assert_eq!(w.read(&mut buf[..2]).unwrap(), 2);
        assert_eq!(w.read(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"c");
        w.feed_eof();
        assert_eq!(w.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn writes_reach_the_socket_at_once() {
        let (a, mut b) = pair();
        let mut w = WireStream::new(a);
        w.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[test]
    fn direct_reads_time_out_at_the_deadline() {
        let (a, _b) = pair();
        let mut w = WireStream::new(a);
        w.set_direct(Some(Instant::now() + std::time::Duration::from_millis(50)));
        let mut buf = [0u8; 4];
        let started = Instant::now();
        assert_eq!(
            w.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
