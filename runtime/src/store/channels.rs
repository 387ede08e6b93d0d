//! Transport channels of businesses: for now, one WhatsApp Cloud API number
//! per business (its ids, its Meta app's secrets, and where the Graph API is).

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::{Db, StoreError, StoreResult, is_unique_violation};
use crate::ids;

/// A business's WhatsApp number. Secrets are never serialized.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct WhatsAppChannel {
    pub business_id: String,
    pub phone_number_id: String,
    #[serde(skip)]
    pub app_secret: String,
    #[serde(skip)]
    pub verify_token: String,
    #[serde(skip)]
    pub access_token: String,
    pub graph_base_url: String,
    pub catalog_id: Option<String>,
    pub rate_per_second: i64,
}

const COLUMNS: &str =
    "business_id, phone_number_id, app_secret, verify_token, access_token, graph_base_url, catalog_id, rate_per_second";

/// Creates or replaces the business's WhatsApp channel.
pub async fn put_whatsapp(db: &Db, channel: &WhatsAppChannel) -> StoreResult<WhatsAppChannel> {
    let saved = sqlx::query(
        "INSERT INTO whatsapp_channels (business_id, phone_number_id, app_secret, verify_token, access_token, \
         graph_base_url, catalog_id, rate_per_second, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (business_id) DO UPDATE SET phone_number_id = $2, app_secret = $3, verify_token = $4, \
         access_token = $5, graph_base_url = $6, catalog_id = $7, rate_per_second = $8",
    )
    .bind(&channel.business_id)
    .bind(&channel.phone_number_id)
    .bind(&channel.app_secret)
    .bind(&channel.verify_token)
    .bind(&channel.access_token)
    .bind(&channel.graph_base_url)
    .bind(&channel.catalog_id)
    .bind(channel.rate_per_second)
    .bind(ids::now_ms())
    .execute(db.pool())
    .await;
    match saved {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "phone number id {} belongs to another business",
            channel.phone_number_id
        ))),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(channel.clone()),
    }
}

pub async fn whatsapp(db: &Db, business_id: &str) -> StoreResult<Option<WhatsAppChannel>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM whatsapp_channels WHERE business_id = $1"))
        .bind(business_id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn delete_whatsapp(db: &Db, business_id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM whatsapp_channels WHERE business_id = $1")
        .bind(business_id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The WhatsApp channel of the business that has `phone_number_id` (at most
/// one: the column is unique), for routing a delivery's entries.
pub async fn whatsapp_by_phone_number(db: &Db, phone_number_id: &str) -> StoreResult<Option<WhatsAppChannel>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM whatsapp_channels WHERE phone_number_id = $1"))
        .bind(phone_number_id)
        .fetch_optional(db.pool())
        .await?)
}
