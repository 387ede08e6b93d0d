//! One identity per person: the `customer_handles` table maps every handle a
//! customer of a business was seen by (phone number, business-scoped user id,
//! web chat account) to one customer, so their pseudonym, conversations and
//! orders stay one across a new number or a withheld one. Handles are looked
//! up by blind index only ([`Db::blind_index`]) and kept sealed under the
//! customer's key.
//!
//! When a webhook links two customers the host knew apart (a business-scoped
//! user id's and a phone number's), the one whose handle moves becomes an
//! alias of the other (the `customer_aliases` table): its handles lead to the
//! customer from then on, and its conversations and orders, which keep its
//! id, are the customer's in their export and erasure ([`aliases_of`]).
//!
//! A customer's id (the pseudonym a plugin sees) is random, minted the first
//! time one of their handles is seen ([`new_customer_id`]): nothing derives it
//! from a handle, so an old pseudonym (in the audit trail, in a webhook the
//! shop kept) leads to no phone number, and a person who comes back after
//! their erasure (their mappings gone) is a new customer with a new pseudonym.

use super::data_keys::KeyOwner;
use super::{Db, StoreResult};
use crate::ids;
use crate::privacy::Binding;

/// A new customer's id: `cus_` and 128 random bits (a version 4 UUID), so it
/// says nothing of the person nor of when they came.
pub fn new_customer_id() -> String {
    format!("cus_{}", uuid::Uuid::new_v4().simple())
}

/// The customer `handle` belongs to in `business_id`: the one its blind index
/// maps to; a customer who wrote before handles were mapped (their customer
/// row keeps the handle's index) is mapped to the id they had; a handle never
/// seen before becomes a new customer's, under a new random id.
pub async fn resolve(db: &Db, business_id: &str, handle: &str) -> StoreResult<String> {
    let index = db.blind_index(business_id, handle).await?;
    if let Some(customer) = customer_of(db, business_id, &index).await? {
        return Ok(customer);
    }
    let fresh = match legacy_customer(db, business_id, &index).await? {
        Some(customer) => customer,
        None => new_customer_id(),
    };
    insert(db, business_id, &index, handle, &fresh).await?;
    // Another node may have mapped it first: its mapping stands.
    Ok(customer_of(db, business_id, &index).await?.unwrap_or(fresh))
}

/// Maps every one of `handles` (one person's, as one webhook carried them:
/// a phone number and a business-scoped user id, or an old number and its
/// new one) to one customer: the customer of the first handle already known,
/// else a new customer. A handle that pointed at another customer is moved,
/// and that customer becomes an alias of this one (with its own aliases): its
/// earlier conversations and orders keep its id and are found through the
/// alias. Returns the customer.
pub async fn link(db: &Db, business_id: &str, handles: &[&str]) -> StoreResult<String> {
    let mut indexes = Vec::with_capacity(handles.len());
    for handle in handles {
        indexes.push(db.blind_index(business_id, handle).await?);
    }
    let mut owner = None;
    for index in &indexes {
        if let Some(customer) = customer_of(db, business_id, index).await? {
            owner = Some(customer);
            break;
        }
    }
    let owner = owner.unwrap_or_else(new_customer_id);
    for (handle, index) in handles.iter().zip(&indexes) {
        match customer_of(db, business_id, index).await? {
            Some(customer) if customer == owner => {}
            Some(other) => {
                // Sealed under the other customer's key: sealed again under the owner's.
                sqlx::query("DELETE FROM customer_handles WHERE business_id = $1 AND handle_index = $2")
                    .bind(business_id)
                    .bind(index)
                    .execute(db.pool())
                    .await?;
                insert(db, business_id, index, handle, &owner).await?;
                merge(db, business_id, &other, &owner).await?;
            }
            None => insert(db, business_id, index, handle, &owner).await?,
        }
    }
    Ok(owner)
}

/// The customer a handle belongs to, if it was ever seen (any business API
/// lookup by handle goes through here).
pub async fn find(db: &Db, business_id: &str, handle: &str) -> StoreResult<Option<String>> {
    let index = db.blind_index(business_id, handle).await?;
    if let Some(customer) = customer_of(db, business_id, &index).await? {
        return Ok(Some(customer));
    }
    legacy_customer(db, business_id, &index).await
}

/// A customer who wrote before handles were mapped, by the index of the
/// handle their customer row keeps (an erased customer's row keeps none).
async fn legacy_customer(db: &Db, business_id: &str, index: &str) -> StoreResult<Option<String>> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM customers WHERE business_id = $1 AND handle_index = $2 ORDER BY id LIMIT 1")
            .bind(business_id)
            .bind(index)
            .fetch_optional(db.pool())
            .await?;
    match found {
        Some(id) => Ok(Some(canonical(db, business_id, &id).await?)),
        None => Ok(None),
    }
}

/// Every handle of a customer, opened (for their export); `None` for one
/// whose key is gone.
pub async fn handles_of(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT handle_index, handle FROM customer_handles WHERE business_id = $1 AND customer_id = $2 \
         ORDER BY created_at, handle_index",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    let mut handles = Vec::with_capacity(rows.len());
    for (index, sealed) in rows {
        let row = row_of(business_id, &index);
        if let Some(handle) = db.open(business_id, handle_at(&row), &sealed).await? {
            handles.push(handle);
        }
    }
    Ok(handles)
}

/// Forgets every handle of a customer (their erasure).
pub async fn delete_customer(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM customer_handles WHERE business_id = $1 AND customer_id = $2")
        .bind(business_id)
        .bind(customer_id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// The customers merged into `customer_id` (see [`link`]), oldest first.
pub async fn aliases_of(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT alias_id FROM customer_aliases WHERE business_id = $1 AND customer_id = $2 ORDER BY created_at, alias_id",
    )
    .bind(business_id)
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?)
}

/// The customer `id` names: the one it was merged into, or itself.
pub async fn canonical(db: &Db, business_id: &str, id: &str) -> StoreResult<String> {
    let merged: Option<String> =
        sqlx::query_scalar("SELECT customer_id FROM customer_aliases WHERE business_id = $1 AND alias_id = $2")
            .bind(business_id)
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(merged.unwrap_or_else(|| id.to_string()))
}

/// Records that `alias` is `customer_id` (one level: `alias`'s own aliases
/// are `customer_id`'s from now on).
async fn merge(db: &Db, business_id: &str, alias: &str, customer_id: &str) -> StoreResult<()> {
    if alias == customer_id {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE customer_aliases SET customer_id = $3 WHERE business_id = $1 AND customer_id = $2")
        .bind(business_id)
        .bind(alias)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO customer_aliases (business_id, alias_id, customer_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (business_id, alias_id) DO UPDATE SET customer_id = excluded.customer_id",
    )
    .bind(business_id)
    .bind(alias)
    .bind(customer_id)
    .bind(ids::now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The customer a handle's index leads to: its mapping's, or the customer
/// that one was merged into.
async fn customer_of(db: &Db, business_id: &str, index: &str) -> StoreResult<Option<String>> {
    let mut conn = db.pool().acquire().await?;
    Ok(customer_of_on(&mut conn, business_id, index).await?.map(|(customer, _)| customer))
}

/// Like `customer_of`, on `conn` (inside the caller's transaction), with
/// whether the customer's row already names this handle (their handle of
/// record: a turn then has nothing to rewrite).
pub(super) async fn customer_of_on(
    conn: &mut sqlx::AnyConnection,
    business_id: &str,
    index: &str,
) -> StoreResult<Option<(String, bool)>> {
    let found: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT COALESCE(a.customer_id, h.customer_id) AS customer_id, \
         (SELECT 1 FROM customers c WHERE c.business_id = h.business_id \
          AND c.id = COALESCE(a.customer_id, h.customer_id) AND c.handle_index = h.handle_index) AS current \
         FROM customer_handles h \
         LEFT JOIN customer_aliases a ON a.business_id = h.business_id AND a.alias_id = h.customer_id \
         WHERE h.business_id = $1 AND h.handle_index = $2",
    )
    .bind(business_id)
    .bind(index)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|(customer, current)| (customer, current.is_some())))
}

async fn insert(db: &Db, business_id: &str, index: &str, handle: &str, customer_id: &str) -> StoreResult<()> {
    let row = row_of(business_id, index);
    let sealed = db.seal(business_id, KeyOwner::Customer(customer_id), handle_at(&row), handle).await?;
    sqlx::query(
        "INSERT INTO customer_handles (business_id, handle_index, customer_id, handle, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (business_id, handle_index) DO NOTHING",
    )
    .bind(business_id)
    .bind(index)
    .bind(customer_id)
    .bind(&sealed)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

fn row_of(business_id: &str, index: &str) -> String {
    format!("{business_id}/{index}")
}

fn handle_at(row: &str) -> Binding<'_> {
    Binding::new("customer_handles", "handle", row)
}
