//! Rating: usage totals and the versions in effect, to priced invoice lines.
//! A pure function ([`rate`]): no I/O, no clock, exact integer arithmetic, so
//! the same usage always prices to the same lines, byte for byte.
//!
//! Rounding, the one rule: every line's amount is computed exactly (in
//! thousandths of a minor unit, or as a fraction of basis points, in `i128`)
//! and rounded once, to a whole minor unit, half away from zero (half-up for
//! charges, the mirror for credits). Lines are then summed; the tax is
//! rounded the same way, once, on the subtotal. Percentages apply to a
//! period's sum (1.5 % of all captures, rounded once), not payment by payment.
//!
//! Order of lines: plan fee, messages, plugin compute, stored photos, transaction fees and
//! their refunds, channel charges (by rate card version, market, category),
//! then the cap line if the cap took anything back, then adjustments (which
//! the cap never touches: a credit note is always given in full).

use crate::domain::billing::{LineKind, MeteredPrice, Metric, RefundPolicy};
use crate::store::plans::{PlanVersion, RateCardVersion, RatePrice};
use crate::store::usage::UsageTotal;

/// Basis points in a whole.
pub const BPS: i128 = 10_000;
/// WhatsApp's pricing category of service messages (free-form replies).
const SERVICE: &str = "service";
/// Thousandths of a minor unit in a minor unit.
pub const MILLI: i128 = 1_000;

/// The channel usage of part of a period, with the rate card in effect then.
#[derive(Debug, Clone, Copy)]
pub struct ChannelSegment<'a> {
    pub card: &'a RateCardVersion,
    pub prices: &'a [RatePrice],
    /// Totals of `Metric::WhatsappDelivered` rows of the segment (others are ignored).
    pub usage: &'a [UsageTotal],
}

/// What a period's invoice is priced from.
#[derive(Debug, Clone, Copy)]
pub struct RatingInput<'a> {
    /// The period's label (`2026-11`), written on every line.
    pub period: &'a str,
    pub plan: &'a PlanVersion,
    /// The period's totals of every metric but channel deliveries.
    pub usage: &'a [UsageTotal],
    pub channel: &'a [ChannelSegment<'a>],
}

/// One priced line, before it is numbered on an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub kind: LineKind,
    pub line_key: String,
    pub description: String,
    pub usage_period: String,
    pub quantity: i64,
    pub amount_minor: i64,
    pub priced_by: String,
}

/// A priced period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rated {
    pub currency: String,
    pub lines: Vec<PricedLine>,
    /// The sum of the lines.
    pub subtotal_minor: i64,
    /// What could not be priced in the plan's currency (a payment or a rate in
    /// another currency, a market with no rate), for a person to look at.
    pub unpriced: Vec<String>,
}

/// Prices one period (see the module's doc for the rules).
pub fn rate(input: &RatingInput<'_>) -> Rated {
    let plan = input.plan;
    let terms = &plan.terms;
    let currency = plan.currency.as_str();
    let mut lines = Vec::new();
    let mut unpriced = Vec::new();
    let line = |kind, key: String, description: String, quantity: i64, amount: i128, priced_by: &str| PricedLine {
        kind,
        line_key: key,
        description,
        usage_period: input.period.to_string(),
        quantity,
        amount_minor: clamp(amount),
        priced_by: priced_by.to_string(),
    };

    if terms.monthly_fee_minor != 0 {
        lines.push(line(
            LineKind::PlanFee,
            "plan_fee".into(),
            format!("Plan {} (version {}), monthly fee", plan.plan_id, plan.version),
            1,
            i128::from(terms.monthly_fee_minor),
            &plan.id,
        ));
    }
    for (metric, price, what) in [
        (Metric::MessagesHandled, &terms.messages, "Messages handled"),
        (Metric::PluginCpuMs, &terms.plugin_cpu_ms, "Plugin compute (CPU ms)"),
        (Metric::PhotosStored, &terms.photos, "Photos stored"),
    ] {
        let used = sum_of(input.usage, metric, None);
        if used == 0 {
            continue;
        }
        let amount = metered(used, price);
        let description = format!("{what}: {used} ({} included)", price.included);
        lines.push(line(LineKind::Usage, metric.as_str().into(), description, used, amount, &plan.id));
    }

    let (captures, captured) = count_and_sum(input.usage, Metric::PaymentCaptured, Some(currency));
    if captures > 0 && (terms.transaction_fee_bps != 0 || terms.transaction_fee_fixed_minor != 0) {
        let amount = percent_of(captured, terms.transaction_fee_bps)
            + i128::from(captures) * i128::from(terms.transaction_fee_fixed_minor);
        let description = format!(
            "Transaction fees: {captures} payments, {} captured ({} bp + {} each)",
            crate::money::format(captured, currency),
            terms.transaction_fee_bps,
            crate::money::format(terms.transaction_fee_fixed_minor, currency)
        );
        lines.push(line(LineKind::TransactionFee, "transaction_fee".into(), description, captures, amount, &plan.id));
    }
    let (refunds, refunded) = count_and_sum(input.usage, Metric::PaymentRefunded, Some(currency));
    if refunds > 0 && terms.refund_policy != RefundPolicy::KeepFee {
        let mut credit = percent_of(refunded, terms.transaction_fee_bps);
        if terms.refund_policy == RefundPolicy::ReturnAll {
            let full = input
                .usage
                .iter()
                .filter(|t| {
                    t.metric == Metric::PaymentRefunded
                        && t.currency.as_deref() == Some(currency)
                        && t.category.as_deref() == Some("full")
                })
                .map(|t| t.events)
                .sum::<i64>();
            credit += i128::from(full) * i128::from(terms.transaction_fee_fixed_minor);
        }
        if credit != 0 {
            let description = format!(
                "Transaction fees given back: {refunds} refunds, {} refunded",
                crate::money::format(refunded, currency)
            );
            lines.push(line(
                LineKind::TransactionFee,
                "transaction_fee_refund".into(),
                description,
                refunds,
                -credit,
                &plan.id,
            ));
        }
    }
    for other in input.usage.iter().filter(|t| {
        matches!(t.metric, Metric::PaymentCaptured | Metric::PaymentRefunded | Metric::Adjustment)
            && t.currency.as_deref() != Some(currency)
    }) {
        unpriced.push(format!(
            "{} {} of {} in {} (the plan is in {currency})",
            other.events,
            other.metric,
            other.quantity,
            other.currency.as_deref().unwrap_or("no currency")
        ));
    }

    // WhatsApp's free service messages: the month's allowance (of the card in
    // effect when it starts) goes first to those the channel already called
    // free, then to billable service deliveries in the order they happened.
    let free_service: i64 = input
        .usage
        .iter()
        .filter(|t| t.metric == Metric::WhatsappFree && t.category.as_deref() == Some(SERVICE))
        .map(|t| t.events)
        .sum();
    let mut service_allowance =
        input.channel.first().map_or(0, |s| s.card.free_service_per_month).saturating_sub(free_service).max(0);
    for segment in input.channel {
        let card = segment.card;
        let mut usage: Vec<&UsageTotal> =
            segment.usage.iter().filter(|t| t.metric == Metric::WhatsappDelivered).collect();
        usage.sort_by(|a, b| (&a.market, &a.category).cmp(&(&b.market, &b.category)));
        for total in usage {
            let market = total.market.as_deref().unwrap_or("*");
            let category = total.category.as_deref().unwrap_or("unknown");
            let price = price_for(segment.prices, market, category);
            let Some(price) = price.filter(|p| p.currency == currency) else {
                unpriced.push(format!(
                    "{} WhatsApp {category} messages to {market}: no {currency} price on rate card version {}",
                    total.events, card.version
                ));
                continue;
            };
            let free = if category == SERVICE { total.events.min(service_allowance) } else { 0 };
            service_allowance -= free;
            let billed = total.events - free;
            // billed count × unit (milli-minor) × (1 + markup), rounded once.
            let exact = i128::from(billed) * i128::from(price.unit_milli_minor) * (BPS + i128::from(card.markup_bps));
            let amount = div_round(exact, MILLI * BPS);
            let description = format!(
                "WhatsApp {category} messages to {market}: {} × {} (rate card v{}{}{})",
                billed,
                milli_price(price.unit_milli_minor, currency),
                card.version,
                if card.markup_bps == 0 { String::new() } else { format!(", markup {} bp", card.markup_bps) },
                if free == 0 { String::new() } else { format!("; {free} more free in the monthly allowance") }
            );
            let key = format!("channel:{}:{market}:{category}:{}", card.channel, card.id);
            lines.push(line(LineKind::Channel, key, description, total.events, amount, &card.id));
        }
    }

    if let Some(cap) = terms.spending_cap_minor {
        let charged: i128 = lines.iter().map(|l| i128::from(l.amount_minor)).sum();
        if charged > i128::from(cap) {
            let description = format!("Spending cap of {} reached", crate::money::format(cap, currency));
            lines.push(line(LineKind::Cap, "cap".into(), description, 1, i128::from(cap) - charged, &plan.id));
        }
    }
    let (adjustments, adjusted) = count_and_sum(input.usage, Metric::Adjustment, Some(currency));
    if adjustments > 0 {
        lines.push(line(
            LineKind::Adjustment,
            "adjustment".into(),
            format!("Adjustments and credit notes ({adjustments})"),
            adjustments,
            i128::from(adjusted),
            &plan.id,
        ));
    }
    let subtotal_minor = clamp(lines.iter().map(|l| i128::from(l.amount_minor)).sum());
    Rated { currency: currency.to_string(), lines, subtotal_minor, unpriced }
}

/// The tax on `subtotal` at `rate_bps`, rounded once, half away from zero.
pub fn tax(subtotal_minor: i64, rate_bps: i64) -> i64 {
    clamp(percent_of(subtotal_minor, rate_bps))
}

/// What changed between what was billed of a period (`before`) and what its
/// usage prices to now (`after`): one delta line per line key whose amount
/// or quantity moved, in `after`'s order then `before`'s leftovers.
pub fn deltas(before: &Rated, after: &Rated) -> Vec<PricedLine> {
    let mut out = Vec::new();
    for line in &after.lines {
        let old = before.lines.iter().find(|b| b.line_key == line.line_key);
        let (old_amount, old_quantity) = old.map_or((0, 0), |b| (b.amount_minor, b.quantity));
        if line.amount_minor != old_amount || line.quantity != old_quantity {
            out.push(PricedLine {
                kind: LineKind::Delta,
                line_key: line.line_key.clone(),
                description: format!("Late usage of {}: {}", line.usage_period, line.description),
                usage_period: line.usage_period.clone(),
                quantity: line.quantity.saturating_sub(old_quantity),
                amount_minor: line.amount_minor.saturating_sub(old_amount),
                priced_by: line.priced_by.clone(),
            });
        }
    }
    for old in &before.lines {
        if !after.lines.iter().any(|a| a.line_key == old.line_key) {
            out.push(PricedLine {
                kind: LineKind::Delta,
                line_key: old.line_key.clone(),
                description: format!("Correction of {}: {}", old.usage_period, old.description),
                usage_period: old.usage_period.clone(),
                quantity: -old.quantity,
                amount_minor: -old.amount_minor,
                priced_by: old.priced_by.clone(),
            });
        }
    }
    out
}

/// `units` of a metric priced: the allowance first, then the tiers
/// (graduated: each tier's own price for the units that fall in it; units
/// beyond the last bounded tier at the last tier's price), in minor units,
/// rounded once.
pub fn metered(units: i64, price: &MeteredPrice) -> i128 {
    let mut left = i128::from(units) - i128::from(price.included.max(0));
    if left <= 0 || price.tiers.is_empty() {
        return 0;
    }
    let mut milli: i128 = 0;
    let mut floor: i128 = 0;
    for (n, tier) in price.tiers.iter().enumerate() {
        let last = n + 1 == price.tiers.len();
        let width = match tier.up_to {
            Some(up_to) if !last => (i128::from(up_to) - floor).max(0),
            _ => left,
        };
        let here = left.min(width);
        milli += here * i128::from(tier.unit_milli_minor);
        left -= here;
        floor += width;
        if left <= 0 {
            break;
        }
    }
    div_round(milli, MILLI)
}

/// `amount × bps / 10 000`, rounded once, half away from zero.
fn percent_of(amount_minor: i64, bps: i64) -> i128 {
    div_round(i128::from(amount_minor) * i128::from(bps), BPS)
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d > 0`).
pub fn div_round(n: i128, d: i128) -> i128 {
    if n >= 0 { (n + d / 2) / d } else { -((-n + d / 2) / d) }
}

fn clamp(amount: i128) -> i64 {
    i64::try_from(amount).unwrap_or(if amount < 0 { i64::MIN } else { i64::MAX })
}

fn sum_of(usage: &[UsageTotal], metric: Metric, currency: Option<&str>) -> i64 {
    count_and_sum(usage, metric, currency).1
}

fn count_and_sum(usage: &[UsageTotal], metric: Metric, currency: Option<&str>) -> (i64, i64) {
    usage
        .iter()
        .filter(|t| t.metric == metric && (currency.is_none() || t.currency.as_deref() == currency))
        .fold((0_i64, 0_i64), |(n, q), t| (n.saturating_add(t.events), q.saturating_add(t.quantity)))
}

/// The card's price for a market and category, or its `*` price for the category.
pub(crate) fn price_for<'p>(prices: &'p [RatePrice], market: &str, category: &str) -> Option<&'p RatePrice> {
    prices
        .iter()
        .find(|p| p.market == market && p.category == category)
        .or_else(|| prices.iter().find(|p| p.market == "*" && p.category == category))
}

/// A price in thousandths of a minor unit, written exactly (`0.0250 USD`).
fn milli_price(unit_milli_minor: i64, currency: &str) -> String {
    let exponent = crate::money::exponent(currency).unwrap_or(2);
    let digits = exponent + 3;
    let scale = 10_i128.pow(digits);
    let value = i128::from(unit_milli_minor);
    let (whole, fraction) = (value.abs() / scale, value.abs() % scale);
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{whole}.{fraction:0width$} {currency}", width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::{LimitPolicy, PlanTerms, Tier};

    fn plan(terms: PlanTerms) -> PlanVersion {
        PlanVersion {
            id: "plv_1".into(),
            plan_id: "growth".into(),
            version: 1,
            effective_from: 0,
            currency: "EUR".into(),
            terms,
            created_at: 0,
        }
    }

    fn terms() -> PlanTerms {
        PlanTerms {
            monthly_fee_minor: 2900,
            transaction_fee_bps: 150,
            transaction_fee_fixed_minor: 10,
            refund_policy: RefundPolicy::ReturnPercentage,
            messages: MeteredPrice {
                included: 1000,
                tiers: vec![
                    Tier { up_to: Some(1000), unit_milli_minor: 2000 },
                    Tier { up_to: None, unit_milli_minor: 1500 },
                ],
            },
            plugin_cpu_ms: MeteredPrice { included: 60_000, tiers: vec![Tier { up_to: None, unit_milli_minor: 10 }] },
            photos: MeteredPrice::default(),
            spending_cap_minor: None,
            when_over_cap: LimitPolicy::Allow,
            when_past_due: LimitPolicy::Allow,
            due_days: 14,
        }
    }

    fn total(metric: Metric, events: i64, quantity: i64) -> UsageTotal {
        UsageTotal { metric, currency: None, market: None, category: None, events, quantity }
    }

    fn money(metric: Metric, events: i64, quantity: i64, currency: &str) -> UsageTotal {
        UsageTotal { currency: Some(currency.into()), ..total(metric, events, quantity) }
    }

    fn channel(market: &str, category: &str, events: i64) -> UsageTotal {
        UsageTotal {
            market: Some(market.into()),
            category: Some(category.into()),
            ..total(Metric::WhatsappDelivered, events, events)
        }
    }

    fn card(id: &str, version: i64, markup_bps: i64) -> RateCardVersion {
        RateCardVersion {
            id: id.into(),
            channel: "whatsapp".into(),
            version,
            effective_from: 0,
            markup_bps,
            free_service_per_month: 0,
            created_at: 0,
        }
    }

    fn price(market: &str, category: &str, unit_milli_minor: i64) -> RatePrice {
        RatePrice { market: market.into(), category: category.into(), currency: "EUR".into(), unit_milli_minor }
    }

    fn amounts(rated: &Rated) -> Vec<(&str, i64)> {
        rated.lines.iter().map(|l| (l.line_key.as_str(), l.amount_minor)).collect()
    }

    #[test]
    fn a_month_prices_to_the_hand_computed_total() {
        let plan = plan(terms());
        let usage = vec![
            // 2,600 messages: 1,000 free, 1,000 at 2.000 cents, 600 at 1.500 cents = 2000 + 900 = 2900.
            total(Metric::MessagesHandled, 2600, 2600),
            // 75,001 ms: 15,001 over at 0.010 cents = 150.01 -> 150.
            total(Metric::PluginCpuMs, 40, 75_001),
            // 3 payments, €123.45 captured: 1.5 % = 185.175 -> 185, + 3 × 10 = 215.
            money(Metric::PaymentCaptured, 3, 12_345, "EUR"),
            // €33.33 refunded: 1.5 % = 49.995 -> 50 given back.
            money(Metric::PaymentRefunded, 1, 3333, "EUR"),
            // A USD payment on a EUR plan is not priced.
            money(Metric::PaymentCaptured, 1, 500, "USD"),
            money(Metric::Adjustment, 1, -500, "EUR"),
        ];
        let v1 = card("rcv_1", 1, 1000);
        let v1_prices = vec![price("IN", "marketing", 9_876), price("*", "utility", 1_500)];
        let v1_usage = vec![channel("IN", "marketing", 10), channel("BR", "utility", 3), channel("BR", "marketing", 2)];
        let segments = [ChannelSegment { card: &v1, prices: &v1_prices, usage: &v1_usage }];
        let rated = rate(&RatingInput { period: "2026-11", plan: &plan, usage: &usage, channel: &segments });
        // IN marketing: 10 × 9.876 × 1.1 = 108.636 -> 109; BR utility via `*`: 3 × 1.5 × 1.1 = 4.95 -> 5.
        assert_eq!(
            amounts(&rated),
            vec![
                ("plan_fee", 2900),
                ("messages_handled", 2900),
                ("plugin_cpu_ms", 150),
                ("transaction_fee", 215),
                ("transaction_fee_refund", -50),
                ("channel:whatsapp:BR:utility:rcv_1", 5),
                ("channel:whatsapp:IN:marketing:rcv_1", 109),
                ("adjustment", -500),
            ]
        );
        assert_eq!(rated.subtotal_minor, 2900 + 2900 + 150 + 215 - 50 + 5 + 109 - 500);
        assert_eq!(rated.unpriced.len(), 2, "{:?}", rated.unpriced);
        // 20 % VAT on €57.29 = 11.458 -> 11.46.
        assert_eq!(tax(rated.subtotal_minor, 2000), 1146);
    }

    #[test]
    fn service_messages_are_free_to_the_monthly_allowance_and_photos_beyond_theirs_are_billed() {
        let photos = MeteredPrice { included: 100, tiers: vec![Tier { up_to: None, unit_milli_minor: 2000 }] };
        let plan = plan(PlanTerms { photos, ..terms() });
        let usage = vec![
            // 130 photos stored: 30 over the allowance at 2 cents = 60.
            total(Metric::PhotosStored, 1, 130),
            // 400 service messages the channel already delivered free.
            UsageTotal { category: Some("service".into()), ..total(Metric::WhatsappFree, 400, 400) },
        ];
        let mut v1 = card("rcv_1", 1, 0);
        v1.free_service_per_month = 1000;
        let prices = vec![price("*", "service", 1_000)];
        // 900 more: 600 of them free in what is left of the allowance (Brazil's
        // 400 first, in the card's order, then 200 of India's), 300 at 1 cent.
        let service = vec![channel("IN", "service", 500), channel("BR", "service", 400)];
        let segments = [ChannelSegment { card: &v1, prices: &prices, usage: &service }];
        let rated = rate(&RatingInput { period: "2026-11", plan: &plan, usage: &usage, channel: &segments });
        assert_eq!(
            amounts(&rated),
            vec![
                ("plan_fee", 2900),
                ("photos_stored", 60),
                ("channel:whatsapp:BR:service:rcv_1", 0),
                ("channel:whatsapp:IN:service:rcv_1", 300),
            ]
        );
    }

    #[test]
    fn the_cap_takes_back_what_is_above_it_but_never_a_credit_note() {
        let plan = plan(PlanTerms { spending_cap_minor: Some(5000), ..terms() });
        let usage = vec![total(Metric::MessagesHandled, 5000, 5000), money(Metric::Adjustment, 1, -100, "EUR")];
        let rated = rate(&RatingInput { period: "2026-11", plan: &plan, usage: &usage, channel: &[] });
        // 2900 fee + (1000 × 2.0 + 3000 × 1.5 = 6500) = 9400, capped at 5000: -4400; then -100.
        assert_eq!(
            amounts(&rated),
            vec![("plan_fee", 2900), ("messages_handled", 6500), ("cap", -4400), ("adjustment", -100)]
        );
        assert_eq!(rated.subtotal_minor, 4900);
    }

    #[test]
    fn tiers_and_allowances() {
        let price = MeteredPrice {
            included: 10,
            tiers: vec![
                Tier { up_to: Some(5), unit_milli_minor: 1000 },
                Tier { up_to: Some(15), unit_milli_minor: 500 },
                Tier { up_to: None, unit_milli_minor: 100 },
            ],
        };
        assert_eq!(metered(10, &price), 0);
        assert_eq!(metered(15, &price), 5);
        // 5 × 1 + 10 × 0.5 + 5 × 0.1 = 10.5 -> 11 (half up).
        assert_eq!(metered(30, &price), 11);
        assert_eq!(metered(1_000, &MeteredPrice::default()), 0);
        assert_eq!(div_round(-5, 10), -1);
        assert_eq!(div_round(-4, 10), 0);
        assert_eq!(milli_price(9_876, "EUR"), "0.09876 EUR");
    }

    #[test]
    fn late_usage_becomes_deltas() {
        let plan = plan(terms());
        let before = rate(&RatingInput {
            period: "2026-10",
            plan: &plan,
            usage: &[total(Metric::MessagesHandled, 1500, 1500)],
            channel: &[],
        });
        let after = rate(&RatingInput {
            period: "2026-10",
            plan: &plan,
            usage: &[total(Metric::MessagesHandled, 1510, 1510)],
            channel: &[],
        });
        let deltas = deltas(&before, &after);
        assert_eq!(deltas.len(), 1);
        assert_eq!((deltas[0].quantity, deltas[0].amount_minor), (10, 20));
        assert_eq!(deltas[0].usage_period, "2026-10");
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn the_subtotal_is_the_sum_of_the_lines_and_charges_never_pass_the_cap(
                fee in 0_i64..100_000,
                messages in 0_i64..10_000_000,
                cpu in 0_i64..100_000_000,
                captured in 0_i64..1_000_000_000,
                payments in 1_i64..10_000,
                delivered in 0_i64..100_000,
                unit in 0_i64..1_000_000,
                markup in 0_i64..20_000,
                cap in proptest::option::of(0_i64..10_000_000),
                adjustment in -100_000_i64..0,
                tax_bps in 0_i64..3_000,
            ) {
                let plan = plan(PlanTerms { monthly_fee_minor: fee, spending_cap_minor: cap, ..terms() });
                let usage = vec![
                    total(Metric::MessagesHandled, messages, messages),
                    total(Metric::PluginCpuMs, 1, cpu),
                    money(Metric::PaymentCaptured, payments, captured, "EUR"),
                    money(Metric::Adjustment, 1, adjustment, "EUR"),
                ];
                let card = card("rcv_1", 1, markup);
                let prices = vec![price("*", "marketing", unit)];
                let deliveries = vec![channel("IT", "marketing", delivered)];
                let segments = [ChannelSegment { card: &card, prices: &prices, usage: &deliveries }];
                let rated = rate(&RatingInput { period: "2026-11", plan: &plan, usage: &usage, channel: &segments });
                let sum: i64 = rated.lines.iter().map(|l| l.amount_minor).sum();
                prop_assert_eq!(sum, rated.subtotal_minor);
                let charges: i64 =
                    rated.lines.iter().filter(|l| l.kind != LineKind::Adjustment).map(|l| l.amount_minor).sum();
                if let Some(cap) = cap {
                    prop_assert!(charges <= cap, "charges {} over the cap {}", charges, cap);
                }
                prop_assert!(charges >= 0);
                // Rating is a function: the same input prices the same.
                let again = rate(&RatingInput { period: "2026-11", plan: &plan, usage: &usage, channel: &segments });
                prop_assert_eq!(&again, &rated);
                let tax = tax(rated.subtotal_minor, tax_bps);
                prop_assert!((i128::from(tax) * 10_000 - i128::from(rated.subtotal_minor) * i128::from(tax_bps)).abs() <= 5_000);
            }
        }
    }
}
