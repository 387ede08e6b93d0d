//! The checkout reply: the conversation's priced cart becomes an order that
//! holds its stock, with a payment link for the customer; a line that sold
//! out meanwhile gets the customer a note instead.

use super::RenderedReply;
use super::render::OrderSummary;
use crate::commerce::cart::{CartView, PricedCart};
use crate::commerce::orders::{self, CheckoutScope};
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
    let at = CheckoutScope {
        db: &scope.db,
        business_id: &scope.business_id,
        conversation_id: &scope.conversation_id,
        customer_id: &context.customer_id,
    };
    let token = crate::ids::new_secret("pt");
    let token_hash = crate::ids::hash_api_key(&token);
    match orders::checkout(at, cart, &priced, commerce.reservation, token_hash).await? {
        Ok(order) => {
            let link = format!("{}/pay/{}?token={token}", commerce.public_url, order.id);
            Ok((
                Author::Bot,
                RenderedReply::Checkout { order: OrderSummary::of(&order, link, &context.locale), cart: priced },
            ))
        }
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
