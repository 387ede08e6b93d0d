//! Plans and rate cards: their checks, and which version prices what.
//!
//! *Never retroactive.* A plan version prices whole periods: the period
//! `[start, end)` of a business is priced by the assignment that started last
//! before `end`, and by that plan's last version effective at the later of
//! `start` and the assignment's start (a version effective mid-month prices
//! from the next month; no proration). A rate card version prices the
//! deliveries that occurred from its `effective_from` on, until the next
//! version's: a period can hold several rate-card segments. Versions are only
//! added, never edited, and new ones may not start in the past.

use serde::Deserialize;

use crate::domain::billing::{MeteredPrice, PlanTerms};
use crate::store::plans::{Assignment, PlanVersion, RateCardVersion, RatePrice};

/// The channel WhatsApp's rate cards are kept under.
pub const WHATSAPP: &str = "whatsapp";

/// Checks what a plan version says; the error names the field.
pub fn check_terms(terms: &PlanTerms) -> Result<(), String> {
    let non_negative = [
        ("monthly_fee_minor", terms.monthly_fee_minor),
        ("transaction_fee_bps", terms.transaction_fee_bps),
        ("transaction_fee_fixed_minor", terms.transaction_fee_fixed_minor),
        ("due_days", terms.due_days),
    ];
    for (field, value) in non_negative {
        if value < 0 {
            return Err(format!("{field} must be 0 or more"));
        }
    }
    if terms.transaction_fee_bps > 10_000 {
        return Err("transaction_fee_bps is at most 10000 (100 %)".into());
    }
    if terms.spending_cap_minor.is_some_and(|cap| cap < 0) {
        return Err("spending_cap_minor must be 0 or more".into());
    }
    check_metered("messages", &terms.messages)?;
    check_metered("plugin_cpu_ms", &terms.plugin_cpu_ms)?;
    check_metered("photos", &terms.photos)
}

fn check_metered(field: &str, price: &MeteredPrice) -> Result<(), String> {
    if price.included < 0 {
        return Err(format!("{field}.included must be 0 or more"));
    }
    let mut floor = 0;
    for (n, tier) in price.tiers.iter().enumerate() {
        if tier.unit_milli_minor < 0 {
            return Err(format!("{field}.tiers[{n}].unit_milli_minor must be 0 or more"));
        }
        let last = n + 1 == price.tiers.len();
        match (tier.up_to, last) {
            (None, true) => {}
            (None, false) => return Err(format!("{field}.tiers[{n}]: only the last tier may be unbounded")),
            (Some(_), true) => return Err(format!("{field}.tiers[{n}]: the last tier must be unbounded (no up_to)")),
            (Some(up_to), false) if up_to <= floor => {
                return Err(format!("{field}.tiers[{n}].up_to must be above the previous tier's"));
            }
            (Some(up_to), false) => floor = up_to,
        }
    }
    Ok(())
}

/// A new version may not start before `now` (minus a minute of clock slack):
/// what was already metered keeps the price it was metered under.
pub fn check_effective_from(effective_from: i64, now: i64) -> Result<(), String> {
    if effective_from < now.saturating_sub(60_000) {
        return Err("effective_from is in the past: versions are never retroactive".into());
    }
    Ok(())
}

/// The assignment that prices the period ending at `end`: the one that started last before it.
pub fn assignment_for(assignments: &[Assignment], end: i64) -> Option<&Assignment> {
    assignments.iter().filter(|a| a.effective_from < end).max_by_key(|a| a.effective_from)
}

/// The plan version that prices the period `[start, end)` under `assignment`
/// (`versions` are that plan's): the last effective at the later of `start`
/// and the assignment's start; failing that (the plan's first version starts
/// later in the period), none: the period is not billed.
pub fn version_for<'v>(versions: &'v [PlanVersion], assignment: &Assignment, start: i64) -> Option<&'v PlanVersion> {
    let at = start.max(assignment.effective_from);
    versions.iter().filter(|v| v.effective_from <= at).max_by_key(|v| (v.effective_from, v.version))
}

/// The rate-card segments of `[start, end)`: each version in effect for part
/// of it, with that part. Before the first version nothing is priced.
pub fn segments<'c>(
    cards: &'c [(RateCardVersion, Vec<RatePrice>)],
    start: i64,
    end: i64,
) -> Vec<(&'c RateCardVersion, &'c [RatePrice], i64, i64)> {
    let mut ordered: Vec<&'c (RateCardVersion, Vec<RatePrice>)> = cards.iter().collect();
    ordered.sort_by_key(|(card, _)| (card.effective_from, card.version));
    let mut out = Vec::new();
    for (n, &pair) in ordered.iter().enumerate() {
        let (card, prices): (&'c RateCardVersion, &'c Vec<RatePrice>) = (&pair.0, &pair.1);
        // A later version with the same start replaces this one entirely.
        let until = ordered[n + 1..].iter().map(|(c, _)| c.effective_from).min().unwrap_or(i64::MAX);
        let (from, to) = (card.effective_from.max(start), until.min(end));
        if from < to {
            out.push((card, prices.as_slice(), from, to));
        }
    }
    out
}

/// One row of a rate card CSV: `market,category,currency,unit_milli_minor`
/// (a header row with those names first).
#[derive(Debug, Deserialize)]
pub struct RateCsvRow {
    pub market: String,
    pub category: String,
    pub currency: String,
    pub unit_milli_minor: i64,
}

/// Reads a rate card CSV into prices; an error names the line.
pub fn prices_from_csv(csv_text: &str) -> Result<Vec<RatePrice>, String> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let mut prices = Vec::new();
    for (n, row) in reader.deserialize::<RateCsvRow>().enumerate() {
        let row = row.map_err(|e| format!("line {}: {e}", n + 2))?;
        let price = RatePrice {
            market: row.market,
            category: row.category,
            currency: row.currency,
            unit_milli_minor: row.unit_milli_minor,
        };
        check_price(&price).map_err(|e| format!("line {}: {e}", n + 2))?;
        prices.push(price);
    }
    if prices.is_empty() {
        return Err(
            "the rate card has no prices (expected a header market,category,currency,unit_milli_minor and rows)".into(),
        );
    }
    Ok(prices)
}

/// Checks one price of a rate card.
pub fn check_price(price: &RatePrice) -> Result<(), String> {
    let market_ok =
        price.market == "*" || (price.market.len() == 2 && price.market.bytes().all(|b| b.is_ascii_uppercase()));
    if !market_ok {
        return Err(format!("market `{}` is not an ISO 3166 alpha-2 code (or *)", price.market));
    }
    if price.category.is_empty()
        || price.category.len() > 32
        || !price.category.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(format!("category `{}` is not a pricing category such as marketing", price.category));
    }
    crate::money::validate_currency(&price.currency)?;
    if price.unit_milli_minor < 0 {
        return Err("unit_milli_minor must be 0 or more".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::Tier;

    fn card(id: &str, version: i64, effective_from: i64) -> (RateCardVersion, Vec<RatePrice>) {
        let card = RateCardVersion {
            id: id.into(),
            channel: WHATSAPP.into(),
            version,
            effective_from,
            markup_bps: 0,
            free_service_per_month: 0,
            created_at: 0,
        };
        (card, Vec::new())
    }

    #[test]
    fn a_rate_card_change_mid_period_splits_it() {
        let cards = vec![card("a", 1, 0), card("b", 2, 150), card("c", 3, 500)];
        let split: Vec<(&str, i64, i64)> =
            segments(&cards, 100, 300).into_iter().map(|(c, _, from, to)| (c.id.as_str(), from, to)).collect();
        assert_eq!(split, vec![("a", 100, 150), ("b", 150, 300)]);
        assert!(segments(&cards[2..], 100, 300).is_empty(), "nothing before the first card");
    }

    #[test]
    fn tiers_must_climb_and_end_unbounded() {
        let tier = |up_to, unit| Tier { up_to, unit_milli_minor: unit };
        let ok = MeteredPrice { included: 5, tiers: vec![tier(Some(10), 1), tier(None, 2)] };
        assert!(check_metered("m", &ok).is_ok());
        let bounded = MeteredPrice { included: 0, tiers: vec![tier(Some(10), 1)] };
        assert!(check_metered("m", &bounded).is_err());
        let falling = MeteredPrice { included: 0, tiers: vec![tier(Some(10), 1), tier(Some(5), 1), tier(None, 1)] };
        assert!(check_metered("m", &falling).is_err());
    }

    #[test]
    fn rate_cards_from_csv() {
        let prices =
            prices_from_csv("market,category,currency,unit_milli_minor\nIN, marketing ,USD,1074\n*,utility,USD,400\n")
                .expect("prices");
        assert_eq!(prices.len(), 2);
        assert_eq!(prices[0].category, "marketing");
        assert!(
            prices_from_csv("market,category,currency,unit_milli_minor\nindia,marketing,USD,1\n")
                .is_err_and(|e| e.starts_with("line 2"))
        );
    }
}
