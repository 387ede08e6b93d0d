//! Webhook bodies of the WhatsApp Cloud API: batched `entry[].changes[].value`
//! holding `messages[]` (with `contacts[]`) and `statuses[]`. Unknown fields
//! are ignored. A message is persisted as received (with its sender's contact)
//! and turned into an [`Inbound`] when it is processed.
//!
//! NUL characters (U+0000, which PostgreSQL cannot keep in a text column):
//! a delivery with one in an id (a message's or a status's id, a sender, a
//! phone number id) is refused as a whole, so nothing of it is stored or
//! acknowledged and Meta delivers it again (Meta never sends one; such a
//! delivery is damaged). One inside a message's content is kept as received in
//! the stored payload (JSON escapes it) and becomes U+FFFD when the message is
//! read ([`to_inbound`]), so the conversation can always store it.

use serde_json::{Value, json};

use crate::chat::Inbound;

/// What one webhook delivery carries.
#[derive(Debug, Default)]
pub struct Delivery {
    pub messages: Vec<MessageEvent>,
    pub statuses: Vec<StatusEvent>,
}

/// One inbound message, as persisted: `{"message": {...}, "contact": {...}}`.
#[derive(Debug, Clone)]
pub struct MessageEvent {
    pub phone_number_id: String,
    /// `wamid...`: the key retried deliveries are recognised by.
    pub id: String,
    pub payload: Value,
}

/// A delivery status of a message the business sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub phone_number_id: String,
    pub id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// What Meta says the message costs (`pricing`), when it says.
    pub pricing: Option<StatusPricing>,
    /// The recipient's `wa_id` (its calling code is its market).
    pub recipient_id: Option<String>,
    /// When the status happened, ms since the epoch (`timestamp`, in seconds).
    pub at: Option<i64>,
}

/// A status's `pricing` object: `type` and `category` (`billable` is being retired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPricing {
    /// `regular`, `free_customer_service`, `free_entry_point`.
    pub kind: Option<String>,
    /// `marketing`, `utility`, `authentication`, `service`...
    pub category: Option<String>,
    pub billable: Option<bool>,
}

/// Reads a webhook body; an error names what is malformed.
pub fn parse_delivery(body: &[u8]) -> Result<Delivery, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let entries = root.get("entry").and_then(Value::as_array).ok_or("the body has no `entry` array")?;
    let mut delivery = Delivery::default();
    let id = |value: &Value, key: &str| -> Result<Option<String>, String> {
        match value.get(key).and_then(Value::as_str) {
            Some(text) if text.contains('\0') => Err(format!("`{key}` contains a NUL character")),
            other => Ok(other.map(str::to_string)),
        }
    };
    for change in entries.iter().filter_map(|e| e.get("changes")?.as_array()).flatten() {
        let Some(value) = change.get("value") else { continue };
        let phone_number_id = value.get("metadata").map(|m| id(m, "phone_number_id")).transpose()?.flatten();
        let phone_number_id = phone_number_id.as_deref().unwrap_or_default();
        let contacts = value.get("contacts").and_then(Value::as_array).cloned().unwrap_or_default();
        for message in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
            let Some(message_id) = id(message, "id")? else { continue };
            let (from, from_user) = (id(message, "from")?, id(message, "from_user_id")?);
            let (from, from_user) = (from.as_deref(), from_user.as_deref());
            let contact = contacts
                .iter()
                .find(|c| {
                    let wa_id = c.get("wa_id").and_then(Value::as_str);
                    let user_id = c.get("user_id").and_then(Value::as_str);
                    (from.is_some() && wa_id == from) || (from_user.is_some() && user_id == from_user)
                })
                .or_else(|| contacts.first())
                .cloned()
                .unwrap_or(Value::Null);
            delivery.messages.push(MessageEvent {
                phone_number_id: phone_number_id.to_string(),
                id: message_id,
                payload: json!({"message": message, "contact": contact}),
            });
        }
        for status in value.get("statuses").and_then(Value::as_array).into_iter().flatten() {
            let (Some(status_id), Some(state)) = (id(status, "id")?, id(status, "status")?) else {
                continue;
            };
            let error = status.pointer("/errors/0").map(|e| {
                let code = e.get("code").map(Value::to_string).unwrap_or_default();
                let title = e.get("title").and_then(Value::as_str).unwrap_or("error");
                format!("{code} {title}").trim().to_string()
            });
            let pricing = match status.get("pricing") {
                Some(pricing) => Some(StatusPricing {
                    kind: id(pricing, "type")?,
                    category: id(pricing, "category")?,
                    billable: pricing.get("billable").and_then(Value::as_bool),
                }),
                None => None,
            };
            let at = status
                .get("timestamp")
                .and_then(|t| t.as_str().and_then(|t| t.parse::<i64>().ok()).or_else(|| t.as_i64()))
                .and_then(|seconds| seconds.checked_mul(1000));
            delivery.statuses.push(StatusEvent {
                phone_number_id: phone_number_id.to_string(),
                id: status_id,
                status: state,
                error: error.map(|e| without_nul(&e)),
                pricing,
                recipient_id: id(status, "recipient_id")?,
                at,
            });
        }
    }
    Ok(delivery)
}

/// `text` with each NUL replaced by U+FFFD (what a reader shows for a
/// character it cannot show).
fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

/// The customer's handle: the phone number (`wa_id`) when present, otherwise
/// the business-scoped user id.
pub fn sender(payload: &Value) -> Option<String> {
    let message = &payload["message"];
    [message.get("from"), message.get("from_user_id"), payload.pointer("/contact/user_id")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|s| !s.is_empty())
        .map(without_nul)
}

/// Who sent a persisted message: the handle to answer (the sender's phone
/// number, or their new one after a `user_changed_number` system message, or
/// their business-scoped user id when there is no number), and every handle
/// the message names for that one person, to be linked to one customer.
///
/// The business-scoped user id (BSUID) is read from `messages[].from_user_id`
/// and `contacts[].user_id`, as the published payloads carry it
/// (`inbound/text-bsuid`, `inbound/button-quick-reply-from-user-id`); a
/// changed number from `messages[].system.wa_id` (`inbound/system-user-changed-number`).
pub fn identity(payload: &Value) -> (Option<String>, Vec<String>) {
    let message = &payload["message"];
    let new_number = (message.pointer("/system/type").and_then(Value::as_str) == Some("user_changed_number"))
        .then(|| message.pointer("/system/wa_id").and_then(Value::as_str))
        .flatten()
        .filter(|s| !s.is_empty())
        .map(without_nul);
    let primary = new_number.clone().or_else(|| sender(payload));
    let mut handles: Vec<String> = Vec::new();
    let named = [
        message.get("from"),
        message.get("from_user_id"),
        payload.pointer("/contact/wa_id"),
        payload.pointer("/contact/user_id"),
    ];
    for handle in named.into_iter().flatten().filter_map(Value::as_str).filter(|s| !s.is_empty()).map(without_nul) {
        if !handles.contains(&handle) {
            handles.push(handle);
        }
    }
    if let Some(number) = new_number
        && !handles.contains(&number)
    {
        handles.push(number);
    }
    (primary, handles)
}

/// What a persisted message asks of the host.
pub fn to_inbound(payload: &Value) -> Inbound {
    let message = &payload["message"];
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("unsupported");
    let text = |pointer: &str| message.pointer(pointer).and_then(Value::as_str).map(without_nul);
    let field = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(without_nul).unwrap_or_default();
    let unreadable = |kind: &str, details: Value| Inbound::Unreadable { kind: kind.to_string(), details };
    match kind {
        "text" => {
            let body = text("/text/body").unwrap_or_default();
            match text("/context/referred_product/product_retailer_id") {
                Some(product_id) => Inbound::ProductQuestion { product_id, text: body },
                None => Inbound::Text(body),
            }
        }
        "interactive" => {
            let reply =
                message.pointer("/interactive/button_reply").or_else(|| message.pointer("/interactive/list_reply"));
            match reply {
                Some(reply) => {
                    let (id, title) = (field(reply, "id"), field(reply, "title"));
                    // Rows the host made for products (see `outbound`) come back as taps.
                    match id.strip_prefix(super::outbound::PRODUCT_ROW_PREFIX) {
                        Some(product_id) => Inbound::ProductTap(product_id.to_string()),
                        None => Inbound::Choice { id, title },
                    }
                }
                None => {
                    let sub = message.pointer("/interactive/type").and_then(Value::as_str).unwrap_or("interactive");
                    unreadable(sub, json!({"response": message.pointer("/interactive/nfm_reply/response_json")}))
                }
            }
        }
        // A template's quick-reply button.
        "button" => Inbound::Choice {
            id: text("/button/payload").unwrap_or_default(),
            title: text("/button/text").unwrap_or_default(),
        },
        "order" => {
            let items = message.pointer("/order/product_items").and_then(Value::as_array).cloned().unwrap_or_default();
            Inbound::Cart(
                items
                    .iter()
                    .map(|item| {
                        let id = field(item, "product_retailer_id");
                        let quantity = item.get("quantity").and_then(Value::as_u64).unwrap_or(0);
                        (id, u32::try_from(quantity).unwrap_or(u32::MAX))
                    })
                    .collect(),
            )
        }
        "image" | "video" | "audio" | "document" | "sticker" => unreadable(
            kind,
            json!({
                "media_id": message.pointer(&format!("/{kind}/id")),
                "mime_type": message.pointer(&format!("/{kind}/mime_type")),
                "caption": message.pointer(&format!("/{kind}/caption")),
            }),
        ),
        "location" => unreadable(
            kind,
            json!({
                "latitude": message.pointer("/location/latitude"),
                "longitude": message.pointer("/location/longitude"),
                "name": message.pointer("/location/name"),
                "address": message.pointer("/location/address"),
            }),
        ),
        // Shared contact cards hold other people's numbers: only how many is kept.
        "contacts" => {
            unreadable(kind, json!({"count": message.get("contacts").and_then(Value::as_array).map_or(0, Vec::len)}))
        }
        // The message reacted to is named by WhatsApp's id, which encodes the
        // customer's number: the inbox puts this host's message id in its
        // place (`reacted_to`) before anything is stored.
        "reaction" => unreadable(
            kind,
            json!({"wamid": message.pointer("/reaction/message_id"), "emoji": message.pointer("/reaction/emoji")}),
        ),
        "system" => {
            unreadable(kind, json!({"type": message.pointer("/system/type"), "body": message.pointer("/system/body")}))
        }
        other => unreadable("unsupported", json!({"type": without_nul(other)})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(message: Value) -> Vec<u8> {
        json!({"entry": [{"changes": [{"value": {
            "metadata": {"phone_number_id": "1065"},
            "messages": [message],
        }}]}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_nul_in_an_id_refuses_the_whole_delivery() {
        for message in [
            json!({"id": "wamid.a\u{0}", "from": "346", "type": "text", "text": {"body": "hi"}}),
            json!({"id": "wamid.a", "from": "34\u{0}6", "type": "text", "text": {"body": "hi"}}),
        ] {
            let refused = parse_delivery(&delivery(message)).err().unwrap_or_default();
            assert!(refused.contains("NUL"), "{refused}");
        }
        let status =
            json!({"entry": [{"changes": [{"value": {"statuses": [{"id": "wamid\u{0}", "status": "read"}]}}]}]});
        assert!(parse_delivery(status.to_string().as_bytes()).is_err());
    }

    #[test]
    fn a_nul_in_a_message_is_kept_in_the_payload_and_read_as_a_replacement() {
        let body = delivery(json!({"id": "wamid.b", "from": "346", "type": "text", "text": {"body": "a\u{0}b"}}));
        let parsed = parse_delivery(&body).expect("parses");
        let message = &parsed.messages[0];
        assert_eq!(message.payload["message"]["text"]["body"], "a\u{0}b", "stored as received");
        assert!(matches!(to_inbound(&message.payload), Inbound::Text(text) if text == "a\u{fffd}b"));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::proptests::{json_value, mutate};

    /// A delivery in the shape Meta documents: a message with its contact and a status.
    fn fixture() -> Value {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1065"},
                "contacts": [{"profile": {"name": "Ana"}, "wa_id": "34600111222"}],
                "messages": [
                    {"from": "34600111222", "id": "wamid.a", "timestamp": "1700000000", "type": "text",
                     "text": {"body": "hi"}, "context": {"referred_product": {"product_retailer_id": "pear"}}},
                    {"from": "34600111222", "id": "wamid.b", "type": "interactive",
                     "interactive": {"type": "list_reply", "list_reply": {"id": "product:pear", "title": "Pear"}}},
                    {"from": "34600111222", "id": "wamid.c", "type": "order",
                     "order": {"product_items": [{"product_retailer_id": "pear", "quantity": 2}]}},
                ],
                "statuses": [{"id": "wamid.s", "status": "failed", "errors": [{"code": 131047, "title": "Re-engagement"}]}],
            }}]}],
        })
    }

    /// What a parsed delivery promises whatever it was made from.
    fn check(delivery: &Delivery) -> Result<(), TestCaseError> {
        for message in &delivery.messages {
            prop_assert!(!message.id.contains('\0') && !message.phone_number_id.contains('\0'));
            let _ = sender(&message.payload);
            let _ = to_inbound(&message.payload);
        }
        for status in &delivery.statuses {
            prop_assert!(!status.id.contains('\0') && !status.status.contains('\0'));
            prop_assert!(status.error.as_ref().is_none_or(|e| !e.contains('\0')));
        }
        Ok(())
    }

    fn has_entry_array(body: &[u8]) -> bool {
        serde_json::from_slice::<Value>(body).ok().is_some_and(|v| v.get("entry").is_some_and(Value::is_array))
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn raw_bytes_never_panic_and_garbage_is_refused(body in prop::collection::vec(any::<u8>(), 0..512)) {
            match parse_delivery(&body) {
                Ok(delivery) => {
                    prop_assert!(has_entry_array(&body));
                    check(&delivery)?;
                }
                Err(why) => prop_assert!(!why.is_empty()),
            }
        }

        #[test]
        fn any_json_parses_only_with_an_entry_array(root in json_value()) {
            let body = root.to_string().into_bytes();
            if let Ok(delivery) = parse_delivery(&body) {
                prop_assert!(has_entry_array(&body));
                check(&delivery)?;
            }
        }

        #[test]
        fn near_misses_of_the_published_shape_never_panic(
            choice in any::<usize>(),
            replacement in json_value(),
            cut in any::<usize>(),
        ) {
            let mutated = mutate(&fixture(), choice, replacement);
            if let Ok(delivery) = parse_delivery(mutated.to_string().as_bytes()) {
                check(&delivery)?;
            }
            // A body cut short is never a delivery.
            let bytes = mutated.to_string().into_bytes();
            let short = &bytes[..cut % bytes.len().max(1)];
            prop_assert!(parse_delivery(short).is_err() || has_entry_array(short));
        }

        #[test]
        fn any_stored_payload_reads_as_some_inbound(payload in json_value()) {
            let _ = sender(&payload);
            let _ = to_inbound(&payload);
            let _ = to_inbound(&json!({"message": payload}));
        }
    }

    #[test]
    fn the_published_shape_parses_whole() {
        let delivery = parse_delivery(fixture().to_string().as_bytes()).expect("the fixture parses");
        assert_eq!(delivery.messages.len(), 3);
        assert_eq!(delivery.statuses[0].error.as_deref(), Some("131047 Re-engagement"));
    }
}
