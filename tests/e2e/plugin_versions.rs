//! A business ships a new plugin version, regrets it, and rolls back.

use axum::http::Method;
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(a_business_uploads_v2_and_rolls_back_to_v1);

async fn a_business_uploads_v2_and_rolls_back_to_v1(app: TestApp) {
    let shop = app.create_shop("Versioned", json!({})).await;
    app.add_product(&shop, "pear", "Pear", 90, "Fruit").await;

    // Before any upload, customers get a polite notice, not an error.
    let early = app.say(&shop, "ana", "hi").await;
    assert_eq!(reply_text(&early), bottega::chat::fallback::NO_PLUGIN);
    assert_eq!(early["replies"][0]["author"], "host");

    let v1 = app.upload(&shop, plugins::GROCERY_RUST).await;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["active"], true);
    assert_eq!(v1["world"], "bottega:shop@1.1.0");
    assert_eq!(v1["capabilities"], json!(["cart", "catalog", "clock", "kv", "log", "orders"]));
    assert!(reply_text(&app.say(&shop, "ana", "hi").await).starts_with("Welcome to Verdura"));

    let v2 = app.upload(&shop, plugins::TEST_SPY).await;
    assert_eq!(v2["version"], 2);
    assert!(reply_text(&app.say(&shop, "ana", "hi").await).contains("customer_id=cus_"), "v2 answers");

    // Uploading without activating keeps the current version answering.
    let (status, v3) = {
        let wasm = std::fs::read(plugins::GROCERY_RUST).expect("built");
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/plugins?activate=false")
            .header("authorization", format!("Bearer {}", shop.key))
            .body(axum::body::Body::from(wasm))
            .expect("request");
        app.send(request).await
    };
    assert_eq!(status, 202, "{v3}");
    let v3 = app.compiled(&shop, v3["id"].as_str().expect("id")).await;
    assert_eq!(v3["state"], "ready");
    assert_eq!(v3["active"], false);
    assert!(reply_text(&app.say(&shop, "ana", "hi").await).contains("customer_id="), "v2 still answers");

    // Versions list newest first, with the active one marked.
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    let listed: Vec<(i64, bool)> = overview["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| (v["version"].as_i64().unwrap_or_default(), v["active"].as_bool().unwrap_or_default()))
        .collect();
    assert_eq!(listed, [(3, false), (2, true), (1, false)]);

    // Roll back to v1.
    let v1_id = v1["id"].as_str().expect("id");
    let (status, activated) = app.post(&format!("/v1/plugins/{v1_id}/activate"), &shop.key, json!({})).await;
    assert_eq!(status, 200, "{activated}");
    assert_eq!(overview["active_version_id"], v2["id"]);
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["active_version_id"], v1["id"]);
    assert!(reply_text(&app.say(&shop, "ana", "hi").await).starts_with("Welcome back to Verdura"), "v1 answers again");

    let (status, body) = app.post("/v1/plugins/pv_doesnotexist/activate", &shop.key, json!({})).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (404, Some("not_found")));
}

bottega_tests::on_both_databases!(
    a_business_hears_when_its_upload_is_ready,
    a_compile_cut_off_by_a_stopped_node_is_taken_over,
);

/// The upload answers at once; the business learns the outcome from its
/// webhook as well as by polling.
async fn a_business_hears_when_its_upload_is_ready(app: TestApp) {
    let shop = app.create_shop("Notified", json!({})).await;
    let (status, endpoint) = app
        .request(Method::PUT, "/v1/webhook", Some(&shop.key), Some(json!({"url": "https://shop.example/hooks"})))
        .await;
    assert_eq!(status, 200, "{endpoint}");

    let version = app.upload(&shop, plugins::GROCERY_RUST).await;
    assert!(version["ready_at"].is_string(), "{version}");
    // The event is queued just after the version is recorded ready.
    let started = std::time::Instant::now();
    let events = loop {
        let deliveries = bottega::store::webhooks::list(&app.app.db, &shop.id, 10).await.expect("deliveries");
        let events: Vec<String> = deliveries.into_iter().map(|d| d.event_type).collect();
        if !events.is_empty() || started.elapsed() > std::time::Duration::from_secs(10) {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(events, ["plugin.ready"]);
}

/// A node stopped mid-compile: its lease ends and another node (here, the same
/// runtime's sweep) compiles the upload, which then answers.
async fn a_compile_cut_off_by_a_stopped_node_is_taken_over(app: TestApp) {
    let shop = app.create_shop("Resumed", json!({})).await;
    let wasm = std::fs::read(plugins::GROCERY_RUST).expect("built");
    // What an upload leaves behind when its node dies before compiling: a
    // stored version, compiling, under a lease that has ended.
    let cut_off = stranded(&app, &shop, &wasm, "0000", 0).await;
    assert_eq!(cut_off.state, bottega::store::plugins::VersionState::Compiling);

    // This runtime's own sweep (every few seconds) may take it first.
    let resumed = app.app.plugins.resume_abandoned_compiles(&app.app.db).await.expect("sweep");
    assert!(resumed <= 1);
    let version = app.compiled(&shop, &cut_off.id).await;
    assert_eq!(version["state"], "ready", "{version}");
    assert_eq!(version["active"], true);
    assert!(reply_text(&app.say(&shop, "ana", "hi").await).starts_with("Welcome to Verdura"));
    // Nothing is left to take over.
    assert_eq!(app.app.plugins.resume_abandoned_compiles(&app.app.db).await.expect("sweep"), 0);

    // An upload whose compile stopped the runtime three times is given up.
    let deadly = stranded(&app, &shop, &wasm, "1111", 0).await;
    sqlx::query("UPDATE plugin_versions SET compile_attempts = 3 WHERE id = $1")
        .bind(&deadly.id)
        .execute(app.db())
        .await
        .expect("three attempts");
    app.app.plugins.resume_abandoned_compiles(&app.app.db).await.expect("sweep");
    let given_up = app.compiled(&shop, &deadly.id).await;
    assert_eq!(given_up["state"], "failed", "{given_up}");
    assert!(given_up["failure"].as_str().unwrap_or_default().contains("stopped the runtime 3 times"), "{given_up}");
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["active_version_id"], version["id"], "the ready version still answers");
}

mod loaded_plugins {
    use super::*;

    /// A node keeps at most `max_loaded_plugins` loaded and still answers every
    /// shop: the least recently used is dropped and loaded again (from the
    /// compiled cache on disk) when its customers write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = TestApp::start_with(Backend::Sqlite, |config| config.plugins.max_loaded_plugins = 1)
            .await
            .expect("SQLite always runs");
        let grocer = app.create_shop("Grocer", json!({})).await;
        let spy = app.create_shop("Spy", json!({})).await;
        app.upload(&grocer, plugins::GROCERY_RUST).await;
        app.upload(&spy, plugins::TEST_SPY).await;
        for _ in 0..3 {
            assert!(reply_text(&app.say(&grocer, "ana", "hi").await).contains("Verdura"));
            assert!(app.app.plugins.loaded_count() <= 1, "{} loaded", app.app.plugins.loaded_count());
            assert!(reply_text(&app.say(&spy, "ben", "hi").await).contains("customer_id="));
            assert!(app.app.plugins.loaded_count() <= 1, "{} loaded", app.app.plugins.loaded_count());
        }
    }
}

bottega_tests::on_both_databases!(a_rollback_is_not_undone_by_an_upload_still_compiling);

/// A business uploads v2, then rolls back to v1 while v2 is still compiling:
/// v2 becomes ready without taking over.
async fn a_rollback_is_not_undone_by_an_upload_still_compiling(app: TestApp) {
    let shop = app.create_shop("Careful", json!({})).await;
    let v1 = app.upload(&shop, plugins::GROCERY_RUST).await;
    let wasm = std::fs::read(plugins::TEST_SPY).expect("built");
    // v2 as its upload leaves it while its node compiles (its lease still held).
    let v2 = stranded(&app, &shop, &wasm, "2222", i64::MAX).await;

    let v1_id = v1["id"].as_str().expect("id");
    let (status, _) = app.post(&format!("/v1/plugins/{v1_id}/activate"), &shop.key, json!({})).await;
    assert_eq!(status, 200);
    let (_, pending) = app.get(&format!("/v1/plugins/{}", v2.id), &shop.key).await;
    assert_eq!(pending["activate_when_ready"], false, "{pending}");
    assert_eq!(pending["state"], "compiling");
}

/// A version as an upload leaves it before its compile ends: stored,
/// `compiling`, asking to be activated, its lease held until `lease_until`.
async fn stranded(
    app: &TestApp,
    shop: &Shop,
    wasm: &[u8],
    sha256: &str,
    lease_until: i64,
) -> bottega::store::plugins::PluginVersion {
    let capabilities = bottega::plugin::Capability::ALL;
    let new = bottega::store::plugins::NewPluginVersion {
        sha256,
        world: "bottega:shop@1.1.0",
        capabilities: &capabilities,
        language_class: "compiled",
        wasm,
        activate_when_ready: true,
        compile_lease_until: lease_until,
        max_compiling: bottega::plugin::publish::MAX_COMPILING_PER_BUSINESS,
    };
    bottega::store::plugins::insert(&app.app.db, &shop.id, new)
        .await
        .expect("stored")
        .expect("within the business's compile bound")
}
