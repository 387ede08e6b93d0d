//! A business ships a new plugin version, regrets it, and rolls back.

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
    assert_eq!(v1["world"], "bottega:shop@1.0.0");
    assert_eq!(v1["capabilities"], json!(["cart", "catalog", "clock", "kv", "log"]));
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
    assert_eq!(status, 201, "{v3}");
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
