//! `bottega:shop/cart`: the current conversation's cart, through the host's
//! own cart rules (`commerce::cart`); prices always come from the catalog. Its
//! view is that one cart ([`CartRef`]: the business, the conversation, the
//! shop's currency), nothing of the customer.

use wasmtime::component::{HasData, Linker};

use super::fault;
use crate::commerce::cart::{self as host_cart, CartRef, CartView};
use crate::plugin::bindings::bottega::shop;
use crate::plugin::bindings::bottega::shop::cart::{CartError, Host};
use crate::plugin::bindings::{Cart, CartLine, Money};
use crate::plugin::state::PluginState;

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::cart::add_to_linker::<PluginState, CartInterface>(linker, view)
}

/// What the cart interface reaches: the current conversation's cart.
struct ConversationCart<'a> {
    cart: CartRef<'a>,
}

struct CartInterface;

impl HasData for CartInterface {
    type Data<'a> = ConversationCart<'a>;
}

fn view(state: &mut PluginState) -> ConversationCart<'_> {
    let s = &state.scope;
    ConversationCart {
        cart: CartRef {
            db: &s.db,
            business_id: &s.business_id,
            conversation_id: &s.conversation_id,
            currency: &s.currency,
        },
    }
}

/// The contract's view of a host cart.
pub fn to_wit(view: &CartView) -> Cart {
    Cart {
        lines: view
            .lines
            .iter()
            .map(|l| CartLine {
                product_id: l.product_id.clone(),
                name: l.name.clone(),
                quantity: u32::try_from(l.quantity).unwrap_or(u32::MAX),
                unit_price: Money { amount_minor: l.price_minor, currency: l.currency.clone() },
                line_total: Money { amount_minor: CartView::line_total(l), currency: l.currency.clone() },
            })
            .collect(),
        subtotal: Money { amount_minor: view.subtotal(), currency: view.currency.clone() },
    }
}

fn error_to_wit(error: host_cart::CartError) -> CartError {
    match error {
        host_cart::CartError::UnknownProduct => CartError::UnknownProduct,
        host_cart::CartError::Unavailable => CartError::Unavailable,
        host_cart::CartError::InsufficientStock => CartError::InsufficientStock,
        host_cart::CartError::InvalidQuantity => CartError::InvalidQuantity,
        host_cart::CartError::CartFull => CartError::CartFull,
    }
}

impl Host for ConversationCart<'_> {
    async fn get(&mut self) -> wasmtime::Result<Cart> {
        let view = self.cart.view().await.map_err(fault("cart.get"))?;
        Ok(to_wit(&view))
    }

    async fn add_item(&mut self, product_id: String, quantity: u32) -> wasmtime::Result<Result<Cart, CartError>> {
        let result = self.cart.add(&product_id, quantity).await.map_err(fault("cart.add-item"))?;
        Ok(result.as_ref().map(to_wit).map_err(|e| error_to_wit(*e)))
    }

    async fn set_quantity(&mut self, product_id: String, quantity: u32) -> wasmtime::Result<Result<Cart, CartError>> {
        let result = self.cart.set_quantity(&product_id, quantity).await.map_err(fault("cart.set-quantity"))?;
        Ok(result.as_ref().map(to_wit).map_err(|e| error_to_wit(*e)))
    }

    async fn remove_item(&mut self, product_id: String) -> wasmtime::Result<Cart> {
        let view = self.cart.remove(&product_id).await.map_err(fault("cart.remove-item"))?;
        Ok(to_wit(&view))
    }

    async fn clear(&mut self) -> wasmtime::Result<()> {
        self.cart.clear().await.map_err(fault("cart.clear"))
    }
}
