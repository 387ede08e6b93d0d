//! Inbound messages as every transport hands them to the host, the rules they
//! must meet before anything is stored, and the form history keeps them in.

use super::ChatError;

/// The longest text a customer may send, in bytes.
pub const MAX_INBOUND_TEXT_BYTES: usize = 4096;
/// The most lines a cart sent as one message may have.
pub const MAX_INBOUND_CART_LINES: usize = 100;

/// What a customer sent, as transports hand it to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Text(String),
    /// A reply button or list row was tapped.
    Choice {
        id: String,
        title: String,
    },
    ProductTap(String),
    /// A whole cart: (product id, quantity) lines.
    Cart(Vec<(String, u32)>),
    /// The customer opened the catalog (optionally searching or in a section).
    Browse {
        query: Option<String>,
        section: Option<String>,
    },
    /// Text asking about a product (WhatsApp's product inquiry). The bot gets
    /// the text; history keeps which product it was about.
    ProductQuestion {
        product_id: String,
        text: String,
    },
    /// Something a bot cannot read (a photo, a location, a reaction, a system
    /// notice...): kept in history for the business, not given to the bot.
    Unreadable {
        kind: String,
        details: serde_json::Value,
    },
}

/// Largest serialized `details` of an unreadable message.
const MAX_UNREADABLE_BYTES: usize = 16 * 1024;

/// One inbound message: who sent it, where, and what.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    /// `api`, `whatsapp`, `web`...
    pub channel: String,
    /// The customer's handle on that channel (phone number, chat handle). Kept
    /// by the host; never given to a plugin.
    pub handle: String,
    pub locale: Option<String>,
    pub message: Inbound,
}

/// True for a plausible BCP 47 language tag (`en`, `es-MX`, `zh-Hant-TW`).
pub fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 35
        && tag.split('-').all(|part| (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The stored form of an inbound message.
pub(super) fn stored_body(message: &Inbound) -> serde_json::Value {
    match message {
        Inbound::Text(text) => serde_json::json!({"type": "text", "text": text}),
        Inbound::Choice { id, title } => {
            serde_json::json!({"type": "choice", "id": id, "title": title})
        }
        Inbound::ProductTap(id) => serde_json::json!({"type": "product_tap", "product_id": id}),
        Inbound::Cart(items) => serde_json::json!({
            "type": "cart",
            "items": items.iter().map(|(id, q)| serde_json::json!({"product_id": id, "quantity": q})).collect::<Vec<_>>(),
        }),
        Inbound::Browse { query, section } => {
            serde_json::json!({"type": "browse", "query": query, "section": section})
        }
        Inbound::ProductQuestion { product_id, text } => {
            serde_json::json!({"type": "text", "text": text, "product_id": product_id})
        }
        Inbound::Unreadable { kind, details } => serde_json::json!({"type": kind, "details": details}),
    }
}

/// A stored inbound message as it can be sent again (recorded conversations
/// replayed by `bottega plugin test`); `None` for what a bot never reads.
pub fn from_stored(body: &serde_json::Value) -> Option<Inbound> {
    let text = |key: &str| body[key].as_str().map(str::to_string);
    match body["type"].as_str()? {
        "text" => match text("product_id") {
            Some(product_id) => Some(Inbound::ProductQuestion { product_id, text: text("text")? }),
            None => Some(Inbound::Text(text("text")?)),
        },
        "choice" => Some(Inbound::Choice { id: text("id")?, title: text("title").unwrap_or_default() }),
        "product_tap" => Some(Inbound::ProductTap(text("product_id")?)),
        "cart" => body["items"]
            .as_array()?
            .iter()
            .map(|item| {
                let quantity = u32::try_from(item["quantity"].as_u64()?).ok()?;
                Some((item["product_id"].as_str()?.to_string(), quantity))
            })
            .collect::<Option<Vec<_>>>()
            .map(Inbound::Cart),
        "browse" => Some(Inbound::Browse { query: text("query"), section: text("section") }),
        _ => None,
    }
}

/// Checks a message before anything of it is stored (transports that persist
/// messages before handling them call it first).
pub fn validate(request: &InboundRequest) -> Result<(), ChatError> {
    let invalid = |why: String| Err(ChatError::Invalid(why));
    let handle = request.handle.trim();
    if handle.is_empty() || handle.len() > 256 || handle.contains('\0') {
        return invalid("the customer handle must be 1 to 256 bytes".into());
    }
    if let Some(locale) = &request.locale
        && !is_language_tag(locale)
    {
        return invalid(format!("`{locale}` is not a BCP 47 language tag (e.g. en, es-MX)"));
    }
    match &request.message {
        Inbound::Text(text) | Inbound::ProductQuestion { text, .. } if text.trim().is_empty() => {
            invalid("the text is empty".into())
        }
        Inbound::Text(text) | Inbound::ProductQuestion { text, .. } if text.len() > MAX_INBOUND_TEXT_BYTES => {
            invalid(format!("the text is {} bytes; at most {MAX_INBOUND_TEXT_BYTES}", text.len()))
        }
        Inbound::ProductQuestion { product_id, .. } if product_id.is_empty() || product_id.len() > 256 => {
            invalid("a product question needs a product id of 1 to 256 bytes".into())
        }
        Inbound::Unreadable { kind, details }
            if kind.is_empty() || kind.len() > 64 || details.to_string().len() > MAX_UNREADABLE_BYTES =>
        {
            invalid(format!(
                "an unreadable message needs a kind of 1 to 64 bytes and details of at most {MAX_UNREADABLE_BYTES}"
            ))
        }
        Inbound::Choice { id, title } if id.is_empty() || id.len() > 256 || title.len() > 1024 => {
            invalid("a choice needs an id of 1 to 256 bytes and a title of at most 1024".into())
        }
        Inbound::ProductTap(id) if id.is_empty() || id.len() > 256 => {
            invalid("a product tap needs a product id of 1 to 256 bytes".into())
        }
        Inbound::Cart(items) if items.is_empty() || items.len() > MAX_INBOUND_CART_LINES => {
            invalid(format!("a cart has 1 to {MAX_INBOUND_CART_LINES} lines, got {}", items.len()))
        }
        Inbound::Browse { query, section }
            if query.as_ref().is_some_and(|q| q.len() > 256) || section.as_ref().is_some_and(|s| s.len() > 256) =>
        {
            invalid("a catalog search or section is at most 256 bytes".into())
        }
        _ => Ok(()),
    }
}
