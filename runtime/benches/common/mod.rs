//! What the plugin benchmarks share: a call scope and conversation context
//! for one business, and percentiles of timed samples.

use std::time::Duration;

use bottega::App;
use bottega::plugin::CallScope;
use bottega::plugin::bindings::ConversationContext;
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
