//! End-to-end stories: businesses upload plugins, customers chat with shops,
//! and the runtime keeps its promises (limits, isolation, privacy, errors).
//! One test binary; every story that touches storage runs on SQLite and on
//! PostgreSQL.

mod api_errors;
mod automations;
mod billing;
mod billing_collection;
mod billing_limits;
mod billing_once;
mod billing_photos;
mod billing_reconcile;
mod browser;
mod catalog;
mod console;
mod console_access;
mod console_browser;
mod console_catalog;
mod console_inbox;
mod console_operator;
mod console_words;
mod contract_versions;
mod demo_shop;
mod devloop;
mod handoff;
mod hostile_input;
mod instances;
mod isolation;
mod languages;
mod limits;
mod misbehaving_plugins;
mod money_crashes;
mod operator;
mod orders;
mod payments;
mod plugin_versions;
mod privacy;
mod privacy_at_rest;
mod privacy_identity;
mod public_limits;
mod round_trips;
mod sandbox;
mod shutdown;
mod test_plugins;
mod uploads;
mod webchat;
mod whatsapp;
