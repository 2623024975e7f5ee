//! Handlers by event name, for any handler type (RTM's `Fn(&Payload)`, Socket Mode's
//! `Fn(&Request)`).
//!
//! Copy-on-write: the dispatcher keeps a [`Snapshot`] and refreshes it only when the version
//! moves (one atomic load per frame), so registering from inside a handler never deadlocks,
//! the hot path takes no lock, and a handler added during dispatch sees every later frame.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// FNV-1a: event names are short and trusted enough; SipHash showed up in dispatch profiles.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Table<H> = HashMap<String, Vec<Arc<H>>, std::hash::BuildHasherDefault<Fnv>>;

/// See the module docs.
pub(crate) struct Registry<H: ?Sized> {
    table: RwLock<Arc<Table<H>>>,
    version: AtomicU64,
}

impl<H: ?Sized> Default for Registry<H> {
    fn default() -> Self {
        Registry {
            table: RwLock::new(Arc::new(Table::default())),
            version: AtomicU64::new(0),
        }
    }
}

impl<H: ?Sized> Registry<H> {
    pub(crate) fn add(&self, event: &str, handler: Arc<H>) {
        let mut guard = self.table.write().unwrap_or_else(|e| e.into_inner());
        let mut table: Table<H> = (**guard).clone();
        table.entry(event.to_string()).or_default().push(handler);
        *guard = Arc::new(table);
        self.version.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn snapshot(&self) -> Snapshot<H> {
        let version = self.version.load(Ordering::Acquire);
        let table = self.table.read().unwrap_or_else(|e| e.into_inner()).clone();
        let star = table.get("*").cloned().unwrap_or_default();
        Snapshot {
            table,
            star,
            version,
        }
    }

    /// Refreshes `snap` if handlers were added since it was taken.
    pub(crate) fn refresh(&self, snap: &mut Snapshot<H>) {
        if self.version.load(Ordering::Acquire) != snap.version {
            *snap = self.snapshot();
        }
    }
}

/// The dispatcher's view of the registry.
pub(crate) struct Snapshot<H: ?Sized> {
    table: Arc<Table<H>>,
    /// The `"*"` handlers, looked up once per snapshot rather than once per event.
    star: Vec<Arc<H>>,
    version: u64,
}

/// A handler that panicked.
pub(crate) struct Panicked {
    pub event: String,
    pub message: String,
}

impl Panicked {
    /// Logs the panic and gives the data of the `error` event to dispatch for it — none when
    /// an `error` handler panicked, so a panicking error handler cannot loop.
    pub(crate) fn report(&self) -> Option<serde_json::Value> {
        let msg = format!("a handler for {:?} panicked: {}", self.event, self.message);
        log::error!("{msg}");
        (self.event != "error").then(|| crate::engine::rules::client_error("handler_panic", &msg))
    }
}

impl<H: ?Sized> Snapshot<H> {
    /// True when some handler (named or `"*"`) would see an event called `event`.
    pub(crate) fn wants(&self, event: &str) -> bool {
        !self.star.is_empty() || self.table.contains_key(event)
    }

    /// Calls the handlers of `event`, then the `"*"` handlers (once, even for an event named
    /// `"*"`), in registration order, through `call`. A panicking handler is caught; the others
    /// still run.
    pub(crate) fn call(&self, event: &str, panics: &mut Vec<Panicked>, call: impl Fn(&H)) {
        self.call_with(event, true, panics, call);
    }

    /// Like [`Snapshot::call`] without the `"*"` handlers: for a frame dispatched under several
    /// names (Socket Mode), which reaches `"*"` once, last.
    pub(crate) fn call_named(&self, event: &str, panics: &mut Vec<Panicked>, call: impl Fn(&H)) {
        self.call_with(event, false, panics, call);
    }

    fn call_with(&self, event: &str, star: bool, panics: &mut Vec<Panicked>, call: impl Fn(&H)) {
        let named = if event == "*" {
            &[][..]
        } else {
            self.table.get(event).map_or(&[][..], Vec::as_slice)
        };
        let star = if star { &self.star[..] } else { &[][..] };
        for h in named.iter().chain(star) {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| call(h))) {
                let message = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a handler panicked".to_string());
                panics.push(Panicked {
                    event: event.to_string(),
                    message,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    type H = dyn Fn(&str) + Send + Sync;

    #[test]
    fn snapshot_refreshes_only_when_handlers_change() {
        let r = Registry::<H>::default();
        let mut snap = r.snapshot();
        assert!(snap.table.is_empty());
        r.add("message", Arc::new(|_| {}));
        r.refresh(&mut snap);
        assert_eq!(snap.table["message"].len(), 1);
        assert!(snap.wants("message") && !snap.wants("user_typing"));
        r.add("*", Arc::new(|_| {}));
        r.refresh(&mut snap);
        assert!(snap.wants("user_typing"));
    }

    #[test]
    fn star_handlers_run_once_even_for_an_event_named_star() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let r = Registry::<H>::default();
        let s = seen.clone();
        r.add(
            "*",
            Arc::new(move |e| s.lock().unwrap().push(e.to_string())),
        );
        let snap = r.snapshot();
        let mut panics = Vec::new();
        snap.call("*", &mut panics, |h| h("*"));
        snap.call("hello", &mut panics, |h| h("hello"));
        assert_eq!(*seen.lock().unwrap(), ["*", "hello"]);
    }

    #[test]
    fn a_panicking_handler_is_reported_and_the_next_still_runs() {
        let ran = Arc::new(Mutex::new(0));
        let r = Registry::<H>::default();
        r.add("x", Arc::new(|_| panic!("boom")));
        let c = ran.clone();
        r.add("x", Arc::new(move |_| *c.lock().unwrap() += 1));
        let mut panics = Vec::new();
        r.snapshot().call("x", &mut panics, |h| h("x"));
        assert_eq!(*ran.lock().unwrap(), 1);
        assert_eq!(panics.len(), 1);
        assert_eq!(panics[0].message, "boom");
    }
}
