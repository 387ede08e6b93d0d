//! One business can never reach another's data: not through its plugin, not
//! through the API with its key.

use axum::http::Method;
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(a_plugin_sees_only_its_own_business, an_api_key_reaches_only_its_own_business);

async fn a_plugin_sees_only_its_own_business(app: TestApp) {
    // Business B has a product and a stored secret.
    let b = app.create_shop("B", json!({})).await;
    app.add_product(&b, "b-secret", "B's secret recipe", 999, "Secrets").await;
    app.upload(&b, plugins::TEST_QUOTA).await;
    assert_eq!(reply_text(&app.say(&b, "someone", "kv b-key 10").await), "stored");

    // Business A's plugin goes looking for them, and for the machine around it.
    let a = app.create_shop("A", json!({})).await;
    app.add_product(&a, "a-own", "A's own product", 100, "Mine").await;
    app.upload(&a, plugins::TEST_SPY).await;
    let report = reply_text(&app.say(&a, "someone", "probe b-secret b-key").await);
    for fact in [
        "other_product=false",
        "other_search=0",
        "other_kv=false",
        "own_catalog=1",
        "env_vars=0",
        "args=0",
        "fs_root=false",
        "fs_cwd=false",
        "net_connect=false",
    ] {
        assert!(report.lines().any(|l| l == fact), "expected `{fact}` in:\n{report}");
    }
}

async fn an_api_key_reaches_only_its_own_business(app: TestApp) {
    let a = app.create_shop("A", json!({})).await;
    let b = app.create_shop("B", json!({})).await;
    app.add_product(&b, "b-product", "B's product", 100, "Things").await;
    let b_version = app.upload(&b, plugins::GROCERY_RUST).await;
    let b_conversation = app.say(&b, "bob", "hi").await["conversation_id"].as_str().expect("id").to_string();
    let b_version = b_version["id"].as_str().expect("id").to_string();

    // Every business endpoint that names a resource, aimed at B's, with A's key.
    let product_body = json!({"id": "b-product", "name": "Taken", "price_minor": 1, "currency": "EUR", "section": "X"});
    let attempts = [
        (Method::GET, "/v1/products/b-product".to_string(), None),
        (Method::PUT, "/v1/products/b-product".to_string(), Some(product_body)),
        (Method::DELETE, "/v1/products/b-product".to_string(), None),
        (Method::GET, format!("/v1/plugins/{b_version}"), None),
        (Method::POST, format!("/v1/plugins/{b_version}/activate"), None),
        (Method::GET, format!("/v1/conversations/{b_conversation}"), None),
        (Method::GET, format!("/v1/conversations/{b_conversation}/messages"), None),
        (Method::POST, format!("/v1/conversations/{b_conversation}/take"), None),
        (Method::POST, format!("/v1/conversations/{b_conversation}/release"), None),
        (Method::POST, format!("/v1/conversations/{b_conversation}/replies"), Some(json!({"text": "hijack"}))),
    ];
    for (method, path, body) in &attempts {
        let (status, answer) = app.request(method.clone(), path, Some(&a.key), body.clone()).await;
        assert_eq!(status, 404, "{method} {path} with A's key: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }

    // Listings show only A's own things.
    assert_eq!(app.get("/v1/products", &a.key).await.1["products"], json!([]));
    assert_eq!(app.get("/v1/conversations", &a.key).await.1, json!([]));
    assert_eq!(app.get("/v1/plugins", &a.key).await.1["versions"], json!([]));
    assert_eq!(app.get("/v1/plugins/failures", &a.key).await.1, json!([]));
    assert_eq!(app.get("/v1/plugins/logs", &a.key).await.1, json!([]));

    // B's things are untouched.
    let (status, product) = app.get("/v1/products/b-product", &b.key).await;
    assert_eq!((status.as_u16(), product["name"].as_str()), (200, Some("B's product")));
    let (_, conversation) = app.get(&format!("/v1/conversations/{b_conversation}"), &b.key).await;
    assert_eq!(conversation["handling"], "bot");

    // A business key is not an admin token; no key, or a wrong one, is refused everywhere.
    let (status, answer) = app.get("/v1/admin/businesses", &a.key).await;
    assert_eq!((status.as_u16(), answer["error"]["code"].as_str()), (401, Some("unauthorized")));
    for (method, path, body) in attempts {
        let (status, _) = app.request(method.clone(), &path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without a key");
        let (status, _) = app.request(method.clone(), &path, Some("bk_forged"), body).await;
        assert_eq!(status, 401, "{method} {path} with a forged key");
    }
}
