//! Soak: a million events through a hundred forced reconnects (clean closes and TCP drops,
//! alternately) arrive in order, none lost and none twice on each connection, and memory stays
//! bounded. Slow; run with `cargo test --release --test soak -- --ignored --nocapture`.

mod common;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use slack_rtm::Payload;

const RECONNECTS: u64 = 100;
/// Events per connection before each forced reconnect: 100 × 10,000 = 1,000,000 events (the
/// 101st connection only has to say hello).
const CHUNKS: u64 = 10;
const CHUNK: u64 = 1_000;
const ROUND: u64 = CHUNKS * CHUNK;
/// The handler's view, checked event by event.
///
/// Each connection gets its own sequence: round `r` (the connection's number, from 0) in
/// `CHUNKS` flood chunks `c` of `CHUNK` identical events `{"r":r,"c":c}`, then one
/// `{"type":"soak_end","r":r}`. Within a connection the chunks must arrive in order, each
/// exactly `CHUNK` times, and all of them before the end marker.
#[derive(Default)]
struct Soak {
    /// Connections opened so far (`open` events).
    opened: u64,
    closes: u64,
    /// The chunk being received on this connection, and how many of it so far.
    chunk: Option<u64>,
    in_chunk: u64,
    /// Events of the current round, and of the whole run.
    in_round: u64,
    total: u64,
    problems: Vec<String>,
}

impl Soak {
    fn problem(&mut self, p: String) {
        if self.problems.len() < 20 {
            self.problems.push(p);
        }
    }

    fn event(&mut self, data: &Value) {
        let (Some(r), Some(c)) = (data["r"].as_u64(), data["c"].as_u64()) else {
            self.problem(format!("not a soak event: {data}"));
            return;
        };
        self.total += 1;
        self.in_round += 1;
        let round = self.opened.saturating_sub(1);
        if r != round {
            self.problem(format!("event of round {r} on connection {round}"));
        }
        match self.chunk {
            Some(cur) if c == cur => {
                self.in_chunk += 1;
                if self.in_chunk > CHUNK {
                    self.problem(format!("round {r} chunk {c}: more than {CHUNK} events"));
                }
            }
            Some(cur) if c == cur + 1 => {
                if self.in_chunk != CHUNK {
                    self.problem(format!(
                        "round {r} chunk {cur}: {} of {CHUNK} events, then chunk {c}",
                        self.in_chunk
                    ));
                }
                self.chunk = Some(c);
                self.in_chunk = 1;
            }
            None if c == 0 => {
                self.chunk = Some(0);
                self.in_chunk = 1;
            }
            other => {
                self.problem(format!("round {r}: chunk {c} after {other:?}"));
                self.chunk = Some(c);
                self.in_chunk = 1;
            }
        }
    }

    /// The end marker of round `r`: everything before it must have arrived, once.
    fn end(&mut self, data: &Value) {
        let r = data["r"].as_u64();
        if r != Some(self.opened.saturating_sub(1)) {
            self.problem(format!(
                "end of round {r:?} on connection {}",
                self.opened - 1
            ));
        }
        if self.in_round != ROUND || self.chunk != Some(CHUNKS - 1) || self.in_chunk != CHUNK {
            self.problem(format!(
                "round {r:?} ended with {} events, chunk {:?} with {}",
                self.in_round, self.chunk, self.in_chunk
            ));
        }
    }

    fn open(&mut self) {
        self.opened += 1;
        self.chunk = None;
        self.in_chunk = 0;
        self.in_round = 0;
    }
}

/// Handlers never panic on a poisoned lock: the test thread reports the problems.
fn lock(s: &Mutex<Soak>) -> MutexGuard<'_, Soak> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn proc_status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    kib / 1024.0
}

#[test]
#[ignore = "soak: run with cargo test --release --test soak -- --ignored"]
fn a_million_events_through_a_hundred_reconnects() {
    let fake = fake();
    let client = builder(&fake)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .connect_rate(1000, Duration::from_millis(1))
        .ping_interval(Duration::from_millis(500))
        .build()
        .unwrap();
    let state = Arc::new(Mutex::new(Soak::default()));
    let (round_tx, round_done) = crossbeam_channel::unbounded::<u64>();
    let (hello_tx, hellos) = crossbeam_channel::unbounded::<()>();
    let s = state.clone();
    client.on("soak", move |p: &Payload| lock(&s).event(p.data));
    let s = state.clone();
    client.on("soak_end", move |p: &Payload| {
        let mut s = lock(&s);
        s.end(p.data);
        let _ = round_tx.send(s.opened - 1);
    });
    let s = state.clone();
    client.on("open", move |_: &Payload| lock(&s).open());
    let s = state.clone();
    client.on("close", move |_: &Payload| lock(&s).closes += 1);
    client.on("hello", move |_: &Payload| {
        let _ = hello_tx.send(());
    });
    let (error_tx, errors) = crossbeam_channel::unbounded::<Value>();
    client.on("error", move |p: &Payload| {
        let _ = error_tx.send(p.data.clone());
    });

    let started = Instant::now();
    let running = client.spawn().unwrap();
    hellos.recv_timeout(SOON).expect("the first hello");
    let rss_start = proc_status_mib("VmRSS");
    println!("soak: RSS at start {rss_start:.1} MiB");
    let pad = "x".repeat(40);
    for round in 0..RECONNECTS {
        for c in 0..CHUNKS {
            let text = json!({"type": "soak", "r": round, "c": c, "pad": pad}).to_string();
            assert_eq!(fake.flood(&text, CHUNK as usize), 1, "round {round}");
        }
        fake.send_json(&json!({"type": "soak_end", "r": round}));
        let done = round_done.recv_timeout(Duration::from_secs(60));
        {
            let s = lock(&state);
            assert!(s.problems.is_empty(), "round {round}: {:?}", s.problems);
            assert_eq!(
                done,
                Ok(round),
                "round {round}: {} events so far",
                s.in_round
            );
        }
        if round % 2 == 0 {
            fake.close_all(1012, "soak restart");
        } else {
            fake.drop_all();
        }
        hellos
            .recv_timeout(SOON)
            .unwrap_or_else(|_| panic!("no hello after reconnect {}", round + 1));
        // The old connection is gone: the next flood reaches the new one only.
        assert!(
            fake.wait_for_open(1, SOON),
            "round {round}: old connection lingers"
        );
        if round % 10 == 9 {
            println!(
                "soak: {} reconnects, {} events, RSS {:.1} MiB, {:.1} s",
                round + 1,
                (round + 1) * ROUND,
                proc_status_mib("VmRSS"),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed();
    running.stop();
    join_within(running, SOON).0.unwrap();
    let rss_end = proc_status_mib("VmRSS");
    let peak = proc_status_mib("VmHWM");
    let s = lock(&state);
    let total_events = RECONNECTS * ROUND;
    println!(
        "soak: {} events, {} reconnects in {:.1} s ({:.0} events/s); RSS start {rss_start:.1} MiB, \
         end {rss_end:.1} MiB, peak {peak:.1} MiB",
        s.total,
        s.closes.saturating_sub(1),
        elapsed.as_secs_f64(),
        s.total as f64 / elapsed.as_secs_f64()
    );
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    assert_eq!(s.total, total_events);
    assert_eq!(
        s.in_round, 0,
        "events on the last connection, which got none"
    );
    assert_eq!(s.opened, RECONNECTS + 1);
    assert_eq!(
        s.closes,
        RECONNECTS + 1,
        "one close per connection, the last at stop"
    );
    assert_eq!(fake.connections_total(), RECONNECTS + 1);
    assert_eq!(fake.calls_to("rtm.connect") as u64, RECONNECTS + 1);
    let errors: Vec<Value> = errors.try_iter().collect();
    assert!(errors.is_empty(), "unexpected error events: {errors:?}");
    assert!(rss_end < 200.0, "RSS at the end: {rss_end:.1} MiB");
    assert!(peak < 200.0, "peak RSS: {peak:.1} MiB");
}
