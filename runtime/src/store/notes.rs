//! Private notes on a conversation: what a business's people write for each
//! other beside a thread (seen in the console only, never sent to the
//! customer, never given to the plugin). A note may quote the customer, so
//! its text is sealed under the customer's data key like a message body
//! (`Db::seal` with `KeyOwner::Customer`); a customer's export includes the
//! notes on their conversations, and `store::customer_data::erase` deletes
//! them with the rest of their data; the retention sweep
//! (`store::retention::sweep`) deletes notes older than the business's
//! retention, as it erases message bodies of that age.

use serde::Serialize;
use sqlx::FromRow;

use super::conversations::Conversation;
use super::data_keys::KeyOwner;
use super::{Db, StoreResult};
use crate::ids;
use crate::privacy::Binding;

/// The longest note, in bytes.
pub const MAX_NOTE_BYTES: usize = 4096;

/// A note as the console shows it (and a customer's export has it), its text opened.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub id: String,
    /// The staff member who wrote it (their id; not in a customer's export).
    #[serde(skip)]
    pub author_id: String,
    /// The note's text; empty once the customer's key is gone.
    pub text: String,
    #[serde(serialize_with = "super::businesses::serialize_time")]
    pub created_at: i64,
}

#[derive(Debug, FromRow)]
struct SealedNote {
    id: String,
    author_id: String,
    body: String,
    created_at: i64,
}

/// Where a note's text is sealed.
fn body_at(id: &str) -> Binding<'_> {
    Binding::new("conversation_notes", "body", id)
}

/// Adds `text` by `author_id` to `conversation`, sealed under its customer's key.
pub async fn add(
    db: &Db,
    business_id: &str,
    conversation: &Conversation,
    author_id: &str,
    text: &str,
) -> StoreResult<Note> {
    let id = ids::new_id("note");
    let now = ids::now_ms();
    // Sealed before the write: a key may need a query of its own.
    let sealed = db.seal(business_id, KeyOwner::Customer(&conversation.customer_id), body_at(&id), text).await?;
    sqlx::query(
        "INSERT INTO conversation_notes (id, business_id, conversation_id, author_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(business_id)
    .bind(&conversation.id)
    .bind(author_id)
    .bind(&sealed)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(Note { id, author_id: author_id.to_string(), text: text.to_string(), created_at: now })
}

/// The latest `limit` notes of conversation `conversation_id`, oldest first.
pub async fn of_conversation(db: &Db, business_id: &str, conversation_id: &str, limit: u32) -> StoreResult<Vec<Note>> {
    let mut rows: Vec<SealedNote> = sqlx::query_as(
        "SELECT id, author_id, body, created_at FROM conversation_notes \
         WHERE business_id = $1 AND conversation_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    rows.reverse();
    let mut notes = Vec::with_capacity(rows.len());
    for row in rows {
        let text = if row.body.is_empty() { None } else { db.open(business_id, body_at(&row.id), &row.body).await? };
        notes.push(Note {
            id: row.id,
            author_id: row.author_id,
            text: text.unwrap_or_default(),
            created_at: row.created_at,
        });
    }
    Ok(notes)
}
