//! A node with fewer call slots than the conversations writing to it at
//! once: each WhatsApp delivery is answered at once while a slot is free, and
//! the deliveries that find none are given to the inbound worker, which
//! answers them behind the first. Every message is answered once, and each
//! customer's in order: a customer's second message is answered after the
//! reply to their first, never beside it.

use std::collections::BTreeMap;

use bottega_tests::whatsapp::{APP_SECRET, FakeGraph, text_message, webhook};
use bottega_tests::*;
use serde_json::json;
use sqlx::Row;

bottega_tests::on_both_databases_with!(
    super::one_call_slot;
    three_customers_writing_at_once_to_a_node_with_one_call_slot_are_each_answered_in_order,
);

fn one_call_slot(config: &mut bottega::Config) {
    config.plugins.max_concurrent_calls = 1;
    config.plugins.max_concurrent_calls_per_business = 1;
}

const PHONE_ID: &str = "106540352242990";
const CUSTOMERS: [&str; 3] = ["34600222001", "34600222002", "34600222003"];

async fn three_customers_writing_at_once_to_a_node_with_one_call_slot_are_each_answered_in_order(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    app.add_product(&shop, "apple", "Apple", 50, "Fruit").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;

    // Each customer's delivery carries two texts; the three arrive together.
    let deliveries = CUSTOMERS.map(|customer| {
        let body = webhook(PHONE_ID, customer, vec![text_message(customer, "hello"), text_message(customer, "apples")]);
        let (app, shop) = (&app, &shop);
        async move {
            let (status, received) = app.deliver_webhook(shop, body.to_string().as_bytes(), APP_SECRET).await;
            assert_eq!(status, axum::http::StatusCode::OK, "{received}");
        }
    });
    futures_util::future::join_all(deliveries).await;
    app.queues_settled().await;

    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_events WHERE state = 'done'")
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(done, 6, "every message is answered");
    let rows = sqlx::query("SELECT conversation_id, direction FROM messages ORDER BY conversation_id, seq")
        .fetch_all(app.db())
        .await
        .expect("history");
    let mut conversations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let conversation: String = row.try_get(0).expect("conversation");
        let direction: String = row.try_get(1).expect("direction");
        conversations.entry(conversation).or_default().push(direction);
    }
    assert_eq!(conversations.len(), 3, "one conversation per customer: {conversations:?}");
    for (conversation, directions) in &conversations {
        let inbound: Vec<usize> =
            directions.iter().enumerate().filter(|(_, d)| *d == "inbound").map(|(n, _)| n).collect();
        assert_eq!(inbound.len(), 2, "{conversation}: each text stored once: {directions:?}");
        assert_eq!(inbound[0], 0, "{conversation}: the first text opens the history: {directions:?}");
        assert!(
            inbound[1] > 1 && directions[1] == "outbound",
            "{conversation}: the second text is answered after the first's reply: {directions:?}"
        );
        assert_eq!(directions.last().map(String::as_str), Some("outbound"), "{conversation}: {directions:?}");
    }
    let sends: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(usize::try_from(sends).expect("a count"), graph.sent().len(), "each send reaches WhatsApp once");
}
