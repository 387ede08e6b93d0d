//! `bottega:shop/orders` (since 1.1.0): the current customer's orders with this
//! business, read-only. Its view, `CustomerOrders`, holds the database, the
//! business's id and one customer's pseudonym, and nothing else that names a
//! customer (no scope, no conversation): every read is keyed by that
//! pseudonym, so an order id of another customer, or of another business,
//! reads as `none`.

use wasmtime::component::{HasData, Linker};

use super::fault;
use crate::plugin::bindings::Money;
use crate::plugin::bindings::bottega::shop;
use crate::plugin::bindings::bottega::shop::orders::{
    FulfillmentStatus, Host, Order, OrderLine, OrderStatus, PaymentStatus,
};
use crate::plugin::state::PluginState;
use crate::store::Db;
use crate::store::orders as stored;

/// The most orders one `recent` call returns.
const MAX_RECENT: u32 = 20;

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::orders::add_to_linker::<PluginState, OrdersInterface>(linker, view)
}

/// What the orders interface reaches: one customer's orders with one business.
/// Built only from the call's scope (below); its fields are private, so the
/// customer it reads for cannot be changed or widened.
struct CustomerOrders<'a> {
    db: &'a Db,
    business_id: &'a str,
    /// The customer's pseudonym: the only customer this view can read for.
    customer_id: &'a str,
}

struct OrdersInterface;

impl HasData for OrdersInterface {
    type Data<'a> = CustomerOrders<'a>;
}

fn view(state: &mut PluginState) -> CustomerOrders<'_> {
    let scope = &state.scope;
    CustomerOrders { db: &scope.db, business_id: &scope.business_id, customer_id: &scope.customer_id }
}

fn to_wit(order: &stored::Order) -> Order {
    use crate::commerce::states;
    Order {
        order_id: order.id.clone(),
        number: u64::try_from(order.number).unwrap_or_default(),
        status: match order.status {
            states::OrderStatus::Open => OrderStatus::Open,
            states::OrderStatus::Completed => OrderStatus::Completed,
            states::OrderStatus::Cancelled => OrderStatus::Cancelled,
        },
        payment: match order.payment_status {
            states::PaymentStatus::Pending => PaymentStatus::Pending,
            states::PaymentStatus::Authorized => PaymentStatus::Authorized,
            states::PaymentStatus::Captured => PaymentStatus::Captured,
            states::PaymentStatus::Failed => PaymentStatus::Failed,
            states::PaymentStatus::Refunded => PaymentStatus::Refunded,
            states::PaymentStatus::PartiallyRefunded => PaymentStatus::PartiallyRefunded,
        },
        fulfillment: match order.fulfillment_status {
            states::FulfillmentStatus::Unfulfilled => FulfillmentStatus::Unfulfilled,
            states::FulfillmentStatus::Shipped => FulfillmentStatus::Shipped,
            states::FulfillmentStatus::Delivered => FulfillmentStatus::Delivered,
        },
        lines: order
            .cart
            .lines
            .iter()
            .map(|line| OrderLine {
                product_id: line.product_id.clone(),
                name: line.name.clone(),
                quantity: u32::try_from(line.quantity).unwrap_or(u32::MAX),
                line_total: Money {
                    amount_minor: line.line_total.amount_minor,
                    currency: line.line_total.currency.clone(),
                },
            })
            .collect(),
        total: Money { amount_minor: order.total_minor, currency: order.currency.clone() },
        placed_at_ms: u64::try_from(order.created_at).unwrap_or_default(),
    }
}

impl Host for CustomerOrders<'_> {
    async fn recent(&mut self, limit: u32) -> wasmtime::Result<Vec<Order>> {
        let orders = stored::of_customer(self.db, self.business_id, self.customer_id, limit.min(MAX_RECENT))
            .await
            .map_err(fault("orders.recent"))?;
        Ok(orders.iter().map(to_wit).collect())
    }

    async fn get(&mut self, order_id: String) -> wasmtime::Result<Option<Order>> {
        if !crate::store::storable(&order_id) {
            return Ok(None);
        }
        let order = stored::get(self.db, self.business_id, &order_id).await.map_err(fault("orders.get"))?;
        Ok(order.filter(|o| o.customer_id == self.customer_id).as_ref().map(to_wit))
    }
}
