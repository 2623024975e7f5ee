//! Stop signals: the first SIGINT, SIGTERM or SIGHUP asks for a graceful stop; a second one,
//! or a stop that has not finished `STOP_GRACE` later, ends the process at once.
//!
//! The second signal exits from inside the signal handler (`_exit`, no stdout flush), so it
//! works whatever the other threads are doing, including a handler blocked writing to a stdout
//! that nobody reads. The exit status is 128 + the signal's number, as a shell reports a process
//! killed by it: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;
use signal_hook::iterator::Signals;

/// How long a graceful stop may take before the process exits anyway.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

const STOP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// The exit status for a stop signal that could not stop the process gracefully.
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// A signal's name for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Installs the handlers. `on_first` runs on a thread of its own for the first stop signal;
/// it must start the graceful stop and return.
pub fn install(on_first: impl FnOnce(i32) + Send + 'static) -> io::Result<()> {
    let received = Arc::new(AtomicBool::new(false));
    // Order matters: the exit checks the flag before this signal sets it, so only a second
    // signal exits.
    for sig in STOP_SIGNALS {
        flag::register_conditional_shutdown(sig, exit_code(sig), received.clone())?;
    }
    for sig in STOP_SIGNALS {
        flag::register(sig, received.clone())?;
    }
    let mut signals = Signals::new(STOP_SIGNALS)?;
    std::thread::Builder::new()
        .name("cli-signals".into())
        .spawn(move || {
            let Some(sig) = signals.forever().next() else {
                return;
            };
            log::info!("stop signal received ({}): stopping", name(sig));
            on_first(sig);
            // Normally the process has ended long before this wakes up.
            std::thread::sleep(STOP_GRACE);
            stuck_exit(sig);
        })?;
    Ok(())
}

/// Exits with 128 + `sig` after a line on stderr, without flushing stdout (it may be the
/// thing that is stuck). The line is written from a thread of its own, so a blocked stderr
/// cannot keep the process alive either.
fn stuck_exit(sig: i32) -> ! {
    let (done_tx, done) = mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("cli-exit".into())
        .spawn(move || {
            eprintln!(
                "slack-rtm: the stop after {} did not finish within {} s (is stdout blocked?); exiting",
                name(sig),
                STOP_GRACE.as_secs()
            );
            let _ = done_tx.send(());
        });
    let _ = done.recv_timeout(Duration::from_millis(500));
    signal_hook::low_level::exit(exit_code(sig))
}
