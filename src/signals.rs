//! SIGINT, SIGTERM and SIGHUP stop a running `start()`; outside one they keep their default
//! action.
//!
//! signal-hook cannot restore a previous handler, so the hooks are registered once per process
//! and steered by flags:
//! - `ARMED` (true while no `start()` with signal handling runs): the signal's default action
//!   runs (`register_conditional_default`), so a Ctrl-C after `start()` returned terminates the
//!   process as usual;
//! - `RECEIVED`: set by each signal; running clients see it and stop gracefully;
//! - a second SIGINT while a graceful stop is underway exits at once with status 130
//!   (`register_conditional_shutdown`).
//!
//! A process-wide ignored or custom handler for these signals is replaced by this scheme once a
//! client with `handle_signals(true)` has started.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

struct Flags {
    armed: Arc<AtomicBool>,
    received: Arc<AtomicBool>,
    int_received: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Option<Flags>> = OnceLock::new();
static ACTIVE: Mutex<usize> = Mutex::new(0);

fn flags() -> Option<&'static Flags> {
    FLAGS
        .get_or_init(|| {
            let f = Flags {
                armed: Arc::new(AtomicBool::new(true)),
                received: Arc::new(AtomicBool::new(false)),
                int_received: Arc::new(AtomicBool::new(false)),
            };
            let register = || -> std::io::Result<()> {
                // Order matters: the 130 exit checks the flag before this signal sets it, so
                // only a second SIGINT exits.
                flag::register_conditional_shutdown(SIGINT, 130, f.int_received.clone())?;
                flag::register(SIGINT, f.int_received.clone())?;
                for sig in [SIGINT, SIGTERM, SIGHUP] {
                    flag::register_conditional_default(sig, f.armed.clone())?;
                    flag::register(sig, f.received.clone())?;
                }
                Ok(())
            };
            match register() {
                Ok(()) => Some(f),
                Err(e) => {
                    log::warn!("cannot install signal handlers: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// While alive, signals stop running clients instead of killing the process.
pub(crate) struct SignalGuard(());

impl SignalGuard {
    pub(crate) fn install() -> SignalGuard {
        if let Some(f) = flags() {
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            if *active == 0 {
                f.received.store(false, Ordering::SeqCst);
                f.int_received.store(false, Ordering::SeqCst);
                f.armed.store(false, Ordering::SeqCst);
            }
            *active += 1;
        }
        SignalGuard(())
    }
}

/// True once a stop signal arrived while a guard is alive.
pub(crate) fn received() -> bool {
    flags().is_some_and(|f| f.received.load(Ordering::SeqCst))
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        if let Some(f) = flags() {
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            *active = active.saturating_sub(1);
            if *active == 0 {
                f.armed.store(true, Ordering::SeqCst);
                f.int_received.store(false, Ordering::SeqCst);
                f.received.store(false, Ordering::SeqCst);
            }
        }
    }
}
