//! Commerce the host owns: carts priced from the host's own catalog (with the
//! plugin's discounts validated), orders that hold stock from checkout until
//! they are paid, cancelled or their reservation expires, card payments and
//! refunds, and the recovery of whatever a crash left between a provider call
//! and its record.
//!
//! [`Commerce`] is the one owner of the order, payment and refund lifecycles:
//! the hosted payment page, the business API, a provider's answer and the
//! sweeper all change an order through it. Each change is decided in Rust
//! from typed states (`domain::states`), enforced by the `WHERE` of one store write
//! that also records the order's timeline and queues the business's webhook,
//! and followed by one step ([`events`]) that tells the shop's bot.

pub mod cart;
pub mod events;
pub mod orders;
pub mod payments;

/// The states commerce decides with (they live in the leaf [`crate::domain`]).
pub use crate::domain::states;

use std::sync::Arc;
use std::time::Duration;

pub use events::OrderObserver;
pub use orders::{OrderAction, OrderError};
pub use payments::flow::PayResult;
pub use payments::refund::{RefundError, Refunded};

use crate::billing::Meter;
use crate::config::CommerceConfig;
use crate::failpoint::Failpoints;
use crate::store::{Db, StoreResult};
use payments::PaymentProvider;

/// The commerce service: one per runtime, shared by every request and worker.
pub struct Commerce {
    db: Db,
    provider: Arc<dyn PaymentProvider>,
    config: CommerceConfig,
    observer: Arc<dyn OrderObserver>,
    /// What captures and refunds are metered as (transaction fees).
    meter: Meter,
}

impl std::fmt::Debug for Commerce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commerce").field("provider", &self.provider).finish_non_exhaustive()
    }
}

/// What one pass of the commerce sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Payment attempts a dead request left in flight, now resolved.
    pub payments_reconciled: usize,
    /// Refunds a dead request left pending, now finished.
    pub refunds_finished: usize,
    /// Unpaid orders whose reservation ended, now cancelled (stock back).
    pub reservations_expired: usize,
    /// Order events whose follow-ups were done late.
    pub events_dispatched: usize,
}

impl Commerce {
    pub fn new(
        db: Db,
        provider: Arc<dyn PaymentProvider>,
        config: CommerceConfig,
        observer: Arc<dyn OrderObserver>,
        meter: Meter,
    ) -> Commerce {
        Commerce { db, provider, config, observer, meter }
    }

    /// What captures and refunds are metered as.
    pub fn meter(&self) -> Meter {
        self.meter
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn provider(&self) -> &dyn PaymentProvider {
        self.provider.as_ref()
    }

    pub fn config(&self) -> &CommerceConfig {
        &self.config
    }

    pub fn failpoints(&self) -> &Failpoints {
        &self.config.failpoints
    }

    /// Until when an attempt started now is owned by its request.
    pub(crate) fn lease_from(&self, now: i64) -> i64 {
        now.saturating_add(millis(self.config.payment_lease))
    }

    /// One pass of everything the runtime does for money in the background,
    /// safe on every node at once: resolve payments and refunds whose request
    /// died (asking the provider what happened), release the stock of
    /// reservations that ended unpaid, do order follow-ups a crash cut off,
    /// and forget old idempotency keys. Runs at start and every sweep period.
    pub async fn sweep(&self, now: i64) -> StoreResult<Swept> {
        let mut swept = Swept {
            payments_reconciled: payments::recovery::reconcile_unresolved(self, now).await?,
            refunds_finished: payments::refund::finish_unfinished(self, now).await?,
            ..Swept::default()
        };
        swept.reservations_expired = orders::expire_reservations(self, now).await?;
        swept.events_dispatched = events::dispatch(self, None).await?;
        crate::store::idempotency::purge_expired(&self.db, now).await?;
        Ok(swept)
    }
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
