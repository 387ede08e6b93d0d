//! Who answers a conversation: what the business set up without code (the
//! greeting, the away message, the words that ask for a person), the hand-off
//! from the bot to the business's people (`bot` → `pending_agent`), and the
//! replies a person sends while holding a conversation.
//!
//! Taking a conversation (`agent`) and giving it back to the bot (`bot`) are
//! the business's calls (`api/chat.rs`); a bot asks for a person with its
//! `human-agent` reply (see `converse`).

use super::{Authored, ChatError, ChatService, Inbound, RenderedReply, automations, fallback};
use crate::store::businesses::Business;
use crate::store::conversations::{self, Author, Conversation, Handling, Message};

impl ChatService {
    /// The greeting (on a customer's first message) and the away message
    /// (outside opening hours, at most once every 12 hours) the business set up.
    pub(super) async fn automated_replies(
        &self,
        business: &Business,
        conversation: &Conversation,
    ) -> Result<Vec<Authored>, ChatError> {
        let Some(automations) = &business.automations else { return Ok(Vec::new()) };
        let mut replies = Vec::new();
        // `conversation` was read before the inbound message was stored: a
        // count of 0 means this message is the first.
        let first_contact = conversation.message_count == 0;
        if let (true, Some(greeting)) = (first_contact, &automations.greeting) {
            replies.push((Author::Host, RenderedReply::Text { text: greeting.clone() }));
        }
        let now = crate::ids::now_ms();
        if let Some(away) = automations.away.as_ref().filter(|away| !away.is_open(now))
            && conversations::claim_away_notice(&self.db, &conversation.id, now, automations::AWAY_REPEAT_MS).await?
        {
            replies.push((Author::Host, RenderedReply::Text { text: away.message.clone() }));
        }
        Ok(replies)
    }

    /// Who answers `message`: hands the conversation to the business's people
    /// when the customer asks for a person, or when the shop has automations
    /// but no bot (it is run by people: its conversations wait in the agents'
    /// inbox). Adds the host's "a person will reply" notice to `replies` when
    /// the customer is waiting for one.
    pub(super) async fn handling_for(
        &self,
        business: &Business,
        conversation: &Conversation,
        message: &Inbound,
        replies: &mut Vec<Authored>,
    ) -> Result<Handling, ChatError> {
        let automations = business.automations.clone().unwrap_or_default();
        let asks_for_a_person = match message {
            Inbound::Text(text) => automations.asks_for_a_person(text),
            _ => false,
        };
        let no_bot = business.active_plugin_version_id.is_none()
            && business.automations.is_some()
            && !self.native_bots.read().unwrap_or_else(|p| p.into_inner()).contains_key(&business.id);
        match conversation.handling {
            Handling::Bot if asks_for_a_person || no_bot => {
                conversations::set_handling(&self.db, &conversation.id, Handling::PendingAgent).await?;
                if asks_for_a_person || replies.is_empty() {
                    replies.push((Author::Host, RenderedReply::Text { text: fallback::WITH_AGENT.into() }));
                }
                Ok(Handling::PendingAgent)
            }
            Handling::PendingAgent if !no_bot => {
                replies.push((Author::Host, RenderedReply::Text { text: fallback::WITH_AGENT.into() }));
                Ok(Handling::PendingAgent)
            }
            handling => Ok(handling),
        }
    }

    /// Stores a person's reply in a conversation an agent holds, and sends it.
    pub async fn agent_reply(
        &self,
        business: &Business,
        conversation: &Conversation,
        text: String,
        agent: Option<String>,
    ) -> Result<Message, ChatError> {
        let view = RenderedReply::Text { text: text.clone() };
        let body = serde_json::json!({"type": "text", "text": text, "agent": agent});
        self.store_reply_as(business, conversation, Author::Agent, body, &view).await
    }
}
