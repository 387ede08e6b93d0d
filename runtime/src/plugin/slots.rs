//! The node's plugin call slots, shared fairly between businesses.
//!
//! At most `max_concurrent_calls` calls run on the node, and one business runs
//! at most `max_concurrent_calls_per_business` of them, and never more than
//! the node has cores (`std::thread::available_parallelism`), and one fewer
//! while other businesses are calling too: a busy shop cannot take the CPUs
//! its neighbours need. A business whose calls hit their
//! limits recently (ran out their deadline, their memory, or trapped) runs one
//! call at a time until [`FAULT_MEMORY`] has passed since its last such fault,
//! so it is slowed before anyone else is.
//!
//! A call that finds no slot for its business waits in its business's queue
//! (first come, first served within a business). When a slot frees up it goes
//! to the business with waiters that was served least recently, round-robin
//! over businesses, not first come first served over calls: a business with
//! eight callers waiting does not make one with a single caller wait eight
//! turns.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long a business that hit a limit stays limited to one running call.
pub const FAULT_MEMORY: Duration = Duration::from_secs(30);

/// Businesses that were given a slot this recently are neighbours: each
/// business then leaves a core to the others.
pub const NEIGHBOURS_WITHIN: Duration = Duration::from_secs(1);

/// The bounds the slots keep.
#[derive(Debug, Clone, Copy)]
pub struct SlotLimits {
    /// Calls running on the node at once (`max_concurrent_calls`).
    pub node: usize,
    /// Calls one business may run at once (`max_concurrent_calls_per_business`).
    pub per_business: usize,
    /// The node's cores: no business runs more calls than this.
    pub cores: usize,
}

impl SlotLimits {
    /// The node's cores as the operating system tells them (1 if it cannot).
    pub fn cores_of_this_node() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    /// How many calls `tenant` may run now; `neighbours` is whether other
    /// businesses called recently ([`NEIGHBOURS_WITHIN`]): then a business
    /// leaves one core to them, so a CPU-heavy shop cannot take every core
    /// while a quiet one waits for a CPU, not for a slot.
    fn share(&self, tenant: &Tenant, now: Instant, neighbours: bool) -> usize {
        let faulted = tenant.last_fault.is_some_and(|at| now.saturating_duration_since(at) < FAULT_MEMORY);
        if faulted {
            return 1;
        }
        let cores = if neighbours { self.cores.saturating_sub(1) } else { self.cores };
        self.per_business.min(cores).max(1)
    }
}

/// The node's call slots (cheap to clone: one shared queue).
#[derive(Clone)]
pub struct CallSlots {
    shared: Arc<Shared>,
}

struct Shared {
    limits: SlotLimits,
    state: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    running: usize,
    /// Grants made so far: the clock of the round-robin.
    grants: u64,
    tenants: HashMap<Arc<str>, Tenant>,
    /// When each business was last given a slot (pruned after
    /// [`NEIGHBOURS_WITHIN`]): who the neighbours are.
    recent: HashMap<Arc<str>, Instant>,
}

impl Slots {
    /// Whether a business other than `business` was given a slot recently.
    fn has_neighbours(&mut self, business: &str, now: Instant) -> bool {
        self.recent.retain(|_, at| now.saturating_duration_since(*at) < NEIGHBOURS_WITHIN);
        self.recent.keys().any(|other| &**other != business)
    }
}

#[derive(Default)]
struct Tenant {
    running: usize,
    waiters: VecDeque<oneshot::Sender<SlotPermit>>,
    /// The value of `Slots::grants` when this business was last given a slot.
    last_served: u64,
    /// When a call of this business last hit one of its limits.
    last_fault: Option<Instant>,
}

/// What asking for a slot gives: one at once, or a place in the queue.
pub enum Acquire {
    Granted(SlotPermit),
    /// Resolves to the slot when it is this caller's turn; dropping it gives
    /// up the place.
    Queued(oneshot::Receiver<SlotPermit>),
}

/// One running call's slot, given back when dropped.
pub struct SlotPermit {
    /// `None` once disarmed (a grant that never reached its waiter).
    shared: Option<Arc<Shared>>,
    business: Arc<str>,
}

impl CallSlots {
    pub fn new(limits: SlotLimits) -> CallSlots {
        let limits = SlotLimits { node: limits.node.max(1), ..limits };
        CallSlots { shared: Arc::new(Shared { limits, state: Mutex::new(Slots::default()) }) }
    }

    pub fn limits(&self) -> SlotLimits {
        self.shared.limits
    }

    /// A slot for a call of `business` now if its turn allows, else a place
    /// in its queue.
    pub fn acquire(&self, business: &str) -> Acquire {
        let now = Instant::now();
        let limits = self.shared.limits;
        let mut guard = self.shared.lock();
        let slots = &mut *guard;
        let node_free = slots.running < limits.node;
        let key: Arc<str> = Arc::from(business);
        let neighbours = slots.has_neighbours(business, now);
        let tenant = slots.tenants.entry(key.clone()).or_default();
        tenant.waiters.retain(|waiter| !waiter.is_closed());
        // Others' waiters cannot use a free node slot (they would have been
        // given it), so this business may take it if none of its own wait.
        if node_free && tenant.waiters.is_empty() && tenant.running < limits.share(tenant, now, neighbours) {
            slots.recent.insert(key.clone(), now);
            slots.grants += 1;
            slots.running += 1;
            tenant.running += 1;
            tenant.last_served = slots.grants;
            return Acquire::Granted(SlotPermit { shared: Some(self.shared.clone()), business: key });
        }
        let (sender, receiver) = oneshot::channel();
        tenant.waiters.push_back(sender);
        Acquire::Queued(receiver)
    }

    /// A slot for `business`, waiting at most `wait` for its turn; `None` if
    /// the turn did not come in time.
    pub async fn acquire_within(&self, business: &str, wait: Duration) -> Option<SlotPermit> {
        match self.acquire(business) {
            Acquire::Granted(permit) => Some(permit),
            Acquire::Queued(turn) => tokio::time::timeout(wait, turn).await.ok()?.ok(),
        }
    }

    /// A slot for `business`, however long its turn takes.
    pub async fn acquire_eventually(&self, business: &str) -> Option<SlotPermit> {
        match self.acquire(business) {
            Acquire::Granted(permit) => Some(permit),
            Acquire::Queued(turn) => turn.await.ok(),
        }
    }
}

impl SlotPermit {
    /// Notes that this call hit one of its business's limits: the business
    /// runs one call at a time for [`FAULT_MEMORY`].
    pub fn note_fault(&self) {
        if let Some(shared) = &self.shared {
            let mut slots = shared.lock();
            if let Some(tenant) = slots.tenants.get_mut(&self.business) {
                tenant.last_fault = Some(Instant::now());
            }
        }
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.release(&self.business);
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn release(self: &Arc<Self>, business: &Arc<str>) {
        let now = Instant::now();
        let mut guard = self.lock();
        let slots = &mut *guard;
        slots.running = slots.running.saturating_sub(1);
        if let Some(tenant) = slots.tenants.get_mut(business) {
            tenant.running = tenant.running.saturating_sub(1);
            let idle = tenant.running == 0 && tenant.waiters.is_empty();
            let forgiven = tenant.last_fault.is_none_or(|at| now.saturating_duration_since(at) >= FAULT_MEMORY);
            if idle && forgiven {
                slots.tenants.remove(business);
            }
        }
        self.dispatch(slots, now);
    }

    /// Gives free node slots to waiting businesses, least recently served
    /// first, while any waiting business is under its share.
    fn dispatch(self: &Arc<Self>, slots: &mut Slots, now: Instant) {
        let limits = self.limits;
        while slots.running < limits.node {
            for tenant in slots.tenants.values_mut() {
                tenant.waiters.retain(|waiter| !waiter.is_closed());
            }
            slots.recent.retain(|_, at| now.saturating_duration_since(*at) < NEIGHBOURS_WITHIN);
            let recent = &slots.recent;
            let neighbours = |id: &Arc<str>| recent.keys().any(|other| other != id);
            let next = slots
                .tenants
                .iter()
                .filter(|(id, tenant)| {
                    !tenant.waiters.is_empty() && tenant.running < limits.share(tenant, now, neighbours(id))
                })
                .min_by(|(a_id, a), (b_id, b)| a.last_served.cmp(&b.last_served).then_with(|| a_id.cmp(b_id)))
                .map(|(id, _)| id.clone());
            let Some(id) = next else { return };
            slots.grants += 1;
            let grants = slots.grants;
            let Some(tenant) = slots.tenants.get_mut(&id) else { return };
            let Some(waiter) = tenant.waiters.pop_front() else { continue };
            tenant.running += 1;
            tenant.last_served = grants;
            let permit = SlotPermit { shared: Some(self.clone()), business: id.clone() };
            match waiter.send(permit) {
                Ok(()) => {
                    slots.running += 1;
                    slots.recent.insert(id, now);
                }
                // The waiter gave up in the meantime: the slot stays free.
                Err(mut permit) => {
                    permit.shared = None;
                    tenant.running = tenant.running.saturating_sub(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(node: usize, per_business: usize, cores: usize) -> CallSlots {
        CallSlots::new(SlotLimits { node, per_business, cores })
    }

    fn granted(asked: Acquire) -> SlotPermit {
        match asked {
            Acquire::Granted(permit) => permit,
            Acquire::Queued(_) => panic!("expected a slot at once, got a place in the queue"),
        }
    }

    fn queued(asked: Acquire) -> oneshot::Receiver<SlotPermit> {
        match asked {
            Acquire::Queued(turn) => turn,
            Acquire::Granted(_) => panic!("expected a place in the queue, got a slot at once"),
        }
    }

    fn served(turn: &mut oneshot::Receiver<SlotPermit>) -> Option<SlotPermit> {
        turn.try_recv().ok()
    }

    #[test]
    fn a_business_waiting_alone_is_served_before_a_crowd() {
        let slots = slots(1, 8, 8);
        let running = granted(slots.acquire("a"));
        let mut crowd: Vec<_> = (0..8).map(|_| queued(slots.acquire("a"))).collect();
        let mut alone = queued(slots.acquire("b"));

        drop(running);
        let b = served(&mut alone).expect("B's only waiter gets the next free slot");
        assert!(crowd.iter_mut().all(|turn| served(turn).is_none()), "A's crowd waits its turn");

        // Then A's first caller (first come, first served within a business)...
        drop(b);
        let a = served(&mut crowd[0]).expect("A's first waiter is next");
        assert!(crowd[1..].iter_mut().all(|turn| served(turn).is_none()));
        // ...and a newcomer of B goes before A's second caller.
        let mut again = queued(slots.acquire("b"));
        drop(a);
        let _b_again = served(&mut again).expect("B and A take turns");
        assert!(crowd[1..].iter_mut().all(|turn| served(turn).is_none()));
    }

    #[test]
    fn a_business_runs_no_more_calls_than_the_node_has_cores() {
        let slots = slots(16, 8, 2);
        let first = granted(slots.acquire("a"));
        let second = granted(slots.acquire("a"));
        let mut third = queued(slots.acquire("a"));
        // Its neighbours still run at once...
        let _b = granted(slots.acquire("b"));
        // ...and while they call, it leaves them a core: one call of its own.
        drop(first);
        assert!(served(&mut third).is_none(), "A leaves a core to its neighbour");
        drop(second);
        let _third = served(&mut third).expect("A's next call runs once it runs none");
    }

    #[test]
    fn per_business_and_node_maxima_hold() {
        // max_concurrent_calls_per_business below the cores.
        let slots = self::slots(16, 1, 8);
        let _a = granted(slots.acquire("a"));
        let _waiting = queued(slots.acquire("a"));

        // max_concurrent_calls across businesses.
        let slots = self::slots(2, 4, 4);
        let a = granted(slots.acquire("a"));
        let _b = granted(slots.acquire("b"));
        let mut c = queued(slots.acquire("c"));
        drop(a);
        let _c = served(&mut c).expect("C gets the slot A gave back");
        let _d = queued(slots.acquire("d"));
    }

    #[test]
    fn a_business_that_hit_its_limits_runs_one_call_at_a_time() {
        let slots = slots(8, 4, 4);
        let first = granted(slots.acquire("noisy"));
        first.note_fault();
        let mut second = queued(slots.acquire("noisy"));
        // Its neighbours are not slowed.
        let _quiet = granted(slots.acquire("quiet"));
        let _quiet_too = granted(slots.acquire("quiet"));
        drop(first);
        let second = served(&mut second).expect("its next call runs once the first ended");
        let _third = queued(slots.acquire("noisy"));
        drop(second);
    }

    #[test]
    fn a_caller_that_gave_up_takes_no_slot() {
        let slots = slots(1, 4, 4);
        let running = granted(slots.acquire("a"));
        drop(queued(slots.acquire("b")));
        let mut c = queued(slots.acquire("c"));
        drop(running);
        let c_slot = served(&mut c).expect("the slot goes to a caller still waiting");
        drop(queued(slots.acquire("d")));
        drop(c_slot);
        let _e = granted(slots.acquire("e"));
    }
}
