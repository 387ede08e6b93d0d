//! Paying by card on the hosted payment page: success, decline, 3-D Secure,
//! double submits, shipping and refunds; and no card number anywhere but the
//! request that carried it.

use axum::body::Body;
use axum::http::{Method, Request};
use bottega::commerce::payments::sandbox::{CARD_3DS, CARD_DECLINED, CARD_SUCCESS};
use bottega_tests::card::{form_key, page, pay, payment_link};
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(a_customer_pays_by_card_and_the_business_ships_and_refunds);

async fn checkout(app: &TestApp, shop: &Shop, customer: &str) -> (String, String, String) {
    app.say(shop, customer, "add 2 pears").await;
    payment_link(&app.say(shop, customer, "checkout").await)
}

async fn order(app: &TestApp, shop: &Shop, id: &str) -> Value {
    app.get(&format!("/v1/orders/{id}"), &shop.key).await.1
}

async fn bot_said(app: &TestApp, shop: &Shop, conversation_of_order: &Value) -> String {
    let conversation = conversation_of_order["conversation_id"].as_str().expect("conversation");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    history["messages"]
        .as_array()
        .and_then(|m| m.last())
        .map(|m| m["body"]["text"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

async fn refund(app: &TestApp, shop: &Shop, order: &str, key: Option<&str>, amount: i64) -> (u16, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/orders/{order}/refunds"))
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let (status, body) =
        app.send(request.body(Body::from(json!({"amount_minor": amount}).to_string())).expect("request")).await;
    (status.as_u16(), body)
}

async fn a_customer_pays_by_card_and_the_business_ships_and_refunds(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": 50, "section": "Fruit"});
    app.post("/v1/products", &shop.key, pear).await;
    app.upload(&shop, plugins::GROCERY_RUST).await;

    // The payment page shows the shop, the items and the total, and a card form.
    let (path, token, order_id) = checkout(&app, &shop, "ana").await;
    let html = page(&app, &path).await;
    assert!(html.contains("Grocer") && html.contains("Conference pear") && html.contains("€1.80"), "{html}");

    // A declined card: the customer is told on the page and in the chat; the order can still be paid.
    let declined_key = form_key(&html);
    let (status, declined) = pay(&app, &order_id, &token, &declined_key, CARD_DECLINED).await;
    assert_eq!(status, 402, "{declined}");
    // The same form cannot be reused for another card; the page offers a fresh one.
    assert_eq!(pay(&app, &order_id, &token, &declined_key, CARD_SUCCESS).await.0, 422);
    let key = form_key(&declined);
    assert!(declined.contains("The card was declined."), "{declined}");
    let after_decline = order(&app, &shop, &order_id).await;
    assert_eq!(after_decline["payment_status"], "failed");
    assert!(bot_said(&app, &shop, &after_decline).await.contains("didn't go through"));

    // Success, then a double click of the same form: one charge, the same answer.
    let (status, paid) = pay(&app, &order_id, &token, &key, CARD_SUCCESS).await;
    assert_eq!(status, 200, "{paid}");
    assert!(paid.contains("Payment of €1.80 received"), "{paid}");
    assert_eq!(pay(&app, &order_id, &token, &key, CARD_SUCCESS).await, (200, paid.clone()));
    // Another tab (another key) cannot pay it again.
    let (status, again) = pay(&app, &order_id, &token, "another-tab", CARD_SUCCESS).await;
    assert_eq!(status, 409, "{again}");
    assert!(again.contains("already paid"), "{again}");
    let paid_order = order(&app, &shop, &order_id).await;
    assert_eq!(paid_order["payment_status"], "captured");
    assert_eq!(paid_order["reserved_until_ms"], Value::Null, "the stock is kept for good");
    let (_, attempts) = app.get(&format!("/v1/orders/{order_id}/payments"), &shop.key).await;
    let statuses: Vec<&str> =
        attempts.as_array().expect("payments").iter().filter_map(|p| p["status"].as_str()).collect();
    assert_eq!(statuses, ["declined", "captured"]);
    assert_eq!(attempts[1]["card_last4"], "4242");
    assert!(bot_said(&app, &shop, &paid_order).await.starts_with("Thank you! Payment received for order"));
    // An expired reservation no longer matters once paid.
    let later = bottega::ids::now_ms() + 60 * 60 * 1000;
    assert_eq!(bottega::commerce::orders::expire_reservations(&app.app.commerce, later).await.expect("sweep"), 0);

    // The business ships; the bot tells the customer.
    let (status, shipped) = app.post(&format!("/v1/orders/{order_id}/ship"), &shop.key, json!({})).await;
    assert_eq!((status.as_u16(), shipped["fulfillment_status"].as_str()), (200, Some("shipped")), "{shipped}");
    assert!(bot_said(&app, &shop, &shipped).await.contains("is on its way"));
    let (status, twice) = app.post(&format!("/v1/orders/{order_id}/ship"), &shop.key, json!({})).await;
    assert_eq!((status.as_u16(), twice["error"]["code"].as_str()), (409, Some("illegal_transition")));
    let (status, delivered) = app.post(&format!("/v1/orders/{order_id}/deliver"), &shop.key, json!({})).await;
    assert_eq!(
        (delivered["fulfillment_status"].as_str(), delivered["status"].as_str()),
        (Some("delivered"), Some("completed"))
    );
    assert_eq!(status, 200);
    assert_eq!(app.post(&format!("/v1/orders/{order_id}/deliver"), &shop.key, json!({})).await.0, 409);

    // Refunds: an Idempotency-Key is required, a retry replays, never above what was captured.
    assert_eq!(refund(&app, &shop, &order_id, None, 50).await.0, 400);
    let first = refund(&app, &shop, &order_id, Some("r1"), 50).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["order"]["payment_status"], "partially_refunded");
    assert_eq!(refund(&app, &shop, &order_id, Some("r1"), 50).await, first, "a retry replays");
    assert_eq!(refund(&app, &shop, &order_id, Some("r1"), 60).await.1["error"]["code"], "idempotency_key_reused");
    let (status, too_much) = refund(&app, &shop, &order_id, Some("r2"), 131).await;
    assert_eq!((status, too_much["error"]["code"].as_str()), (422, Some("refund_exceeds_captured")));
    let rest = refund(&app, &shop, &order_id, Some("r3"), 130).await;
    assert_eq!((rest.0, rest.1["order"]["payment_status"].as_str()), (200, Some("refunded")));
    assert_eq!(rest.1["payment"]["refunded_minor"], 180);

    // 3-D Secure: the page asks the customer to confirm with the bank.
    let (path, token, second) = checkout(&app, &shop, "bea").await;
    let html = page(&app, &path).await;
    let (status, challenge) = pay(&app, &second, &token, &form_key(&html), CARD_3DS).await;
    assert_eq!(status, 200);
    assert!(challenge.contains("confirm this payment"), "{challenge}");
    assert_eq!(order(&app, &shop, &second).await["payment_status"], "pending", "nothing is taken before the challenge");
    let payment_id =
        challenge.split("name=payment_id value=\"").nth(1).and_then(|r| r.split('"').next()).expect("payment id");
    let (status, confirmed) = app
        .post_form(
            &format!("/pay/{second}/challenge"),
            &[("token", &token), ("payment_id", payment_id), ("outcome", "pass")],
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert!(confirmed.contains("received"), "{confirmed}");
    assert_eq!(order(&app, &shop, &second).await["payment_status"], "captured");

    // Two tabs submitting at the same moment: one charge.
    let (_, token, third) = checkout(&app, &shop, "carla").await;
    let app = std::sync::Arc::new(app);
    let tabs: Vec<_> = ["tab-1", "tab-2"]
        .into_iter()
        .map(|key| {
            let (app, third, token) = (app.clone(), third.clone(), token.clone());
            tokio::spawn(async move { pay(&app, &third, &token, key, CARD_SUCCESS).await.0 })
        })
        .collect();
    let mut codes = Vec::new();
    for tab in tabs {
        codes.push(tab.await.expect("tab"));
    }
    codes.sort();
    assert_eq!(codes, [200, 409]);
    let (_, attempts) = app.get(&format!("/v1/orders/{third}/payments"), &shop.key).await;
    assert_eq!(attempts.as_array().map(Vec::len), Some(1), "{attempts}");

    // A wrong token opens nothing.
    let (status, _) = app
        .send_raw(Request::builder().uri(format!("/pay/{second}?token=pt_wrong")).body(Body::empty()).expect("request"))
        .await;
    assert_eq!(status, 404);

    // No card number was stored anywhere.
    for card in [CARD_SUCCESS, CARD_DECLINED, CARD_3DS] {
        assert!(!stored_text(&app).await.contains(card), "card {card} found in storage");
    }
}

/// Everything the database holds, as text.
async fn stored_text(app: &TestApp) -> String {
    match app.app.db.backend() {
        bottega::store::Backend::Sqlite => {
            let mut all = String::new();
            for entry in std::fs::read_dir(app.data_dir.path()).expect("data dir").flatten() {
                if entry.path().is_file() {
                    all.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap_or_default()));
                }
            }
            all
        }
        bottega::store::Backend::Postgres => {
            use sqlx::Row;
            let mut all = String::new();
            for table in [
                "payments",
                "orders",
                "messages",
                "idempotency_keys",
                "plugin_logs",
                "plugin_failures",
                "customers",
                "kv_entries",
            ] {
                let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS row FROM {table} t"))
                    .fetch_all(app.app.db.pool())
                    .await
                    .expect("dump");
                for row in rows {
                    all.push_str(&row.try_get::<String, _>("row").unwrap_or_default());
                }
            }
            all
        }
    }
}

bottega_tests::on_both_databases!(amounts_round_trip_exactly_and_read_in_the_customers_locale);

async fn amounts_round_trip_exactly_and_read_in_the_customers_locale(app: TestApp) {
    // The payment page writes amounts as the customer's locale does.
    let cases =
        [("JPY", "en", 500, "¥1,000"), ("KWD", "en", 1250, "KWD 2.500"), ("EUR", "es", 123_450, "2.469,00\u{a0}€")];
    for (currency, locale, price, formatted_total) in cases {
        let shop =
            app.create_shop(&format!("Shop in {currency}"), json!({"currency": currency, "locale": locale})).await;
        let product = json!({"id": "pear", "name": "Pear", "price_minor": price, "currency": currency, "stock": 9, "section": "Fruit"});
        assert_eq!(app.post("/v1/products", &shop.key, product).await.0, 201);
        app.upload(&shop, plugins::GROCERY_RUST).await;
        let (path, token, order_id) = checkout(&app, &shop, "dan").await;
        let html = page(&app, &path).await;
        assert!(html.contains(formatted_total), "{currency}: {html}");
        assert!(html.contains(&format!("<html lang=\"{locale}\">")), "{html}");
        let (status, _) = pay(&app, &order_id, &token, &form_key(&html), CARD_SUCCESS).await;
        assert_eq!(status, 200);
        let paid = order(&app, &shop, &order_id).await;
        assert_eq!((paid["currency"].as_str(), paid["total_minor"].as_i64()), (Some(currency), Some(2 * price)));
        let (_, attempts) = app.get(&format!("/v1/orders/{order_id}/payments"), &shop.key).await;
        assert_eq!(attempts[0]["captured_minor"], 2 * price);
        assert_eq!(attempts[0]["currency"], currency);
    }
}

bottega_tests::on_both_databases!(the_business_gets_signed_webhooks_retried_until_acknowledged);

async fn the_business_gets_signed_webhooks_retried_until_acknowledged(app: TestApp) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    // The business's endpoint: refuses the first delivery, then acknowledges.
    type Received = Arc<Mutex<Vec<(String, String)>>>;
    let received: Received = Arc::default();
    let refusals = Arc::new(AtomicUsize::new(1));
    let endpoint = {
        let (received, refusals) = (received.clone(), refusals.clone());
        axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (received, refusals) = (received.clone(), refusals.clone());
                async move {
                    let signature =
                        headers.get("bottega-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    received.lock().expect("lock").push((signature, body));
                    if refusals.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, endpoint).await });

    let shop = app.create_shop("Grocer", json!({})).await;
    let pear =
        json!({"id": "pear", "name": "Pear", "price_minor": 90, "currency": "EUR", "stock": 9, "section": "Fruit"});
    app.post("/v1/products", &shop.key, pear).await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let (status, hook) = app.request(Method::PUT, "/v1/webhook", Some(&shop.key), Some(json!({"url": url}))).await;
    assert_eq!(status, 200, "{hook}");
    let secret = hook["secret"].as_str().expect("secret").to_string();

    let (path, token, order_id) = checkout(&app, &shop, "ana").await;
    let html = page(&app, &path).await;
    assert_eq!(pay(&app, &order_id, &token, &form_key(&html), CARD_SUCCESS).await.0, 200);

    // First attempt refused: kept, retried after the backoff, not before.
    let client = bottega::egress::EgressClient::new(app.app.config.egress.clone(), std::time::Duration::from_secs(10));
    let now = bottega::ids::now_ms();
    assert_eq!(bottega::webhooks::deliver_due(&app.app.db, &client, now).await.expect("deliver"), 0);
    let (_, deliveries) = app.get("/v1/webhook/deliveries", &shop.key).await;
    assert_eq!((deliveries[0]["state"].as_str(), deliveries[0]["attempts"].as_i64()), (Some("pending"), Some(1)));
    assert!(deliveries[0]["last_error"].as_str().unwrap_or_default().contains("500"), "{deliveries}");
    assert_eq!(bottega::webhooks::deliver_due(&app.app.db, &client, now + 5_000).await.expect("deliver"), 0);
    assert_eq!(bottega::webhooks::deliver_due(&app.app.db, &client, now + 11_000).await.expect("deliver"), 1);
    let (_, deliveries) = app.get("/v1/webhook/deliveries", &shop.key).await;
    assert_eq!((deliveries[0]["state"].as_str(), deliveries[0]["attempts"].as_i64()), (Some("delivered"), Some(2)));

    // What arrived is signed over the timestamp and the exact body.
    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), 2);
    let (signature, body) = &received[1];
    let now_s = bottega::ids::now_ms() / 1000;
    assert!(bottega::webhooks::verify(&secret, signature, body, now_s, std::time::Duration::from_secs(300)));
    assert!(!bottega::webhooks::verify(
        &secret,
        signature,
        &body.replace("paid", "unpaid"),
        now_s,
        std::time::Duration::from_secs(300)
    ));
    let event: Value = serde_json::from_str(body).expect("json");
    assert_eq!(event["type"], "order.paid");
    assert_eq!(event["data"]["order"]["id"], order_id.as_str());
    assert!(!body.contains(CARD_SUCCESS));
}

bottega_tests::on_both_databases!(no_card_number_reaches_a_plugin_or_a_log);

async fn no_card_number_reaches_a_plugin_or_a_log(app: TestApp) {
    let shop = app.create_shop("Watched", json!({})).await;
    let pear =
        json!({"id": "pear", "name": "Pear", "price_minor": 90, "currency": "EUR", "stock": 9, "section": "Fruit"});
    app.post("/v1/products", &shop.key, pear).await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let (path, token, order_id) = checkout(&app, &shop, "ana").await;
    // From now on the spy answers: it reports every event it is given.
    app.upload(&shop, plugins::TEST_SPY).await;
    let html = page(&app, &path).await;
    let card = "4000000000003220";
    let (_, challenge) = pay(&app, &order_id, &token, &form_key(&html), card).await;
    let payment_id =
        challenge.split("name=payment_id value=\"").nth(1).and_then(|r| r.split('"').next()).expect("payment id");
    let (status, _) = app
        .post_form(
            &format!("/pay/{order_id}/challenge"),
            &[("token", &token), ("payment_id", payment_id), ("outcome", "pass")],
        )
        .await;
    assert_eq!(status, 200);

    let paid = order(&app, &shop, &order_id).await;
    let report = bot_said(&app, &shop, &paid).await;
    assert!(report.contains("OrderPaid"), "the spy saw the payment: {report}");
    let logs = captured_logs();
    assert!(logs.contains("plugin compiled"), "logs are captured");
    assert!(!report.contains(card), "a plugin saw the card number: {report}");
    assert!(!logs.contains(card), "a log line holds the card number");
    assert!(!logs.contains(&token), "a log line holds the payment link's token");
}
