//! The CPU time a plugin call itself used, told apart from time spent waiting
//! (for a CPU on a busy node, or for a host call such as a slow database).
//!
//! A call's future is polled on one thread at a time, and wasmtime runs the
//! guest on a fiber of the polling thread, so the thread's CPU clock read
//! around each poll, summed, is what the guest and the host's synchronous work
//! for it cost. Time the future spends pending (a host call awaiting the
//! database, the task queued behind others) is not on that clock. The epoch
//! callback reads the meter mid-poll too, so a deadline can be judged on the
//! plugin's own time.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sentinel of [`CpuMeter::poll_started`]: no poll is under way.
const IDLE: u64 = u64::MAX;

/// The CPU time of one call so far, shared by the poll wrapper and the
/// store's epoch callback.
#[derive(Debug, Default)]
pub struct CpuMeter {
    /// Nanoseconds used by finished polls.
    used_ns: AtomicU64,
    /// The thread's CPU clock (ns) when the current poll began, or [`IDLE`].
    poll_started: AtomicU64,
    /// Set when the thread's CPU clock could not be read: time is unknown.
    unknown: std::sync::atomic::AtomicBool,
}

impl CpuMeter {
    pub fn shared() -> Arc<CpuMeter> {
        Arc::new(CpuMeter { poll_started: AtomicU64::new(IDLE), ..CpuMeter::default() })
    }

    /// Starts a new call: nothing used yet.
    pub fn reset(&self) {
        self.used_ns.store(0, Ordering::Relaxed);
        self.poll_started.store(IDLE, Ordering::Relaxed);
        self.unknown.store(false, Ordering::Relaxed);
    }

    /// CPU time used so far, including the poll under way if it runs on this
    /// thread; `None` if this platform's thread CPU clock cannot be read.
    pub fn used(&self) -> Option<Duration> {
        if self.unknown.load(Ordering::Relaxed) {
            return None;
        }
        let mut used = self.used_ns.load(Ordering::Relaxed);
        let started = self.poll_started.load(Ordering::Relaxed);
        if started != IDLE {
            used = used.saturating_add(thread_cpu_ns()?.saturating_sub(started));
        }
        Some(Duration::from_nanos(used))
    }

    fn begin_poll(&self) {
        match thread_cpu_ns() {
            Some(now) => self.poll_started.store(now, Ordering::Relaxed),
            None => self.unknown.store(true, Ordering::Relaxed),
        }
    }

    fn end_poll(&self) {
        let started = self.poll_started.swap(IDLE, Ordering::Relaxed);
        if started == IDLE {
            return;
        }
        match thread_cpu_ns() {
            Some(now) => {
                self.used_ns.fetch_add(now.saturating_sub(started), Ordering::Relaxed);
            }
            None => self.unknown.store(true, Ordering::Relaxed),
        }
    }
}

/// Runs `future`, adding the CPU time of each of its polls to `meter`.
pub async fn metered<F: Future>(meter: &CpuMeter, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        meter.begin_poll();
        let poll = future.as_mut().poll(cx);
        meter.end_poll();
        poll
    })
    .await
}

/// This thread's CPU time in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(unix)]
fn thread_cpu_ns() -> Option<u64> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let now = Duration::try_from(now).ok()?;
    u64::try_from(now.as_nanos()).ok()
}

/// Without a thread CPU clock the time is unknown, and every deadline counts
/// as the plugin's own, as before this meter existed.
#[cfg(not(unix))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_is_not_counted_and_running_is() {
        let meter = CpuMeter::shared();
        metered(&meter, tokio::time::sleep(Duration::from_millis(100))).await;
        let waited = meter.used().expect("a thread CPU clock on this platform");
        assert!(waited < Duration::from_millis(50), "sleeping 100 ms cost {waited:?} of CPU");

        meter.reset();
        let spin = async {
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            x
        };
        metered(&meter, spin).await;
        let ran = meter.used().expect("a thread CPU clock on this platform");
        assert!(ran > Duration::ZERO, "a busy loop used no CPU time");
    }
}
