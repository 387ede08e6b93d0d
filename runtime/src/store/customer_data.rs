//! A customer's data rights, in the store: everything a business holds about
//! one customer gathered for their export ([`export`]), and their erasure
//! ([`erase`]), which crypto-shreds their data key and leaves only what the
//! law requires kept (orders, payments and usage: totals and lines, under a
//! new random pseudonym that leads to no one).
//!
//! Found by pseudonym or by any handle ([`find`]); a handle only ever through
//! its blind index. A customer merged into another (an alias, see
//! [`customer_handles::link`]) is that other: the export and the erasure of a
//! customer cover every alias's conversations, orders and handles, and the
//! erasure destroys every alias's data key too.

use serde::Serialize;
use utoipa::ToSchema;

use super::conversations::{self, Conversation, Message};
use super::orders::{self, Order};
use super::payments::{self, Payment};
use super::{Db, StoreResult, customer_handles, data_keys, webhooks};
use crate::ids;

/// The version of the export's format.
pub const EXPORT_FORMAT: &str = "bottega-customer-export/1";

/// Everything a business holds about one customer (Art. 15 and 20 GDPR).
#[derive(Debug, Clone, Serialize)]
pub struct CustomerExport {
    pub format: &'static str,
    pub business_id: String,
    /// The customer's pseudonym.
    pub customer_id: String,
    /// Pseudonyms the shop knew the same person by before they were linked
    /// (their conversations and orders are in this export).
    pub aliases: Vec<String>,
    pub exported_at: String,
    /// Every phone number, business-scoped user id or web chat account the
    /// shop knows them by.
    pub handles: Vec<String>,
    pub conversations: Vec<ExportedConversation>,
    pub orders: Vec<ExportedOrder>,
    /// Consents recorded for the customer (none are recorded yet).
    pub consents: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportedConversation {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    /// The private notes the shop's people kept on the conversation.
    pub notes: Vec<super::notes::Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportedOrder {
    #[serde(flatten)]
    pub order: Order,
    /// Payment attempts: amounts, status and the card's brand and last 4 digits only.
    pub payments: Vec<Payment>,
}

/// What an erasure did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Erasure {
    /// The customer's pseudonym as the business knew it.
    pub customer_id: String,
    /// The pseudonyms merged into it, erased with it.
    pub aliases: Vec<String>,
    /// Their data key was destroyed: nothing sealed under it opens again,
    /// wherever a copy lies.
    pub key_destroyed: bool,
    pub handles_forgotten: u64,
    pub messages_erased: u64,
    pub sends_deleted: u64,
    pub kv_entries_deleted: u64,
    pub web_sessions_revoked: u64,
    pub inbound_events_deleted: u64,
    /// Orders kept for the law, pseudonymised: totals and lines, no person.
    pub orders_kept: u64,
}

/// The customer `reference` names in `business_id`: a pseudonym the business
/// has, or any handle they were seen by.
pub async fn find(db: &Db, business_id: &str, reference: &str) -> StoreResult<Option<String>> {
    if reference.starts_with("cus_") {
        let known: Option<String> = sqlx::query_scalar("SELECT id FROM customers WHERE business_id = $1 AND id = $2")
            .bind(business_id)
            .bind(reference)
            .fetch_optional(db.pool())
            .await?;
        if let Some(known) = known {
            return Ok(Some(customer_handles::canonical(db, business_id, &known).await?));
        }
    }
    customer_handles::find(db, business_id, reference).await
}

/// The customer `customer_id` names (itself, or the one it was merged into)
/// first, then every customer merged into it: whose data is theirs.
async fn identities(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Vec<String>> {
    let customer_id = customer_handles::canonical(db, business_id, customer_id).await?;
    let aliases = customer_handles::aliases_of(db, business_id, &customer_id).await?;
    let mut ids = vec![customer_id];
    ids.extend(aliases);
    Ok(ids)
}

/// Everything `business_id` holds about `customer_id`.
pub async fn export(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<CustomerExport> {
    let who = identities(db, business_id, customer_id).await?;
    let customer_id = who[0].as_str();
    let mut handles = Vec::new();
    let mut conversations_of = Vec::new();
    let mut orders_of = Vec::new();
    for id in &who {
        for handle in self::handles(db, business_id, id).await? {
            if !handles.contains(&handle) {
                handles.push(handle);
            }
        }
        conversations_of.extend(conversations::of_customer(db, business_id, id).await?);
        orders_of.extend(orders::of_customer(db, business_id, id, 10_000).await?);
    }
    let mut exported = Vec::new();
    for conversation in conversations_of {
        let mut messages = Vec::new();
        loop {
            let after = messages.last().map_or(0, |m: &Message| m.seq);
            let page = conversations::messages(db, business_id, &conversation.id, after, 500).await?;
            if page.is_empty() {
                break;
            }
            messages.extend(page);
        }
        let notes = super::notes::of_conversation(db, business_id, &conversation.id, u32::MAX).await?;
        exported.push(ExportedConversation { conversation, messages, notes });
    }
    let mut orders_out = Vec::new();
    for order in orders_of {
        let payments = payments::of_order(db, business_id, &order.id).await?;
        orders_out.push(ExportedOrder { order, payments });
    }
    Ok(CustomerExport {
        format: EXPORT_FORMAT,
        business_id: business_id.to_string(),
        customer_id: customer_id.to_string(),
        aliases: who[1..].to_vec(),
        exported_at: ids::rfc3339(ids::now_ms()),
        handles,
        conversations: exported,
        orders: orders_out,
        consents: Vec::new(),
    })
}

/// Every handle of the customer, opened: those mapped to them, and the one
/// their customer row keeps (a customer from before handles were mapped).
async fn handles(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Vec<String>> {
    let mut handles = customer_handles::handles_of(db, business_id, customer_id).await?;
    let kept: Option<String> = sqlx::query_scalar("SELECT handle FROM customers WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    if let Some(sealed) = kept.filter(|s| !s.is_empty()) {
        let row = conversations::customer_row(business_id, customer_id);
        if let Some(handle) = db.open(business_id, conversations::customer_handle_at(&row), &sealed).await?
            && !handles.contains(&handle)
        {
            handles.push(handle);
        }
    }
    Ok(handles)
}

/// Keeps a download link's token (its hash) for `customer_id`'s export, valid until `expires_at`.
pub async fn create_link(
    db: &Db,
    business_id: &str,
    customer_id: &str,
    token_hash: &str,
    expires_at: i64,
) -> StoreResult<()> {
    let now = ids::now_ms();
    // Links of the past go as new ones come.
    sqlx::query("DELETE FROM data_export_links WHERE expires_at < $1").bind(now).execute(db.pool()).await?;
    sqlx::query(
        "INSERT INTO data_export_links (token_hash, business_id, customer_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(business_id)
    .bind(customer_id)
    .bind(expires_at)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Whose export a download link opens (business, customer), if it is still valid at `now`.
pub async fn link(db: &Db, token_hash: &str, now: i64) -> StoreResult<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT business_id, customer_id FROM data_export_links WHERE token_hash = $1 AND expires_at >= $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// The channels whose inbound events name a sender (by blind index of
/// `channel:handle`): WhatsApp's and the web chat's.
const INBOUND_CHANNELS: [&str; 2] = ["whatsapp", "web"];

/// Erases `customer_id` of `business_id`, and every customer merged into it:
/// their handles, message texts, the staff's private notes on their
/// conversations, queued sends, plugin log lines, cart, plugin
/// key-value entries naming them, waiting inbound events, web chat sessions
/// (revoked); their orders are kept for the law under new random pseudonyms;
/// the business is sent a signed `customer.erased` webhook and every one of
/// their data keys is destroyed, all in one transaction.
pub async fn erase(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Erasure> {
    let who = identities(db, business_id, customer_id).await?;
    let customer_id = who[0].as_str();
    // What needs a key comes first: SQLite's one connection is the transaction's.
    let mut sender_keys = Vec::new();
    for id in &who {
        for handle in handles(db, business_id, id).await? {
            for channel in INBOUND_CHANNELS {
                sender_keys.push(db.blind_index(business_id, &format!("{channel}:{handle}")).await?);
            }
        }
    }
    let now = ids::now_ms();
    let mut erasure = Erasure {
        customer_id: customer_id.to_string(),
        aliases: who[1..].to_vec(),
        key_destroyed: false,
        handles_forgotten: 0,
        messages_erased: 0,
        sends_deleted: 0,
        kv_entries_deleted: 0,
        web_sessions_revoked: 0,
        inbound_events_deleted: 0,
        orders_kept: 0,
    };
    let mut tx = db.pool().begin().await?;
    for id in &who {
        erase_rows(&mut tx, business_id, id, now, &mut erasure).await?;
    }
    for sender_key in &sender_keys {
        erasure.inbound_events_deleted +=
            sqlx::query("DELETE FROM inbound_events WHERE business_id = $1 AND sender_key = $2")
                .bind(business_id)
                .bind(sender_key)
                .execute(&mut *tx)
                .await?
                .rows_affected();
    }
    // The merge itself would link the erased person's pseudonyms: forgotten too.
    sqlx::query("DELETE FROM customer_aliases WHERE business_id = $1 AND customer_id = $2")
        .bind(business_id)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    let payload = webhooks::event_payload(
        "customer.erased",
        serde_json::json!({"customer": {"id": customer_id, "aliases": &erasure.aliases}, "erased_at": ids::rfc3339(now)}),
    );
    webhooks::enqueue_on(&mut *tx, business_id, "customer.erased", &payload).await?;
    // Crypto-shredding, in the same transaction: nothing sealed under the
    // keys opens again. Evicted before and after, so no node-local copy of
    // this node outlives the commit.
    for id in &who {
        data_keys::evict_customer_key(db, business_id, id);
        let destroyed = data_keys::delete_customer_key(&mut tx, business_id, id).await?;
        if id == customer_id {
            erasure.key_destroyed = destroyed;
        }
    }
    tx.commit().await?;
    for id in &who {
        data_keys::evict_customer_key(db, business_id, id);
    }
    if db.backend() == super::Backend::Sqlite {
        // The WAL still holds the pages as they were (the destroyed keys'
        // rows among them) until it is checkpointed and truncated.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(db.pool()).await?;
    }
    Ok(erasure)
}

/// One identity's rows of an erasure (the customer's or an alias's), in the
/// erasure's transaction; counted into `erasure`.
async fn erase_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    business_id: &str,
    customer_id: &str,
    now: i64,
    erasure: &mut Erasure,
) -> StoreResult<()> {
    let anonymous = format!("cus_{}", uuid::Uuid::new_v4().simple());
    let of_customer = "(SELECT id FROM conversations WHERE business_id = $1 AND customer_id = $2)";
    erasure.sends_deleted += sqlx::query(&format!(
        "DELETE FROM outbox WHERE business_id = $1 AND state = 'pending' AND conversation_id IN {of_customer}"
    ))
    .bind(business_id)
    .bind(customer_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query(&format!("UPDATE outbox SET body = '' WHERE business_id = $1 AND conversation_id IN {of_customer}"))
        .bind(business_id)
        .bind(customer_id)
        .execute(&mut **tx)
        .await?;
    erasure.messages_erased += sqlx::query(&format!(
        "UPDATE messages SET body = '' WHERE business_id = $1 AND conversation_id IN {of_customer}"
    ))
    .bind(business_id)
    .bind(customer_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    for table in ["plugin_logs", "cart_lines", "conversation_notes"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE business_id = $1 AND conversation_id IN {of_customer}"))
            .bind(business_id)
            .bind(customer_id)
            .execute(&mut **tx)
            .await?;
    }
    erasure.web_sessions_revoked += sqlx::query(&format!(
        "UPDATE web_sessions SET signed_out_at = $3 WHERE business_id = $1 AND signed_out_at IS NULL \
         AND conversation_id IN {of_customer}"
    ))
    .bind(business_id)
    .bind(customer_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // The plugin's entries naming the customer, and the bytes they counted.
    let freed: Vec<i64> =
        sqlx::query_scalar("DELETE FROM kv_entries WHERE business_id = $1 AND key LIKE $2 ESCAPE '\\' RETURNING size")
            .bind(business_id)
            .bind(super::contains_pattern(customer_id))
            .fetch_all(&mut **tx)
            .await?;
    if !freed.is_empty() {
        sqlx::query("UPDATE businesses SET kv_bytes = kv_bytes - $2 WHERE id = $1")
            .bind(business_id)
            .bind(freed.iter().sum::<i64>())
            .execute(&mut **tx)
            .await?;
    }
    erasure.kv_entries_deleted += u64::try_from(freed.len()).unwrap_or(u64::MAX);
    sqlx::query("DELETE FROM data_export_links WHERE business_id = $1 AND customer_id = $2")
        .bind(business_id)
        .bind(customer_id)
        .execute(&mut **tx)
        .await?;
    erasure.handles_forgotten +=
        sqlx::query("DELETE FROM customer_handles WHERE business_id = $1 AND customer_id = $2")
            .bind(business_id)
            .bind(customer_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    let orders_kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE business_id = $1 AND customer_id = $2")
            .bind(business_id)
            .bind(customer_id)
            .fetch_one(&mut **tx)
            .await?;
    erasure.orders_kept += u64::try_from(orders_kept).unwrap_or(0);
    // What is kept names a pseudonym no handle leads to any more.
    for sql in [
        "UPDATE orders SET customer_id = $3 WHERE business_id = $1 AND customer_id = $2",
        "UPDATE conversations SET customer_id = $3 WHERE business_id = $1 AND customer_id = $2",
        "UPDATE customers SET id = $3, handle = '', handle_index = NULL WHERE business_id = $1 AND id = $2",
    ] {
        sqlx::query(sql).bind(business_id).bind(customer_id).bind(&anonymous).execute(&mut **tx).await?;
    }
    Ok(())
}
