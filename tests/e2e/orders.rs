//! Checkout turns a cart into an order that holds its stock: one winner for the
//! last unit, and stock comes back when an unpaid order is cancelled or expires.

use std::time::Duration;

use axum::http::Method;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(
    two_customers_race_for_the_last_pear,
    unpaid_orders_give_their_stock_back,
    a_shop_selling_in_two_currencies_keeps_each_cart_in_one
);

async fn grocer_with(app: &TestApp, stock: i64) -> Shop {
    let shop = app.create_shop("Grocer", json!({})).await;
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": stock, "section": "Fruit"});
    let (status, body) = app.post("/v1/products", &shop.key, pear).await;
    assert_eq!(status, 201, "{body}");
    app.upload(&shop, plugins::GROCERY_RUST).await;
    shop
}

async fn stock(app: &TestApp, shop: &Shop) -> i64 {
    app.get("/v1/products/pear", &shop.key).await.1["stock"].as_i64().expect("stock")
}

fn checkout_of(outcome: &Value) -> Option<Value> {
    replies(outcome).into_iter().find(|r| r["type"] == "checkout")
}

async fn two_customers_race_for_the_last_pear(app: TestApp) {
    let shop = grocer_with(&app, 1).await;
    for customer in ["ana", "bea"] {
        assert!(reply_text(&app.say(&shop, customer, "add 1 pear").await).starts_with("Added 1 × Conference pear"));
    }
    let app = std::sync::Arc::new(app);
    let racers: Vec<_> = ["ana", "bea"]
        .into_iter()
        .map(|customer| {
            let (app, shop) = (app.clone(), shop.clone());
            tokio::spawn(async move { app.say(&shop, customer, "checkout").await })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        let outcome = racer.await.expect("racer");
        match checkout_of(&outcome) {
            Some(checkout) => {
                winners += 1;
                assert_eq!(checkout["order"]["total"]["formatted"], "€0.90");
            }
            None => assert!(reply_text(&outcome).contains("has just sold out"), "{outcome}"),
        }
    }
    assert_eq!(winners, 1, "exactly one customer gets the last pear");
    assert_eq!(stock(&app, &shop).await, 0);
    let (_, orders) = app.get("/v1/orders", &shop.key).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(1));
}

async fn unpaid_orders_give_their_stock_back(app: TestApp) {
    let shop = grocer_with(&app, 10).await;

    // Checkout holds the stock and empties the basket.
    app.say(&shop, "ana", "add 3 pears").await;
    let checkout = checkout_of(&app.say(&shop, "ana", "checkout").await).expect("an order");
    assert_eq!(checkout["order"]["number"], 1);
    assert_eq!(checkout["cart"]["total"]["amount_minor"], 180, "3 for 2 on fruit");
    assert_eq!(stock(&app, &shop).await, 7);
    assert!(reply_text(&app.say(&shop, "ana", "cart").await).contains("empty"));
    let order_id = checkout["order"]["id"].as_str().expect("id").to_string();
    let (_, order) = app.get(&format!("/v1/orders/{order_id}"), &shop.key).await;
    assert_eq!(
        (&order["status"], &order["payment_status"], &order["fulfillment_status"]),
        (&json!("open"), &json!("pending"), &json!("unfulfilled"))
    );
    assert_eq!(order["total_minor"], 180);

    // Before the reservation ends nothing is released; after it, the stock returns once.
    let now = bottega::ids::now_ms();
    assert_eq!(bottega::commerce::orders::expire_reservations(&app.app.commerce, now).await.expect("sweep"), 0);
    let later = now + Duration::from_secs(16 * 60).as_millis() as i64;
    assert_eq!(bottega::commerce::orders::expire_reservations(&app.app.commerce, later).await.expect("sweep"), 1);
    assert_eq!(bottega::commerce::orders::expire_reservations(&app.app.commerce, later).await.expect("sweep"), 0);
    assert_eq!(stock(&app, &shop).await, 10);
    assert_eq!(app.get(&format!("/v1/orders/{order_id}"), &shop.key).await.1["status"], "cancelled");

    // The business cancels an unpaid order: stock back; cancelling again is refused.
    app.say(&shop, "bea", "add 2 pears").await;
    let second = checkout_of(&app.say(&shop, "bea", "checkout").await).expect("an order");
    assert_eq!(second["order"]["number"], 2);
    assert_eq!(stock(&app, &shop).await, 8);
    let path = format!("/v1/orders/{}/cancel", second["order"]["id"].as_str().expect("id"));
    let (status, cancelled) = app.request(Method::POST, &path, Some(&shop.key), None).await;
    assert_eq!((status.as_u16(), cancelled["status"].as_str()), (200, Some("cancelled")));
    assert_eq!(stock(&app, &shop).await, 10);
    let (status, again) = app.request(Method::POST, &path, Some(&shop.key), None).await;
    assert_eq!((status.as_u16(), again["error"]["code"].as_str()), (409, Some("illegal_transition")));

    // Another business cannot see or cancel these orders.
    let other = app.create_shop("Other", json!({})).await;
    assert_eq!(app.get(&format!("/v1/orders/{order_id}"), &other.key).await.0, 404);
    assert_eq!(app.request(Method::POST, &path, Some(&other.key), None).await.0, 404);
    assert_eq!(app.get("/v1/orders", &other.key).await.1, json!([]));
}

async fn a_shop_selling_in_two_currencies_keeps_each_cart_in_one(app: TestApp) {
    // Currencies are checked when the shop is set up.
    for bad in [json!(["EUR"]), json!(["XYZ"]), json!(["USD", "USD"])] {
        let body = json!({"name": "Bad", "currency": "EUR", "extra_currencies": bad});
        let (status, error) = app.request(Method::POST, "/v1/admin/businesses", Some(ADMIN_TOKEN), Some(body)).await;
        assert_eq!(
            (status.as_u16(), error["error"]["code"].as_str()),
            (422, Some("invalid_request")),
            "{bad}: {error}"
        );
    }
    let shop = app.create_shop("Border shop", json!({"currency": "EUR", "extra_currencies": ["USD"]})).await;
    let product = |id: &str, price: i64, currency: &str| json!({"id": id, "name": id, "price_minor": price, "currency": currency, "stock": 5, "section": "Drinks"});
    assert_eq!(app.post("/v1/products", &shop.key, product("tea", 300, "EUR")).await.0, 201);
    assert_eq!(app.post("/v1/products", &shop.key, product("coffee", 450, "USD")).await.0, 201);
    let (status, error) = app.post("/v1/products", &shop.key, product("scone", 200, "GBP")).await;
    assert_eq!(status, 422);
    assert!(error["error"]["message"].as_str().unwrap_or_default().contains("EUR, USD"), "{error}");
    app.upload(&shop, plugins::TEST_QUOTA).await;

    // A cart holds one currency: a product in another is refused.
    assert_eq!(reply_text(&app.say(&shop, "ana", "add tea 1").await), "lines=1");
    assert_eq!(reply_text(&app.say(&shop, "ana", "add coffee 1").await), "refused: unavailable");

    // A cart sent whole keeps the currency of its first product.
    let sent = app
        .send_message(
            &shop,
            json!({"customer": "ben", "cart": [{"product_id": "coffee", "quantity": 2}, {"product_id": "tea", "quantity": 1}]}),
        )
        .await;
    let cart = &replies(&sent)[0]["cart"];
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(1), "{sent}");
    assert_eq!((cart["total"]["amount_minor"].as_i64(), cart["total"]["currency"].as_str()), (Some(900), Some("USD")));

    // The main currency can gain companions later.
    let (status, updated) = app
        .request(
            Method::PATCH,
            &format!("/v1/admin/businesses/{}", shop.id),
            Some(ADMIN_TOKEN),
            Some(json!({"extra_currencies": ["USD", "GBP"]})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(app.post("/v1/products", &shop.key, product("scone", 200, "GBP")).await.0, 201);
}
