//! What one plugin call's store holds: the scope its host calls may touch
//! (one business, one conversation), its limits, its one output budget (log
//! lines and stdout/stderr together), the meter of its own CPU time, and a
//! WASI context with nothing in it (no files, no environment, no arguments,
//! no network) and clocks that tell the time only to a business that granted
//! `clock` (see [`WasiClocks`]). Host interfaces never see this whole state:
//! each reaches it through its own view (see `host/`), built from the parts it
//! may use.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::cpu::CpuMeter;
use super::limits::PluginLimiter;
use super::stdio::{CappedOutput, OutputBudget};
use crate::grants::PluginLimits;
use crate::store::Db;
use crate::store::plugin_events::NewLogLine;

/// Handles (WASI streams) one call may hold open at once.
const MAX_RESOURCES: usize = 256;

/// The business and conversation a call acts for. Host functions read and
/// write only through this scope; a plugin cannot name anything outside it.
#[derive(Debug, Clone)]
pub struct CallScope {
    pub db: Db,
    pub business_id: String,
    /// The customer's pseudonym (what the plugin knows them by).
    pub customer_id: String,
    pub conversation_id: String,
    /// The shop's currency, for carts that are still empty.
    pub currency: String,
    pub limits: PluginLimits,
}

/// What WASI's clocks tell a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasiClocks {
    /// The host's wall and monotonic clocks: the business granted `clock`.
    Real,
    /// No time at all: the wall clock stays at the Unix epoch and the
    /// monotonic clock advances by [`DENIED_CLOCK_STEP`] each time it is read,
    /// whatever the time, so a plugin cannot time anything, host calls
    /// included. The default, and what a business that did not grant `clock`
    /// gets.
    Denied,
}

impl WasiClocks {
    /// The clocks for a business that granted `granted`.
    pub fn for_grants(granted: &[crate::grants::Capability]) -> WasiClocks {
        if granted.contains(&crate::grants::Capability::Clock) { WasiClocks::Real } else { WasiClocks::Denied }
    }
}

/// How far the denied monotonic clock moves at each read.
pub const DENIED_CLOCK_STEP: Duration = Duration::from_millis(1);

pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: PluginLimiter,
    pub(super) scope: CallScope,
    pub(super) logs: LogBuffer,
    /// When the current export call reaches its deadline on the clock; past
    /// it the call is stopped once it has used its deadline in CPU time.
    pub(super) deadline: Instant,
    /// When the current call is stopped however little CPU it had: the node
    /// was too busy (or a host call too slow) to let it finish.
    pub(super) wall_limit: Instant,
    /// The CPU time the current call used (see [`super::cpu`]).
    pub(super) cpu: Arc<CpuMeter>,
    /// Whether the store has fuel to count instructions with (`plugin chat`).
    pub(super) counts_instructions: bool,
    /// What this instance's WASI clocks tell (fixed for the instance's life).
    pub(super) clocks: WasiClocks,
    budget: OutputBudget,
    stdio: CappedOutput,
}

impl PluginState {
    /// The state of a fresh instance whose WASI clocks tell no time.
    pub fn new(scope: CallScope) -> PluginState {
        PluginState::with_clocks(scope, WasiClocks::Denied)
    }

    /// The state of a fresh instance with the given WASI clocks.
    pub fn with_clocks(scope: CallScope, clocks: WasiClocks) -> PluginState {
        // Log lines, stdout and stderr draw on one budget; stdout and stderr
        // share one capped pipe, and what a plugin prints (a Rust panic
        // message, say) is kept with its logs.
        let budget = OutputBudget::new(scope.limits.max_log_bytes);
        let stdio = CappedOutput::new(budget.clone());
        let mut builder = WasiCtx::builder();
        builder
            .stdout(stdio.clone())
            .stderr(stdio.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if clocks == WasiClocks::Denied {
            builder.wall_clock(EpochWallClock).monotonic_clock(SteppingMonotonicClock::default());
        }
        let wasi = builder.build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let now = Instant::now();
        PluginState {
            wasi,
            table,
            limiter: PluginLimiter::new(&scope.limits),
            logs: LogBuffer::new(&scope.limits, budget.clone()),
            deadline: now,
            wall_limit: now,
            cpu: CpuMeter::shared(),
            counts_instructions: false,
            clocks,
            scope,
            budget,
            stdio,
        }
    }

    /// Readies a reused instance's state for a new call scope: fresh output
    /// budget and limiter, nothing of the previous call's scope kept.
    pub(super) fn reset(&mut self, scope: CallScope) {
        // The instance keeps its memory, so its peak carries over.
        let peak = self.limiter.peak_memory_bytes();
        self.limiter = PluginLimiter::new(&scope.limits).with_peak(peak);
        self.budget.refill(scope.limits.max_log_bytes);
        self.logs = LogBuffer::new(&scope.limits, self.budget.clone());
        self.scope = scope;
    }

    /// What the plugin printed to stdout or stderr, lossily decoded.
    pub fn printed(&self) -> String {
        self.stdio.contents()
    }

    pub fn scope(&self) -> &CallScope {
        &self.scope
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The log lines of one call, within its line budget and the call's one
/// output budget (shared with what it prints).
#[derive(Debug)]
pub struct LogBuffer {
    pub lines: Vec<NewLogLine>,
    /// Lines dropped because the budget was spent.
    pub dropped: u32,
    bytes: OutputBudget,
    lines_left: u32,
}

impl Default for LogBuffer {
    /// No budget: every line is dropped (what `std::mem::take` leaves behind).
    fn default() -> LogBuffer {
        LogBuffer { lines: Vec::new(), dropped: 0, bytes: OutputBudget::new(0), lines_left: 0 }
    }
}

impl LogBuffer {
    fn new(limits: &PluginLimits, bytes: OutputBudget) -> LogBuffer {
        LogBuffer { lines: Vec::new(), dropped: 0, bytes, lines_left: limits.max_log_lines }
    }

    /// Keeps a line if the budget allows, else counts it as dropped.
    pub fn push(&mut self, line: NewLogLine) {
        let size = (line.message.len() + line.fields.to_string().len()) as u64;
        if self.lines_left == 0 || !self.bytes.take_all(size) {
            self.dropped += 1;
            return;
        }
        self.lines_left -= 1;
        self.lines.push(line);
    }
}

/// The wall clock of a plugin without `clock`: always the Unix epoch.
struct EpochWallClock;

impl HostWallClock for EpochWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The monotonic clock of a plugin without `clock`: it moves by
/// [`DENIED_CLOCK_STEP`] at each read, so it is monotonic (a plugin's loops
/// that wait for it end) and tells nothing of real time.
#[derive(Default)]
struct SteppingMonotonicClock {
    reads: AtomicU64,
}

impl HostMonotonicClock for SteppingMonotonicClock {
    fn resolution(&self) -> u64 {
        step_nanos()
    }

    fn now(&self) -> u64 {
        let reads = self.reads.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        reads.saturating_mul(step_nanos())
    }
}

fn step_nanos() -> u64 {
    u64::try_from(DENIED_CLOCK_STEP.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_tell_the_time_only_when_clock_is_granted() {
        use crate::grants::Capability;
        assert_eq!(WasiClocks::for_grants(&[Capability::Kv, Capability::Clock]), WasiClocks::Real);
        assert_eq!(WasiClocks::for_grants(&[Capability::Kv, Capability::Log]), WasiClocks::Denied);

        assert_eq!(EpochWallClock.now(), Duration::ZERO);
        let monotonic = SteppingMonotonicClock::default();
        let reads: Vec<u64> = (0..3).map(|_| monotonic.now()).collect();
        assert_eq!(reads, [1_000_000, 2_000_000, 3_000_000], "one step per read, whatever the time");
        assert_eq!(monotonic.resolution(), 1_000_000);
    }
}
