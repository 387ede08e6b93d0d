//! Exactly-once across a crash: a WhatsApp customer writes, the node stores
//! the message, its bot answers, and the node dies before the replies are
//! stored (they and the event's settling are one transaction). The node that
//! takes over answers the event again (the inbox is at least once): the
//! customer hears the answer once, history holds their message once, and the
//! business is billed for one message handled: the usage row is keyed by the
//! inbound event and written with the stored message, so the ledger equals
//! the facts (count and sum) however often the event is replayed.

use std::time::{Duration, Instant};

use bottega::failpoint::{self, Action};
use bottega_tests::whatsapp::{FakeGraph, text_message};
use bottega_tests::*;
use serde_json::json;
use sqlx::Row;

bottega_tests::on_both_databases!(a_message_answered_again_after_a_crash_is_billed_once);

const PHONE_ID: &str = "106540352242977";
const CUSTOMER: &str = "34600111444";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(app.db()).await.expect(sql).try_get::<i64, _>(0).expect("a number")
}

async fn a_message_answered_again_after_a_crash_is_billed_once(mut app: TestApp) {
    let shop = app.create_shop("Florist", json!({})).await;
    app.add_product(&shop, "rose", "Rose", 300, "Flowers").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;

    // The customer writes; the node stores the message, the bot answers, and
    // the node is killed before the replies are stored.
    let failpoints = app.app.config.commerce.failpoints.clone();
    failpoints.arm(failpoint::TURN_BEFORE_REPLIES, Action::Hang);
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "hi")).await;
    let started = Instant::now();
    while failpoints.hits(failpoint::TURN_BEFORE_REPLIES) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the turn never reached its replies");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let metered = "SELECT COUNT(*) FROM usage_events WHERE metric = 'messages_handled'";
    assert_eq!(scalar(&app, metered).await, 1, "the message is metered as it is stored");
    let inbound = "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'";
    assert_eq!(scalar(&app, inbound).await, 1);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'").await, 0);
    app.crash_and_restart(|_| {}).await;

    // The node that takes over answers the message: once, its message found
    // stored rather than stored again.
    graph.wait_for(1).await;
    app.queues_settled().await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM inbound_events WHERE state = 'done'").await, 1);
    assert_eq!(scalar(&app, inbound).await, 1, "the replayed event's message is not stored twice");
    let queued = usize::try_from(scalar(&app, "SELECT COUNT(*) FROM outbox").await).expect("a count");
    assert_eq!(graph.sent().len(), queued, "the customer hears the answer once");

    // The ledger equals the facts: one message came in, one is billed.
    let facts = scalar(&app, "SELECT COUNT(*) FROM inbound_events").await;
    let (rows, units) = (
        scalar(&app, metered).await,
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM usage_events WHERE metric = 'messages_handled'",
        )
        .await,
    );
    assert_eq!((rows, units), (facts, facts), "usage rows and units equal the inbound events");
    let keyed: String = sqlx::query_scalar("SELECT source FROM usage_events WHERE metric = 'messages_handled'")
        .fetch_one(app.db())
        .await
        .expect("the row");
    assert_eq!(keyed, "inbound_event");
}
