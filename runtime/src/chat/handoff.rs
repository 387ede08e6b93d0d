//! Who answers a conversation: what the business set up without code (the
//! greeting, the away message, the words that ask for a person), the owner of
//! a conversation's handling (`bot`, `pending_agent`, `agent`), and the
//! replies a person sends while holding a conversation.
//!
//! Every change of handling goes through [`change_handling`]: the customer's
//! words or a shop run by people (`handling_for`), the bot's `human-agent`
//! reply (`converse`), and the business taking and releasing a conversation
//! (`api/chat.rs`). It decides from the typed state it read, and the store
//! writes the change only if the conversation still stands as read (its
//! handling and its holder), so two agents racing for one conversation cannot
//! both win: the loser reads again and is told who holds it.

use super::{Authored, ChatError, ChatService, Inbound, RenderedReply, fallback};
use crate::automations;
use crate::store::businesses::Business;
use crate::store::conversations::{self, Author, Conversation, Handling, Holder, Message};
use crate::store::{Db, StoreError};

/// The longest agent name, in characters.
pub const MAX_AGENT_CHARS: usize = 64;

/// A change of who answers a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlingChange<'a> {
    /// The customer or the bot asked for a person: a conversation the bot
    /// answers waits for one (`pending_agent`); one already waiting or held
    /// stays as it is.
    RequestAgent,
    /// `agent` takes the conversation over; the bot stays quiet until it is
    /// released. Taking one's own conversation again changes nothing; taking
    /// one another agent holds is refused.
    Take { agent: &'a str },
    /// The conversation goes back to the bot. `agent` names who releases it,
    /// and must then be its holder. With no agent named, the business itself
    /// releases it (its API key speaks for all its people: there are no staff
    /// accounts to tell them apart), whoever holds it.
    Release { agent: Option<&'a str> },
}

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("name the agent who takes the conversation (`{{\"agent\": \"maria\"}}`)")]
    AgentRequired,
    #[error("agent must be 1 to {} characters without control characters", MAX_AGENT_CHARS)]
    InvalidAgent,
    #[error("{holder} holds this conversation; they release it first")]
    HeldByAnotherAgent { holder: String },
    #[error("no conversation `{0}`")]
    UnknownConversation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks an agent's name: 1 to [`MAX_AGENT_CHARS`] characters (surrounding
/// spaces ignored), no control characters. Returns it trimmed.
pub fn agent_name(name: &str) -> Result<&str, HandoffError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(HandoffError::AgentRequired);
    }
    if name.chars().count() > MAX_AGENT_CHARS || name.chars().any(char::is_control) {
        return Err(HandoffError::InvalidAgent);
    }
    Ok(name)
}

/// How many times a change is decided again when the conversation moved
/// between reading it and writing the change.
const ATTEMPTS: usize = 5;

/// Changes who answers conversation `conversation_id` of `business_id`, and
/// returns the conversation as it stands afterwards. The one transition of a
/// conversation's handling: every caller goes through it.
pub async fn change_handling(
    db: &Db,
    business_id: &str,
    conversation_id: &str,
    change: HandlingChange<'_>,
) -> Result<Conversation, HandoffError> {
    let change = match change {
        HandlingChange::Take { agent } => HandlingChange::Take { agent: agent_name(agent)? },
        HandlingChange::Release { agent: Some(agent) } => HandlingChange::Release { agent: Some(agent_name(agent)?) },
        other => other,
    };
    for _ in 0..ATTEMPTS {
        let read = conversations::get(db, business_id, conversation_id)
            .await?
            .ok_or_else(|| HandoffError::UnknownConversation(conversation_id.to_string()))?;
        let Some(to) = decide(read.holder(), change)? else { return Ok(read) };
        if let Some(changed) = conversations::change_holder(db, business_id, conversation_id, read.holder(), to).await?
        {
            return Ok(changed);
        }
        // Another request changed it meanwhile: decide again from what it is now.
    }
    Err(StoreError::Conflict("the conversation kept changing while it was being handed over; try again".into()).into())
}

/// Where `change` takes a conversation `now` held as it is; `None` when it
/// stays as it is.
fn decide<'a>(now: Holder<'_>, change: HandlingChange<'a>) -> Result<Option<Holder<'a>>, HandoffError> {
    let held_by_another = |agent: &str| match (now.handling, now.agent) {
        (Handling::Agent, Some(holder)) if holder != agent => {
            Err(HandoffError::HeldByAnotherAgent { holder: holder.to_string() })
        }
        _ => Ok(()),
    };
    match change {
        HandlingChange::RequestAgent => {
            Ok((now.handling == Handling::Bot).then_some(Holder { handling: Handling::PendingAgent, agent: None }))
        }
        HandlingChange::Take { agent } => {
            held_by_another(agent)?;
            let to = Holder { handling: Handling::Agent, agent: Some(agent) };
            Ok((now != to).then_some(to))
        }
        HandlingChange::Release { agent } => {
            if let Some(agent) = agent {
                held_by_another(agent)?;
            }
            // Released even when the bot already answers: the bot is told
            // (`agent-released`) either way.
            Ok((now.handling != Handling::Bot).then_some(Holder { handling: Handling::Bot, agent: None }))
        }
    }
}

impl From<HandoffError> for ChatError {
    fn from(error: HandoffError) -> Self {
        match error {
            HandoffError::Store(store) => ChatError::Store(store),
            HandoffError::UnknownConversation(id) => ChatError::UnknownConversation(id),
            other => ChatError::Invalid(other.to_string()),
        }
    }
}

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
                let now =
                    change_handling(&self.db, &business.id, &conversation.id, HandlingChange::RequestAgent).await?;
                if asks_for_a_person || replies.is_empty() {
                    replies.push((Author::Host, RenderedReply::Text { text: fallback::WITH_AGENT.into() }));
                }
                Ok(now.handling)
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
