//! `serve --bench`'s Socket Mode commands (BENCHMARKS.md, "Socket Mode"): `!sm-flood N RATE`
//! sends N `events_api` envelopes to the Socket Mode connection, `!sm-report [WAIT_MS]` answers
//! with their ack latencies (envelope written → ack read, as the fake records them) and the
//! acked envelopes per second.
//!
//! Redelivery is switched off by `!sm-flood`: an envelope acked late is counted late, never
//! sent again, so every client gets exactly the same N envelopes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use slack_rtm::testing::{FakeSlack, Redelivery};

/// Most envelopes one `!sm-flood` sends.
const MAX_ENVELOPES: usize = 1_000_000;
/// Highest pace `!sm-flood` accepts (envelopes per second; 0 means unpaced).
const MAX_RATE: f64 = 1_000_000.0;
/// Longest `!sm-report` wait.
const MAX_WAIT_MS: u64 = 600_000;
/// How long `!sm-flood` waits for a Socket Mode connection to say `hello`.
const READY_WAIT: Duration = Duration::from_secs(10);
/// Slack's ack deadline: acks later than this count as late (Slack would retry the event).
const SLACK_ACK_DEADLINE: Duration = Duration::from_secs(3);

/// The last flood: its envelope ids in order, and how many acks the fake had before it.
struct Flood {
    ids: Vec<String>,
    acks_before: usize,
    rate: f64,
}

static LAST: Mutex<Option<Flood>> = Mutex::new(None);
/// Floods so far in this process: makes every envelope and event id unique.
static FLOODS: Mutex<u64> = Mutex::new(0);

/// Runs a Socket Mode bench command, or `None` when `cmd` is not one.
pub fn run(server: &FakeSlack, cmd: &str, args: &[&str]) -> Option<Result<Value, String>> {
    let result = match (cmd, args) {
        ("!sm-flood", [n, rate]) => flood(server, n, rate),
        ("!sm-flood", _) => {
            Err("usage: !sm-flood N RATE (envelopes per second, 0: unpaced)".into())
        }
        ("!sm-report", []) => report(server, "0"),
        ("!sm-report", [wait]) => report(server, wait),
        ("!sm-report", _) => Err("usage: !sm-report [WAIT_MS]".into()),
        _ => return None,
    };
    Some(result)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One `events_api` envelope as Slack wraps a channel message (about 750 bytes).
fn envelope(flood: u64, seq: usize, now_secs: u64) -> Value {
    let ts = format!("{now_secs}.{:06}", seq % 1_000_000);
    json!({
        "envelope_id": format!("5e1a{flood:04x}-be0c-4000-8000-{seq:012x}"),
        "payload": {
            "token": "fakeVerificationToken",
            "team_id": "T0FAKE0001",
            "context_team_id": "T0FAKE0001",
            "context_enterprise_id": null,
            "api_app_id": "A0FAKEAPP1",
            "event": {
                "type": "message",
                "channel": "C0BENCH001",
                "user": "U0BENCH001",
                "text": format!("benchmark envelope {seq}: hello from the fake Slack"),
                "ts": ts,
                "event_ts": ts,
                "channel_type": "channel",
                "team": "T0FAKE0001",
            },
            "type": "event_callback",
            "event_id": format!("EvB{flood:03}{seq:09}"),
            "event_time": now_secs,
            "authorizations": [{
                "enterprise_id": null,
                "team_id": "T0FAKE0001",
                "user_id": "U0FAKEBOT1",
                "is_bot": true,
                "is_enterprise_install": false,
            }],
            "is_ext_shared_channel": false,
            "event_context": format!("4-bench-{flood}-{seq}"),
        },
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": 0,
        "retry_reason": "",
    })
}

fn flood(server: &FakeSlack, n: &str, rate: &str) -> Result<Value, String> {
    let n = n
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_ENVELOPES).contains(n))
        .ok_or_else(|| format!("N must be 1..={MAX_ENVELOPES}, got {n:?}"))?;
    let rate = rate
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && (0.0..=MAX_RATE).contains(r))
        .ok_or_else(|| format!("RATE must be 0..={MAX_RATE} envelopes/s, got {rate:?}"))?;
    if !server.wait_for_socket_ready(1, READY_WAIT) {
        return Err(format!(
            "no Socket Mode connection said hello within {} s",
            READY_WAIT.as_secs()
        ));
    }
    server.set_socket_redelivery(Redelivery::off());
    let number = {
        let mut floods = lock(&FLOODS);
        *floods += 1;
        *floods
    };
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Built before the clock starts: the fake's own cost per envelope is only the send.
    let envelopes: Vec<Value> = (0..n).map(|i| envelope(number, i, now_secs)).collect();
    let bytes = envelopes[0].to_string().len();
    let acks_before = server.socket_acks().len();
    let mut ids = Vec::with_capacity(n);
    let start = Instant::now();
    for (i, e) in envelopes.iter().enumerate() {
        if rate > 0.0 {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        ids.push(server.send_socket_envelope(e));
    }
    let secs = start.elapsed().as_secs_f64();
    *lock(&LAST) = Some(Flood {
        ids,
        acks_before,
        rate,
    });
    Ok(json!({
        "cmd": "sm-flood",
        "n": n,
        "rate": rate,
        "bytes": bytes,
        "send_secs": round3(secs),
        "sockets": server.socket_connections_open(),
    }))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn report(server: &FakeSlack, wait: &str) -> Result<Value, String> {
    let wait = wait
        .parse::<u64>()
        .ok()
        .filter(|w| *w <= MAX_WAIT_MS)
        .ok_or_else(|| format!("WAIT_MS must be 0..={MAX_WAIT_MS}, got {wait:?}"))?;
    let guard = lock(&LAST);
    let flood = guard.as_ref().ok_or("no !sm-flood yet")?;
    let n = flood.ids.len();
    server.wait_for_socket_acks(flood.acks_before + n, Duration::from_millis(wait));

    let delivered: HashMap<String, Instant> = server
        .socket_deliveries()
        .into_iter()
        .filter_map(|d| Some((d.envelope_id, d.at?)))
        .collect();
    let mut first_ack: HashMap<String, (Option<Duration>, Instant, bool)> = HashMap::new();
    let mut duplicates = 0usize;
    let mut other_connection = 0usize;
    for ack in server.socket_acks().into_iter().skip(flood.acks_before) {
        if ack.dropped {
            continue;
        }
        if first_ack.contains_key(&ack.envelope_id) {
            duplicates += 1;
            continue;
        }
        if !ack.same_connection {
            other_connection += 1;
        }
        first_ack.insert(ack.envelope_id, (ack.latency, ack.at, ack.same_connection));
    }
    // Per envelope in flood order: its latency, None while unacked.
    let mut latencies: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut first_delivery: Option<Instant> = None;
    let mut last_ack: Option<Instant> = None;
    let mut written = 0usize;
    for id in &flood.ids {
        if let Some(at) = delivered.get(id) {
            written += 1;
            first_delivery = Some(first_delivery.map_or(*at, |f| f.min(*at)));
        }
        let ack = first_ack.get(id);
        if let Some((_, at, _)) = ack {
            last_ack = Some(last_ack.map_or(*at, |l| l.max(*at)));
        }
        latencies.push(ack.and_then(|(l, _, _)| l.map(|d| d.as_secs_f64() * 1e6)));
    }
    let mut acked: Vec<f64> = latencies.iter().flatten().copied().collect();
    acked.sort_by(f64::total_cmp);
    let unacked = n - acked.len();
    let in_time = acked
        .iter()
        .filter(|us| **us <= SLACK_ACK_DEADLINE.as_secs_f64() * 1e6)
        .count();
    // Nearest rank over every envelope, an unacked one counting as infinitely late (null).
    let pct = |q: f64| -> Option<f64> {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n.max(1));
        acked.get(rank - 1).map(|v| round1(*v))
    };
    let mean = (!acked.is_empty()).then(|| round1(acked.iter().sum::<f64>() / acked.len() as f64));
    let span = match (first_delivery, last_ack) {
        (Some(f), Some(l)) => Some(l.saturating_duration_since(f).as_secs_f64()),
        _ => None,
    };
    let eps = span
        .filter(|s| *s > 0.0)
        .map(|s| (acked.len() as f64 / s).round());
    Ok(json!({
        "cmd": "sm-report",
        "n": n,
        "rate": flood.rate,
        "written": written,
        "acked": acked.len(),
        "acked_within_3s": in_time,
        "unacked": unacked,
        "duplicate_acks": duplicates,
        "acks_on_another_connection": other_connection,
        "min_us": acked.first().map(|v| round1(*v)),
        "p50_us": pct(0.50),
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
        "max_us": if unacked == 0 { acked.last().map(|v| round1(*v)) } else { None },
        "max_acked_us": acked.last().map(|v| round1(*v)),
        "mean_acked_us": mean,
        "first_write_to_last_ack_secs": span.map(round3),
        "acked_per_sec": eps,
    }))
}
