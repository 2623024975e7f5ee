//! The receive path, in-process (`cargo bench -p slack-rtm-benches`; see BENCHMARKS.md).
//!
//! - `in_memory/{small,large}`: the single-core ceiling on the flood events of
//!   `slack-rtm serve --bench` — tungstenite decode + `serde_json::Value` parse + reading
//!   `text` (`decode_parse`), and its parts: `decode_only`, `parse_value` (the `Value` parse
//!   alone) and `parse_borrowed` (a borrowing struct instead of a `Value`, for comparison).
//! - `client_inprocess`: the whole client (public API) against an in-process `FakeSlack` over
//!   loopback: `flood/{small,large}` (events/s from the flood request to the handler's last
//!   count) and `round_trip` (server send → handler → `send_over_websocket` → server read).
//!   The fake shares the process and its cores here; `examples/bench.rs` runs it apart.

use std::borrow::Cow;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_channel::{Receiver, Sender};
use serde::Deserialize;
use serde_json::{json, Value};
use slack_rtm::testing::FakeSlack;
use slack_rtm::{Payload, RtmClient};

mod common;

/// Frames per in-memory iteration.
const FRAMES: usize = 10_000;
/// Events per in-process flood iteration.
const FLOOD: u64 = 20_000;

/// A handler's view of an event without a `Value`: what a typed-event API could borrow.
#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

fn in_memory(c: &mut Criterion) {
    for size in ["small", "large"] {
        let text = common::event(size);
        let wire = common::wire(text, FRAMES);
        let mut g = c.benchmark_group(format!("in_memory/{size}"));
        g.sample_size(30);
        g.measurement_time(Duration::from_secs(4));
        g.throughput(Throughput::Elements(FRAMES as u64));
        g.bench_function("decode_parse", |b| {
            b.iter(|| common::decode_parse(black_box(&wire)))
        });
        g.bench_function("decode_only", |b| {
            b.iter(|| {
                common::decode(black_box(&wire), |t| {
                    black_box(t);
                })
            })
        });
        g.bench_function("parse_value", |b| {
            b.iter(|| {
                let mut touched = 0;
                for _ in 0..FRAMES {
                    let v: Value = serde_json::from_str(black_box(text)).unwrap();
                    touched += common::touch(&v);
                }
                touched
            })
        });
        g.bench_function("parse_borrowed", |b| {
            b.iter(|| {
                let mut touched = 0;
                for _ in 0..FRAMES {
                    let e: Borrowed<'_> = serde_json::from_str(black_box(text)).unwrap();
                    touched += e.kind.len() + e.text.map_or(0, |t| t.len());
                }
                touched
            })
        });
        g.finish();
    }
}

/// What the handlers share with the benchmark loop.
struct Counters {
    count: AtomicU64,
    touched: AtomicU64,
    target: AtomicU64,
    done: Sender<()>,
}

fn client_inprocess(c: &mut Criterion) {
    let fake = FakeSlack::builder().start().expect("start the fake Slack");
    let client = RtmClient::builder("xoxb-bench")
        .base_url(&fake.api_url())
        .handle_signals(false)
        // No RTM pings: every frame the client sends is a round-trip answer.
        .ping_interval(Duration::ZERO)
        .build()
        .expect("build the client");
    let (done_tx, done_rx): (Sender<()>, Receiver<()>) = crossbeam_channel::bounded(1);
    let counters = Arc::new(Counters {
        count: AtomicU64::new(0),
        touched: AtomicU64::new(0),
        target: AtomicU64::new(u64::MAX),
        done: done_tx,
    });
    let (hello_tx, hello_rx) = crossbeam_channel::bounded::<()>(1);
    client.on("hello", move |_p: &Payload| {
        let _ = hello_tx.try_send(());
    });
    let k = counters.clone();
    client.on("message", move |p: &Payload| {
        k.touched
            .fetch_add(common::touch(p.data) as u64, Ordering::Relaxed);
        if k.count.fetch_add(1, Ordering::Relaxed) + 1 == k.target.load(Ordering::Relaxed) {
            let _ = k.done.try_send(());
        }
    });
    client.on("user_typing", |p: &Payload| {
        let reply = json!({"type": "typing", "channel": p.data["channel"], "seq": p.data["seq"]});
        let _ = p.rtm_client.send_over_websocket(reply);
    });
    let running = client.spawn().expect("start the client");
    hello_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the client connects within 10 s");

    let mut g = c.benchmark_group("client_inprocess");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(FLOOD));
    for size in ["small", "large"] {
        let text = common::event(size);
        g.bench_function(format!("flood/{size}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counters.count.store(0, Ordering::SeqCst);
                    counters.target.store(FLOOD, Ordering::SeqCst);
                    let started = Instant::now();
                    assert_eq!(fake.flood(text, FLOOD as usize), 1, "one client connected");
                    done_rx
                        .recv_timeout(Duration::from_secs(60))
                        .expect("the flood arrives within 60 s");
                    total += started.elapsed();
                    counters.target.store(u64::MAX, Ordering::SeqCst);
                }
                total
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    let seq = Mutex::new(0u64);
    g.bench_function("round_trip", |b| {
        b.iter_custom(|iters| {
            let mut seq = seq.lock().unwrap();
            // Waiting only for the frame count keeps the recording lock short; the server's
            // read instants are looked up once, afterwards.
            let mut expected = fake.frames().len();
            let base = expected;
            let mut sent_at = Vec::with_capacity(iters as usize);
            for _ in 0..iters {
                *seq += 1;
                let probe = json!({"type": "user_typing", "channel": "C0BENCH001", "seq": *seq})
                    .to_string();
                expected += 1;
                let sent = Instant::now();
                fake.send_text(&probe);
                assert!(
                    fake.wait_for_frames(expected, Duration::from_secs(5)),
                    "the handler answers within 5 s"
                );
                sent_at.push((*seq, sent));
            }
            let frames = fake.frames();
            // Answers come in order: one pass pairs them with the probes.
            let mut answers = frames[base..].iter().filter_map(|f| {
                let seq = f.json()?.get("seq")?.as_u64()?;
                Some((seq, f.at))
            });
            sent_at
                .iter()
                .map(|(n, sent)| {
                    let (_, at) = answers
                        .find(|(seq, _)| seq == n)
                        .expect("every probe was answered");
                    at.saturating_duration_since(*sent)
                })
                .sum()
        })
    });
    g.finish();
    running.stop();
    running.join().expect("the client stops cleanly");
}

criterion_group!(benches, in_memory, client_inprocess);
criterion_main!(benches);
