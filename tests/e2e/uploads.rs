//! A business uploads things that are not plugins, and is told exactly why not.

use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(bad_uploads_get_clear_errors_and_change_nothing);

async fn bad_uploads_get_clear_errors_and_change_nothing(app: TestApp) {
    let shop = app.create_shop("Uploader", json!({})).await;

    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        ("garbage", b"this is not a plugin".to_vec(), 422, "not_wasm", "not WebAssembly"),
        ("empty", Vec::new(), 400, "empty_upload", "empty"),
        (
            "core module",
            b"\0asm\x01\0\0\0".to_vec(),
            422,
            "not_a_component",
            "core WebAssembly module, not a component",
        ),
        (
            "component for an unknown world",
            std::fs::read(plugins::TEST_WRONG_WORLD).expect("built"),
            422,
            "unsupported_world",
            "built for bottega:shop@9.0.0; this host supports bottega:shop@1.0.0",
        ),
        (
            "truncated component",
            std::fs::read(plugins::GROCERY_RUST).expect("built")[..2000].to_vec(),
            422,
            "malformed_component",
            "malformed",
        ),
    ];
    for (what, bytes, status, code, message) in cases {
        let (got, body) = app.upload_bytes(&shop, bytes).await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        let text = body["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{what}: `{text}` should say `{message}`");
    }

    // Too large: refused before it is read whole.
    let limit = app.app.config.plugins.max_upload_bytes;
    let (status, body) = app.upload_bytes(&shop, vec![0u8; limit + 10]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "plugin_too_large");

    // A plugin importing a capability the business was not granted.
    let no_kv = app.create_shop("No KV", json!({"capabilities": ["catalog", "cart", "log", "clock"]})).await;
    let (status, body) = app.upload_bytes(&no_kv, std::fs::read(plugins::GROCERY_RUST).expect("built")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "capability_not_granted");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("`kv`"), "{body}");

    // None of it became a version.
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["versions"], json!([]));
    assert_eq!(overview["active_version_id"], serde_json::Value::Null);
}
