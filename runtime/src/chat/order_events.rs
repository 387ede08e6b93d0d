//! The chat's side of an order change: the shop's bot hears that an order
//! was paid, that a payment failed or that it was shipped (WIT `shop-event`),
//! and its replies go into that order's conversation. Called by commerce's
//! follow-up step (`commerce::events`), which knows no chat.

use super::ChatService;
use crate::commerce::OrderObserver;
use crate::commerce::events::BoxFuture;
use crate::commerce::states::OrderEventKind;
use crate::plugin::bindings::{Money, OrderRef, PaymentFailure, ShopEvent};
use crate::store::orders::{Order, OrderEvent};
use crate::store::{businesses, conversations};

impl OrderObserver for ChatService {
    fn order_changed<'a>(
        &'a self,
        business_id: &'a str,
        order: &'a Order,
        event: &'a OrderEvent,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let order_ref = || OrderRef {
                order_id: order.id.clone(),
                total: Money { amount_minor: order.total_minor, currency: order.currency.clone() },
            };
            let shop_event = match event.kind {
                OrderEventKind::Paid => ShopEvent::OrderPaid(order_ref()),
                OrderEventKind::Shipped => ShopEvent::OrderShipped(order_ref()),
                OrderEventKind::PaymentFailed => ShopEvent::PaymentFailed(PaymentFailure {
                    order_id: order.id.clone(),
                    reason: event.detail.clone().unwrap_or_default(),
                }),
                _ => return Ok(()),
            };
            let business = businesses::get(&self.db, business_id).await.map_err(|e| e.to_string())?;
            let conversation =
                conversations::get(&self.db, business_id, &order.conversation_id).await.map_err(|e| e.to_string())?;
            if let (Some(business), Some(conversation)) = (business, conversation) {
                self.deliver_event(&business, &conversation, shop_event).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }
}
