//! `bottega:shop/log`: structured lines the business reads back through the
//! API, within the call's line budget and its one output budget, shared with
//! what it prints (lines past either are counted, not kept). They are never
//! copied into the operator's log. Its view is the call's log buffer, nothing
//! else.

use wasmtime::component::{HasData, Linker};

use crate::plugin::bindings::bottega::shop;
use crate::plugin::bindings::bottega::shop::log::{Host, Level};
use crate::plugin::state::{LogBuffer, PluginState};
use crate::store::plugin_events::NewLogLine;

pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    shop::log::add_to_linker::<PluginState, LogInterface>(linker, view)
}

/// What a plugin's log lines reach: the call's budgeted buffer.
struct CallLog<'a> {
    logs: &'a mut LogBuffer,
}

struct LogInterface;

impl HasData for LogInterface {
    type Data<'a> = CallLog<'a>;
}

fn view(state: &mut PluginState) -> CallLog<'_> {
    CallLog { logs: &mut state.logs }
}

impl Host for CallLog<'_> {
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
