//! Per-send channel charges, as a business reads them on its outbox: each
//! delivered WhatsApp send with a price is billed the rate card's price for
//! its market and category, with the operator's markup, by the rate-card
//! version in effect when it was delivered (the same rule the invoice
//! follows, [`super::rating`]). Exact in thousandths of a minor unit: an
//! invoice line sums such sends and rounds once.

use super::Billing;
use super::plans::{self, WHATSAPP};
use super::rating::{self, BPS};
use crate::domain::billing::{Metric, SendCharge};
use crate::store::outbox::OutboxEntry;
use crate::store::plans::{RateCardVersion, RatePrice};
use crate::store::{StoreError, StoreResult};

/// Sets each entry's `charge` from its delivery's ledger row, if it has one.
pub async fn price_sends(billing: &Billing, entries: &mut [OutboxEntry]) -> StoreResult<()> {
    if !billing.config().enabled || entries.iter().all(|e| e.usage_at.is_none()) {
        return Ok(());
    }
    let cards = {
        let mut conn = billing.db().pool().acquire().await.map_err(StoreError::from)?;
        crate::store::plans::rate_cards(&mut conn, WHATSAPP).await?
    };
    for entry in entries.iter_mut() {
        let (Some(metric), Some(at)) = (entry.usage_metric.as_deref(), entry.usage_at) else { continue };
        let Ok(metric) = metric.parse::<Metric>() else { continue };
        let market = entry.market.as_deref().unwrap_or("*");
        let category = entry.pricing_category.as_deref().unwrap_or("unknown");
        entry.charge = Some(send_charge(&cards, metric, market, category, at));
    }
    Ok(())
}

/// What one send delivered at `at` is billed (see the module's doc).
pub fn send_charge(
    cards: &[(RateCardVersion, Vec<RatePrice>)],
    metric: Metric,
    market: &str,
    category: &str,
    at: i64,
) -> SendCharge {
    let unpriced = SendCharge { metric, amount_milli_minor: 0, currency: None, rate_card_id: None, priced: false };
    if metric != Metric::WhatsappDelivered {
        return SendCharge { priced: true, ..unpriced };
    }
    let Some((card, price)) = price_at(cards, market, category, at) else { return unpriced };
    let Some(price) = price else {
        return SendCharge { rate_card_id: Some(card.id.clone()), ..unpriced };
    };
    let exact = i128::from(price.unit_milli_minor) * (BPS + i128::from(card.markup_bps));
    let amount = i64::try_from(rating::div_round(exact, BPS)).unwrap_or(i64::MAX);
    SendCharge {
        metric,
        amount_milli_minor: amount,
        currency: Some(price.currency.clone()),
        rate_card_id: Some(card.id.clone()),
        priced: true,
    }
}

/// The rate-card version in effect at `at`, with its price (at cost) for
/// `market` and `category` if it has one; `None` before the first version.
pub fn price_at<'c>(
    cards: &'c [(RateCardVersion, Vec<RatePrice>)],
    market: &str,
    category: &str,
    at: i64,
) -> Option<(&'c RateCardVersion, Option<&'c RatePrice>)> {
    let (card, prices, _, _) = plans::segments(cards, at, at.saturating_add(1)).into_iter().next()?;
    Some((card, rating::price_for(prices, market, category)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: &str, from: i64, markup_bps: i64, unit: i64) -> (RateCardVersion, Vec<RatePrice>) {
        let version = RateCardVersion {
            id: id.into(),
            channel: WHATSAPP.into(),
            version: from,
            effective_from: from,
            markup_bps,
            free_service_per_month: 0,
            created_at: from,
        };
        let price = RatePrice {
            market: "IN".into(),
            category: "marketing".into(),
            currency: "EUR".into(),
            unit_milli_minor: unit,
        };
        (version, vec![price])
    }

    #[test]
    fn a_send_is_priced_by_the_card_in_effect_when_it_was_delivered() {
        let cards = [card("rcv_1", 1_000, 1_000, 10_000), card("rcv_2", 2_000, 1_000, 20_000)];
        let before = send_charge(&cards, Metric::WhatsappDelivered, "IN", "marketing", 1_500);
        assert_eq!((before.amount_milli_minor, before.rate_card_id.as_deref()), (11_000, Some("rcv_1")));
        let after = send_charge(&cards, Metric::WhatsappDelivered, "IN", "marketing", 2_000);
        assert_eq!((after.amount_milli_minor, after.currency.as_deref()), (22_000, Some("EUR")));
        assert!(!send_charge(&cards, Metric::WhatsappDelivered, "BR", "marketing", 1_500).priced);
        assert!(!send_charge(&cards, Metric::WhatsappDelivered, "IN", "marketing", 500).priced, "before any card");
        let free = send_charge(&cards, Metric::WhatsappFree, "IN", "service", 1_500);
        assert_eq!((free.amount_milli_minor, free.priced), (0, true));
    }
}
