//! The owner of every background worker's life: each one (the inbound and
//! outbound queues' workers, webhook deliveries, the sweepers, the message
//! feed's relay, the HTTP server, a web chat's turns) is started here under a
//! name, tracked, and stopped here.
//!
//! Stopping has two steps. [`Supervisor::shutdown`] first cancels the token
//! every worker watches ([`Supervisor::stopping`]): a worker then takes no new
//! work and returns once what it holds is done. Whatever has not returned when
//! the grace period ends is cut off at its next `.await`. What the workers had
//! claimed and not settled is given back by their owners afterwards (see
//! [`App::shutdown`](crate::App::shutdown)), and only then is the pool closed.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Starts, tracks and stops the background workers of one node. Cheap to
/// clone; every clone is the same supervisor.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    tracker: TaskTracker,
    /// Cancelled when shutdown begins: take no new work.
    stop: CancellationToken,
    /// Cancelled when the grace period is over: whatever still runs is dropped.
    cut_off: CancellationToken,
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Every worker returned within the grace period (none was cut off).
    pub finished_in_time: bool,
    /// Queue rows this node had claimed and not settled, given back so that
    /// another node takes them at once instead of when their lease ends.
    pub leases_released: usize,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor::default()
    }

    /// The token every worker watches: cancelled when shutdown begins.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// True once shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Starts a worker, `name`d in logs. `worker` is given the stop token; the
    /// future it returns must stop taking work when the token is cancelled and
    /// return once what it already took is finished.
    pub fn spawn<W, F>(&self, name: &'static str, worker: W)
    where
        W: FnOnce(CancellationToken) -> F,
        F: Future<Output = ()> + Send + 'static,
    {
        let work = worker(self.stop.clone());
        let cut_off = self.cut_off.clone();
        self.tracker.spawn(async move {
            tracing::debug!(worker = name, "started");
            tokio::select! {
                () = work => tracing::debug!(worker = name, "stopped"),
                () = cut_off.cancelled() => {
                    tracing::warn!(worker = name, "cut off: it did not finish within the shutdown grace period");
                }
            }
        });
    }

    /// Starts a worker that runs `pass` at once and then every `every`, until
    /// shutdown begins (a pass under way is finished first).
    pub fn every<P, F>(&self, name: &'static str, every: Duration, pass: P)
    where
        P: FnMut() -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn(name, move |stop| async move {
            let mut pass = pass;
            // An interval cannot be zero.
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                pass().await;
            }
        });
    }

    /// Tells every worker to stop taking work and waits up to `grace` for
    /// them to return; then cuts off the rest. True when none had to be cut off.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait()).await.is_ok() {
            return true;
        }
        self.cut_off.cancel();
        // A worker cut off ends at its next `.await`; one stuck in blocking
        // code cannot be stopped, and is not waited for long.
        if tokio::time::timeout(CUT_OFF_WAIT, self.tracker.wait()).await.is_err() {
            tracing::error!(workers = self.tracker.len(), "workers still running after being cut off");
        }
        false
    }
}

/// How long cut-off workers are given to end.
const CUT_OFF_WAIT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn workers_finish_what_they_hold_and_those_past_the_grace_are_cut_off() {
        let supervisor = Supervisor::new();
        let finished = Arc::new(AtomicUsize::new(0));
        let done = finished.clone();
        // Finishes its work item after the stop, within the grace.
        supervisor.spawn("polite", move |stop| async move {
            stop.cancelled().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert!(supervisor.shutdown(Duration::from_secs(5)).await);
        assert_eq!(finished.load(Ordering::SeqCst), 1);

        let supervisor = Supervisor::new();
        supervisor.spawn("stubborn", |_stop| std::future::pending::<()>());
        assert!(!supervisor.shutdown(Duration::from_millis(20)).await, "a worker ignoring the stop is cut off");
        assert!(supervisor.tracker.is_empty());
    }

    #[tokio::test]
    async fn a_periodic_worker_stops_between_passes() {
        let supervisor = Supervisor::new();
        let passes = Arc::new(AtomicUsize::new(0));
        let counted = passes.clone();
        supervisor.every("counter", Duration::from_millis(1), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let started = std::time::Instant::now();
        while passes.load(Ordering::SeqCst) < 3 {
            assert!(started.elapsed() < Duration::from_secs(10), "the worker runs every millisecond");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(supervisor.shutdown(Duration::from_secs(5)).await);
        assert!(supervisor.tracker.is_empty(), "the worker returned, so no pass follows the stop");
    }
}
