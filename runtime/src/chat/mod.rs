//! The conversation engine: one inbound message (or event), end to end.
//!
//! Resolve the customer to this business's pseudonym, store what they sent
//! (before anything can fail), run the business's bot, render its replies from
//! the host's own catalog, store them, and return them. A plugin that fails is
//! recorded for the business, counted by the circuit breaker, and replaced by a
//! polite fallback reply; it never costs the customer's message.
//!
//! Invariant: the customer's handle stops here. The bot receives a
//! [`ConversationContext`] built only from the pseudonym and conversation.

pub mod automations;
mod feed;
mod inbound;
mod native;
pub mod pseudonym;
pub mod render;

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

use crate::commerce::cart::CartRef;
use crate::commerce::orders::{self, CheckoutScope};
use crate::config::CommerceConfig;
use crate::plugin::bindings::{CatalogQuery, Choice, ConversationContext, InboundMessage, Reply, ShopEvent};
use crate::plugin::{CallScope, PluginFault, PluginHost, PluginSession, SessionLogs, cart_to_wit};
use crate::store::businesses::{self, Business};
use crate::store::conversations::{self, Conversation, Message};
use crate::store::outbox::NewSend;
use crate::store::plugin_events::{self, NewLogLine};
use crate::store::{Db, StoreError};

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

/// What the bot is asked to do in one turn.
enum Turn {
    Message(InboundMessage),
    Browse(CatalogQuery),
    Event(ShopEvent),
}

pub struct ChatService {
    db: Db,
    plugins: Arc<PluginHost>,
    commerce: CommerceConfig,
    native_bots: RwLock<HashMap<String, Arc<dyn NativeBot>>>,
    /// Wakes the outbox sender when replies are queued for a push transport.
    outbox_wake: Arc<tokio::sync::Notify>,
    /// Tells open web chats about new messages.
    feed: MessageFeed,
}

impl std::fmt::Debug for ChatService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatService").finish_non_exhaustive()
    }
}

impl ChatService {
    pub fn new(
        db: Db,
        plugins: Arc<PluginHost>,
        commerce: CommerceConfig,
        outbox_wake: Arc<tokio::sync::Notify>,
    ) -> ChatService {
        ChatService {
            db,
            plugins,
            commerce,
            native_bots: RwLock::new(HashMap::new()),
            outbox_wake,
            feed: MessageFeed::default(),
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

    /// Handles one inbound message for `business`.
    pub async fn handle_inbound(&self, business: &Business, request: InboundRequest) -> Result<ChatOutcome, ChatError> {
        inbound::validate(&request)?;
        let customer_id = pseudonym::derive(&business.pseudonym_key, &request.handle);
        let locale = request.locale.clone().unwrap_or_else(|| business.locale.clone());
        let conversation =
            conversations::open(&self.db, &business.id, &customer_id, &request.channel, &request.handle, &locale)
                .await?;

        let body = inbound::stored_body(&request.message);
        let mut stored =
            conversations::append(&self.db, &business.id, &conversation.id, "inbound", "customer", &[body]).await?;
        let inbound = stored.pop().ok_or_else(|| StoreError::Corrupt("stored message vanished".into()))?;
        self.feed.announce(&self.db, &conversation.id, &conversation.channel).await;

        // What the business set up without code comes first: a greeting on the
        // first message, and "we're away" outside opening hours.
        let mut replies = self.automated_replies(business, &conversation).await?;
        let automations = business.automations.clone().unwrap_or_default();
        let mut handling = conversation.handling.as_str();
        let asks_for_a_person = match &request.message {
            Inbound::Text(text) => automations.asks_for_a_person(text),
            _ => false,
        };
        // A shop without a bot but with automations is run by people: its
        // conversations wait in the agents' inbox.
        let no_bot = business.active_plugin_version_id.is_none()
            && business.automations.is_some()
            && !self.native_bots.read().unwrap_or_else(|p| p.into_inner()).contains_key(&business.id);
        if handling == "bot" && (asks_for_a_person || no_bot) {
            conversations::set_handling(&self.db, &conversation.id, "pending_agent").await?;
            handling = "pending_agent";
            if asks_for_a_person || replies.is_empty() {
                replies.push(("host", RenderedReply::Text { text: fallback::WITH_AGENT.into() }));
            }
        } else if handling == "pending_agent" && !no_bot {
            replies.push(("host", RenderedReply::Text { text: fallback::WITH_AGENT.into() }));
        }

        let mut notes = Vec::new();
        let turn = match request.message {
            Inbound::Text(text) | Inbound::ProductQuestion { text, .. } => Turn::Message(InboundMessage::Text(text)),
            Inbound::Unreadable { kind, .. } => {
                // Reactions and system notices need no answer; the rest get a note.
                if handling == "bot" && !matches!(kind.as_str(), "reaction" | "system") {
                    replies.push(("host", RenderedReply::Text { text: fallback::UNREADABLE.into() }));
                }
                let replies = self.store_replies(business, &conversation, replies).await?;
                return Ok(ChatOutcome {
                    conversation_id: conversation.id,
                    customer_id,
                    inbound,
                    replies,
                    plugin_run: None,
                });
            }
            Inbound::Choice { id, title } => Turn::Message(InboundMessage::Choice(Choice { id, title })),
            Inbound::ProductTap(id) => Turn::Message(InboundMessage::ProductTap(id)),
            Inbound::Cart(items) => {
                let cart = cart_ref(&self.db, business, &conversation.id);
                for (product_id, reason) in cart.replace(&items).await? {
                    notes.push(format!("cart line `{product_id}` was left out: {reason:?}"));
                }
                Turn::Message(InboundMessage::Cart(
                    items
                        .into_iter()
                        .map(|(product_id, quantity)| crate::plugin::bindings::CartItem { product_id, quantity })
                        .collect(),
                ))
            }
            Inbound::Browse { query, section } => Turn::Browse(CatalogQuery { text: query, section }),
        };

        let mut plugin_run = None;
        if handling == "bot" {
            let (bot_replies, run) = self.run_turn(business, &conversation, turn, notes).await?;
            replies.extend(bot_replies);
            plugin_run = run;
        }
        let replies = self.store_replies(business, &conversation, replies).await?;
        Ok(ChatOutcome { conversation_id: conversation.id, customer_id, inbound, replies, plugin_run })
    }

    /// The greeting (on a customer's first message) and the away message
    /// (outside opening hours, at most once every 12 hours) the business set up.
    async fn automated_replies(
        &self,
        business: &Business,
        conversation: &Conversation,
    ) -> Result<Vec<(&'static str, RenderedReply)>, ChatError> {
        let Some(automations) = &business.automations else { return Ok(Vec::new()) };
        let mut replies = Vec::new();
        // The inbound message was just stored: it is the first when the count is 1.
        let first_contact = conversation.message_count == 0;
        if let (true, Some(greeting)) = (first_contact, &automations.greeting) {
            replies.push(("host", RenderedReply::Text { text: greeting.clone() }));
        }
        let now = crate::ids::now_ms();
        if let Some(away) = automations.away.as_ref().filter(|away| !away.is_open(now))
            && conversations::claim_away_notice(&self.db, &conversation.id, now, automations::AWAY_REPEAT_MS).await?
        {
            replies.push(("host", RenderedReply::Text { text: away.message.clone() }));
        }
        Ok(replies)
    }

    /// Tells the bot about an event in a conversation and stores its replies.
    pub async fn deliver_event(
        &self,
        business: &Business,
        conversation: &Conversation,
        event: ShopEvent,
    ) -> Result<Vec<Message>, ChatError> {
        let (replies, _) = self.run_turn(business, conversation, Turn::Event(event), Vec::new()).await?;
        self.store_replies(business, conversation, replies).await
    }

    async fn store_replies(
        &self,
        business: &Business,
        conversation: &Conversation,
        replies: Vec<(&'static str, RenderedReply)>,
    ) -> Result<Vec<Message>, ChatError> {
        let views: Vec<&RenderedReply> = replies.iter().map(|(_, reply)| reply).collect();
        let sends = self.sends_for(business, conversation, &views).await?;
        let mut stored = Vec::with_capacity(replies.len());
        // Consecutive replies by one author are stored together.
        let mut start = 0;
        while start < replies.len() {
            let author = replies[start].0;
            let end = replies[start..].iter().position(|(a, _)| *a != author).map_or(replies.len(), |n| start + n);
            let bodies: Vec<serde_json::Value> = replies[start..end]
                .iter()
                .map(|(_, reply)| serde_json::to_value(reply).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect::<Result<_, _>>()?;
            let group_sends = sends.as_ref().map(|(channel, sends)| (*channel, &sends[start..end]));
            stored.extend(
                conversations::append_sending(
                    &self.db,
                    &business.id,
                    &conversation.id,
                    "outbound",
                    author,
                    &bodies,
                    group_sends,
                )
                .await?,
            );
            start = end;
        }
        if sends.is_some() && !stored.is_empty() {
            self.outbox_wake.notify_one();
        }
        if !stored.is_empty() {
            self.feed.announce(&self.db, &conversation.id, &conversation.channel).await;
        }
        Ok(stored)
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
        let sends = self.sends_for(business, conversation, &[&view]).await?;
        let body = serde_json::json!({"type": "text", "text": text, "agent": agent});
        let channel_sends = sends.as_ref().map(|(channel, sends)| (*channel, sends.as_slice()));
        let mut stored = conversations::append_sending(
            &self.db,
            &business.id,
            &conversation.id,
            "outbound",
            "agent",
            &[body],
            channel_sends,
        )
        .await?;
        if sends.is_some() {
            self.outbox_wake.notify_one();
        }
        self.feed.announce(&self.db, &conversation.id, &conversation.channel).await;
        Ok(stored.pop().ok_or_else(|| StoreError::Corrupt("stored message vanished".into()))?)
    }

    /// What the conversation's transport must be sent for these replies, when
    /// it is one the host pushes to (WhatsApp); `None` for the API channel,
    /// which answers in the response.
    async fn sends_for(
        &self,
        business: &Business,
        conversation: &Conversation,
        replies: &[&RenderedReply],
    ) -> Result<Option<(&'static str, Vec<Vec<NewSend>>)>, ChatError> {
        if conversation.channel != crate::transport::whatsapp::CHANNEL || replies.is_empty() {
            return Ok(None);
        }
        let sends = crate::transport::outbox::for_whatsapp(&self.db, business, replies).await?;
        Ok(Some((crate::transport::whatsapp::CHANNEL, sends)))
    }

    /// Runs the business's bot for one turn and renders its replies; on any
    /// fault, records it and answers with a fallback.
    async fn run_turn(
        &self,
        business: &Business,
        conversation: &Conversation,
        turn: Turn,
        notes: Vec<String>,
    ) -> Result<(Vec<(&'static str, RenderedReply)>, Option<PluginRun>), ChatError> {
        let context = ConversationContext {
            customer_id: conversation.customer_id.clone(),
            conversation_id: conversation.id.clone(),
            locale: conversation.locale.clone(),
            agent_active: conversation.handling == "agent",
        };
        let scope = CallScope {
            db: self.db.clone(),
            business_id: business.id.clone(),
            customer_id: conversation.customer_id.clone(),
            conversation_id: conversation.id.clone(),
            currency: business.currency.clone(),
            limits: business.limits,
        };

        let native = self.native_bots.read().unwrap_or_else(|p| p.into_inner()).get(&business.id).cloned();
        if let Some(bot) = native {
            let mut responder = Responder::Native { bot: bot.as_ref(), scope: &scope };
            let mut warnings = notes;
            return match self.converse(&mut responder, &scope, &context, turn, &mut warnings).await {
                Ok(rendered) => Ok((rendered, None)),
                Err(fault) => Ok((vec![("host", text(fallback_for(&fault)))], None)),
            };
        }

        let Some(version_id) = business.active_plugin_version_id.clone() else {
            return Ok((vec![("host", text(fallback::NO_PLUGIN))], None));
        };
        if business.plugin_disabled_reason.is_some() {
            return Ok((vec![("host", text(fallback::DISABLED))], None));
        }

        let mut warnings = notes;
        let mut logs = SessionLogs::default();
        let started = std::time::Instant::now();
        let outcome = async {
            let plugin = self.plugins.load(&self.db, &version_id).await?;
            let mut session = self.plugins.start_session(&plugin, scope.clone(), &business.capabilities).await?;
            let result =
                self.converse(&mut Responder::Plugin(&mut session), &scope, &context, turn, &mut warnings).await;
            logs = session.finish();
            result
        }
        .await;
        let run = PluginRun {
            elapsed: started.elapsed(),
            usage: logs.usage,
            fault: outcome.as_ref().err().map(ToString::to_string),
        };

        // The customer's answer matters more than the business's log: a failure
        // to keep either is logged, not turned into an error.
        if let Err(error) = self.keep_logs(business, &version_id, &conversation.id, logs, &warnings).await {
            tracing::error!(business = %business.id, "could not keep plugin logs: {error}");
        }
        match outcome {
            Ok(rendered) => {
                if business.plugin_consecutive_failures > 0 {
                    businesses::reset_plugin_failures(&self.db, &business.id).await?;
                }
                Ok((rendered, Some(run)))
            }
            Err(fault) => {
                if let Err(error) = self.record_fault(business, &version_id, &fault).await {
                    tracing::error!(business = %business.id, "could not record a plugin failure: {error}");
                }
                Ok((vec![("host", text(fallback_for(&fault)))], Some(run)))
            }
        }
    }

    /// Asks the responder for its replies and renders them.
    async fn converse(
        &self,
        responder: &mut Responder<'_>,
        scope: &CallScope,
        context: &ConversationContext,
        turn: Turn,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<(&'static str, RenderedReply)>, PluginFault> {
        let replies = responder.turn(context, &turn).await?;
        render::validate(&replies)?;
        let mut rendered = Vec::with_capacity(replies.len());
        for reply in replies {
            let host_error = |e: StoreError| PluginFault::Host(e.to_string());
            let mut author = "bot";
            let view = match reply {
                Reply::Text(text) => RenderedReply::Text { text },
                Reply::Buttons(b) => RenderedReply::Buttons {
                    body: b.body,
                    buttons: b.buttons.into_iter().map(|b| render::ButtonView { id: b.id, title: b.title }).collect(),
                },
                Reply::ChoiceList(l) => RenderedReply::List {
                    body: l.body,
                    button_label: l.button_label,
                    rows: l
                        .rows
                        .into_iter()
                        .map(|r| render::RowView { id: r.id, title: r.title, description: r.description })
                        .collect(),
                },
                Reply::Product(id) => {
                    match render::cards(&scope.db, &scope.business_id, &[id], warnings, &context.locale)
                        .await
                        .map_err(host_error)?
                        .pop()
                    {
                        Some(product) => RenderedReply::Product { product },
                        None => continue,
                    }
                }
                Reply::ProductList(p) => {
                    let products =
                        render::cards(&scope.db, &scope.business_id, &p.product_ids, warnings, &context.locale)
                            .await
                            .map_err(host_error)?;
                    if products.is_empty() {
                        continue;
                    }
                    RenderedReply::ProductList { header: p.header, body: p.body, products }
                }
                Reply::CartSummary | Reply::Checkout => {
                    let cart = cart_ref_scope(scope).view().await.map_err(host_error)?;
                    if cart.lines.is_empty() {
                        RenderedReply::Text { text: "Your cart is empty.".into() }
                    } else {
                        let discounts = responder.price_cart(context, &cart_to_wit(&cart)).await?;
                        let priced = render::priced(&cart, discounts, warnings, &context.locale);
                        if matches!(reply, Reply::Checkout) {
                            let (by, view) = self.checkout(scope, context, &cart, priced).await.map_err(host_error)?;
                            author = by;
                            view
                        } else {
                            RenderedReply::CartSummary { cart: priced }
                        }
                    }
                }
                Reply::HumanAgent(note) => {
                    conversations::set_handling(&scope.db, &scope.conversation_id, "pending_agent")
                        .await
                        .map_err(host_error)?;
                    RenderedReply::HandoffRequested { note }
                }
            };
            rendered.push((author, view));
        }
        Ok(rendered)
    }

    /// Creates the order for a checkout reply, with its payment link; a line
    /// that sold out meanwhile gets the customer a note instead.
    async fn checkout(
        &self,
        scope: &CallScope,
        context: &ConversationContext,
        cart: &crate::commerce::cart::CartView,
        priced: crate::commerce::cart::PricedCart,
    ) -> Result<(&'static str, RenderedReply), StoreError> {
        let at = CheckoutScope {
            db: &scope.db,
            business_id: &scope.business_id,
            conversation_id: &scope.conversation_id,
            customer_id: &context.customer_id,
        };
        let token = crate::ids::new_secret("pt");
        let token_hash = crate::ids::hash_api_key(&token);
        match orders::checkout(at, cart, &priced, self.commerce.reservation, token_hash).await? {
            Ok(order) => {
                let link = format!("{}/pay/{}?token={token}", self.commerce.public_url, order.id);
                Ok((
                    "bot",
                    RenderedReply::Checkout {
                        order: render::OrderSummary::of(&order, link, &context.locale),
                        cart: priced,
                    },
                ))
            }
            Err(sold_out) => {
                let name = cart
                    .lines
                    .iter()
                    .find(|l| l.product_id == sold_out.product_id)
                    .map_or(sold_out.product_id.as_str(), |l| l.name.as_str());
                let text = format!(
                    "Sorry, {name} has just sold out in that quantity. Please change your cart and check out again."
                );
                Ok(("host", RenderedReply::Text { text }))
            }
        }
    }

    async fn keep_logs(
        &self,
        business: &Business,
        version_id: &str,
        conversation_id: &str,
        logs: SessionLogs,
        warnings: &[String],
    ) -> Result<(), StoreError> {
        let mut lines = logs.lines;
        let printed = logs.printed.trim();
        if !printed.is_empty() {
            lines.push(NewLogLine {
                level: "info",
                message: printed.to_string(),
                fields: serde_json::json!({"stream": "stdio"}),
            });
        }
        if logs.dropped > 0 {
            lines.push(NewLogLine {
                level: "warn",
                message: format!("{} log lines dropped: the call's log budget was spent", logs.dropped),
                fields: serde_json::json!({"source": "host"}),
            });
        }
        for warning in warnings {
            lines.push(NewLogLine {
                level: "warn",
                message: warning.clone(),
                fields: serde_json::json!({"source": "host"}),
            });
        }
        if lines.is_empty() {
            return Ok(());
        }
        plugin_events::append_logs(&self.db, &business.id, version_id, Some(conversation_id), &lines).await
    }

    async fn record_fault(&self, business: &Business, version_id: &str, fault: &PluginFault) -> Result<(), StoreError> {
        tracing::warn!(business = %business.id, plugin_version = %version_id, kind = fault.kind(), "plugin call failed: {fault}");
        if !fault.is_plugin_fault() {
            return Ok(());
        }
        let detail = fault.to_string();
        plugin_events::record_failure(&self.db, &business.id, version_id, fault.kind(), &detail).await?;
        let threshold = self.plugins.config().failures_before_disable;
        if businesses::record_plugin_failure(&self.db, &business.id, version_id, threshold, &detail).await? {
            tracing::warn!(business = %business.id, plugin_version = %version_id, "circuit breaker disabled the plugin");
        }
        Ok(())
    }
}

/// Who answers a turn: the business's sandboxed plugin or a native bot.
enum Responder<'a> {
    Plugin(&'a mut PluginSession),
    Native { bot: &'a dyn NativeBot, scope: &'a CallScope },
}

impl Responder<'_> {
    async fn turn(&mut self, context: &ConversationContext, turn: &Turn) -> Result<Vec<Reply>, PluginFault> {
        match (self, turn) {
            (Responder::Plugin(session), Turn::Message(message)) => session.handle_message(context, message).await,
            (Responder::Plugin(session), Turn::Browse(query)) => session.present_catalog(context, query).await,
            (Responder::Plugin(session), Turn::Event(event)) => session.handle_event(context, event).await,
            (Responder::Native { bot, scope }, Turn::Message(message)) => {
                Ok(bot.handle_message(scope, context, message).await)
            }
            (Responder::Native { .. }, _) => Ok(Vec::new()),
        }
    }

    async fn price_cart(
        &mut self,
        context: &ConversationContext,
        cart: &crate::plugin::bindings::Cart,
    ) -> Result<Vec<crate::plugin::bindings::DiscountLine>, PluginFault> {
        match self {
            Responder::Plugin(session) => session.price_cart(context, cart).await,
            Responder::Native { bot, scope } => Ok(bot.price_cart(scope, context, cart).await),
        }
    }
}

fn text(text: &str) -> RenderedReply {
    RenderedReply::Text { text: text.to_string() }
}

fn fallback_for(fault: &PluginFault) -> &'static str {
    match fault {
        PluginFault::Overloaded => fallback::OVERLOADED,
        _ => fallback::FAILED,
    }
}

fn cart_ref<'a>(db: &'a Db, business: &'a Business, conversation_id: &'a str) -> CartRef<'a> {
    CartRef { db, business_id: &business.id, conversation_id, currency: &business.currency }
}

fn cart_ref_scope(scope: &CallScope) -> CartRef<'_> {
    CartRef {
        db: &scope.db,
        business_id: &scope.business_id,
        conversation_id: &scope.conversation_id,
        currency: &scope.currency,
    }
}
