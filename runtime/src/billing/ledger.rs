//! The usage ledger, as the rest of the runtime meets it: [`Meter`] says what
//! each billable fact is worth in usage (or nothing, with billing off), and
//! the fact's own store transaction writes it (`store::usage::record`), so a
//! fact and its usage commit together, once. Every metering hook in the
//! runtime is one call of a `Meter` method, whose answer is handed to the
//! store function that writes the fact:
//!
//! - messages handled: `chat/mod.rs` (`handle_inbound`, the inbound message's
//!   transaction) — one unit per inbound customer message, whoever answers it
//!   (bot, person, away message), keyed by the transport's inbound event
//!   ([`Meter::inbound_event`]: the inbox is at least once, and a replay
//!   after a crash stores the message again but meters nothing more), or by
//!   the stored message for the JSON channel API, which has no event. Event
//!   turns and the business's own messages are not counted.
//! - transaction fees: `commerce/payments/flow.rs` (`record_answer`, the
//!   capture's transaction) and `commerce/payments/refund.rs` (the refund's
//!   success).
//! - channel charges: `api/whatsapp.rs` (the status webhook's transaction):
//!   a `delivered` or `read` status of a send the host tracks, with its
//!   `pricing`, keyed by the message's wamid (its keyed hash: a wamid encodes
//!   the customer's number), at the status's own time.
//! - plugin compute: `chat/mod.rs` (the turn's replies' transaction), the
//!   CPU time of the turn's plugin session, keyed by the inbound message.
//!
//! Corrections are [`adjust`]: a new row, never an edit.

use std::time::Duration;

use crate::config::BillingConfig;
use crate::domain::billing::Metric;
use crate::store::payments::{Payment, Refund};
use crate::store::usage::{self, Recorded, UsageFact};
use crate::store::{Db, StoreError};

/// Whether (and how) facts are metered. Cheap to copy: hooks hold one.
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    enabled: bool,
}

/// What a WhatsApp status said of its message's price.
#[derive(Debug, Clone, Copy)]
pub struct StatusPricing<'a> {
    /// The send's wamid as the host keeps it: its keyed hash
    /// (`Db::message_key`), never the wamid, which encodes the customer's number.
    pub message_id: &'a str,
    /// `sent`, `delivered`, `read`, `failed`.
    pub status: &'a str,
    /// `pricing.type`: `regular`, `free_customer_service`, `free_entry_point`.
    pub pricing_type: Option<&'a str>,
    /// `pricing.billable` (being retired; read only when `type` is absent).
    pub billable: Option<bool>,
    /// `pricing.category`: `marketing`, `utility`, `authentication`, `service`...
    pub category: Option<&'a str>,
    /// The recipient's `wa_id`, whose calling code is its market.
    pub recipient: Option<&'a str>,
    /// The status's own time (ms), when it said one.
    pub at: Option<i64>,
}

impl Meter {
    pub fn new(config: &BillingConfig) -> Meter {
        Meter { enabled: config.enabled }
    }

    /// A meter that records nothing.
    pub fn off() -> Meter {
        Meter { enabled: false }
    }

    pub fn enabled(self) -> bool {
        self.enabled
    }

    /// What each inbound customer message stored is metered as.
    pub fn message_handled(self) -> Option<Metric> {
        self.enabled.then_some(Metric::MessagesHandled)
    }

    /// The message handled that a transport's inbound event `event_id`
    /// carries, keyed by the event (stable across the inbox's replays).
    pub fn inbound_event(self, business_id: &str, event_id: &str) -> Option<UsageFact> {
        self.enabled.then(|| UsageFact::new(business_id, Metric::MessagesHandled, "inbound_event", event_id, 1))
    }

    /// The usage of a captured payment (its whole amount: the fee is priced later).
    pub fn payment_captured(self, payment: &Payment) -> Option<UsageFact> {
        self.enabled.then(|| UsageFact {
            currency: Some(payment.currency.clone()),
            ..UsageFact::new(
                &payment.business_id,
                Metric::PaymentCaptured,
                "payment",
                &payment.id,
                payment.amount_minor,
            )
        })
    }

    /// The usage of a refund that succeeded; `full` when it leaves its payment fully refunded.
    pub fn refund_succeeded(self, refund: &Refund, payment: &Payment, full: bool) -> Option<UsageFact> {
        self.enabled.then(|| UsageFact {
            currency: Some(payment.currency.clone()),
            category: Some(if full { "full" } else { "partial" }.to_string()),
            ..UsageFact::new(&refund.business_id, Metric::PaymentRefunded, "refund", &refund.id, refund.amount_minor)
        })
    }

    /// The channel charge of a WhatsApp status: only a delivery (`delivered`,
    /// or `read`, which implies it) with a price is one; free categories are
    /// recorded as `whatsapp_free`, priced at nothing.
    pub fn whatsapp_delivery(self, business_id: &str, status: &StatusPricing<'_>) -> Option<UsageFact> {
        if !self.enabled || !matches!(status.status, "delivered" | "read") {
            return None;
        }
        let category = status.category?;
        let billable = match status.pricing_type {
            Some(kind) => kind == "regular",
            None => status.billable.unwrap_or(true),
        };
        let metric = if billable { Metric::WhatsappDelivered } else { Metric::WhatsappFree };
        let mut fact = UsageFact::new(business_id, metric, "whatsapp_send", status.message_id, 1);
        fact.market = Some(super::markets::market_of(status.recipient.unwrap_or_default()).to_string());
        fact.category = Some(category.to_string());
        if let Some(at) = status.at {
            fact.occurred_at = at;
        }
        Some(fact)
    }

    /// The compute of a plugin turn answering `message_id`: its CPU time in
    /// milliseconds, rounded up (a turn that ran the plugin costs at least 1).
    pub fn plugin_turn(self, business_id: &str, message_id: &str, cpu: Option<Duration>) -> Option<UsageFact> {
        let cpu = cpu.filter(|_| self.enabled)?;
        let ms = i64::try_from(cpu.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX).max(1);
        Some(UsageFact::new(business_id, Metric::PluginCpuMs, "plugin_turn", message_id, ms))
    }
}

/// Why the ledger refused a row.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The key was recorded with another quantity; the first stays.
    #[error("`{key}` was already recorded with quantity {recorded}, not {offered}")]
    Conflict { key: String, recorded: i64, offered: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's adjustment (positive) or credit note (negative) of
/// `amount_minor` in `currency`, under the operator's own `key` (a retry with
/// the same key and amount records it once; another amount is a conflict).
pub async fn adjust(
    db: &Db,
    business_id: &str,
    key: &str,
    amount_minor: i64,
    currency: &str,
    note: &str,
    occurred_at: i64,
) -> Result<Recorded, LedgerError> {
    let fact = UsageFact {
        currency: Some(currency.to_string()),
        note: Some(note.to_string()),
        occurred_at,
        ..UsageFact::new(business_id, Metric::Adjustment, "operator", key, amount_minor)
    };
    match usage::record_alone(db, &fact).await? {
        Recorded::Conflict { recorded, offered } => {
            Err(LedgerError::Conflict { key: key.to_string(), recorded, offered })
        }
        recorded => Ok(recorded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered<'a>(status: &'a str, kind: Option<&'a str>, category: Option<&'a str>) -> StatusPricing<'a> {
        StatusPricing {
            message_id: "wamid.1",
            status,
            pricing_type: kind,
            billable: None,
            category,
            recipient: Some("919876543210"),
            at: Some(1_793_487_600_000),
        }
    }

    #[test]
    fn a_delivery_with_a_price_is_a_channel_charge_at_its_own_time() {
        let meter = Meter { enabled: true };
        let fact = meter.whatsapp_delivery("biz_1", &delivered("delivered", Some("regular"), Some("marketing")));
        let fact = fact.expect("a charge");
        assert_eq!(
            (fact.metric, fact.quantity, fact.source, fact.source_id.as_str()),
            (Metric::WhatsappDelivered, 1, "whatsapp_send", "wamid.1")
        );
        assert_eq!((fact.market.as_deref(), fact.category.as_deref()), (Some("IN"), Some("marketing")));
        assert_eq!(fact.occurred_at, 1_793_487_600_000);
        // `read` implies delivered; the ledger's key makes the two one charge.
        assert!(meter.whatsapp_delivery("biz_1", &delivered("read", Some("regular"), Some("marketing"))).is_some());
        let free =
            meter.whatsapp_delivery("biz_1", &delivered("delivered", Some("free_customer_service"), Some("service")));
        assert_eq!(free.map(|f| f.metric), Some(Metric::WhatsappFree));
        assert!(meter.whatsapp_delivery("biz_1", &delivered("sent", Some("regular"), Some("marketing"))).is_none());
        assert!(meter.whatsapp_delivery("biz_1", &delivered("delivered", None, None)).is_none(), "no price said");
        assert!(
            Meter::off()
                .whatsapp_delivery("biz_1", &delivered("delivered", Some("regular"), Some("marketing")))
                .is_none()
        );
    }

    #[test]
    fn plugin_compute_rounds_up_to_the_millisecond() {
        let meter = Meter { enabled: true };
        let ms = |cpu: Duration| meter.plugin_turn("biz_1", "msg_1", Some(cpu)).map(|f| f.quantity);
        assert_eq!(ms(Duration::from_micros(1)), Some(1));
        assert_eq!(ms(Duration::ZERO), Some(1));
        assert_eq!(ms(Duration::from_micros(2_001)), Some(3));
        assert_eq!(meter.plugin_turn("biz_1", "msg_1", None), None, "no plugin ran");
        assert_eq!(Meter::off().plugin_turn("biz_1", "msg_1", Some(Duration::from_millis(5))), None);
        assert_eq!(Meter::off().message_handled(), None);
    }
}
