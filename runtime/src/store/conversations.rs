//! Customers, conversations and their message history.
//!
//! A customer is known to a business by a pseudonym (see `chat::pseudonym`);
//! the handle (phone number, chat handle) is kept here for the transports and
//! never handed to a plugin. A conversation numbers its messages 1, 2, 3... so
//! history reads back in the order it happened.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::usage::{self, UsageFact};
use super::{Db, StoreResult, Stored, outbox, stored_state};
use crate::domain::billing::Metric;
use crate::ids;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Conversation {
    pub id: String,
    /// The customer's pseudonym for this business.
    pub customer_id: String,
    pub channel: String,
    pub locale: String,
    /// Who answers: `bot`, `pending_agent` (a person was asked for) or `agent`.
    #[sqlx(try_from = "String")]
    pub handling: Handling,
    /// The person holding the conversation, when one took it and said who.
    pub agent: Option<String>,
    /// When the customer was last told the business is away (ms).
    #[serde(skip)]
    pub away_sent_at: Option<i64>,
    pub message_count: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub last_message_at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Message {
    pub id: String,
    /// Position in the conversation, from 1.
    pub seq: i64,
    /// `inbound` (from the customer) or `outbound`.
    #[sqlx(try_from = "String")]
    pub direction: Direction,
    /// `customer`, `bot` (the plugin), `agent` (a person) or `host` (fallbacks and notices).
    #[sqlx(try_from = "String")]
    pub author: Author,
    /// The message: an inbound message or a rendered reply.
    #[schema(value_type = Object)]
    #[sqlx(try_from = "Stored<String>")]
    pub body: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub created_at: i64,
}

stored_state! {
    /// Who answers a conversation. Stored (and shown) as `bot`, `pending_agent`
    /// or `agent`; `chat::handoff` owns the changes between them.
    Handling("handling") {
        /// The business's bot (plugin or native bot).
        Bot = "bot",
        /// A person was asked for and has not taken the conversation yet; the bot
        /// stays quiet.
        PendingAgent = "pending_agent",
        /// A person holds the conversation.
        Agent = "agent",
    }
}

stored_state! {
    /// Who wrote a message. Stored (and shown) as `customer`, `bot`, `agent` or `host`.
    Author("author") {
        /// The customer (every inbound message).
        Customer = "customer",
        /// The business's bot: its plugin or a native bot.
        Bot = "bot",
        /// A person answering for the business.
        Agent = "agent",
        /// The host itself: fallbacks, automations and notices.
        Host = "host",
    }
}

stored_state! {
    /// Which way a message went. Stored (and shown) as `inbound` or `outbound`.
    Direction("direction") {
        /// From the customer.
        Inbound = "inbound",
        /// To the customer: the bot's, a person's or the host's replies.
        Outbound = "outbound",
    }
}

const CONVERSATION_COLUMNS: &str =
    "id, customer_id, channel, locale, handling, agent, away_sent_at, message_count, last_message_at";

/// Finds or creates the conversation of a customer on a channel, recording the
/// customer's handle under their pseudonym the first time.
pub async fn open(
    db: &Db,
    business_id: &str,
    customer_id: &str,
    channel: &str,
    handle: &str,
    locale: &str,
) -> StoreResult<Conversation> {
    let now = ids::now_ms();
    sqlx::query(
        "INSERT INTO customers (business_id, id, channel, handle, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (business_id, id) DO NOTHING",
    )
    .bind(business_id)
    .bind(customer_id)
    .bind(channel)
    .bind(handle)
    .bind(now)
    .execute(db.pool())
    .await?;
    sqlx::query(
        "INSERT INTO conversations (id, business_id, customer_id, channel, locale, handling, message_count, created_at, last_message_at) \
         VALUES ($1, $2, $3, $4, $5, $7, 0, $6, $6) ON CONFLICT (business_id, customer_id, channel) DO NOTHING",
    )
    .bind(ids::new_id("conv"))
    .bind(business_id)
    .bind(customer_id)
    .bind(channel)
    .bind(locale)
    .bind(now)
    .bind(Handling::Bot.as_str())
    .execute(db.pool())
    .await?;
    Ok(sqlx::query_as(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND customer_id = $2 AND channel = $3"
    ))
    .bind(business_id)
    .bind(customer_id)
    .bind(channel)
    .fetch_one(db.pool())
    .await?)
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<Conversation>> {
    Ok(sqlx::query_as(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// The most recent conversation of the customer whose pseudonym is `customer_id`.
pub async fn latest_of_customer(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Option<Conversation>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND customer_id = $2 \
         ORDER BY last_message_at DESC, id DESC LIMIT 1"
    ))
    .bind(business_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?)
}

/// A business's conversations (those in `handling`, when given), most recent first.
pub async fn list(
    db: &Db,
    business_id: &str,
    handling: Option<Handling>,
    limit: u32,
) -> StoreResult<Vec<Conversation>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND ($3 IS NULL OR handling = $3) \
         ORDER BY last_message_at DESC, id DESC LIMIT $2"
    ))
    .bind(business_id)
    .bind(i64::from(limit))
    .bind(handling.map(Handling::as_str))
    .fetch_all(db.pool())
    .await?)
}

/// Appends messages to a conversation, numbering them after the ones it has.
pub async fn append(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    direction: Direction,
    author: Author,
    bodies: &[serde_json::Value],
) -> StoreResult<Vec<Message>> {
    append_sending(db, business_id, conversation_id, direction, author, bodies, Outgoing::default()).await
}

/// What else the transaction that stores messages does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outgoing<'a> {
    /// Queue each message's sends for a push transport: (`channel`, one list
    /// of sends per body).
    pub sends: Option<(&'a str, &'a [Vec<outbox::NewSend>])>,
    /// Empty the conversation's cart: the messages answer a checkout, whose
    /// order now holds the cart's lines. Emptied with the answer, not before,
    /// so a crash between the two leaves the cart for the retry, which finds
    /// the order waiting and sends its link again.
    pub empties_cart: bool,
    /// Meter each stored message as one unit of this metric, keyed by the
    /// message's id (`billing::Meter::message_handled`; `None` with billing off).
    pub meter: Option<Metric>,
    /// One more ledger row to write with the messages (a plugin turn's compute).
    pub usage: Option<&'a UsageFact>,
}

/// Like [`append`], doing what `outgoing` says in the same transaction:
/// queuing each message's sends for a push transport (a reply is queued
/// exactly when it is stored, and the conversation's row lock makes
/// concurrent replies take their numbers, and their queue order, one by one),
/// and emptying the cart a checkout answer took.
pub async fn append_sending(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    direction: Direction,
    author: Author,
    bodies: &[serde_json::Value],
    outgoing: Outgoing<'_>,
) -> StoreResult<Vec<Message>> {
    if bodies.is_empty() {
        return Ok(Vec::new());
    }
    let now = ids::now_ms();
    let count = i64::try_from(bodies.len()).unwrap_or(i64::MAX);
    let mut tx = db.pool().begin().await?;
    // An inbound message also opens (or renews) WhatsApp's 24-hour window.
    let last: i64 = sqlx::query_scalar(
        "UPDATE conversations SET message_count = message_count + $2, last_message_at = $3, \
         last_inbound_at = CASE WHEN $4 = 'inbound' THEN $3 ELSE last_inbound_at END WHERE id = $1 RETURNING message_count",
    )
    .bind(conversation_id)
    .bind(count)
    .bind(now)
    .bind(direction.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let mut stored = Vec::with_capacity(bodies.len());
    for (n, (seq, body)) in (last - count + 1..).zip(bodies).enumerate() {
        let id = ids::new_id("msg");
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, business_id, seq, direction, author, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(conversation_id)
        .bind(business_id)
        .bind(seq)
        .bind(direction.as_str())
        .bind(author.as_str())
        .bind(body.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some((channel, sends)) = outgoing.sends {
            let target = outbox::Target { business_id, conversation_id, channel };
            let message_sends = sends.get(n).map_or(&[][..], Vec::as_slice);
            outbox::insert(&mut tx, target, &id, seq, message_sends, now).await?;
        }
        if let Some(metric) = outgoing.meter {
            let fact = UsageFact { occurred_at: now, ..UsageFact::new(business_id, metric, "message", &id, 1) };
            usage::record(&mut tx, &fact).await?;
        }
        stored.push(Message { id, seq, direction, author, body: body.clone(), created_at: now });
    }
    if let Some(fact) = outgoing.usage {
        usage::record(&mut tx, fact).await?;
    }
    if outgoing.empties_cart {
        sqlx::query("DELETE FROM cart_lines WHERE business_id = $1 AND conversation_id = $2")
            .bind(business_id)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(stored)
}

/// Messages after `after_seq`, oldest first.
pub async fn messages(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    after_seq: i64,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    Ok(sqlx::query_as(
        "SELECT id, seq, direction, author, body, created_at FROM messages \
         WHERE business_id = $1 AND conversation_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?)
}

/// Who handles a conversation: its handling and, for [`Handling::Agent`], the
/// person holding it (if they said who).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder<'a> {
    pub handling: Handling,
    pub agent: Option<&'a str>,
}

impl Conversation {
    /// Who handles it, as read.
    pub fn holder(&self) -> Holder<'_> {
        Holder { handling: self.handling, agent: self.agent.as_deref() }
    }
}

/// Moves a conversation from `from` (its holder as the caller read it) to
/// `to`, which `chat::handoff` decided; the agent is kept only with
/// [`Handling::Agent`]. `None` when the conversation no longer stands as read
/// (another request changed it meanwhile): nothing is written.
pub async fn change_holder(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    from: Holder<'_>,
    to: Holder<'_>,
) -> StoreResult<Option<Conversation>> {
    // Agent names are never empty, so '' stands for "nobody named".
    Ok(sqlx::query_as(&format!(
        "UPDATE conversations SET handling = $5, agent = $6 WHERE business_id = $1 AND id = $2 \
         AND handling = $3 AND COALESCE(agent, '') = $4 RETURNING {CONVERSATION_COLUMNS}"
    ))
    .bind(business_id)
    .bind(conversation_id)
    .bind(from.handling.as_str())
    .bind(from.agent.unwrap_or_default())
    .bind(to.handling.as_str())
    .bind(to.agent.filter(|_| to.handling == Handling::Agent))
    .fetch_optional(db.pool())
    .await?)
}

/// Records that the customer was told the business is away, unless they were
/// told within `repeat_ms`; true when this call recorded it (so say it now).
pub async fn claim_away_notice(db: &Db, conversation_id: &str, now: i64, repeat_ms: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE conversations SET away_sent_at = $2 WHERE id = $1 AND (away_sent_at IS NULL OR away_sent_at < $3)",
    )
    .bind(conversation_id)
    .bind(now)
    .bind(now - repeat_ms)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The PostgreSQL channel on which new messages are announced.
const NEW_MESSAGES: &str = "bottega_new_messages";

/// On PostgreSQL, tells every node listening (see [`listen_for_new_messages`])
/// that a conversation has new messages. Nothing on SQLite.
pub async fn announce_new_messages(db: &Db, conversation_id: &str) -> StoreResult<()> {
    if db.backend() == super::Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)").bind(NEW_MESSAGES).bind(conversation_id).execute(db.pool()).await?;
    }
    Ok(())
}

/// A connection hearing [`announce_new_messages`]; each notification's payload
/// is a conversation id.
pub async fn listen_for_new_messages(database_url: &str) -> StoreResult<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
    listener.listen(NEW_MESSAGES).await?;
    Ok(listener)
}

/// How many of a business's conversations wait for a person, and since when
/// the one waiting longest had its last message (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Waiting {
    pub waiting: i64,
    pub oldest: Option<i64>,
}

pub async fn waiting(db: &Db, business_id: &str) -> StoreResult<Waiting> {
    Ok(sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) AS waiting, MIN(last_message_at) AS oldest FROM conversations \
         WHERE business_id = $1 AND handling = 'pending_agent'",
    )
    .bind(business_id)
    .fetch_one(db.pool())
    .await?)
}
