//! Argument parsing and the usage texts of every command.

use std::ffi::OsString;
use std::time::Duration;

use slack_rtm::ConnectMethod;

/// The version line every command prints for `--version`.
pub const VERSION: &str = concat!("slack-rtm ", env!("CARGO_PKG_VERSION"));

/// The environment variables every command may read, for the ENVIRONMENT sections.
const ENVIRONMENT: &str = "\
Environment:
  SLACK_BOT_TOKEN       the token for `tail` and `api` (else SLACK_API_TOKEN); never printed
  SLACK_API_TOKEN       the token when SLACK_BOT_TOKEN is unset or empty
  SLACK_APP_TOKEN       the app-level token (xapp-...) for `socket`; never printed
  SLACK_SIGNING_SECRET  the signing secret for `serve --deliver`; never printed
  SLACK_API_URL         Web API base URL for `tail`, `socket` and `api`
                        (default https://slack.com/api/)
  ALL_PROXY, HTTPS_PROXY, HTTP_PROXY (or lower case), NO_PROXY
                        the http:// proxy for the Web API and the websocket when --proxy
                        is not given (the first one set wins; NO_PROXY lists hosts to reach
                        directly)
  SSL_CERT_FILE, SSL_CERT_DIR
                        the system trust store's location (OpenSSL), unless --ca-file
  RUST_LOG              what goes to stderr (default info; e.g. RUST_LOG=slack_rtm=debug);
                        other crates' records are capped at info";

/// Top-level usage.
pub fn usage() -> String {
    format!(
        "\
slack-rtm: a command-line client for Slack: Socket Mode, RTM and the Web API, and a fake Slack

Usage: slack-rtm <command> [flags]

Commands:
  tail    connect and print every frame Slack sends, one per line; send stdin lines
  socket  the same in Socket Mode (SLACK_APP_TOKEN): print every frame, ack every envelope
  serve   run the embedded fake Slack on loopback
  demo    run the hello bot against the embedded fake Slack and print the conversation
  api     call one Web API method and print the answer as a JSON line

Run `slack-rtm <command> --help` for the flags of a command.

Flags:
  -h, --help      show this help
  -V, --version   print the version

{ENVIRONMENT}

Exit codes: 0 stopped, 1 failure, 2 usage error, 3 Slack refused the token,
128 + N a second stop signal N (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP)."
    )
}

/// `tail --help`.
pub fn tail_usage() -> String {
    format!(
        "\
Usage: slack-rtm tail [flags]

Connects to Slack's RTM API and prints every frame the server sends (events, hello, acks,
pongs) on stdout, one per line, in arrival order. Each line read on stdin must be a JSON object;
it is sent over the websocket (an id is added when absent). Lifecycle goes to stderr.

Flags:
  --api-url URL          Web API base URL (else SLACK_API_URL, else https://slack.com/api/)
  --ca-file PEM          trust the CA certificates in this PEM file instead of the system store
  --no-reconnect         exit (status 1) when the connection ends instead of reconnecting
  --ping-interval SECS   seconds between RTM pings; 0 disables pings (default 30)
  --connect-method M     rtm.connect (default) or rtm.start
  --proxy URL            http:// proxy for the Web API and the websocket
                         (else ALL_PROXY, HTTPS_PROXY or HTTP_PROXY, with NO_PROXY)
  --exit-on NAME         exit 0 right after the first event dispatched as NAME (e.g. hello)
  -h, --help             show this help
  -V, --version          print the version

Stdin: one JSON object per line, at most {MAX_TAIL_LINE} bytes (a longer line is skipped with
a line on stderr); lines wait while disconnected, up to {MAX_HELD} bytes, then stdin is not read
until they are sent.

{ENVIRONMENT}

Exit codes: 0 stopped (SIGINT, SIGTERM, SIGHUP, --exit-on), 1 failure, 2 usage error,
3 Slack refused the token. A second stop signal exits at once with 128 + its number
(130 SIGINT, 143 SIGTERM, 129 SIGHUP), as does a stop that cannot finish within
{GRACE_SECS} s (a handler stuck writing to a stdout nobody reads).",
        MAX_TAIL_LINE = crate::tail::MAX_LINE,
        MAX_HELD = crate::tail::MAX_HELD_BYTES,
        GRACE_SECS = crate::signals::STOP_GRACE.as_secs(),
    )
}

/// `serve --help`.
pub fn serve_usage() -> String {
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
  !flood N small-ignored|large-ignored
                         the same bytes with the type `ignored` (no benchmark client handles
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
        MAX_LINE = crate::serve::MAX_LINE,
    )
}

/// `demo --help`.
pub fn demo_usage() -> String {
    "\
Usage: slack-rtm demo

Starts the embedded fake Slack, runs the hello bot (it answers \"Hi <@user>!\" in a thread to
messages containing \"Hello\") against it over RTM, then the same hello as an App over Socket
Mode (a message, a button click, a slash command and its ack), prints the conversation and
exits. Always offline.

Flags:
  -h, --help      show this help
  -V, --version   print the version

Environment:
  RUST_LOG        what goes to stderr (default info)
  (demo ignores SLACK_BOT_TOKEN, SLACK_API_TOKEN, SLACK_API_URL and the proxy variables)

Exit codes: 0 the bot answered, 1 failure, 2 usage error."
        .to_string()
}

/// A usage error: exit code 2.
pub struct Usage(pub String);

/// The process arguments after the program name, each checked to be UTF-8.
pub fn from_os(args: impl Iterator<Item = OsString>) -> Result<Vec<String>, Usage> {
    args.enumerate()
        .map(|(i, a)| {
            a.into_string().map_err(|bad| {
                Usage(format!(
                    "argument {} is not valid UTF-8: {:?}",
                    i + 1,
                    bad.to_string_lossy()
                ))
            })
        })
        .collect()
}

/// What a command was asked to do besides its work.
pub enum Asked {
    Help,
    Version,
}

/// Pulls flags off an argument list.
pub struct Flags<'a> {
    args: std::slice::Iter<'a, String>,
}

impl<'a> Flags<'a> {
    pub fn new(args: &'a [String]) -> Flags<'a> {
        Flags { args: args.iter() }
    }

    /// The next flag, with its value split off `--flag=value` if given that way.
    pub fn next_flag(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        let arg = self.args.next()?;
        Some(match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg.as_str(), None),
        })
    }

    pub fn value(&mut self, flag: &str, inline: Option<&'a str>) -> Result<&'a str, Usage> {
        match inline {
            Some(v) => Ok(v),
            None => self
                .args
                .next()
                .map(String::as_str)
                .ok_or_else(|| Usage(format!("{flag} needs a value"))),
        }
    }
}

/// `-h`/`--help` and `-V`/`--version`, the flags every command takes.
pub fn common_flag(flag: &str) -> Option<Asked> {
    match flag {
        "-h" | "--help" => Some(Asked::Help),
        "-V" | "--version" => Some(Asked::Version),
        _ => None,
    }
}

pub fn no_value(flag: &str, inline: Option<&str>) -> Result<(), Usage> {
    match inline {
        Some(_) => Err(Usage(format!("{flag} takes no value"))),
        None => Ok(()),
    }
}

/// `tail`'s flags.
#[derive(Default)]
pub struct TailArgs {
    pub api_url: Option<String>,
    pub ca_file: Option<String>,
    pub no_reconnect: bool,
    pub ping_interval: Option<Duration>,
    pub connect_method: Option<ConnectMethod>,
    pub proxy: Option<String>,
    pub exit_on: Option<String>,
}

pub fn parse_tail(args: &[String]) -> Result<Result<TailArgs, Asked>, Usage> {
    let mut t = TailArgs::default();
    let mut flags = Flags::new(args);
    while let Some((flag, inline)) = flags.next_flag() {
        if let Some(asked) = common_flag(flag) {
            return Ok(Err(asked));
        }
        match flag {
            "--api-url" => t.api_url = Some(flags.value(flag, inline)?.to_string()),
            "--ca-file" => t.ca_file = Some(flags.value(flag, inline)?.to_string()),
            "--proxy" => t.proxy = Some(flags.value(flag, inline)?.to_string()),
            "--exit-on" => {
                let name = flags.value(flag, inline)?;
                if name.is_empty() || name.starts_with('-') {
                    return Err(Usage(format!(
                        "--exit-on needs an event name (e.g. hello), got {name:?}"
                    )));
                }
                t.exit_on = Some(name.to_string());
            }
            "--no-reconnect" => {
                no_value(flag, inline)?;
                t.no_reconnect = true;
            }
            "--ping-interval" => {
                let v = flags.value(flag, inline)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .ok_or_else(|| {
                        Usage(format!(
                            "--ping-interval needs a number of seconds, got {v:?}"
                        ))
                    })?;
                t.ping_interval = Some(Duration::from_secs_f64(secs));
            }
            "--connect-method" => {
                t.connect_method = Some(match flags.value(flag, inline)? {
                    "rtm.start" => ConnectMethod::RtmStart,
                    "rtm.connect" => ConnectMethod::RtmConnect,
                    other => {
                        return Err(Usage(format!(
                            "--connect-method must be rtm.connect or rtm.start, got {other:?}"
                        )))
                    }
                })
            }
            other => return Err(Usage(format!("unknown flag {other:?} for tail"))),
        }
    }
    Ok(Ok(t))
}

/// An environment variable that is set and not blank.
pub fn env_nonempty(name: &str) -> Option<String> {
    if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(name) {
        // Set, but unusable: say so rather than "not set" (a usage error, exit 2).
        eprintln!("slack-rtm: {name} is not valid UTF-8 (Slack tokens and URLs are ASCII)");
        std::process::exit(2);
    }
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
