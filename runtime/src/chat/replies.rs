//! Storing replies, and queuing their sends for transports that push them.
//!
//! A transport that delivers replies itself (WhatsApp) registers a
//! [`ReplyQueue`] for its channel; each stored reply's sends are inserted in
//! the transaction that stores it (`store::turns::close`), so a reply is
//! queued exactly when it is stored and in its order. A turn's sends may be
//! leased to this node in that transaction and handed straight to the
//! transport ([`ReplyQueue::dispatch`]), so the queue's worker need not claim
//! them; another node sends them if this one dies first. Conversations on a
//! channel with no queue (the API, the web chat) are answered in the response
//! or read from history.

use std::time::Duration;

use super::{Authored, BoxFuture, ChatError, ChatService, RenderedReply};
use crate::store::businesses::Business;
use crate::store::conversations::{self, Author, Conversation, Direction, Message};
use crate::store::inbound_events::ClaimedEvent;
use crate::store::outbox::{ClaimedSend, NewSend};
use crate::store::turns::{self, Closed, SendAtOnce, TurnEnd};
use crate::store::usage::UsageFact;
use crate::store::{Db, StoreError, StoreResult};

/// How a push transport's replies are queued: registered for its channel
/// with [`ChatService::register_outbound`] when the application is wired.
pub trait ReplyQueue: Send + Sync {
    /// The channel whose conversations this queues for (a conversation's `channel`).
    fn channel(&self) -> &'static str;

    /// The sends that say `replies` to a conversation of `business`, one list
    /// per reply (possibly empty), to be inserted with the replies.
    fn sends<'a>(
        &'a self,
        db: &'a Db,
        business: &'a Business,
        replies: &'a [&'a RenderedReply],
    ) -> BoxFuture<'a, StoreResult<Vec<Vec<NewSend>>>>;

    /// How long a turn's sends may be leased to this node to be sent at once
    /// ([`dispatch`](Self::dispatch)) rather than by the queue's worker;
    /// `None` when the transport sends everything from its queue.
    fn send_at_once(&self) -> Option<Duration> {
        None
    }

    /// Called once the sends' transaction committed: `at_once` are leased to
    /// this node, to be sent now in this order; `queued` says other sends wait
    /// in the queue for its worker.
    fn dispatch(&self, at_once: Vec<ClaimedSend>, queued: bool);
}

/// What a turn that answers a customer's message settles with its replies:
/// the inbound event it came in, and where sends handed straight to the
/// transport go.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settle<'a> {
    pub event: Option<&'a ClaimedEvent>,
    /// The handle the customer wrote from.
    pub recipient: &'a str,
    /// When the customer's message was stored.
    pub last_inbound_at: i64,
}

impl ChatService {
    /// Stores replies in order, consecutive replies by one author together,
    /// with their sends when the conversation's channel has a queue, and
    /// settles what `settle` names in the same transaction. `None` when the
    /// turn's event is no longer this node's (nothing was stored).
    pub(super) async fn store_replies(
        &self,
        business: &Business,
        conversation: &Conversation,
        replies: Vec<Authored>,
        usage: Option<UsageFact>,
        settle: Option<Settle<'_>>,
    ) -> Result<Option<Vec<Message>>, ChatError> {
        let queue = self.queue_for(conversation);
        let sends = match &queue {
            Some(queue) if !replies.is_empty() => {
                let views: Vec<&RenderedReply> = replies.iter().map(|(_, reply)| reply).collect();
                queue.sends(&self.db, business, &views).await?
            }
            _ => Vec::new(),
        };
        let mut sends = sends.into_iter();
        let replies = replies
            .into_iter()
            .map(|(author, reply)| {
                Ok(turns::Reply {
                    author,
                    body: serde_json::to_value(&reply).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    empties_cart: matches!(reply, RenderedReply::Checkout { .. }),
                    sends: sends.next().unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, ChatError>>()?;
        let at_once = match (&queue, settle) {
            (Some(queue), Some(settle)) => queue.send_at_once().map(|lease| SendAtOnce {
                held_until: crate::store::queue::due_after(crate::ids::now_ms(), lease),
                recipient: settle.recipient,
                last_inbound_at: settle.last_inbound_at,
            }),
            _ => None,
        };
        let end = TurnEnd {
            business_id: &business.id,
            conversation,
            channel: queue.as_ref().map(|queue| queue.channel()),
            usage: usage.as_ref(),
            event: settle.and_then(|settle| settle.event),
            at_once,
        };
        match turns::close(&self.db, end, replies).await? {
            Closed::NotHeld => Ok(None),
            Closed::Stored { messages, at_once, queued } => {
                if let Some(queue) = &queue
                    && (queued || !at_once.is_empty())
                {
                    queue.dispatch(at_once, queued);
                }
                // A turn's announcement covers the customer's message too.
                if !messages.is_empty() || settle.is_some() {
                    self.feed.announce(&self.db, &conversation.id, &conversation.channel).await;
                }
                Ok(Some(messages))
            }
        }
    }

    /// Like [`store_replies`](Self::store_replies) for replies that settle
    /// nothing (an event's answer, a notice).
    pub(super) async fn store_replies_alone(
        &self,
        business: &Business,
        conversation: &Conversation,
        replies: Vec<Authored>,
    ) -> Result<Vec<Message>, ChatError> {
        Ok(self.store_replies(business, conversation, replies, None, None).await?.unwrap_or_default())
    }

    /// The queue registered for the conversation's channel, if any.
    fn queue_for(&self, conversation: &Conversation) -> Option<std::sync::Arc<dyn ReplyQueue>> {
        self.outbound.read().unwrap_or_else(|p| p.into_inner()).get(conversation.channel.as_str()).cloned()
    }

    /// Stores one outbound message `body` by `author`, sent as `view` would be.
    pub(super) async fn store_reply_as(
        &self,
        business: &Business,
        conversation: &Conversation,
        author: Author,
        body: serde_json::Value,
        view: &RenderedReply,
    ) -> Result<Message, ChatError> {
        let sends = self.sends_for(business, conversation, &[view]).await?;
        let channel_sends = sends.as_ref().map(|(channel, sends)| (*channel, sends.as_slice()));
        let mut stored = conversations::append_sending(
            &self.db,
            &business.id,
            conversation,
            Direction::Outbound,
            author,
            &[body],
            conversations::Outgoing { sends: channel_sends, ..conversations::Outgoing::default() },
        )
        .await?;
        if let Some(queue) = self.queue_for(conversation).filter(|_| sends.is_some()) {
            queue.dispatch(Vec::new(), true);
        }
        self.feed.announce(&self.db, &conversation.id, &conversation.channel).await;
        Ok(stored.pop().ok_or_else(|| StoreError::Corrupt("stored message vanished".into()))?)
    }

    /// Stores a text the business itself starts (a notice, an offer: not an
    /// answer to the customer's turn) by the business's people, and sends it
    /// like any reply. Whether the business may start one now is billing's
    /// check, made by the caller first (`billing::limits::business_send_allowed`).
    pub async fn business_message(
        &self,
        business: &Business,
        conversation: &Conversation,
        text: String,
    ) -> Result<Message, ChatError> {
        let view = RenderedReply::Text { text: text.clone() };
        let body = serde_json::json!({"type": "text", "text": text, "business_initiated": true});
        self.store_reply_as(business, conversation, Author::Agent, body, &view).await
    }

    /// What the conversation's channel must be sent for these replies, when a
    /// transport registered a queue for it; `None` otherwise (the API channel
    /// answers in the response, the web chat reads history).
    async fn sends_for(
        &self,
        business: &Business,
        conversation: &Conversation,
        replies: &[&RenderedReply],
    ) -> Result<Option<(&'static str, Vec<Vec<NewSend>>)>, ChatError> {
        if replies.is_empty() {
            return Ok(None);
        }
        let Some(queue) = self.queue_for(conversation) else { return Ok(None) };
        let sends = queue.sends(&self.db, business, replies).await?;
        Ok(Some((queue.channel(), sends)))
    }
}
