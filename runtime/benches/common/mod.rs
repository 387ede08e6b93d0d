//! What the plugin benchmarks share: a call scope and conversation context
//! for one business, one message answered through the host, and percentiles
//! of timed samples.

use std::time::Duration;

use bottega::App;
use bottega::plugin::bindings::{ConversationContext, InboundMessage, Reply};
use bottega::plugin::{CallScope, LoadedPlugin};
use bottega::store::businesses::Business;

/// The scope and context of a benchmark conversation with `business`.
pub fn conversation(app: &App, business: &Business) -> (CallScope, ConversationContext) {
    let scope = CallScope {
        db: app.db.clone(),
        business_id: business.id.clone(),
        customer_id: "cus_bench".into(),
        conversation_id: "conv_bench".into(),
        currency: business.currency.clone(),
        limits: business.limits,
    };
    let context = ConversationContext {
        customer_id: "cus_bench".into(),
        conversation_id: "conv_bench".into(),
        locale: "en".into(),
        agent_active: false,
    };
    (scope, context)
}

/// p50 and p99 of `samples` (sorted in place).
pub fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// One message answered through the host as the chat layer does: a session
/// (fresh or reused instance, as `scope`'s limits and the plugin say), the
/// call, and the instance given back.
pub async fn answer(
    app: &App,
    plugin: &LoadedPlugin,
    scope: &CallScope,
    business: &Business,
    context: &ConversationContext,
    message: &InboundMessage,
) -> anyhow::Result<Vec<Reply>> {
    let mut session = app
        .plugins
        .start_session(plugin, scope.clone(), &business.capabilities)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let replies = session.handle_message(context, message).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    session.finish();
    Ok(replies)
}
