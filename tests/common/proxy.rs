//! One HTTP CONNECT proxy for every test that needs one (the library's tests and the CLI's,
//! which include this file by path): reads the request head, records it, then tunnels, refuses,
//! waits or stays silent, as the caller decides from the head.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

/// What the proxy does with a `CONNECT`.
#[allow(dead_code)] // each test file uses a different subset
pub enum Answer {
    /// Tunnel to the target.
    Tunnel,
    /// Tunnel after this delay.
    After(Duration),
    /// Write this answer (e.g. a `407`) and close.
    Refuse(String),
    /// Say nothing, holding the socket open until the client gives up.
    Silent,
}

/// Serves one proxy connection: the head goes to `heads`, then `decide` picks the answer.
pub fn tunnel(
    mut client: TcpStream,
    heads: &Mutex<Vec<String>>,
    decide: impl FnOnce(&str) -> Answer,
) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    // Byte by byte: nothing past the head is read, so nothing of the tunnel is held back.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    heads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(head.clone());
    match decide(&head) {
        Answer::Refuse(answer) => {
            let _ = client.write_all(answer.as_bytes());
            return;
        }
        Answer::Silent => {
            let _ = client.set_read_timeout(None);
            let _ = client.read(&mut [0u8; 1]);
            return;
        }
        Answer::After(delay) => std::thread::sleep(delay),
        Answer::Tunnel => {}
    }
    let target = head
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split_whitespace().next());
    let Some(target) = target else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let Ok(upstream) = TcpStream::connect(target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = client.set_read_timeout(None);
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(Shutdown::Write);
    });
    let mut upstream = upstream;
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// The port a `CONNECT host:port` head targets.
#[allow(dead_code)] // each test file uses a different subset
pub fn target_port(head: &str) -> Option<u16> {
    head.split_whitespace()
        .nth(1)?
        .rsplit(':')
        .next()?
        .parse()
        .ok()
}
