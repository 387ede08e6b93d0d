//! What businesses can read about their plugins' behaviour: failures (traps,
//! deadlines, memory, bad output) that feed the circuit breaker, and the lines
//! plugins log through the `log` capability. A log line may quote a customer,
//! so its message and fields are sealed (under the customer's key when the
//! line is of a conversation).

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::data_keys::KeyOwner;
use super::{Db, StoreError, StoreResult, Stored};
use crate::ids;
use crate::privacy::Binding;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PluginFailure {
    pub id: String,
    pub plugin_version_id: String,
    /// `trap`, `deadline`, `memory`, `output_too_large`, `invalid_reply` or `unavailable`.
    pub kind: String,
    pub detail: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PluginLogLine {
    pub plugin_version_id: String,
    pub conversation_id: Option<String>,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
    #[schema(value_type = Object)]
    #[sqlx(try_from = "Stored<String>")]
    pub fields: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

/// A log line to store.
#[derive(Debug, Clone)]
pub struct NewLogLine {
    pub level: &'static str,
    pub message: String,
    pub fields: serde_json::Value,
}

/// PostgreSQL TEXT cannot hold NUL; what a plugin wrote is kept with U+FFFD instead.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}").into() } else { text.into() }
}

pub async fn record_failure(db: &Db, business_id: &str, version_id: &str, kind: &str, detail: &str) -> StoreResult<()> {
    // What a plugin printed may quote a customer: sealed under the business's key.
    let id = ids::new_id("pf");
    let sealed = db.seal(business_id, KeyOwner::Secrets, failure_at(&id), &printable(detail)).await?;
    sqlx::query(
        "INSERT INTO plugin_failures (id, business_id, plugin_version_id, kind, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(business_id)
    .bind(version_id)
    .bind(kind)
    .bind(&sealed)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Most recent failures first.
pub async fn failures(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<PluginFailure>> {
    let mut failures: Vec<PluginFailure> = sqlx::query_as(
        "SELECT id, plugin_version_id, kind, detail, created_at FROM plugin_failures WHERE business_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(business_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    for failure in &mut failures {
        failure.detail = db.open(business_id, failure_at(&failure.id), &failure.detail).await?.unwrap_or_default();
    }
    Ok(failures)
}

/// Where a failure's detail is sealed.
fn failure_at(id: &str) -> Binding<'_> {
    Binding::new("plugin_failures", "detail", id)
}

pub async fn append_logs(
    db: &Db,
    business_id: &str,
    version_id: &str,
    conversation: Option<&super::conversations::Conversation>,
    lines: &[NewLogLine],
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let now = ids::now_ms();
    // A line may quote the customer: sealed under their key when it is of a
    // conversation (erased with them), else under the business's.
    let owner = conversation.map_or(KeyOwner::Secrets, |c| KeyOwner::Customer(&c.customer_id));
    let conversation_id = conversation.map(|c| c.id.as_str());
    for line in lines {
        let id = ids::new_id("log");
        let message = db.seal(business_id, owner, log_at("message", &id), &printable(&line.message)).await?;
        let fields = db.seal(business_id, owner, log_at("fields", &id), &line.fields.to_string()).await?;
        sqlx::query(
            "INSERT INTO plugin_logs (id, business_id, plugin_version_id, conversation_id, level, message, fields, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(business_id)
        .bind(version_id)
        .bind(conversation_id)
        .bind(line.level)
        .bind(&message)
        .bind(&fields)
        .bind(now)
        .execute(db.pool())
        .await?;
    }
    Ok(())
}

/// Most recent lines first.
pub async fn logs(db: &Db, business_id: &str, limit: u32) -> StoreResult<Vec<PluginLogLine>> {
    let rows: Vec<SealedLogLine> = sqlx::query_as(
        "SELECT id, plugin_version_id, conversation_id, level, message, fields, created_at FROM plugin_logs \
         WHERE business_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(business_id)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        // A line of an erased customer reads as erased.
        let message = db.open(business_id, log_at("message", &row.id), &row.message).await?;
        let fields = db.open(business_id, log_at("fields", &row.id), &row.fields).await?;
        let fields = match fields {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("log fields: {e}")))?,
            None => serde_json::json!({}),
        };
        lines.push(PluginLogLine {
            plugin_version_id: row.plugin_version_id,
            conversation_id: row.conversation_id,
            level: row.level,
            message: message.unwrap_or_else(|| "(erased)".to_string()),
            fields,
            created_at: row.created_at,
        });
    }
    Ok(lines)
}

/// A log line as stored, its message and fields sealed.
#[derive(Debug, FromRow)]
struct SealedLogLine {
    id: String,
    plugin_version_id: String,
    conversation_id: Option<String>,
    level: String,
    message: String,
    fields: String,
    created_at: i64,
}

/// Where a log line's `column` is sealed.
fn log_at<'a>(column: &'a str, id: &'a str) -> Binding<'a> {
    Binding::new("plugin_logs", column, id)
}
