//! Plans, their versions, which business is on which plan, and channel rate
//! cards with their prices. Versions are only ever added (a new version is a
//! new row with the next number); nothing here edits or removes one, so an
//! invoice's `priced_by` always names a version that still says what it said.
//! Which version applies when is decided in `billing::plans`.

use serde::Serialize;
use sqlx::{AnyConnection, FromRow};
use utoipa::ToSchema;

use super::{Db, StoreError, StoreResult, is_unique_violation};
use crate::domain::billing::PlanTerms;
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PlanVersion {
    /// `plv_...`: what an invoice line's `priced_by` names.
    pub id: String,
    pub plan_id: String,
    pub version: i64,
    /// From when (ms since the epoch) it prices periods that start after it.
    pub effective_from: i64,
    pub currency: String,
    #[sqlx(try_from = "String")]
    pub terms: PlanTerms,
    pub created_at: i64,
}

const VERSION_COLUMNS: &str = "id, plan_id, version, effective_from, currency, terms, created_at";

/// Adds a version of plan `plan_id` (creating the plan, named `name`, if it
/// is new), numbered after the plan's last one.
pub async fn add_version(
    db: &Db,
    plan_id: &str,
    name: &str,
    effective_from: i64,
    currency: &str,
    terms: &PlanTerms,
) -> StoreResult<PlanVersion> {
    let now = ids::now_ms();
    let terms = serde_json::to_string(terms).map_err(|e| StoreError::Corrupt(format!("plan terms: {e}")))?;
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO billing_plans (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
        .bind(plan_id)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM billing_plan_versions WHERE plan_id = $1")
        .bind(plan_id)
        .fetch_one(&mut *tx)
        .await?;
    let inserted = sqlx::query_as(&format!(
        "INSERT INTO billing_plan_versions (id, plan_id, version, effective_from, currency, terms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {VERSION_COLUMNS}"
    ))
    .bind(ids::new_id("plv"))
    .bind(plan_id)
    .bind(last.unwrap_or(0) + 1)
    .bind(effective_from)
    .bind(currency)
    .bind(terms)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let version: PlanVersion = match inserted {
        Ok(version) => version,
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!("plan `{plan_id}` got another version meanwhile; try again")));
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(version)
}

/// Every version of every plan, by plan and number.
pub async fn versions(db: &Db) -> StoreResult<Vec<PlanVersion>> {
    Ok(sqlx::query_as(&format!("SELECT {VERSION_COLUMNS} FROM billing_plan_versions ORDER BY plan_id, version"))
        .fetch_all(db.pool())
        .await?)
}

/// The versions of one plan, oldest first.
pub async fn versions_of(conn: &mut AnyConnection, plan_id: &str) -> StoreResult<Vec<PlanVersion>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM billing_plan_versions WHERE plan_id = $1 ORDER BY version"
    ))
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn plan_exists(db: &Db, plan_id: &str) -> StoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM billing_plans WHERE id = $1")
        .bind(plan_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(found.is_some())
}

/// A business's plan from a time on, with its tax rate.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Assignment {
    pub id: String,
    pub business_id: String,
    pub plan_id: String,
    pub effective_from: i64,
    /// Tax on the invoice, basis points (2000 = 20 %).
    pub tax_rate_bps: i64,
    /// What the tax line says (`VAT`).
    pub tax_label: String,
    pub created_at: i64,
}

const ASSIGNMENT_COLUMNS: &str = "id, business_id, plan_id, effective_from, tax_rate_bps, tax_label, created_at";

/// Puts a business on a plan from `effective_from`; a second assignment from
/// the same time is a conflict.
pub async fn assign(
    db: &Db,
    business_id: &str,
    plan_id: &str,
    effective_from: i64,
    tax_rate_bps: i64,
    tax_label: &str,
) -> StoreResult<Assignment> {
    let inserted = sqlx::query_as(&format!(
        "INSERT INTO billing_assignments (id, business_id, plan_id, effective_from, tax_rate_bps, tax_label, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ASSIGNMENT_COLUMNS}"
    ))
    .bind(ids::new_id("pla"))
    .bind(business_id)
    .bind(plan_id)
    .bind(effective_from)
    .bind(tax_rate_bps)
    .bind(tax_label)
    .bind(ids::now_ms())
    .fetch_one(db.pool())
    .await;
    match inserted {
        Ok(assignment) => Ok(assignment),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::Conflict("the business already has a plan assigned from that time".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// A business's assignments, oldest first.
pub async fn assignments_of(conn: &mut AnyConnection, business_id: &str) -> StoreResult<Vec<Assignment>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM billing_assignments WHERE business_id = $1 ORDER BY effective_from"
    ))
    .bind(business_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Businesses with an assignment that starts before `to`.
/// The businesses on a plan before `to` that have no invoice of `period` yet:
/// what the finaliser has left to close.
pub async fn businesses_to_invoice(db: &Db, to: i64, period: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT a.business_id FROM billing_assignments a WHERE a.effective_from < $1 \
         AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.business_id = a.business_id AND i.period = $2) \
         ORDER BY a.business_id",
    )
    .bind(to)
    .bind(period)
    .fetch_all(db.pool())
    .await?)
}

/// A rate card version of a channel.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct RateCardVersion {
    /// `rcv_...`: what an invoice line's `priced_by` names.
    pub id: String,
    pub channel: String,
    pub version: i64,
    pub effective_from: i64,
    /// Markup over cost, basis points.
    pub markup_bps: i64,
    /// WhatsApp service messages delivered free each month per number (the
    /// version in effect when the month starts decides; Meta's is 1,000
    /// since October 2026). 0: none.
    pub free_service_per_month: i64,
    pub created_at: i64,
}

/// One price of a rate card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema, FromRow)]
pub struct RatePrice {
    /// ISO 3166 alpha-2 market (`IN`, `BR`), or `*` for any other.
    pub market: String,
    /// `marketing`, `utility`, `authentication`, `service`...
    pub category: String,
    pub currency: String,
    /// Thousandths of a minor unit per delivered message.
    pub unit_milli_minor: i64,
}

/// Adds a version of `channel`'s rate card with `prices`.
pub async fn add_rate_card(
    db: &Db,
    channel: &str,
    effective_from: i64,
    markup_bps: i64,
    free_service_per_month: i64,
    prices: &[RatePrice],
) -> StoreResult<RateCardVersion> {
    let mut tx = db.pool().begin().await?;
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM rate_card_versions WHERE channel = $1")
        .bind(channel)
        .fetch_one(&mut *tx)
        .await?;
    let inserted = sqlx::query_as(
        "INSERT INTO rate_card_versions (id, channel, version, effective_from, markup_bps, created_at, \
         free_service_per_month) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         RETURNING id, channel, version, effective_from, markup_bps, free_service_per_month, created_at",
    )
    .bind(ids::new_id("rcv"))
    .bind(channel)
    .bind(last.unwrap_or(0) + 1)
    .bind(effective_from)
    .bind(markup_bps)
    .bind(ids::now_ms())
    .bind(free_service_per_month)
    .fetch_one(&mut *tx)
    .await;
    let card: RateCardVersion = match inserted {
        Ok(card) => card,
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!("the {channel} rate card got another version meanwhile")));
        }
        Err(e) => return Err(e.into()),
    };
    for price in prices {
        let added = sqlx::query(
            "INSERT INTO rate_card_prices (rate_card_id, market, category, currency, unit_milli_minor) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&card.id)
        .bind(&price.market)
        .bind(&price.category)
        .bind(&price.currency)
        .bind(price.unit_milli_minor)
        .execute(&mut *tx)
        .await;
        match added {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "the rate card prices {} / {} twice",
                    price.market, price.category
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(card)
}

/// Every version of `channel`'s rate card, oldest first, with its prices.
pub async fn rate_cards(
    conn: &mut AnyConnection,
    channel: &str,
) -> StoreResult<Vec<(RateCardVersion, Vec<RatePrice>)>> {
    let cards: Vec<RateCardVersion> = sqlx::query_as(
        "SELECT id, channel, version, effective_from, markup_bps, free_service_per_month, created_at \
         FROM rate_card_versions \
         WHERE channel = $1 ORDER BY version",
    )
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let mut with_prices = Vec::with_capacity(cards.len());
    for card in cards {
        let prices: Vec<RatePrice> = sqlx::query_as(
            "SELECT market, category, currency, unit_milli_minor FROM rate_card_prices WHERE rate_card_id = $1 \
             ORDER BY market, category",
        )
        .bind(&card.id)
        .fetch_all(&mut *conn)
        .await?;
        with_prices.push((card, prices));
    }
    Ok(with_prices)
}
