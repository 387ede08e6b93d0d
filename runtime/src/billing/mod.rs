//! Fees for businesses: what the operator charges its business customers.
//!
//! Read in this order: [`ledger`] (what is metered, and the one `Meter` every
//! metering hook calls; the rows themselves are `store::usage`, written in the
//! transaction of the fact they bill), [`plans`] (plan and rate-card versions
//! and which one prices what, never retroactively), [`rating`] (a pure
//! function from usage totals to priced lines, exact to the minor unit),
//! [`period`] (calendar months in the operator's time zone), [`invoices`]
//! (live drafts, the finaliser that closes a period into an immutable,
//! gaplessly numbered invoice, and its payment status), [`limits`] (the
//! `usage.threshold` webhooks, and what a plan does over its cap or past due),
//! [`export`] (JSON, CSV, PDF), [`charges`] (what each delivered send is
//! billed, on the business's outbox) and [`reconcile`] (recorded channel
//! charges against what the channel reports).
//!
//! *Invariants:* a fact is metered in the transaction that writes it, once
//! (the ledger key); no ledger row, invoice or invoice line is ever changed
//! (the database refuses it); an invoice line names the version that priced
//! it and sums ledger rows an invoice links. Billing imports `store`,
//! `domain` and `config`; nothing in `store` imports billing.

pub mod charges;
pub mod export;
pub mod invoices;
pub mod ledger;
pub mod limits;
pub mod markets;
pub mod period;
pub mod plans;
pub mod rating;
pub mod reconcile;

pub use ledger::Meter;

use crate::config::BillingConfig;
use crate::store::Db;
use period::Calendar;

/// The billing service: one per runtime, held by the `App`.
#[derive(Debug, Clone)]
pub struct Billing {
    db: Db,
    config: BillingConfig,
    calendar: Calendar,
    /// Where the thresholds watcher's last finished pass began (ms; 0
    /// before the first): see `limits::watch_thresholds`.
    thresholds_watched_from: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Billing {
    /// The service over `db`; an error when the configured time zone is unknown.
    pub fn new(db: Db, config: BillingConfig) -> Result<Billing, String> {
        let calendar = Calendar::new(&config.time_zone)?;
        Ok(Billing { db, config, calendar, thresholds_watched_from: Default::default() })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &BillingConfig {
        &self.config
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// Where the thresholds watcher's last finished pass began (0 before the first).
    pub(crate) fn thresholds_watched_from(&self) -> i64 {
        self.thresholds_watched_from.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A pass of the thresholds watcher that began at `began` finished.
    pub(crate) fn thresholds_watched(&self, began: i64) {
        self.thresholds_watched_from.store(began, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn meter(&self) -> Meter {
        Meter::new(&self.config)
    }
}
