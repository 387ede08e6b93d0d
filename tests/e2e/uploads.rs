//! A business uploads things that are not plugins, and is told exactly why not.

use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(
    bad_uploads_get_clear_errors_and_change_nothing,
    an_upload_that_cannot_link_is_reported_failed,
);

mod size_limits {
    use super::*;

    /// Limits an operator set: the grocery plugin (about 120 KiB, compiled)
    /// is over the compiled limit and under the interpreted one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = TestApp::start_with(Backend::Sqlite, |config| {
            config.plugins.upload_limits = bottega::plugin::UploadLimits { compiled: 50_000, interpreted: 1 << 20 };
        })
        .await
        .expect("SQLite always runs");
        size_limits_depend_on_the_language_class(app).await;
    }
}

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
            "built for bottega:shop@9.0.0; this host supports bottega:shop@1.1.0, bottega:shop@1.0.0",
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

    // Too large for any plugin: refused before it is read whole.
    let limit = app.app.config.plugins.upload_limits.largest();
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

/// Named as the contract wants but shaped otherwise: accepted for compiling,
/// then reported failed with the reason; it cannot be activated.
async fn an_upload_that_cannot_link_is_reported_failed(app: TestApp) {
    let shop = app.create_shop("Misshapen", json!({})).await;
    let (status, accepted) = app.upload_bytes(&shop, std::fs::read(plugins::TEST_WRONG_SHAPE).expect("built")).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["state"], "compiling");
    let id = accepted["id"].as_str().expect("version id");

    let failed = app.compiled(&shop, id).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let failure = failed["failure"].as_str().unwrap_or_default();
    assert!(failure.contains("does not fit the contract"), "{failure}");

    let (status, refused) = app.post(&format!("/v1/plugins/{id}/activate"), &shop.key, json!({})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "plugin_not_ready");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("failed to compile"), "{refused}");
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["active_version_id"], serde_json::Value::Null, "a failed compile is never activated");
}

/// A compiled plugin over the compiled limit is refused with that limit named,
/// though it is under the limit for interpreted plugins.
async fn size_limits_depend_on_the_language_class(app: TestApp) {
    let shop = app.create_shop("Sized", json!({})).await;
    let grocery = std::fs::read(plugins::GROCERY_RUST).expect("built");
    let limits = app.app.config.plugins.upload_limits;
    assert!(grocery.len() > limits.compiled && grocery.len() < limits.interpreted, "the story's limits fit the plugin");
    let (status, body) = app.upload_bytes(&shop, grocery).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "plugin_too_large");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("the limit for compiled plugins is {} bytes", limits.compiled)), "{message}");
}
