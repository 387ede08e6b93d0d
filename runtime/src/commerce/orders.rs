//! Orders: checkout turns a priced cart into an order that holds its stock for
//! a while (the reservation), and three separate state machines (order,
//! payment, fulfilment) say which changes are legal. Payments themselves come
//! next; until then an order waits, unpaid, until it is cancelled or expires.

use std::time::Duration;

use super::cart::{CartView, PricedCart};
use crate::ids;
use crate::store::orders::{self, NewOrder, Order, OutOfStock};
use crate::store::{Db, StoreResult};

/// The order's own life: `open` until it is `completed` or `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Open,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Pending,
    Authorized,
    Captured,
    Failed,
    Refunded,
    PartiallyRefunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfillmentStatus {
    Unfulfilled,
    Shipped,
    Delivered,
}

impl OrderStatus {
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!((self, next), (Open, Completed) | (Open, Cancelled))
    }
}

impl PaymentStatus {
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Authorized)
                | (Pending, Failed)
                | (Failed, Authorized)
                | (Failed, Failed)
                | (Authorized, Captured)
                | (Authorized, Failed)
                | (Captured, Refunded)
                | (Captured, PartiallyRefunded)
                | (PartiallyRefunded, PartiallyRefunded)
                | (PartiallyRefunded, Refunded)
        )
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        use PaymentStatus::*;
        Some(match s {
            "pending" => Pending,
            "authorized" => Authorized,
            "captured" => Captured,
            "failed" => Failed,
            "refunded" => Refunded,
            "partially_refunded" => PartiallyRefunded,
            _ => return None,
        })
    }
}

impl FulfillmentStatus {
    pub fn can_become(self, next: FulfillmentStatus) -> bool {
        use FulfillmentStatus::*;
        matches!((self, next), (Unfulfilled, Shipped) | (Shipped, Delivered))
    }

    pub fn parse(s: &str) -> Option<FulfillmentStatus> {
        use FulfillmentStatus::*;
        Some(match s {
            "unfulfilled" => Unfulfilled,
            "shipped" => Shipped,
            "delivered" => Delivered,
            _ => return None,
        })
    }
}

/// Where a checkout happens.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutScope<'a> {
    pub db: &'a Db,
    pub business_id: &'a str,
    pub conversation_id: &'a str,
    pub customer_id: &'a str,
}

/// Turns the conversation's cart, as priced for the customer, into an order
/// holding its stock for `reservation`, and empties the cart.
pub async fn checkout(
    scope: CheckoutScope<'_>,
    cart: &CartView,
    priced: &PricedCart,
    reservation: Duration,
    pay_token_hash: String,
) -> StoreResult<Result<Order, OutOfStock>> {
    let reserved_until = ids::now_ms().saturating_add(i64::try_from(reservation.as_millis()).unwrap_or(i64::MAX));
    let cart_json = serde_json::to_value(priced).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
    orders::create_reserving(
        scope.db,
        &NewOrder {
            business_id: scope.business_id,
            conversation_id: scope.conversation_id,
            customer_id: scope.customer_id,
            currency: &cart.currency,
            subtotal_minor: priced.subtotal.amount_minor,
            total_minor: priced.total.amount_minor,
            cart: cart_json,
            lines: cart.lines.iter().map(|l| (l.product_id.clone(), l.quantity)).collect(),
            reserved_until,
            pay_token_hash,
        },
    )
    .await
}

/// Cancels every unpaid order whose reservation ended before `now` and gives
/// its stock back. Safe to run on every node at once: each order is released
/// by one conditional update, so stock is never returned twice.
pub async fn expire_reservations(db: &Db, now: i64) -> StoreResult<usize> {
    let mut expired = 0;
    loop {
        let due = orders::reservations_due(db, now, 100).await?;
        if due.is_empty() {
            return Ok(expired);
        }
        let mut released_any = false;
        for (business_id, order_id) in &due {
            if orders::cancel_unpaid(db, business_id, order_id).await? {
                expired += 1;
                released_any = true;
                if let Some(order) = orders::get(db, business_id, order_id).await? {
                    crate::webhooks::notify_order(db, business_id, "order.cancelled", &order).await;
                }
            }
        }
        if !released_any {
            return Ok(expired);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_payment_and_fulfilment_move_only_forward() {
        use FulfillmentStatus as F;
        use OrderStatus as O;
        use PaymentStatus as P;
        for (from, to, legal) in [
            (O::Open, O::Cancelled, true),
            (O::Open, O::Completed, true),
            (O::Cancelled, O::Open, false),
            (O::Completed, O::Cancelled, false),
        ] {
            assert_eq!(from.can_become(to), legal, "order {from:?} -> {to:?}");
        }
        for (from, to, legal) in [
            (P::Pending, P::Authorized, true),
            (P::Pending, P::Captured, false),
            (P::Authorized, P::Captured, true),
            (P::Failed, P::Authorized, true),
            (P::Captured, P::Refunded, true),
            (P::Captured, P::Pending, false),
            (P::Refunded, P::Captured, false),
            (P::PartiallyRefunded, P::Refunded, true),
        ] {
            assert_eq!(from.can_become(to), legal, "payment {from:?} -> {to:?}");
        }
        for (from, to, legal) in [
            (F::Unfulfilled, F::Shipped, true),
            (F::Shipped, F::Delivered, true),
            (F::Unfulfilled, F::Delivered, false),
            (F::Delivered, F::Shipped, false),
        ] {
            assert_eq!(from.can_become(to), legal, "fulfilment {from:?} -> {to:?}");
        }
    }
}
