//! Businesses: the tenants of a Bottega node. Each has an API key (stored only
//! as a hash), the capabilities and limits
//! its plugins run with, and the state of its plugin's circuit breaker.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::{Db, StoreError, StoreResult, Stored, audit};
use crate::automations::Automations;
use crate::grants::{Capability, PluginLimits};
use crate::ids;

/// A business as stored. (Its `pseudonym_key` column is retired: pseudonyms
/// are random, see [`super::customer_handles::new_customer_id`]; new
/// businesses store it empty.)
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Business {
    pub id: String,
    pub name: String,
    /// The shop's ISO 4217 currency.
    pub currency: String,
    /// Other currencies its products may be priced in (a cart holds one).
    #[sqlx(try_from = "Stored<String>")]
    pub extra_currencies: Vec<String>,
    /// Default BCP 47 locale of conversations.
    pub locale: String,
    /// Capabilities the business's plugins may import.
    #[sqlx(try_from = "Stored<String>")]
    pub capabilities: Vec<Capability>,
    #[sqlx(try_from = "String")]
    pub limits: PluginLimits,
    pub active_plugin_version_id: Option<String>,
    /// Why the circuit breaker disabled the active plugin, if it did.
    pub plugin_disabled_reason: Option<String>,
    pub plugin_consecutive_failures: i64,
    /// Bytes used in the key-value store.
    pub kv_bytes: i64,
    /// Greeting, away message, quick replies and handoff words, if set.
    #[sqlx(try_from = "Stored<Option<String>>")]
    pub automations: Option<Automations>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
    /// When the operator suspended the business (its API refused, its bot
    /// silent); `null` when it is not suspended.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "serialize_optional_time")]
    pub suspended_at: Option<i64>,
}

/// What a new business is created with.
#[derive(Debug, Clone)]
pub struct NewBusiness {
    pub name: String,
    pub currency: String,
    pub extra_currencies: Vec<String>,
    pub locale: String,
    pub capabilities: Vec<Capability>,
    pub limits: PluginLimits,
}

impl NewBusiness {
    /// A one-currency, English-speaking business whose plugins may import every
    /// capability, with default limits: what the demo seed and the benchmarks
    /// create. The admin API sets each field from the operator's request.
    pub fn with_every_capability(name: impl Into<String>, currency: &str) -> NewBusiness {
        NewBusiness {
            name: name.into(),
            currency: currency.to_string(),
            extra_currencies: Vec::new(),
            locale: "en".into(),
            capabilities: Capability::ALL.to_vec(),
            limits: PluginLimits::default(),
        }
    }
}

/// Settings an operator can change later; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct BusinessChanges {
    pub name: Option<String>,
    pub extra_currencies: Option<Vec<String>>,
    pub locale: Option<String>,
    pub capabilities: Option<Vec<Capability>>,
    pub limits: Option<PluginLimits>,
}

pub(crate) fn serialize_time<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ids::rfc3339(*ms))
}

fn serialize_optional_time<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&ids::rfc3339(*ms)),
        None => s.serialize_none(),
    }
}

const COLUMNS: &str = "id, name, currency, extra_currencies, locale, capabilities, limits, active_plugin_version_id, \
     plugin_disabled_reason, plugin_consecutive_failures, kv_bytes, created_at, automations, suspended_at";

/// A business's automations as stored: JSON, or NULL when it has none.
impl TryFrom<Stored<Option<String>>> for Option<Automations> {
    type Error = String;

    fn try_from(json: Stored<Option<String>>) -> Result<Option<Automations>, String> {
        json.0.map(|json| serde_json::from_str(&json)).transpose().map_err(|e| format!("business automations: {e}"))
    }
}

impl Business {
    /// Whether products of this shop may be priced in `currency`.
    pub fn sells_in(&self, currency: &str) -> bool {
        self.currency == currency || self.extra_currencies.iter().any(|c| c == currency)
    }
}

fn join_capabilities(capabilities: &[Capability]) -> String {
    capabilities.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
}

fn limits_json(limits: &PluginLimits) -> StoreResult<String> {
    serde_json::to_string(limits).map_err(|e| StoreError::Corrupt(format!("business limits: {e}")))
}

/// Creates a business and returns it with its API key, which is not stored and
/// cannot be shown again.
pub async fn create(db: &Db, new: NewBusiness) -> StoreResult<(Business, String)> {
    let id = ids::new_id("biz");
    let api_key = ids::new_secret("bk");
    sqlx::query(
        "INSERT INTO businesses (id, name, currency, locale, api_key_hash, pseudonym_key, capabilities, limits, created_at, \
         extra_currencies) VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&new.name)
    .bind(&new.currency)
    .bind(&new.locale)
    .bind(ids::hash_secret(&api_key))
    .bind(join_capabilities(&new.capabilities))
    .bind(limits_json(&new.limits)?)
    .bind(ids::now_ms())
    .bind(new.extra_currencies.join(","))
    .execute(db.pool())
    .await?;
    let business = get(db, &id).await?.ok_or_else(|| StoreError::Corrupt("created business vanished".into()))?;
    Ok((business, api_key))
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<Business>> {
    let mut conn = db.pool().acquire().await?;
    get_on(&mut conn, id).await
}

/// Like [`get`], on `conn` (inside the caller's transaction).
pub(super) async fn get_on(conn: &mut sqlx::AnyConnection, id: &str) -> StoreResult<Option<Business>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM businesses WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The business an API key belongs to.
pub async fn by_api_key(db: &Db, api_key: &str) -> StoreResult<Option<Business>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM businesses WHERE api_key_hash = $1"))
        .bind(ids::hash_secret(api_key))
        .fetch_optional(db.pool())
        .await?)
}

pub async fn list(db: &Db) -> StoreResult<Vec<Business>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM businesses ORDER BY created_at, id"))
        .fetch_all(db.pool())
        .await?)
}

/// Suspends business `id` (`suspended`) or resumes it; returns it as it
/// stands, `None` when there is no such business. Suspending one already
/// suspended keeps when it was first suspended.
pub async fn set_suspended(db: &Db, id: &str, suspended: bool) -> StoreResult<Option<Business>> {
    if suspended {
        sqlx::query("UPDATE businesses SET suspended_at = $2 WHERE id = $1 AND suspended_at IS NULL")
            .bind(id)
            .bind(ids::now_ms())
            .execute(db.pool())
            .await?;
    } else {
        sqlx::query("UPDATE businesses SET suspended_at = NULL WHERE id = $1").bind(id).execute(db.pool()).await?;
    }
    get(db, id).await
}

pub async fn count(db: &Db) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) AS n FROM businesses").fetch_one(db.pool()).await?)
}

pub async fn update(db: &Db, id: &str, changes: BusinessChanges) -> StoreResult<Option<Business>> {
    let Some(current) = get(db, id).await? else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE businesses SET name = $2, locale = $3, capabilities = $4, limits = $5, extra_currencies = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(changes.name.unwrap_or(current.name))
    .bind(changes.locale.unwrap_or(current.locale))
    .bind(join_capabilities(&changes.capabilities.unwrap_or(current.capabilities)))
    .bind(limits_json(&changes.limits.unwrap_or(current.limits))?)
    .bind(changes.extra_currencies.unwrap_or(current.extra_currencies).join(","))
    .execute(db.pool())
        .await?;
    get(db, id).await
}

/// Replaces a business's automations (`None` removes them).
pub async fn set_automations(db: &Db, id: &str, automations: Option<&Automations>) -> StoreResult<()> {
    let json = automations.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("UPDATE businesses SET automations = $2 WHERE id = $1").bind(id).bind(json).execute(db.pool()).await?;
    Ok(())
}

/// Replaces a business's API key; the old one stops working at once.
pub async fn rotate_api_key(db: &Db, id: &str) -> StoreResult<Option<String>> {
    let api_key = ids::new_secret("bk");
    let done = sqlx::query("UPDATE businesses SET api_key_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(ids::hash_secret(&api_key))
        .execute(db.pool())
        .await?;
    if done.rows_affected() == 1 {
        let entry = audit::Entry {
            business_id: id,
            actor: "operator",
            action: "secret.changed",
            subject: "api_key",
            outcome: "ok",
        };
        audit::append(db, entry).await?;
    }
    Ok((done.rows_affected() == 1).then_some(api_key))
}

/// Makes `version_id` the plugin that answers, and closes the circuit breaker.
pub async fn activate_plugin(db: &Db, business_id: &str, version_id: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE businesses SET active_plugin_version_id = $2, plugin_disabled_reason = NULL, \
         plugin_consecutive_failures = 0 WHERE id = $1",
    )
    .bind(business_id)
    .bind(version_id)
    .execute(db.pool())
    .await?;
    audit_activation(db, business_id, version_id).await
}

/// Records an activation in the business's audit trail.
async fn audit_activation(db: &Db, business_id: &str, version_id: &str) -> StoreResult<()> {
    let entry =
        audit::Entry { business_id, actor: "business", action: "plugin.activated", subject: version_id, outcome: "ok" };
    audit::append(db, entry).await
}

/// Makes a version that just finished compiling the active one, unless the
/// business activated a newer version meanwhile. True when it did.
pub async fn activate_plugin_unless_newer(db: &Db, business_id: &str, version_id: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE businesses SET active_plugin_version_id = $2, plugin_disabled_reason = NULL, \
         plugin_consecutive_failures = 0 WHERE id = $1 AND (active_plugin_version_id IS NULL OR \
         (SELECT version FROM plugin_versions WHERE id = businesses.active_plugin_version_id) < \
         (SELECT version FROM plugin_versions WHERE id = $2))",
    )
    .bind(business_id)
    .bind(version_id)
    .execute(db.pool())
    .await?;
    let activated = done.rows_affected() == 1;
    if activated {
        audit_activation(db, business_id, version_id).await?;
    }
    Ok(activated)
}

/// Counts one more consecutive failure of the active plugin `version_id`, and
/// disables it with `reason` once `threshold` is reached. Returns true when this
/// failure disabled the plugin.
pub async fn record_plugin_failure(
    db: &Db,
    business_id: &str,
    version_id: &str,
    threshold: u32,
    reason: &str,
) -> StoreResult<bool> {
    let failures: Option<i64> = sqlx::query_scalar(
        "UPDATE businesses SET plugin_consecutive_failures = plugin_consecutive_failures + 1 \
         WHERE id = $1 AND active_plugin_version_id = $2 RETURNING plugin_consecutive_failures",
    )
    .bind(business_id)
    .bind(version_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(failures) = failures else { return Ok(false) };
    if failures < i64::from(threshold) {
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE businesses SET plugin_disabled_reason = $3 \
         WHERE id = $1 AND active_plugin_version_id = $2 AND plugin_disabled_reason IS NULL",
    )
    .bind(business_id)
    .bind(version_id)
    .bind(format!("disabled after {failures} consecutive failures; last: {reason}"))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A successful call ends a run of failures.
pub async fn reset_plugin_failures(db: &Db, business_id: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE businesses SET plugin_consecutive_failures = 0 WHERE id = $1 AND plugin_consecutive_failures <> 0",
    )
    .bind(business_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How long a run of circuit-breaker trips lasts: a trip more than this long
/// after the previous one starts a new run (counted from 1).
pub const TRIP_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The circuit breaker's record of a business: how many times it stopped the
/// business's plugin in the current run of trips, and when it last did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginTrips {
    /// Trips in the current run (none more than [`TRIP_WINDOW_MS`] after the one before).
    pub count: i64,
    /// When the breaker last stopped the plugin (ms), if it ever did.
    pub last_at: Option<i64>,
}

/// Records that the circuit breaker stopped the business's plugin at `now`:
/// one more trip in the current run, or the first of a new run when the last
/// trip was [`TRIP_WINDOW_MS`] or longer ago. Called once per trip, when
/// [`record_plugin_failure`] answered true. Returns the record as it now is.
pub async fn record_plugin_trip(db: &Db, business_id: &str, now: i64) -> StoreResult<PluginTrips> {
    let row = sqlx::query(
        "UPDATE businesses SET plugin_trips = CASE WHEN plugin_last_trip_at IS NOT NULL AND plugin_last_trip_at > $3 \
         THEN plugin_trips + 1 ELSE 1 END, plugin_last_trip_at = $2 WHERE id = $1 \
         RETURNING plugin_trips, plugin_last_trip_at",
    )
    .bind(business_id)
    .bind(now)
    .bind(now.saturating_sub(TRIP_WINDOW_MS))
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(trips_from_row).transpose().map(Option::unwrap_or_default)
}

/// The circuit breaker's record of a business (nothing for an unknown one).
pub async fn plugin_trips(db: &Db, business_id: &str) -> StoreResult<PluginTrips> {
    let row = sqlx::query("SELECT plugin_trips, plugin_last_trip_at FROM businesses WHERE id = $1")
        .bind(business_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(trips_from_row).transpose().map(Option::unwrap_or_default)
}

fn trips_from_row(row: &sqlx::any::AnyRow) -> StoreResult<PluginTrips> {
    Ok(PluginTrips {
        count: sqlx::Row::try_get(row, "plugin_trips")?,
        last_at: sqlx::Row::try_get(row, "plugin_last_trip_at")?,
    })
}
