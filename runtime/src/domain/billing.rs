//! The vocabulary of fees, as plain data: what is metered ([`Metric`]), what
//! a plan version says ([`PlanTerms`]), the states of a finalised invoice's
//! payment ([`InvoiceStatus`]) and of each attempt to charge it
//! ([`ChargeAttemptState`]), and the kinds of invoice lines. A leaf like the
//! rest of `domain/`: `store/` keeps these types, `billing/` decides with
//! them, and neither imports the other's logic.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::stored_state;

stored_state! {
    /// What one ledger row counts.
    Metric("usage metric") {
        /// One inbound customer message stored by the host (whoever answers it:
        /// the bot, a person, the away message). Quantity: 1.
        MessagesHandled = "messages_handled",
        /// A payment captured. Quantity: the captured amount, minor units of `currency`.
        PaymentCaptured = "payment_captured",
        /// A refund that succeeded. Quantity: the refunded amount, minor units of `currency`.
        PaymentRefunded = "payment_refunded",
        /// A WhatsApp send delivered at a billable price (`pricing.type` regular).
        /// Quantity: 1, with its `market` and `category`.
        WhatsappDelivered = "whatsapp_delivered",
        /// A WhatsApp send delivered free (free customer service, free entry
        /// point). Quantity: 1; shown, never priced.
        WhatsappFree = "whatsapp_free",
        /// CPU time of a plugin turn, in milliseconds (rounded up).
        PluginCpuMs = "plugin_cpu_ms",
        /// The photos a business stores at the end of a period (its `images`),
        /// written once by the period's finalisation. Quantity: the count.
        PhotosStored = "photos_stored",
        /// An operator's adjustment or credit note (negative). Quantity: minor
        /// units of `currency`, signed.
        Adjustment = "adjustment",
    }
}

stored_state! {
    /// Where a finalised invoice's payment stands.
    InvoiceStatus("invoice status") {
        /// Finalised, not paid yet, not past its due date.
        Open = "open",
        Paid = "paid",
        /// Its due date passed unpaid; the plan's `when_past_due` applies.
        PastDue = "past_due",
    }
}

stored_state! {
    /// Where one attempt to charge an invoice to its business's billing card stands.
    ChargeAttemptState("charge attempt state") {
        /// Recorded (with its idempotency key) before the provider was called;
        /// what the provider did is not known yet.
        Pending = "pending",
        Succeeded = "succeeded",
        Declined = "declined",
    }
}

stored_state! {
    /// What an invoice line prices.
    LineKind("invoice line kind") {
        PlanFee = "plan_fee",
        /// A counted metric beyond its allowance (messages, plugin compute).
        Usage = "usage",
        TransactionFee = "transaction_fee",
        /// A pass-through channel charge (WhatsApp), with the operator's markup.
        Channel = "channel",
        Adjustment = "adjustment",
        /// The spending cap took back what was above it (negative).
        Cap = "cap",
        /// Usage of an earlier, closed period that arrived after it closed.
        Delta = "delta",
    }
}

stored_state! {
    /// What becomes of a payment's transaction fee when it is refunded.
    RefundPolicy("refund policy") {
        /// The fee stays charged.
        KeepFee = "keep_fee",
        /// The percentage part is given back in proportion to the refund; the fixed part stays.
        ReturnPercentage = "return_percentage",
        /// The percentage part given back in proportion, and the fixed part too
        /// by the refund that leaves the payment fully refunded (its ledger row's
        /// `category` is `full`).
        ReturnAll = "return_all",
    }
}

stored_state! {
    /// What happens to a business over its spending cap or past due.
    LimitPolicy("limit policy") {
        /// Nothing is refused; the invoice shows the charges (for past due) or the cap line.
        Allow = "allow",
        /// Business-initiated billable sends are refused with a typed error;
        /// replies to customers keep working.
        BlockBusinessSends = "block_business_sends",
    }
}

impl InvoiceStatus {
    /// Payment moves forward only: open to paid or past due, past due to paid.
    pub fn can_become(self, next: InvoiceStatus) -> bool {
        use InvoiceStatus::*;
        matches!((self, next), (Open, Paid) | (Open, PastDue) | (PastDue, Paid))
    }
}

/// What one delivered send is billed, as its business reads it on the
/// outbox: the rate card's price for its market and category with the
/// operator's markup, exact in thousandths of a minor unit (the invoice line
/// that sums such sends is rounded once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SendCharge {
    /// `whatsapp_delivered` (billed) or `whatsapp_free` (a free category).
    pub metric: Metric,
    /// Thousandths of a minor unit of `currency` (0 for a free send).
    pub amount_milli_minor: i64,
    /// The rate card's currency; none for a free send or one the card does not price.
    pub currency: Option<String>,
    /// The rate-card version that priced it (`rcv_...`).
    pub rate_card_id: Option<String>,
    /// False when no rate card in effect at its delivery priced its market
    /// and category (the invoice lists it as unpriced).
    pub priced: bool,
}

/// One tier of a graduated price: units up to `up_to` (inclusive, counted
/// after the allowance; `None` for the last tier) cost `unit_milli_minor`
/// thousandths of a minor unit each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub up_to: Option<i64>,
    pub unit_milli_minor: i64,
}

/// How a counted metric (messages, plugin CPU ms) is priced each period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MeteredPrice {
    /// Units included each period at no charge.
    #[serde(default)]
    pub included: i64,
    /// Graduated tiers over what is beyond the allowance; none: beyond the allowance is free.
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

/// What one plan version charges, in its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanTerms {
    /// Charged in full for every period the business is on the plan (no proration).
    #[serde(default)]
    pub monthly_fee_minor: i64,
    /// Percentage of each captured payment, in basis points (150 = 1.5 %).
    #[serde(default)]
    pub transaction_fee_bps: i64,
    /// Fixed part per captured payment, minor units of the payment's currency.
    #[serde(default)]
    pub transaction_fee_fixed_minor: i64,
    #[serde(default = "default_refund_policy")]
    pub refund_policy: RefundPolicy,
    #[serde(default)]
    pub messages: MeteredPrice,
    #[serde(default)]
    pub plugin_cpu_ms: MeteredPrice,
    /// Photos stored at the period's end, per photo per month.
    #[serde(default)]
    pub photos: MeteredPrice,
    /// Most a period's invoice in the plan's currency may total before tax;
    /// `None`: no cap.
    #[serde(default)]
    pub spending_cap_minor: Option<i64>,
    #[serde(default = "default_limit_policy")]
    pub when_over_cap: LimitPolicy,
    #[serde(default = "default_limit_policy")]
    pub when_past_due: LimitPolicy,
    /// Days after finalisation an invoice is due.
    #[serde(default = "default_due_days")]
    pub due_days: i64,
}

fn default_refund_policy() -> RefundPolicy {
    RefundPolicy::KeepFee
}

fn default_limit_policy() -> LimitPolicy {
    LimitPolicy::Allow
}

fn default_due_days() -> i64 {
    14
}

impl TryFrom<String> for PlanTerms {
    type Error = String;

    fn try_from(json: String) -> Result<PlanTerms, String> {
        serde_json::from_str(&json).map_err(|e| format!("plan terms: {e}"))
    }
}
