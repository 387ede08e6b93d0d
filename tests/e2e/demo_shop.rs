//! The demo grocer, from "hi" to a checkout request, as a customer lives it.

use bottega::chat::fallback;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(a_customer_shops_from_hello_to_checkout, a_fresh_node_seeds_the_demo_shop_once);

const CUSTOMER: &str = "+34 600 111 222";

async fn tap(app: &TestApp, shop: &Shop, id: &str, title: &str) -> Value {
    app.send_message(shop, json!({"customer": CUSTOMER, "choice": {"id": id, "title": title}})).await
}

async fn a_customer_shops_from_hello_to_checkout(app: TestApp) {
    let demo = bottega::seed::seed_demo_if_empty(&app.app).await.expect("seed").expect("empty node gets the demo");
    let shop = Shop { id: demo.business.id.clone(), key: demo.api_key.clone() };

    // "hi": a greeting with three buttons.
    let hello = app.say(&shop, CUSTOMER, "hi").await;
    let greeting = &replies(&hello)[0];
    assert_eq!(greeting["type"], "buttons");
    assert!(greeting["body"].as_str().unwrap_or_default().starts_with("Welcome to Verdura"), "{greeting}");
    let buttons: Vec<&str> =
        greeting["buttons"].as_array().expect("buttons").iter().filter_map(|b| b["id"].as_str()).collect();
    assert_eq!(buttons, ["browse", "cart", "agent"]);

    // Browse: the catalog's sections as a list.
    let sections = tap(&app, &shop, "browse", "Browse the shop").await;
    let list = &replies(&sections)[0];
    assert_eq!(list["type"], "list");
    let rows: Vec<&str> = list["rows"].as_array().expect("rows").iter().filter_map(|r| r["title"].as_str()).collect();
    assert_eq!(rows, ["Bakery", "Dairy", "Fruit", "Vegetables"]);

    // A section: product cards rendered by the host, prices from the catalog.
    let fruit = tap(&app, &shop, "section:Fruit", "Fruit").await;
    let cards = &replies(&fruit)[0];
    assert_eq!(cards["type"], "product_list");
    let apples = cards["products"]
        .as_array()
        .expect("products")
        .iter()
        .find(|p| p["id"] == "gala-apples")
        .expect("apples listed");
    assert_eq!(apples["price"], json!({"amount_minor": 240, "currency": "EUR", "formatted": "€2.40"}));
    assert!(apples["photo_url"].as_str().is_some());

    // Tapping a product shows its card and an "add" button.
    let product = app.send_message(&shop, json!({"customer": CUSTOMER, "product_id": "gala-apples"})).await;
    assert_eq!(replies(&product)[0]["product"]["name"], "Gala apples (1 kg)");
    assert_eq!(replies(&product)[1]["buttons"][0]["id"], "add:gala-apples");

    // Three bags by button, then bread by text.
    for _ in 0..3 {
        tap(&app, &shop, "add:gala-apples", "Add to basket").await;
    }
    let bread = app.say(&shop, CUSTOMER, "add 1 sourdough").await;
    assert!(reply_text(&bread).contains("Added 1 × Sourdough loaf. Your basket has 4 items."), "{bread}");

    // The basket: the plugin's "3 for 2 on fruit" discount, validated and applied by the host.
    let basket = app.say(&shop, CUSTOMER, "cart").await;
    let summary = &replies(&basket)[0];
    assert_eq!(summary["type"], "cart_summary");
    assert_eq!(summary["cart"]["subtotal"]["amount_minor"], 3 * 240 + 450);
    assert_eq!(summary["cart"]["discounts"][0]["label"], "3 for 2 on Gala apples (1 kg)");
    assert_eq!(summary["cart"]["discounts"][0]["amount"]["amount_minor"], 240);
    assert_eq!(summary["cart"]["total"]["formatted"], "€9.30");

    // Checkout: the bot asks the host to check out the priced cart.
    let checkout = tap(&app, &shop, "checkout", "Check out").await;
    let request = replies(&checkout).into_iter().find(|r| r["type"] == "checkout").expect("a checkout request");
    assert_eq!(request["cart"]["total"]["amount_minor"], 930);
    // The host made it an order holding the stock.
    assert_eq!(request["order"]["number"], 1);
    assert_eq!(request["order"]["total"]["formatted"], "€9.30");
    let (_, apples) = app.get("/v1/products/gala-apples", &shop.key).await;
    assert_eq!(apples["stock"], 40 - 3);

    // The whole conversation reads back in order, customer and bot alike.
    let conversation = checkout["conversation_id"].as_str().expect("conversation id");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let messages = history["messages"].as_array().expect("messages");
    let seqs: Vec<i64> = messages.iter().filter_map(|m| m["seq"].as_i64()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(messages[0]["body"], json!({"type": "text", "text": "hi"}));
    assert_eq!(messages[0]["author"], "customer");
    assert_eq!(messages.last().expect("last")["body"]["type"], "checkout");
    // A reader's cursor returns only what is new.
    let (_, tail) =
        app.get(&format!("/v1/conversations/{conversation}/messages?after={}", seqs.len() - 1), &shop.key).await;
    assert_eq!(tail["messages"].as_array().map(Vec::len), Some(1));

    // Coming back: the plugin remembered the customer (its key-value store).
    let again = app.say(&shop, CUSTOMER, "hello").await;
    assert!(reply_text(&again).starts_with("Welcome back to Verdura"), "{again}");

    // Asking for a person: the conversation waits for an agent, and the bot is quiet.
    tap(&app, &shop, "agent", "Talk to a person").await;
    let waiting = app.say(&shop, CUSTOMER, "hello?").await;
    assert_eq!(reply_text(&waiting), fallback::WITH_AGENT);
    let marta = app.staff(&shop, "Marta", "agent").await;
    let (_, taken) =
        app.post(&format!("/v1/conversations/{conversation}/take"), &shop.key, json!({"agent": marta.email})).await;
    assert_eq!(taken["handling"], "agent");
    let (status, _) = app
        .post(&format!("/v1/conversations/{conversation}/replies"), &shop.key, json!({"text": "Hi, Marta here!"}))
        .await;
    assert_eq!(status, 201);
    let (_, released) = app.post(&format!("/v1/conversations/{conversation}/release"), &shop.key, json!({})).await;
    assert_eq!(released["conversation"]["handling"], "bot");
    assert!(released["replies"][0]["body"]["text"].as_str().unwrap_or_default().starts_with("I'm back!"), "{released}");
}

async fn a_fresh_node_seeds_the_demo_shop_once(app: TestApp) {
    let demo = bottega::seed::seed_demo_if_empty(&app.app).await.expect("seed");
    let demo = demo.expect("the first start seeds the demo");
    assert!(bottega::seed::seed_demo_if_empty(&app.app).await.expect("seed").is_none(), "seeded twice");
    let (_, products) = app.get("/v1/products?limit=200", &demo.api_key).await;
    assert_eq!(products["products"].as_array().map(Vec::len), Some(15));

    // After a restart (a new process on the same data), the plugin is served
    // from the compiled cache and still answers.
    let restarted = app.restart().await;
    let business =
        bottega::store::businesses::get(&restarted.db, &demo.business.id).await.expect("db").expect("business");
    let outcome = restarted
        .chat
        .handle_inbound(
            &business,
            bottega::chat::InboundRequest {
                channel: "api".into(),
                handle: "+44 7700 900123".into(),
                locale: None,
                message: bottega::chat::Inbound::Text("hi".into()),
            },
        )
        .await
        .expect("chat after restart");
    assert_eq!(outcome.replies[0].author, bottega::store::conversations::Author::Bot);
    assert_eq!(outcome.replies[0].body["type"], "buttons");
}
