//! Hand-made servers for faults the fake Slack does not script, and deadlines for joins.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use slack_rtm::{Error, Running};

use super::SOON;

/// Joins `running` on a helper thread, failing the test if it takes longer than `limit`
/// (a stop that deadlocks fails instead of hanging CI). Returns the result and the time taken.
pub fn join_within(running: Running, limit: Duration) -> (Result<(), Error>, Duration) {
    let started = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let _ = tx.send(running.join());
    });
    match rx.recv_timeout(limit) {
        Ok(r) => (r, started.elapsed()),
        Err(_) => panic!("join did not return within {limit:?}"),
    }
}

/// Reads one HTTP request (head and body); `None` when the peer went away.
pub fn read_request(s: &mut TcpStream) -> Option<String> {
    s.set_read_timeout(Some(SOON)).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(head)
}

/// A Web API that answers every request with `{"ok":true,"url":ws_url}`.
pub struct Api {
    pub url: String,
    pub port: u16,
    /// When each answer was written.
    pub answered: Arc<Mutex<Vec<Instant>>>,
}

impl Api {
    pub fn last_answer(&self) -> Option<Instant> {
        self.answered.lock().unwrap().last().copied()
    }

    pub fn calls(&self) -> usize {
        self.answered.lock().unwrap().len()
    }
}

pub fn api_with_url(ws_url: String) -> Api {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered = Arc::new(Mutex::new(Vec::new()));
    let record = answered.clone();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let (url, record) = (ws_url.clone(), record.clone());
            thread::spawn(move || {
                if read_request(&mut s).is_none() {
                    return;
                }
                let body = json!({
                    "ok": true,
                    "url": url,
                    "self": {"id": "U1", "name": "bot"},
                    "team": {"id": "T1", "name": "Team", "domain": "team"},
                })
                .to_string();
                let written = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                if written.is_ok() {
                    record.lock().unwrap().push(Instant::now());
                }
            });
        }
    });
    Api {
        url: format!("http://127.0.0.1:{port}/api/"),
        port,
        answered,
    }
}

/// A websocket server on loopback that runs `script` on each accepted connection (on its own
/// thread). Returns its `ws://` URL.
pub fn ws_server<F>(script: F) -> String
where
    F: Fn(tungstenite::WebSocket<TcpStream>) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = Arc::new(script);
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            let script = script.clone();
            thread::spawn(move || {
                if let Ok(ws) = tungstenite::accept(s) {
                    script(ws);
                }
            });
        }
    });
    format!("ws://127.0.0.1:{port}/websocket")
}
