//! One open websocket connection and its protocol state.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::rules::ConnRules;
use crate::transport::{Connection, CLOSE_BOUND};

/// See the module docs.
pub(crate) struct Link {
    pub(crate) conn: Connection,
    /// Set by the reader when the protocol's `hello` arrives, before any handler sees it.
    ready: AtomicBool,
    /// Set by the reader when the first frame arrives (a silent connection is never healthy).
    spoke: AtomicBool,
    rules: Mutex<ConnRules>,
    /// Why the client itself ended this connection (missed pong, goodbye, ...).
    end_reason: Mutex<Option<String>>,
    /// The server's stated reason for ending it (Socket Mode's `disconnect` reason).
    disconnect_reason: Mutex<Option<String>>,
    /// Numbered from 1 in the order connections opened, for the whole process.
    id: u64,
    /// When to replace this connection ahead of the server's own refresh (make before break).
    handover_at: Mutex<Option<Instant>>,
    /// Ended on the server's word not to come back: no reconnect after it.
    last: AtomicBool,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Link {
    pub(crate) fn new(conn: Connection, rules: ConnRules) -> Link {
        Link {
            conn,
            ready: AtomicBool::new(false),
            spoke: AtomicBool::new(false),
            rules: Mutex::new(rules),
            end_reason: Mutex::new(None),
            disconnect_reason: Mutex::new(None),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            handover_at: Mutex::new(None),
            last: AtomicBool::new(false),
        }
    }

    /// Marks this connection as the last one (see [`Link::is_last`]).
    pub(crate) fn set_last(&self) {
        self.last.store(true, Ordering::Release);
    }

    /// True when the server said not to reconnect after this connection.
    pub(crate) fn is_last(&self) -> bool {
        self.last.load(Ordering::Acquire)
    }

    /// Asks the reader to replace this connection at `at` (make before break), before the
    /// server refreshes it.
    pub(crate) fn schedule_handover(&self, at: Instant) {
        *self.handover_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// True once a scheduled handover is due.
    pub(crate) fn handover_due(&self, now: Instant) -> bool {
        self.handover_in(now).is_some_and(|left| left.is_zero())
    }

    /// How long until a scheduled handover (zero when due); `None` when none is scheduled.
    pub(crate) fn handover_in(&self, now: Instant) -> Option<std::time::Duration> {
        self.handover_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|at| at.saturating_duration_since(now))
    }

    /// This connection's number (see the `close` event's `connection`).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Records the server's reason for ending this connection.
    pub(crate) fn set_disconnect_reason(&self, reason: &str) {
        *self
            .disconnect_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(reason.to_string());
    }

    pub(crate) fn disconnect_reason(&self) -> Option<String> {
        self.disconnect_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True once `hello` arrived on this connection.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Marks the connection ready; `true` the first time only.
    pub(crate) fn set_ready(&self) -> bool {
        !self.ready.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn spoke(&self) -> bool {
        self.spoke.load(Ordering::Acquire)
    }

    pub(crate) fn set_spoke(&self) {
        self.spoke.store(true, Ordering::Release);
    }

    pub(crate) fn rules(&self) -> MutexGuard<'_, ConnRules> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the connection from our side; the reader sees it end and reconnects. `graceful`
    /// sends a close frame first, bounded by [`CLOSE_BOUND`].
    pub(crate) fn end(&self, reason: &str, graceful: bool) {
        {
            let mut r = self.end_reason.lock().unwrap_or_else(|e| e.into_inner());
            if r.is_none() {
                *r = Some(reason.to_string());
            }
        }
        if graceful {
            self.conn.close_and_drop(1000, reason, CLOSE_BOUND);
        } else {
            self.conn.kill();
        }
    }

    pub(crate) fn end_reason(&self) -> Option<String> {
        self.end_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
