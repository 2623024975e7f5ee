//! The stream that TLS and tungstenite run over.
//!
//! Reads come from an in-memory buffer that the reader thread fills from the socket; when the
//! buffer is empty the stream answers `WouldBlock`, so a decoder under the connection lock never
//! waits on the network. Writes append to an ordered in-memory [`Outbound`] buffer, under that
//! same lock, so TLS records are never reordered and encoding never waits on the network either;
//! the bytes reach the socket under a separate writer lock (see `Connection::flush_out`), so a
//! peer that stops reading blocks only the thread that is writing, never the reader or a stop.
//! During the handshakes the stream reads and writes the socket directly, bounded by the phase's
//! deadline.
//!
//! Every socket write is bounded as a whole, not per system call: a peer that drains a byte now
//! and then cannot stretch a write past its deadline ([`write_all_until`]).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Encoded bytes waiting for the socket, in order. Appended to under the connection's short
/// lock; drained by whoever holds the writer lock.
#[derive(Debug, Default)]
pub(crate) struct Outbound {
    bytes: Mutex<VecDeque<u8>>,
}

impl Outbound {
    fn lock(&self) -> MutexGuard<'_, VecDeque<u8>> {
        self.bytes.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn push(&self, buf: &[u8]) {
        self.lock().extend(buf);
    }

    /// Copies up to `max` bytes from the front into `into` (cleared first), without removing
    /// them: only the writer removes, after the socket took them.
    pub(crate) fn peek(&self, into: &mut Vec<u8>, max: usize) {
        into.clear();
        let q = self.lock();
        let (a, b) = q.as_slices();
        let n = a.len().min(max);
        into.extend_from_slice(&a[..n]);
        let m = b.len().min(max - n);
        into.extend_from_slice(&b[..m]);
    }

    /// Removes `n` bytes from the front (the socket took them).
    pub(crate) fn consume(&self, n: usize) {
        let mut q = self.lock();
        let n = n.min(q.len());
        q.drain(..n);
        if q.is_empty() && q.capacity() > 1 << 20 {
            *q = VecDeque::new();
        }
    }
}

/// Writes all of `buf` to `sock` by `deadline`, whatever the peer's pace. Returns how much was
/// written when it fails. A timeout is `TimedOut`, never `WouldBlock` (which the protocol
/// layers would take as "try again later").
pub(crate) fn write_all_until(
    sock: &mut TcpStream,
    buf: &[u8],
    deadline: Instant,
    sock_timeout: &mut Duration,
) -> Result<(), (usize, io::Error)> {
    let mut done = 0;
    while done < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((done, io::ErrorKind::TimedOut.into()));
        }
        // Only touch the socket's timeout when it must shrink or has grown stale (no system
        // call on the common path).
        if left < *sock_timeout || left > *sock_timeout * 2 {
            if let Err(e) = sock.set_write_timeout(Some(left)) {
                return Err((done, e));
            }
            *sock_timeout = left;
        }
        match sock.write(&buf[done..]) {
            Ok(0) => return Err((done, io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((done, timed_out(e))),
        }
    }
    Ok(())
}

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
    /// Once set (after the handshakes), writes append here instead of going to the socket.
    out: Option<Arc<Outbound>>,
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
            out: None,
        })
    }

    /// From now on writes append to `out` (the handshakes are over).
    pub(crate) fn buffer_writes(&mut self, out: Arc<Outbound>) {
        self.out = Some(out);
    }

    /// Reads the socket directly until `deadline` (handshakes), or from the buffer (`None`).
    /// Writes meanwhile must also finish by `deadline`.
    pub(crate) fn set_direct(&mut self, deadline: Option<Instant>) {
        self.direct_until = deadline;
        self.write_deadline = deadline;
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
        if let Some(out) = &self.out {
            out.push(buf);
            return Ok(buf.len());
        }
        // The handshakes: straight to the socket, by the phase's deadline.
        let deadline = self
            .write_deadline
            .unwrap_or_else(|| Instant::now() + self.write_timeout);
        write_all_until(&mut self.sock, buf, deadline, &mut self.sock_write_timeout)
            .map_err(|(_, e)| e)?;
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
    fn handshake_writes_reach_the_socket_at_once_then_writes_are_buffered_in_order() {
        let (a, mut b) = pair();
        let mut w = WireStream::new(a, Duration::from_secs(5)).unwrap();
        w.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        let out = Arc::new(Outbound::default());
        w.buffer_writes(out.clone());
        w.write_all(b"ab").unwrap();
        w.write_all(b"cd").unwrap();
        let mut front = Vec::new();
        out.peek(&mut front, 3);
        assert_eq!(front, b"abc");
        out.consume(1);
        out.peek(&mut front, 10);
        assert_eq!(front, b"bcd");
        out.consume(10);
        assert!(out.is_empty());
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
        let big = vec![b'x'; 64 << 20];
        let started = Instant::now();
        let mut a = a;
        let mut t = Duration::from_secs(5);
        let deadline = started + Duration::from_millis(300);
        let (done, err) = write_all_until(&mut a, &big, deadline, &mut t).unwrap_err();
        assert!(done < big.len());
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
