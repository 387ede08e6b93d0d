//! Storage: one schema for embedded SQLite (the single-node default) and
//! PostgreSQL (many nodes), through sqlx's `Any` driver. Each submodule owns
//! the queries of one table family; nothing outside `store` writes SQL.
//!
//! SQL here is written once for both databases: `$N` parameters, BIGINT times
//! and flags, TEXT ids. Connections are never held across a plugin call.

pub mod api_keys;
pub mod businesses;
pub mod carts;
pub mod channels;
pub mod collection;
pub mod conversations;
pub mod idempotency;
pub mod images;
pub mod inbound_events;
pub mod invoices;
pub mod kv;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod plans;
pub mod plugin_events;
pub mod plugins;
pub mod products;
pub mod queue;
pub mod sandbox_charges;
pub mod staff;
pub mod usage;
pub mod web_sessions;
pub mod webhooks;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

use crate::grants::Capability;

/// Errors from the storage layer. Constraint violations whose meaning is known
/// are translated where they happen (see [`StoreError::Conflict`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A uniqueness rule was broken; the message names what already exists.
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database the runtime is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a connection pool plus which backend it is.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Channels as recently read (see [`channels`]).
    channels: std::sync::Arc<channels::Cache>,
}

impl Db {
    /// Connects to `database_url`, or to `bottega.db` in `data_dir` when there is
    /// none, and applies the migrations.
    pub async fn connect(database_url: Option<&str>, data_dir: &Path) -> StoreResult<Db> {
        sqlx::any::install_default_drivers();
        let url = match database_url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}?mode=rwc", data_dir.join("bottega.db").display()),
        };
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "DATABASE_URL must start with postgres:// or sqlite:".into(),
            )));
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = match backend {
            // SQLite allows one writer at a time; one connection (in WAL mode)
            // serializes access instead of failing with "database is locked".
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(16).connect_with(options).await?,
        };
        sqlx::migrate!("./migrations").run(&pool).await?;
        let db = Db { pool, backend, channels: Default::default() };
        // What portable SQL cannot say: finalised invoices refuse changes.
        invoices::install_immutability(&db).await?;
        Ok(db)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn channel_cache(&self) -> &channels::Cache {
        &self.channels
    }

    /// Closes every connection; used on shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// True when `error` is a unique-constraint violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Splits a comma-separated list column.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A column as stored: `Stored<String>` (TEXT), `Stored<i64>` (a BIGINT
/// flag), `Stored<Option<String>>` (nullable TEXT). Rows decode through it
/// (`#[sqlx(try_from = "Stored<String>")]`) into the types this crate does not
/// own and so cannot give a `TryFrom<String>`: a flag into `bool`, a
/// comma-separated list into a `Vec`, JSON text into a `serde_json::Value`.
/// Types the crate owns (`Handling`, `PluginLimits`…) decode with
/// `#[sqlx(try_from = "String")]` instead.
#[derive(Debug, Clone)]
pub struct Stored<T>(pub T);

impl<T: sqlx::Type<Any>> sqlx::Type<Any> for Stored<T> {
    fn type_info() -> AnyTypeInfo {
        T::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        T::compatible(ty)
    }
}

impl<'r, T: sqlx::Decode<'r, Any>> sqlx::Decode<'r, Any> for Stored<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        T::decode(value).map(Stored)
    }
}

/// A 0/1 flag (any value but 0 is set).
impl From<Stored<i64>> for bool {
    fn from(flag: Stored<i64>) -> bool {
        flag.0 != 0
    }
}

/// A comma-separated list.
impl From<Stored<String>> for Vec<String> {
    fn from(list: Stored<String>) -> Vec<String> {
        split_list(&list.0)
    }
}

/// A comma-separated list of capability names.
impl TryFrom<Stored<String>> for Vec<Capability> {
    type Error = String;

    fn try_from(list: Stored<String>) -> Result<Vec<Capability>, String> {
        split_list(&list.0).iter().map(|c| c.parse::<Capability>()).collect()
    }
}

/// JSON text this module wrote.
impl TryFrom<Stored<String>> for serde_json::Value {
    type Error = String;

    fn try_from(json: Stored<String>) -> Result<serde_json::Value, String> {
        serde_json::from_str(&json.0).map_err(|e| format!("stored JSON: {e}"))
    }
}

pub(crate) use crate::domain::stored_state;

/// Whether `text` could be stored, and so match anything stored: no stored
/// text holds a NUL (every boundary refuses one; PostgreSQL cannot keep it),
/// so a lookup by a text that holds one finds nothing, on either database,
/// without asking.
pub(crate) fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// A `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` escaped
/// (queries use `ESCAPE '\'`).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
