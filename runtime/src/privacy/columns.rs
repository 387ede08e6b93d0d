//! The classification of every column of the schema: what it holds, so that
//! customer data cannot be added without being sealed (and so erased with its
//! customer's key) or named for what it is. The e2e story
//! `privacy_at_rest::every_column_is_classified` walks the database's own
//! catalog on both databases and fails on a column missing here (naming it,
//! and this file) or listed here and gone.
//!
//! Another issue's new table or column is one line here: the table's row in
//! [`COLUMNS`], each column with its [`Class`].

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Customer data sealed under the customer's data key: unreadable once
    /// they are erased (their key destroyed).
    CustomerSealed,
    /// Customer data sealed under the business's key while it waits to be
    /// processed, then purged (a raw inbound webhook payload).
    CustomerTransient,
    /// A business's secret, or text kept for the business that may quote a
    /// customer (a plugin failure's detail), sealed under its secrets key.
    SecretSealed,
    /// A keyed hash under the business's index key: a handle's blind index,
    /// or a transport's message id's (a WhatsApp id encodes the customer's
    /// number; `Db::message_key`).
    BlindIndex,
    /// A one-way hash of a random secret or a password (API keys, tokens, locks).
    Hash,
    /// Key material, itself sealed by the key-encryption key.
    Key,
    /// A column nothing writes a value to any more, kept empty because
    /// dropping a column is not portable (the key pseudonyms were once derived
    /// under: migration 0036 emptied it, new businesses store it empty).
    Retired,
    /// Links a row to a customer without naming the person: their pseudonym,
    /// a conversation's id.
    Pseudonym,
    /// What the law requires kept of a payment card: brand, last 4 digits,
    /// expiry (never the number or the CVC).
    CardSummary,
    /// What a business's plugin keeps in its key-value store (the plugin's
    /// own data; deleted with a customer when keyed by their pseudonym).
    PluginKept,
    /// Not customer data: ids, states, times, counts, money, the catalog, a
    /// business's settings and bills.
    Plain,
}

use Class::*;

/// Every table and each of its columns, as the migrations make them.
pub const COLUMNS: &[(&str, &[(&str, Class)])] = &[
    (
        "api_keys",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("name", Plain),
            ("scope", Plain),
            ("key_hash", Hash),
            ("created_at", Plain),
            ("revoked_at", Plain),
        ],
    ),
    (
        "audit_events",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("seq", Plain),
            ("actor", Plain),
            ("action", Plain),
            ("subject", Pseudonym),
            ("outcome", Plain),
            ("created_at", Plain),
            ("prev_hash", Hash),
            ("hash", Hash),
        ],
    ),
    ("audit_heads", &[("business_id", Plain), ("seq", Plain), ("hash", Hash)]),
    (
        "billing_assignments",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("plan_id", Plain),
            ("effective_from", Plain),
            ("tax_rate_bps", Plain),
            ("tax_label", Plain),
            ("created_at", Plain),
        ],
    ),
    (
        "billing_cards",
        &[
            ("business_id", Plain),
            ("token", Plain),
            ("brand", CardSummary),
            ("last4", CardSummary),
            ("exp_month", CardSummary),
            ("exp_year", CardSummary),
            ("updated_at", Plain),
        ],
    ),
    (
        "billing_plan_versions",
        &[
            ("id", Plain),
            ("plan_id", Plain),
            ("version", Plain),
            ("effective_from", Plain),
            ("currency", Plain),
            ("terms", Plain),
            ("created_at", Plain),
        ],
    ),
    ("billing_plans", &[("id", Plain), ("name", Plain), ("created_at", Plain)]),
    (
        "businesses",
        &[
            ("id", Plain),
            ("name", Plain),
            ("currency", Plain),
            ("locale", Plain),
            ("api_key_hash", Hash),
            ("pseudonym_key", Retired),
            ("capabilities", Plain),
            ("limits", Plain),
            ("active_plugin_version_id", Plain),
            ("plugin_disabled_reason", Plain),
            ("plugin_consecutive_failures", Plain),
            ("kv_bytes", Plain),
            ("created_at", Plain),
            ("webhook_url", Plain),
            ("webhook_secret", SecretSealed),
            ("extra_currencies", Plain),
            ("automations", Plain),
            ("plugin_trips", Plain),
            ("plugin_last_trip_at", Plain),
            ("suspended_at", Plain),
        ],
    ),
    (
        "cart_lines",
        &[
            ("conversation_id", Pseudonym),
            ("business_id", Plain),
            ("product_id", Plain),
            ("quantity", Plain),
            ("added_at", Plain),
        ],
    ),
    (
        "conversations",
        &[
            ("id", Pseudonym),
            ("business_id", Plain),
            ("customer_id", Pseudonym),
            ("channel", Plain),
            ("locale", Plain),
            ("handling", Plain),
            ("message_count", Plain),
            ("created_at", Plain),
            ("last_message_at", Plain),
            ("last_inbound_at", Plain),
            ("agent", Plain),
            ("away_sent_at", Plain),
        ],
    ),
    (
        "conversation_notes",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("conversation_id", Pseudonym),
            ("author_id", Plain),
            ("body", CustomerSealed),
            ("created_at", Plain),
        ],
    ),
    (
        "customers",
        &[
            ("business_id", Plain),
            ("id", Pseudonym),
            ("channel", Plain),
            ("handle", CustomerSealed),
            ("created_at", Plain),
            ("handle_index", BlindIndex),
        ],
    ),
    (
        "customer_aliases",
        &[("business_id", Plain), ("alias_id", Pseudonym), ("customer_id", Pseudonym), ("created_at", Plain)],
    ),
    (
        "customer_handles",
        &[
            ("business_id", Plain),
            ("handle_index", BlindIndex),
            ("customer_id", Pseudonym),
            ("handle", CustomerSealed),
            ("created_at", Plain),
        ],
    ),
    (
        "data_export_links",
        &[
            ("token_hash", Hash),
            ("business_id", Plain),
            ("customer_id", Pseudonym),
            ("expires_at", Plain),
            ("created_at", Plain),
        ],
    ),
    (
        "data_keys",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("purpose", Plain),
            ("owner", Pseudonym),
            ("kek_id", Plain),
            ("wrapped", Key),
            ("created_at", Plain),
        ],
    ),
    (
        "idempotency_keys",
        &[
            ("scope", Plain),
            ("key", Plain),
            ("fingerprint", Hash),
            ("state", Plain),
            ("status_code", Plain),
            ("response", Plain),
            ("created_at", Plain),
            ("lease_until", Plain),
        ],
    ),
    (
        "images",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("content_type", Plain),
            ("bytes", Plain),
            ("size_bytes", Plain),
            ("created_at", Plain),
        ],
    ),
    (
        "inbound_events",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("channel", Plain),
            ("external_id", BlindIndex),
            ("payload", CustomerTransient),
            ("state", Plain),
            ("attempts", Plain),
            ("next_attempt_at", Plain),
            ("last_error", Plain),
            ("created_at", Plain),
            ("sender_key", BlindIndex),
        ],
    ),
    (
        "invoice_charges",
        &[
            ("id", Plain),
            ("invoice_id", Plain),
            ("business_id", Plain),
            ("attempt", Plain),
            ("idempotency_key", Plain),
            ("card_token", Plain),
            ("amount_minor", Plain),
            ("currency", Plain),
            ("state", Plain),
            ("decline_code", Plain),
            ("reference", Plain),
            ("lease_until", Plain),
            ("created_at", Plain),
            ("settled_at", Plain),
        ],
    ),
    (
        "invoice_lines",
        &[
            ("invoice_id", Plain),
            ("position", Plain),
            ("kind", Plain),
            ("line_key", Plain),
            ("description", Plain),
            ("usage_period", Plain),
            ("quantity", Plain),
            ("amount_minor", Plain),
            ("priced_by", Plain),
        ],
    ),
    ("invoice_numbers", &[("scope", Plain), ("last_number", Plain)]),
    (
        "invoice_status",
        &[("invoice_id", Plain), ("status", Plain), ("due_at", Plain), ("paid_at", Plain), ("updated_at", Plain)],
    ),
    ("invoice_usage", &[("usage_id", Plain), ("invoice_id", Plain)]),
    (
        "invoices",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("number", Plain),
            ("period", Plain),
            ("period_start", Plain),
            ("period_end", Plain),
            ("currency", Plain),
            ("subtotal_minor", Plain),
            ("tax_label", Plain),
            ("tax_rate_bps", Plain),
            ("tax_minor", Plain),
            ("total_minor", Plain),
            ("operator_name", Plain),
            ("business_name", Plain),
            ("plan_version_id", Plain),
            ("finalized_at", Plain),
        ],
    ),
    ("kv_entries", &[("business_id", Plain), ("key", PluginKept), ("value", PluginKept), ("size", Plain)]),
    (
        "messages",
        &[
            ("id", Plain),
            ("conversation_id", Pseudonym),
            ("business_id", Plain),
            ("seq", Plain),
            ("direction", Plain),
            ("author", Plain),
            ("body", CustomerSealed),
            ("created_at", Plain),
            ("event_id", Plain),
        ],
    ),
    ("operator_sessions", &[("id", Plain), ("token_hash", Hash), ("expires_at", Plain), ("created_at", Plain)]),
    (
        "order_events",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("order_id", Plain),
            ("kind", Plain),
            ("detail", Plain),
            ("created_at", Plain),
            ("dispatched_at", Plain),
            ("lease_until", Plain),
        ],
    ),
    ("order_lines", &[("order_id", Plain), ("product_id", Plain), ("quantity", Plain)]),
    ("order_numbers", &[("business_id", Plain), ("last_number", Plain)]),
    (
        "orders",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("conversation_id", Pseudonym),
            ("customer_id", Pseudonym),
            ("number", Plain),
            ("status", Plain),
            ("payment_status", Plain),
            ("fulfillment_status", Plain),
            ("currency", Plain),
            ("subtotal_minor", Plain),
            ("total_minor", Plain),
            ("cart", Plain),
            ("reserved_until", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
            ("pay_token_hash", Hash),
            ("payment_id", Plain),
        ],
    ),
    (
        "outbox",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("conversation_id", Pseudonym),
            ("message_id", Plain),
            ("channel", Plain),
            ("seq", Plain),
            ("body", CustomerSealed),
            ("adaptation", Plain),
            ("state", Plain),
            ("attempts", Plain),
            ("next_attempt_at", Plain),
            ("last_error", Plain),
            ("external_id", BlindIndex),
            ("delivery_status", Plain),
            ("created_at", Plain),
            ("sent_at", Plain),
            ("pricing_type", Plain),
            ("pricing_category", Plain),
            ("market", Plain),
        ],
    ),
    (
        "payments",
        &[
            ("id", Plain),
            ("order_id", Plain),
            ("business_id", Plain),
            ("status", Plain),
            ("amount_minor", Plain),
            ("currency", Plain),
            ("provider_reference", Plain),
            ("card_token", Plain),
            ("card_brand", CardSummary),
            ("card_last4", CardSummary),
            ("card_exp", CardSummary),
            ("decline_code", Plain),
            ("captured_minor", Plain),
            ("refunded_minor", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
            ("provider_key", Plain),
            ("lease_until", Plain),
            ("request_key", Plain),
        ],
    ),
    (
        "plugin_failures",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("plugin_version_id", Plain),
            ("kind", Plain),
            ("detail", SecretSealed),
            ("created_at", Plain),
        ],
    ),
    (
        "plugin_logs",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("plugin_version_id", Plain),
            ("conversation_id", Pseudonym),
            ("level", Plain),
            ("message", CustomerSealed),
            ("fields", CustomerSealed),
            ("created_at", Plain),
        ],
    ),
    (
        "plugin_versions",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("version", Plain),
            ("sha256", Plain),
            ("size_bytes", Plain),
            ("world", Plain),
            ("capabilities", Plain),
            ("wasm", Plain),
            ("created_at", Plain),
            ("state", Plain),
            ("failure", Plain),
            ("activate_when_ready", Plain),
            ("compile_lease_until", Plain),
            ("compile_attempts", Plain),
            ("language_class", Plain),
            ("ready_at", Plain),
            ("startup_us", Plain),
        ],
    ),
    (
        "products",
        &[
            ("business_id", Plain),
            ("id", Plain),
            ("name", Plain),
            ("description", Plain),
            ("photo_url", Plain),
            ("price_minor", Plain),
            ("currency", Plain),
            ("stock", Plain),
            ("section", Plain),
            ("available", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
            ("search_text", Plain),
        ],
    ),
    (
        "rate_card_prices",
        &[
            ("rate_card_id", Plain),
            ("market", Plain),
            ("category", Plain),
            ("currency", Plain),
            ("unit_milli_minor", Plain),
        ],
    ),
    (
        "rate_card_versions",
        &[
            ("id", Plain),
            ("channel", Plain),
            ("version", Plain),
            ("effective_from", Plain),
            ("markup_bps", Plain),
            ("created_at", Plain),
            ("free_service_per_month", Plain),
        ],
    ),
    (
        "refunds",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("order_id", Plain),
            ("payment_id", Plain),
            ("amount_minor", Plain),
            ("status", Plain),
            ("failure", Plain),
            ("lease_until", Plain),
            ("request_key", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
    ),
    ("retention_settings", &[("business_id", Plain), ("message_days", Plain), ("updated_at", Plain)]),
    ("sandbox_cards", &[("token", Plain), ("card", CardSummary), ("behaviour", Plain), ("created_at", Plain)]),
    (
        "sandbox_charges",
        &[
            ("reference", Plain),
            ("idempotency_key", Plain),
            ("outcome", Plain),
            ("decline_code", Plain),
            ("amount_minor", Plain),
            ("captured_minor", Plain),
            ("refunded_minor", Plain),
            ("card", CardSummary),
            ("created_at", Plain),
        ],
    ),
    (
        "sandbox_operations",
        &[
            ("idempotency_key", Plain),
            ("reference", Plain),
            ("kind", Plain),
            ("amount_minor", Plain),
            ("outcome", Plain),
            ("created_at", Plain),
        ],
    ),
    // The business's people (not its customers): their email and name are
    // the business's own records; passwords and tokens only as hashes.
    (
        "staff_invitations",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("email", Plain),
            ("role", Plain),
            ("token_hash", Hash),
            ("expires_at", Plain),
            ("accepted_at", Plain),
            ("created_at", Plain),
        ],
    ),
    (
        "staff_members",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("email", Plain),
            ("name", Plain),
            ("role", Plain),
            ("password_hash", Hash),
            ("created_at", Plain),
            ("totp_secret", SecretSealed),
            ("totp_last_step", Plain),
        ],
    ),
    (
        "staff_sessions",
        &[
            ("id", Plain),
            ("staff_id", Plain),
            ("business_id", Plain),
            ("token_hash", Hash),
            ("expires_at", Plain),
            ("created_at", Plain),
        ],
    ),
    (
        "usage_events",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("metric", Plain),
            ("source", Plain),
            // A channel charge's wamid as its keyed hash; any other row the host's own id.
            ("source_id", BlindIndex),
            ("quantity", Plain),
            ("currency", Plain),
            ("market", Plain),
            ("category", Plain),
            ("note", Plain),
            ("occurred_at", Plain),
            ("recorded_at", Plain),
        ],
    ),
    (
        "usage_thresholds",
        &[("business_id", Plain), ("period", Plain), ("subject", Plain), ("percent", Plain), ("crossed_at", Plain)],
    ),
    (
        "web_sessions",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("conversation_id", Pseudonym),
            ("token_hash", Hash),
            ("password_hash", Hash),
            ("auto_lock_minutes", Plain),
            ("locked", Plain),
            ("failed_unlocks", Plain),
            ("unlock_blocked_until", Plain),
            ("last_active_at", Plain),
            ("created_at", Plain),
            ("signed_out_at", Plain),
            ("unlock_checking_until", Plain),
        ],
    ),
    (
        "webhook_deliveries",
        &[
            ("id", Plain),
            ("business_id", Plain),
            ("event_type", Plain),
            ("payload", Plain),
            ("state", Plain),
            ("attempts", Plain),
            ("next_attempt_at", Plain),
            ("last_error", Plain),
            ("created_at", Plain),
            ("delivered_at", Plain),
        ],
    ),
    (
        "whatsapp_channels",
        &[
            ("business_id", Plain),
            ("phone_number_id", Plain),
            ("app_secret", SecretSealed),
            ("verify_token", SecretSealed),
            ("access_token", SecretSealed),
            ("graph_base_url", Plain),
            ("catalog_id", Plain),
            ("rate_per_second", Plain),
            ("created_at", Plain),
            ("waba_id", Plain),
        ],
    ),
];

/// The class of `table.column`, if classified.
pub fn class_of(table: &str, column: &str) -> Option<Class> {
    let (_, columns) = COLUMNS.iter().find(|(name, _)| *name == table)?;
    columns.iter().find(|(name, _)| *name == column).map(|(_, class)| *class)
}

/// What a walk of the real schema found wrong with [`COLUMNS`]: each line
/// names a column to classify (or a classification to remove) and where.
pub fn unclassified(schema: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, column) in schema {
        if class_of(table, column).is_none() {
            problems.push(format!(
                "column {table}.{column} is not classified: add (\"{column}\", Class::…) to the row of \"{table}\" in \
                 runtime/src/privacy/columns.rs (sealed customer data, a secret, or what else it is)"
            ));
        }
    }
    for (table, columns) in COLUMNS {
        for (column, _) in *columns {
            if !schema.iter().any(|(t, c)| t == table && c == column) {
                problems.push(format!(
                    "column {table}.{column} is classified in runtime/src/privacy/columns.rs but not in the schema: remove it"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_stale_column_is_named() {
        let mut schema: Vec<(String, String)> = COLUMNS
            .iter()
            .flat_map(|(table, columns)| columns.iter().map(|(column, _)| (table.to_string(), column.to_string())))
            .collect();
        assert!(unclassified(&schema).is_empty());
        schema.push(("customers".into(), "nickname".into()));
        schema.retain(|(t, c)| !(t == "messages" && c == "body"));
        let problems = unclassified(&schema);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("customers.nickname") && problems[0].contains("runtime/src/privacy/columns.rs"));
        assert!(problems[1].contains("messages.body"));
        assert_eq!(class_of("messages", "body"), Some(Class::CustomerSealed));
    }
}
