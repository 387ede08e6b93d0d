//! Running the bot for one turn: the business's sandboxed plugin (a session
//! per turn) or a native bot, the circuit breaker that disables a plugin that
//! keeps failing, the record of its faults, and the logs it leaves for the
//! business. Whatever goes wrong, the customer gets a fallback reply.
//!
//! Only the plugin's own faults count toward the breaker: a call stopped
//! because the host was overloaded or a host call was slow
//! (`PluginFault::HostOverloaded`) is recorded for the business under its own
//! kind, and counted against no one. Plugin text (a fault's detail can quote
//! what the plugin printed) reaches the operator's log only escaped, as a
//! field (`plugin::escape_for_log`), never as a log message of its own.

use super::{Authored, ChatError, ChatService, Inbound, NativeBot, PluginRun, RenderedReply, fallback};
use crate::commerce::cart::CartRef;
use crate::plugin::bindings::{
    Cart, CartItem, CatalogQuery, Choice, ConversationContext, DiscountLine, InboundMessage, Reply, ShopEvent,
};
use crate::plugin::{CallScope, PluginFault, PluginSession, SessionLogs};
use crate::store::businesses::{self, Business};
use crate::store::conversations::{Author, Conversation, Handling};
use crate::store::plugin_events::{self, NewLogLine};
use crate::store::{Db, StoreError};

/// What the bot is asked to do in one turn.
pub(super) enum Turn {
    Message(InboundMessage),
    Browse(CatalogQuery),
    Event(ShopEvent),
}

/// What an inbound message asks of the bot.
pub(super) enum Asked {
    /// A turn, with notes for the business's log (cart lines left out).
    Bot { turn: Turn, notes: Vec<String> },
    /// Something a bot cannot read (a photo, a reaction...), of this kind.
    Unreadable { kind: String },
}

impl Asked {
    /// The bot's turn for `message`. A cart sent as a message becomes the
    /// conversation's cart first, whoever answers it.
    pub(super) async fn from_inbound(
        db: &Db,
        business: &Business,
        conversation_id: &str,
        message: Inbound,
    ) -> Result<Asked, ChatError> {
        let mut notes = Vec::new();
        let turn = match message {
            Inbound::Text(text) | Inbound::ProductQuestion { text, .. } => Turn::Message(InboundMessage::Text(text)),
            Inbound::Unreadable { kind, .. } => return Ok(Asked::Unreadable { kind }),
            Inbound::Choice { id, title } => Turn::Message(InboundMessage::Choice(Choice { id, title })),
            Inbound::ProductTap(id) => Turn::Message(InboundMessage::ProductTap(id)),
            Inbound::Cart(items) => {
                let cart = CartRef { db, business_id: &business.id, conversation_id, currency: &business.currency };
                for (product_id, reason) in cart.replace(&items).await? {
                    notes.push(format!("cart line `{product_id}` was left out: {reason:?}"));
                }
                Turn::Message(InboundMessage::Cart(
                    items.into_iter().map(|(product_id, quantity)| CartItem { product_id, quantity }).collect(),
                ))
            }
            Inbound::Browse { query, section } => Turn::Browse(CatalogQuery { text: query, section }),
        };
        Ok(Asked::Bot { turn, notes })
    }
}

impl ChatService {
    /// Runs the business's bot for one turn and renders its replies; on any
    /// fault, records it and answers with a fallback.
    pub(super) async fn run_turn(
        &self,
        business: &Business,
        conversation: &Conversation,
        turn: Turn,
        notes: Vec<String>,
    ) -> Result<(Vec<Authored>, Option<PluginRun>), ChatError> {
        let context = ConversationContext {
            customer_id: conversation.customer_id.clone(),
            conversation_id: conversation.id.clone(),
            locale: conversation.locale.clone(),
            agent_active: conversation.handling == Handling::Agent,
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
                Err(fault) => Ok((vec![(Author::Host, text(fallback_for(&fault)))], None)),
            };
        }

        let Some(version_id) = business.active_plugin_version_id.clone() else {
            return Ok((vec![(Author::Host, text(fallback::NO_PLUGIN))], None));
        };
        if business.plugin_disabled_reason.is_some() {
            return Ok((vec![(Author::Host, text(fallback::DISABLED))], None));
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
        if let Err(error) = self.keep_logs(business, &version_id, conversation, logs, &warnings).await {
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
                Ok((vec![(Author::Host, text(fallback_for(&fault)))], Some(run)))
            }
        }
    }

    async fn keep_logs(
        &self,
        business: &Business,
        version_id: &str,
        conversation: &Conversation,
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
        plugin_events::append_logs(&self.db, &business.id, version_id, Some(conversation), &lines).await
    }

    /// Records a plugin's fault for the business and counts it against the
    /// circuit breaker. Host faults are logged, not counted; a call the
    /// overloaded host stopped is shown to the business, not counted.
    async fn record_fault(&self, business: &Business, version_id: &str, fault: &PluginFault) -> Result<(), StoreError> {
        let detail = fault.to_string();
        tracing::warn!(
            business = %business.id,
            plugin_version = %version_id,
            kind = fault.kind(),
            // The detail may quote what a customer wrote (a guest's panic
            // message): it is kept sealed for the business, never logged.
            detail_bytes = detail.len(),
            "plugin call failed"
        );
        if matches!(fault, PluginFault::HostOverloaded { .. }) {
            return plugin_events::record_failure(&self.db, &business.id, version_id, fault.kind(), &detail).await;
        }
        if !fault.is_plugin_fault() {
            return Ok(());
        }
        plugin_events::record_failure(&self.db, &business.id, version_id, fault.kind(), &detail).await?;
        let threshold = self.plugins.config().failures_before_disable;
        if businesses::record_plugin_failure(&self.db, &business.id, version_id, threshold, &detail).await? {
            tracing::warn!(business = %business.id, plugin_version = %version_id, "circuit breaker disabled the plugin");
            businesses::record_plugin_trip(&self.db, &business.id, crate::ids::now_ms()).await?;
        }
        Ok(())
    }
}

/// Who answers a turn: the business's sandboxed plugin or a native bot.
pub(super) enum Responder<'a> {
    Plugin(&'a mut PluginSession),
    Native { bot: &'a dyn NativeBot, scope: &'a CallScope },
}

impl Responder<'_> {
    pub(super) async fn turn(&mut self, context: &ConversationContext, turn: &Turn) -> Result<Vec<Reply>, PluginFault> {
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

    pub(super) async fn price_cart(
        &mut self,
        context: &ConversationContext,
        cart: &Cart,
    ) -> Result<Vec<DiscountLine>, PluginFault> {
        match self {
            Responder::Plugin(session) => session.price_cart(context, cart).await,
            Responder::Native { bot, scope } => Ok(bot.price_cart(scope, context, cart).await),
        }
    }
}

/// A text reply.
pub(super) fn text(text: &str) -> RenderedReply {
    RenderedReply::Text { text: text.to_string() }
}

fn fallback_for(fault: &PluginFault) -> &'static str {
    match fault {
        PluginFault::Overloaded | PluginFault::HostOverloaded { .. } => fallback::OVERLOADED,
        _ => fallback::FAILED,
    }
}
