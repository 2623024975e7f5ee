//! `slack-rtm serve`: the embedded fake Slack on loopback, fed from stdin.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slack_rtm::testing::FakeSlack;

use crate::args::{self, Asked, Flags, Usage};
use crate::lines::{read_stdin_lines, skipped};
use crate::{bench, serve_http, serve_socket, signals, tls};

/// The longest stdin line `serve` accepts, in bytes: the client's default largest message.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// `serve --help`.
pub fn usage() -> String {
    format!(
        "\
Usage: slack-rtm serve [--port P] [--token T] [--tls] [--frames] [--bench]
                       [--deliver URL --signing-secret S]

Runs the embedded fake Slack on 127.0.0.1 and prints SLACK_API_URL=http://127.0.0.1:PORT/api/
as the first line on stdout (with --tls: SLACK_API_URL=https://127.0.0.1:PORT/api/, then
SLACK_CA_FILE=PATH, the CA certificate to trust, e.g. `tail --ca-file PATH`). Each JSON line
typed on stdin (at most {MAX_LINE} bytes) is sent as an event to every connected RTM client.
Ctrl-C stops it.

It speaks Socket Mode too: apps.connections.open answers app tokens (xapp-...), and these
stdin lines each go to one Socket Mode connection (held until one says hello; views.open and
views.push take any trigger_id, as typed payloads carry made-up ones):
  !event JSON            an Events API event (e.g. {{\"type\":\"app_mention\",...}}) in an
                         events_api envelope with a fresh envelope_id and event_id
  !command /NAME TEXT    a slash command
  !interactive JSON      an interaction payload (block_actions, view_submission, shortcut, ...)
  !disconnect REASON     disconnect with REASON (warning, refresh_requested, link_disabled,
                         too_many_websockets, ...) to the newest connection; for any reason but
                         warning the connection is closed 1 s later

With --deliver URL, !event, !command and !interactive go to an app in HTTP mode instead: each
is POSTed to URL as Slack sends it (JSON event_callback, slash-command form, payload= form),
signed with the signing secret (X-Slack-Request-Timestamp, X-Slack-Signature), and its answer
is printed on stdout as one JSON line: {{\"status\":200,\"body\":\"...\",\"latency_ms\":1.2}}
(or {{\"error\":\"...\"}} when the app cannot be reached). Response URLs point at the fake.

It serves Slack's OAuth v2 install flow too, to click through by hand offline: point an app's
authorize URL at http://127.0.0.1:PORT/oauth/v2/authorize (logged on stderr) with client id
1111111111.2222222222 and secret fake-client-secret; the approval page's Allow button
redirects to the app's redirect_uri with code and state, Cancel with error=access_denied, and
oauth.v2.access exchanges the code (auth.test answers each issued token).

Flags:
  --port P        port to listen on (default: any free port)
  --token T       accept only this token (default: any non-empty token); an xapp- token
                  guards Socket Mode (apps.connections.open), any other the Web API and
                  RTM; repeat the flag for both
  --tls           serve HTTPS and WSS with a certificate for 127.0.0.1 signed by a CA made at
                  start; its PEM is written to a temporary file, removed when serve stops
  --frames        print every frame a client sends and every Web API call on stdout, one JSON
                  line each: {{\"conn\":N,\"protocol\":\"rtm\"|\"socket_mode\",\"frame\":...}}
                  and {{\"api\":\"METHOD\",\"params\":{{...}}}} (tokens left out)
  --bench         benchmark mode (see BENCHMARKS.md): also accept the commands below on stdin,
                  and stop when stdin closes
  --deliver URL   POST !event, !command and !interactive to the app at URL (http:// or
                  https://, e.g. http://127.0.0.1:3000/slack/events)
  --signing-secret S
                  the app's signing secret for --deliver (else SLACK_SIGNING_SECRET)
  -h, --help      show this help
  -V, --version   print the version

Benchmark commands (with --bench; each prints exactly one `BENCH <json>` line on stdout):
  !flood N small|large   write the small (184 B) or large (607 B) `message` event N times to
                         every client, as fast as they read; answers at once
  !flood N slack-small|slack-large
                         the same with a message in Slack's key order (`client_msg_id` first,
                         blocks; 489 B and 1,263 B)
  !flood N SIZE-ignored  the same bytes with the type `ignored` (no benchmark client handles
                         it), then one {{\"type\":\"bench_flood_done\",\"n\":N}} frame
  !rtt N [GAP_US]        N sequential round trips (default gap 1000 us): send
                         {{\"type\":\"user_typing\",...,\"seq\":i}}, wait for the client's
                         {{\"type\":\"typing\",\"seq\":i}}; the time from just before the send to
                         the server's read of the answer; answers with percentiles in us
  !clients               the number of open websockets
  !sm-flood N RATE       send N `events_api` envelopes to the Socket Mode connection at RATE
                         per second (0: all at once); redelivery off; answers when all are sent
  !sm-report [WAIT_MS]   wait up to WAIT_MS for the last flood's acks, then their latency
                         (envelope written to ack read) percentiles in us, acked count and
                         acked envelopes per second

Environment:
  RUST_LOG        what goes to stderr (default info)
  (serve reads no token, SLACK_API_URL or proxy variables: it is the server)

Exit codes: 0 stopped, 1 failure, 2 usage error; a second stop signal exits at once with
128 + its number (130 SIGINT).",
        MAX_LINE = MAX_LINE,
    )
}

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    let mut builder = FakeSlack::builder();
    let mut bench_mode = false;
    let mut chosen_port: Option<u16> = None;
    let mut tls_mode = false;
    let mut frames = false;
    let mut deliver: Option<String> = None;
    let mut signing_secret: Option<String> = None;
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next_flag() {
        match args::common_flag(flag) {
            Some(Asked::Help) => {
                outln!("{}", usage());
                return Ok(ExitCode::SUCCESS);
            }
            Some(Asked::Version) => {
                outln!("{}", args::VERSION);
                return Ok(ExitCode::SUCCESS);
            }
            None => {}
        }
        match flag {
            "--port" => {
                let v = flags.value(flag, inline)?;
                let port = v
                    .parse::<u16>()
                    .map_err(|_| Usage(format!("--port needs a port number, got {v:?}")))?;
                builder = builder.port(port);
                chosen_port = Some(port);
            }
            "--token" => {
                // An app-level token guards Socket Mode's apps.connections.open; any other, the
                // Web API and RTM. Give the flag twice for both.
                let token = flags.value(flag, inline)?;
                builder = if token.starts_with("xapp-") {
                    builder.app_token(token)
                } else {
                    builder.token(token)
                };
            }
            "--bench" => {
                args::no_value(flag, inline)?;
                bench_mode = true;
            }
            "--tls" => {
                args::no_value(flag, inline)?;
                tls_mode = true;
            }
            "--frames" => {
                args::no_value(flag, inline)?;
                frames = true;
            }
            "--deliver" => deliver = Some(flags.value(flag, inline)?.to_owned()),
            "--signing-secret" => signing_secret = Some(flags.value(flag, inline)?.to_owned()),
            other => return Err(Usage(format!("unknown flag {other:?} for serve"))),
        }
    }
    let target = serve_http::target(deliver, signing_secret).map_err(Usage)?;
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = stop.clone();
    if let Err(e) = signals::install(move |_sig| signalled.store(true, Ordering::SeqCst)) {
        eprintln!("slack-rtm: cannot handle signals: {e}");
        return Ok(ExitCode::from(1));
    }
    // The CA's PEM lives in a temporary file for as long as `run` does (removed on return).
    let mut ca_file = None;
    if tls_mode {
        let certs = match tls::make_certs() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("slack-rtm: cannot make the TLS certificates: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        match tls::TempFile::create("slack-rtm-serve-ca", &certs.ca_pem) {
            Ok(f) => ca_file = Some(f),
            Err(e) => {
                eprintln!(
                    "slack-rtm: cannot write the CA certificate to {}: {e}",
                    std::env::temp_dir().display()
                );
                return Ok(ExitCode::from(1));
            }
        }
        builder = builder.tls(&certs.server_cert_pem, &certs.server_key_pem);
    }
    let server = match builder.start() {
        Ok(s) => Arc::new(s),
        Err(e) => {
            match chosen_port {
                Some(port) => {
                    eprintln!("slack-rtm: cannot start the fake Slack on 127.0.0.1:{port}: {e}")
                }
                None => eprintln!("slack-rtm: cannot start the fake Slack: {e}"),
            }
            return Ok(ExitCode::from(1));
        }
    };
    // Payloads typed on stdin carry made-up trigger ids: views.open takes any.
    server.set_check_trigger_ids(false);
    // Tapped before the URL is printed, so that no client can act unseen.
    let traffic = frames.then(|| server.watch_traffic());
    outln!("SLACK_API_URL={}", server.api_url());
    if let Some(f) = &ca_file {
        outln!("SLACK_CA_FILE={}", f.path().display());
    }
    let _ = std::io::stdout().flush();
    if let Some(traffic) = traffic {
        let printer = std::thread::Builder::new()
            .name("frames".into())
            .spawn(move || serve_socket::print_frames(traffic));
        if let Err(e) = printer {
            eprintln!("slack-rtm: cannot start the --frames printer: {e}");
            return Ok(ExitCode::from(1));
        }
    }
    log::info!(
        "OAuth: authorize URL {} (client id {}, client secret {})",
        server.authorize_url(),
        slack_rtm::testing::FAKE_CLIENT_ID,
        slack_rtm::testing::FAKE_CLIENT_SECRET
    );
    log::info!("fake Slack listening; JSON lines on stdin go to every connected client");

    let s = server.clone();
    let eof_stop = stop.clone();
    let reader = std::thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            let delivery = target.as_ref().map(|t| s.http_delivery(&t.url, &t.secret));
            read_stdin_lines(MAX_LINE, |number, line| {
                if let Some(delivery) = &delivery {
                    match serve_http::command(delivery, line) {
                        Some(Ok(answer)) => {
                            outln!("{answer}");
                            return true;
                        }
                        Some(Err(why)) => {
                            skipped(number, &why);
                            return true;
                        }
                        None => {}
                    }
                }
                match serve_socket::command(&s, line) {
                    Some(Ok(done)) => {
                        log::info!("stdin line {number}: {done}");
                        return true;
                    }
                    Some(Err(why)) => {
                        skipped(number, &why);
                        return true;
                    }
                    None => {}
                }
                if bench_mode && line.starts_with('!') {
                    bench::command(&s, line);
                    return true;
                }
                if line.starts_with('!') {
                    let name = line.split_whitespace().next().unwrap_or(line);
                    let known = "!event, !command, !interactive, !disconnect";
                    let more = if bench_mode {
                        ""
                    } else {
                        " (and, with --bench, the bench commands)"
                    };
                    skipped(
                        number,
                        &format!("unknown command {name}: the commands are {known}{more}"),
                    );
                    return true;
                }
                match serde_json::from_str::<Value>(line) {
                    // The line goes out as typed: key order and spacing kept.
                    Ok(_) => {
                        let n = s.send_text(line);
                        log::info!("stdin line {number} sent to {n} client(s)");
                    }
                    Err(e) => skipped(number, &format!("not JSON ({e})")),
                }
                true
            });
            if bench_mode {
                // A benchmark driver that dies leaves no server behind.
                log::info!("stdin closed: stopping (--bench)");
                eof_stop.store(true, Ordering::SeqCst);
            }
        });
    if let Err(e) = reader {
        log::error!("cannot read stdin: {e}");
    }
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    log::info!("stopping the fake Slack");
    drop(ca_file);
    Ok(ExitCode::SUCCESS)
}
