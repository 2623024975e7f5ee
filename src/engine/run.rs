//! Starting a client's threads and waiting for them: [`launch`] and [`Threads`].

use std::sync::Arc;
use std::thread::JoinHandle;

use super::core::Core;
use super::dispatcher::{self, Item};
use super::pinger;
use super::protocol::{Dispatch, Protocol};
use super::reader;
use crate::error::{Error, Phase};
use crate::signals::SignalGuard;

/// The running threads of one client run. Dropping it stops the client and joins them.
pub(crate) struct Threads<P: Protocol> {
    p: Arc<P>,
    /// One reader per slot (connection), each with its own reconnect loop.
    readers: Vec<JoinHandle<Result<(), Error>>>,
    pinger: Option<JoinHandle<()>>,
    dispatcher: Option<JoinHandle<()>>,
    signals: Option<SignalGuard>,
    /// Set once `join_threads` ran (the run ended or was detached).
    done: bool,
}

/// Ends the run when the last library thread ends, however it ends.
struct Exit<'a>(&'a Core);

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        self.0.thread_ended();
    }
}

/// Starts the reader, pinger and dispatcher of `p`; `Error::AlreadyRunning` when it runs.
pub(crate) fn launch<P: Protocol, D: Dispatch<Note = P::Note>>(
    p: &Arc<P>,
    dispatch: D,
    handle_signals: bool,
) -> Result<Threads<P>, Error> {
    let core = p.core();
    if !core.begin_run(handle_signals) {
        return Err(Error::AlreadyRunning);
    }
    let mut threads = Threads {
        p: p.clone(),
        readers: Vec::new(),
        pinger: None,
        dispatcher: None,
        signals: handle_signals.then(SignalGuard::install),
        done: false,
    };
    let capacity = core.settings.channel_capacity;
    let (tx, rx) = crossbeam_channel::bounded::<Item<P::Note>>(capacity);
    let (pool_tx, pool_rx) = crossbeam_channel::bounded(capacity.saturating_add(2));
    let names = core.settings.names;
    threads.dispatcher = Some(spawn(p, names.dispatcher, move |p| {
        dispatcher::run(p, dispatch, rx, pool_tx)
    })?);
    threads.pinger = Some(spawn(p, names.pinger, pinger::run)?);
    let slots = core.settings.slots.max(1);
    for slot in 1..=slots {
        let name = if slots == 1 {
            names.reader.to_string()
        } else {
            format!("{}-{slot}", names.reader)
        };
        let (tx, pool_rx) = (tx.clone(), pool_rx.clone());
        threads
            .readers
            .push(spawn(p, &name, move |p| reader::run(p, tx, pool_rx))?);
    }
    drop(tx);
    Ok(threads)
}

fn spawn<P: Protocol, T: Send + 'static>(
    p: &Arc<P>,
    name: &str,
    body: impl FnOnce(Arc<P>) -> T + Send + 'static,
) -> Result<JoinHandle<T>, Error> {
    let core = p.core();
    core.thread_spawning();
    let worker = p.clone();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let core = worker.core();
            let _exit = Exit(core);
            core.thread_started();
            body(worker.clone())
        })
        .map_err(|e| {
            core.thread_ended();
            Error::Io {
                phase: Phase::Connect,
                source: e,
            }
        })
}

impl<P: Protocol> Threads<P> {
    /// Requests a stop (never blocks).
    pub(crate) fn stop(&self) {
        self.p.core().request_stop();
    }

    /// Waits for every thread and returns the run's result. On one of the client's own
    /// threads (a handler) it cannot wait for itself: it requests the stop, lets the threads
    /// end on their own, and returns [`Error::JoinFromClientThread`] at once.
    pub(crate) fn join(mut self) -> Result<(), Error> {
        self.join_threads()
    }

    fn join_threads(&mut self) -> Result<(), Error> {
        let core = self.p.core();
        self.done = true;
        if core.on_client_thread() {
            core.request_stop();
            // Detached: each ends by itself once the handler returns; the last one ends the
            // run, so the client can start again.
            self.readers.clear();
            self.pinger = None;
            self.dispatcher = None;
            self.signals = None;
            return Err(Error::JoinFromClientThread);
        }
        let names = core.settings.names;
        let panicked = |name: &str| Error::ThreadPanicked {
            thread: name.to_string(),
        };
        let mut result = Ok(());
        // The first reader to end requests the stop, so the others follow; the run's result
        // is the first failure (a fatal answer, say), or Ok.
        for r in self.readers.drain(..) {
            let ended = r.join().unwrap_or_else(|_| Err(panicked(names.reader)));
            if result.is_ok() {
                result = ended;
            }
        }
        // The readers have ended (the pinger's wait sees the stop flag they set; the
        // dispatcher sees the channel close).
        core.request_stop();
        if let Some(t) = self.pinger.take() {
            if t.join().is_err() && result.is_ok() {
                result = Err(panicked(names.pinger));
            }
        }
        if let Some(t) = self.dispatcher.take() {
            if t.join().is_err() && result.is_ok() {
                result = Err(panicked(names.dispatcher));
            }
        }
        self.signals = None;
        result
    }
}

impl<P: Protocol> Drop for Threads<P> {
    fn drop(&mut self) {
        if !self.readers.is_empty() || self.pinger.is_some() || self.dispatcher.is_some() {
            self.p.core().request_stop();
            let _ = self.join_threads();
        } else if !self.done {
            // A launch that failed before its threads started releases the client.
            self.p.core().abort_run();
        }
    }
}
