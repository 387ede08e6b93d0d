//! Machine API keys with a scope, stored only as their hash. The business's
//! own key (on `businesses`) stays a full key; these are the lesser ones an
//! owner or admin gives an integration. Making and revoking one is recorded
//! in the business's audit trail (`secret.changed`).

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::{self, Business, serialize_time};
use super::{Db, StoreError, StoreResult, audit};
use crate::domain::staff::Scope;
use crate::ids;

/// A machine key as shown (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct ApiKey {
    pub id: String,
    /// What the key is for, as its creator named it.
    pub name: String,
    #[sqlx(try_from = "String")]
    pub scope: Scope,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, scope, created_at";

/// Creates a key; returns it with its secret, which is not stored and cannot be shown again.
pub async fn create(db: &Db, business_id: &str, name: &str, scope: Scope) -> StoreResult<(ApiKey, String)> {
    let id = ids::new_id("key");
    let secret = ids::new_secret("mk");
    let now = ids::now_ms();
    sqlx::query(
        "INSERT INTO api_keys (id, business_id, name, scope, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(business_id)
    .bind(name)
    .bind(scope.as_str())
    .bind(ids::hash_secret(&secret))
    .bind(now)
    .execute(db.pool())
    .await?;
    let subject = format!("machine_key {id} created");
    let entry =
        audit::Entry { business_id, actor: "business", action: "secret.changed", subject: &subject, outcome: "ok" };
    audit::append(db, entry).await?;
    Ok((ApiKey { id, name: name.to_string(), scope, created_at: now }, secret))
}

/// The business's live keys, oldest first.
pub async fn list(db: &Db, business_id: &str) -> StoreResult<Vec<ApiKey>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE business_id = $1 AND revoked_at IS NULL ORDER BY created_at, id"
    ))
    .bind(business_id)
    .fetch_all(db.pool())
    .await?)
}

/// Revokes a key; true when it was live.
pub async fn revoke(db: &Db, business_id: &str, id: &str) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND business_id = $2 AND revoked_at IS NULL")
            .bind(id)
            .bind(business_id)
            .bind(ids::now_ms())
            .execute(db.pool())
            .await?;
    if done.rows_affected() == 1 {
        let subject = format!("machine_key {id} revoked");
        let entry =
            audit::Entry { business_id, actor: "business", action: "secret.changed", subject: &subject, outcome: "ok" };
        audit::append(db, entry).await?;
    }
    Ok(done.rows_affected() == 1)
}

/// The business a key opens and the key's scope: the business's own key is
/// [`Scope::Full`]; a machine key has its own.
pub async fn authenticate(db: &Db, key: &str) -> StoreResult<Option<(Business, Scope)>> {
    if let Some(business) = businesses::by_api_key(db, key).await? {
        return Ok(Some((business, Scope::Full)));
    }
    #[derive(FromRow)]
    struct Row {
        business_id: String,
        #[sqlx(try_from = "String")]
        scope: Scope,
    }
    let row: Option<Row> =
        sqlx::query_as("SELECT business_id, scope FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(ids::hash_secret(key))
            .fetch_optional(db.pool())
            .await?;
    let Some(row) = row else { return Ok(None) };
    let business = businesses::get(db, &row.business_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("an API key's business vanished".into()))?;
    Ok(Some((business, row.scope)))
}
