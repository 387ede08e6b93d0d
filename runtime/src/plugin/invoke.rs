//! One plugin session: a fresh instance for one inbound message or event, and
//! the export calls made on it, each under the business's deadline, memory and
//! output limits. Every way a call can go wrong ends as a [`PluginFault`].
//!
//! The deadline is the plugin's own time. A call is stopped as the plugin's
//! fault ([`PluginFault::Deadline`]) once it is past its deadline on the clock
//! and has used its deadline in CPU time (see [`super::cpu`]); time it spent
//! waiting, for a CPU on a busy node or for a slow host call, is not charged
//! to it. A call that gets too little of either to finish is stopped at
//! [`WALL_LIMIT_FACTOR`] times its deadline as [`PluginFault::HostOverloaded`],
//! which the circuit breaker does not count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

use super::bindings::{Cart, CatalogQuery, ConversationContext, DiscountLine, InboundMessage, Reply, Shop, ShopEvent};
use super::cpu;
use super::host::HostFault;
use super::limits::MemoryLimitExceeded;
use super::slots::SlotPermit;
use super::state::PluginState;
use crate::store::plugin_events::NewLogLine;

/// Slack for host calls in flight when the deadline passes (a database query
/// cannot be interrupted mid-way; the whole call is dropped after this).
const HOST_CALL_GRACE: Duration = Duration::from_millis(50);

/// How many times its deadline a call may take on the clock while it has not
/// used its deadline in CPU time (the node is busy, or a host call is slow).
pub const WALL_LIMIT_FACTOR: u32 = 3;

/// Why a plugin call did not produce a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginFault {
    #[error("the plugin trapped: {0}")]
    Trap(String),
    /// The plugin used its deadline in CPU time: its own fault.
    #[error("the plugin ran past its deadline of {0} ms")]
    Deadline(u64),
    /// The call was stopped before the plugin had used its deadline in CPU
    /// time: the node was too busy to run it, or a host call (the database)
    /// was too slow. Not the plugin's fault.
    #[error(
        "the call was stopped after {waited_ms} ms with only {cpu_ms} ms of the plugin's own CPU time \
         (its deadline is {deadline_ms} ms): the host was overloaded or a host call was slow"
    )]
    HostOverloaded { deadline_ms: u64, waited_ms: u64, cpu_ms: u64 },
    #[error("the plugin exceeded its memory limit: {0}")]
    Memory(String),
    #[error("the plugin's output is {size} bytes; the limit is {limit}")]
    OutputTooLarge { size: usize, limit: u64 },
    #[error("the plugin's reply breaks the contract: {0}")]
    InvalidReply(String),
    #[error("{0}")]
    CapabilityDenied(String),
    #[error("the plugin could not be loaded: {0}")]
    Unavailable(String),
    /// Every slot for this business (or node) stayed busy until the deadline.
    #[error("too many calls in progress")]
    Overloaded,
    /// The host failed (e.g. its database); not the plugin's fault.
    #[error("{0}")]
    Host(String),
    #[error("the input is {size} bytes; the limit is {limit}")]
    InputTooLarge { size: usize, limit: u64 },
}

impl PluginFault {
    /// Stable name of the fault kind, as stored and shown to the business.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginFault::Trap(_) => "trap",
            PluginFault::Deadline(_) => "deadline",
            PluginFault::Memory(_) => "memory",
            PluginFault::OutputTooLarge { .. } => "output_too_large",
            PluginFault::InvalidReply(_) => "invalid_reply",
            PluginFault::CapabilityDenied(_) => "capability_denied",
            PluginFault::Unavailable(_) => "unavailable",
            PluginFault::Overloaded => "overloaded",
            PluginFault::HostOverloaded { .. } => "host_overloaded",
            PluginFault::Host(_) => "host",
            PluginFault::InputTooLarge { .. } => "input_too_large",
        }
    }

    /// True when the plugin itself is to blame, so the circuit breaker counts it.
    pub fn is_plugin_fault(&self) -> bool {
        !matches!(
            self,
            PluginFault::Overloaded
                | PluginFault::HostOverloaded { .. }
                | PluginFault::Host(_)
                | PluginFault::InputTooLarge { .. }
        )
    }

    /// True when the call hit one of its limits (deadline, memory, output) or
    /// trapped: its business then runs one call at a time for a while (see
    /// [`super::slots`]).
    pub fn hits_a_limit(&self) -> bool {
        matches!(
            self,
            PluginFault::Trap(_)
                | PluginFault::Deadline(_)
                | PluginFault::Memory(_)
                | PluginFault::OutputTooLarge { .. }
        )
    }
}

/// The call used its deadline in CPU time (raised from the epoch callback).
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
struct DeadlineExceeded;

/// The call reached its wall-clock limit without using its deadline in CPU
/// time (raised from the epoch callback).
#[derive(Debug, thiserror::Error)]
#[error("wall-clock limit reached")]
struct WallLimitReached;

/// An instantiated plugin, good for the calls of one message or event.
pub struct PluginSession {
    store: Store<PluginState>,
    shop: Shop,
    /// Set once a call failed: the instance may be in any state, so no further
    /// call is made on it.
    failed: Option<PluginFault>,
    /// Messages this instance answered before this session.
    uses: u32,
    /// Messages it may answer in all (1: it is dropped after this session).
    max_uses: u32,
    /// The store's fuel when the session started, if the engine counts it.
    fuel_at_start: Option<u64>,
    /// Where the instance goes back for reuse, if it may.
    recycle: Option<Recycler>,
    /// The largest output of a call so far, in bytes.
    largest_output: usize,
    /// The call slot this session holds (see [`super::slots`]).
    slot: SlotPermit,
    /// The CPU time of the session's calls so far (each call's meter, summed).
    cpu_time: Duration,
}

impl PluginSession {
    pub(super) fn new(instance: IdleInstance, recycle: Option<Recycler>, slot: SlotPermit, max_uses: u32) -> Self {
        PluginSession {
            fuel_at_start: if instance.store.data().counts_instructions {
                instance.store.get_fuel().ok()
            } else {
                None
            },
            store: instance.store,
            shop: instance.shop,
            uses: instance.uses,
            max_uses,
            failed: None,
            recycle,
            largest_output: 0,
            slot,
            cpu_time: Duration::ZERO,
        }
    }

    /// Prepares a store for instantiation under the limits in its state: the
    /// memory limiter, and a deadline checked at every epoch tick (yielding to
    /// the executor in between, so a busy plugin never holds a worker thread):
    /// past its deadline a call is stopped once its own CPU time reaches the
    /// deadline, or at the wall-clock limit, whichever comes first.
    ///
    /// With `count_instructions` (the engine must consume fuel) the store gets
    /// all the fuel there is: counted, never a limit, as the deadline stops a
    /// plugin that runs too long. Without it fuel is never asked about (asking
    /// an engine without fuel builds an error, and a backtrace with it).
    pub(super) fn prepare_store(store: &mut Store<PluginState>, count_instructions: bool) {
        store.limiter(|state| &mut state.limiter);
        if count_instructions && store.set_fuel(u64::MAX).is_ok() {
            store.data_mut().counts_instructions = true;
        }
        start_clocks(store.data_mut());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|store| {
            let state = store.data();
            let now = Instant::now();
            if now >= state.deadline {
                match state.cpu.used() {
                    // Its own time is spent, or cannot be told apart: its fault.
                    None => return Err(DeadlineExceeded.into()),
                    Some(used) if used >= deadline_of(state) => return Err(DeadlineExceeded.into()),
                    Some(_) if now >= state.wall_limit => return Err(WallLimitReached.into()),
                    // It was kept waiting: it may go on until the wall limit.
                    Some(_) => {}
                }
            }
            // tokio's yield_now puts the task at the back of the run queue, so a
            // busy plugin shares its worker thread fairly with other requests.
            Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
        });
    }

    pub async fn handle_message(
        &mut self,
        context: &ConversationContext,
        message: &InboundMessage,
    ) -> Result<Vec<Reply>, PluginFault> {
        self.check_input(context_size(context) + message_size(message))?;
        let (limit, meter) = self.arm()?;
        let call = self.shop.bottega_shop_bot().call_handle_message(&mut self.store, context, message);
        let outcome = tokio::time::timeout(wall_limit_of(limit) + HOST_CALL_GRACE, cpu::metered(&meter, call)).await;
        let replies = self.fault_or_value(outcome)?;
        self.check_output(&replies)?;
        Ok(replies)
    }

    pub async fn handle_event(
        &mut self,
        context: &ConversationContext,
        event: &ShopEvent,
    ) -> Result<Vec<Reply>, PluginFault> {
        self.check_input(context_size(context) + event_size(event))?;
        let (limit, meter) = self.arm()?;
        let call = self.shop.bottega_shop_bot().call_handle_event(&mut self.store, context, event);
        let outcome = tokio::time::timeout(wall_limit_of(limit) + HOST_CALL_GRACE, cpu::metered(&meter, call)).await;
        let replies = self.fault_or_value(outcome)?;
        self.check_output(&replies)?;
        Ok(replies)
    }

    pub async fn present_catalog(
        &mut self,
        context: &ConversationContext,
        query: &CatalogQuery,
    ) -> Result<Vec<Reply>, PluginFault> {
        self.check_input(
            context_size(context)
                + query.text.as_ref().map_or(0, String::len)
                + query.section.as_ref().map_or(0, String::len),
        )?;
        let (limit, meter) = self.arm()?;
        let call = self.shop.bottega_shop_storefront().call_present_catalog(&mut self.store, context, query);
        let outcome = tokio::time::timeout(wall_limit_of(limit) + HOST_CALL_GRACE, cpu::metered(&meter, call)).await;
        let replies = self.fault_or_value(outcome)?;
        self.check_output(&replies)?;
        Ok(replies)
    }

    pub async fn price_cart(
        &mut self,
        context: &ConversationContext,
        cart: &Cart,
    ) -> Result<Vec<DiscountLine>, PluginFault> {
        self.check_input(context_size(context) + cart_size(cart))?;
        let (limit, meter) = self.arm()?;
        let call = self.shop.bottega_shop_storefront().call_price_cart(&mut self.store, context, cart);
        let outcome = tokio::time::timeout(wall_limit_of(limit) + HOST_CALL_GRACE, cpu::metered(&meter, call)).await;
        let discounts = self.fault_or_value(outcome)?;
        let size: usize =
            discounts.iter().map(|d| d.label.len() + 8 + d.product_ids.iter().map(String::len).sum::<usize>()).sum();
        self.check_size(size)?;
        Ok(discounts)
    }

    /// The log lines kept during the session, how many were dropped, and what
    /// the plugin printed. The instance goes back for reuse if every call
    /// succeeded, it printed nothing, and it has uses left; else it is dropped.
    pub fn finish(mut self) -> SessionLogs {
        let printed = self.store.data().printed();
        let logs = std::mem::take(&mut self.store.data_mut().logs);
        let usage = SessionUsage {
            peak_memory_bytes: self.store.data().limiter.peak_memory_bytes(),
            largest_output_bytes: self.largest_output,
            instructions: match self.fuel_at_start {
                Some(start) => self.store.get_fuel().ok().map(|now| start.saturating_sub(now)),
                None => None,
            },
            cpu_time: self.cpu_time,
        };
        let uses = self.uses + 1;
        let reusable = self.failed.is_none() && printed.is_empty() && uses < self.max_uses;
        if let (true, Some(recycle)) = (reusable, self.recycle.take()) {
            recycle.put(IdleInstance { store: self.store, shop: self.shop, uses });
        }
        SessionLogs { printed, dropped: logs.dropped, lines: logs.lines, usage }
    }

    /// Starts a call's deadline and its CPU meter; returns the deadline and
    /// the meter to run the call under.
    fn arm(&mut self) -> Result<(Duration, Arc<cpu::CpuMeter>), PluginFault> {
        if let Some(fault) = &self.failed {
            return Err(fault.clone());
        }
        let limit = deadline_of(self.store.data());
        start_clocks(self.store.data_mut());
        self.store.set_epoch_deadline(1);
        Ok((limit, self.store.data().cpu.clone()))
    }

    fn fault_or_value<T>(
        &mut self,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, PluginFault> {
        // Every call ends here: its own CPU time counts towards the session's.
        self.cpu_time = self.cpu_time.saturating_add(self.store.data().cpu.used().unwrap_or_default());
        let result = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => classify(&error, self.store.data()),
            // A host call was still in flight at the wall limit.
            Err(_elapsed) => overrun(self.store.data()),
        };
        self.fail(&result);
        Err(result)
    }

    /// Keeps the fault (no further call on this instance) and tells the call
    /// slots when it was the plugin hitting a limit.
    fn fail(&mut self, fault: &PluginFault) {
        if fault.hits_a_limit() {
            self.slot.note_fault();
        }
        self.failed = Some(fault.clone());
    }

    fn check_input(&self, size: usize) -> Result<(), PluginFault> {
        let limit = self.store.data().scope.limits.max_input_bytes;
        if size as u64 > limit {
            return Err(PluginFault::InputTooLarge { size, limit });
        }
        Ok(())
    }

    fn check_output(&mut self, replies: &[Reply]) -> Result<(), PluginFault> {
        self.check_size(replies.iter().map(reply_size).sum())
    }

    fn check_size(&mut self, size: usize) -> Result<(), PluginFault> {
        self.largest_output = self.largest_output.max(size);
        let limit = self.store.data().scope.limits.max_output_bytes;
        if size as u64 > limit {
            let fault = PluginFault::OutputTooLarge { size, limit };
            self.fail(&fault);
            return Err(fault);
        }
        Ok(())
    }
}

/// An instance between sessions.
pub(super) struct IdleInstance {
    pub store: Store<PluginState>,
    pub shop: Shop,
    pub uses: u32,
}

/// Returns instances to their plugin version's idle list, within the node's
/// budget of idle instances (each holds a pooling-allocator slot).
/// A version's idle instances; `retired` once another version took over.
#[derive(Default)]
pub(super) struct IdleList {
    pub instances: Vec<IdleInstance>,
    pub retired: bool,
    /// The node's idle count these instances are counted in (set by the
    /// first instance kept), given back if the list is dropped holding some.
    pub node_idle: Option<Arc<AtomicUsize>>,
}

impl Drop for IdleList {
    fn drop(&mut self) {
        if let Some(node_idle) = &self.node_idle {
            node_idle.fetch_sub(self.instances.len(), Ordering::AcqRel);
        }
    }
}

pub(super) struct Recycler {
    pub idle: Arc<Mutex<IdleList>>,
    pub per_version: usize,
    pub node_idle: Arc<AtomicUsize>,
    pub node_capacity: usize,
}

impl Recycler {
    fn put(self, instance: IdleInstance) {
        let reserved = self
            .node_idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.node_capacity).then_some(n + 1))
            .is_ok();
        if !reserved {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if !idle.retired && idle.instances.len() < self.per_version {
            idle.node_idle.get_or_insert_with(|| self.node_idle.clone());
            idle.instances.push(instance);
        } else {
            drop(idle);
            self.node_idle.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// What a finished session leaves for the business to read.
#[derive(Debug, Default)]
pub struct SessionLogs {
    pub lines: Vec<NewLogLine>,
    pub dropped: u32,
    /// stdout and stderr.
    pub printed: String,
    pub usage: SessionUsage,
}

/// What a session used, to set against the business's limits.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionUsage {
    /// The largest linear memory the instance had (a reused instance keeps its memory).
    pub peak_memory_bytes: usize,
    /// The largest output of one call, as the output limit counts it.
    pub largest_output_bytes: usize,
    /// WebAssembly instructions the session ran (wasmtime fuel), when the
    /// host counts them (`count_instructions`: the developer loop does,
    /// production does not, as its deadline bounds time instead).
    pub instructions: Option<u64>,
    /// The plugin's own CPU time over the session's calls (what compute is
    /// billed by; instantiation is the host's and not counted).
    pub cpu_time: Duration,
}

fn deadline_of(state: &PluginState) -> Duration {
    Duration::from_millis(state.scope.limits.deadline_ms)
}

/// How long a call with `deadline` may take on the clock in all.
pub(super) fn wall_limit_of(deadline: Duration) -> Duration {
    deadline.saturating_mul(WALL_LIMIT_FACTOR)
}

/// Starts the clocks of a call (or an instantiation): its deadline, its wall
/// limit, and its CPU meter from zero.
pub(super) fn start_clocks(state: &mut PluginState) {
    let now = Instant::now();
    let deadline = deadline_of(state);
    state.deadline = now + deadline;
    state.wall_limit = now + wall_limit_of(deadline);
    state.cpu.reset();
}

/// The fault of a call stopped from outside (a host call still in flight at
/// its wall limit): the plugin's only if it had used its deadline in CPU.
pub(super) fn overrun(state: &PluginState) -> PluginFault {
    overrun_fault(deadline_of(state), state.cpu.used())
}

/// A call stopped after `deadline` having used `cpu` of its own time
/// (`None`: not known) is the plugin's fault only if that reached the deadline.
fn overrun_fault(deadline: Duration, cpu: Option<Duration>) -> PluginFault {
    let deadline_ms = millis(deadline);
    match cpu {
        Some(cpu) if cpu < deadline => {
            PluginFault::HostOverloaded { deadline_ms, waited_ms: millis(wall_limit_of(deadline)), cpu_ms: millis(cpu) }
        }
        _ => PluginFault::Deadline(deadline_ms),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Turns a failed call's error into the fault it stands for.
pub(super) fn classify(error: &wasmtime::Error, state: &PluginState) -> PluginFault {
    let limit = deadline_of(state);
    if error.downcast_ref::<DeadlineExceeded>().is_some() {
        return PluginFault::Deadline(millis(limit));
    }
    if error.downcast_ref::<WallLimitReached>().is_some() {
        return overrun_fault(limit, state.cpu.used());
    }
    if let Some(memory) = error.downcast_ref::<MemoryLimitExceeded>() {
        return PluginFault::Memory(memory.to_string());
    }
    if let Some(host) = error.downcast_ref::<HostFault>() {
        return PluginFault::Host(host.to_string());
    }
    let mut detail = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    let printed = state.printed();
    let printed = printed.trim();
    if !printed.is_empty() {
        // A Rust panic prints its message to stderr before trapping.
        let tail: String = printed.chars().rev().take(500).collect::<Vec<_>>().into_iter().rev().collect();
        detail = format!("{detail}; the plugin printed: {tail}");
    }
    PluginFault::Trap(detail)
}

/// Bytes of text a reply carries.
fn reply_size(reply: &Reply) -> usize {
    match reply {
        Reply::Text(text) | Reply::Product(text) | Reply::HumanAgent(text) => text.len(),
        Reply::Buttons(b) => b.body.len() + b.buttons.iter().map(|b| b.id.len() + b.title.len()).sum::<usize>(),
        Reply::ChoiceList(l) => {
            l.body.len()
                + l.button_label.len()
                + l.rows
                    .iter()
                    .map(|r| r.id.len() + r.title.len() + r.description.as_ref().map_or(0, String::len))
                    .sum::<usize>()
        }
        Reply::ProductList(p) => p.header.len() + p.body.len() + p.product_ids.iter().map(String::len).sum::<usize>(),
        Reply::CartSummary | Reply::Checkout => 0,
    }
}

fn context_size(context: &ConversationContext) -> usize {
    context.customer_id.len() + context.conversation_id.len() + context.locale.len() + 1
}

fn message_size(message: &InboundMessage) -> usize {
    match message {
        InboundMessage::Text(text) | InboundMessage::ProductTap(text) => text.len(),
        InboundMessage::Choice(choice) => choice.id.len() + choice.title.len(),
        InboundMessage::Cart(items) => items.iter().map(|i| i.product_id.len() + 4).sum(),
    }
}

fn event_size(event: &ShopEvent) -> usize {
    match event {
        ShopEvent::OrderPaid(order) | ShopEvent::OrderShipped(order) => order.order_id.len() + 16,
        ShopEvent::PaymentFailed(failure) => failure.order_id.len() + failure.reason.len(),
        ShopEvent::AgentReleased => 0,
    }
}

fn cart_size(cart: &Cart) -> usize {
    cart.lines.iter().map(|l| l.product_id.len() + l.name.len() + 32).sum::<usize>() + 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_overrun_is_the_plugins_fault_only_if_it_used_the_time() {
        let deadline = Duration::from_millis(200);
        // It burned its deadline in CPU: counted against it.
        assert_eq!(overrun_fault(deadline, Some(Duration::from_millis(200))), PluginFault::Deadline(200));
        assert_eq!(overrun_fault(deadline, Some(Duration::from_millis(450))), PluginFault::Deadline(200));
        // It was kept waiting (a busy node, a slow database): not counted.
        let waited = overrun_fault(deadline, Some(Duration::from_millis(3)));
        assert_eq!(waited, PluginFault::HostOverloaded { deadline_ms: 200, waited_ms: 600, cpu_ms: 3 });
        assert_eq!(waited.kind(), "host_overloaded");
        assert!(!waited.is_plugin_fault() && !waited.hits_a_limit());
        // Where CPU time cannot be read, the deadline counts as before.
        assert_eq!(overrun_fault(deadline, None), PluginFault::Deadline(200));
        assert!(PluginFault::Deadline(200).is_plugin_fault() && PluginFault::Deadline(200).hits_a_limit());
    }
}
