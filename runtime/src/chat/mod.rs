//! The conversation engine: one inbound message (or event), end to end.
//!
//! Resolve the customer to this business's pseudonym, store what they sent
//! (before anything can fail), decide who answers, run the business's bot,
//! render its replies from the host's own catalog, store them (queuing their
//! sends for push transports), and return them. A plugin that fails is
//! recorded for the business, counted by the circuit breaker, and replaced by
//! a polite fallback reply; it never costs the customer's message.
//!
//! [`ChatService::handle_inbound`] reads top-down through the modules:
//! `handoff` (automations and who answers), `turn` (running the bot, its
//! breaker and logs), `converse` (asking the bot and rendering its replies,
//! with `checkout` for a checkout reply), and `replies` (storing replies and
//! queuing their sends through the [`ReplyQueue`] each transport registers).
//!
//! Invariants: the customer's handle stops here. The bot receives a
//! [`ConversationContext`] built only from the pseudonym and conversation.
//! Chat knows no transport: a transport that pushes replies registers its
//! [`ReplyQueue`]; conversations on other channels are answered in the
//! response or read from history.
//!
//! [`ConversationContext`]: crate::plugin::bindings::ConversationContext

mod checkout;
mod converse;
mod feed;
pub mod handoff;
mod inbound;
mod native;
mod order_events;
pub mod render;
mod replies;
mod turn;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use utoipa::ToSchema;

pub use feed::MessageFeed;
pub use inbound::{
    Inbound, InboundRequest, MAX_INBOUND_CART_LINES, MAX_INBOUND_TEXT_BYTES, from_stored as inbound_from_stored,
    is_language_tag, validate as validate_inbound,
};
pub use native::{BoxFuture, NativeBot};
pub use render::RenderedReply;
pub use replies::ReplyQueue;

use crate::billing::Meter;
use crate::config::CommerceConfig;
use crate::failpoint;
use crate::plugin::PluginHost;
use crate::plugin::bindings::ShopEvent;
use crate::store::businesses::Business;
use crate::store::conversations::{Author, Conversation, Handling, Message};
use crate::store::data_keys::KeyOwner;
use crate::store::inbound_events::ClaimedEvent;
use crate::store::turns::{self, Opened};
use crate::store::{Db, StoreError};
use crate::store::{customer_data, customer_handles};

/// What came of an inbound event's turn.
#[derive(Debug)]
pub enum EventTurn {
    /// Answered: the message and its replies are stored, the event settled.
    Answered(Box<ChatOutcome>),
    /// An earlier event of the same sender is still pending: nothing was
    /// stored; answer this one after it.
    WaitsForEarlier,
    /// The caller no longer holds the event (another node took it over):
    /// nothing of this attempt was stored.
    NotHeld,
}

/// What came of an inbound message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatOutcome {
    pub conversation_id: String,
    /// The customer's pseudonym for this business.
    pub customer_id: String,
    pub inbound: Message,
    pub replies: Vec<Message>,
    /// How the business's plugin ran this turn, when it ran (for the
    /// developer's loop; not part of the API's answer).
    #[serde(skip)]
    pub plugin_run: Option<PluginRun>,
}

/// What one turn of a plugin took, to set against the business's limits.
#[derive(Debug, Clone)]
pub struct PluginRun {
    /// From asking the plugin to having its replies rendered (host calls included).
    pub elapsed: std::time::Duration,
    pub usage: crate::plugin::SessionUsage,
    /// Why the plugin's answer was replaced by a fallback, if it was.
    pub fault: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The message is not acceptable; nothing was stored.
    #[error("{0}")]
    Invalid(String),
    #[error("no conversation `{0}`")]
    UnknownConversation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Replies the host sends when the bot cannot answer.
pub mod fallback {
    pub const NO_PLUGIN: &str = "Hello! This shop isn't answering chat messages yet. Please try again later.";
    pub const DISABLED: &str =
        "Sorry, our assistant is unavailable right now. Your message has been saved and the team will see it.";
    pub const FAILED: &str = "Sorry, something went wrong on our side. Please try again in a moment.";
    pub const OVERLOADED: &str = "We're very busy right now. Please try again in a moment.";
    pub const WITH_AGENT: &str = "Thanks! A member of the team will reply here shortly.";
    /// To a photo, location or other message a bot cannot read.
    pub const UNREADABLE: &str = "Sorry, I can only read text, buttons and carts here. Please write what you need.";
}

/// How long the download link a customer asks for in the chat stays valid.
pub const DATA_LINK_MINUTES: i64 = 15;

/// Whether a customer's message asks for their own data (`/mydata`, "my
/// data", "export my data").
fn asks_for_own_data(message: &Inbound) -> bool {
    matches!(message, Inbound::Text(text)
        if matches!(text.trim().to_lowercase().as_str(), "/mydata" | "my data" | "export my data"))
}

/// A reply before it is stored, with who it is by.
type Authored = (Author, RenderedReply);

pub struct ChatService {
    db: Db,
    plugins: Arc<PluginHost>,
    commerce: CommerceConfig,
    native_bots: RwLock<HashMap<String, Arc<dyn NativeBot>>>,
    /// How replies are queued, by the channel of their conversation.
    outbound: RwLock<HashMap<&'static str, Arc<dyn ReplyQueue>>>,
    /// Tells open web chats about new messages.
    feed: MessageFeed,
    /// What the conversation's facts are metered as (messages, plugin compute).
    meter: Meter,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService").finish_non_exhaustive()
    }
}

impl ChatService {
    pub fn new(db: Db, plugins: Arc<PluginHost>, commerce: CommerceConfig, meter: Meter) -> ChatService {
        ChatService {
            db,
            plugins,
            commerce,
            native_bots: RwLock::new(HashMap::new()),
            outbound: RwLock::new(HashMap::new()),
            feed: MessageFeed::default(),
            meter,
        }
    }

    /// Announces new messages of any conversation (see [`MessageFeed`]).
    pub fn feed(&self) -> &MessageFeed {
        &self.feed
    }

    /// Answers a business's messages with a bot compiled into the host instead
    /// of its plugin.
    pub fn set_native_bot(&self, business_id: &str, bot: Arc<dyn NativeBot>) {
        self.native_bots.write().unwrap_or_else(|p| p.into_inner()).insert(business_id.to_string(), bot);
    }

    /// Queues the replies to conversations on `queue`'s channel through it
    /// (replacing any queue registered for that channel before). Until a
    /// channel has one, its replies are stored and nothing is queued.
    pub fn register_outbound(&self, queue: Arc<dyn ReplyQueue>) {
        self.outbound.write().unwrap_or_else(|p| p.into_inner()).insert(queue.channel(), queue);
    }

    /// Records that `handles` are one person's (a webhook carried a phone
    /// number and a business-scoped user id together, or an old number and
    /// its new one): every one of them names the customer the first known
    /// one does, so the pseudonym the plugin sees stays the same.
    pub async fn link_handles(&self, business_id: &str, handles: &[String]) -> Result<String, ChatError> {
        if handles.is_empty() {
            return Err(ChatError::Invalid("no handle to link".into()));
        }
        let handles: Vec<&str> = handles.iter().map(String::as_str).collect();
        Ok(customer_handles::link(&self.db, business_id, &handles).await?)
    }

    /// Handles one inbound message for `business` (one the JSON channel API
    /// received: metered by its stored message's id).
    pub async fn handle_inbound(&self, business: &Business, request: InboundRequest) -> Result<ChatOutcome, ChatError> {
        match self.handle(&business.id, request, None).await? {
            EventTurn::Answered(outcome) => Ok(*outcome),
            // Only an event can wait or be lost.
            EventTurn::WaitsForEarlier | EventTurn::NotHeld => {
                Err(StoreError::Conflict("the message could not be stored; try again".into()).into())
            }
        }
    }

    /// Handles the inbound message a transport stored as `event` (the
    /// inbox's turn), which the caller holds: stored once however often the
    /// event is answered, metered by the event's id, and settled with its
    /// replies in their transaction.
    pub async fn handle_inbound_event(
        &self,
        business_id: &str,
        request: InboundRequest,
        event: &ClaimedEvent,
    ) -> Result<EventTurn, ChatError> {
        self.handle(business_id, request, Some(event)).await
    }

    async fn handle(
        &self,
        business_id: &str,
        request: InboundRequest,
        event: Option<&ClaimedEvent>,
    ) -> Result<EventTurn, ChatError> {
        inbound::validate(&request)?;
        let handle_index = self.db.blind_index(business_id, &request.handle).await?;
        let body = inbound::stored_body(&request.message);
        // Metering hook: one message handled, in the message's own transaction,
        // keyed by the event it came in (or, without one, the stored message).
        let by_event = event.and_then(|event| self.meter.inbound_event(business_id, &event.id));
        let start = turns::TurnStart {
            business_id,
            event,
            channel: &request.channel,
            handle: &request.handle,
            handle_index: &handle_index,
            locale: request.locale.as_deref(),
            body: &body,
            usage: by_event.as_ref(),
            meter: if event.is_none() { self.meter.message_handled() } else { None },
        };
        let mut opened = turns::open(&self.db, start).await?;
        if matches!(opened, Opened::Cold) {
            // One person, one customer: the handle's mapping (see
            // `store::customer_handles`), or a new customer under a new random
            // pseudonym; their key fetched, so the turn's transaction has it.
            let customer_id = customer_handles::resolve(&self.db, business_id, &request.handle).await?;
            self.db.data_key(business_id, KeyOwner::Customer(&customer_id)).await?;
            opened = turns::open(&self.db, start).await?;
        }
        let turns::OpenTurn { business, customer_id, conversation, inbound, replayed: _ } = match opened {
            Opened::Stored(turn) => *turn,
            Opened::WaitsForEarlier => return Ok(EventTurn::WaitsForEarlier),
            Opened::NotHeld => return Ok(EventTurn::NotHeld),
            Opened::NoBusiness => return Err(ChatError::Invalid(format!("business {business_id} no longer exists"))),
            Opened::Cold => {
                return Err(
                    StoreError::Conflict("the customer's key could not be kept at hand; try again".into()).into()
                );
            }
        };
        // Announced with the replies (`store_replies`), once: a page shows its
        // own message until then.
        let settle = replies::Settle { event, recipient: &request.handle, last_inbound_at: inbound.created_at };
        let answered = |replies: Option<Vec<Message>>, plugin_run: Option<PluginRun>| match replies {
            Some(replies) => EventTurn::Answered(Box::new(ChatOutcome {
                conversation_id: conversation.id.clone(),
                customer_id: customer_id.clone(),
                inbound: inbound.clone(),
                replies,
                plugin_run,
            })),
            None => EventTurn::NotHeld,
        };

        // A customer asking for their own data is answered by the host, never
        // the bot: a download link of their export, sent to them alone.
        if asks_for_own_data(&request.message) {
            let link = self.own_data_link(&business, &customer_id).await?;
            let text = format!(
                "Here is everything this shop holds about you, for the next {DATA_LINK_MINUTES} minutes: {link}"
            );
            let reply = vec![(Author::Host, turn::text(&text))];
            let stored = self.store_replies(&business, &conversation, reply, None, Some(settle)).await?;
            return Ok(answered(stored, None));
        }

        // A business its operator suspended keeps its customers' messages but
        // says nothing: no automations, no bot.
        if business.suspended_at.is_some() {
            let stored = self.store_replies(&business, &conversation, Vec::new(), None, Some(settle)).await?;
            return Ok(answered(stored, None));
        }

        // What the business set up without code comes first (a greeting, "we're
        // away"), then who answers: the bot, or the people it was handed to.
        let mut replies = self.automated_replies(&business, &conversation).await?;
        let handling = self.handling_for(&business, &conversation, &request.message, &mut replies).await?;

        let mut plugin_run = None;
        match turn::Asked::from_inbound(&self.db, &business, &conversation.id, request.message).await? {
            turn::Asked::Bot { turn, notes } => {
                if handling == Handling::Bot {
                    let (bot_replies, run) = self.run_turn(&business, &conversation, turn, notes).await?;
                    replies.extend(bot_replies);
                    plugin_run = run;
                }
            }
            turn::Asked::Unreadable { kind } => {
                // Reactions and system notices need no answer; the rest get a note.
                if handling == Handling::Bot && !matches!(kind.as_str(), "reaction" | "system") {
                    replies.push((Author::Host, turn::text(fallback::UNREADABLE)));
                }
            }
        }
        // A crash here answers the event again: its message is found stored,
        // its usage keyed by the event, so it is stored and metered once.
        self.commerce.failpoints.hit(failpoint::TURN_BEFORE_REPLIES).await;
        // Metering hook: the plugin's CPU time, in the transaction of the turn's replies.
        let compute =
            self.meter.plugin_turn(&business.id, &inbound.id, plugin_run.as_ref().map(|run| run.usage.cpu_time));
        let stored = self.store_replies(&business, &conversation, replies, compute, Some(settle)).await?;
        Ok(answered(stored, plugin_run))
    }

    /// A download link of `customer_id`'s export, valid [`DATA_LINK_MINUTES`]
    /// (only its token's hash is kept).
    async fn own_data_link(&self, business: &Business, customer_id: &str) -> Result<String, ChatError> {
        let token = crate::ids::new_secret("cdx");
        let expires_at = crate::ids::now_ms() + DATA_LINK_MINUTES * 60_000;
        let hash = crate::ids::hash_secret(&token);
        customer_data::create_link(&self.db, &business.id, customer_id, &hash, expires_at).await?;
        Ok(format!("{}/v1/customer-data?token={token}", self.commerce.public_url.trim_end_matches('/')))
    }

    /// Tells the bot about an event in a conversation and stores its replies.
    pub async fn deliver_event(
        &self,
        business: &Business,
        conversation: &Conversation,
        event: ShopEvent,
    ) -> Result<Vec<Message>, ChatError> {
        if business.suspended_at.is_some() {
            // A suspended business's bot is stopped.
            return Ok(Vec::new());
        }
        let (replies, _) = self.run_turn(business, conversation, turn::Turn::Event(event), Vec::new()).await?;
        self.store_replies_alone(business, conversation, replies).await
    }
}
