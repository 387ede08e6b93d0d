//! The contract moves on and the shops built against the previous version keep
//! selling: the host serves `bottega:shop@1.1.0` and `@1.0.0` side by side. A
//! shop can move to the new version (and its `orders` capability) and back.

use bottega::commerce::payments::sandbox::CARD_SUCCESS;
use bottega_tests::card::pay_checkout;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(
    a_shop_built_for_the_previous_contract_keeps_selling_after_the_upgrade,
    customers_read_only_their_own_orders,
);

async fn grocer(app: &TestApp, name: &str) -> Shop {
    let shop = app.create_shop(name, json!({})).await;
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": 20, "section": "Fruit"});
    let (status, body) = app.post("/v1/products", &shop.key, pear).await;
    assert_eq!(status, 201, "{body}");
    shop
}

fn cart_summary(outcome: &Value) -> Value {
    replies(outcome).into_iter().find(|r| r["type"] == "cart_summary").unwrap_or_else(|| panic!("{outcome}"))
}

async fn a_shop_built_for_the_previous_contract_keeps_selling_after_the_upgrade(app: TestApp) {
    let shop = grocer(&app, "Old Faithful").await;

    // Built from the frozen wit/versions/1.0.0: accepted, and named for what it is.
    let old = app.upload(&shop, plugins::TEST_PREVIOUS_CONTRACT).await;
    assert_eq!(old["world"], "bottega:shop@1.0.0", "{old}");
    assert_eq!(old["capabilities"], json!(["cart", "catalog", "clock", "kv", "log"]));
    let old_id = old["id"].as_str().expect("version id").to_string();

    // Every 1.0.0 capability answers it: kv, clock and log...
    assert_eq!(reply_text(&app.say(&shop, "ana", "hi").await), "Hello from a 1.0.0 plugin! Visit 1.");
    assert_eq!(reply_text(&app.say(&shop, "ana", "hi").await), "Hello from a 1.0.0 plugin! Visit 2.");
    // ...the catalog and the cart; and the host calls its storefront export to price the cart.
    let found = app.say(&shop, "ana", "pear").await;
    assert_eq!(replies(&found)[0]["products"][0]["id"], "pear", "{found}");
    let added = app.say(&shop, "ana", "add pear").await;
    assert!(reply_text(&added).starts_with("Added Conference pear."), "{added}");
    let summary = cart_summary(&added);
    assert_eq!(summary["cart"]["discounts"][0]["label"], "1.0.0 loyalty", "{summary}");
    assert_eq!(summary["cart"]["total"]["amount_minor"], 89);

    // Checkout and payment; the bot's event export thanks the customer.
    let checkout = app.say(&shop, "ana", "checkout").await;
    let order_id = pay_checkout(&app, &checkout, CARD_SUCCESS).await;
    let conversation = checkout["conversation_id"].as_str().expect("conversation id");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let last = history["messages"].as_array().and_then(|m| m.last()).cloned().unwrap_or_default();
    assert_eq!(last["body"]["text"], format!("1.0.0 says thanks for {order_id}"), "{history}");

    // The business moves to a plugin built against the current contract, which
    // reads the customer's orders (1.1.0's `orders` capability)...
    let new = app.upload(&shop, plugins::GROCERY_RUST).await;
    assert_eq!(new["world"], "bottega:shop@1.1.0", "{new}");
    assert!(new["capabilities"].as_array().is_some_and(|c| c.contains(&json!("orders"))), "{new}");
    let orders = app.say(&shop, "ana", "my orders").await;
    assert!(reply_text(&orders).contains("Order #1: 1 items, paid, being packed"), "{orders}");
    let again = app.say(&shop, "ana", "order again").await;
    assert!(reply_text(&again).starts_with("I've put order #1 back in your basket"), "{again}");
    assert_eq!(cart_summary(&again)["cart"]["lines"][0]["quantity"], 1);

    // ...and back again: the 1.0.0 version still answers, with what it kept.
    let (status, body) = app.post(&format!("/v1/plugins/{old_id}/activate"), &shop.key, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(reply_text(&app.say(&shop, "ana", "hi").await), "Hello from a 1.0.0 plugin! Visit 3.");
}

async fn customers_read_only_their_own_orders(app: TestApp) {
    let shop = grocer(&app, "Verdura").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    app.say(&shop, "ana", "add 2 pears").await;
    let order = app.say(&shop, "ana", "checkout").await;
    let ana_order = replies(&order).into_iter().find(|r| r["type"] == "checkout").expect("checkout")["order"]["id"]
        .as_str()
        .expect("order id")
        .to_string();

    let orders = app.say(&shop, "ana", "my orders").await;
    assert!(reply_text(&orders).contains("Order #1: 2 items, waiting for payment"), "{orders}");

    // Another customer has no orders, and naming ana's order id finds nothing.
    assert!(reply_text(&app.say(&shop, "bea", "my orders").await).starts_with("You haven't ordered from us yet."));
    let tap = json!({"customer": "bea", "choice": {"id": format!("reorder:{ana_order}"), "title": "Order again"}});
    let stolen = app.send_message(&shop, tap).await;
    assert!(reply_text(&stolen).starts_with("I couldn't find that order."), "{stolen}");

    // Another business's customer with the same handle sees nothing of it either.
    let other = grocer(&app, "Other grocer").await;
    app.upload(&other, plugins::GROCERY_RUST).await;
    assert!(reply_text(&app.say(&other, "ana", "my orders").await).starts_with("You haven't ordered from us yet."));

    // A business not granted `orders` cannot install a plugin that reads them.
    let no_orders =
        app.create_shop("No orders", json!({"capabilities": ["catalog", "cart", "kv", "log", "clock"]})).await;
    let (status, refused) = app.upload_bytes(&no_orders, std::fs::read(plugins::GROCERY_RUST).expect("built")).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("`orders`"), "{refused}");
    // A 1.0.0 plugin needs no `orders`, so it is still welcome there.
    app.upload(&no_orders, plugins::TEST_PREVIOUS_CONTRACT).await;
}
