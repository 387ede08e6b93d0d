//! Stored photos and free service messages: a plan includes 2 stored photos
//! and charges 5 cents a month for each one beyond; the shop stores 5, so its
//! upcoming invoice and then its finalised invoice charge 3 × 5 cents, and
//! the finalisation writes the count to the ledger once. Its WhatsApp rate
//! card lets 1 service message a month through free: of two delivered
//! service replies, one is billed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bottega::Config;
use bottega::billing::invoices;
use bottega_tests::whatsapp::{APP_SECRET, FakeGraph, text_message};
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases_with!(
    super::billing_with_time_left;
    photos_beyond_the_allowance_and_service_messages_beyond_the_free_ones_are_billed
);

const PHONE_ID: &str = "106540352242999";
const CUSTOMERS: [&str; 2] = ["393331234501", "393331234502"];

fn billing_with_time_left(config: &mut Config) {
    super::billing::billing_with_time_left(config);
}

fn service_delivered(wamid: &str, recipient: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
            "statuses": [{
                "id": wamid, "status": "delivered", "timestamp": (bottega::ids::now_ms() / 1000).to_string(),
                "recipient_id": recipient,
                "pricing": {"billable": true, "pricing_model": "PMP", "category": "service", "type": "regular"},
            }],
        }}]}],
    })
    .to_string()
    .into_bytes()
}

/// The photo and channel lines (key without its rate card), quantity, amount.
fn amounts(document: &Value) -> Vec<(String, i64, i64)> {
    document["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["line_key"].as_str().is_some_and(|k| k.starts_with("photos") || k.starts_with("channel")))
        .map(|l| {
            (
                l["line_key"].as_str().unwrap_or_default().split(":rcv_").next().unwrap_or_default().to_string(),
                l["quantity"].as_i64().unwrap_or(-1),
                l["amount_minor"].as_i64().unwrap_or(i64::MIN),
            )
        })
        .collect()
}

async fn photos_beyond_the_allowance_and_service_messages_beyond_the_free_ones_are_billed(app: TestApp) {
    let started = bottega::ids::rfc3339(bottega::ids::now_ms() - 30_000);
    let plan = json!({
        "plan_id": "photos", "name": "Photos", "effective_from": started, "currency": "EUR",
        "terms": {"photos": {"included": 2, "tiers": [{"up_to": null, "unit_milli_minor": 5000}]}},
    });
    let (status, answer) = app.post("/v1/admin/billing/plans", ADMIN_TOKEN, plan).await;
    assert!(status.is_success(), "{answer}");
    // Service messages at 1 cent, the first one each month free.
    let card = json!({
        "effective_from": started, "free_service_per_month": 1,
        "prices": [{"market": "*", "category": "service", "currency": "EUR", "unit_milli_minor": 1000}],
    });
    let (status, answer) = app.post("/v1/admin/billing/rate-cards", ADMIN_TOKEN, card).await;
    assert!(status.is_success(), "{answer}");
    let shop = app.create_shop("Photographer", json!({})).await;
    let assign = json!({"plan_id": "photos", "effective_from": started});
    let (status, answer) = app.post(&format!("/v1/admin/businesses/{}/plan", shop.id), ADMIN_TOKEN, assign).await;
    assert!(status.is_success(), "{answer}");

    // Five photos stored.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really a full image".to_vec();
    for _ in 0..5 {
        let upload = Request::builder()
            .method(Method::POST)
            .uri("/v1/images")
            .header("authorization", format!("Bearer {}", shop.key))
            .header("content-type", "image/png")
            .body(Body::from(png.clone()))
            .expect("request");
        assert_eq!(app.send(upload).await.0, StatusCode::CREATED);
    }

    // Two WhatsApp customers are answered; both service replies are delivered.
    app.add_product(&shop, "print", "Print", 900, "Prints").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    for (n, customer) in CUSTOMERS.into_iter().enumerate() {
        let wamid = format!("wamid.service.{n}");
        graph.answer_ids(&[&wamid]);
        app.whatsapp_says(&shop, PHONE_ID, customer, text_message(customer, "hi")).await;
        graph.wait_for(n + 1).await;
        app.queues_settled().await;
        let (status, received) = app.deliver_webhook(&shop, &service_delivered(&wamid, customer), APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
    }

    // 3 photos over the allowance at 5 cents; 2 service messages, 1 of them free.
    let expected = vec![("photos_stored".to_string(), 5, 15), ("channel:whatsapp:IT:service".to_string(), 2, 1)];
    let (status, upcoming) = app.get("/v1/billing/upcoming", &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{upcoming}");
    assert_eq!(amounts(&upcoming), expected, "{upcoming}");

    let billing = &app.app.billing;
    let now = bottega::ids::now_ms();
    let period = billing.calendar().containing(now).expect("period");
    let id = invoices::finalize(billing, &shop.id, &period, now).await.expect("finalise").expect("an invoice");
    let (status, invoice) = app.get(&format!("/v1/billing/invoices/{id}"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    assert_eq!(amounts(&invoice), expected, "{invoice}");
    assert_eq!(invoice["total_minor"], json!(16));
    let recorded: Vec<(String, i64)> =
        sqlx::query_as("SELECT source_id, quantity FROM usage_events WHERE metric = 'photos_stored'")
            .fetch_all(app.db())
            .await
            .expect("the photo count");
    assert_eq!(recorded, vec![(period.label.clone(), 5)], "the count is in the ledger once, keyed by the period");
}
