//! One exchange with the bot: ask the responder for its replies, check them
//! against the contract's limits, and render each from the host's own catalog
//! (product cards, priced carts, a checkout's order and payment link, a
//! request for a person).
//!
//! Invariant: a customer who wrote is never left with nothing because of the
//! host. When the host leaves out every reply the bot gave (each named only
//! products not in the catalog), the customer gets the fallback reply and the
//! business a warning in its plugin logs saying why. A bot that answers with
//! no replies at all chose silence, and is left silent.

use super::turn::{Responder, Turn};
use super::{Authored, ChatService, RenderedReply, checkout, fallback, render};
use crate::commerce::cart::CartRef;
use crate::plugin::bindings::{ConversationContext, Reply};
use crate::plugin::{CallScope, PluginFault, cart_to_wit};
use crate::store::StoreError;
use crate::store::conversations::Author;

impl ChatService {
    /// Asks the responder for its replies and renders them; the fallback reply
    /// when the host had to leave out every one of them (see the module doc).
    pub(super) async fn converse(
        &self,
        responder: &mut Responder<'_>,
        scope: &CallScope,
        context: &ConversationContext,
        turn: Turn,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Authored>, PluginFault> {
        let replies = responder.turn(context, &turn).await?;
        render::validate(&replies)?;
        let answered = replies.len();
        let mut rendered = Vec::with_capacity(replies.len());
        for reply in replies {
            let host_error = |e: StoreError| PluginFault::Host(e.to_string());
            let mut author = Author::Bot;
            let view = match reply {
                Reply::Text(text) => RenderedReply::Text { text },
                Reply::Buttons(b) => RenderedReply::Buttons {
                    body: b.body,
                    buttons: b.buttons.into_iter().map(|b| render::ButtonView { id: b.id, title: b.title }).collect(),
                },
                Reply::ChoiceList(l) => RenderedReply::List {
                    body: l.body,
                    button_label: l.button_label,
                    rows: l
                        .rows
                        .into_iter()
                        .map(|r| render::RowView { id: r.id, title: r.title, description: r.description })
                        .collect(),
                },
                Reply::Product(id) => {
                    match render::cards(&scope.db, &scope.business_id, &[id], warnings, &context.locale)
                        .await
                        .map_err(host_error)?
                        .pop()
                    {
                        Some(product) => RenderedReply::Product { product },
                        None => continue,
                    }
                }
                Reply::ProductList(p) => {
                    let products =
                        render::cards(&scope.db, &scope.business_id, &p.product_ids, warnings, &context.locale)
                            .await
                            .map_err(host_error)?;
                    if products.is_empty() {
                        continue;
                    }
                    RenderedReply::ProductList { header: p.header, body: p.body, products }
                }
                Reply::CartSummary | Reply::Checkout => {
                    let cart = cart_of(scope).view().await.map_err(host_error)?;
                    let waiting = match (&reply, cart.lines.is_empty()) {
                        (Reply::Checkout, true) => {
                            checkout::resend(&self.commerce, scope, context).await.map_err(host_error)?
                        }
                        _ => None,
                    };
                    if let Some(waiting) = waiting {
                        waiting
                    } else if cart.lines.is_empty() {
                        RenderedReply::Text { text: "Your cart is empty.".into() }
                    } else {
                        let discounts = responder.price_cart(context, &cart_to_wit(&cart)).await?;
                        let priced = render::priced(&cart, discounts, warnings, &context.locale);
                        if matches!(reply, Reply::Checkout) {
                            let (by, view) = checkout::checkout(&self.commerce, scope, context, &cart, priced)
                                .await
                                .map_err(host_error)?;
                            author = by;
                            view
                        } else {
                            RenderedReply::CartSummary { cart: priced }
                        }
                    }
                }
                Reply::HumanAgent(note) => {
                    let asked = super::handoff::HandlingChange::RequestAgent;
                    super::handoff::change_handling(&scope.db, &scope.business_id, &scope.conversation_id, asked)
                        .await
                        .map_err(|e| PluginFault::Host(e.to_string()))?;
                    RenderedReply::HandoffRequested { note }
                }
            };
            rendered.push((author, view));
        }
        // An event's replies are the bot's own initiative: nobody waits for them.
        let customer_waits = !matches!(turn, Turn::Event(_));
        if rendered.is_empty() && answered > 0 && customer_waits {
            warnings.push(discarded_warning(answered));
            rendered.push((Author::Host, RenderedReply::Text { text: fallback::FAILED.to_string() }));
        }
        Ok(rendered)
    }
}

/// What the business reads when the host left out every reply of a turn.
fn discarded_warning(answered: usize) -> String {
    let replies = if answered == 1 { "its one reply".to_string() } else { format!("all {answered} of its replies") };
    format!(
        "the plugin answered, but {replies} named only products that are not in the catalog, so nothing of it \
         could be shown; the customer was sent the fallback reply instead"
    )
}

/// The cart of the call's conversation.
fn cart_of(scope: &CallScope) -> CartRef<'_> {
    CartRef {
        db: &scope.db,
        business_id: &scope.business_id,
        conversation_id: &scope.conversation_id,
        currency: &scope.currency,
    }
}
