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
/// An unreadable message is known by its `details`, whatever its kind says
/// (a WhatsApp interactive message of type `browse` is unreadable, not a browse).
pub fn from_stored(body: &serde_json::Value) -> Option<Inbound> {
    if body.get("details").is_some() {
        return None;
    }
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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::proptests::{json_value, text};

    /// Text of every length the rules care about, hostile or plain.
    fn sized_text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => text(),
            1 => (0usize..5000).prop_map(|n| "a".repeat(n)),
            1 => (0usize..300).prop_map(|n| "é".repeat(n)),
            1 => Just("   ".to_string()),
        ]
    }

    fn message() -> impl Strategy<Value = Inbound> {
        prop_oneof![
            sized_text().prop_map(Inbound::Text),
            (sized_text(), sized_text()).prop_map(|(id, title)| Inbound::Choice { id, title }),
            sized_text().prop_map(Inbound::ProductTap),
            prop::collection::vec((sized_text(), any::<u32>()), 0..120).prop_map(Inbound::Cart),
            (prop::option::of(sized_text()), prop::option::of(sized_text()))
                .prop_map(|(query, section)| Inbound::Browse { query, section }),
            (sized_text(), sized_text()).prop_map(|(product_id, text)| Inbound::ProductQuestion { product_id, text }),
            (sized_text(), json_value()).prop_map(|(kind, details)| Inbound::Unreadable { kind, details }),
        ]
    }

    fn request() -> impl Strategy<Value = InboundRequest> {
        let locale = prop_oneof![Just(None), Just(Some("es-MX".to_string())), prop::option::of(text())];
        (text(), sized_text(), locale, message()).prop_map(|(channel, handle, locale, message)| InboundRequest {
            channel,
            handle,
            locale,
            message,
        })
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn what_passes_the_validator_meets_every_rule(request in request()) {
            let Ok(()) = validate(&request) else { return Ok(()) };
            let handle = request.handle.trim();
            prop_assert!(!handle.is_empty() && handle.len() <= 256 && !handle.contains('\0'));
            prop_assert!(request.locale.as_deref().is_none_or(is_language_tag));
            match &request.message {
                Inbound::Text(text) | Inbound::ProductQuestion { text, .. } => {
                    prop_assert!(!text.trim().is_empty() && text.len() <= MAX_INBOUND_TEXT_BYTES);
                }
                Inbound::Cart(items) => prop_assert!((1..=MAX_INBOUND_CART_LINES).contains(&items.len())),
                Inbound::ProductTap(id) | Inbound::Choice { id, .. } => prop_assert!((1..=256).contains(&id.len())),
                Inbound::Unreadable { kind, details } => {
                    prop_assert!((1..=64).contains(&kind.len()));
                    prop_assert!(details.to_string().len() <= MAX_UNREADABLE_BYTES);
                }
                Inbound::Browse { query, section } => {
                    prop_assert!(query.as_ref().is_none_or(|q| q.len() <= 256));
                    prop_assert!(section.as_ref().is_none_or(|s| s.len() <= 256));
                }
            }
        }

        #[test]
        fn an_empty_handle_or_a_bad_locale_is_always_refused(request in request(), bad in "[^a-zA-Z0-9-]{1,4}") {
            let blank = InboundRequest { handle: " \t".into(), ..request.clone() };
            prop_assert!(validate(&blank).is_err());
            let foreign = InboundRequest { locale: Some(bad), handle: "ana".into(), ..request };
            prop_assert!(validate(&foreign).is_err());
        }

        #[test]
        fn what_history_stores_is_sent_again_unchanged(message in message()) {
            let stored = stored_body(&message);
            match from_stored(&stored) {
                Some(again) => prop_assert_eq!(again, message),
                None => prop_assert!(matches!(message, Inbound::Unreadable { .. }), "{:?}", message),
            }
        }

        #[test]
        fn any_stored_body_reads_back_without_panicking(body in json_value()) {
            if let Some(message) = from_stored(&body) {
                prop_assert!(!matches!(message, Inbound::Unreadable { .. }), "a stored unreadable message is never replayed");
            }
        }
    }
}
