//! Rendering: a bot's replies (contract types) become what the customer sees,
//! with product data, carts and prices filled in by the host from its own
//! catalog. Replies that break the contract's limits are refused here.

use serde::Serialize;
use utoipa::ToSchema;

use crate::commerce::cart::{PricedCart, ProposedDiscount, price};
use crate::money::Money;
use crate::plugin::PluginFault;
use crate::plugin::bindings::{DiscountLine, Reply};
use crate::store::StoreError;
use crate::store::products::{self, Product};

pub const MAX_REPLIES: usize = 10;
pub const MAX_TEXT_CHARS: usize = 4096;
pub const MAX_BODY_CHARS: usize = 1024;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
pub const MAX_ROWS: usize = 10;
pub const MAX_ROW_TITLE_CHARS: usize = 24;
pub const MAX_ROW_DESCRIPTION_CHARS: usize = 72;
pub const MAX_HEADER_CHARS: usize = 60;
pub const MAX_PRODUCTS: usize = 30;
const MAX_ID_CHARS: usize = 256;

/// A message as the customer sees it (and as history stores it).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RenderedReply {
    Text {
        text: String,
    },
    Buttons {
        body: String,
        buttons: Vec<ButtonView>,
    },
    List {
        body: String,
        button_label: String,
        rows: Vec<RowView>,
    },
    Product {
        product: ProductCard,
    },
    ProductList {
        header: String,
        body: String,
        products: Vec<ProductCard>,
    },
    CartSummary {
        cart: PricedCart,
    },
    /// The bot asked to check out: the host created this order from the cart
    /// and holds its stock until `order.reserved_until`.
    Checkout {
        order: OrderSummary,
        cart: PricedCart,
    },
    /// The bot asked for a human agent; `note` is for the agent.
    HandoffRequested {
        note: String,
    },
}

/// The order a checkout created, as the customer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: String,
    pub number: i64,
    pub total: Money,
    /// RFC 3339 time until which the stock is held for payment.
    pub reserved_until: Option<String>,
    /// The hosted payment page for this order (card details go there, never
    /// into the chat).
    pub payment_url: String,
}

impl OrderSummary {
    pub fn of(order: &crate::store::orders::Order, payment_url: String, locale: &str) -> OrderSummary {
        OrderSummary {
            id: order.id.clone(),
            number: order.number,
            total: Money::localized(order.total_minor, &order.currency, locale),
            reserved_until: order.reserved_until_ms.map(crate::ids::rfc3339),
            payment_url,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ButtonView {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RowView {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// A product card, entirely from the host's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProductCard {
    pub id: String,
    pub name: String,
    pub description: String,
    pub photo_url: Option<String>,
    pub price: Money,
    pub in_stock: bool,
}

impl ProductCard {
    pub fn of(p: Product, locale: &str) -> Self {
        ProductCard {
            in_stock: p.available && p.stock > 0,
            price: Money::localized(p.price_minor, &p.currency, locale),
            id: p.id,
            name: p.name,
            description: p.description,
            photo_url: p.photo_url,
        }
    }
}

/// Checks replies against the contract's limits before anything is rendered.
pub fn validate(replies: &[Reply]) -> Result<(), PluginFault> {
    let bad = |why: String| Err(PluginFault::InvalidReply(why));
    if replies.len() > MAX_REPLIES {
        return bad(format!("{} replies in one turn; at most {MAX_REPLIES}", replies.len()));
    }
    for (n, reply) in replies.iter().enumerate() {
        let at = format!("reply {}", n + 1);
        match reply {
            Reply::Text(text) => check_text(&at, "text", text, MAX_TEXT_CHARS)?,
            Reply::Buttons(b) => {
                check_text(&at, "body", &b.body, MAX_BODY_CHARS)?;
                if b.buttons.is_empty() || b.buttons.len() > MAX_BUTTONS {
                    return bad(format!("{at}: {} buttons; a buttons reply has 1 to {MAX_BUTTONS}", b.buttons.len()));
                }
                for button in &b.buttons {
                    check_text(&at, "button id", &button.id, MAX_ID_CHARS)?;
                    check_text(&at, "button title", &button.title, MAX_BUTTON_TITLE_CHARS)?;
                }
                check_unique(&at, b.buttons.iter().map(|b| b.id.as_str()))?;
            }
            Reply::ChoiceList(l) => {
                check_text(&at, "body", &l.body, MAX_BODY_CHARS)?;
                check_text(&at, "button label", &l.button_label, MAX_BUTTON_TITLE_CHARS)?;
                if l.rows.is_empty() || l.rows.len() > MAX_ROWS {
                    return bad(format!("{at}: {} rows; a list has 1 to {MAX_ROWS}", l.rows.len()));
                }
                for row in &l.rows {
                    check_text(&at, "row id", &row.id, MAX_ID_CHARS)?;
                    check_text(&at, "row title", &row.title, MAX_ROW_TITLE_CHARS)?;
                    if let Some(description) = &row.description
                        && description.chars().count() > MAX_ROW_DESCRIPTION_CHARS
                    {
                        return bad(format!(
                            "{at}: a row description is longer than {MAX_ROW_DESCRIPTION_CHARS} characters"
                        ));
                    }
                }
                check_unique(&at, l.rows.iter().map(|r| r.id.as_str()))?;
            }
            Reply::Product(id) => check_text(&at, "product id", id, MAX_ID_CHARS)?,
            Reply::ProductList(p) => {
                check_text(&at, "header", &p.header, MAX_HEADER_CHARS)?;
                check_text(&at, "body", &p.body, MAX_BODY_CHARS)?;
                if p.product_ids.is_empty() || p.product_ids.len() > MAX_PRODUCTS {
                    return bad(format!(
                        "{at}: {} products; a product list has 1 to {MAX_PRODUCTS}",
                        p.product_ids.len()
                    ));
                }
            }
            Reply::HumanAgent(note) => {
                if note.chars().count() > MAX_TEXT_CHARS {
                    return bad(format!("{at}: the note for the agent is longer than {MAX_TEXT_CHARS} characters"));
                }
            }
            Reply::CartSummary | Reply::Checkout => {}
        }
    }
    Ok(())
}

fn check_text(at: &str, what: &str, text: &str, max: usize) -> Result<(), PluginFault> {
    if text.trim().is_empty() {
        return Err(PluginFault::InvalidReply(format!("{at}: the {what} is empty")));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(PluginFault::InvalidReply(format!("{at}: the {what} has {chars} characters; at most {max}")));
    }
    Ok(())
}

fn check_unique<'a>(at: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), PluginFault> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(PluginFault::InvalidReply(format!("{at}: the id `{id}` is used twice")));
        }
    }
    Ok(())
}

/// Looks up catalog products for cards; ids the catalog does not have are
/// reported in `warnings` and left out.
pub async fn cards(
    db: &crate::store::Db,
    business_id: &str,
    ids: &[String],
    warnings: &mut Vec<String>,
    locale: &str,
) -> Result<Vec<ProductCard>, StoreError> {
    let mut cards = Vec::with_capacity(ids.len());
    for id in ids {
        match products::get(db, business_id, id).await? {
            Some(product) => cards.push(ProductCard::of(product, locale)),
            None => warnings.push(format!("product `{id}` is not in the catalog; its card was left out")),
        }
    }
    Ok(cards)
}

/// The plugin's discount lines as the pricing rules take them.
pub fn proposed(lines: Vec<DiscountLine>) -> Vec<ProposedDiscount> {
    lines
        .into_iter()
        .map(|d| ProposedDiscount { label: d.label, amount_minor: d.amount_minor, product_ids: d.product_ids })
        .collect()
}

/// Prices a cart view with validated discounts, reporting rejected ones.
pub fn priced(
    cart: &crate::commerce::cart::CartView,
    discounts: Vec<DiscountLine>,
    warnings: &mut Vec<String>,
    locale: &str,
) -> PricedCart {
    let (priced, rejected) = price(cart, &proposed(discounts), locale);
    warnings.extend(rejected);
    priced
}
