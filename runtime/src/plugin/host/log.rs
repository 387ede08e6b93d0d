//! `bottega:shop/log`: structured lines the business reads back through the
//! API, within the call's log budget (lines past it are counted, not kept).

use crate::plugin::bindings::bottega::shop::log::{Host, Level};
use crate::plugin::state::PluginState;
use crate::store::plugin_events::NewLogLine;

impl Host for PluginState {
    async fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) -> wasmtime::Result<()> {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let fields: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        self.logs.push(NewLogLine { level, message, fields: serde_json::Value::Object(fields) });
        Ok(())
    }
}
