//! What one plugin call's store holds: the scope its host calls may touch
//! (one business, one conversation), its limits, its log budget, and an empty
//! WASI context (no files, no environment, no arguments, no network). Host
//! interfaces never see this whole state: each reaches it through its own view
//! (see `host/`), built from the parts it may use.

use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::PluginLimiter;
use super::stdio::CappedOutput;
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

pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: PluginLimiter,
    pub(super) scope: CallScope,
    pub(super) logs: LogBuffer,
    /// When the current export call must end.
    pub(super) deadline: Instant,
    /// Whether the store has fuel to count instructions with (`plugin chat`).
    pub(super) counts_instructions: bool,
    stdio: CappedOutput,
}

impl PluginState {
    pub fn new(scope: CallScope) -> PluginState {
        let log_bytes = usize::try_from(scope.limits.max_log_bytes).unwrap_or(usize::MAX);
        // stdout and stderr share one capped pipe; what a plugin prints (a Rust
        // panic message, say) is kept with its logs.
        let stdio = CappedOutput::new(log_bytes.max(1024));
        let wasi = WasiCtx::builder()
            .stdout(stdio.clone())
            .stderr(stdio.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        PluginState {
            wasi,
            table,
            limiter: PluginLimiter::new(&scope.limits),
            logs: LogBuffer::new(&scope.limits),
            deadline: Instant::now(),
            counts_instructions: false,
            scope,
            stdio,
        }
    }

    /// Readies a reused instance's state for a new call scope: fresh log
    /// budget and limiter, nothing of the previous call's scope kept.
    pub(super) fn reset(&mut self, scope: CallScope) {
        // The instance keeps its memory, so its peak carries over.
        let peak = self.limiter.peak_memory_bytes();
        self.limiter = PluginLimiter::new(&scope.limits).with_peak(peak);
        self.logs = LogBuffer::new(&scope.limits);
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

/// The log lines of one call, within its byte and line budget.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pub lines: Vec<NewLogLine>,
    /// Lines dropped because the budget was spent.
    pub dropped: u32,
    bytes_left: u64,
    lines_left: u32,
}

impl LogBuffer {
    fn new(limits: &PluginLimits) -> LogBuffer {
        LogBuffer { lines: Vec::new(), dropped: 0, bytes_left: limits.max_log_bytes, lines_left: limits.max_log_lines }
    }

    /// Keeps a line if the budget allows, else counts it as dropped.
    pub fn push(&mut self, line: NewLogLine) {
        let size = (line.message.len() + line.fields.to_string().len()) as u64;
        if self.lines_left == 0 || size > self.bytes_left {
            self.dropped += 1;
            return;
        }
        self.lines_left -= 1;
        self.bytes_left -= size;
        self.lines.push(line);
    }
}
