//! The operator manages a business after creating it: limits, capabilities, keys.

use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(an_operator_tunes_limits_revokes_a_capability_and_rotates_a_key);

async fn an_operator_tunes_limits_revokes_a_capability_and_rotates_a_key(app: TestApp) {
    let shop = app.create_shop("Managed", json!({})).await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let admin_path = format!("/v1/admin/businesses/{}", shop.id);

    // Changing one limit keeps the others.
    let (status, patched) = app
        .request(
            axum::http::Method::PATCH,
            &admin_path,
            Some(ADMIN_TOKEN),
            Some(json!({"limits": {"deadline_ms": 500}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["limits"]["deadline_ms"], 500);
    assert_eq!(patched["limits"]["memory_bytes"], 32 << 20);
    let (_, own) = app.get("/v1/business", &shop.key).await;
    assert_eq!(own["limits"]["deadline_ms"], 500, "the business sees its own limits: {own}");
    assert!(own.get("pseudonym_key").is_none(), "secrets never leave the host: {own}");

    // Revoking a capability the active plugin imports stops it at load, with a reason.
    let (status, _) = app
        .request(
            axum::http::Method::PATCH,
            &admin_path,
            Some(ADMIN_TOKEN),
            Some(json!({"capabilities": ["catalog", "cart", "log", "clock"]})),
        )
        .await;
    assert_eq!(status, 200);
    let refused = app.say(&shop, "c1", "hi").await;
    assert_eq!(reply_text(&refused), bottega::chat::fallback::FAILED);
    let (_, failures) = app.get("/v1/plugins/failures", &shop.key).await;
    assert_eq!(failures[0]["kind"], "capability_denied");
    assert!(failures[0]["detail"].as_str().unwrap_or_default().contains("`kv`"), "{failures}");

    // A new key replaces the old one at once.
    let (status, rotated) =
        app.request(axum::http::Method::POST, &format!("{admin_path}/api-key"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 200);
    let new_key = rotated["api_key"].as_str().expect("new key");
    assert_eq!(app.get("/v1/products", &shop.key).await.0, 401);
    assert_eq!(app.get("/v1/products", new_key).await.0, 200);

    let (status, missing): (_, Value) =
        app.request(axum::http::Method::GET, "/v1/admin/businesses/biz_nope", Some(ADMIN_TOKEN), None).await;
    assert_eq!((status.as_u16(), missing["error"]["code"].as_str()), (404, Some("not_found")));
}
