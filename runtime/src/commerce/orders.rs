//! The order lifecycle: checkout turns a priced cart into an order that holds
//! its stock for a while (the reservation); [`change`] is the one transition
//! every caller goes through to cancel, expire, ship or deliver it (payments
//! move it through `payments::flow`). Each change is decided here from the
//! order's typed states and written only if the order still stands where it
//! was read; a change that lost a race is decided again on a fresh read.

use super::Commerce;
use super::cart::PricedCart;
use super::payments::recovery;
use super::states::{AttemptStatus, FulfillmentStatus, OrderEventKind, OrderStatus};
use crate::config::CommerceConfig;
use crate::failpoint;
use crate::ids;
use crate::store::orders::{self, NewOrder, Order, OrderChange, OutOfStock};
use crate::store::{Db, StoreError, StoreResult, payments};

/// What a business (or the sweeper) asks of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// The business cancels an open, unpaid order; its stock returns.
    Cancel,
    /// The reservation of an unpaid order ended; its stock returns.
    Expire,
    Ship,
    Deliver,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("the order was not found")]
    NotFound,
    /// The order's states do not allow it; `rule` says what would.
    #[error("order {} is {} (payment {}, fulfilment {}): {rule}", .order.number, .order.status, .order.payment_status, .order.fulfillment_status)]
    Illegal { order: Box<Order>, rule: &'static str },
    /// A payment of the order is being processed right now.
    #[error("order {} is being paid right now; try again in a moment", .order.number)]
    BeingPaid { order: Box<Order> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who checks out, and where.
#[derive(Debug, Clone, Copy)]
pub struct Checkout<'a> {
    pub business_id: &'a str,
    pub conversation_id: &'a str,
    pub customer_id: &'a str,
}

/// A checkout's order with the payment link to send the customer.
#[derive(Debug, Clone)]
pub struct Payable {
    pub order: Order,
    pub payment_url: String,
}

/// Turns the conversation's cart, as priced for the customer, into an order
/// holding its stock for the configured reservation (the cart is emptied
/// when the answer is stored). A checkout of the very lines of an order still
/// waiting for payment answers with that order and a fresh link instead of
/// holding the stock twice: the first answer may have been lost in a crash.
/// (Checkout needs no provider and tells no one, so the chat calls it with
/// the database and the commerce settings alone.)
pub async fn checkout(
    db: &Db,
    config: &CommerceConfig,
    at: Checkout<'_>,
    priced: &PricedCart,
) -> StoreResult<Result<Payable, OutOfStock>> {
    if let Some(waiting) = orders::awaiting_payment(db, at.business_id, at.conversation_id, ids::now_ms()).await?
        && same_lines(&waiting.cart, priced)
        && let Some(payable) = with_fresh_link(db, config, at.business_id, waiting).await?
    {
        return Ok(Ok(payable));
    }
    let reserved_until = ids::now_ms().saturating_add(super::millis(config.reservation));
    let token = ids::new_secret("pt");
    let new = NewOrder {
        business_id: at.business_id,
        conversation_id: at.conversation_id,
        customer_id: at.customer_id,
        cart: priced,
        reserved_until,
        pay_token_hash: ids::hash_secret(&token),
    };
    config.failpoints.hit(failpoint::CHECKOUT_BEFORE_COMMIT).await;
    let created = orders::create_reserving(db, &new).await?;
    config.failpoints.hit(failpoint::CHECKOUT_AFTER_COMMIT).await;
    Ok(created.map(|order| Payable { payment_url: payment_url(config, &order.id, &token), order }))
}

/// The conversation's order still waiting for its payment, with a fresh
/// payment link (the old one stops working): what a customer whose checkout
/// answer was lost (or who asks again) is sent instead of "your cart is empty".
pub async fn awaiting_payment(
    db: &Db,
    config: &CommerceConfig,
    business_id: &str,
    conversation_id: &str,
) -> StoreResult<Option<Payable>> {
    match orders::awaiting_payment(db, business_id, conversation_id, ids::now_ms()).await? {
        Some(order) => with_fresh_link(db, config, business_id, order).await,
        None => Ok(None),
    }
}

/// `order` with a new payment-link token (the old link stops working).
async fn with_fresh_link(
    db: &Db,
    config: &CommerceConfig,
    business_id: &str,
    order: Order,
) -> StoreResult<Option<Payable>> {
    let token = ids::new_secret("pt");
    if !orders::renew_payment_link(db, business_id, &order.id, &ids::hash_secret(&token)).await? {
        return Ok(None);
    }
    Ok(Some(Payable { payment_url: payment_url(config, &order.id, &token), order }))
}

/// The same products in the same quantities, at the same total.
fn same_lines(a: &PricedCart, b: &PricedCart) -> bool {
    fn lines(cart: &PricedCart) -> Vec<(&str, i64)> {
        let mut lines: Vec<(&str, i64)> = cart.lines.iter().map(|l| (l.product_id.as_str(), l.quantity)).collect();
        lines.sort_unstable();
        lines
    }
    lines(a) == lines(b) && a.total == b.total
}

fn payment_url(config: &CommerceConfig, order_id: &str, token: &str) -> String {
    format!("{}/pay/{order_id}?token={token}", config.public_url)
}

/// Applies `action` to an order: the one way an order is cancelled, expired,
/// shipped or delivered. A payment attempt left in flight by a request that
/// died is resolved first (it may turn out paid).
pub async fn change(
    commerce: &Commerce,
    business_id: &str,
    order_id: &str,
    action: OrderAction,
) -> Result<Order, OrderError> {
    change_at(commerce, business_id, order_id, action, ids::now_ms()).await
}

/// [`change`] as decided at `now` (the sweeper's clock).
async fn change_at(
    commerce: &Commerce,
    business_id: &str,
    order_id: &str,
    action: OrderAction,
    now: i64,
) -> Result<Order, OrderError> {
    let db = commerce.db();
    for _ in 0..5 {
        let order = orders::get(db, business_id, order_id).await?.ok_or(OrderError::NotFound)?;
        let next =
            decide(&order, action, now).map_err(|rule| OrderError::Illegal { order: Box::new(order.clone()), rule })?;
        let attempt = match &order.payment_id {
            Some(payment_id) if next.release_stock => payments::get(db, business_id, payment_id).await?,
            _ => None,
        };
        let changed = match attempt {
            Some(payment) if payment.status == AttemptStatus::Processing => {
                if payment.lease_until.is_some_and(|until| until > ids::now_ms()) {
                    return Err(OrderError::BeingPaid { order: Box::new(order) });
                }
                recovery::reconcile(commerce, &payment).await?;
                continue;
            }
            Some(payment) if payment.status == AttemptStatus::RequiresChallenge => {
                // The customer may have passed the challenge and been charged
                // with the answer lost: ask the provider before giving up.
                if recovery::reconcile(commerce, &payment).await? {
                    continue;
                }
                let abandoned = payments::AttemptUpdate::default();
                payments::record(db, &payment, AttemptStatus::Failed, &abandoned, Some((&order, &next)))
                    .await?
                    .and_then(|(_, order)| order)
            }
            _ => orders::apply(db, business_id, &order, &next).await?,
        };
        if let Some(changed) = changed {
            super::events::dispatch_for(commerce, &changed).await?;
            return Ok(changed);
        }
    }
    Err(OrderError::Store(StoreError::Conflict("the order kept changing; try again".into())))
}

/// What `action` does to `order` as it stands, or the rule it breaks.
fn decide(order: &Order, action: OrderAction, now: i64) -> Result<OrderChange, &'static str> {
    let keep = OrderChange::keeping(order);
    match action {
        OrderAction::Cancel | OrderAction::Expire => {
            let unpaid = order.status.can_become(OrderStatus::Cancelled)
                && order.payment_status.is_unpaid()
                && order.reserved_until_ms.is_some();
            if !unpaid {
                return Err("only an open, unpaid order can be cancelled");
            }
            if action == OrderAction::Expire && order.reserved_until_ms.is_some_and(|until| until >= now) {
                return Err("its reservation has not ended");
            }
            let event = if action == OrderAction::Cancel { OrderEventKind::Cancelled } else { OrderEventKind::Expired };
            Ok(OrderChange {
                status: OrderStatus::Cancelled,
                payment_id: None,
                release_stock: true,
                end_reservation: true,
                event: Some(event),
                ..keep
            })
        }
        OrderAction::Ship => {
            let shippable = order.status == OrderStatus::Open
                && order.payment_status.is_paid()
                && order.fulfillment_status.can_become(FulfillmentStatus::Shipped);
            if !shippable {
                return Err("only an open, paid, unfulfilled order can be shipped");
            }
            Ok(OrderChange {
                fulfillment_status: FulfillmentStatus::Shipped,
                event: Some(OrderEventKind::Shipped),
                ..keep
            })
        }
        OrderAction::Deliver => {
            let deliverable = order.status.can_become(OrderStatus::Completed)
                && order.fulfillment_status.can_become(FulfillmentStatus::Delivered);
            if !deliverable {
                return Err("only a shipped order can be delivered");
            }
            Ok(OrderChange {
                status: OrderStatus::Completed,
                fulfillment_status: FulfillmentStatus::Delivered,
                event: Some(OrderEventKind::Delivered),
                ..keep
            })
        }
    }
}

/// Cancels every unpaid order whose reservation ended before `now` and gives
/// its stock back. Safe to run on every node at once: each order is released
/// by one conditional update, so stock is never returned twice.
pub async fn expire_reservations(commerce: &Commerce, now: i64) -> StoreResult<usize> {
    let mut expired = 0;
    let mut passed_over: usize = 0;
    loop {
        let limit = u32::try_from(passed_over + 100).unwrap_or(u32::MAX);
        let due = orders::reservations_due(commerce.db(), now, limit).await?;
        let due = &due[passed_over.min(due.len())..];
        if due.is_empty() {
            return Ok(expired);
        }
        for (business_id, order) in due {
            match change_at(commerce, business_id, &order.id, OrderAction::Expire, now).await {
                Ok(_) => expired += 1,
                // Being paid (its request still owns it) or paid meanwhile: not ours to expire.
                Err(OrderError::BeingPaid { .. } | OrderError::Illegal { .. } | OrderError::NotFound) => {
                    passed_over += 1
                }
                Err(OrderError::Store(e)) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::states::PaymentStatus;
    use crate::money::Money;

    fn order(status: OrderStatus, payment: PaymentStatus, fulfillment: FulfillmentStatus) -> Order {
        let money = Money { amount_minor: 100, currency: "EUR".into(), formatted: "€1.00".into() };
        Order {
            id: "ord_1".into(),
            number: 1,
            conversation_id: "cnv_1".into(),
            customer_id: "cus_1".into(),
            status,
            payment_status: payment,
            fulfillment_status: fulfillment,
            currency: "EUR".into(),
            subtotal_minor: 100,
            total_minor: 100,
            cart: PricedCart { lines: Vec::new(), discounts: Vec::new(), subtotal: money.clone(), total: money },
            reserved_until_ms: Some(1_000),
            created_at: 0,
            payment_id: None,
        }
    }

    #[test]
    fn each_action_is_decided_from_the_order_as_it_stands() {
        use FulfillmentStatus as F;
        use OrderAction as A;
        use OrderStatus as O;
        use PaymentStatus as P;
        let unpaid = order(O::Open, P::Pending, F::Unfulfilled);
        let paid = Order { reserved_until_ms: None, ..order(O::Open, P::Captured, F::Unfulfilled) };
        let shipped = Order { reserved_until_ms: None, ..order(O::Open, P::Captured, F::Shipped) };
        for (order, action, now, legal) in [
            (&unpaid, A::Cancel, 0, true),
            (&unpaid, A::Expire, 0, false),
            (&unpaid, A::Expire, 2_000, true),
            (&unpaid, A::Ship, 0, false),
            (&paid, A::Cancel, 0, false),
            (&paid, A::Ship, 0, true),
            (&paid, A::Deliver, 0, false),
            (&shipped, A::Ship, 0, false),
            (&shipped, A::Deliver, 0, true),
        ] {
            assert_eq!(
                decide(order, action, now).is_ok(),
                legal,
                "{action:?} on {:?}/{:?}",
                order.payment_status,
                order.fulfillment_status
            );
        }
        let cancelled = decide(&unpaid, A::Cancel, 0).expect("legal");
        assert!(cancelled.release_stock && cancelled.payment_id.is_none());
        assert_eq!(cancelled.status, O::Cancelled);
        let delivered = decide(&shipped, A::Deliver, 0).expect("legal");
        assert_eq!((delivered.status, delivered.fulfillment_status), (O::Completed, F::Delivered));
    }
}
