//! Replies as WhatsApp Cloud API send requests (`POST /{phone-number-id}/messages`),
//! within the API's documented limits. A reply that does not fit is adapted
//! the same way every time, and each adaptation is reported so the business
//! can see it in its plugin log: long text is split, over-long titles are
//! shortened with `…`, more than 3 buttons become a list, more than 10 rows
//! become several lists, and product messages without a Meta catalog become
//! photos with captions or lists of product rows (whose taps come back as
//! product taps).
//!
//! The recipient (`to`) is added when the request is sent, so the queue never
//! holds the customer's number.

use serde_json::{Value, json};

use crate::chat::RenderedReply;
use crate::chat::render::{ButtonView, ProductCard, RowView};
use crate::commerce::cart::PricedCart;

pub const MAX_TEXT: usize = 4096;
pub const MAX_BODY: usize = 1024;
pub const MAX_HEADER: usize = 60;
pub const MAX_FOOTER: usize = 60;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE: usize = 20;
pub const MAX_ROWS: usize = 10;
pub const MAX_ROW_TITLE: usize = 24;
pub const MAX_ROW_DESCRIPTION: usize = 72;
pub const MAX_SECTION_TITLE: usize = 24;
pub const MAX_PRODUCTS: usize = 30;
pub const MAX_CAPTION: usize = 1024;
/// Row ids the host gives products in a list, so a tap comes back as a product tap.
pub const PRODUCT_ROW_PREFIX: &str = "product:";
const MAX_ROW_ID: usize = 200;

/// The send requests for one reply, and what had to be adapted to fit.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Translation {
    pub sends: Vec<Value>,
    pub adaptations: Vec<String>,
}

/// Translates a rendered reply. `catalog_id` is the business's Meta catalog,
/// when it has one.
pub fn translate(reply: &RenderedReply, catalog_id: Option<&str>, with_agent_text: &str) -> Translation {
    let mut out = Translation::default();
    match reply {
        RenderedReply::Text { text } => out.text(text),
        RenderedReply::Buttons { body, buttons } => out.buttons(body, buttons),
        RenderedReply::List { body, button_label, rows } => out.list(body, button_label, rows),
        RenderedReply::Product { product } => out.product(product, catalog_id),
        RenderedReply::ProductList { header, body, products } => out.product_list(header, body, products, catalog_id),
        RenderedReply::CartSummary { cart } => out.text(&cart_text("Your cart", cart)),
        RenderedReply::Checkout { order, cart } => {
            let mut text = cart_text(&format!("Order #{}", order.number), cart);
            text.push_str(&format!("\n\nPay securely here: {}", order.payment_url));
            if let Some(until) = &order.reserved_until {
                text.push_str(&format!("\nYour items are held until {until}."));
            }
            out.push(json!({"type": "text", "text": {"body": text, "preview_url": true}}));
        }
        RenderedReply::HandoffRequested { .. } => out.text(with_agent_text),
    }
    out
}

fn cart_text(title: &str, cart: &PricedCart) -> String {
    let mut text = format!("*{title}*");
    for line in &cart.lines {
        text.push_str(&format!("\n{} × {} — {}", line.quantity, line.name, line.line_total.formatted));
    }
    for discount in &cart.discounts {
        text.push_str(&format!("\n{}: -{}", discount.label, discount.amount.formatted));
    }
    text.push_str(&format!("\n*Total: {}*", cart.total.formatted));
    text
}

impl Translation {
    fn push(&mut self, body: Value) {
        let mut message = json!({"messaging_product": "whatsapp", "recipient_type": "individual"});
        if let (Some(message), Some(body)) = (message.as_object_mut(), body.as_object()) {
            message.extend(body.clone());
        }
        self.sends.push(message);
    }

    /// `text` cut to `max` characters (with `…`), noting it when it was cut.
    fn fit(&mut self, what: &str, text: &str, max: usize) -> String {
        if text.chars().count() <= max {
            return text.to_string();
        }
        self.adaptations.push(format!("{what} longer than {max} characters was shortened"));
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }

    fn text(&mut self, text: &str) {
        let parts = split_text(text, MAX_TEXT);
        if parts.len() > 1 {
            self.adaptations.push(format!(
                "text of {} characters was split into {} messages",
                text.chars().count(),
                parts.len()
            ));
        }
        for part in parts {
            self.push(json!({"type": "text", "text": {"body": part, "preview_url": false}}));
        }
    }

    /// The body of an interactive message; one too long goes first as text.
    fn interactive_body(&mut self, body: &str) -> String {
        if body.chars().count() <= MAX_BODY {
            return body.to_string();
        }
        self.adaptations.push(format!("an interactive body longer than {MAX_BODY} characters was sent as text first"));
        self.text(body);
        "Please choose:".to_string()
    }

    fn buttons(&mut self, body: &str, buttons: &[ButtonView]) {
        let fits = buttons.len() <= MAX_BUTTONS && buttons.iter().all(|b| b.title.chars().count() <= MAX_BUTTON_TITLE);
        if !fits {
            self.adaptations.push(format!(
                "{} buttons (or a title over {MAX_BUTTON_TITLE} characters) became a list",
                buttons.len()
            ));
            let rows: Vec<RowView> = buttons
                .iter()
                .map(|b| RowView { id: b.id.clone(), title: b.title.clone(), description: None })
                .collect();
            return self.list(body, "Options", &rows);
        }
        let body = self.interactive_body(body);
        let buttons: Vec<Value> =
            buttons.iter().map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}})).collect();
        self.push(json!({"type": "interactive", "interactive": {
            "type": "button", "body": {"text": body}, "action": {"buttons": buttons}}}));
    }

    fn list(&mut self, body: &str, button_label: &str, rows: &[RowView]) {
        let body = self.interactive_body(body);
        let label = self.fit("a list button label", button_label, MAX_BUTTON_TITLE);
        let chunks: Vec<&[RowView]> = rows.chunks(MAX_ROWS).collect();
        if chunks.len() > 1 {
            self.adaptations.push(format!(
                "{} list rows became {} lists of at most {MAX_ROWS}",
                rows.len(),
                chunks.len()
            ));
        }
        for chunk in chunks {
            let rows: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    let mut row = json!({"id": r.id, "title": self.fit("a row title", &r.title, MAX_ROW_TITLE)});
                    if let Some(description) = r.description.as_deref().filter(|d| !d.is_empty()) {
                        row["description"] = json!(self.fit("a row description", description, MAX_ROW_DESCRIPTION));
                    }
                    row
                })
                .collect();
            self.push(json!({"type": "interactive", "interactive": {
                "type": "list", "body": {"text": body}, "action": {"button": label, "sections": [{"rows": rows}]}}}));
        }
    }

    fn product(&mut self, product: &ProductCard, catalog_id: Option<&str>) {
        let caption = product_caption(product);
        match (catalog_id, &product.photo_url) {
            (Some(catalog_id), _) => {
                let body = self.fit("a product body", &caption, MAX_BODY);
                self.push(json!({"type": "interactive", "interactive": {
                    "type": "product", "body": {"text": body},
                    "action": {"catalog_id": catalog_id, "product_retailer_id": product.id}}}));
            }
            (None, Some(photo)) => {
                self.adaptations.push("a product card without a Meta catalog became a photo with a caption".into());
                let caption = self.fit("a caption", &caption, MAX_CAPTION);
                self.push(json!({"type": "image", "image": {"link": photo, "caption": caption}}));
            }
            (None, None) => {
                self.adaptations.push("a product card without a Meta catalog or photo became text".into());
                self.text(&caption);
            }
        }
    }

    fn product_list(&mut self, header: &str, body: &str, products: &[ProductCard], catalog_id: Option<&str>) {
        let Some(catalog_id) = catalog_id else {
            self.adaptations.push("a product list without a Meta catalog became a list of product rows".into());
            let rows: Vec<RowView> = products
                .iter()
                .map(|p| RowView {
                    id: format!("{PRODUCT_ROW_PREFIX}{}", p.id.chars().take(MAX_ROW_ID).collect::<String>()),
                    title: p.name.clone(),
                    description: Some(if p.in_stock {
                        p.price.formatted.clone()
                    } else {
                        format!("{} (sold out)", p.price.formatted)
                    }),
                })
                .collect();
            let body = if header.is_empty() { body.to_string() } else { format!("*{header}*\n{body}") };
            return self.list(&body, "View products", &rows);
        };
        let header = self.fit("a header", if header.is_empty() { "Products" } else { header }, MAX_HEADER);
        let body = self.interactive_body(if body.is_empty() { &header } else { body });
        let chunks: Vec<&[ProductCard]> = products.chunks(MAX_PRODUCTS).collect();
        if chunks.len() > 1 {
            self.adaptations.push(format!(
                "{} products became {} product lists of at most {MAX_PRODUCTS}",
                products.len(),
                chunks.len()
            ));
        }
        let section_title = self.fit("a section title", &header, MAX_SECTION_TITLE);
        for chunk in chunks {
            let items: Vec<Value> = chunk.iter().map(|p| json!({"product_retailer_id": p.id})).collect();
            self.push(json!({"type": "interactive", "interactive": {
                "type": "product_list", "header": {"type": "text", "text": header}, "body": {"text": body},
                "action": {"catalog_id": catalog_id, "sections": [{"title": section_title, "product_items": items}]}}}));
        }
    }
}

fn product_caption(product: &ProductCard) -> String {
    let mut caption = format!("*{}* — {}", product.name, product.price.formatted);
    if !product.in_stock {
        caption.push_str(" (sold out)");
    }
    if !product.description.is_empty() {
        caption.push('\n');
        caption.push_str(&product.description);
    }
    caption
}

/// Splits text into parts of at most `max` characters, at a line break or a
/// space where there is one in the second half of a part.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()))
            .filter(|at| *at >= max / 2)
            .map_or(max, |at| at + 1);
        parts.push(rest[..cut].iter().collect::<String>().trim_end().to_string());
        rest = rest[cut..].to_vec();
    }
    parts.push(rest.into_iter().collect());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    fn card(id: &str, photo: Option<&str>) -> ProductCard {
        ProductCard {
            id: id.into(),
            name: format!("Product {id}"),
            description: String::new(),
            photo_url: photo.map(str::to_string),
            price: Money::localized(250, "EUR", "en"),
            in_stock: true,
        }
    }

    #[test]
    fn long_text_is_split_at_spaces_within_the_limit() {
        let text = "word ".repeat(2000);
        let parts = split_text(text.trim_end(), MAX_TEXT);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_TEXT && !p.starts_with(' ')));
        assert_eq!(parts.concat().replace(' ', "").len(), text.replace(' ', "").len());
        let translated = translate(&RenderedReply::Text { text }, None, "");
        assert_eq!(translated.sends.len(), 3);
        assert_eq!(translated.adaptations.len(), 1);
    }

    #[test]
    fn four_buttons_become_a_list_and_long_titles_are_shortened() {
        let buttons: Vec<ButtonView> = (1..=4)
            .map(|n| ButtonView { id: format!("b{n}"), title: format!("Option number {n} with a long name") })
            .collect();
        let t = translate(&RenderedReply::Buttons { body: "Pick".into(), buttons }, None, "");
        assert_eq!(t.sends.len(), 1);
        assert_eq!(t.sends[0]["interactive"]["type"], "list");
        let rows = t.sends[0]["interactive"]["action"]["sections"][0]["rows"].as_array().cloned().unwrap_or_default();
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r["title"].as_str().is_some_and(|t| t.chars().count() <= MAX_ROW_TITLE)));
        assert!(t.adaptations.iter().any(|a| a.contains("became a list")), "{:?}", t.adaptations);
    }

    #[test]
    fn products_use_the_catalog_when_there_is_one() {
        let products: Vec<ProductCard> = (0..35).map(|n| card(&format!("p{n}"), None)).collect();
        let native = translate(
            &RenderedReply::ProductList {
                header: "Fruit".into(),
                body: "Fresh today".into(),
                products: products.clone(),
            },
            Some("cat1"),
            "",
        );
        assert_eq!(native.sends.len(), 2, "30 products per message");
        assert_eq!(
            native.sends[0]["interactive"]["action"]["sections"][0]["product_items"].as_array().map(Vec::len),
            Some(30)
        );
        let rows =
            translate(&RenderedReply::ProductList { header: "Fruit".into(), body: "Fresh".into(), products }, None, "");
        assert_eq!(rows.sends.len(), 4, "10 rows per list");
        assert_eq!(rows.sends[0]["interactive"]["action"]["sections"][0]["rows"][0]["id"], "product:p0");
        let photo = translate(&RenderedReply::Product { product: card("x", Some("https://img/x.jpg")) }, None, "");
        assert_eq!(photo.sends[0]["type"], "image");
        assert_eq!(photo.sends[0]["image"]["caption"], "*Product x* — €2.50");
    }
}
