//! The stream that TLS and tungstenite run over.
//!
//! Reads come from an in-memory buffer that the reader thread fills from the socket; when the
//! buffer is empty the stream answers `WouldBlock`, so a decoder under the connection lock never
//! waits on the network. Writes go straight to the socket, under that same lock, so a send leaves
//! at once and TLS records are never reordered. During the handshakes the stream reads the socket
//! directly, bounded by the phase's deadline.
//!
//! Every write is bounded as a whole, not per system call: a peer that drains a byte now and
//! then cannot stretch a write past its deadline (the phase's during a handshake, one write
//! timeout for a frame, see [`WireStream::begin_write`]).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A socket whose read side is an in-memory buffer (see the module docs).
#[derive(Debug)]
pub(crate) struct WireStream {
    sock: TcpStream,
    inbuf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// While set, reads go to the socket directly and fail with `TimedOut` past this instant.
    direct_until: Option<Instant>,
    /// The bound on one write when no deadline is set.
    write_timeout: Duration,
    /// While set, writes fail with `TimedOut` past this instant.
    write_deadline: Option<Instant>,
    /// The write timeout the socket is configured with now.
    sock_write_timeout: Duration,
}

impl WireStream {
    /// Wraps `sock`; each write finishes within `write_timeout` (or the deadline in force).
    pub(crate) fn new(sock: TcpStream, write_timeout: Duration) -> io::Result<WireStream> {
        sock.set_write_timeout(Some(write_timeout))?;
        Ok(WireStream {
            sock,
            inbuf: Vec::new(),
            pos: 0,
            eof: false,
            direct_until: None,
            write_timeout,
            write_deadline: None,
            sock_write_timeout: write_timeout,
        })
    }

    /// Reads the socket directly until `deadline` (handshakes), or from the buffer (`None`).
    /// Writes meanwhile must also finish by `deadline`.
    pub(crate) fn set_direct(&mut self, deadline: Option<Instant>) {
        self.direct_until = deadline;
        self.write_deadline = deadline;
    }

    /// Starts one logical write (a frame, maybe several TLS records): everything written until
    /// [`end_write`](Self::end_write) must be on the wire within the write timeout.
    pub(crate) fn begin_write(&mut self) {
        self.write_deadline = Some(Instant::now() + self.write_timeout);
    }

    /// Ends the logical write started by [`begin_write`](Self::begin_write).
    pub(crate) fn end_write(&mut self) {
        self.write_deadline = None;
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
        // Blocking, until all of `buf` is written or the deadline passes. A timeout must not
        // look like `WouldBlock`, which the protocol layers would take as "try again later".
        let deadline = self
            .write_deadline
            .unwrap_or_else(|| Instant::now() + self.write_timeout);
        let mut rest = buf;
        while !rest.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            // The socket keeps the full write timeout while at most a tenth of it is spent (no
            // system call on the common path); past that it gets what is left.
            let wanted = if left >= self.write_timeout - self.write_timeout / 10 {
                self.write_timeout
            } else {
                left
            };
            if wanted != self.sock_write_timeout {
                self.sock.set_write_timeout(Some(wanted))?;
                self.sock_write_timeout = wanted;
            }
            match self.sock.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(timed_out(e)),
            }
        }
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
        let mut w = WireStream::new(a, Duration::from_secs(5)).unwrap();
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
        let mut w = WireStream::new(a, Duration::from_secs(5)).unwrap();
        w.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[test]
    fn direct_reads_time_out_at_the_deadline() {
        let (a, _b) = pair();
        let mut w = WireStream::new(a, Duration::from_secs(5)).unwrap();
        w.set_direct(Some(Instant::now() + Duration::from_millis(50)));
        let mut buf = [0u8; 4];
        let started = Instant::now();
        assert_eq!(
            w.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_write_is_bounded_as_a_whole_even_when_the_peer_trickles() {
        // The peer drains 64 KiB every 20 ms: every system call makes progress, so only a
        // bound on the whole write stops a 64 MiB write early.
        let (a, mut b) = pair();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let peer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                b.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = b.read(&mut buf);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let mut w = WireStream::new(a, Duration::from_millis(300)).unwrap();
        let big = vec![b'x'; 64 << 20];
        let started = Instant::now();
        w.begin_write();
        let err = w.write(&big).unwrap_err();
        w.end_write();
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        peer.join().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }
}
