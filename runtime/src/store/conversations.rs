//! Customers, conversations and their message history.
//!
//! A customer is known to a business by a pseudonym (see `store::customer_handles`);
//! the handle (phone number, chat handle) is kept here for the transports and
//! never handed to a plugin. The handle and every message body are sealed
//! under the customer's data key (`store::data_keys`), the handle found by its
//! blind index only. A conversation numbers its messages 1, 2, 3... so
//! history reads back in the order it happened.

use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::businesses::serialize_time;
use super::data_keys::KeyOwner;
use super::usage::{self, UsageFact};
use super::{Db, StoreError, StoreResult, Stored, outbox, stored_state};
use crate::domain::billing::Metric;
use crate::ids;
use crate::privacy::{Binding, DataKey};

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
/// customer's handle under their pseudonym: the handle they last wrote from,
/// which is where replies go (their new number, or their business-scoped user
/// id when WhatsApp withholds the number).
pub async fn open(
    db: &Db,
    business_id: &str,
    customer_id: &str,
    channel: &str,
    handle: &str,
    locale: &str,
) -> StoreResult<Conversation> {
    let key = db.data_key(business_id, KeyOwner::Customer(customer_id)).await?;
    let index = db.blind_index(business_id, handle).await?;
    let mut conn = db.pool().acquire().await?;
    let customer = CustomerHandle { business_id, customer_id, channel, handle, index: &index, current: false };
    open_on(&mut conn, &key, customer, locale, ids::now_ms()).await
}

/// A customer as a conversation is opened for them: who, on which channel,
/// and the handle they wrote from (with its blind index).
#[derive(Debug, Clone, Copy)]
pub(super) struct CustomerHandle<'a> {
    pub business_id: &'a str,
    pub customer_id: &'a str,
    pub channel: &'a str,
    pub handle: &'a str,
    pub index: &'a str,
    /// The customer's row already names this handle (nothing to rewrite).
    pub current: bool,
}

/// Like [`open`], on `conn` (inside the caller's transaction), the handle
/// sealed under the customer's `key`.
pub(super) async fn open_on(
    conn: &mut sqlx::AnyConnection,
    key: &DataKey,
    customer: CustomerHandle<'_>,
    locale: &str,
    now: i64,
) -> StoreResult<Conversation> {
    let CustomerHandle { business_id, customer_id, channel, handle, index, current } = customer;
    let select = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND customer_id = $2 AND channel = $3"
    );
    if current {
        // A customer writing again from the handle on record: their
        // conversation is there (made with their first message) or made now.
        let found: Option<Conversation> = sqlx::query_as(&select)
            .bind(business_id)
            .bind(customer_id)
            .bind(channel)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(conversation) = found {
            return Ok(conversation);
        }
    }
    // The handle only sealed under the customer's key, and its blind index
    // to find it by (see `privacy`).
    let row = customer_row(business_id, customer_id);
    let sealed = super::data_keys::seal_with(key, customer_handle_at(&row), handle)?;
    sqlx::query(
        "INSERT INTO customers (business_id, id, channel, handle, handle_index, created_at) VALUES ($1, $2, $3, $4, $6, $5) \
         ON CONFLICT (business_id, id) DO UPDATE SET handle = excluded.handle, handle_index = excluded.handle_index \
         WHERE customers.handle_index IS NULL OR customers.handle_index <> excluded.handle_index",
    )
    .bind(business_id)
    .bind(customer_id)
    .bind(channel)
    .bind(&sealed)
    .bind(now)
    .bind(index)
    .execute(&mut *conn)
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
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_as(&select).bind(business_id).bind(customer_id).bind(channel).fetch_one(&mut *conn).await?)
}

/// The customer's message that inbound event `event_id` stored, if one was:
/// its id, number and time (for a replay of the event).
pub(super) async fn message_of_event_on(
    conn: &mut sqlx::AnyConnection,
    business_id: &str,
    event_id: &str,
) -> StoreResult<Option<(String, i64, i64)>> {
    Ok(sqlx::query_as("SELECT id, seq, created_at FROM messages WHERE business_id = $1 AND event_id = $2")
        .bind(business_id)
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn get(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<Conversation>> {
    Ok(sqlx::query_as(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Every conversation of one customer (for their export), oldest first.
pub async fn of_customer(db: &Db, business_id: &str, customer_id: &str) -> StoreResult<Vec<Conversation>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE business_id = $1 AND customer_id = $2 \
         ORDER BY created_at, id"
    ))
    .bind(business_id)
    .bind(customer_id)
    .fetch_all(db.pool())
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

/// When the customer last wrote in the conversation (ms): what opens
/// WhatsApp's 24-hour window (the outbox's rule). `None` when they never did,
/// or there is no such conversation.
pub async fn last_inbound_at(db: &Db, business_id: &str, id: &str) -> StoreResult<Option<i64>> {
    let at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT last_inbound_at FROM conversations WHERE business_id = $1 AND id = $2")
            .bind(business_id)
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(at.flatten())
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
    let conversation =
        get(db, business_id, conversation_id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
    append_sending(db, business_id, &conversation, direction, author, bodies, Outgoing::default()).await
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
    /// The inbound event the (customer's) message came in: a replay of the
    /// event finds it stored instead of storing it again.
    pub event_id: Option<&'a str>,
    /// The sends are leased to the caller until then, who sends them at once
    /// (`None`: due now, for the queue's worker).
    pub sends_held_until: Option<i64>,
}

/// Like [`append`], doing what `outgoing` says in the same transaction:
/// queuing each message's sends for a push transport (a reply is queued
/// exactly when it is stored, and the conversation's row lock makes
/// concurrent replies take their numbers, and their queue order, one by one),
/// and emptying the cart a checkout answer took.
pub async fn append_sending(
    db: &Db,
    business_id: &str,
    conversation: &Conversation,
    direction: Direction,
    author: Author,
    bodies: &[serde_json::Value],
    outgoing: Outgoing<'_>,
) -> StoreResult<Vec<Message>> {
    if bodies.is_empty() {
        return Ok(Vec::new());
    }
    // Sealed before the transaction: a key may need a query of its own, and
    // SQLite's one connection is the transaction's.
    let key = db.data_key(business_id, KeyOwner::Customer(&conversation.customer_id)).await?;
    let prepared = prepare(&key, bodies, outgoing.sends.map(|(_, sends)| sends))?;
    let mut tx = db.pool().begin().await?;
    let batch = Batch { business_id, conversation, direction, author, now: ids::now_ms() };
    match append_on(&mut tx, batch, prepared, outgoing).await? {
        Appended::Stored(stored) => {
            tx.commit().await?;
            Ok(stored)
        }
        Appended::CustomerChanged => {
            drop(tx);
            Err(customer_changed(db, business_id, &conversation.customer_id).await)
        }
        Appended::EventStored => Err(StoreError::Conflict("the event's message is stored already".into())),
    }
}

/// The error for messages not stored because their conversation's customer
/// was erased meanwhile; the key made anew for them (if one was) goes too,
/// unless the customer still exists.
pub(super) async fn customer_changed(db: &Db, business_id: &str, customer_id: &str) -> StoreError {
    let exists: Result<Option<String>, _> =
        sqlx::query_scalar("SELECT id FROM customers WHERE business_id = $1 AND id = $2")
            .bind(business_id)
            .bind(customer_id)
            .fetch_optional(db.pool())
            .await;
    match exists {
        Ok(Some(_)) => {}
        Ok(None) => {
            if let Err(e) = super::data_keys::destroy_customer_key(db, business_id, customer_id).await {
                return e;
            }
        }
        Err(e) => return e.into(),
    }
    StoreError::Conflict(
        "the conversation's customer changed (erased) while its messages were stored; nothing was stored".into(),
    )
}

/// A message sealed for storing (its id chosen) with its sends, before the
/// transaction that stores it.
#[derive(Debug)]
pub(super) struct Prepared {
    id: String,
    body: serde_json::Value,
    sealed: String,
    sends: Vec<outbox::SealedSend>,
}

impl Prepared {
    /// Its sends' ids and requests, in order.
    pub(super) fn sends(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sends.iter().map(|send| (send.id.as_str(), send.plain.as_str()))
    }
}

/// `bodies` (and each one's `sends`) sealed under the customer's `key`.
pub(super) fn prepare(
    key: &DataKey,
    bodies: &[serde_json::Value],
    sends: Option<&[Vec<outbox::NewSend>]>,
) -> StoreResult<Vec<Prepared>> {
    bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let id = ids::new_id("msg");
            let sealed = super::data_keys::seal_with(key, Binding::new("messages", "body", &id), &body.to_string())?;
            let message_sends = sends.and_then(|sends| sends.get(n)).map_or(&[][..], Vec::as_slice);
            let sends = outbox::seal_sends(key, message_sends)?;
            Ok(Prepared { id, body: body.clone(), sealed, sends })
        })
        .collect()
}

/// Whose messages a batch is, and when they are stored.
#[derive(Debug, Clone, Copy)]
pub(super) struct Batch<'a> {
    pub business_id: &'a str,
    pub conversation: &'a Conversation,
    pub direction: Direction,
    pub author: Author,
    pub now: i64,
}

/// What came of appending messages on a connection.
#[derive(Debug)]
pub(super) enum Appended {
    Stored(Vec<Message>),
    /// The conversation is no longer the customer's whose key sealed them (an
    /// erasure gave it a new pseudonym); the caller must roll back.
    CustomerChanged,
    /// The inbound event's message is stored already (an earlier attempt of
    /// the event); the caller must roll back.
    EventStored,
}

/// Stores `prepared` messages of `batch` on `conn` (inside the caller's
/// transaction), doing what `outgoing` says.
pub(super) async fn append_on(
    conn: &mut sqlx::AnyConnection,
    batch: Batch<'_>,
    prepared: Vec<Prepared>,
    outgoing: Outgoing<'_>,
) -> StoreResult<Appended> {
    if prepared.is_empty() {
        return Ok(Appended::Stored(Vec::new()));
    }
    let Batch { business_id, conversation, direction, author, now } = batch;
    let count = i64::try_from(prepared.len()).unwrap_or(i64::MAX);
    let conversation_id = conversation.id.as_str();
    // An inbound message also opens (or renews) WhatsApp's 24-hour window.
    // Only while the conversation is still the customer's whose key sealed
    // the bodies: an erasure in between gave it a new pseudonym (and
    // destroyed that key), so nothing is stored under a key made anew.
    let last: Option<i64> = sqlx::query_scalar(
        "UPDATE conversations SET message_count = message_count + $2, last_message_at = $3, \
         last_inbound_at = CASE WHEN $4 = 'inbound' THEN $3 ELSE last_inbound_at END \
         WHERE id = $1 AND customer_id = $5 RETURNING message_count",
    )
    .bind(conversation_id)
    .bind(count)
    .bind(now)
    .bind(direction.as_str())
    .bind(&conversation.customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(last) = last else { return Ok(Appended::CustomerChanged) };
    let mut stored = Vec::with_capacity(prepared.len());
    for (seq, message) in (last - count + 1..).zip(prepared) {
        let inserted = sqlx::query(
            "INSERT INTO messages (id, conversation_id, business_id, seq, direction, author, body, created_at, event_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (business_id, event_id) DO NOTHING",
        )
        .bind(&message.id)
        .bind(conversation_id)
        .bind(business_id)
        .bind(seq)
        .bind(direction.as_str())
        .bind(author.as_str())
        .bind(&message.sealed)
        .bind(now)
        .bind(outgoing.event_id)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(Appended::EventStored);
        }
        if let Some((channel, _)) = outgoing.sends {
            let target = outbox::Target { business_id, conversation_id, channel };
            let due = outgoing.sends_held_until.unwrap_or(now);
            outbox::insert(&mut *conn, target, &message.id, seq, &message.sends, now, due).await?;
        }
        if let Some(metric) = outgoing.meter {
            let fact = UsageFact { occurred_at: now, ..UsageFact::new(business_id, metric, "message", &message.id, 1) };
            usage::record(&mut *conn, &fact).await?;
        }
        stored.push(Message { id: message.id, seq, direction, author, body: message.body, created_at: now });
    }
    if let Some(fact) = outgoing.usage {
        usage::record(&mut *conn, fact).await?;
    }
    if outgoing.empties_cart {
        sqlx::query("DELETE FROM cart_lines WHERE business_id = $1 AND conversation_id = $2")
            .bind(business_id)
            .bind(conversation_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Appended::Stored(stored))
}

/// Messages after `after_seq`, oldest first.
pub async fn messages(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    after_seq: i64,
    limit: u32,
) -> StoreResult<Vec<Message>> {
    let rows: Vec<SealedMessage> = sqlx::query_as(
        "SELECT id, seq, direction, author, body, created_at FROM messages \
         WHERE business_id = $1 AND conversation_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(db.pool())
    .await?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        messages.push(row.open(db, business_id).await?);
    }
    Ok(messages)
}

/// A message as stored, its body sealed.
#[derive(Debug, FromRow)]
struct SealedMessage {
    id: String,
    seq: i64,
    #[sqlx(try_from = "String")]
    direction: Direction,
    #[sqlx(try_from = "String")]
    author: Author,
    body: String,
    created_at: i64,
}

impl SealedMessage {
    /// The message with its body opened; a body whose customer was erased
    /// (or erased by retention) reads as [`erased_body`].
    async fn open(self, db: &Db, business_id: &str) -> StoreResult<Message> {
        let opened = if self.body.is_empty() {
            None
        } else {
            db.open(business_id, Binding::new("messages", "body", &self.id), &self.body).await?
        };
        let body = match opened {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("message body: {e}")))?,
            None => erased_body(),
        };
        Ok(Message {
            id: self.id,
            seq: self.seq,
            direction: self.direction,
            author: self.author,
            body,
            created_at: self.created_at,
        })
    }
}

/// What a message whose text was erased shows: its kind, no content.
pub fn erased_body() -> serde_json::Value {
    serde_json::json!({"type": "erased"})
}

/// The row id a customer's sealed columns are bound to.
pub(crate) fn customer_row(business_id: &str, customer_id: &str) -> String {
    format!("{business_id}/{customer_id}")
}

/// Where a customer's handle is sealed.
pub(crate) fn customer_handle_at(row: &str) -> Binding<'_> {
    Binding::new("customers", "handle", row)
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
