//! A business over its spending cap: its plan says business-initiated sends
//! are refused there. The business may start a message to a customer while
//! under the cap; once the thresholds watcher sees the period's charges reach
//! the cap, `POST /v1/business-messages` answers 402 `billing_cap_reached`,
//! and its customers are still answered by the bot (a customer mid-order is
//! never abandoned). On a plan that allows it, the same business would send.

use axum::http::StatusCode;
use bottega::Config;
use bottega::billing::limits;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases_with!(
    super::billing_with_time_left;
    over_its_cap_a_business_cannot_start_sends_but_its_customers_are_answered
);

fn billing_with_time_left(config: &mut Config) {
    super::billing::billing_with_time_left(config);
}

async fn offer(app: &TestApp, shop: &Shop, customer: &str) -> (StatusCode, Value) {
    let body = json!({"customer_id": customer, "text": "Fresh figs today, 10 % off!"});
    app.post("/v1/business-messages", &shop.key, body).await
}

async fn over_its_cap_a_business_cannot_start_sends_but_its_customers_are_answered(app: TestApp) {
    let started = bottega::ids::rfc3339(bottega::ids::now_ms() - 30_000);
    let plan = json!({
        "plan_id": "capped", "name": "Capped", "effective_from": started, "currency": "EUR",
        "terms": {"monthly_fee_minor": 1000, "spending_cap_minor": 1000, "when_over_cap": "block_business_sends"},
    });
    let (status, answer) = app.post("/v1/admin/billing/plans", ADMIN_TOKEN, plan).await;
    assert!(status.is_success(), "{answer}");
    let shop = app.create_shop("Grocer", json!({})).await;
    app.add_product(&shop, "fig", "Black fig", 120, "Fruit").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let assign = json!({"plan_id": "capped", "effective_from": started});
    let (status, answer) = app.post(&format!("/v1/admin/businesses/{}/plan", shop.id), ADMIN_TOKEN, assign).await;
    assert!(status.is_success(), "{answer}");

    // A customer writes; the business may write to them while under its cap.
    let hello = app.say(&shop, "ana", "hi").await;
    let customer = hello["customer_id"].as_str().expect("the customer's pseudonym").to_string();
    let (status, sent) = offer(&app, &shop, &customer).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!((sent["author"].as_str(), sent["direction"].as_str()), (Some("agent"), Some("outbound")));
    let (status, unknown) = offer(&app, &shop, "nobody").await;
    assert_eq!((status, unknown["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // The plan fee alone reaches the cap: the watcher announces 100 %.
    assert!(limits::watch_thresholds(&app.app.billing, bottega::ids::now_ms()).await.expect("watch") >= 1);
    let (status, refused) = offer(&app, &shop, &customer).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::PAYMENT_REQUIRED, Some("billing_cap_reached")),
        "{refused}"
    );

    // The customer is answered as before: replies are never refused.
    let answered = app.say(&shop, "ana", "add 2 fig").await;
    assert!(!replies(&answered).is_empty(), "the bot answers the customer: {answered}");
    let (_, messages) = app
        .get(&format!("/v1/conversations/{}/messages", answered["conversation_id"].as_str().unwrap_or("")), &shop.key)
        .await;
    let offers = messages["messages"]
        .as_array()
        .map(|all| all.iter().filter(|m| m["body"]["business_initiated"] == json!(true)).count())
        .unwrap_or_default();
    assert_eq!(offers, 1, "only the offer sent under the cap is in the conversation: {messages}");
}
