//! Verdura: a neighbourhood grocer that takes orders in chat.
//!
//! The example shop for Bottega plugin authors. It greets (and remembers returning
//! customers in the key-value store), lists catalog sections, searches, shows
//! products, fills the cart, shows it with a "3 for 2" bundle on fruit, and asks
//! the host to check out. "My orders" tells where the customer's recent orders
//! stand and can put a past order back in the basket (the `orders` capability of
//! contract 1.1.0). Everything it knows about the customer is a pseudonymous id:
//! phone numbers and card numbers never reach a plugin.

wit_bindgen::generate!({
    path: "../../wit",
    world: "bottega:shop/shop@1.1.0",
});

use bottega::shop::types::{
    ButtonsReply, Cart, CatalogQuery, ConversationContext, DiscountLine, InboundMessage, ListReply, ListRow,
    ProductListReply, Reply, ReplyButton, ShopEvent,
};
use bottega::shop::{cart, catalog, clock, kv, log, orders};
use exports::bottega::shop::{bot, storefront};

/// The section whose products are sold "3 for the price of 2".
const BUNDLE_SECTION: &str = "Fruit";
/// How many product cards one reply shows.
const PAGE: u32 = 10;

struct Verdura;

impl bot::Guest for Verdura {
    fn handle_message(context: ConversationContext, message: InboundMessage) -> Vec<Reply> {
        match message {
            InboundMessage::Text(text) => on_text(&context, &text),
            InboundMessage::Choice(choice) => on_choice(&context, &choice.id),
            InboundMessage::ProductTap(id) => show_product(&id),
            InboundMessage::Cart(items) => {
                let units: u32 = items.iter().map(|item| item.quantity).sum();
                vec![
                    Reply::Text(format!("Thanks! I've put your {units} items in the basket.")),
                    Reply::CartSummary,
                    cart_actions(),
                ]
            }
        }
    }

    fn handle_event(_context: ConversationContext, event: ShopEvent) -> Vec<Reply> {
        let text = match event {
            ShopEvent::OrderPaid(order) => {
                format!("Thank you! Payment received for order {}. We're packing it fresh for you.", order.order_id)
            }
            ShopEvent::PaymentFailed(failure) => format!(
                "Your payment for order {} didn't go through ({}). You can try again from the same link.",
                failure.order_id, failure.reason
            ),
            ShopEvent::OrderShipped(order) => {
                format!("Good news: order {} is on its way to you!", order.order_id)
            }
            ShopEvent::AgentReleased => "I'm back! Type \"menu\" to keep shopping whenever you like.".to_string(),
        };
        vec![Reply::Text(text)]
    }
}

impl storefront::Guest for Verdura {
    fn present_catalog(_context: ConversationContext, query: CatalogQuery) -> Vec<Reply> {
        match (query.text, query.section) {
            (Some(text), _) => search(&text),
            (None, Some(section)) => show_section(&section),
            (None, None) => show_sections(),
        }
    }

    fn price_cart(_context: ConversationContext, cart: Cart) -> Vec<DiscountLine> {
        bundle_discounts(&cart)
    }
}

export!(Verdura);

fn on_text(context: &ConversationContext, text: &str) -> Vec<Reply> {
    let words = text.trim().to_lowercase();
    match words.as_str() {
        "hi" | "hello" | "hey" | "hola" | "start" | "good morning" => greet(context),
        "menu" | "browse" | "catalog" | "catalogue" | "shop" => show_sections(),
        "cart" | "basket" | "my cart" => show_cart(),
        "checkout" | "check out" | "pay" => checkout(),
        "orders" | "my orders" | "order status" | "where is my order" => show_orders(),
        "order again" | "reorder" | "same again" => order_again(None),
        "empty cart" | "clear cart" => {
            cart::clear();
            vec![Reply::Text("Your basket is empty again.".to_string()), main_menu()]
        }
        "agent" | "human" | "person" | "help" => ask_for_person(),
        _ => match words.strip_prefix("add ") {
            Some(rest) => add_by_name(rest),
            None => search(&words),
        },
    }
}

fn on_choice(context: &ConversationContext, id: &str) -> Vec<Reply> {
    if let Some(section) = id.strip_prefix("section:") {
        return show_section(section);
    }
    if let Some(product_id) = id.strip_prefix("add:") {
        return add_to_cart(product_id, 1);
    }
    if let Some(product_id) = id.strip_prefix("product:") {
        return show_product(product_id);
    }
    if let Some(order_id) = id.strip_prefix("reorder:") {
        return order_again(Some(order_id));
    }
    match id {
        "browse" => show_sections(),
        "cart" => show_cart(),
        "checkout" => checkout(),
        "orders" => show_orders(),
        "agent" => ask_for_person(),
        _ => greet(context),
    }
}

fn greet(context: &ConversationContext) -> Vec<Reply> {
    let seen_key = format!("seen:{}", context.customer_id);
    let returning = kv::get(&seen_key).is_some();
    if !returning {
        // A full store only means we greet them as new again: not worth failing for.
        let stamp = clock::now_ms().to_le_bytes().to_vec();
        if let Err(error) = kv::set(&seen_key, &stamp) {
            log::log(log::Level::Warn, "could not remember a customer", &[("error".to_string(), format!("{error:?}"))]);
        }
    }
    let body = if returning {
        "Welcome back to Verdura! What can I get you today?"
    } else {
        "Welcome to Verdura, your neighbourhood grocer! Fresh fruit, vegetables, bread and dairy, delivered today. What would you like?"
    };
    vec![Reply::Buttons(ButtonsReply {
        body: body.to_string(),
        buttons: vec![
            button("browse", "Browse the shop"),
            button("cart", "My basket"),
            button("agent", "Talk to a person"),
        ],
    })]
}

fn show_sections() -> Vec<Reply> {
    let sections = catalog::list_sections();
    if sections.is_empty() {
        return vec![Reply::Text("Our shelves are being restocked: please check back soon.".to_string())];
    }
    vec![Reply::ChoiceList(ListReply {
        body: "Here is what we have today. Pick a section:".to_string(),
        button_label: "Sections".to_string(),
        rows: sections
            .into_iter()
            .take(10)
            .map(|section| ListRow { id: format!("section:{section}"), title: section, description: None })
            .collect(),
    })]
}

fn show_section(section: &str) -> Vec<Reply> {
    let products = catalog::list_products(Some(section), 0, PAGE);
    let ids: Vec<String> = products.into_iter().filter(|p| p.available).map(|p| p.id).collect();
    if ids.is_empty() {
        return vec![Reply::Text(format!("Nothing in {section} right now, sorry.")), main_menu()];
    }
    let mut body = "Tap a product to see it and add it to your basket.".to_string();
    if section == BUNDLE_SECTION {
        body.push_str(" Fruit is 3 for the price of 2!");
    }
    vec![Reply::ProductList(ProductListReply { header: section.to_string(), body, product_ids: ids })]
}

fn search(query: &str) -> Vec<Reply> {
    let found: Vec<String> =
        catalog::search_products(query, PAGE).into_iter().filter(|p| p.available).map(|p| p.id).collect();
    match found.len() {
        0 => vec![
            Reply::Text(format!("Sorry, I couldn't find \"{query}\". Try another word, or browse the shop.")),
            main_menu(),
        ],
        1 => show_product(&found[0]),
        n => vec![Reply::ProductList(ProductListReply {
            header: format!("{n} matches"),
            body: format!("Here is what I found for \"{query}\":"),
            product_ids: found,
        })],
    }
}

fn show_product(product_id: &str) -> Vec<Reply> {
    match catalog::get_product(product_id) {
        Some(product) if product.available => vec![
            Reply::Product(product.id.clone()),
            Reply::Buttons(ButtonsReply {
                body: format!("Would you like some {}?", product.name),
                buttons: vec![
                    button(&format!("add:{}", product.id), "Add to basket"),
                    button("browse", "Keep browsing"),
                    button("cart", "My basket"),
                ],
            }),
        ],
        _ => vec![Reply::Text("That product is no longer available, sorry.".to_string()), main_menu()],
    }
}

/// "add 3 apples": the first product matching the words, that many units.
fn add_by_name(rest: &str) -> Vec<Reply> {
    let (quantity, name) = match rest.split_once(' ') {
        Some((n, name)) if n.parse::<u32>().is_ok() => (n.parse::<u32>().unwrap_or(1), name),
        _ => (1, rest),
    };
    let name = name.trim();
    let singular = name.strip_suffix('s').unwrap_or(name);
    let first = catalog::search_products(name, 1)
        .into_iter()
        .next()
        .or_else(|| catalog::search_products(singular, 1).into_iter().next());
    match first {
        Some(product) => add_to_cart(&product.id, quantity),
        None => vec![Reply::Text(format!("I couldn't find \"{name}\" on our shelves.")), main_menu()],
    }
}

fn add_to_cart(product_id: &str, quantity: u32) -> Vec<Reply> {
    match cart::add_item(product_id, quantity) {
        Ok(basket) => {
            let units: u32 = basket.lines.iter().map(|line| line.quantity).sum();
            let name = basket
                .lines
                .iter()
                .find(|line| line.product_id == product_id)
                .map(|line| line.name.clone())
                .unwrap_or_default();
            log::log(
                log::Level::Info,
                "added to basket",
                &[("product".to_string(), product_id.to_string()), ("quantity".to_string(), quantity.to_string())],
            );
            vec![Reply::Text(format!("Added {quantity} × {name}. Your basket has {units} items.")), cart_actions()]
        }
        Err(error) => {
            let text = match error {
                cart::CartError::InsufficientStock => "Sorry, we don't have that many in stock.",
                cart::CartError::Unavailable | cart::CartError::UnknownProduct => {
                    "That product is no longer available, sorry."
                }
                cart::CartError::InvalidQuantity => "Please ask for between 1 and 999 units.",
                cart::CartError::CartFull => "Your basket is full: check out or remove something first.",
            };
            vec![Reply::Text(text.to_string()), main_menu()]
        }
    }
}

fn show_cart() -> Vec<Reply> {
    if cart::get().lines.is_empty() {
        return vec![Reply::Text("Your basket is empty.".to_string()), main_menu()];
    }
    vec![Reply::CartSummary, cart_actions()]
}

fn checkout() -> Vec<Reply> {
    if cart::get().lines.is_empty() {
        return vec![Reply::Text("Your basket is empty: add something first.".to_string()), main_menu()];
    }
    vec![Reply::Text("Lovely! Here is your order to pay for:".to_string()), Reply::Checkout]
}

/// The customer's last few orders and where each stands.
fn show_orders() -> Vec<Reply> {
    let recent = orders::recent(5);
    let Some(latest) = recent.first() else {
        return vec![Reply::Text("You haven't ordered from us yet.".to_string()), main_menu()];
    };
    let lines: Vec<String> = recent
        .iter()
        .map(|order| {
            let units: u32 = order.lines.iter().map(|line| line.quantity).sum();
            format!("Order #{}: {units} items, {}", order.number, order_state(order))
        })
        .collect();
    vec![
        Reply::Text(lines.join("\n")),
        Reply::Buttons(ButtonsReply {
            body: format!("Would you like order #{} again?", latest.number),
            buttons: vec![
                button(&format!("reorder:{}", latest.order_id), "Order again"),
                button("browse", "Browse the shop"),
            ],
        }),
    ]
}

fn order_state(order: &orders::Order) -> &'static str {
    use orders::{FulfillmentStatus as F, OrderStatus as O, PaymentStatus as P};
    match (order.status, order.payment, order.fulfillment) {
        (O::Cancelled, _, _) => "cancelled",
        (_, _, F::Delivered) => "delivered",
        (_, _, F::Shipped) => "on its way",
        (_, P::Refunded, _) => "refunded",
        (_, P::Captured | P::Authorized | P::PartiallyRefunded, _) => "paid, being packed",
        (_, P::Failed, _) => "payment failed",
        (_, P::Pending, _) => "waiting for payment",
    }
}

/// Puts an order's lines (the latest order's when `order_id` is `None`) back in
/// the basket, at today's prices, as far as the shelves allow.
fn order_again(order_id: Option<&str>) -> Vec<Reply> {
    let order = match order_id {
        Some(id) => orders::get(id),
        None => orders::recent(1).into_iter().next(),
    };
    let Some(order) = order else {
        return vec![Reply::Text("I couldn't find that order.".to_string()), main_menu()];
    };
    let missing: Vec<String> = order
        .lines
        .iter()
        .filter(|line| cart::add_item(&line.product_id, line.quantity).is_err())
        .map(|line| line.name.clone())
        .collect();
    let mut text = format!("I've put order #{} back in your basket, at today's prices.", order.number);
    if !missing.is_empty() {
        text.push_str(&format!(" Not available today: {}.", missing.join(", ")));
    }
    vec![Reply::Text(text), Reply::CartSummary, cart_actions()]
}

fn ask_for_person() -> Vec<Reply> {
    vec![
        Reply::Text("Of course, I'm asking one of our team to join. They'll reply here shortly.".to_string()),
        Reply::HumanAgent("customer asked to talk to a person".to_string()),
    ]
}

/// Every third unit of a fruit is free.
fn bundle_discounts(cart: &Cart) -> Vec<DiscountLine> {
    cart.lines
        .iter()
        .filter(|line| line.quantity >= 3)
        .filter(|line| catalog::get_product(&line.product_id).is_some_and(|p| p.section == BUNDLE_SECTION))
        .map(|line| DiscountLine {
            label: format!("3 for 2 on {}", line.name),
            amount_minor: i64::from(line.quantity / 3) * line.unit_price.amount_minor,
            product_ids: vec![line.product_id.clone()],
        })
        .collect()
}

fn main_menu() -> Reply {
    Reply::Buttons(ButtonsReply {
        body: "What next?".to_string(),
        buttons: vec![button("browse", "Browse the shop"), button("cart", "My basket")],
    })
}

fn cart_actions() -> Reply {
    Reply::Buttons(ButtonsReply {
        body: "Anything else?".to_string(),
        buttons: vec![button("checkout", "Check out"), button("browse", "Keep browsing"), button("cart", "My basket")],
    })
}

fn button(id: &str, title: &str) -> ReplyButton {
    ReplyButton { id: id.to_string(), title: title.to_string() }
}
