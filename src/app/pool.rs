//! The listeners' worker pool: a fixed number of named threads over a bounded queue. A full
//! queue refuses the job (the caller answers 503) instead of blocking a socket reader or an
//! HTTP thread.

use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};

pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct Pool {
    tx: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// `threads` workers named `name-<i>` (Linux shows 15 bytes) over a queue of `capacity`.
    pub(crate) fn start(name: &str, threads: usize, capacity: usize) -> std::io::Result<Pool> {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(capacity);
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads {
            let rx = rx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        job();
                    }
                })?;
            handles.push(handle);
        }
        Ok(Pool {
            tx: Some(tx),
            threads: handles,
        })
    }

    /// Queues `job`; gives it back when the queue is full.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        match &self.tx {
            Some(tx) => tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(j) | TrySendError::Disconnected(j) => j,
            }),
            None => Err(job),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping the sender ends every worker once the queue is empty.
        self.tx = None;
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            // The last App clone may drop on a worker (a job held it): that one ends by
            // itself when its job returns.
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_full_queue_refuses_instead_of_blocking() {
        let pool = Pool::start("t-pool", 1, 1).unwrap();
        let (block_tx, block_rx) = crossbeam_channel::bounded::<()>(0);
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        pool.submit(Box::new(move || {
            let _ = started_tx.send(());
            let _ = block_rx.recv();
        }))
        .ok()
        .unwrap();
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(pool.submit(Box::new(|| {})).is_ok(), "one queued");
        assert!(pool.submit(Box::new(|| {})).is_err(), "the queue is full");
        drop(block_tx);
        drop(pool);
    }
}
