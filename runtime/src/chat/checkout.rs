//! The checkout reply: the conversation's priced cart becomes an order that
//! holds its stock, with a payment link for the customer; a line that sold
//! out meanwhile gets the customer a note instead. A checkout with an empty
//! cart resends the link of the order still waiting for payment (a crash may
//! have cut off the first answer), with a fresh token.

use super::RenderedReply;
use super::render::OrderSummary;
use crate::commerce::cart::{CartView, PricedCart};
use crate::commerce::orders::{self, Checkout};
use crate::config::CommerceConfig;
use crate::plugin::CallScope;
use crate::plugin::bindings::ConversationContext;
use crate::store::StoreError;
use crate::store::conversations::Author;

/// Creates the order for a checkout reply, with its payment link; a line
/// that sold out meanwhile gets the customer a note instead.
pub(super) async fn checkout(
    commerce: &CommerceConfig,
    scope: &CallScope,
    context: &ConversationContext,
    cart: &CartView,
    priced: PricedCart,
) -> Result<(Author, RenderedReply), StoreError> {
    let at = Checkout {
        business_id: &scope.business_id,
        conversation_id: &scope.conversation_id,
        customer_id: &context.customer_id,
    };
    match orders::checkout(&scope.db, commerce, at, &priced).await? {
        Ok(payable) => Ok((
            Author::Bot,
            RenderedReply::Checkout {
                order: OrderSummary::of(&payable.order, payable.payment_url, &context.locale),
                cart: priced,
            },
        )),
        Err(sold_out) => {
            let name = cart
                .lines
                .iter()
                .find(|l| l.product_id == sold_out.product_id)
                .map_or(sold_out.product_id.as_str(), |l| l.name.as_str());
            let text = format!(
                "Sorry, {name} has just sold out in that quantity. Please change your cart and check out again."
            );
            Ok((Author::Host, RenderedReply::Text { text }))
        }
    }
}

/// A checkout with an empty cart: the order still waiting for its payment,
/// with a fresh link, if there is one.
pub(super) async fn resend(
    commerce: &CommerceConfig,
    scope: &CallScope,
    context: &ConversationContext,
) -> Result<Option<RenderedReply>, StoreError> {
    let waiting = orders::awaiting_payment(&scope.db, commerce, &scope.business_id, &scope.conversation_id).await?;
    Ok(waiting.map(|payable| {
        let cart = payable.order.cart.clone();
        RenderedReply::Checkout { order: OrderSummary::of(&payable.order, payable.payment_url, &context.locale), cart }
    }))
}
