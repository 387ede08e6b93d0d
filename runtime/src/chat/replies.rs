//! Storing replies, and queuing their sends for transports that push them.
//!
//! A transport that delivers replies itself (WhatsApp) registers a
//! [`ReplyQueue`] for its channel; each stored reply's sends are inserted in
//! the transaction that stores it (`conversations::append_sending`), so a reply
//! is queued exactly when it is stored and in its order. Conversations on a
//! channel with no queue (the API, the web chat) are answered in the response
//! or read from history.

use super::{Authored, BoxFuture, ChatError, ChatService, RenderedReply};
use crate::store::businesses::Business;
use crate::store::conversations::{self, Author, Conversation, Direction, Message};
use crate::store::outbox::NewSend;
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
}

impl ChatService {
    /// Stores replies in order, consecutive replies by one author together,
    /// queuing their sends when the conversation's channel has a queue.
    pub(super) async fn store_replies(
        &self,
        business: &Business,
        conversation: &Conversation,
        replies: Vec<Authored>,
        usage: Option<UsageFact>,
    ) -> Result<Vec<Message>, ChatError> {
        let views: Vec<&RenderedReply> = replies.iter().map(|(_, reply)| reply).collect();
        let sends = self.sends_for(business, conversation, &views).await?;
        let mut stored = Vec::with_capacity(replies.len());
        let mut start = 0;
        while start < replies.len() {
            let author = replies[start].0;
            let end = replies[start..].iter().position(|(a, _)| *a != author).map_or(replies.len(), |n| start + n);
            let bodies: Vec<serde_json::Value> = replies[start..end]
                .iter()
                .map(|(_, reply)| serde_json::to_value(reply).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect::<Result<_, _>>()?;
            let group_sends = sends.as_ref().map(|(channel, sends)| (*channel, &sends[start..end]));
            let empties_cart =
                replies[start..end].iter().any(|(_, reply)| matches!(reply, RenderedReply::Checkout { .. }));
            // The turn's usage goes with its first stored reply.
            let turn_usage = usage.as_ref().filter(|_| start == 0);
            let outgoing = conversations::Outgoing { sends: group_sends, empties_cart, usage: turn_usage, meter: None };
            stored.extend(
                conversations::append_sending(
                    &self.db,
                    &business.id,
                    conversation,
                    Direction::Outbound,
                    author,
                    &bodies,
                    outgoing,
                )
                .await?,
            );
            start = end;
        }
        if let (true, Some(usage)) = (replies.is_empty(), &usage) {
            // A silent turn still ran the plugin: its usage is stored alone.
            crate::store::usage::record_alone(&self.db, usage).await?;
        }
        if sends.is_some() && !stored.is_empty() {
            self.outbox_wake.notify_one();
        }
        if !stored.is_empty() {
            self.feed.announce(&self.db, &conversation.id, &conversation.channel).await;
        }
        Ok(stored)
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
        if sends.is_some() {
            self.outbox_wake.notify_one();
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
        let queue = self.outbound.read().unwrap_or_else(|p| p.into_inner()).get(conversation.channel.as_str()).cloned();
        let Some(queue) = queue else { return Ok(None) };
        let sends = queue.sends(&self.db, business, replies).await?;
        Ok(Some((queue.channel(), sends)))
    }
}
