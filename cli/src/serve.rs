//! `slack-rtm serve`: the embedded fake Slack on loopback, fed from stdin.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use slack_rtm::testing::FakeSlack;

use crate::args::{self, Asked, Flags, Usage};
use crate::tail::{read_stdin_lines, skipped};
use crate::{bench, serve_http, serve_socket, signals, tls};

/// The longest stdin line `serve` accepts, in bytes: the client's default largest message.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

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
                outln!("{}", args::serve_usage());
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
