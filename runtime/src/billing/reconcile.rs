//! Reconciliation of channel charges: what the host recorded of a
//! business's WhatsApp deliveries in a period (the ledger's
//! `whatsapp_delivered` and `whatsapp_free` rows, priced at cost by the rate
//! card in effect at each delivery) against what the channel reports (Meta's
//! `pricing_analytics` of the business's WhatsApp Business Account, read
//! through the egress policy), bucket by bucket: market, pricing category,
//! billable or free. A bucket whose volume or cost differs is listed with
//! the host's ids of the sends it recorded in it, to look at one by one
//! (Meta reports buckets, not messages).
//!
//! Read only: nothing here changes the ledger; a correction is the
//! operator's adjustment.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Billing;
use super::charges;
use super::invoices::BillingError;
use super::plans::WHATSAPP;
use crate::domain::billing::Metric;
use crate::egress::{EgressClient, EgressPolicy, EgressRefused};
use crate::store::{StoreError, channels, outbox, usage};

/// How long the channel has to answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a reconciliation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("the business has no WhatsApp channel")]
    NoChannel,
    #[error("the business's WhatsApp channel names no WhatsApp Business Account (set its waba_id)")]
    NoAccount,
    #[error("the channel's Graph API address is refused: {0}")]
    Refused(EgressRefused),
    /// The channel did not answer, or answered with an error.
    #[error("the channel's pricing analytics could not be read: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

impl From<StoreError> for ReconcileError {
    fn from(error: StoreError) -> Self {
        ReconcileError::Billing(BillingError::Store(error))
    }
}

/// One bucket: the host's record and the channel's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Bucket {
    /// ISO 3166 alpha-2 market of the recipients.
    pub market: String,
    /// `marketing`, `utility`, `authentication`, `service`...
    pub category: String,
    /// `regular` (billable) or `free`.
    pub pricing_type: String,
    pub recorded_volume: i64,
    pub reported_volume: i64,
    /// The rate card's currency (the channel's cost is read in it).
    pub currency: Option<String>,
    /// At cost (no markup), thousandths of a minor unit.
    pub recorded_cost_milli_minor: i64,
    pub reported_cost_milli_minor: i64,
    /// The sends the host recorded in the bucket, listed when the bucket
    /// differs: each by the host's own id of the send (`GET /v1/outbox`'s
    /// `id`), or, for a send no longer kept, by the keyed hash of its WhatsApp
    /// message id (never the id itself, which encodes the customer's number).
    pub message_ids: Vec<String>,
}

impl Bucket {
    fn differs(&self) -> bool {
        self.recorded_volume != self.reported_volume || self.recorded_cost_milli_minor != self.reported_cost_milli_minor
    }
}

/// A period's reconciliation for one business.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reconciliation {
    pub business_id: String,
    pub period: String,
    pub waba_id: String,
    /// Every bucket either side has, by market, category and type.
    pub buckets: Vec<Bucket>,
    /// The buckets that differ (with the sends the host recorded in them).
    pub differences: Vec<Bucket>,
}

/// What the channel reported of one bucket.
#[derive(Debug, Default)]
struct Reported {
    volume: i64,
    /// In major units of the account's currency, as Meta reports it.
    cost: f64,
}

/// Reconciles `business_id`'s period `period_label` (see the module's doc).
pub async fn reconcile(
    billing: &Billing,
    egress: &EgressPolicy,
    business_id: &str,
    period_label: &str,
) -> Result<Reconciliation, ReconcileError> {
    let period = billing.calendar().named(period_label).map_err(BillingError::Invalid)?;
    let channel = channels::whatsapp(billing.db(), business_id).await?.ok_or(ReconcileError::NoChannel)?;
    let waba_id = channel.waba_id.clone().ok_or(ReconcileError::NoAccount)?;

    // The host's side: every delivery of the period, priced at cost.
    let cards = {
        let mut conn = billing.db().pool().acquire().await.map_err(StoreError::from)?;
        crate::store::plans::rate_cards(&mut conn, WHATSAPP).await?
    };
    let mut buckets: BTreeMap<(String, String, String), Bucket> = BTreeMap::new();
    for row in usage::channel_rows(billing.db(), business_id, period.start, period.end).await? {
        let market = row.market.clone().unwrap_or_else(|| "*".to_string());
        let category = row.category.clone().unwrap_or_else(|| "unknown".to_string());
        let free = row.metric == Metric::WhatsappFree;
        let bucket = bucket_of(&mut buckets, &market, &category, free);
        bucket.recorded_volume += 1;
        bucket.message_ids.push(row.source_id.clone());
        if !free && let Some((_, Some(price))) = charges::price_at(&cards, &market, &category, row.occurred_at) {
            bucket.recorded_cost_milli_minor = bucket.recorded_cost_milli_minor.saturating_add(price.unit_milli_minor);
            if bucket.currency.is_none() {
                bucket.currency = Some(price.currency.clone());
            }
        }
    }

    // The channel's side.
    let reported =
        fetch(egress, &channel.graph_base_url, &waba_id, &channel.access_token, period.start, period.end).await?;
    for ((market, category, free), report) in reported {
        let bucket = bucket_of(&mut buckets, &market, &category, free);
        bucket.reported_volume += report.volume;
        let currency = bucket.currency.clone().or_else(|| cards_currency(&cards));
        let exponent = currency.as_deref().and_then(crate::money::exponent).unwrap_or(2);
        let scale = 10_f64.powi(i32::try_from(exponent).unwrap_or(2)) * 1_000.0;
        // Meta's cost is a decimal in major units; rounded once to our unit
        // (`as` saturates, and a bucket's cost is far below the bounds).
        let milli = (report.cost * scale).round() as i64;
        bucket.reported_cost_milli_minor = bucket.reported_cost_milli_minor.saturating_add(milli);
        if bucket.currency.is_none() {
            bucket.currency = currency;
        }
    }

    let mut buckets: Vec<Bucket> = buckets.into_values().collect();
    for bucket in &mut buckets {
        if !bucket.differs() {
            bucket.message_ids.clear();
            continue;
        }
        // The ledger keeps a wamid's keyed hash (a wamid encodes the
        // customer's number): the send it names is listed by its own id.
        for id in &mut bucket.message_ids {
            if let Some(send) = outbox::send_of_message_key(billing.db(), business_id, id.as_str()).await? {
                *id = send.send_id;
            }
        }
    }
    let differences = buckets.iter().filter(|b| b.differs()).cloned().collect();
    Ok(Reconciliation { business_id: business_id.to_string(), period: period.label, waba_id, buckets, differences })
}

fn bucket_of<'b>(
    buckets: &'b mut BTreeMap<(String, String, String), Bucket>,
    market: &str,
    category: &str,
    free: bool,
) -> &'b mut Bucket {
    let pricing_type = if free { "free" } else { "regular" }.to_string();
    buckets.entry((market.to_string(), category.to_string(), pricing_type.clone())).or_insert_with(|| Bucket {
        market: market.to_string(),
        category: category.to_string(),
        pricing_type,
        recorded_volume: 0,
        reported_volume: 0,
        currency: None,
        recorded_cost_milli_minor: 0,
        reported_cost_milli_minor: 0,
        message_ids: Vec::new(),
    })
}

/// The currency of the rate cards' prices, when a bucket has none of its own.
fn cards_currency(
    cards: &[(crate::store::plans::RateCardVersion, Vec<crate::store::plans::RatePrice>)],
) -> Option<String> {
    cards.iter().flat_map(|(_, prices)| prices.first()).map(|p| p.currency.clone()).next()
}

/// Reads the account's `pricing_analytics` for `[from, to)` (ms), daily, by
/// country, pricing category and pricing type; sums its data points by bucket.
async fn fetch(
    egress: &EgressPolicy,
    graph_base_url: &str,
    waba_id: &str,
    access_token: &str,
    from: i64,
    to: i64,
) -> Result<BTreeMap<(String, String, bool), Reported>, ReconcileError> {
    let fields = format!(
        "pricing_analytics.start({}).end({}).granularity(DAILY).dimensions([\"COUNTRY\",\"PRICING_CATEGORY\",\"PRICING_TYPE\"])",
        from.div_euclid(1000),
        to.div_euclid(1000)
    );
    let client = EgressClient::new(egress.clone(), FETCH_TIMEOUT);
    let url = format!("{graph_base_url}/{waba_id}");
    let request = client.get(&url).map_err(ReconcileError::Refused)?;
    let response = request
        .bearer_auth(access_token)
        .query(&[("fields", fields.as_str())])
        .send()
        .await
        .map_err(|e| ReconcileError::Unavailable(crate::egress::describe(&e)))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| ReconcileError::Unavailable(crate::egress::describe(&e)))?;
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no message").to_string();
        return Err(ReconcileError::Unavailable(format!("the Graph API answered {status}: {message}")));
    }
    Ok(buckets_of(&body))
}

/// The data points of a `pricing_analytics` answer summed by bucket. Points
/// without a country or category are kept under `*` and `unknown`.
fn buckets_of(body: &Value) -> BTreeMap<(String, String, bool), Reported> {
    let mut reported: BTreeMap<(String, String, bool), Reported> = BTreeMap::new();
    let groups = body["pricing_analytics"]["data"].as_array().cloned().unwrap_or_default();
    for point in groups.iter().flat_map(|g| g["data_points"].as_array().cloned().unwrap_or_default()) {
        let market = point["country"].as_str().unwrap_or("*").to_ascii_uppercase();
        let category = point["pricing_category"].as_str().unwrap_or("unknown").to_ascii_lowercase();
        let free = !point["pricing_type"].as_str().unwrap_or("REGULAR").eq_ignore_ascii_case("regular");
        let entry = reported.entry((market, category, free)).or_default();
        entry.volume = entry.volume.saturating_add(point["volume"].as_i64().unwrap_or(0));
        entry.cost += point["cost"].as_f64().unwrap_or(0.0);
    }
    reported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_points_are_summed_by_market_category_and_type() {
        let body = serde_json::json!({"pricing_analytics": {"data": [{"data_points": [
            {"start": 1, "end": 2, "country": "IN", "pricing_type": "REGULAR", "pricing_category": "MARKETING", "volume": 2, "cost": 0.2},
            {"start": 2, "end": 3, "country": "IN", "pricing_type": "REGULAR", "pricing_category": "MARKETING", "volume": 1, "cost": 0.1},
            {"start": 2, "end": 3, "country": "IT", "pricing_type": "FREE_CUSTOMER_SERVICE", "pricing_category": "SERVICE", "volume": 4, "cost": 0},
        ]}]}, "id": "1"});
        let reported = buckets_of(&body);
        let india = &reported[&("IN".to_string(), "marketing".to_string(), false)];
        assert_eq!(india.volume, 3);
        assert!((india.cost - 0.3).abs() < 1e-9);
        assert_eq!(reported[&("IT".to_string(), "service".to_string(), true)].volume, 4);
        assert!(buckets_of(&serde_json::json!({"error": {}})).is_empty());
    }
}
