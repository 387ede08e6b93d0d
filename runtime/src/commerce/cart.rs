//! A conversation's cart: the rules for changing it (stock, availability,
//! quantities, size) and its pricing. Prices always come from the catalog; a
//! plugin can only propose discounts, which are validated here. A cart holds
//! products of one currency (a shop may sell in several).

use crate::money::Money;
use crate::store::carts::{self, StoredLine};
use crate::store::{self, Db, StoreResult, products};

/// Different products one cart may hold.
pub const MAX_LINES: usize = 50;
/// Units of one product one cart may hold.
pub const MAX_QUANTITY: u32 = 999;
/// Discount lines one cart may carry.
pub const MAX_DISCOUNTS: usize = 20;
pub const MAX_DISCOUNT_LABEL_CHARS: usize = 100;

/// Why a cart change was refused (the contract's `cart-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartError {
    UnknownProduct,
    Unavailable,
    InsufficientStock,
    InvalidQuantity,
    CartFull,
}

/// A cart priced from the catalog, before discounts.
#[derive(Debug, Clone, PartialEq)]
pub struct CartView {
    pub lines: Vec<StoredLine>,
    pub currency: String,
}

impl CartView {
    pub fn line_total(line: &StoredLine) -> i64 {
        line.price_minor.saturating_mul(line.quantity)
    }

    pub fn subtotal(&self) -> i64 {
        self.lines.iter().map(Self::line_total).fold(0i64, i64::saturating_add)
    }
}

/// Where a cart lives.
#[derive(Debug, Clone, Copy)]
pub struct CartRef<'a> {
    pub db: &'a Db,
    pub business_id: &'a str,
    pub conversation_id: &'a str,
    /// The shop's currency, shown on an empty cart.
    pub currency: &'a str,
}

impl CartRef<'_> {
    pub async fn view(&self) -> StoreResult<CartView> {
        let lines = carts::lines(self.db, self.business_id, self.conversation_id).await?;
        let currency = lines.first().map_or_else(|| self.currency.to_string(), |l| l.currency.clone());
        Ok(CartView { lines, currency })
    }

    /// Adds units of a product to what the cart already has.
    pub async fn add(&self, product_id: &str, quantity: u32) -> StoreResult<Result<CartView, CartError>> {
        let current = self.view().await?;
        let existing = current.lines.iter().find(|l| l.product_id == product_id).map_or(0, |l| l.quantity);
        let total = u32::try_from(existing).unwrap_or(u32::MAX).saturating_add(quantity);
        if quantity == 0 {
            return Ok(Err(CartError::InvalidQuantity));
        }
        self.set(product_id, total, &current).await
    }

    /// Sets a line's quantity; 0 removes it.
    pub async fn set_quantity(&self, product_id: &str, quantity: u32) -> StoreResult<Result<CartView, CartError>> {
        if quantity == 0 {
            return Ok(Ok(self.remove(product_id).await?));
        }
        let current = self.view().await?;
        self.set(product_id, quantity, &current).await
    }

    async fn set(
        &self,
        product_id: &str,
        quantity: u32,
        current: &CartView,
    ) -> StoreResult<Result<CartView, CartError>> {
        if quantity == 0 || quantity > MAX_QUANTITY {
            return Ok(Err(CartError::InvalidQuantity));
        }
        if !store::storable(product_id) {
            return Ok(Err(CartError::UnknownProduct));
        }
        let Some(product) = products::get(self.db, self.business_id, product_id).await? else {
            return Ok(Err(CartError::UnknownProduct));
        };
        let other_currency = current.lines.iter().any(|l| l.product_id != product_id && l.currency != product.currency);
        if !product.available || other_currency {
            return Ok(Err(CartError::Unavailable));
        }
        if i64::from(quantity) > product.stock {
            return Ok(Err(CartError::InsufficientStock));
        }
        let is_new = !current.lines.iter().any(|l| l.product_id == product_id);
        if is_new && current.lines.len() >= MAX_LINES {
            return Ok(Err(CartError::CartFull));
        }
        carts::set_quantity(self.db, self.business_id, self.conversation_id, product_id, i64::from(quantity)).await?;
        Ok(Ok(self.view().await?))
    }

    pub async fn remove(&self, product_id: &str) -> StoreResult<CartView> {
        if store::storable(product_id) {
            carts::remove(self.db, self.business_id, self.conversation_id, product_id).await?;
        }
        self.view().await
    }

    pub async fn clear(&self) -> StoreResult<()> {
        carts::clear(self.db, self.business_id, self.conversation_id).await
    }

    /// Makes a cart the customer sent as a whole the conversation's cart. Lines
    /// that cannot be honoured are left out, and returned with the reason.
    pub async fn replace(&self, items: &[(String, u32)]) -> StoreResult<Vec<(String, CartError)>> {
        let mut accepted: Vec<(String, i64)> = Vec::new();
        let mut refused = Vec::new();
        // The first product accepted decides the cart's currency.
        let mut currency: Option<String> = None;
        for (product_id, quantity) in items {
            // A product named twice counts once, with both quantities.
            let earlier = accepted.iter().find(|(id, _)| id == product_id).map_or(0, |(_, q)| *q);
            let wanted = earlier + i64::from(*quantity);
            let product = if store::storable(product_id) {
                products::get(self.db, self.business_id, product_id).await?
            } else {
                None
            };
            let verdict = match product {
                None => Err(CartError::UnknownProduct),
                Some(_) if *quantity == 0 || wanted > i64::from(MAX_QUANTITY) => Err(CartError::InvalidQuantity),
                Some(p) if !p.available || currency.as_ref().is_some_and(|c| *c != p.currency) => {
                    Err(CartError::Unavailable)
                }
                Some(p) if wanted > p.stock => Err(CartError::InsufficientStock),
                Some(_) if earlier == 0 && accepted.len() >= MAX_LINES => Err(CartError::CartFull),
                Some(p) => {
                    currency.get_or_insert(p.currency);
                    Ok(())
                }
            };
            match verdict {
                Ok(()) => match accepted.iter_mut().find(|(id, _)| id == product_id) {
                    Some((_, q)) => *q = wanted,
                    None => accepted.push((product_id.clone(), wanted)),
                },
                Err(reason) => refused.push((product_id.clone(), reason)),
            }
        }
        carts::replace(self.db, self.business_id, self.conversation_id, &accepted).await?;
        Ok(refused)
    }
}

/// A discount a plugin proposed (the contract's `discount-line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedDiscount {
    pub label: String,
    pub amount_minor: i64,
    pub product_ids: Vec<String>,
}

pub use crate::domain::cart::{AppliedDiscount, PricedCart, PricedLine};

/// Prices a cart with the discounts that pass the rules: each amount positive
/// and no larger than the lines it applies to (what is left of them after the
/// discounts before it), and the total never below zero. Rejected discounts are
/// returned with the reason, for the business's log.
pub fn price(cart: &CartView, proposed: &[ProposedDiscount], locale: &str) -> (PricedCart, Vec<String>) {
    let currency = cart.currency.as_str();
    let mut remaining: Vec<(String, i64)> =
        cart.lines.iter().map(|l| (l.product_id.clone(), CartView::line_total(l))).collect();
    let mut discounts = Vec::new();
    let mut rejected = Vec::new();
    for (n, discount) in proposed.iter().enumerate() {
        if n >= MAX_DISCOUNTS {
            rejected.push(format!("{} discounts dropped: at most {MAX_DISCOUNTS} apply", proposed.len() - n));
            break;
        }
        if discount.label.trim().is_empty() || discount.label.chars().count() > MAX_DISCOUNT_LABEL_CHARS {
            rejected
                .push(format!("a discount was dropped: its label must be 1 to {MAX_DISCOUNT_LABEL_CHARS} characters"));
            continue;
        }
        if discount.amount_minor <= 0 {
            rejected.push(format!("discount `{}` dropped: amount must be positive", discount.label));
            continue;
        }
        let applies = |id: &str| discount.product_ids.is_empty() || discount.product_ids.iter().any(|p| p == id);
        if let Some(unknown) = discount.product_ids.iter().find(|p| !remaining.iter().any(|(id, _)| id == *p)) {
            rejected.push(format!("discount `{}` dropped: product `{unknown}` is not in the cart", discount.label));
            continue;
        }
        let available = remaining.iter().filter(|(id, _)| applies(id)).map(|(_, v)| *v).fold(0i64, i64::saturating_add);
        if discount.amount_minor > available {
            rejected.push(format!(
                "discount `{}` dropped: {} is more than the {} left on the lines it applies to",
                discount.label,
                crate::money::format(discount.amount_minor, currency),
                crate::money::format(available, currency)
            ));
            continue;
        }
        // Take the amount off the lines it applies to, in cart order.
        let mut left = discount.amount_minor;
        for (id, value) in remaining.iter_mut().filter(|(id, _)| applies(id)) {
            let _ = id;
            // Never a negative take: a line worth less than nothing gives nothing back.
            let take = left.min(*value).max(0);
            *value -= take;
            left -= take;
        }
        discounts.push(AppliedDiscount {
            label: discount.label.clone(),
            amount: Money::localized(discount.amount_minor, currency, locale),
            product_ids: discount.product_ids.clone(),
        });
    }
    let subtotal = cart.subtotal();
    let total = remaining.iter().map(|(_, v)| *v).fold(0i64, i64::saturating_add).max(0);
    let priced = PricedCart {
        lines: cart
            .lines
            .iter()
            .map(|l| PricedLine {
                product_id: l.product_id.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: Money::localized(l.price_minor, &l.currency, locale),
                line_total: Money::localized(CartView::line_total(l), &l.currency, locale),
            })
            .collect(),
        discounts,
        subtotal: Money::localized(subtotal, currency, locale),
        total: Money::localized(total, currency, locale),
    };
    (priced, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, price: i64, quantity: i64) -> StoredLine {
        StoredLine {
            product_id: id.into(),
            quantity,
            name: id.into(),
            price_minor: price,
            currency: "EUR".into(),
            available: true,
            stock: 100,
        }
    }

    fn discount(label: &str, amount: i64, ids: &[&str]) -> ProposedDiscount {
        ProposedDiscount {
            label: label.into(),
            amount_minor: amount,
            product_ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn cart() -> CartView {
        CartView { lines: vec![line("apple", 50, 3), line("bread", 300, 1)], currency: "EUR".into() }
    }

    #[test]
    fn a_valid_bundle_discount_lowers_the_total() {
        let (priced, rejected) = price(&cart(), &[discount("3 for 2", 50, &["apple"])], "en");
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(priced.subtotal.amount_minor, 450);
        assert_eq!(priced.total.amount_minor, 400);
        assert_eq!(priced.total.formatted, "€4.00");
    }

    #[test]
    fn a_discount_above_its_lines_is_dropped() {
        let (priced, rejected) = price(&cart(), &[discount("too generous", 151, &["apple"])], "en");
        assert_eq!(priced.total.amount_minor, 450);
        assert_eq!(rejected.len(), 1);
        assert!(rejected[0].contains("more than the €1.50 left"), "{}", rejected[0]);
    }

    #[test]
    fn discounts_never_take_the_total_below_zero_or_apply_twice() {
        let (priced, rejected) = price(
            &cart(),
            &[discount("all of it", 450, &[]), discount("and more", 1, &[]), discount("negative", -5, &[])],
            "en",
        );
        assert_eq!(priced.total.amount_minor, 0);
        assert_eq!(priced.discounts.len(), 1);
        assert_eq!(rejected.len(), 2, "{rejected:?}");
    }

    #[test]
    fn discounts_for_products_not_in_the_cart_are_dropped() {
        let (priced, rejected) = price(&cart(), &[discount("ghost", 10, &["caviar"])], "en");
        assert_eq!(priced.total.amount_minor, 450);
        assert!(rejected[0].contains("`caviar` is not in the cart"));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    const IDS: [&str; 5] = ["apple", "bread", "cheese", "dates", "eggs"];

    /// A line as the catalog allows it (a price of 0 to 10^13 minor units, 1 to 999 units).
    fn catalog_line() -> impl Strategy<Value = StoredLine> {
        (prop::sample::select(IDS.to_vec()), 0i64..=10_000_000_000_000, 1i64..=i64::from(MAX_QUANTITY))
            .prop_map(|(id, price, quantity)| line(id, price, quantity))
    }

    /// A line with any numbers at all, for what must merely not panic.
    fn extreme_line() -> impl Strategy<Value = StoredLine> {
        (prop::sample::select(IDS.to_vec()), extreme(), extreme()).prop_map(|(id, p, q)| line(id, p, q))
    }

    fn extreme() -> impl Strategy<Value = i64> {
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), Just(-1i64), any::<i64>()]
    }

    fn line(id: &str, price_minor: i64, quantity: i64) -> StoredLine {
        StoredLine {
            product_id: id.into(),
            quantity,
            name: id.into(),
            price_minor,
            currency: "EUR".into(),
            available: true,
            stock: 1000,
        }
    }

    /// One line per product, as a cart holds them.
    fn cart(lines: Vec<StoredLine>) -> CartView {
        let mut unique: Vec<StoredLine> = Vec::new();
        for line in lines {
            if !unique.iter().any(|l| l.product_id == line.product_id) {
                unique.push(line);
            }
        }
        CartView { lines: unique, currency: "EUR".into() }
    }

    fn discount() -> impl Strategy<Value = ProposedDiscount> {
        let amount = prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), -10i64..100_000, any::<i64>()];
        let ids = prop::collection::vec(prop::sample::select(vec!["apple", "bread", "caviar", "eggs"]), 0..3);
        let label = prop_oneof![Just("promo".to_string()), Just(" ".to_string()), "[a-z ]{0,120}"];
        (label, amount, ids).prop_map(|(label, amount_minor, ids)| ProposedDiscount {
            label,
            amount_minor,
            product_ids: ids.into_iter().map(str::to_string).collect(),
        })
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn the_total_stays_between_zero_and_the_subtotal_and_discounts_fit_their_lines(
            lines in prop::collection::vec(catalog_line(), 0..8),
            proposed in prop::collection::vec(discount(), 0..25),
        ) {
            let cart = cart(lines);
            let (priced, rejected) = price(&cart, &proposed, "en");
            let subtotal: i128 = cart.lines.iter().map(|l| i128::from(l.price_minor) * i128::from(l.quantity)).sum();
            prop_assert_eq!(i128::from(priced.subtotal.amount_minor), subtotal, "no line reaches i64 here");
            let total = i128::from(priced.total.amount_minor);
            prop_assert!(0 <= total && total <= subtotal, "total {} of {}", total, subtotal);
            let taken: i128 = priced.discounts.iter().map(|d| i128::from(d.amount.amount_minor)).sum();
            prop_assert_eq!(total, subtotal - taken, "every accepted discount is taken off in full");
            prop_assert!(priced.discounts.len() <= MAX_DISCOUNTS);
            prop_assert!(priced.discounts.len() + rejected.len() <= proposed.len());
            for applied in &priced.discounts {
                prop_assert!(applied.amount.amount_minor > 0);
                let lines_worth: i128 = cart
                    .lines
                    .iter()
                    .filter(|l| applied.product_ids.is_empty() || applied.product_ids.contains(&l.product_id))
                    .map(|l| i128::from(l.price_minor) * i128::from(l.quantity))
                    .sum();
                prop_assert!(i128::from(applied.amount.amount_minor) <= lines_worth, "{:?}", applied);
                let label_chars = applied.label.chars().count();
                prop_assert!(!applied.label.trim().is_empty() && label_chars <= MAX_DISCOUNT_LABEL_CHARS);
            }
            // What applies to some lines never exceeds those lines together.
            for id in IDS {
                let worth: i128 = cart.lines.iter().filter(|l| l.product_id == id).map(|l| i128::from(l.price_minor) * i128::from(l.quantity)).sum();
                let only_here: i128 = priced
                    .discounts
                    .iter()
                    .filter(|d| d.product_ids.iter().all(|p| p == id) && !d.product_ids.is_empty())
                    .map(|d| i128::from(d.amount.amount_minor))
                    .sum();
                prop_assert!(only_here <= worth, "{} discounted {} of {}", id, only_here, worth);
            }
        }

        #[test]
        fn pricing_never_panics_or_goes_negative_at_the_extremes(
            lines in prop::collection::vec(extreme_line(), 0..6),
            proposed in prop::collection::vec(discount(), 0..25),
            locale in crate::proptests::text(),
        ) {
            let cart = cart(lines);
            let (priced, _) = price(&cart, &proposed, &locale);
            prop_assert!(priced.total.amount_minor >= 0);
            for applied in &priced.discounts {
                prop_assert!(applied.amount.amount_minor > 0);
            }
        }
    }
}
