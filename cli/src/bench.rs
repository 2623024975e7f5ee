//! `serve --bench`: the benchmark commands of BENCHMARKS.md, read from stdin.
//!
//! Every command prints exactly one `BENCH <json>` line on stdout (`{"cmd":"error",...}` for
//! a bad one), so a driver in any language can wait for the answer with a timeout.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use slack_rtm::testing::{FakeSlack, ReceivedFrame};

/// The small flood event (184 bytes), shared with the in-memory benches.
const SMALL: &str = include_str!("../../benches/events/small.json");
/// The large flood event (607 bytes, with blocks).
const LARGE: &str = include_str!("../../benches/events/large.json");
/// A typed message in Slack's key order (`client_msg_id` first, `type` third), 489 bytes.
const SLACK_SMALL: &str = include_str!("../../benches/events/slack-small.json");
/// The same with a longer text and richer blocks, 1,263 bytes.
const SLACK_LARGE: &str = include_str!("../../benches/events/slack-large.json");
/// How long one round trip may take before `!rtt` gives up.
const RTT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most round trips or flood events one command accepts.
const MAX_COUNT: usize = 100_000_000;

pub fn command(server: &FakeSlack, line: &str) {
    let answer = run(server, line).unwrap_or_else(|message| {
        log::error!("bench command {line:?}: {message}");
        json!({"cmd": "error", "line": line, "message": message})
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "BENCH {answer}").and_then(|()| out.flush());
}

fn run(server: &FakeSlack, line: &str) -> Result<Value, String> {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    if let Some(answer) = crate::bench_sm::run(server, cmd, &args) {
        return answer;
    }
    match (cmd, args.as_slice()) {
        ("!flood", [n, size]) => {
            let n = count(n)?;
            let ignored = size.ends_with("-ignored");
            let base = match size.trim_end_matches("-ignored") {
                "small" => SMALL,
                "large" => LARGE,
                "slack-small" => SLACK_SMALL,
                "slack-large" => SLACK_LARGE,
                _ => {
                    return Err(format!(
                        "size must be small, large, slack-small or slack-large, each optionally \
                         followed by -ignored, got {size:?}"
                    ))
                }
            };
            let text = if ignored {
                // The same bytes under a type no benchmark client handles, then one
                // `bench_flood_done` frame: the client cannot count what it ignores.
                base.trim_ascii()
                    .replacen(r#""type":"message""#, r#""type":"ignored""#, 1)
            } else {
                base.trim_ascii().to_string()
            };
            let clients = server.flood(&text, n);
            if ignored {
                server.send_text(&format!(r#"{{"type":"bench_flood_done","n":{n}}}"#));
            }
            Ok(json!({
                "cmd": "flood",
                "n": n,
                "size": size,
                "bytes": text.len(),
                "clients": clients,
            }))
        }
        ("!rtt", [n]) => rtt(server, count(n)?, Duration::from_micros(1000)),
        ("!rtt", [n, gap]) => {
            let gap: u64 = gap
                .parse()
                .map_err(|_| format!("the gap must be microseconds, got {gap:?}"))?;
            rtt(server, count(n)?, Duration::from_micros(gap))
        }
        ("!clients", []) => Ok(json!({
            "cmd": "clients",
            "open": server.connections_open(),
            "total": server.connections_total(),
        })),
        _ => Err(
            "unknown command; try !flood N small|large|slack-small|slack-large[-ignored], \
             !rtt N [GAP_US], !clients, !sm-flood N RATE, !sm-report [WAIT_MS]"
                .into(),
        ),
    }
}

fn count(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_COUNT).contains(n))
        .ok_or_else(|| format!("a count must be 1..={MAX_COUNT}, got {s:?}"))
}

/// Round trips: the time from just before a probe is queued for the connection thread to
/// the instant that thread read the client's answer (`ReceivedFrame::at`).
fn rtt(server: &FakeSlack, n: usize, gap: Duration) -> Result<Value, String> {
    if server.connections_open() == 0 {
        return Err("no client connected".into());
    }
    let mut samples = Vec::with_capacity(n);
    let mut timeouts = 0;
    for seq in 1..=n {
        let probe = format!(
            r#"{{"type":"user_typing","channel":"C0BENCH001","user":"U0BENCH001","seq":{seq}}}"#
        );
        let sent = Instant::now();
        if server.send_text(&probe) == 0 {
            return Err("the client went away".into());
        }
        // Frames older than the probe are skipped by their timestamp alone, so the check
        // holds the recording lock only briefly.
        let is_reply = |f: &ReceivedFrame| f.at >= sent && answers(f, seq);
        match server.wait_for_frame(is_reply, RTT_TIMEOUT) {
            Some(frame) => samples.push(frame.at.saturating_duration_since(sent)),
            None => {
                timeouts += 1;
                break;
            }
        }
        if !gap.is_zero() {
            std::thread::sleep(gap);
        }
    }
    let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    // Nearest rank.
    let pct = |q: f64| {
        let rank = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len().max(1));
        us.get(rank - 1).map(|v| (v * 10.0).round() / 10.0)
    };
    let mean = (!us.is_empty()).then(|| us.iter().sum::<f64>() / us.len() as f64);
    Ok(json!({
        "cmd": "rtt",
        "n": n,
        "done": us.len(),
        "timeouts": timeouts,
        "gap_us": gap.as_micros() as u64,
        "min_us": pct(0.0),
        "p50_us": pct(0.50),
        "p90_us": pct(0.90),
        "p99_us": pct(0.99),
        "max_us": pct(1.0),
        "mean_us": mean.map(|m| (m * 10.0).round() / 10.0),
    }))
}

/// Whether `frame` is `{"type":"typing", "seq": seq, ...}`.
fn answers(frame: &ReceivedFrame, seq: usize) -> bool {
    frame.text.contains("typing")
        && frame
            .json()
            .is_some_and(|v| v["type"] == "typing" && v["seq"].as_u64() == Some(seq as u64))
}
