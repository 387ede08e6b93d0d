//! Transport channels of businesses: for now, one WhatsApp Cloud API number
//! per business (its ids, its Meta app's secrets, and where the Graph API is).
//! The secrets are sealed under the business's secrets key (`store::data_keys`),
//! bound to their column and business, and opened when a channel is read.
//!
//! *Cached.* Every webhook and every send needs its channel, which rarely
//! changes: a channel read is kept for [`CACHED_FOR`] by the node that read
//! it, and forgotten at once when this node changes or deletes a channel.
//! Another node's change reaches this one within [`CACHED_FOR`] (a delivery
//! verified with the old app secret meanwhile is refused 401, and Meta
//! delivers it again). Only channels found are kept: a channel created
//! anywhere is seen at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::data_keys::KeyOwner;
use super::{Db, StoreError, StoreResult, audit, is_unique_violation};
use crate::ids;
use crate::privacy::Binding;

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
    /// The WhatsApp Business Account the number belongs to (where its
    /// `pricing_analytics` are read, for reconciliation).
    pub waba_id: Option<String>,
}

/// How long a node trusts a channel it read.
pub const CACHED_FOR: Duration = Duration::from_secs(2);
/// Beyond this many channels kept, the cache starts over.
const MOST_KEPT: usize = 10_000;

/// Channels this node read lately, by business and by phone number id.
#[derive(Debug, Default)]
pub struct Cache {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    /// Counts this node's changes: a read begun before one is not kept.
    generation: u64,
    by_business: HashMap<String, (Instant, WhatsAppChannel)>,
    by_number: HashMap<String, (Instant, WhatsAppChannel)>,
}

impl Cache {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn by_business(&self, business_id: &str) -> Option<WhatsAppChannel> {
        let kept = self.kept();
        let (read_at, channel) = kept.by_business.get(business_id)?;
        (read_at.elapsed() < CACHED_FOR).then(|| channel.clone())
    }

    fn by_number(&self, phone_number_id: &str) -> Option<WhatsAppChannel> {
        let kept = self.kept();
        let (read_at, channel) = kept.by_number.get(phone_number_id)?;
        (read_at.elapsed() < CACHED_FOR).then(|| channel.clone())
    }

    /// Where a read begins: see [`Cache::keep`].
    fn generation(&self) -> u64 {
        self.kept().generation
    }

    /// Keeps `channel`, read since `generation`, unless this node changed a
    /// channel meanwhile (the read may predate the change).
    fn keep(&self, channel: &WhatsAppChannel, generation: u64) {
        let mut kept = self.kept();
        if kept.generation != generation {
            return;
        }
        if kept.by_business.len() >= MOST_KEPT {
            kept.by_business.clear();
            kept.by_number.clear();
        }
        let now = Instant::now();
        kept.by_business.insert(channel.business_id.clone(), (now, channel.clone()));
        kept.by_number.insert(channel.phone_number_id.clone(), (now, channel.clone()));
    }

    /// Forgets everything: this node changed a channel.
    fn forget(&self) {
        let mut kept = self.kept();
        kept.generation += 1;
        kept.by_business.clear();
        kept.by_number.clear();
    }
}

const COLUMNS: &str = "business_id, phone_number_id, app_secret, verify_token, access_token, graph_base_url, catalog_id, rate_per_second, \
     waba_id";

/// Creates or replaces the business's WhatsApp channel.
pub async fn put_whatsapp(db: &Db, channel: &WhatsAppChannel) -> StoreResult<WhatsAppChannel> {
    let business = channel.business_id.as_str();
    let app_secret =
        db.seal(business, KeyOwner::Secrets, secret_at("app_secret", business), &channel.app_secret).await?;
    let verify_token =
        db.seal(business, KeyOwner::Secrets, secret_at("verify_token", business), &channel.verify_token).await?;
    let access_token =
        db.seal(business, KeyOwner::Secrets, secret_at("access_token", business), &channel.access_token).await?;
    let saved = sqlx::query(
        "INSERT INTO whatsapp_channels (business_id, phone_number_id, app_secret, verify_token, access_token, \
         graph_base_url, catalog_id, rate_per_second, created_at, waba_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (business_id) DO UPDATE SET phone_number_id = $2, app_secret = $3, verify_token = $4, \
         access_token = $5, graph_base_url = $6, catalog_id = $7, rate_per_second = $8, waba_id = $10",
    )
    .bind(&channel.business_id)
    .bind(&channel.phone_number_id)
    .bind(&app_secret)
    .bind(&verify_token)
    .bind(&access_token)
    .bind(&channel.graph_base_url)
    .bind(&channel.catalog_id)
    .bind(channel.rate_per_second)
    .bind(ids::now_ms())
    .bind(&channel.waba_id)
    .execute(db.pool())
    .await;
    // After the write: a read racing it cannot keep the old channel.
    db.channel_cache().forget();
    match saved {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "phone number id {} belongs to another business",
            channel.phone_number_id
        ))),
        Err(e) => Err(e.into()),
        Ok(_) => {
            audit_secrets(db, business, "whatsapp channel secrets").await?;
            Ok(channel.clone())
        }
    }
}

/// The business's WhatsApp channel (cached, see the module's doc).
pub async fn whatsapp(db: &Db, business_id: &str) -> StoreResult<Option<WhatsAppChannel>> {
    if let Some(channel) = db.channel_cache().by_business(business_id) {
        return Ok(Some(channel));
    }
    read_through(db, "business_id", business_id).await
}

pub async fn delete_whatsapp(db: &Db, business_id: &str) -> StoreResult<bool> {
    let done =
        sqlx::query("DELETE FROM whatsapp_channels WHERE business_id = $1").bind(business_id).execute(db.pool()).await;
    db.channel_cache().forget();
    let done = done?;
    if done.rows_affected() == 1 {
        audit_secrets(db, business_id, "whatsapp channel secrets removed").await?;
    }
    Ok(done.rows_affected() == 1)
}

/// The WhatsApp channel of the business that has `phone_number_id` (at most
/// one: the column is unique), for routing a delivery's entries.
pub async fn whatsapp_by_phone_number(db: &Db, phone_number_id: &str) -> StoreResult<Option<WhatsAppChannel>> {
    if let Some(channel) = db.channel_cache().by_number(phone_number_id) {
        return Ok(Some(channel));
    }
    read_through(db, "phone_number_id", phone_number_id).await
}

/// A channel as stored (its secrets opened), found by `column` (`business_id`
/// or `phone_number_id`, both unique), kept in the cache unless it changed
/// while it was read.
async fn read_through(db: &Db, column: &'static str, value: &str) -> StoreResult<Option<WhatsAppChannel>> {
    let generation = db.channel_cache().generation();
    let found: Option<WhatsAppChannel> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM whatsapp_channels WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(db.pool())
            .await?;
    let Some(channel) = found else { return Ok(None) };
    let channel = open_secrets(db, channel).await?;
    db.channel_cache().keep(&channel, generation);
    Ok(Some(channel))
}

/// Records a change of the channel's secrets (never the secrets) in the trail.
async fn audit_secrets(db: &Db, business_id: &str, subject: &str) -> StoreResult<()> {
    let entry = audit::Entry { business_id, actor: "business", action: "secret.changed", subject, outcome: "ok" };
    audit::append(db, entry).await
}

/// Where a channel's secret `column` is sealed.
fn secret_at<'a>(column: &'a str, business_id: &'a str) -> Binding<'a> {
    Binding::new("whatsapp_channels", column, business_id)
}

/// The channel with its secrets opened (sealed under the business's secrets key).
async fn open_secrets(db: &Db, mut channel: WhatsAppChannel) -> StoreResult<WhatsAppChannel> {
    let business = channel.business_id.clone();
    channel.app_secret = db.open_required(&business, secret_at("app_secret", &business), &channel.app_secret).await?;
    channel.verify_token =
        db.open_required(&business, secret_at("verify_token", &business), &channel.verify_token).await?;
    channel.access_token =
        db.open_required(&business, secret_at("access_token", &business), &channel.access_token).await?;
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(secret: &str) -> WhatsAppChannel {
        WhatsAppChannel {
            business_id: "biz_1".into(),
            phone_number_id: "555".into(),
            app_secret: secret.into(),
            verify_token: "v".into(),
            access_token: "a".into(),
            graph_base_url: "https://graph.facebook.com/v23.0".into(),
            catalog_id: None,
            waba_id: None,
            rate_per_second: 80,
        }
    }

    #[test]
    fn a_channel_read_is_kept_by_business_and_by_number() {
        let cache = Cache::default();
        cache.keep(&channel("old"), cache.generation());
        assert_eq!(cache.by_business("biz_1").map(|c| c.app_secret), Some("old".into()));
        assert_eq!(cache.by_number("555").map(|c| c.app_secret), Some("old".into()));
        assert!(cache.by_business("biz_2").is_none());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let cache = Cache::default();
        let read_began = cache.generation();
        cache.forget(); // this node changed the channel meanwhile
        cache.keep(&channel("old"), read_began);
        assert!(cache.by_business("biz_1").is_none(), "the stale read was kept");
        cache.keep(&channel("new"), cache.generation());
        assert_eq!(cache.by_business("biz_1").map(|c| c.app_secret), Some("new".into()));
    }
}
