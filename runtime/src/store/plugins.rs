//! Plugin versions: every component a business uploads, numbered 1, 2, 3...
//! The uploaded bytes are kept (the source of truth for every node's compiled
//! cache); which version answers is `businesses.active_plugin_version_id`.
//! A version is `compiling` until a node compiled it in the background
//! (`ready`) or found it cannot be (`failed`); compiles are claimed under a
//! lease so one whose node died is taken over.

use serde::Serialize;
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::{Db, StoreError, StoreResult, Stored, is_unique_violation, queue, stored_state};
use crate::grants::Capability;
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PluginVersion {
    pub id: String,
    #[serde(skip)]
    pub business_id: String,
    /// 1 for the first upload of a business, then 2, 3...
    pub version: i64,
    /// SHA-256 of the uploaded component, hex.
    pub sha256: String,
    pub size_bytes: i64,
    /// The contract version the component was built against, e.g. `bottega:shop@1.1.0`.
    pub world: String,
    /// Host capabilities the component imports.
    #[sqlx(try_from = "Stored<String>")]
    pub capabilities: Vec<Capability>,
    /// `compiled` (Rust, C…) or `interpreted` (carries Python's or JavaScript's
    /// runtime): which upload size limit applied.
    pub language_class: String,
    /// `compiling` (in the background, after the upload was accepted), `ready`
    /// (it can be activated and answer), or `failed` (see `failure`).
    #[sqlx(try_from = "String")]
    pub state: VersionState,
    /// Why compiling failed.
    pub failure: Option<String>,
    /// Whether it becomes the active version once ready (the upload's `activate`).
    #[sqlx(try_from = "Stored<i64>")]
    pub activate_when_ready: bool,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "serialize_optional_time")]
    pub ready_at: Option<i64>,
    /// What a fresh instance costs over a reused one, in microseconds:
    /// instantiating it and its first call, less a second call (the fastest of
    /// a few tries, measured when it was compiled); absent until then.
    pub startup_us: Option<i64>,
}

stored_state! {
    /// Where a version stands: compiled in the background after its upload
    /// was accepted, then ready to answer or failed for good. Only
    /// `finish_compile` leaves `compiling`, and only once.
    VersionState("plugin version state") {
        /// Accepted and compiling in the background.
        Compiling = "compiling",
        /// Compiled: it can be activated and answer.
        Ready = "ready",
        /// It cannot be compiled (see the version's `failure`).
        Failed = "failed",
    }
}

/// The state words, for callers that compare with them (`plugin/`).
pub const COMPILING: &str = VersionState::Compiling.as_str();
pub const READY: &str = VersionState::Ready.as_str();
pub const FAILED: &str = VersionState::Failed.as_str();

/// Lets `version.state != plugins::READY` read as before.
impl PartialEq<&str> for VersionState {
    fn eq(&self, word: &&str) -> bool {
        self.as_str() == *word
    }
}

fn serialize_optional_time<S: serde::Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(ms) => serialize_time(ms, serializer),
        None => serializer.serialize_none(),
    }
}

/// What validation learned about an upload.
#[derive(Debug, Clone)]
pub struct NewPluginVersion<'a> {
    pub sha256: &'a str,
    pub world: &'a str,
    pub capabilities: &'a [Capability],
    pub language_class: &'a str,
    pub wasm: &'a [u8],
    pub activate_when_ready: bool,
    /// Until when (ms) the uploading node holds the compile.
    pub compile_lease_until: i64,
    /// Versions of the business that may be compiling at once, this one
    /// included: an upload past it is refused ([`TooManyCompiling`]).
    pub max_compiling: i64,
}

const COLUMNS: &str = "id, business_id, version, sha256, size_bytes, world, capabilities, language_class, state, failure, \
                       activate_when_ready, created_at, ready_at, startup_us";

/// An upload refused because its business already has this many versions
/// compiling, the most [`NewPluginVersion::max_compiling`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyCompiling {
    pub compiling: i64,
}

/// Stores an upload as the business's next version number, `compiling`,
/// unless the business already has `new.max_compiling` versions compiling.
/// The business's row is locked first (a row lock on PostgreSQL, the write
/// lock on SQLite), so two uploads of one business are counted and numbered
/// one after the other, on any number of nodes.
pub async fn insert(
    db: &Db,
    business_id: &str,
    new: NewPluginVersion<'_>,
) -> StoreResult<Result<PluginVersion, TooManyCompiling>> {
    let id = ids::new_id("pv");
    let mut tx = db.pool().begin().await?;
    let locked = sqlx::query("UPDATE businesses SET plugin_trips = plugin_trips WHERE id = $1")
        .bind(business_id)
        .execute(&mut *tx)
        .await?;
    if locked.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(StoreError::Corrupt(format!("business {business_id} vanished while uploading a plugin")));
    }
    let compiling: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM plugin_versions WHERE business_id = $1 AND state = $2")
            .bind(business_id)
            .bind(VersionState::Compiling.as_str())
            .fetch_one(&mut *tx)
            .await?;
    if compiling >= new.max_compiling {
        tx.rollback().await?;
        return Ok(Err(TooManyCompiling { compiling }));
    }
    let result = sqlx::query(
        "INSERT INTO plugin_versions (id, business_id, version, sha256, size_bytes, world, capabilities, wasm, created_at, \
         state, language_class, activate_when_ready, compile_lease_until, compile_attempts) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(version), 0) + 1 FROM plugin_versions WHERE business_id = $2), \
         $3, $4, $5, $6, $7, $8, $12, $9, $10, $11, 1)",
    )
    .bind(&id)
    .bind(business_id)
    .bind(new.sha256)
    .bind(i64::try_from(new.wasm.len()).unwrap_or(i64::MAX))
    .bind(new.world)
    .bind(new.capabilities.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","))
    .bind(new.wasm.to_vec())
    .bind(ids::now_ms())
    .bind(new.language_class)
    .bind(i64::from(new.activate_when_ready))
    .bind(new.compile_lease_until)
    .bind(VersionState::Compiling.as_str())
    .execute(&mut *tx)
    .await;
    match result {
        // Numbers are taken under the business's lock, so this is not a race.
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Corrupt(format!("plugin version number taken twice: {e}")));
        }
        other => other?,
    };
    tx.commit().await?;
    let version =
        get(db, business_id, &id).await?.ok_or_else(|| StoreError::Corrupt("stored plugin vanished".into()))?;
    Ok(Ok(version))
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<PluginVersion>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM plugin_versions WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// A business's versions, newest first.
pub async fn list(db: &Db, business_id: &str) -> StoreResult<Vec<PluginVersion>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM plugin_versions WHERE business_id = $1 ORDER BY version DESC"))
        .bind(business_id)
        .fetch_all(db.pool())
        .await?)
}

/// Any business's version by id with its uploaded bytes (for the compiler
/// and the loader, which are not callers): what the upload's one inspection
/// recorded, and what to compile.
pub async fn find_with_wasm(db: &Db, id: &str) -> StoreResult<Option<(PluginVersion, Vec<u8>)>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS}, wasm FROM plugin_versions WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| Ok((PluginVersion::from_row(&row)?, row.try_get("wasm")?))).transpose()
}

/// Any business's version by id (for the compiler, which is not a caller).
pub async fn find(db: &Db, id: &str) -> StoreResult<Option<PluginVersion>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM plugin_versions WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Claims a compile whose lease ended (its node died, or this node
/// restarted), leasing it until `lease_until`: its id and how many times it
/// has now been claimed, the upload's own compile included.
pub async fn claim_abandoned_compile(db: &Db, now: i64, lease_until: i64) -> StoreResult<Option<(String, i64)>> {
    let sql = format!(
        "UPDATE plugin_versions SET compile_lease_until = $2, compile_attempts = compile_attempts + 1 WHERE id IN \
         (SELECT id FROM plugin_versions WHERE state = 'compiling' AND compile_lease_until <= $1 \
          ORDER BY compile_lease_until LIMIT 1{}) RETURNING id, compile_attempts",
        queue::skip_locked(db, None)
    );
    Ok(sqlx::query_as(&sql).bind(now).bind(lease_until).fetch_optional(db.pool()).await?)
}

/// Keeps a compile's lease while it runs.
pub async fn renew_compile_lease(db: &Db, id: &str, lease_until: i64) -> StoreResult<()> {
    sqlx::query("UPDATE plugin_versions SET compile_lease_until = $2 WHERE id = $1 AND state = 'compiling'")
        .bind(id)
        .bind(lease_until)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A business chose which version answers: versions still compiling no
/// longer activate themselves when ready.
pub async fn cancel_pending_activations(db: &Db, business_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE plugin_versions SET activate_when_ready = 0 WHERE business_id = $1 AND state = 'compiling'")
        .bind(business_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Records a version's startup cost, in microseconds, unless a node already
/// did: the first figure is the one every node goes by.
pub async fn record_startup(db: &Db, id: &str, micros: i64) -> StoreResult<()> {
    sqlx::query("UPDATE plugin_versions SET startup_us = $2 WHERE id = $1 AND startup_us IS NULL")
        .bind(id)
        .bind(micros)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A version's startup cost, in microseconds, if a node measured it.
pub async fn startup_us(db: &Db, id: &str) -> StoreResult<Option<i64>> {
    let startup: Option<Option<i64>> = sqlx::query_scalar("SELECT startup_us FROM plugin_versions WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(startup.flatten())
}

/// Records the end of a compile: `failure` is `None` when it is ready. Only a
/// version still compiling changes (a compile taken over and finished twice
/// records the first outcome). True when this call recorded it.
pub async fn finish_compile(db: &Db, id: &str, failure: Option<&str>) -> StoreResult<bool> {
    let state = if failure.is_some() { VersionState::Failed } else { VersionState::Ready };
    let done = sqlx::query(
        "UPDATE plugin_versions SET state = $2, failure = $3, ready_at = $4 WHERE id = $1 AND state = 'compiling'",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(failure)
    .bind(failure.is_none().then(ids::now_ms))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}
