//! A WhatsApp turn survives its node stopping at each step after the
//! customer's message is acknowledged: with the bot's answer not yet stored,
//! and with the replies stored (their sends leased to the node, to go out at
//! once) but not sent. Each time the node that takes over answers the
//! customer exactly once, history holds the customer's message once and the
//! replies once, and the event is settled.

use std::time::{Duration, Instant};

use bottega::failpoint::{self, Action};
use bottega_tests::whatsapp::{FakeGraph, text_message};
use bottega_tests::*;
use serde_json::json;
use sqlx::Row;

bottega_tests::on_both_databases!(
    a_node_stopped_before_storing_the_replies_is_taken_over_and_answers_once,
    a_node_stopped_before_sending_the_stored_replies_is_taken_over_and_sends_once,
);

const PHONE_ID: &str = "106540352242988";
const CUSTOMER: &str = "34600111555";

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(app.db()).await.expect(sql).try_get::<i64, _>(0).expect("a number")
}

async fn a_node_stopped_before_storing_the_replies_is_taken_over_and_answers_once(app: TestApp) {
    stopped_at(app, failpoint::TURN_BEFORE_REPLIES).await;
}

async fn a_node_stopped_before_sending_the_stored_replies_is_taken_over_and_sends_once(app: TestApp) {
    stopped_at(app, failpoint::SEND_AT_ONCE).await;
}

async fn stopped_at(mut app: TestApp, point: &'static str) {
    let shop = app.create_shop("Grocer", json!({})).await;
    app.add_product(&shop, "apple", "Apple", 50, "Fruit").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;

    let failpoints = app.app.config.commerce.failpoints.clone();
    failpoints.arm(point, Action::Hang);
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "hello")).await;
    let started = Instant::now();
    while failpoints.hits(point) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the turn never reached `{point}`");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(graph.sent().is_empty(), "nothing was sent before `{point}`");
    let replies_stored = count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'").await;

    // The node stops there; another starts on the same database.
    app.crash_and_restart(|_| {}).await;
    graph.wait_for(1).await;
    app.queues_settled().await;

    let inbound = count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'").await;
    assert_eq!(inbound, 1, "the customer's message is stored once");
    let outbound = count(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'").await;
    assert!(outbound >= 1, "the bot's answer is stored");
    if replies_stored > 0 {
        assert_eq!(outbound, replies_stored, "replies stored before the stop are not stored again");
    }
    let sends = count(&app, "SELECT COUNT(*) FROM outbox").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await, sends);
    assert_eq!(usize::try_from(sends).expect("a count"), graph.sent().len(), "each send reaches WhatsApp once");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM inbound_events WHERE state = 'done'").await, 1);
}
