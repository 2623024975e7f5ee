//! `slack-rtm tail`: print every frame Slack sends; send stdin lines.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
use slack_rtm::{ConnectMethod, Error, Payload, RtmClient, SendErrorKind};

use crate::args::{self, common_flag, no_value, Asked, Flags, Usage};
use crate::lines::{read_stdin_lines, skipped};
use crate::output::{exit_code, print_frame};
use crate::signals;

/// The longest stdin line `tail` accepts, in bytes. A websocket frame may hold 16,384 bytes;
/// a line may be longer only by whitespace that the send drops, so anything past this can
/// never be sent.
pub const MAX_LINE: usize = 64 * 1024;
/// Lines held while disconnected, at most.
const MAX_HELD_LINES: usize = 1000;
/// Bytes of stdin lines held while disconnected, at most; past it stdin is not read.
pub const MAX_HELD_BYTES: usize = 1024 * 1024;

/// `tail --help`.
pub fn usage() -> String {
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
        ENVIRONMENT = args::ENVIRONMENT,
        MAX_TAIL_LINE = MAX_LINE,
        MAX_HELD = MAX_HELD_BYTES,
        GRACE_SECS = crate::signals::STOP_GRACE.as_secs(),
    )
}

/// `tail`'s flags.
#[derive(Default)]
struct TailArgs {
    api_url: Option<String>,
    ca_file: Option<String>,
    no_reconnect: bool,
    ping_interval: Option<Duration>,
    connect_method: Option<ConnectMethod>,
    proxy: Option<String>,
    exit_on: Option<String>,
}

fn parse(args: &[String]) -> Result<Result<TailArgs, Asked>, Usage> {
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

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    let t = match parse(args)? {
        Ok(t) => t,
        Err(Asked::Help) => {
            outln!("{}", usage());
            return Ok(ExitCode::SUCCESS);
        }
        Err(Asked::Version) => {
            outln!("{}", args::VERSION);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let token = args::env_nonempty("SLACK_BOT_TOKEN")
        .or_else(|| args::env_nonempty("SLACK_API_TOKEN"))
        .ok_or_else(|| Usage("no token: set SLACK_BOT_TOKEN or SLACK_API_TOKEN".into()))?;
    let api_url = t
        .api_url
        .clone()
        .or_else(|| args::env_nonempty("SLACK_API_URL"));

    // The CLI owns the signal policy (see `signals`): a handler stuck on stdout must not keep
    // the process alive.
    let mut builder = RtmClient::builder(&token)
        .auto_reconnect(!t.no_reconnect)
        .handle_signals(false);
    if let Some(url) = &api_url {
        builder = builder.base_url(url);
    }
    if let Some(path) = &t.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Usage(format!("cannot read --ca-file {path:?}: {e}")))?;
        builder = builder.root_certificate(&pem);
    }
    if let Some(i) = t.ping_interval {
        builder = builder.ping_interval(i);
    }
    if let Some(m) = t.connect_method {
        builder = builder.connect_method(m);
    }
    if let Some(p) = &t.proxy {
        builder = builder.proxy(p);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(Error::Config(msg)) => {
            // Name the flag, not the library option, when the CA file is the problem.
            return Err(Usage(match &t.ca_file {
                Some(path) if msg.contains("root_certificate") => {
                    format!("--ca-file {path:?}: {msg}")
                }
                _ => msg,
            }));
        }
        Err(e) => {
            eprintln!("slack-rtm: {e}");
            return Ok(ExitCode::from(1));
        }
    };

    let exited_on = Arc::new(AtomicBool::new(false));
    let exit_on = t.exit_on.clone();
    let flag = exited_on.clone();
    client.on("*", move |p: &Payload| {
        if let Some(raw) = p.raw() {
            print_frame(raw);
        }
        if exit_on.as_deref() == Some(p.event) && !flag.swap(true, Ordering::SeqCst) {
            log::info!("got {:?}: exiting", p.event);
            p.rtm_client.stop();
        }
    });
    let handle = client.handle();
    if let Err(e) = signals::install(move |_sig| handle.stop()) {
        eprintln!("slack-rtm: cannot handle signals: {e}");
        return Ok(ExitCode::from(1));
    }
    spawn_stdin_sender(&client);

    Ok(exit_code(client.start()))
}

/// A byte budget shared by the stdin reader (which takes) and the sender (which gives back).
struct Budget {
    held: Mutex<usize>,
    freed: Condvar,
}

impl Budget {
    /// Waits until `n` more bytes fit (a single line always fits when nothing is held).
    fn take(&self, n: usize) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while *held > 0 && *held + n > MAX_HELD_BYTES {
            held = self.freed.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        *held += n;
    }

    fn give(&self, n: usize) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = held.saturating_sub(n);
        self.freed.notify_all();
    }
}

/// Reads stdin lines and sends them, in order, holding them while disconnected (at most
/// `MAX_HELD_LINES` lines and `MAX_HELD_BYTES` bytes; past that stdin waits). EOF on stdin
/// does not stop the client.
fn spawn_stdin_sender(client: &RtmClient) {
    let (tx, rx) = crossbeam_channel::bounded::<(u64, String)>(MAX_HELD_LINES);
    let budget = Arc::new(Budget {
        held: Mutex::new(0),
        freed: Condvar::new(),
    });
    let taker = budget.clone();
    let spawned = std::thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            read_stdin_lines(MAX_LINE, |number, line| {
                // Checked here so the stderr lines come in stdin order; held as text, the
                // smallest form.
                match serde_json::from_str::<Value>(line) {
                    Ok(v) if v.is_object() => {
                        taker.take(line.len());
                        return tx.send((number, line.to_string())).is_ok();
                    }
                    Ok(_) => skipped(number, "not a JSON object"),
                    Err(e) => skipped(number, &format!("not JSON ({e})")),
                }
                true
            });
        });
    if let Err(e) = spawned {
        log::error!("cannot read stdin: {e}");
        return;
    }
    let handle = client.handle();
    let spawned = std::thread::Builder::new()
        .name("stdin-sender".into())
        .spawn(move || {
            for (number, line) in rx.iter() {
                budget.give(line.len());
                let Ok(mut v) = serde_json::from_str::<Value>(&line) else {
                    // Checked by the reader: cannot happen.
                    continue;
                };
                drop(line);
                let mut held = false;
                loop {
                    match handle.send_over_websocket(v) {
                        Ok(id) => {
                            log::debug!("stdin line {number} sent with id {id}");
                            break;
                        }
                        // Held while disconnected, while the send throttle holds chat
                        // messages back (it paces them, it never drops them), or while its
                        // queue is full: stdin is the bounded buffer then, and the lines
                        // keep their order (this thread sends them one by one).
                        Err(e)
                            if matches!(
                                e.kind(),
                                SendErrorKind::NotConnected
                                    | SendErrorKind::QueueFull
                                    | SendErrorKind::Throttled
                            ) =>
                        {
                            if !held {
                                held = true;
                                if e.kind() == &SendErrorKind::Throttled {
                                    log::debug!("stdin line {number} held by the send throttle");
                                } else {
                                    log::debug!("stdin line {number} held until connected");
                                }
                            }
                            v = e.into_payload();
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(e) => {
                            skipped(number, &e.kind().to_string());
                            break;
                        }
                    }
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot send stdin lines: {e}");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::{Budget, MAX_HELD_BYTES};

    #[test]
    fn the_budget_holds_the_reader_back_until_lines_are_sent() {
        let budget = Arc::new(Budget {
            held: Mutex::new(0),
            freed: Condvar::new(),
        });
        // A line larger than the budget still passes when nothing is held.
        budget.take(MAX_HELD_BYTES + 1);
        budget.give(MAX_HELD_BYTES + 1);
        budget.take(MAX_HELD_BYTES - 10);
        let (done_tx, done) = mpsc::channel();
        let b = budget.clone();
        let t = std::thread::spawn(move || {
            b.take(100);
            done_tx.send(()).unwrap();
        });
        assert!(
            done.recv_timeout(Duration::from_millis(200)).is_err(),
            "the reader must wait while the budget is used up"
        );
        budget.give(MAX_HELD_BYTES - 10);
        done.recv_timeout(Duration::from_secs(10))
            .expect("the reader goes on once lines are sent");
        t.join().unwrap();
        assert_eq!(*budget.held.lock().unwrap(), 100);
    }
}
