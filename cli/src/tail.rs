//! `slack-rtm tail`: print every frame Slack sends; send stdin lines.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
use slack_rtm::{Error, Payload, RtmClient, SendErrorKind};

use crate::args::{self, Asked, Usage};
use crate::signals;

/// The longest stdin line `tail` accepts, in bytes. A websocket frame may hold 16,384 bytes;
/// a line may be longer only by whitespace that the send drops, so anything past this can
/// never be sent.
pub const MAX_LINE: usize = 64 * 1024;
/// Lines held while disconnected, at most.
const MAX_HELD_LINES: usize = 1000;
/// Bytes of stdin lines held while disconnected, at most; past it stdin is not read.
pub const MAX_HELD_BYTES: usize = 1024 * 1024;

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    let t = match args::parse_tail(args)? {
        Ok(t) => t,
        Err(Asked::Help) => {
            outln!("{}", args::tail_usage());
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

/// The exit code of a client run (`tail`, `socket`), with its one stderr line on failure.
pub fn exit_code(run: Result<(), Error>) -> ExitCode {
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slack-rtm: {e}");
            // 3 is for Slack's own refusal only; a fatal local problem (an unusable URL) is 1.
            let refused = matches!(e, Error::Api { .. }) && e.is_fatal();
            ExitCode::from(if refused { 3 } else { 1 })
        }
    }
}

/// Prints a frame on one line: raw line breaks (JSON allows them only as whitespace) removed.
pub fn print_frame(raw: &str) {
    let mut out = std::io::stdout().lock();
    let result = if raw.contains(['\n', '\r']) {
        let line: String = raw.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        writeln!(out, "{line}")
    } else {
        writeln!(out, "{raw}")
    };
    if result.and_then(|()| out.flush()).is_err() {
        // stdout is gone (a closed pipe): nothing left to do but stop quietly.
        std::process::exit(0);
    }
}

/// Reports a stdin line that was not sent: straight to stderr, so it shows whatever
/// `RUST_LOG` says (one clear stderr line per refused line).
pub fn skipped(number: u64, why: &str) {
    eprintln!("stdin line {number} skipped: {why}");
}

/// Reads stdin line by line; see [`read_lines`].
pub fn read_stdin_lines(max: usize, each: impl FnMut(u64, &str) -> bool) {
    read_lines(std::io::stdin().lock(), max, each);
}

/// Reads `input` line by line, handing each line (1-based number, text without its line break
/// and surrounding whitespace) to `each`. A line longer than `max` bytes is skipped as it is
/// read, never held whole; a line that is not UTF-8 is skipped; each gets a line on stderr.
/// Reading ends at EOF, on a read error, or when `each` returns false.
pub fn read_lines(mut input: impl BufRead, max: usize, mut each: impl FnMut(u64, &str) -> bool) {
    let mut buf = Vec::new();
    let mut too_long = false;
    let mut number = 0u64;
    loop {
        let (used, line_ends) = match input.fill_buf() {
            Ok([]) => {
                if too_long || !buf.is_empty() {
                    number += 1;
                    one_line(number, &buf, too_long, max, &mut each);
                }
                log::info!("stdin closed after {number} line(s); still running");
                return;
            }
            Ok(chunk) => {
                let (part, used, line_ends) = match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => (&chunk[..i], i + 1, true),
                    None => (chunk, chunk.len(), false),
                };
                if !too_long {
                    if buf.len() + part.len() > max {
                        too_long = true;
                        buf = Vec::new();
                    } else {
                        buf.extend_from_slice(part);
                    }
                }
                (used, line_ends)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::error!("cannot read stdin: {e}; still running");
                return;
            }
        };
        input.consume(used);
        if line_ends {
            number += 1;
            if !one_line(number, &buf, too_long, max, &mut each) {
                return;
            }
            buf.clear();
            too_long = false;
        }
    }
}

fn one_line(
    number: u64,
    buf: &[u8],
    too_long: bool,
    max: usize,
    each: &mut impl FnMut(u64, &str) -> bool,
) -> bool {
    if too_long {
        skipped(number, &format!("longer than {max} bytes"));
        return true;
    }
    let Ok(line) = std::str::from_utf8(buf) else {
        skipped(number, "not UTF-8");
        return true;
    };
    let line = line.trim();
    line.is_empty() || each(number, line)
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

    use super::{read_lines, Budget, MAX_HELD_BYTES};

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

    fn lines(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut seen = Vec::new();
        // A tiny buffer so lines span many reads.
        let reader = std::io::BufReader::with_capacity(3, input);
        read_lines(reader, max, |n, l| {
            seen.push((n, l.to_string()));
            true
        });
        seen
    }

    #[test]
    fn lines_are_numbered_trimmed_and_the_last_needs_no_line_break() {
        assert_eq!(
            lines(b" a \n\nbb\r\nccc", 10),
            [(1, "a".into()), (3, "bb".into()), (4, "ccc".into())]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_and_the_next_one_still_read() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\n12345678\n123456789\nok");
        assert_eq!(lines(&input, 8), [(2, "12345678".into()), (4, "ok".into())]);
        // Also at EOF.
        assert_eq!(lines(b"ok\n123456789", 8), [(1, "ok".into())]);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_skipped() {
        assert_eq!(lines(b"\xff\xfe\nok\n", 8), [(2, "ok".into())]);
    }

    #[test]
    fn reading_stops_when_asked() {
        let mut seen = 0;
        read_lines(&b"a\nb\nc\n"[..], 8, |_, _| {
            seen += 1;
            seen < 2
        });
        assert_eq!(seen, 2);
    }
}
