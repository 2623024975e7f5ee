//! An explicit HTTP proxy carries both the Web API and the websocket through `CONNECT`, with
//! `Proxy-Authorization: Basic` from the (percent-decoded) URL credentials; a 407 is a typed
//! error that never shows the credentials.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use slack_rtm::Error;

/// A loopback CONNECT proxy that records each request head and tunnels (or answers `refuse`).
struct Proxy {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

fn proxy(refuse: Option<&'static str>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h = heads.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let h = h.clone();
            std::thread::spawn(move || tunnel(client, h, refuse));
        }
    });
    Proxy { port, heads }
}

fn tunnel(client: TcpStream, heads: Arc<Mutex<Vec<String>>>, refuse: Option<&str>) {
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    heads.lock().unwrap().push(head.clone());
    let mut client_w = client.try_clone().unwrap();
    if let Some(answer) = refuse {
        let _ = client_w.write_all(answer.as_bytes());
        return;
    }
    let target = head.split_whitespace().nth(1).unwrap().to_string();
    let upstream = TcpStream::connect(target).unwrap();
    client_w
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let mut up_w = upstream.try_clone().unwrap();
    let mut up_r = upstream;
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut client_w);
        let _ = client_w.shutdown(Shutdown::Both);
    });
    // Bytes the BufReader already holds belong to the tunnel too.
    let buffered = reader.buffer().to_vec();
    let _ = up_w.write_all(&buffered);
    let mut rest = reader.into_inner();
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = rest.read(&mut buf) {
        if n == 0 || up_w.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = up_w.shutdown(Shutdown::Both);
    let _ = t.join();
}

#[test]
fn web_api_and_websocket_both_tunnel_through_the_proxy_with_credentials() {
    let fake = fake();
    let p = proxy(None);
    let client = builder(&fake)
        .proxy(&format!("http://bot%40corp:p%3Ass@127.0.0.1:{}", p.port))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    running.stop();
    running.join().unwrap();

    let heads = p.heads.lock().unwrap().clone();
    let fake_port = fake.addr().port();
    let connects: Vec<_> = heads
        .iter()
        .filter(|h| h.starts_with(&format!("CONNECT 127.0.0.1:{fake_port} ")))
        .collect();
    assert!(
        connects.len() >= 2,
        "rtm.connect and the websocket both use the proxy: {heads:?}"
    );
    // base64("bot@corp:p:ss")
    for h in connects {
        assert!(
            h.contains("Proxy-Authorization: Basic Ym90QGNvcnA6cDpzcw=="),
            "{h}"
        );
    }
}

#[test]
fn a_407_is_a_proxy_error_without_credentials() {
    let fake = fake();
    let p = proxy(Some(
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    ));
    let client = builder(&fake)
        .proxy(&format!("http://user:hunter2@127.0.0.1:{}", p.port))
        .auto_reconnect(false)
        .build()
        .unwrap();
    let err = client.start().unwrap_err();
    assert!(
        matches!(err, Error::Proxy { .. } | Error::Http(_)),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(fake.calls_to("rtm.connect"), 0);
}
