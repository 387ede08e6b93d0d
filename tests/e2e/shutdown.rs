//! A node is stopped (SIGTERM, a deploy) while a WhatsApp customer is
//! writing. It finishes the turn under way, takes no other, and gives back the
//! messages it had claimed; another node sharing the database answers them
//! at once, not when their leases end (two minutes). Nothing the first node
//! acknowledged is lost, and nothing is answered twice.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::json;
use sqlx::Row;

bottega_tests::on_both_databases!(a_stopped_node_hands_its_work_to_another_at_once);

const PHONE_ID: &str = "106540352242931";
const CUSTOMER: &str = "34600111333";
/// Messages the customer sends in one webhook delivery.
const MESSAGES: u64 = 20;
/// How long the plugin spends on each turn (plus the message's number), so
/// that the node is stopped with messages it claimed and has not answered.
const TURN_MS: u64 = 150;
/// What a stopping node gives the turn under way.
const GRACE: Duration = Duration::from_secs(10);

async fn a_stopped_node_hands_its_work_to_another_at_once(node_a: TestApp) {
    let mut limits = serde_json::to_value(bottega::plugin::PluginLimits::default()).expect("limits serialize");
    limits["deadline_ms"] = json!(5_000);
    let shop = node_a.create_shop("Two nodes", json!({"limits": limits})).await;
    node_a.upload(&shop, plugins::TEST_LOOP).await;
    let graph = FakeGraph::start().await;
    node_a.connect_whatsapp(&shop, &graph, PHONE_ID).await;

    // The customer writes; node A acknowledges every message (it is stored)
    // and claims them for its worker.
    let messages = (1..=MESSAGES).map(|n| text_message(CUSTOMER, &format!("spin {}", TURN_MS + n))).collect();
    let delivery = webhook(PHONE_ID, CUSTOMER, messages);
    let (status, received) = node_a.deliver_webhook(&shop, delivery.to_string().as_bytes(), APP_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    assert_eq!(received["messages"], MESSAGES, "{received}");
    let a = &node_a;
    until("node A claims the messages", Duration::from_secs(10), move || async move { a.app.inbox.leases_held() >= 3 })
        .await;

    // A second node joins; then node A is stopped in the middle of the work.
    let node_b = node_a.restart().await;
    let report = node_a.app.shutdown(GRACE).await;
    assert!(report.finished_in_time, "node A finished its turn under way within the grace period");
    assert!(report.leases_released > 0, "node A was stopped holding messages it had not answered: {report:?}");

    // Node B takes them over at once: the next answer comes within about a
    // second (a turn takes ~0.2 s), not when node A's leases would have ended.
    let db = node_b.db.pool().clone();
    let answered_by_a = count(&db, "SELECT COUNT(*) AS n FROM inbound_events WHERE state = 'done'").await;
    let took = until("node B answers a message node A gave back", Duration::from_secs(2), || {
        let db = db.clone();
        async move { count(&db, "SELECT COUNT(*) AS n FROM inbound_events WHERE state = 'done'").await > answered_by_a }
    })
    .await;
    println!("node B answered its first message {took:?} after node A stopped");
    until("node B answers every message and sends every reply", Duration::from_secs(30), || {
        let db = db.clone();
        async move {
            count(
                &db,
                "SELECT (SELECT COUNT(*) FROM inbound_events WHERE state = 'pending') + \
                        (SELECT COUNT(*) FROM outbox WHERE state = 'pending') AS n",
            )
            .await
                == 0
        }
    })
    .await;

    // What the customer saw: every message answered once, in order.
    let expected: Vec<String> = (1..=MESSAGES).map(|n| format!("spun {} ms", TURN_MS + n)).collect();
    let sent: Vec<String> =
        graph.sent().iter().map(|s| s.body["text"]["body"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(sent, expected);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM inbound_events WHERE state <> 'done'").await, 0);

    let report = node_b.shutdown(GRACE).await;
    assert_eq!(report.leases_released, 0, "node B had settled everything it claimed: {report:?}");
}

/// The single count `sql` selects (as `n`).
async fn count(db: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(db).await.expect("count").try_get::<i64, _>("n").expect("n")
}

/// Waits until `done` answers true, checking every 10 ms for at most `within`;
/// returns how long it took.
async fn until<F: Future<Output = bool>>(what: &str, within: Duration, mut done: impl FnMut() -> F) -> Duration {
    let started = Instant::now();
    loop {
        if done().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
