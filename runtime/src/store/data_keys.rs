//! Data keys (the `data_keys` table) and the one place sealed columns are
//! sealed and opened: [`Db::seal`] and [`Db::open`], which every store
//! module's read and write of customer data or a business secret goes
//! through, and [`Db::blind_index`], the only way a handle is looked up.
//!
//! A key is made on first use (random, wrapped by the node's key-encryption
//! key, inserted once even when two nodes race), unwrapped once per node and
//! kept in the keyring's bounded cache. [`destroy_customer_key`] evicts a
//! customer's key from the cache and deletes it: whatever was sealed under it,
//! wherever a copy lies, never opens again.

use std::sync::Arc;

use sqlx::FromRow;

use super::{Db, StoreError, StoreResult};
use crate::ids;
use crate::privacy::{Binding, DataKey, envelope};

/// Whose a data key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner<'a> {
    /// One customer of the business (by pseudonym): their handles, names,
    /// messages and anything quoting them.
    Customer(&'a str),
    /// The business's own secrets: channel tokens, webhook secrets.
    Secrets,
    /// The key of the business's blind index of handles.
    Index,
}

impl KeyOwner<'_> {
    fn purpose(&self) -> &'static str {
        match self {
            KeyOwner::Customer(_) => "customer",
            KeyOwner::Secrets => "secrets",
            KeyOwner::Index => "index",
        }
    }

    fn owner(&self) -> &str {
        match self {
            KeyOwner::Customer(customer) => customer,
            KeyOwner::Secrets | KeyOwner::Index => "",
        }
    }
}

/// The cache slot of a business's key.
fn slot(business_id: &str, purpose: &str, owner: &str) -> String {
    format!("{business_id}/{purpose}/{owner}")
}

#[derive(Debug, FromRow)]
struct StoredKey {
    id: String,
    purpose: String,
    owner: String,
    wrapped: String,
}

impl Db {
    /// The data key of `owner` in `business_id`, made on first use.
    pub async fn data_key(&self, business_id: &str, owner: KeyOwner<'_>) -> StoreResult<Arc<DataKey>> {
        let slot = slot(business_id, owner.purpose(), owner.owner());
        if let Some(key) = self.keyring().cache().by_slot(&slot) {
            return Ok(key);
        }
        let stored = match self.stored_key(business_id, owner).await? {
            Some(stored) => stored,
            None => {
                let key = DataKey::generate(ids::new_id("dk"))?;
                let wrapped = self.keyring().wrap(&key)?;
                sqlx::query(
                    "INSERT INTO data_keys (id, business_id, purpose, owner, kek_id, wrapped, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (business_id, purpose, owner) DO NOTHING",
                )
                .bind(key.id())
                .bind(business_id)
                .bind(owner.purpose())
                .bind(owner.owner())
                .bind(self.keyring().current_kek_id())
                .bind(&wrapped)
                .bind(ids::now_ms())
                .execute(self.pool())
                .await?;
                // Another node may have made it first: its key is the one.
                self.stored_key(business_id, owner)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("a data key made vanished".into()))?
            }
        };
        let key = Arc::new(self.keyring().unwrap(&stored.id, &stored.wrapped)?);
        self.keyring().cache().insert(&slot, key.clone());
        Ok(key)
    }

    async fn stored_key(&self, business_id: &str, owner: KeyOwner<'_>) -> StoreResult<Option<StoredKey>> {
        Ok(sqlx::query_as(
            "SELECT id, purpose, owner, wrapped FROM data_keys WHERE business_id = $1 AND purpose = $2 AND owner = $3",
        )
        .bind(business_id)
        .bind(owner.purpose())
        .bind(owner.owner())
        .fetch_optional(self.pool())
        .await?)
    }

    /// The data key `key_id` of `business_id`; `None` once it was destroyed.
    async fn data_key_by_id(&self, business_id: &str, key_id: &str) -> StoreResult<Option<Arc<DataKey>>> {
        if let Some(key) = self.keyring().cache().by_id(key_id) {
            return Ok(Some(key));
        }
        let stored: Option<StoredKey> =
            sqlx::query_as("SELECT id, purpose, owner, wrapped FROM data_keys WHERE business_id = $1 AND id = $2")
                .bind(business_id)
                .bind(key_id)
                .fetch_optional(self.pool())
                .await?;
        let Some(stored) = stored else { return Ok(None) };
        let key = Arc::new(self.keyring().unwrap(&stored.id, &stored.wrapped)?);
        self.keyring().cache().insert(&slot(business_id, &stored.purpose, &stored.owner), key.clone());
        Ok(Some(key))
    }

    /// `plaintext` sealed under `owner`'s key for its place `at`, as stored.
    pub async fn seal(
        &self,
        business_id: &str,
        owner: KeyOwner<'_>,
        at: Binding<'_>,
        plaintext: &str,
    ) -> StoreResult<String> {
        let key = self.data_key(business_id, owner).await?;
        seal_with(&key, at, plaintext)
    }

    /// `owner`'s key if this node holds it already (no query): for code
    /// inside a transaction, where fetching a key would need a connection of
    /// its own (SQLite's one connection is the transaction's).
    pub fn cached_data_key(&self, business_id: &str, owner: KeyOwner<'_>) -> Option<Arc<DataKey>> {
        self.keyring().cache().by_slot(&slot(business_id, owner.purpose(), owner.owner()))
    }

    /// The plaintext of a stored value of `business_id` at `at`: `None` when
    /// the key that sealed it was destroyed (the customer was erased). A value
    /// stored before sealing began (not in the sealed format) is read as it is.
    /// A value that does not open in its place (moved from another row,
    /// altered) is an error, never returned.
    pub async fn open(&self, business_id: &str, at: Binding<'_>, stored: &str) -> StoreResult<Option<String>> {
        let Some(key_id) = envelope::sealing_key_id(stored) else {
            return Ok(Some(stored.to_string()));
        };
        let Some(key) = self.data_key_by_id(business_id, key_id).await? else {
            return Ok(None);
        };
        let bytes = envelope::open(&key, at, stored)?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("{}.{} is not text", at.table, at.column)))
    }

    /// [`Db::open`] of a value that must still open (a business's secret; a
    /// destroyed key is corrupt data here).
    pub async fn open_required(&self, business_id: &str, at: Binding<'_>, stored: &str) -> StoreResult<String> {
        self.open(business_id, at, stored)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("{}.{} of {} has no key", at.table, at.column, at.row)))
    }

    /// `handle`'s blind index in `business_id`: what handles are stored and
    /// looked up by (see [`crate::privacy::blind`]).
    pub async fn blind_index(&self, business_id: &str, handle: &str) -> StoreResult<String> {
        let key = self.data_key(business_id, KeyOwner::Index).await?;
        Ok(crate::privacy::blind_index(&key, handle))
    }

    /// A transport's message id as `business_id` keeps it: a keyed hash under
    /// its index key (see [`crate::privacy::message_key`]), since WhatsApp's
    /// ids encode the customer's number. Sends, their statuses, inbound
    /// events and channel charges are matched by it.
    pub async fn message_key(&self, business_id: &str, message_id: &str) -> StoreResult<String> {
        let key = self.data_key(business_id, KeyOwner::Index).await?;
        Ok(crate::privacy::message_key(&key, message_id))
    }
}

/// `plaintext` sealed under `key` for its place `at`, as stored.
pub(crate) fn seal_with(key: &DataKey, at: Binding<'_>, plaintext: &str) -> StoreResult<String> {
    Ok(envelope::seal(key, at, plaintext.as_bytes())?)
}

/// Destroys the data key of `customer_id` in `business_id` (crypto-shredding):
/// evicted from this node's cache first, then deleted. True when there was one.
/// Another node's cache forgets it when the key leaves its bounded cache; until
/// then it could still open that customer's values, which erasure deletes or
/// overwrites in the same step.
pub async fn destroy_customer_key(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<bool> {
    let owner = KeyOwner::Customer(customer_id);
    if let Some(stored) = db.stored_key(business_id, owner).await? {
        db.keyring().cache().evict(&stored.id);
    }
    let deleted = sqlx::query("DELETE FROM data_keys WHERE business_id = $1 AND purpose = $2 AND owner = $3")
        .bind(business_id)
        .bind(owner.purpose())
        .bind(owner.owner())
        .execute(db.pool())
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Deletes the data key of `customer_id` on `conn` (inside the transaction
/// of their erasure); the caller evicts it with [`evict_customer_key`] before
/// and after. True when there was one.
pub(super) async fn delete_customer_key(
    conn: &mut sqlx::AnyConnection,
    business_id: &str,
    customer_id: &str,
) -> StoreResult<bool> {
    let owner = KeyOwner::Customer(customer_id);
    let deleted = sqlx::query("DELETE FROM data_keys WHERE business_id = $1 AND purpose = $2 AND owner = $3")
        .bind(business_id)
        .bind(owner.purpose())
        .bind(owner.owner())
        .execute(&mut *conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Forgets the customer's unwrapped key on this node, if it holds it.
pub(super) fn evict_customer_key(db: &Db, business_id: &str, customer_id: &str) {
    let owner = KeyOwner::Customer(customer_id);
    if let Some(key) = db.keyring().cache().by_slot(&slot(business_id, owner.purpose(), owner.owner())) {
        db.keyring().cache().evict(key.id());
    }
}

/// What a rotation did (or, dry, would do).
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// Data keys in all.
    pub total: u64,
    /// Already wrapped by the current key-encryption key.
    pub current: u64,
    /// Wrapped again (dry: to wrap again).
    pub rewrapped: u64,
    /// Keys that could not be wrapped again, with why (an unknown or wrong
    /// key-encryption key): never their bytes.
    pub failed: Vec<(String, String)>,
}

/// Wraps every data key not wrapped by the node's current key-encryption key
/// again, under it (one conditional update per key, so a key another node
/// changed meanwhile is left as it found it). With `dry_run`, only counts.
pub async fn rewrap_all(db: &Db, dry_run: bool) -> StoreResult<Rotation> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, wrapped FROM data_keys ORDER BY id").fetch_all(db.pool()).await?;
    let mut rotation = Rotation { total: u64::try_from(rows.len()).unwrap_or(u64::MAX), ..Rotation::default() };
    let current = db.keyring().current_kek_id().to_string();
    for (id, wrapped) in rows {
        match db.keyring().rewrap(&id, &wrapped) {
            Ok(None) => rotation.current += 1,
            Ok(Some(_)) if dry_run => rotation.rewrapped += 1,
            Ok(Some(rewrapped)) => {
                let done = sqlx::query("UPDATE data_keys SET kek_id = $2, wrapped = $3 WHERE id = $1 AND wrapped = $4")
                    .bind(&id)
                    .bind(&current)
                    .bind(&rewrapped)
                    .bind(&wrapped)
                    .execute(db.pool())
                    .await?;
                if done.rows_affected() == 1 {
                    rotation.rewrapped += 1;
                } else {
                    rotation.failed.push((id, "changed or deleted meanwhile; run the rotation again".into()));
                }
            }
            Err(e) => rotation.failed.push((id, e.to_string())),
        }
    }
    Ok(rotation)
}

/// How many data keys each key-encryption key wraps (for `bottega keys`).
pub async fn count_by_kek(db: &Db) -> StoreResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as("SELECT kek_id, COUNT(*) FROM data_keys GROUP BY kek_id ORDER BY kek_id")
        .fetch_all(db.pool())
        .await?)
}
