//! The engine state shared by a client, its handles and its threads: the stop request, the
//! pinger's wake-ups, the current connection, and the run's bookkeeping.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::link::Link;
use crate::signals;
use crate::transport::MAX_TIMEOUT;

/// The names of a client's threads (at most 15 bytes each, Linux's limit).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    pub reader: &'static str,
    pub pinger: &'static str,
    pub dispatcher: &'static str,
    /// The short-lived thread of each connect call.
    pub dial: &'static str,
    /// The thread that reads a replaced connection until it can close (make before break).
    pub drain: &'static str,
}

/// What the engine needs to know of a client's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub names: Names,
    /// The connect call, for logs (`rtm.connect`).
    pub connect_method: &'static str,
    pub auto_reconnect: bool,
    /// `hello` must arrive within this long of the websocket opening.
    pub hello_timeout: Duration,
    pub ping_interval: Duration,
    pub pong_deadline: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub healthy_after: Duration,
    pub connect_burst: u32,
    pub connect_interval: Duration,
    pub max_attempts: Option<u32>,
    pub channel_capacity: usize,
    /// The pong deadline counts from the last inbound frame (Socket Mode) rather than from
    /// each ping (RTM).
    pub silence_deadline: bool,
    /// How many connections to keep open at once, each with its own reader thread and
    /// reconnect loop (Socket Mode's `connections(n)`; RTM: 1).
    pub slots: usize,
}

/// See the module docs.
pub(crate) struct Core {
    pub(crate) settings: Settings,
    /// The open connections (one per slot, plus none while a slot reconnects).
    links: Mutex<Vec<Arc<Link>>>,
    stop: AtomicBool,
    /// Bumped to wake the pinger early (a message was queued, `hello` arrived, bytes wait).
    kicks: AtomicU64,
    wake: (Mutex<()>, Condvar),
    /// True while a `start()` that handles signals runs.
    signals: AtomicBool,
    running: AtomicBool,
    /// The library threads of the current run, so a join from one of them is recognised.
    threads: Mutex<Vec<ThreadId>>,
    /// Library threads of the current run still alive; the last one to end ends the run.
    live: AtomicUsize,
    /// A connection is being replaced (make before break): at most one at a time, so a client
    /// never holds more than `slots + 1` sockets.
    handover: AtomicBool,
    /// The run ends on its own (a fatal answer, a lost connection without auto_reconnect):
    /// events already received are still dispatched, unlike after a requested stop.
    keep_queue: AtomicBool,
    /// Pseudo-events raised off the reader (see [`Core::notify`]), for the dispatcher.
    notices: (Sender<Notice>, Receiver<Notice>),
}

/// A pseudo-event for the dispatcher: its name and data.
pub(crate) type Notice = (&'static str, serde_json::Value);

impl Core {
    pub(crate) fn new(settings: Settings) -> Core {
        Core {
            settings,
            links: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            kicks: AtomicU64::new(0),
            wake: (Mutex::new(()), Condvar::new()),
            signals: AtomicBool::new(false),
            running: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            handover: AtomicBool::new(false),
            keep_queue: AtomicBool::new(false),
            notices: crossbeam_channel::unbounded(),
        }
    }

    /// Has the dispatcher dispatch a pseudo-event (`error`) between the items it is handed;
    /// never blocks. For what a thread other than the reader learns (Socket Mode's ack
    /// deadline of a deferred ack): at most one per delivered envelope, so it stays small.
    pub(crate) fn notify(&self, name: &'static str, data: serde_json::Value) {
        let _ = self.notices.0.send((name, data));
    }

    /// The dispatcher's end of [`Core::notify`].
    pub(crate) fn notices(&self) -> Receiver<Notice> {
        self.notices.1.clone()
    }

    fn lock_links(&self) -> MutexGuard<'_, Vec<Arc<Link>>> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first open connection, if any (with one slot: the connection).
    pub(crate) fn link(&self) -> Option<Arc<Link>> {
        self.lock_links().first().cloned()
    }

    /// Every open connection.
    pub(crate) fn links(&self) -> Vec<Arc<Link>> {
        self.lock_links().clone()
    }

    /// A connection opened.
    pub(crate) fn add_link(&self, link: Arc<Link>) {
        self.lock_links().push(link);
        // The pinger schedules per connection (the hello deadline, pings).
        self.kick();
    }

    /// A connection ended (or was handed over to a drain).
    pub(crate) fn remove_link(&self, link: &Arc<Link>) {
        self.lock_links().retain(|l| !Arc::ptr_eq(l, link));
        self.kick();
    }

    /// Asks the client to stop; never blocks.
    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    fn wake_all(&self) {
        // Wake the readers from their blocking reads now rather than at the next tick.
        for link in self.links() {
            link.conn.wake_reader();
        }
        let _guard = self.lock_wake();
        self.wake.1.notify_all();
    }

    fn lock_wake(&self) -> MutexGuard<'_, ()> {
        self.wake.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the run on the client's own account (not a requested stop): the threads stop, but
    /// what was received is still dispatched.
    pub(crate) fn end_run_keeping_queue(&self) {
        if !self.stopping() {
            self.keep_queue.store(true, Ordering::SeqCst);
        }
        self.request_stop();
    }

    /// True when queued events must be dropped: a stop was requested (not a run that ended on
    /// its own).
    pub(crate) fn discarding(&self) -> bool {
        self.stopping() && !self.keep_queue.load(Ordering::SeqCst)
    }

    /// True once a stop was requested, by a call or (when handled) a signal.
    pub(crate) fn stopping(&self) -> bool {
        if self.stop.load(Ordering::SeqCst) {
            return true;
        }
        if self.signals.load(Ordering::Relaxed) && signals::received() {
            log::info!("stop signal received: stopping");
            self.stop.store(true, Ordering::SeqCst);
            for link in self.links() {
                link.conn.wake_reader();
            }
            return true;
        }
        false
    }

    /// Wakes the pinger early (see [`Core::wait_kickable`]).
    pub(crate) fn kick(&self) {
        self.kicks.fetch_add(1, Ordering::SeqCst);
        let _guard = self.lock_wake();
        self.wake.1.notify_all();
    }

    /// The kick counter; sample it before doing the work a kick asks for.
    pub(crate) fn kicks(&self) -> u64 {
        self.kicks.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`, waking early on a stop request. Returns `stopping()`.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        self.wait_until(d, None)
    }

    /// Like [`Core::wait`], also returning early (with `false`) once the kick counter differs
    /// from `seen`, including a kick that came before this call, so none is lost.
    pub(crate) fn wait_kickable(&self, d: Duration, seen: u64) -> bool {
        self.wait_until(d, Some(seen))
    }

    fn wait_until(&self, d: Duration, seen: Option<u64>) -> bool {
        // Signals only set a flag, so look at it at least every 100 ms.
        const SLICE: Duration = Duration::from_millis(100);
        let now = Instant::now();
        let deadline = now.checked_add(d.min(MAX_TIMEOUT)).unwrap_or(now);
        let mut guard = self.lock_wake();
        loop {
            if self.stopping() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || seen.is_some_and(|k| self.kicks.load(Ordering::SeqCst) != k) {
                return false;
            }
            // Only a handled signal needs polling; otherwise sleep the whole time.
            let slice = if self.signals.load(Ordering::Relaxed) {
                left.min(SLICE)
            } else {
                left
            };
            guard = self
                .wake
                .1
                .wait_timeout(guard, slice)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Starts a run; `false` when one is already going.
    pub(crate) fn begin_run(&self, handle_signals: bool) -> bool {
        if self
            .running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        self.stop.store(false, Ordering::SeqCst);
        self.handover.store(false, Ordering::SeqCst);
        self.keep_queue.store(false, Ordering::SeqCst);
        // What the last run raised and did not dispatch belongs to it.
        while self.notices.1.try_recv().is_ok() {}
        self.signals.store(handle_signals, Ordering::SeqCst);
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        true
    }

    /// Ends a run whose threads never started.
    pub(crate) fn abort_run(&self) {
        if self.live.load(Ordering::SeqCst) == 0 {
            self.end_run();
        }
    }

    fn end_run(&self) {
        self.signals.store(false, Ordering::SeqCst);
        self.lock_links().clear();
        self.running.store(false, Ordering::SeqCst);
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// A library thread is about to start.
    pub(crate) fn thread_spawning(&self) {
        self.live.fetch_add(1, Ordering::SeqCst);
    }

    /// A library thread of this run started (on that thread).
    pub(crate) fn thread_started(&self) {
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(std::thread::current().id());
    }

    /// A library thread ended (or never started); the last one ends the run, so a client
    /// whose `Running` was dropped on one of its own threads can start again.
    pub(crate) fn thread_ended(&self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.end_run();
        }
    }

    /// Claims the right to replace a connection; `false` while another replacement runs.
    pub(crate) fn begin_handover(&self) -> bool {
        self.handover
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The replacement is over (the old connection closed).
    pub(crate) fn end_handover(&self) {
        self.handover.store(false, Ordering::SeqCst);
    }

    /// True on one of this client's library threads (a handler runs on the dispatcher).
    pub(crate) fn on_client_thread(&self) -> bool {
        let me = std::thread::current().id();
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&me)
    }
}
