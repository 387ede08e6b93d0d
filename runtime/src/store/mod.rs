//! Storage: one schema for embedded SQLite (the single-node default) and
//! PostgreSQL (many nodes), through sqlx's `Any` driver. Each submodule owns
//! the queries of one table family; nothing outside `store` writes SQL.
//!
//! SQL here is written once for both databases: `$N` parameters, BIGINT times
//! and flags, TEXT ids. Connections are never held across a plugin call.

pub mod api_keys;
mod append_only;
pub mod audit;
pub mod businesses;
pub mod carts;
pub mod channels;
pub mod collection;
pub mod conversations;
pub mod customer_data;
pub mod customer_handles;
pub mod data_keys;
pub mod idempotency;
pub mod images;
pub mod inbound_events;
pub mod invoices;
pub mod kv;
pub mod notes;
pub mod operator_sessions;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod plans;
pub mod plugin_events;
pub mod plugins;
pub mod products;
pub mod queue;
pub mod retention;
pub mod sandbox_charges;
pub mod staff;
pub mod turns;
pub mod usage;
pub mod web_sessions;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor};

use crate::grants::Capability;
use crate::privacy::{KeySource, Keyring};

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
    /// A sealed value did not open, or a key could not be made or unwrapped.
    #[error("sealed data: {0}")]
    Sealing(#[from] crate::privacy::PrivacyError),
    /// The key-encryption key could not be had: the node does not start.
    #[error("{0}")]
    Key(#[from] crate::privacy::KekError),
    /// The embedded database's files could not be made owner-only.
    #[error("cannot make the database files owner-only: {0}")]
    Files(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database the runtime is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A PostgreSQL connection idle for less than this is used without a ping.
const RECENTLY_USED: std::time::Duration = std::time::Duration::from_secs(1);

/// The database: a connection pool plus which backend it is.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Channels as recently read (see [`channels`]).
    channels: std::sync::Arc<channels::Cache>,
    /// The key-encryption key and the cache of unwrapped data keys (see
    /// [`data_keys`]).
    keys: std::sync::Arc<Keyring>,
    /// How many times the pool was used (see [`Db::round_trips`]).
    uses: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Where each use began, while a test records them (see [`Db::record_trips`]).
    trips: std::sync::Arc<TripLog>,
}

/// Where the pool's uses began, kept only while recording is on: a test of
/// the message path names the trips it found, not only their number.
#[derive(Debug, Default)]
struct TripLog {
    on: std::sync::atomic::AtomicBool,
    at: std::sync::Mutex<Vec<&'static std::panic::Location<'static>>>,
}

/// The file of a SQLite database, and whether SQLite creates it when missing.
#[derive(Debug, PartialEq, Eq)]
struct SqliteFile {
    path: PathBuf,
    /// `mode=rwc` (the embedded default): the host creates it first, owner-only.
    created: bool,
}

/// The file a `sqlite:` URL names, read as sqlx reads it (the scheme,
/// `sqlite://` or `sqlite:`, then the path, percent-decoded, up to `?`);
/// `None` for an in-memory database or a path that does not decode.
fn sqlite_file(url: &str) -> Option<SqliteFile> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let modes: Vec<&str> = params.split('&').filter_map(|p| p.strip_prefix("mode=")).collect();
    if database.is_empty() || database == ":memory:" || modes.contains(&"memory") {
        return None;
    }
    Some(SqliteFile { path: PathBuf::from(percent_decoded(database)?), created: modes.contains(&"rwc") })
}

/// `%XX` escapes decoded; `None` when what they spell is not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = if bytes[i] == b'%' {
            text.get(i + 1..i + 3)
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        } else {
            None
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Db {
    /// Connects to `database_url`, or to `bottega.db` in `data_dir` when there is
    /// none, and applies the migrations; the key-encryption key is the
    /// default one (see [`Db::connect_with`]).
    pub async fn connect(database_url: Option<&str>, data_dir: &Path) -> StoreResult<Db> {
        Db::connect_with(database_url, data_dir, &KeySource::Default, None).await
    }

    /// Connects as [`Db::connect`] does, with the key-encryption key `key`
    /// names. SQLite's default key is generated in `data_dir` on first start
    /// (and said so in the log); PostgreSQL needs one named. The embedded
    /// database and its WAL and shared-memory files are owner-only, and SQLite
    /// overwrites what it deletes (`secure_delete`). `previous`, during a
    /// rotation, is the key-encryption key data keys may still be wrapped by.
    pub async fn connect_with(
        database_url: Option<&str>,
        data_dir: &Path,
        key: &KeySource,
        previous: Option<&KeySource>,
    ) -> StoreResult<Db> {
        sqlx::any::install_default_drivers();
        let embedded = data_dir.join("bottega.db");
        let url = match database_url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}?mode=rwc", embedded.display()),
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
        let loaded = crate::privacy::kek::load(key, data_dir, backend == Backend::Sqlite)?;
        let previous = match previous {
            Some(source) => Some(crate::privacy::kek::load(source, data_dir, false)?.kek),
            None => None,
        };
        if let Some(path) = &loaded.generated {
            tracing::warn!(
                path = %path.display(),
                kek = loaded.kek.id(),
                "generated a key-encryption key for the embedded database; keep a copy of it apart from the database (without it nothing sealed can be read), or name your own with --key-file"
            );
        }
        // The SQLite file, the embedded one or the one a `sqlite:` URL names.
        let sqlite = match database_url {
            None => Some(SqliteFile { path: embedded.clone(), created: true }),
            Some(url) if backend == Backend::Sqlite => sqlite_file(url),
            Some(_) => None,
        };
        if let Some(file) = &sqlite {
            // Created owner-only before SQLite opens it: its WAL and
            // shared-memory files take the database file's mode.
            if file.created {
                crate::privacy::files::create_private_file(&file.path)?;
            }
            crate::privacy::files::make_private(&file.path)?;
        }
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
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                                 PRAGMA secure_delete = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            // A connection used within the last second is not pinged before
            // its next use (sqlx's default pings on every acquire: one more
            // round trip per transaction); one idle longer is, so a server
            // restarted meanwhile is found before a statement fails on it.
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for < RECENTLY_USED {
                                return Ok(true);
                            }
                            conn.ping().await?;
                            Ok(true)
                        })
                    })
                    .connect_with(options)
                    .await?
            }
        };
        if let Some(file) = &sqlite {
            // Files an earlier version left readable by others.
            for suffix in ["", "-wal", "-shm"] {
                let mut name = file.path.as_os_str().to_owned();
                name.push(suffix);
                crate::privacy::files::make_private(Path::new(&name))?;
            }
        }
        sqlx::migrate!("./migrations").run(&pool).await?;
        let mut keyring = Keyring::new(loaded.kek, crate::privacy::DEFAULT_CACHED_KEYS);
        if let Some(previous) = previous {
            keyring = keyring.with_previous(previous);
        }
        let keys = std::sync::Arc::new(keyring);
        let db = Db {
            pool,
            backend,
            channels: Default::default(),
            keys,
            uses: Default::default(),
            trips: Default::default(),
        };
        // What portable SQL cannot say: the ledger, finalised invoices and the
        // audit trail refuse changes.
        append_only::install(&db).await?;
        Ok(db)
    }

    /// The pool. Each use is one trip that commits on its own: a statement
    /// outside a transaction, or a transaction begun (its statements ride
    /// on it), so [`round_trips`](Db::round_trips) counts them.
    #[track_caller]
    pub fn pool(&self) -> &AnyPool {
        self.uses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.trips.on.load(std::sync::atomic::Ordering::Relaxed) {
            self.trips.at.lock().unwrap_or_else(|p| p.into_inner()).push(std::panic::Location::caller());
        }
        &self.pool
    }

    /// Starts (or stops) noting where each use of the pool begins; returns
    /// what was noted since the last call, as `file:line` counts, most first.
    pub fn record_trips(&self, on: bool) -> Vec<(String, usize)> {
        self.trips.on.store(on, std::sync::atomic::Ordering::Relaxed);
        let taken = std::mem::take(&mut *self.trips.at.lock().unwrap_or_else(|p| p.into_inner()));
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for at in taken {
            *counts.entry(format!("{}:{}", at.file(), at.line())).or_default() += 1;
        }
        let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// How many times this node used the database so far: statements on
    /// their own plus transactions (each [`pool`](Db::pool) call). The test
    /// of the message path's round trips reads it before and after a message.
    pub fn round_trips(&self) -> u64 {
        self.uses.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn channel_cache(&self) -> &channels::Cache {
        &self.channels
    }

    /// The node's keys: the key-encryption key and the unwrapped data keys.
    pub fn keyring(&self) -> &Keyring {
        &self.keys
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_names_its_file_as_sqlx_reads_it() {
        let file = |path: &str, created: bool| Some(SqliteFile { path: PathBuf::from(path), created });
        assert_eq!(sqlite_file("sqlite:///var/lib/shop.db?mode=rwc"), file("/var/lib/shop.db", true));
        assert_eq!(sqlite_file("sqlite://data/shop.db"), file("data/shop.db", false));
        assert_eq!(sqlite_file("sqlite:shop.db?cache=shared&mode=rwc"), file("shop.db", true));
        assert_eq!(sqlite_file("sqlite:///tmp/a%3Fb.db?mode=ro"), file("/tmp/a?b.db", false));
        assert_eq!(sqlite_file("sqlite:///tmp/100%+x.db"), file("/tmp/100%+x.db", false));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("sqlite://?mode=memory"), None);
        assert_eq!(sqlite_file("sqlite:///tmp/x.db?mode=memory"), None);
    }
}
