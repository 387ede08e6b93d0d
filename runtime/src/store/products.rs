//! The catalog: each business's products, read by the API, the plugin's
//! `catalog` capability and the host's own rendering of product cards and carts.
//! Every query is scoped by business id; there is no cross-business read.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::{Business, serialize_time};
use super::{Db, StoreError, StoreResult, Stored, contains_pattern, is_unique_violation};
use crate::ids;

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, FromRow)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: String,
    pub photo_url: Option<String>,
    /// Price in integer minor units of `currency`.
    pub price_minor: i64,
    pub currency: String,
    pub stock: i64,
    pub section: String,
    #[sqlx(try_from = "Stored<i64>")]
    pub available: bool,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub updated_at: i64,
}

/// A product's fields as the business sends them (create or replace).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// The business's own id for the product (letters, digits, `-`, `_`, `.`).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub photo_url: Option<String>,
    /// Price in integer minor units (250 = €2.50; 500 = ¥500).
    pub price_minor: i64,
    /// ISO 4217 code: the shop's currency or one of its extra currencies.
    pub currency: String,
    #[serde(default)]
    pub stock: i64,
    pub section: String,
    #[serde(default = "yes")]
    pub available: bool,
}

/// What search matches: name and description, lowercased here (not by the
/// database, whose LOWER() differs between SQLite and PostgreSQL).
fn search_text(input: &ProductInput) -> String {
    format!("{} {}", input.name.to_lowercase(), input.description.to_lowercase())
}

fn yes() -> bool {
    true
}

const COLUMNS: &str = "id, name, description, photo_url, price_minor, currency, stock, section, available, updated_at";

const INSERT: &str = "INSERT INTO products (business_id, id, name, description, photo_url, price_minor, currency, stock, \
     section, available, created_at, updated_at, search_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)";

/// Binds a product's fields as $1..$12 in the order every product write uses:
/// business id, id, name, description, photo url, price, currency, stock,
/// section, available, time, search text.
fn bind_product<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    business_id: &'q str,
    input: &'q ProductInput,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(business_id)
        .bind(&input.id)
        .bind(&input.name)
        .bind(&input.description)
        .bind(&input.photo_url)
        .bind(input.price_minor)
        .bind(&input.currency)
        .bind(input.stock)
        .bind(&input.section)
        .bind(i64::from(input.available))
        .bind(now)
        .bind(search_text(input))
}

/// Adds a product; a product id the business already uses is a conflict.
pub async fn create(db: &Db, business_id: &str, input: &ProductInput) -> StoreResult<Product> {
    let now = ids::now_ms();
    let result = bind_product(sqlx::query(INSERT), business_id, input, now).execute(db.pool()).await;
    match result {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!("a product with id `{}` already exists", input.id)));
        }
        other => other?,
    };
    get(db, business_id, &input.id).await?.ok_or_else(|| StoreError::Corrupt("created product vanished".into()))
}

/// Creates or replaces every product, all or nothing; for each, true when it
/// was created (false: replaced).
pub async fn upsert_all(db: &Db, business_id: &str, inputs: &[ProductInput]) -> StoreResult<Vec<bool>> {
    let now = ids::now_ms();
    let mut tx = db.pool().begin().await?;
    let mut created = Vec::with_capacity(inputs.len());
    for input in inputs {
        let existed = sqlx::query("SELECT 1 AS one FROM products WHERE business_id = $1 AND id = $2")
            .bind(business_id)
            .bind(&input.id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let upsert = format!(
            "{INSERT} ON CONFLICT (business_id, id) DO UPDATE SET name = excluded.name, description = excluded.description, \
             photo_url = excluded.photo_url, price_minor = excluded.price_minor, currency = excluded.currency, stock = excluded.stock, \
             section = excluded.section, available = excluded.available, updated_at = excluded.updated_at, search_text = excluded.search_text"
        );
        bind_product(sqlx::query(&upsert), business_id, input, now).execute(&mut *tx).await?;
        created.push(!existed);
    }
    tx.commit().await?;
    Ok(created)
}

/// Replaces a product's fields; `None` when the business has no such product.
pub async fn replace(db: &Db, business_id: &str, input: &ProductInput) -> StoreResult<Option<Product>> {
    let done = bind_product(
        sqlx::query(
            "UPDATE products SET name = $3, description = $4, photo_url = $5, price_minor = $6, currency = $7, \
             stock = $8, section = $9, available = $10, updated_at = $11, search_text = $12 WHERE business_id = $1 AND id = $2",
        ),
        business_id,
        input,
        ids::now_ms(),
    )
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get(db, business_id, &input.id).await
}

pub async fn delete(db: &Db, business_id: &str, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM products WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<Product>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM products WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Products of one section, or of the whole catalog, ordered by name.
pub async fn list(
    db: &Db,
    business_id: &str,
    section: Option<&str>,
    offset: u32,
    limit: u32,
) -> StoreResult<Vec<Product>> {
    let products: Vec<Product> = match section {
        Some(section) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM products WHERE business_id = $1 AND section = $2 ORDER BY name, id LIMIT $3 OFFSET $4"
            ))
            .bind(business_id)
            .bind(section)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(db.pool())
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM products WHERE business_id = $1 ORDER BY section, name, id LIMIT $2 OFFSET $3"
            ))
            .bind(business_id)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(db.pool())
            .await?
        }
    };
    Ok(products)
}

/// The sections that have at least one available product, alphabetically.
pub async fn sections(db: &Db, business_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT section FROM products WHERE business_id = $1 AND available = 1 ORDER BY section",
    )
    .bind(business_id)
    .fetch_all(db.pool())
    .await?)
}

/// Products whose name or description contains `query`, case-insensitively.
pub async fn search(db: &Db, business_id: &str, query: &str, limit: u32) -> StoreResult<Vec<Product>> {
    let pattern = contains_pattern(query.trim());
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products WHERE business_id = $1 \
         AND search_text LIKE $2 ESCAPE '\\' \
         ORDER BY name, id LIMIT $3"
    ))
    .bind(business_id)
    .bind(pattern)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// The highest price a product may have, in minor units (10^12: carts of the
/// largest size stay far from overflowing an i64).
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

/// A product input the catalog refuses, naming the first bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProduct {
    /// The id is not in the safe alphabet (`ids::is_safe_id`).
    #[error("id must be 1 to {max} letters, digits, `-`, `_` or `.` (and not `.` or `..`): `{0}`", max = ids::MAX_ID_BYTES)]
    Id(String),
    #[error("{0}")]
    Field(String),
}

impl ProductInput {
    /// Checks a product's fields, naming the first bad one (every caller: the
    /// API, a catalog import, `plugin chat`'s local catalog). The photo URL is
    /// one the host never fetches.
    pub fn check(&self, shop: &Business) -> Result<(), InvalidProduct> {
        let input = self;
        if !ids::is_safe_id(&input.id) {
            return Err(InvalidProduct::Id(input.id.clone()));
        }
        if !(1..=200).contains(&input.name.trim().chars().count()) {
            return Err(InvalidProduct::Field(String::from("name must be 1 to 200 characters")));
        }
        if input.description.chars().count() > 2000 {
            return Err(InvalidProduct::Field(String::from("description must be at most 2000 characters")));
        }
        if let Some(url) = &input.photo_url
            && (!(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048)
        {
            return Err(InvalidProduct::Field(String::from(
                "photo_url must be an http(s) URL of at most 2048 characters",
            )));
        }
        if !(0..=MAX_PRICE_MINOR).contains(&input.price_minor) {
            return Err(InvalidProduct::Field(format!(
                "price_minor must be between 0 and {MAX_PRICE_MINOR} (integer minor units)"
            )));
        }
        let texts = [&input.id, &input.name, &input.description, &input.section, &input.currency];
        if texts.into_iter().chain(input.photo_url.as_ref()).any(|t| t.contains('\0')) {
            return Err(InvalidProduct::Field(String::from("text fields must not contain NUL characters")));
        }
        if !shop.sells_in(&input.currency) {
            let expected = if shop.extra_currencies.is_empty() {
                format!("the shop's currency {}", shop.currency)
            } else {
                format!("one of the shop's currencies {}, {}", shop.currency, shop.extra_currencies.join(", "))
            };
            return Err(InvalidProduct::Field(format!("currency must be {expected}, got `{}`", input.currency)));
        }
        if input.stock < 0 {
            return Err(InvalidProduct::Field(String::from("stock must be zero or more")));
        }
        if !(1..=100).contains(&input.section.trim().chars().count()) {
            return Err(InvalidProduct::Field(String::from("section must be 1 to 100 characters")));
        }
        Ok(())
    }
}
