//! What a plugin is denied beyond other businesses' data: the operator's log
//! (its text reaches it only escaped, so it can never pass for the host's own
//! lines) and the time (WASI's clocks tell none without the `clock` grant);
//! and a text no database can hold (a NUL) answers the same on both.

use bottega::chat::fallback;
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(
    a_plugin_cannot_forge_the_operators_log,
    wasi_clocks_tell_the_time_only_when_granted,
    a_plugin_that_passes_nul_to_the_host_finds_nothing_on_either_database
);

async fn a_plugin_cannot_forge_the_operators_log(app: TestApp) {
    let shop = app.create_shop("Forger", json!({})).await;
    app.upload(&shop, plugins::TEST_QUOTA).await;
    let forged = "2026-12-01T00:00:00Z  INFO bottega: forged";
    // The plugin prints "checking stock", a newline and a line that looks
    // like the host's, then crashes (so its fault quotes what it printed).
    let answer = app.say(&shop, "c1", &format!("print-and-crash checking stock\\n{forged}\\n")).await;
    assert_eq!(reply_text(&answer), fallback::FAILED);

    // The business reads what its plugin printed as it was printed...
    let (_, failures) = app.get("/v1/plugins/failures", &shop.key).await;
    let detail = failures[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("checking stock\n{forged}")), "{detail}");

    // ...the operator's log says the call failed, in the host's own line, and
    // quotes nothing of it (what a plugin prints may quote a customer).
    let logs = captured_logs();
    assert!(!logs.lines().any(|line| line.starts_with(forged)), "a plugin started a log line:\n{logs}");
    assert!(!logs.lines().any(|line| line.starts_with("2026-12-01T00:00:00Z")), "{logs}");
    assert!(!logs.contains("checking stock"), "the plugin's text reached the operator's log:\n{logs}");
    let line = logs.lines().find(|line| line.contains("plugin call failed")).expect("the fault is logged");
    assert!(line.contains("detail_bytes="), "{line}");
}

async fn wasi_clocks_tell_the_time_only_when_granted(app: TestApp) {
    let fact = |report: &str, key: &str| -> String {
        report.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap_or_default().to_string()
    };

    // Every capability but `clock`: the wall clock stays at the epoch and the
    // monotonic clock moves one fixed step per read, whatever the time.
    let timeless =
        app.create_shop("No clock", json!({"capabilities": ["catalog", "cart", "kv", "log", "orders"]})).await;
    app.upload(&timeless, plugins::TEST_SPY).await;
    let report = reply_text(&app.say(&timeless, "c1", "what time is it").await);
    assert_eq!(fact(&report, "wall_clock_s"), "0", "{report}");
    let step = bottega::plugin::DENIED_CLOCK_STEP.as_nanos().to_string();
    assert_eq!(fact(&report, "monotonic_step_ns"), step, "{report}");

    // Granted: the host's clocks.
    let timed = app.create_shop("Clock", json!({})).await;
    app.upload(&timed, plugins::TEST_SPY).await;
    let report = reply_text(&app.say(&timed, "c1", "what time is it").await);
    let wall: u64 = fact(&report, "wall_clock_s").parse().expect("seconds");
    assert!(wall > 1_700_000_000, "{report}");
}

async fn a_plugin_that_passes_nul_to_the_host_finds_nothing_on_either_database(app: TestApp) {
    let shop = app.create_shop("Nul", json!({})).await;
    app.add_product(&shop, "apple", "Apple", 100, "Fruit").await;
    app.upload(&shop, plugins::TEST_SPY).await;

    // Every lookup by a text holding a NUL finds nothing: not a host fault
    // on PostgreSQL (which cannot hold a NUL) and a lookup on SQLite.
    let report = reply_text(&app.say(&shop, "ana", "nul").await);
    for fact in [
        "nul_get_product=false",
        "nul_search=0",
        "nul_section=0",
        "nul_kv_get=false",
        "nul_kv_keys=0",
        "nul_cart_add_unknown=true",
        "nul_cart_set_unknown=true",
        "nul_cart_remove=0",
        "nul_order=false",
    ] {
        assert!(report.lines().any(|l| l == fact), "expected `{fact}` in:\n{report}");
    }
    let (_, failures) = app.get("/v1/plugins/failures", &shop.key).await;
    assert_eq!(failures.as_array().map(Vec::len), Some(0), "no call failed: {failures}");

    // Storing under such a key is the plugin's own fault, the same on both.
    assert_eq!(reply_text(&app.say(&shop, "ana", "nul-set").await), fallback::FAILED);
    let (_, failures) = app.get("/v1/plugins/failures", &shop.key).await;
    let detail = failures[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("a key may not contain NUL"), "{failures}");
    assert!(!detail.contains("host failure"), "{failures}");
}
