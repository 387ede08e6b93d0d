//! Bad input always gets a status and a JSON error with a stable code.

use axum::body::Body;
use axum::http::{Method, Request};
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(bad_requests_get_json_errors, the_api_describes_itself);

async fn bad_requests_get_json_errors(app: TestApp) {
    let shop = app.create_shop("Strict", json!({})).await;

    let malformed = Request::builder()
        .method(Method::POST)
        .uri("/v1/messages")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "application/json")
        .body(Body::from("{\"customer\": "))
        .expect("request");
    let (status, body) = app.send(malformed).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("malformed_json")), "{body}");

    let cases = [
        ("/v1/messages", json!({"customer": "c"}), 422, "invalid_request", "exactly one of"),
        (
            "/v1/messages",
            json!({"customer": "c", "text": "a", "product_id": "b"}),
            422,
            "invalid_request",
            "exactly one of",
        ),
        ("/v1/messages", json!({"customer": "", "text": "hi"}), 422, "invalid_request", "handle"),
        ("/v1/messages", json!({"customer": "c", "text": "x".repeat(5000)}), 422, "invalid_request", "at most 4096"),
        (
            "/v1/messages",
            json!({"customer": "c", "text": "hi", "colour": "red"}),
            422,
            "invalid_request",
            "unknown field",
        ),
        ("/v1/messages", json!({"customer": "c", "text": "hi", "locale": "en_GB!"}), 422, "invalid_request", "BCP 47"),
        (
            "/v1/messages",
            json!({"customer": "c", "browse": {"section": "s".repeat(300)}}),
            422,
            "invalid_request",
            "at most 256",
        ),
        ("/v1/messages", json!({"customer": "c\0d", "text": "hi"}), 400, "invalid_text", "NUL"),
        (
            "/v1/products",
            json!({"id": "a", "name": "A\0", "price_minor": 1, "currency": "EUR", "section": "S"}),
            400,
            "invalid_text",
            "NUL",
        ),
        (
            "/v1/products",
            json!({"id": "a", "name": "A", "price_minor": 1_000_000_000_001i64, "currency": "EUR", "section": "S"}),
            422,
            "invalid_request",
            "price_minor",
        ),
        (
            "/v1/products",
            json!({"id": "a", "name": "A", "price_minor": 100, "currency": "USD", "section": "S"}),
            422,
            "invalid_request",
            "shop's currency EUR",
        ),
        (
            "/v1/products",
            json!({"id": "a", "name": "A", "price_minor": -1, "currency": "EUR", "section": "S"}),
            422,
            "invalid_request",
            "price_minor",
        ),
        (
            "/v1/products",
            json!({"id": "a b", "name": "A", "price_minor": 1, "currency": "EUR", "section": "S"}),
            422,
            "invalid_id",
            "id must be",
        ),
        (
            "/v1/products",
            json!({"id": "a", "name": "A", "price_minor": "1.50", "currency": "EUR", "section": "S"}),
            422,
            "invalid_request",
            "price_minor",
        ),
    ];
    for (path, body, status, code, message) in cases {
        let (got, answer) = app.post(path, &shop.key, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        let text = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "`{text}` should mention `{message}`");
    }

    // Nothing invalid was stored.
    assert_eq!(app.get("/v1/conversations", &shop.key).await.1, json!([]));

    // A duplicate product id is a conflict that names it.
    app.add_product(&shop, "tea", "Tea", 300, "Drinks").await;
    let (status, answer) = app
        .post(
            "/v1/products",
            &shop.key,
            json!({"id": "tea", "name": "Tea", "price_minor": 1, "currency": "EUR", "section": "S"}),
        )
        .await;
    assert_eq!((status.as_u16(), answer["error"]["code"].as_str()), (409, Some("conflict")));
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("`tea`"));

    // Operators get the same treatment.
    for (body, message) in [
        (json!({"name": "X", "currency": "EURO"}), "ISO 4217"),
        (json!({"name": "", "currency": "EUR"}), "name"),
        (json!({"name": "X", "currency": "EUR", "capabilities": ["network"]}), "unknown variant"),
        (json!({"name": "X", "currency": "EUR", "limits": {"deadline_ms": 0}}), "deadline_ms"),
        (json!({"name": "X", "currency": "EUR", "limits": {"memory_bytes": 1u64 << 40}}), "memory_bytes"),
    ] {
        let (status, answer) = app.request(Method::POST, "/v1/admin/businesses", Some(ADMIN_TOKEN), Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains(message), "{answer}");
    }

    let (status, answer) = app.get("/v1/no/such/thing", &shop.key).await;
    assert_eq!((status.as_u16(), answer["error"]["code"].as_str()), (404, Some("no_route")));
    let (status, answer) = app.request(Method::GET, "/v1/products", None, None).await;
    assert_eq!((status.as_u16(), answer["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, answer) = app.get("/v1/products?limit=lots", &shop.key).await;
    assert_eq!((status.as_u16(), answer["error"]["code"].as_str()), (400, Some("invalid_query")));
}

async fn the_api_describes_itself(app: TestApp) {
    let (status, health) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!((status.as_u16(), health), (200, json!({"status": "ok", "database": "ok"})));

    let (status, spec) = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap_or_default().starts_with("3."));
    for path in [
        "/v1/admin/businesses",
        "/v1/products",
        "/v1/products/{id}",
        "/v1/plugins",
        "/v1/plugins/{id}/activate",
        "/v1/plugins/failures",
        "/v1/messages",
        "/v1/conversations/{id}/messages",
        "/v1/billing/usage",
        "/v1/billing/invoices/{id}",
        "/v1/admin/billing/plans",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} is documented");
    }
    assert!(spec["components"]["schemas"].get("ErrorBody").is_some());
}
