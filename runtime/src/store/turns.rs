//! One conversation turn's two transactions, the bot running between them
//! outside any transaction.
//!
//! - [`open`]: the inbound event still the claimant's and first of its
//!   sender's, the business read, the customer's conversation found (or
//!   made) and their message stored, once per event: a replay of the event
//!   after a crash finds its message instead of storing it again.
//! - [`close`]: the replies stored in order with their sends and the turn's
//!   usage, and the event settled, all or nothing: a claimant that lost the
//!   event (its lease ran out and another node took it) stores nothing, so a
//!   turn is never answered twice in history. Sends may be leased to the
//!   caller, who sends them at once instead of waking the queue's worker.
//!
//! On the warm path (a customer this node has seen, their key in its cache)
//! a turn is these two round trips. Everything sealed inside a transaction is
//! sealed with a key already in the cache: fetching one there would need a
//! second connection, and SQLite's one connection is the transaction's.

use super::conversations::{self, Appended, Author, Batch, Conversation, CustomerHandle, Direction, Message, Outgoing};
use super::data_keys::KeyOwner;
use super::inbound_events::{self, ClaimedEvent, Hold};
use super::outbox::{ClaimedSend, NewSend};
use super::usage::{self, UsageFact};
use super::{Backend, Db, StoreError, StoreResult, businesses, customer_handles};
use crate::domain::billing::Metric;
use crate::ids;
use crate::store::businesses::Business;

/// What a turn begins with: the customer's message as it came in.
#[derive(Debug, Clone, Copy)]
pub struct TurnStart<'a> {
    pub business_id: &'a str,
    /// The inbound event it came in, as its claimant holds it (`None` for a
    /// message the JSON API hands over directly).
    pub event: Option<&'a ClaimedEvent>,
    pub channel: &'a str,
    pub handle: &'a str,
    /// The handle's blind index (`Db::blind_index`).
    pub handle_index: &'a str,
    /// The customer's language, when the transport knows it (else the shop's).
    pub locale: Option<&'a str>,
    /// The message's stored form.
    pub body: &'a serde_json::Value,
    /// A ledger row to write with the message (its event's "message handled").
    pub usage: Option<&'a UsageFact>,
    /// Meter the stored message as one unit of this, keyed by its id.
    pub meter: Option<Metric>,
}

/// How opening a turn went.
#[derive(Debug)]
pub enum Opened {
    /// The message is stored (or was, by an earlier attempt of its event).
    Stored(Box<OpenTurn>),
    /// The customer is new here (no mapping of their handle yet, or their key
    /// not in this node's cache): nothing was written; resolve them first.
    Cold,
    /// An earlier event of the same sender is still pending: answer it first.
    WaitsForEarlier,
    /// The claimant no longer holds the event.
    NotHeld,
    /// The business no longer exists.
    NoBusiness,
}

/// A turn whose message is stored.
#[derive(Debug)]
pub struct OpenTurn {
    pub business: Business,
    pub customer_id: String,
    /// As it was before the message was stored.
    pub conversation: Conversation,
    pub inbound: Message,
    /// The message was stored by an earlier attempt of the same event.
    pub replayed: bool,
}

/// Opens a turn in one transaction (see the module's doc).
pub async fn open(db: &Db, start: TurnStart<'_>) -> StoreResult<Opened> {
    let now = ids::now_ms();
    let business_id = start.business_id;
    let mut tx = db.pool().begin().await?;
    if let Some(event) = start.event {
        match inbound_events::hold_on(&mut tx, event).await? {
            Hold::Held => {}
            Hold::WaitsForEarlier => return Ok(Opened::WaitsForEarlier),
            Hold::Lost => return Ok(Opened::NotHeld),
        }
    }
    let Some(business) = businesses::get_on(&mut tx, business_id).await? else {
        return Ok(Opened::NoBusiness);
    };
    let Some((customer_id, current)) =
        customer_handles::customer_of_on(&mut tx, business_id, start.handle_index).await?
    else {
        return Ok(Opened::Cold);
    };
    let Some(key) = db.cached_data_key(business_id, KeyOwner::Customer(&customer_id)) else {
        return Ok(Opened::Cold);
    };
    let locale = start.locale.unwrap_or(&business.locale);
    let customer = CustomerHandle {
        business_id,
        customer_id: &customer_id,
        channel: start.channel,
        handle: start.handle,
        index: start.handle_index,
        current,
    };
    let conversation = conversations::open_on(&mut tx, &key, customer, locale, now).await?;
    let prepared = conversations::prepare(&key, std::slice::from_ref(start.body), None)?;
    let outgoing = Outgoing {
        usage: start.usage,
        meter: start.meter,
        event_id: start.event.map(|event| event.id.as_str()),
        ..Outgoing::default()
    };
    let batch = Batch {
        business_id,
        conversation: &conversation,
        direction: Direction::Inbound,
        author: Author::Customer,
        now,
    };
    let inbound = match conversations::append_on(&mut tx, batch, prepared, outgoing).await? {
        Appended::Stored(mut stored) => {
            tx.commit().await?;
            stored.pop().ok_or_else(|| StoreError::Corrupt("stored message vanished".into()))?
        }
        Appended::CustomerChanged => {
            return Err(StoreError::Conflict(
                "the conversation's customer changed (erased) while the message was stored; nothing was stored".into(),
            ));
        }
        Appended::EventStored => {
            // An earlier attempt of the event stored its message: this one
            // answers it (nothing of this transaction is kept).
            drop(tx);
            let event_id = start.event.map(|event| event.id.as_str()).unwrap_or_default();
            let mut conn = db.pool().acquire().await?;
            let Some((id, seq, created_at)) =
                conversations::message_of_event_on(&mut conn, business_id, event_id).await?
            else {
                return Err(StoreError::Corrupt("the event's stored message vanished".into()));
            };
            let message = Message {
                id,
                seq,
                direction: Direction::Inbound,
                author: Author::Customer,
                body: start.body.clone(),
                created_at,
            };
            // As it was before the message was stored (a first message is
            // still greeted when it is answered again).
            let conversation = Conversation { message_count: seq - 1, ..conversation };
            let turn = OpenTurn { business, customer_id, conversation, inbound: message, replayed: true };
            return Ok(Opened::Stored(Box::new(turn)));
        }
    };
    Ok(Opened::Stored(Box::new(OpenTurn { business, customer_id, conversation, inbound, replayed: false })))
}

/// One reply as a turn ends with it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub author: Author,
    pub body: serde_json::Value,
    /// It answers a checkout: the cart's lines went into the order.
    pub empties_cart: bool,
    /// What the conversation's push transport sends for it (empty for none).
    pub sends: Vec<NewSend>,
}

/// Sends handed straight to the transport instead of its queue's worker.
#[derive(Debug, Clone, Copy)]
pub struct SendAtOnce<'a> {
    /// Leased to the caller until then (another node sends them after).
    pub held_until: i64,
    /// Where they go: the handle the customer wrote from.
    pub recipient: &'a str,
    /// When the customer last wrote (the turn's message).
    pub last_inbound_at: i64,
}

/// How a turn ends.
#[derive(Debug, Clone, Copy)]
pub struct TurnEnd<'a> {
    pub business_id: &'a str,
    pub conversation: &'a Conversation,
    /// The channel whose queue the replies' sends go to, when it has one.
    pub channel: Option<&'a str>,
    /// A ledger row to write with the replies (the plugin turn's compute).
    pub usage: Option<&'a UsageFact>,
    /// The inbound event the turn answers, settled with its replies.
    pub event: Option<&'a ClaimedEvent>,
    /// Send at once, unless an earlier send of the conversation is still
    /// pending (then the queue keeps them behind it, in order).
    pub at_once: Option<SendAtOnce<'a>>,
}

/// How closing a turn went.
#[derive(Debug)]
pub enum Closed {
    Stored {
        messages: Vec<Message>,
        /// Sends leased to the caller, to send now in this order.
        at_once: Vec<ClaimedSend>,
        /// Sends were queued for the queue's worker.
        queued: bool,
    },
    /// The claimant no longer holds the event: nothing was stored.
    NotHeld,
}

/// Closes a turn in one transaction (see the module's doc): `replies` in
/// order, consecutive replies by one author stored together.
pub async fn close(db: &Db, end: TurnEnd<'_>, replies: Vec<Reply>) -> StoreResult<Closed> {
    let TurnEnd { business_id, conversation, channel, usage: turn_usage, event, at_once } = end;
    if replies.is_empty() && turn_usage.is_none() && event.is_none() {
        return Ok(Closed::Stored { messages: Vec::new(), at_once: Vec::new(), queued: false });
    }
    let key = db.data_key(business_id, KeyOwner::Customer(&conversation.customer_id)).await?;
    let has_sends = channel.is_some() && replies.iter().any(|reply| !reply.sends.is_empty());
    // Grouped by author, each group sealed (outside the transaction).
    let mut groups = Vec::new();
    let mut rest = replies.as_slice();
    while let Some(first) = rest.first() {
        let end = rest.iter().position(|reply| reply.author != first.author).unwrap_or(rest.len());
        let (group, after) = rest.split_at(end);
        let bodies: Vec<serde_json::Value> = group.iter().map(|reply| reply.body.clone()).collect();
        let sends: Vec<Vec<NewSend>> = group.iter().map(|reply| reply.sends.clone()).collect();
        let prepared = conversations::prepare(&key, &bodies, channel.map(|_| sends.as_slice()))?;
        groups.push((first.author, group.iter().any(|reply| reply.empties_cart), sends, prepared));
        rest = after;
    }
    let now = ids::now_ms();
    let mut tx = db.pool().begin().await?;
    let direct = match (at_once, has_sends) {
        (Some(at_once), true) => {
            // The conversation's row first (PostgreSQL: its lock, taken by
            // the same statement that counts), so a send another transaction
            // queues for it is either counted here or numbered after these.
            let count = match db.backend() {
                Backend::Postgres => {
                    "SELECT (SELECT COUNT(*) FROM outbox o WHERE o.conversation_id = c.id AND o.state = 'pending') \
                     FROM conversations c WHERE c.id = $1 FOR UPDATE OF c"
                }
                Backend::Sqlite => "SELECT COUNT(*) FROM outbox WHERE conversation_id = $1 AND state = 'pending'",
            };
            let earlier: Option<i64> =
                sqlx::query_scalar(count).bind(&conversation.id).fetch_optional(&mut *tx).await?;
            (earlier.unwrap_or(0) == 0).then_some(at_once)
        }
        _ => None,
    };
    let mut messages = Vec::new();
    let mut at_once_sends = Vec::new();
    for (n, (author, empties_cart, sends, prepared)) in groups.into_iter().enumerate() {
        if let (Some(direct), Some(channel)) = (direct, channel) {
            for message in &prepared {
                for (id, body) in message.sends() {
                    at_once_sends.push(ClaimedSend {
                        id: id.to_string(),
                        business_id: business_id.to_string(),
                        conversation_id: conversation.id.clone(),
                        customer_id: conversation.customer_id.clone(),
                        channel: channel.to_string(),
                        body: body.to_string(),
                        attempts: 0,
                        recipient: direct.recipient.to_string(),
                        last_inbound_at: Some(direct.last_inbound_at),
                        held_until: direct.held_until,
                    });
                }
            }
        }
        let outgoing = Outgoing {
            sends: channel.map(|channel| (channel, sends.as_slice())),
            empties_cart,
            // The turn's usage goes with its first stored reply.
            usage: turn_usage.filter(|_| n == 0),
            sends_held_until: direct.map(|direct| direct.held_until),
            ..Outgoing::default()
        };
        let batch = Batch { business_id, conversation, direction: Direction::Outbound, author, now };
        match conversations::append_on(&mut tx, batch, prepared, outgoing).await? {
            Appended::Stored(stored) => messages.extend(stored),
            Appended::CustomerChanged => {
                drop(tx);
                return Err(conversations::customer_changed(db, business_id, &conversation.customer_id).await);
            }
            Appended::EventStored => return Err(StoreError::Corrupt("a reply named an inbound event".into())),
        }
    }
    if let (true, Some(fact)) = (messages.is_empty(), turn_usage) {
        // A silent turn still ran the plugin: its usage is stored alone.
        usage::record(&mut tx, fact).await?;
    }
    if let Some(event) = event
        && !inbound_events::settle_on(&mut tx, &event.id, event.held_until).await?
    {
        return Ok(Closed::NotHeld);
    }
    tx.commit().await?;
    let queued = has_sends && direct.is_none() && !messages.is_empty();
    Ok(Closed::Stored { messages, at_once: at_once_sends, queued })
}
