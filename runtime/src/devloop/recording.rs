//! Recorded conversations: the format the host exports a real conversation in
//! (`GET /v1/conversations/{id}/export`) and `bottega plugin test` replays
//! against a plugin, so a business can turn a production conversation into a
//! test. A recording holds the shop's catalog and currency at export time and,
//! per turn, what the customer sent and what the shop answered (the bot's
//! replies and the host's, rendered as the API returns them).
//!
//! [`replay`] and [`replay_in`] are the one replay: the command line's
//! `plugin test` runs it on the developer's machine, the console's bot page on
//! the node against a version not yet active (a [`Sandbox`] of the real shop).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LocalShop;
use super::local::Sandbox;
use crate::chat::inbound_from_stored;
use crate::store::conversations::{Author, Direction, Message};
use crate::store::products::{Product, ProductInput};

/// The format's name and version, first in every recording.
pub const FORMAT: &str = "bottega-conversation/1";

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recording {
    /// Always [`FORMAT`].
    pub format: String,
    pub currency: String,
    /// The shop's products when the conversation was recorded.
    #[schema(value_type = Vec<Object>)]
    pub catalog: Vec<ProductInput>,
    pub turns: Vec<RecordedTurn>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedTurn {
    /// What the customer sent, as history stores it (`{"type": "text", "text": "hi"}`).
    #[schema(value_type = Object)]
    pub customer: Value,
    /// What the shop answered (replies by the bot or the host, not by agents).
    #[schema(value_type = Vec<Object>)]
    pub replies: Vec<Value>,
}

/// A conversation's history as a recording. Turns a bot never saw (photos,
/// messages while an agent held the conversation) are left out.
pub fn record(currency: &str, catalog: &[Product], messages: &[Message]) -> Recording {
    let mut turns: Vec<RecordedTurn> = Vec::new();
    let mut open = false;
    for message in messages {
        if message.direction == Direction::Inbound {
            open = inbound_from_stored(&message.body).is_some();
            if open {
                turns.push(RecordedTurn { customer: message.body.clone(), replies: Vec::new() });
            }
        } else if let Some(turn) = turns.last_mut().filter(|_| open) {
            match message.author {
                Author::Bot | Author::Host => turn.replies.push(message.body.clone()),
                // A person answered: what follows is not the bot's to replay.
                _ => open = false,
            }
        }
    }
    turns.retain(|turn| !turn.replies.is_empty());
    Recording {
        format: FORMAT.into(),
        currency: currency.into(),
        catalog: catalog
            .iter()
            .map(|p| ProductInput {
                id: p.id.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                photo_url: p.photo_url.clone(),
                price_minor: p.price_minor,
                currency: p.currency.clone(),
                stock: p.stock,
                section: p.section.clone(),
                available: p.available,
            })
            .collect(),
        turns,
    }
}

/// One replayed turn.
#[derive(Debug, Clone)]
pub struct TurnReport {
    /// From 1.
    pub number: usize,
    pub customer: Value,
    /// What the shop answered when the conversation was recorded.
    pub recorded: Vec<Value>,
    /// What the shop answers now (a fallback when the plugin failed).
    pub replies: Vec<Value>,
    /// Why the plugin's answer was replaced by a fallback (it trapped, ran
    /// out of time or memory…), or why the shop could not answer at all.
    pub failure: Option<String>,
    /// Where the replies differ (`replies[0].body: expected "…", got "…"`); empty when they match.
    pub differences: Vec<String>,
}

impl TurnReport {
    /// Whether the shop answers differently now (leaving out what differs
    /// between any two runs: order ids, numbers and times, payment links).
    pub fn differs(&self) -> bool {
        !self.differences.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("not a recorded conversation ({FORMAT}): {0}")]
    Format(String),
    #[error("turn {0}: the customer's message cannot be sent again: {1}")]
    Unsendable(usize, Value),
    #[error("the recording has {0} turns; a replay takes at most {MAX_REPLAY_TURNS}")]
    TooLong(usize),
    #[error("the replay took longer than {} s", .0.as_secs())]
    TookTooLong(std::time::Duration),
    #[error(transparent)]
    Shop(#[from] super::LocalShopError),
}

/// The most turns a bounded replay ([`replay_within`]) plays.
pub const MAX_REPLAY_TURNS: usize = 200;

/// Reads a recording, checking its format.
pub fn parse(bytes: &[u8]) -> Result<Recording, ReplayError> {
    let recording: Recording = serde_json::from_slice(bytes).map_err(|e| ReplayError::Format(e.to_string()))?;
    if recording.format != FORMAT {
        return Err(ReplayError::Format(format!("format is `{}`", recording.format)));
    }
    Ok(recording)
}

/// Replays a recording against `wasm` in a [`LocalShop`] on the developer's
/// machine ([`Sandbox::developer`]); see [`replay_in`].
pub async fn replay(
    wasm: &[u8],
    recording: &Recording,
    compiled_cache_dir: Option<std::path::PathBuf>,
) -> Result<Vec<TurnReport>, ReplayError> {
    replay_in(wasm, recording, Sandbox::developer(compiled_cache_dir)).await
}

/// Replays a recording against `wasm` in a [`LocalShop`] set up as `sandbox`
/// says, with the recorded catalog and currency: every turn's replies are
/// compared with the recorded ones, leaving out what differs between any two
/// runs (order ids, numbers and times, payment links). A turn the plugin
/// fails (a trap, a deadline) is reported with its failure and the fallback
/// the customer would get; the replay goes on. The shop is closed after.
pub async fn replay_in(wasm: &[u8], recording: &Recording, sandbox: Sandbox) -> Result<Vec<TurnReport>, ReplayError> {
    let catalog = serde_json::to_vec(&recording.catalog).map_err(|e| ReplayError::Format(e.to_string()))?;
    let shop = LocalShop::start_in(wasm, Some(&catalog), &recording.currency, sandbox).await?;
    let reports = replay_turns(&shop, recording).await;
    shop.close().await;
    reports
}

/// [`replay_in`] on a node, bounded: a recording of more than
/// [`MAX_REPLAY_TURNS`] turns is refused before a shop starts, and turns
/// still playing after `budget` are cut off ([`ReplayError::TookTooLong`]);
/// the shop is closed either way.
pub async fn replay_within(
    wasm: &[u8],
    recording: &Recording,
    sandbox: Sandbox,
    budget: std::time::Duration,
) -> Result<Vec<TurnReport>, ReplayError> {
    if recording.turns.len() > MAX_REPLAY_TURNS {
        return Err(ReplayError::TooLong(recording.turns.len()));
    }
    let catalog = serde_json::to_vec(&recording.catalog).map_err(|e| ReplayError::Format(e.to_string()))?;
    let shop = LocalShop::start_in(wasm, Some(&catalog), &recording.currency, sandbox).await?;
    let reports = tokio::time::timeout(budget, replay_turns(&shop, recording)).await;
    shop.close().await;
    reports.map_err(|_| ReplayError::TookTooLong(budget))?
}

async fn replay_turns(shop: &LocalShop, recording: &Recording) -> Result<Vec<TurnReport>, ReplayError> {
    let mut reports = Vec::new();
    for (index, turn) in recording.turns.iter().enumerate() {
        let message = inbound_from_stored(&turn.customer)
            .ok_or_else(|| ReplayError::Unsendable(index + 1, turn.customer.clone()))?;
        let (replies, failure) = match shop.send(message).await {
            Ok(outcome) => {
                let replies: Vec<Value> = outcome.replies.iter().map(|m| m.body.clone()).collect();
                (replies, outcome.plugin_run.and_then(|run| run.fault))
            }
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let got: Vec<Value> = replies.iter().map(normalized).collect();
        let expected: Vec<Value> = turn.replies.iter().map(normalized).collect();
        let mut differences = Vec::new();
        diff("replies", &Value::from(expected), &Value::from(got), &mut differences);
        reports.push(TurnReport {
            number: index + 1,
            customer: turn.customer.clone(),
            recorded: turn.replies.clone(),
            replies,
            failure,
            differences,
        });
    }
    Ok(reports)
}

/// A reply without what differs between any two runs of the same conversation.
fn normalized(body: &Value) -> Value {
    match body {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "payment_url" | "order_id"))
                .map(|(key, value)| {
                    let value = if key == "order" {
                        without(value, &["id", "number", "reserved_until", "created_at"])
                    } else {
                        normalized(value)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

fn without(value: &Value, keys: &[&str]) -> Value {
    match normalized(value) {
        Value::Object(mut fields) => {
            for key in keys {
                fields.remove(*key);
            }
            Value::Object(fields)
        }
        other => other,
    }
}

/// Where `got` differs from `expected`, by JSON path.
fn diff(path: &str, expected: &Value, got: &Value, out: &mut Vec<String>) {
    match (expected, got) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let (x, y) = (a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null));
                diff(&format!("{path}.{key}"), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: expected {a}, got {b}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_their_path_and_ignore_order_identities() {
        let mut out = Vec::new();
        let expected = json!([{"type": "text", "text": "Hello"}, {"order": {"id": "ord_1", "number": 1, "total": 5}}]);
        let got = json!([{"type": "text", "text": "Hi"}, {"order": {"id": "ord_2", "number": 7, "total": 5}}]);
        diff("replies", &normalized(&expected), &normalized(&got), &mut out);
        assert_eq!(out, [r#"replies[0].text: expected "Hello", got "Hi""#]);
        let mut out = Vec::new();
        diff("replies", &json!([1]), &json!([1, 2]), &mut out);
        assert_eq!(out, ["replies: expected [1], got [1,2]"]);
    }

    #[tokio::test]
    async fn a_bounded_replay_refuses_a_recording_too_long_before_any_shop_starts() {
        let turn = RecordedTurn { customer: json!({"type": "text", "text": "hi"}), replies: Vec::new() };
        let recording = Recording {
            format: FORMAT.into(),
            currency: "EUR".into(),
            catalog: Vec::new(),
            turns: vec![turn; MAX_REPLAY_TURNS + 1],
        };
        // Not even a component: the length is refused first.
        let refused =
            replay_within(b"not wasm", &recording, Sandbox::developer(None), std::time::Duration::from_secs(1))
                .await
                .err();
        assert!(matches!(refused, Some(ReplayError::TooLong(n)) if n == MAX_REPLAY_TURNS + 1), "{refused:?}");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::proptests::{json_value, mutate};

    /// A recording in the shape `GET /v1/conversations/{id}/export` writes.
    fn fixture() -> Value {
        json!({
            "format": FORMAT,
            "currency": "EUR",
            "catalog": [{"id": "pear", "name": "Pear", "description": "", "photo_url": null, "price_minor": 90,
                         "currency": "EUR", "stock": 5, "section": "Fruit", "available": true}],
            "turns": [
                {"customer": {"type": "text", "text": "hi"}, "replies": [{"type": "text", "text": "Hello"}]},
                {"customer": {"type": "choice", "id": "browse", "title": "Browse"}, "replies": []},
            ],
        })
    }

    fn accepted(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(recording) = parse(bytes) {
            prop_assert_eq!(recording.format.as_str(), FORMAT);
            // What parses is written back as a recording that parses again.
            let again = serde_json::to_vec(&recording).expect("a recording serializes");
            let reread = parse(&again).expect("a written recording parses");
            prop_assert_eq!(reread.turns.len(), recording.turns.len());
            prop_assert_eq!(reread.catalog.len(), recording.catalog.len());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn raw_bytes_never_panic_and_garbage_is_refused(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            accepted(&bytes)?;
        }

        #[test]
        fn any_json_is_a_recording_only_with_the_format_named(value in json_value()) {
            let bytes = value.to_string().into_bytes();
            if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
                prop_assert!(parse(&bytes).is_err());
            }
            accepted(&bytes)?;
        }

        #[test]
        fn near_misses_of_an_export_never_panic(choice in any::<usize>(), replacement in json_value()) {
            let mutated = mutate(&fixture(), choice, replacement);
            accepted(mutated.to_string().as_bytes())?;
            if let Ok(recording) = parse(mutated.to_string().as_bytes()) {
                for turn in &recording.turns {
                    let _ = inbound_from_stored(&turn.customer);
                    let _ = normalized(&turn.customer);
                }
            }
        }
    }

    #[test]
    fn the_export_shape_parses() {
        let recording = parse(fixture().to_string().as_bytes()).expect("the fixture parses");
        assert_eq!((recording.catalog.len(), recording.turns.len()), (1, 2));
    }
}
