//! The node's compile queue, fair across businesses: uploads waiting for one
//! of the node's `max_concurrent_compiles` slots are served in turn, one of
//! each business with compiles waiting before a second of any (round-robin),
//! so one business uploading many versions delays another's upload by at most
//! one compile of its own. (How many of a business's uploads may be compiling
//! at all is bounded at upload: [`super::MAX_COMPILING_PER_BUSINESS`].)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::oneshot;

/// Compile slots of one node, handed out round-robin across businesses.
#[derive(Debug)]
pub struct CompileQueue {
    capacity: usize,
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    running: usize,
    waiting: Lanes<oneshot::Sender<()>>,
}

/// A compile slot, held until dropped; the next business in turn gets it then.
#[derive(Debug)]
pub struct CompileTurn<'a> {
    queue: &'a CompileQueue,
}

impl Drop for CompileTurn<'_> {
    fn drop(&mut self) {
        self.queue.release();
    }
}

impl CompileQueue {
    /// A queue handing out `capacity` slots at once (at least one).
    pub fn new(capacity: usize) -> CompileQueue {
        CompileQueue { capacity: capacity.max(1), state: Mutex::default() }
    }

    /// Waits for `business_id`'s turn and a free slot.
    pub async fn turn(&self, business_id: &str) -> CompileTurn<'_> {
        match self.enqueue(business_id) {
            Ok(turn) => turn,
            Err(waiter) => waiter.granted().await,
        }
    }

    /// A slot at once when one is free and nobody waits, else a place in line.
    fn enqueue(&self, business_id: &str) -> Result<CompileTurn<'_>, Waiter<'_>> {
        let mut state = self.lock();
        // Slots are only free while nobody waits (a freed slot goes to the next in turn).
        if state.running < self.capacity && state.waiting.is_empty() {
            state.running += 1;
            return Ok(CompileTurn { queue: self });
        }
        let (sender, receiver) = oneshot::channel();
        state.waiting.push(business_id, sender);
        Err(Waiter { queue: self, receiver })
    }

    fn release(&self) {
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        while state.running < self.capacity {
            let Some(next) = state.waiting.pop() else { break };
            // A waiter that gave up (its compile task ended) is skipped.
            if next.send(()).is_ok() {
                state.running += 1;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A compile waiting for its turn. Dropped after being handed a slot it never
/// took (its task was cancelled meanwhile), it passes the slot on.
#[derive(Debug)]
struct Waiter<'a> {
    queue: &'a CompileQueue,
    receiver: oneshot::Receiver<()>,
}

impl<'a> Waiter<'a> {
    async fn granted(mut self) -> CompileTurn<'a> {
        // The sender is dropped unsent only with the queue, which outlives this borrow.
        let _ = (&mut self.receiver).await;
        CompileTurn { queue: self.queue }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        // After the turn was awaited the value is gone, so this only fires
        // for a slot handed over and never taken.
        if self.receiver.try_recv().is_ok() {
            self.queue.release();
        }
    }
}

/// Waiters by business, served round-robin: the business whose turn it is
/// gives its oldest waiter, then goes to the back of the line if it has more.
#[derive(Debug)]
struct Lanes<W> {
    /// Businesses with waiters, in turn order; each appears once.
    turns: VecDeque<String>,
    waiting: HashMap<String, VecDeque<W>>,
}

impl<W> Default for Lanes<W> {
    fn default() -> Self {
        Lanes { turns: VecDeque::new(), waiting: HashMap::new() }
    }
}

impl<W> Lanes<W> {
    fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// Queues a waiter behind its business's others; a business with none
    /// joins the back of the line.
    fn push(&mut self, business_id: &str, waiter: W) {
        match self.waiting.get_mut(business_id) {
            Some(lane) => lane.push_back(waiter),
            None => {
                self.waiting.insert(business_id.to_string(), VecDeque::from([waiter]));
                self.turns.push_back(business_id.to_string());
            }
        }
    }

    /// The next waiter in turn, if any.
    fn pop(&mut self) -> Option<W> {
        let business = self.turns.pop_front()?;
        let lane = self.waiting.get_mut(&business)?;
        let next = lane.pop_front();
        if lane.is_empty() {
            self.waiting.remove(&business);
        } else {
            self.turns.push_back(business);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(lanes: &mut Lanes<String>) -> Vec<String> {
        std::iter::from_fn(|| lanes.pop()).collect()
    }

    #[test]
    fn businesses_take_turns_whatever_order_they_uploaded_in() {
        let mut lanes = Lanes::default();
        // One business uploads 20 versions, then two others one and two.
        for n in 1..=20 {
            lanes.push("busy", format!("busy {n}"));
        }
        lanes.push("quiet", "quiet 1".to_string());
        lanes.push("other", "other 1".to_string());
        lanes.push("other", "other 2".to_string());
        let order = drain(&mut lanes);
        assert_eq!(order[..6], ["busy 1", "quiet 1", "other 1", "busy 2", "other 2", "busy 3"]);
        assert_eq!(order[6..], (4..=20).map(|n| format!("busy {n}")).collect::<Vec<_>>()[..]);
        assert!(lanes.is_empty());
    }

    #[test]
    fn a_business_arriving_late_waits_for_one_compile_of_each_other() {
        let mut lanes = Lanes::default();
        for n in 1..=5 {
            lanes.push("busy", format!("busy {n}"));
        }
        lanes.push("steady", "steady 1".to_string());
        lanes.push("steady", "steady 2".to_string());
        assert_eq!(lanes.pop().as_deref(), Some("busy 1"));
        lanes.push("late", "late 1".to_string());
        assert_eq!(drain(&mut lanes)[..3], ["steady 1", "busy 2", "late 1"]);
    }

    /// A queue for the whole test, so its waiters can move into tasks.
    fn queue(capacity: usize) -> &'static CompileQueue {
        Box::leak(Box::new(CompileQueue::new(capacity)))
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_next_business_in_turn() {
        let queue = queue(1);
        let first = queue.turn("busy").await;
        let waiters = ["busy", "busy", "quiet"].map(|b| (b, queue.enqueue(b).expect_err("the one slot is taken")));
        let (granted, mut order) = tokio::sync::mpsc::unbounded_channel();
        let tasks: Vec<_> = waiters
            .into_iter()
            .map(|(business, waiter)| {
                let granted = granted.clone();
                tokio::spawn(async move {
                    // Told while the slot is held: the next is granted only when it is dropped.
                    let _turn = waiter.granted().await;
                    let _ = granted.send(business);
                })
            })
            .collect();
        drop(granted);
        drop(first);
        for task in tasks {
            task.await.expect("compile task");
        }
        let mut seen = Vec::new();
        while let Some(business) = order.recv().await {
            seen.push(business);
        }
        assert_eq!(seen, ["busy", "quiet", "busy"]);
    }

    #[tokio::test]
    async fn slots_beyond_the_capacity_wait_and_a_cancelled_waiter_passes_its_slot_on() {
        let queue = queue(2);
        let first = queue.turn("a").await;
        let second = queue.enqueue("b").expect("a second slot is free");
        let gave_up = queue.enqueue("a").expect_err("both slots are taken");
        let next = queue.enqueue("c").expect_err("both slots are taken");
        drop(first);
        // The freed slot went to `gave_up`, whose compile ended meanwhile.
        drop(gave_up);
        let _third = next.granted().await;
        drop(second);
        let _fourth = queue.enqueue("a").expect("a slot is free again");
    }
}
