//! Plugin versions: every component a business uploads, numbered 1, 2, 3...
//! The uploaded bytes are kept (the source of truth for every node's compiled
//! cache); which version answers is `businesses.active_plugin_version_id`.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::{Db, StoreError, StoreResult, is_unique_violation, split_list};
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginVersion {
    pub id: String,
    /// 1 for the first upload of a business, then 2, 3...
    pub version: i64,
    /// SHA-256 of the uploaded component, hex.
    pub sha256: String,
    pub size_bytes: i64,
    /// The contract version the component was built against, e.g. `bottega:shop@1.0.0`.
    pub world: String,
    /// Host capabilities the component imports.
    pub capabilities: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

/// What validation learned about an upload.
#[derive(Debug, Clone)]
pub struct NewPluginVersion<'a> {
    pub sha256: &'a str,
    pub world: &'a str,
    pub capabilities: &'a [String],
    pub wasm: &'a [u8],
}

const COLUMNS: &str = "id, version, sha256, size_bytes, world, capabilities, created_at";

fn from_row(row: &AnyRow) -> StoreResult<PluginVersion> {
    Ok(PluginVersion {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        size_bytes: row.try_get("size_bytes")?,
        world: row.try_get("world")?,
        capabilities: split_list(&row.try_get::<String, _>("capabilities")?),
        created_at: row.try_get("created_at")?,
    })
}

/// Stores an upload as the business's next version number.
pub async fn insert(db: &Db, business_id: &str, new: NewPluginVersion<'_>) -> StoreResult<PluginVersion> {
    let id = ids::new_id("pv");
    // Two uploads racing for the same number: the loser takes the next one.
    for _ in 0..3 {
        let result = sqlx::query(
            "INSERT INTO plugin_versions (id, business_id, version, sha256, size_bytes, world, capabilities, wasm, created_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(version), 0) + 1 FROM plugin_versions WHERE business_id = $2), $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(business_id)
        .bind(new.sha256)
        .bind(i64::try_from(new.wasm.len()).unwrap_or(i64::MAX))
        .bind(new.world)
        .bind(new.capabilities.join(","))
        .bind(new.wasm.to_vec())
        .bind(ids::now_ms())
        .execute(db.pool())
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => continue,
            other => other?,
        };
        return get(db, business_id, &id).await?.ok_or_else(|| StoreError::Corrupt("stored plugin vanished".into()));
    }
    Err(StoreError::Conflict("too many concurrent uploads; try again".into()))
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<PluginVersion>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM plugin_versions WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A business's versions, newest first.
pub async fn list(db: &Db, business_id: &str) -> StoreResult<Vec<PluginVersion>> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM plugin_versions WHERE business_id = $1 ORDER BY version DESC"))
            .bind(business_id)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(from_row).collect()
}

/// The uploaded bytes of a version.
pub async fn wasm(db: &Db, id: &str) -> StoreResult<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT wasm FROM plugin_versions WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    row.map(|row| Ok(row.try_get("wasm")?)).transpose()
}
