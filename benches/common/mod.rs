//! Shared by `benches/receive.rs` and `examples/bench.rs`: the flood events (the very files
//! `slack-rtm serve --bench` sends) and the single-thread, in-memory receive ceiling:
//! tungstenite decode + `serde_json::Value` parse + reading one field.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::time::Instant;

use serde_json::Value;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::{Role, WebSocket};
use tungstenite::Message;

/// The small flood event: a plain `message`, 184 bytes.
pub const SMALL: &str = include_str!("../events/small.json");
/// The large flood event: a `message` with `blocks`, 607 bytes.
pub const LARGE: &str = include_str!("../events/large.json");

/// A typed message in Slack's key order (`client_msg_id` first, `type` third, blocks),
/// 489 bytes.
pub const SLACK_SMALL: &str = include_str!("../events/slack-small.json");
/// The same with a longer text and richer blocks, 1,263 bytes.
pub const SLACK_LARGE: &str = include_str!("../events/slack-large.json");

/// Every flood event's size name, `type`-first ones then Slack-ordered ones.
pub const SIZES: [&str; 4] = ["small", "large", "slack-small", "slack-large"];

/// The event text of a size name (see [`SIZES`]), exactly as sent.
pub fn event(size: &str) -> &'static str {
    match size {
        "small" => SMALL.trim_ascii(),
        "large" => LARGE.trim_ascii(),
        "slack-small" => SLACK_SMALL.trim_ascii(),
        "slack-large" => SLACK_LARGE.trim_ascii(),
        other => panic!("unknown event size {other:?}"),
    }
}

/// `count` copies of `text` as server text frames (unmasked), exactly as they come off the wire.
pub fn wire(text: &str, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * (text.len() + 4));
    for _ in 0..count {
        Frame::message(text.as_bytes().to_vec(), OpCode::Data(Data::Text), true)
            .format(&mut out)
            .expect("writing to a Vec cannot fail");
    }
    out
}

/// What every benchmark handler does with an event, as real handlers do: read `text`.
pub fn touch(event: &Value) -> usize {
    event["text"].as_str().map_or(0, str::len)
}

/// A socket that replays bytes and swallows writes; its end is the end of the stream.
struct Replay<'a> {
    data: &'a [u8],
}

impl Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.data.read(buf)
    }
}

impl Write for Replay<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Decodes every frame of `wire` with tungstenite (client role, default configuration),
/// handing each text message to `each`; returns how many there were.
pub fn decode(wire: &[u8], mut each: impl FnMut(&str)) -> usize {
    let mut ws = WebSocket::from_raw_socket(Replay { data: wire }, Role::Client, None);
    let mut n = 0;
    // The end of the data ends the loop (tungstenite reports a reset without closing handshake).
    while let Ok(message) = ws.read() {
        if let Message::Text(text) = message {
            each(text.as_str());
            n += 1;
        }
    }
    n
}

/// The ceiling: decode + `Value` parse + [`touch`]; returns (events, bytes of `text` read).
pub fn decode_parse(wire: &[u8]) -> (usize, usize) {
    let mut touched = 0;
    let n = decode(wire, |text| {
        let value: Value = serde_json::from_str(text).expect("the events are valid JSON");
        touched += touch(&value);
    });
    (n, touched)
}

/// Events per second of [`decode_parse`] on one thread, over at least `events` events
/// (whole 10,000-frame buffers); the best of three rounds.
pub fn ceiling_eps(text: &str, events: usize) -> f64 {
    ceiling(text, events).0
}

/// [`ceiling_eps`], and the CPU time this thread spent per event in the same best round, in
/// microseconds (`None` where `/proc/thread-self/schedstat` cannot be read). On a shared
/// machine the events/s follow the CPU the thread was given; the CPU per event does not.
pub fn ceiling(text: &str, events: usize) -> (f64, Option<f64>) {
    const CHUNK: usize = 10_000;
    let wire = wire(text, CHUNK);
    let chunks = events.div_ceil(CHUNK).max(1);
    let mut best = (0.0f64, None);
    for _ in 0..3 {
        let cpu0 = thread_cpu_ns();
        let started = Instant::now();
        let mut n = 0;
        for _ in 0..chunks {
            n += std::hint::black_box(decode_parse(&wire)).0;
        }
        let eps = n as f64 / started.elapsed().as_secs_f64();
        let cpu = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) if n > 0 => Some((b - a) as f64 / 1000.0 / n as f64),
            _ => None,
        };
        if eps > best.0 {
            best = (eps, cpu);
        }
    }
    best
}

/// The CPU time this thread has run, in nanoseconds (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
