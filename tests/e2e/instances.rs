//! Instance reuse: bounded, per business, and never after a failure.

use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(instances_are_reused_within_a_business_and_replaced_after_failures);

async fn count(app: &TestApp, shop: &Shop, customer: &str) -> String {
    reply_text(&app.say(shop, customer, "count").await)
}

async fn instances_are_reused_within_a_business_and_replaced_after_failures(app: TestApp) {
    let a = app.create_shop("A", json!({"limits": {"max_instance_uses": 3}})).await;
    let b = app.create_shop("B", json!({"limits": {"max_instance_uses": 3}})).await;
    app.upload(&a, plugins::TEST_QUOTA).await;
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
