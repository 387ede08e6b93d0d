//! An owner tries a new version of her bot on a real conversation before it
//! answers anyone: on the bot page she replays the conversation against the
//! staged version (chosen from her recent conversations, or pasted as the
//! API exported it), reads turn by turn what the customer sent, what the
//! shop answered then and what the version answers now, with the turns that
//! differ marked; the active version replayed against itself differs
//! nowhere; a version that crashes shows its failure on the page. The real
//! shop's messages, conversations, orders and usage are as they were. A
//! replay without its CSRF token, or by an agent, is refused.

use axum::http::StatusCode;
use bottega_tests::console::{Answer, Console};
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(an_owner_replays_a_conversation_against_a_staged_version_before_activating_it);

const CUSTOMER: &str = "+39 333 123 4567";

/// What the real shop holds: the conversation's messages, its conversations,
/// its orders and its usage.
async fn real_shop(app: &TestApp, shop: &Shop, conversation: &str) -> (usize, Value, Value, Value) {
    let (status, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let messages = history["messages"].as_array().map_or(0, Vec::len);
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let (_, orders) = app.get("/v1/orders", &shop.key).await;
    let (_, usage) = app.get("/v1/billing/usage", &shop.key).await;
    (messages, conversations, orders, usage)
}

/// Uploads a component from the bot page without activating it; returns its
/// version id once it compiled.
async fn stage(app: &TestApp, shop: &Shop, console: &Console, plugin: &str) -> String {
    let wasm = std::fs::read(plugin).expect("built plugin");
    let uploaded =
        app.console_upload(console, "/console/bot/upload", &[], ("wasm", "staged.wasm", wasm.as_slice())).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    let id = overview["versions"][0]["id"].as_str().expect("the new version").to_string();
    assert_eq!(app.compiled(shop, &id).await["state"], "ready");
    id
}

/// Replays one of the shop's conversations against a version, from its form
/// on the bot page (no recording file chosen, as a browser sends it).
async fn replay(app: &TestApp, console: &Console, version: &str, conversation: &str) -> Answer {
    let path = format!("/console/bot/{version}/replay");
    app.console_upload(console, &path, &[("conversation", conversation)], ("recording_file", "", b"".as_slice())).await
}

async fn an_owner_replays_a_conversation_against_a_staged_version_before_activating_it(app: TestApp) {
    let shop = app.create_shop("Verdura", json!({})).await;
    app.add_product(&shop, "apples", "Gala apples", 240, "Fruit").await;
    app.add_product(&shop, "bread", "Sourdough loaf", 450, "Bakery").await;
    let grocer = app.upload(&shop, plugins::GROCERY_RUST).await;
    let grocer = grocer["id"].as_str().expect("version id").to_string();

    // A customer talks to the shop; the active version answers.
    let first = app.say(&shop, CUSTOMER, "hi").await;
    assert!(reply_text(&first).starts_with("Welcome to Verdura"), "{first}");
    app.send_message(&shop, json!({"customer": CUSTOMER, "choice": {"id": "section:Fruit", "title": "Fruit"}})).await;
    app.send_message(&shop, json!({"customer": CUSTOMER, "choice": {"id": "add:apples", "title": "Add"}})).await;
    let conversation = first["conversation_id"].as_str().expect("conversation").to_string();
    let before = real_shop(&app, &shop, &conversation).await;

    // The owner stages a version that answers differently.
    let owner = app.staff(&shop, "Olga", "owner").await;
    let owners = app.signed_in(&owner).await;
    let spy = stage(&app, &shop, &owners, plugins::TEST_SPY).await;
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["active_version_id"], grocer.as_str(), "staged, not active");

    // The bot page offers a replay against the staged version and the active
    // one, of the shop's recent conversations by pseudonym, never a phone number.
    let page = app.console_get(Some(&owners), "/console/bot").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for version in [&spy, &grocer] {
        assert!(page.body.contains(&format!("action=\"/console/bot/{version}/replay\"")), "{}", page.body);
    }
    assert!(page.body.contains(&format!("<option value=\"{conversation}\">")), "{}", page.body);
    assert!(!page.body.contains(CUSTOMER) && !page.body.contains("333 123"), "{}", page.body);

    // Replayed against the staged version, every turn is answered differently,
    // and each says so: then the grocer's welcome, now the spy's facts.
    let replayed = replay(&app, &owners, &spy, &conversation).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert!(
        replayed.body.contains("<p id=replay-summary class=different>3 of 3 turns differ</p>"),
        "{}",
        replayed.body
    );
    for turn in 1..=3 {
        assert!(replayed.body.contains(&format!("<tr class=different data-turn=\"{turn}\">")), "{}", replayed.body);
    }
    assert!(replayed.body.contains("Welcome to Verdura"), "what the shop answered then: {}", replayed.body);
    assert!(replayed.body.contains("customer_id="), "what the staged version answers now: {}", replayed.body);
    assert!(!replayed.body.contains(CUSTOMER), "{}", replayed.body);
    // Under the turns, the version's activate form.
    assert!(replayed.body.contains(&format!("action=\"/console/bot/{spy}/activate\"")), "{}", replayed.body);
    assert!(replayed.body.contains("Activate this version"), "{}", replayed.body);

    // The active version replayed against itself answers as it did.
    let itself = replay(&app, &owners, &grocer, &conversation).await;
    assert_eq!(itself.status, StatusCode::OK, "{}", itself.body);
    assert!(itself.body.contains("<p id=replay-summary class=same>0 of 3 turns differ</p>"), "{}", itself.body);
    assert!(!itself.body.contains("<tr class=different"), "{}", itself.body);
    assert!(itself.body.contains("This version is the one answering your customers."), "{}", itself.body);

    // A recording pasted as the API exported it replays the same way.
    let (status, exported) = app.get(&format!("/v1/conversations/{conversation}/export"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{exported}");
    let recording = exported.to_string();
    let pasted =
        app.console_submit(&owners, &format!("/console/bot/{spy}/replay"), &[("recording", recording.as_str())]).await;
    assert_eq!(pasted.status, StatusCode::OK, "{}", pasted.body);
    assert!(pasted.body.contains("3 of 3 turns differ"), "{}", pasted.body);
    let garbage = app.console_submit(&owners, &format!("/console/bot/{spy}/replay"), &[("recording", "{}")]).await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", garbage.body);

    // A version that crashes shows each turn's failure, not an error page.
    let trap = stage(&app, &shop, &owners, plugins::TEST_TRAP).await;
    let crashed = replay(&app, &owners, &trap, &conversation).await;
    assert_eq!(crashed.status, StatusCode::OK, "{}", crashed.body);
    assert!(crashed.body.contains("3 of 3 turns differ"), "{}", crashed.body);
    assert!(crashed.body.contains("The plugin failed:"), "{}", crashed.body);

    // Nothing of the replays reached the real shop.
    assert_eq!(
        real_shop(&app, &shop, &conversation).await,
        before,
        "messages, conversations, orders and usage as they were"
    );
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["active_version_id"], grocer.as_str(), "a replay activates nothing");

    // Without its CSRF token the replay is refused; so is an agent's.
    let forged = app
        .console_post(Some(&owners), &format!("/console/bot/{spy}/replay"), &[("conversation", conversation.as_str())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.body.contains("csrf_refused"), "{}", forged.body);
    let agent = app.staff(&shop, "Gino", "agent").await;
    let agents = app.signed_in(&agent).await;
    let refused = replay(&app, &agents, &spy, &conversation).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("not_allowed"), "{}", refused.body);

    // Another shop's owner can replay neither this shop's version nor its conversation.
    let other = app.create_shop("Pescheria", json!({})).await;
    let stranger = app.staff(&other, "Nina", "owner").await;
    let strangers = app.signed_in(&stranger).await;
    let hidden = replay(&app, &strangers, &spy, &conversation).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);

    // Activating the staged version from the replay's form.
    let activated = app.console_submit(&owners, &format!("/console/bot/{spy}/activate"), &[]).await;
    assert_eq!(activated.status, StatusCode::SEE_OTHER, "{}", activated.body);
    assert!(reply_text(&app.say(&shop, CUSTOMER, "hi").await).contains("customer_id="), "the spy answers now");
}
