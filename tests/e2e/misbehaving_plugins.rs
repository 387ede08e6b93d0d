//! Plugins that misbehave, and what the host does about them: a plugin that
//! keeps tripping the circuit breaker is kept out for a cool-off that doubles,
//! a business uploading version after version queues at most three compiles,
//! a component that could never start within its memory limit is refused at
//! upload, a customer whose bot named only unknown products still hears back
//! (while the business reads why), and a quiet shop waits for a call slot in
//! turn with a busy one, not behind the busy one's whole queue.

use axum::body::Body;
use axum::http::{Method, Request};
use bottega::chat::fallback;
use bottega::plugin::publish::MAX_COMPILING_PER_BUSINESS;
use bottega_tests::*;
use serde_json::{Value, json};
use tower::ServiceExt;

bottega_tests::on_both_databases!(
    a_plugin_that_keeps_tripping_the_breaker_cools_off,
    a_business_has_at_most_three_uploads_compiling,
    a_plugin_whose_memory_could_never_fit_is_refused_at_upload,
    a_customer_whose_bot_named_only_unknown_products_hears_back,
);
bottega_tests::on_both_databases_with!(super::one_call_at_a_time; a_quiet_shop_waits_its_turn_not_a_busy_shops_queue);

/// A node that runs one plugin call at a time (a business may queue four).
fn one_call_at_a_time(config: &mut bottega::Config) {
    config.plugins.max_concurrent_calls = 1;
    config.plugins.max_concurrent_calls_per_business = 4;
}

const MINUTE_MS: i64 = 60 * 1000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// Crashes the active trap plugin until the circuit breaker stops it.
async fn trip(app: &TestApp, shop: &Shop) {
    for _ in 0..app.app.config.plugins.failures_before_disable {
        assert_eq!(reply_text(&app.say(shop, "c1", "boom").await), fallback::FAILED);
    }
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert!(overview["disabled_reason"].is_string(), "the breaker tripped: {overview}");
}

/// Activates a version: the status, the `Retry-After` header (seconds), the body.
async fn activate(app: &TestApp, shop: &Shop, version: &Value) -> (u16, Option<u64>, Value) {
    let id = version["id"].as_str().expect("version id");
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/plugins/{id}/activate"))
        .header("authorization", format!("Bearer {}", shop.key))
        .body(Body::empty())
        .expect("request builds");
    let response = app.app.router().oneshot(request).await.expect("router answers");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
    (status, retry_after, serde_json::from_slice(&bytes).expect("a JSON body"))
}

/// Moves the business's last trip `by_ms` into the past, as time passing would.
async fn age_last_trip(app: &TestApp, shop: &Shop, by_ms: i64) {
    sqlx::query("UPDATE businesses SET plugin_last_trip_at = plugin_last_trip_at - $2 WHERE id = $1")
        .bind(&shop.id)
        .bind(by_ms)
        .execute(app.db())
        .await
        .expect("the last trip is aged");
}

async fn uploaded_inactive(app: &TestApp, shop: &Shop, plugin_path: &str) -> Value {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/plugins?activate=false")
        .header("authorization", format!("Bearer {}", shop.key))
        .body(Body::from(std::fs::read(plugin_path).expect("built plugin")))
        .expect("request builds");
    let (status, version) = app.send(request).await;
    assert_eq!(status, 202, "{version}");
    app.compiled(shop, version["id"].as_str().expect("version id")).await
}

async fn a_plugin_that_keeps_tripping_the_breaker_cools_off(app: TestApp) {
    let shop = app.create_shop("Clumsy", json!({})).await;
    let trap = app.upload(&shop, plugins::TEST_TRAP).await;

    // The first trip of a run costs nothing: the business restarts at once.
    trip(&app, &shop).await;
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["cooling_off"], Value::Null, "{overview}");
    let (status, retry_after, _) = activate(&app, &shop, &trap).await;
    assert_eq!((status, retry_after), (200, None));
    assert_eq!(reply_text(&app.say(&shop, "c1", "ok").await), "still standing");

    // The second: a minute during which no version may answer.
    trip(&app, &shop).await;
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["cooling_off"]["trips"], 2, "{overview}");
    assert!(overview["cooling_off"]["until"].is_string(), "{overview}");
    let (status, retry_after, refused) = activate(&app, &shop, &trap).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "plugin_cooling_off");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("stopped this business's plugin 2 times within a day"), "{message}");
    assert!(message.contains("no version may answer until"), "{message}");
    assert!(message.contains("a cool-off of 1 minute that doubles"), "{message}");
    assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)), "{retry_after:?}");
    assert_eq!(reply_text(&app.say(&shop, "c1", "ok").await), fallback::DISABLED, "still stopped");

    // A new upload is held to the same cool-off: it cannot ask to answer at
    // once, and stored without activating, it cannot be activated either.
    let (status, refused) = app.upload_bytes(&shop, std::fs::read(plugins::TEST_QUOTA).expect("built")).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "plugin_cooling_off");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("activate=false"), "{refused}");
    let fix = uploaded_inactive(&app, &shop, plugins::TEST_QUOTA).await;
    assert_eq!(fix["state"], "ready", "{fix}");
    let (status, retry_after, refused) = activate(&app, &shop, &fix).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("plugin_cooling_off")), "{refused}");
    assert!(retry_after.is_some(), "a refusal says when to come back");

    // Once the minute is over, the business may restart.
    age_last_trip(&app, &shop, MINUTE_MS).await;
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["cooling_off"], Value::Null, "{overview}");
    let (status, _, activated) = activate(&app, &shop, &trap).await;
    assert_eq!(status, 200, "{activated}");

    // The third trip within the day doubles the cool-off.
    trip(&app, &shop).await;
    let (status, retry_after, refused) = activate(&app, &shop, &trap).await;
    assert_eq!(status, 409, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("a cool-off of 2 minutes"), "{message}");
    assert!(retry_after.is_some_and(|s| (61..=120).contains(&s)), "{retry_after:?}");
    age_last_trip(&app, &shop, MINUTE_MS).await;
    let (status, _, _) = activate(&app, &shop, &trap).await;
    assert_eq!(status, 409, "one minute of two is not enough");

    // A day without a trip ends the run: the next trip is a first one again.
    age_last_trip(&app, &shop, DAY_MS).await;
    let (status, _, activated) = activate(&app, &shop, &trap).await;
    assert_eq!(status, 200, "{activated}");
    trip(&app, &shop).await;
    let trips = bottega::store::businesses::plugin_trips(&app.app.db, &shop.id).await.expect("trips read");
    assert_eq!(trips.count, 1, "a new run");
    let (status, _, activated) = activate(&app, &shop, &trap).await;
    assert_eq!(status, 200, "{activated}");
}

/// A version as an upload leaves it while its compile runs: stored,
/// `compiling`, its lease held for good (no sweep takes it over).
async fn still_compiling(app: &TestApp, shop: &Shop, wasm: &[u8], n: i64) -> String {
    let capabilities = bottega::plugin::Capability::ALL;
    let sha256 = format!("{n:064}");
    let new = bottega::store::plugins::NewPluginVersion {
        sha256: &sha256,
        world: "bottega:shop@1.1.0",
        capabilities: &capabilities,
        language_class: "compiled",
        wasm,
        activate_when_ready: false,
        compile_lease_until: i64::MAX,
        max_compiling: MAX_COMPILING_PER_BUSINESS,
    };
    let version = bottega::store::plugins::insert(&app.app.db, &shop.id, new)
        .await
        .expect("stored")
        .expect("within the business's compile bound");
    version.id
}

async fn a_business_has_at_most_three_uploads_compiling(app: TestApp) {
    let busy = app.create_shop("Busy uploader", json!({})).await;
    let wasm = std::fs::read(plugins::TEST_QUOTA).expect("built plugin");
    let mut compiling = Vec::new();
    for n in 0..MAX_COMPILING_PER_BUSINESS {
        compiling.push(still_compiling(&app, &busy, &wasm, n).await);
    }

    // A fourth upload is refused while three compile.
    let (status, refused) = app.upload_bytes(&busy, wasm.clone()).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "too_many_compiling");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("already has 3 uploads compiling"), "{message}");
    let (_, overview) = app.get("/v1/plugins", &busy.key).await;
    assert_eq!(overview["versions"].as_array().map(Vec::len), Some(3), "nothing more was stored: {overview}");

    // Another business is not held back by it.
    let quiet = app.create_shop("Quiet uploader", json!({})).await;
    app.upload(&quiet, plugins::TEST_QUOTA).await;
    assert_eq!(reply_text(&app.say(&quiet, "c1", "count").await), "answered 1");

    // Once one of the three is over, there is room for one more.
    sqlx::query("UPDATE plugin_versions SET state = 'failed', failure = 'given up by the test' WHERE id = $1")
        .bind(&compiling[0])
        .execute(app.db())
        .await
        .expect("a compile ends");
    let version = app.upload_ready(&busy, wasm).await;
    assert_eq!(version["version"], 4, "{version}");
}

async fn a_plugin_whose_memory_could_never_fit_is_refused_at_upload(app: TestApp) {
    // Its 48 MiB initial memory is more than the default 32 MiB: refused, and nothing stored.
    let small = app.create_shop("Small memory", json!({})).await;
    let wasm = std::fs::read(plugins::TEST_BIG_MEMORY).expect("built plugin");
    let (status, refused) = app.upload_bytes(&small, wasm.clone()).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "memory_exceeds_limit");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("the component's initial memory is"), "{message}");
    assert!(message.contains("more than this business's memory limit of 33554432 bytes (32 MiB)"), "{message}");
    let (_, overview) = app.get("/v1/plugins", &small.key).await;
    assert_eq!(overview["versions"], json!([]), "{overview}");

    // Within a business's limit of 64 MiB it is accepted and answers.
    let mut limits = serde_json::to_value(bottega::plugin::PluginLimits::default()).expect("limits serialize");
    limits["memory_bytes"] = json!(64 << 20);
    let large = app.create_shop("Large memory", json!({"limits": limits})).await;
    app.upload_ready(&large, wasm).await;
    assert_eq!(reply_text(&app.say(&large, "c1", "hi").await), "carrying 48 MiB");
}

async fn a_customer_whose_bot_named_only_unknown_products_hears_back(app: TestApp) {
    let shop = app.create_shop("Forgetful", json!({})).await;
    app.add_product(&shop, "pear", "Pear", 90, "Fruit").await;
    app.upload(&shop, plugins::TEST_QUOTA).await;

    // One card of a product the catalog does not have: the customer hears the fallback.
    let outcome = app.say(&shop, "c1", "show ghost").await;
    assert_eq!(reply_text(&outcome), fallback::FAILED, "{outcome}");
    assert_eq!(outcome["replies"][0]["author"], "host", "{outcome}");
    // The business reads why, newest first.
    let (_, logs) = app.get("/v1/plugins/logs", &shop.key).await;
    let warnings: Vec<&str> = logs
        .as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["level"] == "warn")
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(warnings.iter().any(|w| w.contains("product `ghost` is not in the catalog")), "{logs}");
    assert!(
        warnings.iter().any(|w| w.contains("its one reply named only products that are not in the catalog")
            && w.contains("the customer was sent the fallback reply")),
        "{logs}"
    );

    // A list of unknown products: the same.
    let outcome = app.say(&shop, "c1", "show ghost phantom").await;
    assert_eq!(reply_text(&outcome), fallback::FAILED, "{outcome}");

    // A list with one known product shows that one, and no fallback.
    let outcome = app.say(&shop, "c1", "show pear ghost").await;
    let bodies = replies(&outcome);
    assert_eq!(bodies.len(), 1, "{outcome}");
    assert_eq!(bodies[0]["type"], "product_list", "{outcome}");
    assert_eq!(bodies[0]["products"].as_array().map(Vec::len), Some(1), "{outcome}");

    // A bot that answers nothing chose silence: the host adds nothing.
    let outcome = app.say(&shop, "c1", "silent").await;
    assert_eq!(replies(&outcome), Vec::<Value>::new(), "{outcome}");
}

/// A shop's limits with its deadline set to `deadline_ms`.
fn with_deadline(deadline_ms: u64) -> Value {
    let mut limits = serde_json::to_value(bottega::plugin::PluginLimits::default()).expect("limits serialize");
    limits["deadline_ms"] = json!(deadline_ms);
    json!({"limits": limits})
}

async fn a_quiet_shop_waits_its_turn_not_a_busy_shops_queue(app: TestApp) {
    // Deadlines long enough that nobody gives up waiting for the node's one slot.
    let busy = app.create_shop("Number cruncher", with_deadline(5000)).await;
    app.upload(&busy, plugins::TEST_LOOP).await;
    let quiet = app.create_shop("Quiet corner", with_deadline(5000)).await;
    app.upload(&quiet, plugins::TEST_QUOTA).await;

    // Four customers of the busy shop: one call runs, three wait for the slot...
    let app = std::sync::Arc::new(app);
    let finished = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let crunching: Vec<_> = (0..4)
        .map(|n| {
            let (app, shop, finished) = (app.clone(), busy.clone(), finished.clone());
            tokio::spawn(async move {
                let answer = app.say(&shop, &format!("cruncher {n}"), "spin 300").await;
                finished.lock().unwrap_or_else(|p| p.into_inner()).push(format!("busy {n}"));
                answer
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    // ...then one customer of the quiet shop writes: served at the next free
    // slot, not after the busy shop's queue.
    let answer = app.say(&quiet, "c1", "count").await;
    finished.lock().unwrap_or_else(|p| p.into_inner()).push("quiet".to_string());
    assert_eq!(reply_text(&answer), "answered 1", "{answer}");
    for call in crunching {
        let answer = call.await.expect("the busy shop's call");
        assert_eq!(reply_text(&answer), "spun 300 ms", "{answer}");
    }
    let finished = finished.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let place = finished.iter().position(|f| f == "quiet").expect("the quiet shop answered");
    assert!(place <= 2, "the quiet shop waited behind the busy shop's queue: {finished:?}");
}
