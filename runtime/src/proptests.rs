//! Shared pieces of the property and fuzz-style tests (proptest), which live
//! in a `mod proptests` next to what they test: money, cart pricing, and every
//! parser that takes bytes from outside (WhatsApp deliveries, inbound
//! messages, catalog imports, recordings, web chat frames, the payment form).
//!
//! `cargo test` runs each property 256 times (so CI stays fast); a longer run
//! sets `PROPTEST_CASES`, e.g. `PROPTEST_CASES=100000 cargo test -p bottega
//! --lib proptests`. A failure prints its shrunk input and is recorded under
//! `runtime/proptest-regressions/` (commit it: it is replayed first from then on).

use proptest::prelude::*;
use serde_json::Value;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 256;

/// The configuration every property test runs with.
pub fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_CASES);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// Text as hostile input has it: any Unicode, NUL and controls included,
/// often empty or short, sometimes one of the words parsers look for.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-z_]{0,12}",
        1 => Just(String::new()),
        1 => Just("\u{0}".to_string()),
        1 => prop::sample::select(vec![
            "text", "interactive", "button", "order", "image", "location", "contacts", "reaction", "system",
            "hello", "send", "unlock", "set_lock", "bottega-conversation/1", "EUR", "JPY", "wamid.x",
        ])
        .prop_map(str::to_string),
    ]
}

/// Any JSON value, nested a few levels, with hostile text in keys and strings.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6).prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// `value` with one part replaced by `replacement`, at a place chosen by
/// `choice`: how a published fixture's shape is mutated into a near miss.
pub fn mutate(value: &Value, choice: usize, replacement: Value) -> Value {
    fn paths(value: &Value, here: String, out: &mut Vec<String>) {
        out.push(here.clone());
        match value {
            Value::Object(fields) => {
                for (key, child) in fields {
                    paths(child, format!("{here}/{}", key.replace('~', "~0").replace('/', "~1")), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    paths(child, format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut all = Vec::new();
    paths(value, String::new(), &mut all);
    let mut mutated = value.clone();
    let pointer = &all[choice % all.len()];
    if let Some(slot) = mutated.pointer_mut(pointer) {
        *slot = replacement;
    }
    mutated
}

#[test]
fn a_mutation_replaces_one_part_chosen_in_document_order() {
    let fixture = serde_json::json!({"a": [1, {"b": "c"}], "d/e": null});
    assert_eq!(mutate(&fixture, 0, Value::from(5)), Value::from(5), "0 is the whole value");
    assert_eq!(mutate(&fixture, 4, Value::from(5)), serde_json::json!({"a": [1, {"b": 5}], "d/e": null}));
    assert_eq!(mutate(&fixture, 5, Value::Bool(true)), serde_json::json!({"a": [1, {"b": "c"}], "d/e": true}));
    assert_eq!(mutate(&fixture, 6, Value::Null), Value::Null, "choices wrap around");
}
