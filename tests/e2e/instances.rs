//! Instance reuse: chosen per plugin from what it costs to instantiate,
//! bounded per business, and never after a failure.

use std::time::Duration;

use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(instances_are_reused_within_a_business_and_replaced_after_failures);

mod automatic_choice {
    use super::*;

    /// An operator threshold every plugin is under: each gets a fresh instance per message.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = TestApp::start_with(Backend::Sqlite, |config| {
            config.plugins.reuse_instances_above = Duration::from_secs(1);
        })
        .await
        .expect("SQLite always runs");
        a_plugin_cheap_to_instantiate_gets_a_fresh_instance_per_message(app).await;
    }
}

async fn count(app: &TestApp, shop: &Shop, customer: &str) -> String {
    reply_text(&app.say(shop, customer, "count").await)
}

async fn instances_are_reused_within_a_business_and_replaced_after_failures(app: TestApp) {
    let a = app.create_shop("A", json!({"limits": {"max_instance_uses": 3}})).await;
    let b = app.create_shop("B", json!({"limits": {"max_instance_uses": 3}})).await;
    let version = app.upload(&a, plugins::TEST_QUOTA).await;
    // This node's operator left every plugin to the business's setting.
    assert_eq!(version["instances"], "reused", "{version}");
    app.upload(&b, plugins::TEST_QUOTA).await;

    // One instance answers up to three messages of A (whoever the customer), then a fresh one.
    assert_eq!(count(&app, &a, "ana").await, "answered 1");
    assert_eq!(count(&app, &a, "bea").await, "answered 2");
    // B's plugin is the same component, but never A's instance.
    assert_eq!(count(&app, &b, "carla").await, "answered 1");
    assert_eq!(count(&app, &a, "ana").await, "answered 3");
    assert_eq!(count(&app, &a, "ana").await, "answered 1", "the instance was retired after 3 uses");

    // After a failure the instance is discarded.
    assert_eq!(count(&app, &a, "ana").await, "answered 2");
    app.say(&a, "ana", "crash").await;
    assert_eq!(count(&app, &a, "ana").await, "answered 1");

    // One use per instance: a fresh instance for every message.
    let fresh = app.create_shop("Fresh", json!({"limits": {"max_instance_uses": 1}})).await;
    app.upload(&fresh, plugins::TEST_QUOTA).await;
    for customer in ["dan", "dan", "eva"] {
        assert_eq!(count(&app, &fresh, customer).await, "answered 1");
    }

    // Activating another version retires the idle instances of the old one.
    app.upload(&b, plugins::TEST_QUOTA).await;
    assert_eq!(count(&app, &b, "carla").await, "answered 1");
}

async fn a_plugin_cheap_to_instantiate_gets_a_fresh_instance_per_message(app: TestApp) {
    let shop = app.create_shop("Quick", json!({"limits": {"max_instance_uses": 3}})).await;
    let version = app.upload(&shop, plugins::TEST_QUOTA).await;
    // Measured when it was compiled, and the choice shown to the business.
    assert!(version["startup_us"].as_i64().is_some_and(|us| us >= 0), "{version}");
    assert_eq!(version["instances"], "fresh_per_message", "{version}");
    // The business allows 3 uses, but nothing is gained by reuse here: every
    // message gets a new instance, so nothing of one message reaches the next.
    for customer in ["ana", "ana", "bea"] {
        assert_eq!(count(&app, &shop, customer).await, "answered 1");
    }
    let (_, listed) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(listed["versions"][0]["instances"], "fresh_per_message", "{listed}");
}
