//! `slack-rtm socket`: the Socket Mode counterpart of `tail`. Prints every frame Slack sends
//! (hello, envelopes of every type, disconnect) on stdout, one per line, as received — except
//! a redelivered event already printed — and acks every envelope at once.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use slack_rtm::socket_mode::{Request, SocketModeClient};
use slack_rtm::Error;

use crate::args::{self, common_flag, no_value, Asked, Flags, Usage};
use crate::output::{exit_code, print_frame};
use crate::signals;

/// `socket --help`.
pub fn usage() -> String {
    format!(
        "\
Usage: slack-rtm socket [flags]

Connects to Slack in Socket Mode with the app-level token in SLACK_APP_TOKEN (xapp-...) and
prints every frame Slack sends (hello, envelopes of every type, disconnect) on stdout, one per
line, as received; a redelivered event that was already printed is acked and not printed again.
Every envelope is acked at once (bare). Lifecycle goes to stderr.

Flags:
  --api-url URL          Web API base URL (else SLACK_API_URL, else https://slack.com/api/)
  --ca-file PEM          trust the CA certificates in this PEM file instead of the system store
  --no-reconnect         exit (status 1) when the connection ends instead of reconnecting
  --ping-interval SECS   seconds between websocket pings (default 10)
  --proxy URL            http:// proxy for the Web API and the websocket
                         (else ALL_PROXY, HTTPS_PROXY or HTTP_PROXY, with NO_PROXY)
  --exit-on NAME         exit 0 right after the first frame dispatched as NAME (e.g. hello,
                         app_mention, /deploy, events_api)
  --connections N        sockets to keep open at once, 1 to 10 (default 1)
  --debug-reconnects     ask Slack to refresh the socket after about 360 s instead of 5 h
  -h, --help             show this help
  -V, --version          print the version

Environment:
  SLACK_APP_TOKEN       the app-level token (xapp-...); never printed
  SLACK_API_URL, ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY, SSL_CERT_FILE, SSL_CERT_DIR,
  RUST_LOG              as for `tail`

Exit codes: 0 stopped (SIGINT, SIGTERM, SIGHUP, --exit-on), 1 failure (including
link_disabled, and the connection ending under --no-reconnect), 2 usage error, 3 Slack refused
the token. A second stop signal exits at once with 128 + its number, as does a stop that cannot
finish within {GRACE_SECS} s.",
        GRACE_SECS = crate::signals::STOP_GRACE.as_secs(),
    )
}

#[derive(Default)]
struct SocketArgs {
    api_url: Option<String>,
    ca_file: Option<String>,
    no_reconnect: bool,
    ping_interval: Option<Duration>,
    proxy: Option<String>,
    exit_on: Option<String>,
    connections: Option<usize>,
    debug_reconnects: bool,
}

fn parse(args: &[String]) -> Result<Result<SocketArgs, Asked>, Usage> {
    let mut s = SocketArgs::default();
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next_flag() {
        if let Some(asked) = common_flag(flag) {
            return Ok(Err(asked));
        }
        match flag {
            "--api-url" => s.api_url = Some(flags.value(flag, inline)?.to_string()),
            "--ca-file" => s.ca_file = Some(flags.value(flag, inline)?.to_string()),
            "--proxy" => s.proxy = Some(flags.value(flag, inline)?.to_string()),
            "--exit-on" => {
                let name = flags.value(flag, inline)?;
                if name.is_empty() || name.starts_with('-') {
                    return Err(Usage(format!(
                        "--exit-on needs a name (e.g. hello), got {name:?}"
                    )));
                }
                s.exit_on = Some(name.to_string());
            }
            "--no-reconnect" => {
                no_value(flag, inline)?;
                s.no_reconnect = true;
            }
            "--debug-reconnects" => {
                no_value(flag, inline)?;
                s.debug_reconnects = true;
            }
            "--ping-interval" => {
                let v = flags.value(flag, inline)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| {
                        Usage(format!(
                            "--ping-interval needs a positive number of seconds, got {v:?}"
                        ))
                    })?;
                s.ping_interval = Some(Duration::from_secs_f64(secs));
            }
            "--connections" => {
                let v = flags.value(flag, inline)?;
                let n = v.parse::<usize>().map_err(|_| {
                    Usage(format!(
                        "--connections needs a number from 1 to 10, got {v:?}"
                    ))
                })?;
                s.connections = Some(n);
            }
            other => return Err(Usage(format!("unknown flag {other:?} for socket"))),
        }
    }
    Ok(Ok(s))
}

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    let s = match parse(args)? {
        Ok(s) => s,
        Err(Asked::Help) => {
            outln!("{}", usage());
            return Ok(ExitCode::SUCCESS);
        }
        Err(Asked::Version) => {
            outln!("{}", args::VERSION);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let token = args::env_nonempty("SLACK_APP_TOKEN").ok_or_else(|| {
        Usage("no token: set SLACK_APP_TOKEN to an app-level token (xapp-...)".into())
    })?;
    if token.trim().starts_with("xoxb-") || token.trim().starts_with("xoxp-") {
        return Err(Usage(
            "SLACK_APP_TOKEN holds a bot token or a user token: Socket Mode connects with an app-level \
             token (xapp-..., scope connections:write, from the app's Basic Information page)"
                .into(),
        ));
    }
    let api_url = s
        .api_url
        .clone()
        .or_else(|| args::env_nonempty("SLACK_API_URL"));
    let mut builder = SocketModeClient::builder(&token)
        .auto_reconnect(!s.no_reconnect)
        .debug_reconnects(s.debug_reconnects)
        .handle_signals(false);
    if let Some(url) = &api_url {
        builder = builder.base_url(url);
    }
    if let Some(path) = &s.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Usage(format!("cannot read --ca-file {path:?}: {e}")))?;
        builder = builder.root_certificate(&pem);
    }
    if let Some(i) = s.ping_interval {
        builder = builder.ping_interval(i);
    }
    if let Some(p) = &s.proxy {
        builder = builder.proxy(p);
    }
    if let Some(n) = s.connections {
        builder = builder.connections(n);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(Error::Config(msg)) => {
            return Err(Usage(match &s.ca_file {
                Some(path) if msg.contains("root_certificate") => {
                    format!("--ca-file {path:?}: {msg}")
                }
                _ => msg,
            }))
        }
        Err(e) => {
            eprintln!("slack-rtm: {e}");
            return Ok(ExitCode::from(1));
        }
    };

    // --exit-on: the named handler marks the frame; "*" (which runs last) prints it and stops.
    let marked = Arc::new(AtomicBool::new(false));
    let exited = Arc::new(AtomicBool::new(false));
    if let Some(name) = &s.exit_on {
        let mark = marked.clone();
        client.on(name, move |_: &Request| mark.store(true, Ordering::SeqCst));
    }
    let exit_on = s.exit_on.clone();
    client.on("*", move |r: &Request| {
        if let Some(raw) = r.raw() {
            print_frame(raw);
        }
        let hit = marked.swap(false, Ordering::SeqCst) || exit_on.as_deref() == Some("*");
        if hit && !exited.swap(true, Ordering::SeqCst) {
            // Acked before the stop closes the socket (an event is acked already: ignored).
            let _ = r.ack();
            log::info!("got {:?}: exiting", exit_on.as_deref().unwrap_or_default());
            r.client.stop();
        }
    });
    let handle = client.handle();
    if let Err(e) = signals::install(move |_sig| handle.stop()) {
        eprintln!("slack-rtm: cannot handle signals: {e}");
        return Ok(ExitCode::from(1));
    }
    Ok(exit_code(client.start()))
}
