//! Failpoints: named places on the money path (before and after each provider
//! call and each write; and on the message path, where an inbound turn is
//! answered but its replies not stored, and where they are stored but not sent) where a test can stop the runtime dead, to prove that
//! recovery resolves whatever a crash there leaves behind.
//!
//! Disarmed (always, in production unless `BOTTEGA_FAILPOINTS` is set) a
//! failpoint costs one atomic load. Armed points belong to one runtime (its
//! [`Failpoints`] travels in its configuration), so tests running side by side
//! in one process never trip each other's.
//!
//! Two actions: [`Action::Abort`] ends the process at once, as `kill -9`
//! would (what `BOTTEGA_FAILPOINTS=name,name` arms, for crash tests against the
//! binary); [`Action::Hang`] makes the request that reaches the point wait for
//! ever, so an in-process test can drop it there (nothing after the point runs,
//! nothing is cleaned up) and start a new runtime on the same database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Every failpoint the runtime has, in the order a payment meets them.
pub const ALL: &[&str] = &[
    CHECKOUT_BEFORE_COMMIT,
    CHECKOUT_AFTER_COMMIT,
    PAY_AFTER_START,
    PAY_AFTER_AUTHORIZE,
    PAY_AFTER_CAPTURE,
    PAY_AFTER_RECORD,
    CHALLENGE_AFTER_PROVIDER,
    REFUND_AFTER_INTENT,
    REFUND_AFTER_PROVIDER,
    REFUND_AFTER_RECORD,
    TURN_BEFORE_REPLIES,
    SEND_AT_ONCE,
    COLLECT_AFTER_INTENT,
    COLLECT_AFTER_PROVIDER,
];

/// Checkout: the order is about to be written (stock taken, cart emptied).
pub const CHECKOUT_BEFORE_COMMIT: &str = "checkout.before_commit";
/// Checkout: the order is written; the reply with its link is not stored yet.
pub const CHECKOUT_AFTER_COMMIT: &str = "checkout.after_commit";
/// Payment: the intent is recorded (order slot taken); the provider not called.
pub const PAY_AFTER_START: &str = "pay.after_start";
/// Payment: the provider authorized; nothing recorded, nothing captured.
pub const PAY_AFTER_AUTHORIZE: &str = "pay.after_authorize";
/// Payment: the provider captured the money; the payment is not recorded.
pub const PAY_AFTER_CAPTURE: &str = "pay.after_capture";
/// Payment: recorded captured and the order paid; the follow-ups not done.
pub const PAY_AFTER_RECORD: &str = "pay.after_record";
/// 3-D Secure: the provider completed the challenge; nothing recorded.
pub const CHALLENGE_AFTER_PROVIDER: &str = "challenge.after_provider";
/// Refund: the intent is recorded; the provider not called.
pub const REFUND_AFTER_INTENT: &str = "refund.after_intent";
/// Refund: the provider refunded; the refund is not recorded.
pub const REFUND_AFTER_PROVIDER: &str = "refund.after_provider";
/// Refund: recorded; the follow-ups (webhook, answer) not done.
pub const REFUND_AFTER_RECORD: &str = "refund.after_record";

/// Inbound: the customer's message (and its usage) is stored and the bot has
/// answered; the replies, stored with the event's settling, are not. After a
/// crash the event is answered again, its message found stored.
pub const TURN_BEFORE_REPLIES: &str = "turn.before_replies";
/// Outbound: a turn's replies are stored with their sends leased to this
/// node, to be sent at once; none is sent yet.
pub const SEND_AT_ONCE: &str = "send.at_once";
/// Invoice collection: the charge attempt (its idempotency key) is recorded;
/// the provider not called.
pub const COLLECT_AFTER_INTENT: &str = "collect.after_intent";
/// Invoice collection: the provider charged the card; the outcome is not recorded.
pub const COLLECT_AFTER_PROVIDER: &str = "collect.after_provider";

/// What an armed failpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// End the process at once (no destructors, no flushing), like `kill -9`.
    Abort,
    /// Wait for ever: the caller's future is dropped by the test.
    Hang,
}

/// The failpoints armed for one runtime. Cheap to clone; clones share.
#[derive(Debug, Clone, Default)]
pub struct Failpoints(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    any: AtomicBool,
    armed: Mutex<HashMap<String, Action>>,
    /// How often each armed point was reached (what a test waits for).
    hits: Mutex<HashMap<&'static str, usize>>,
}

impl Failpoints {
    /// Failpoints named in `BOTTEGA_FAILPOINTS` (comma-separated), armed to abort.
    pub fn from_env() -> Failpoints {
        let failpoints = Failpoints::default();
        if let Ok(names) = std::env::var("BOTTEGA_FAILPOINTS") {
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if !ALL.contains(&name) {
                    tracing::warn!(failpoint = name, "BOTTEGA_FAILPOINTS names an unknown failpoint");
                }
                failpoints.arm(name, Action::Abort);
            }
        }
        failpoints
    }

    /// Arms `name` (one of [`ALL`]) with `action`.
    pub fn arm(&self, name: &str, action: Action) {
        self.0.armed.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), action);
        self.0.any.store(true, Ordering::Release);
    }

    /// Disarms every failpoint.
    pub fn clear(&self) {
        self.0.armed.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.0.any.store(false, Ordering::Release);
    }

    /// How often the armed point `name` was reached.
    pub fn hits(&self, name: &str) -> usize {
        self.0.hits.lock().unwrap_or_else(|p| p.into_inner()).get(name).copied().unwrap_or(0)
    }

    /// Passes `name`: returns at once unless it is armed.
    pub async fn hit(&self, name: &'static str) {
        if !self.0.any.load(Ordering::Acquire) {
            return;
        }
        let action = self.0.armed.lock().unwrap_or_else(|p| p.into_inner()).get(name).copied();
        if action.is_some() {
            *self.0.hits.lock().unwrap_or_else(|p| p.into_inner()).entry(name).or_default() += 1;
        }
        match action {
            None => {}
            Some(Action::Abort) => {
                eprintln!("failpoint {name}: aborting the process");
                std::process::abort();
            }
            Some(Action::Hang) => {
                tracing::warn!(failpoint = name, "failpoint reached: this request stops here");
                std::future::pending::<()>().await;
            }
        }
    }
}
