//! The slack-rtm app of the HTTP-mode benchmark (benches/http.sh; BENCHMARKS.md, "HTTP mode"):
//! an `App` with a signing secret served by `app.http("127.0.0.1:0")`, authorized once with
//! `auth.test` against an embedded fake Slack, and the listeners every app of the benchmark
//! has: `app_mention` (does nothing) and `/bench` (acks, then sleeps 1 s).
//!
//! ```text
//! SLACK_SIGNING_SECRET=... http_app [--workers N]
//! ```
//!
//! Prints `PORT=<n>` once listening; exits when stdin closes.

use std::io::Read;
use std::time::Duration;

use slack_rtm::app::App;
use slack_rtm::testing::FakeSlack;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SLACK_SIGNING_SECRET")?;
    let sleep = Duration::from_secs_f64(
        std::env::var("BENCH_SLEEP_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0),
    );
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => workers = Some(args.next().ok_or("--workers N")?.parse()?),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let fake = FakeSlack::start()?;
    let mut builder = App::builder()
        .bot_token("xoxb-bench")
        .signing_secret(&secret)
        .base_url(&fake.api_url())
        .handle_signals(false);
    if let Some(n) = workers {
        builder = builder.workers(n);
    }
    let app = builder.build()?;
    app.event("app_mention", |_ctx| Ok(()));
    app.command("/bench", move |ctx| {
        ctx.ack()?;
        std::thread::sleep(sleep);
        Ok(())
    });
    let running = app.http("127.0.0.1:0").spawn()?;
    println!("PORT={}", running.local_addr().port());
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    running.stop();
    running.join()?;
    Ok(())
}
