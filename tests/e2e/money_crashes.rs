//! Crashes on the money path: the runtime is stopped dead at every failpoint
//! of checkout, payment, 3-D Secure and refund (before and after each provider
//! call and each write), a new runtime starts on the same database, and the
//! books must balance: no charge without a paid order, no order stuck, no
//! idempotency key stuck, stock conserved, no payment link lost, every refund
//! made once, and the fees ledger metering each capture and refund once.
//!
//! A "crash" here: the request reaches an armed failpoint and waits there for
//! ever; the test drops it (nothing after the point runs, nothing is cleaned
//! up, its transaction, if any, is rolled back as a killed process's would be)
//! and stops the runtime without grace, then starts another in its place.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request};
use bottega::Config;
use bottega::commerce::payments::sandbox::{CARD_3DS, CARD_SUCCESS};
use bottega::failpoint::{self, Action};
use bottega_tests::card::{form_key, page, pay, payment_link};
use bottega_tests::*;
use serde_json::{Value, json};
use sqlx::Row;

/// A payment request owns its attempt for this long; then recovery may act.
const LEASE: Duration = Duration::from_millis(150);
const PEAR_STOCK: i64 = 50;

fn short_leases(config: &mut Config) {
    config.commerce.payment_lease = LEASE;
    // The sweeps run when a story says so (as a restarted node's first pass).
    config.commerce.expiry_sweep_every = Duration::from_secs(3600);
}

bottega_tests::on_both_databases_with!(super::short_leases;
    a_crash_anywhere_in_a_card_payment_leaves_the_books_straight,
    a_crash_during_checkout_never_loses_the_order_or_its_link,
    a_crash_after_the_bank_confirms_a_challenge_still_pays_the_order,
    a_crash_anywhere_in_a_refund_refunds_exactly_once,
    an_order_left_mid_payment_is_never_stuck,
    checkouts_under_contention_wait_and_never_fail,
);

async fn open_shop(app: &TestApp) -> Shop {
    let shop = app.create_shop("Grocer", json!({})).await;
    for (id, name, price) in [("pear", "Conference pear", 90), ("apple", "Gala apple", 50), ("fig", "Black fig", 120)] {
        let product = json!({"id": id, "name": name, "price_minor": price, "currency": "EUR", "stock": PEAR_STOCK, "section": "Fruit"});
        assert_eq!(app.post("/v1/products", &shop.key, product).await.0, 201);
    }
    app.upload(&shop, plugins::GROCERY_RUST).await;
    shop
}

/// Runs `request` until it reaches `point`, then drops it there: a crash.
async fn crash_during<T>(app: &TestApp, point: &'static str, request: impl Future<Output = T>) {
    let failpoints = app.app.config.commerce.failpoints.clone();
    failpoints.arm(point, Action::Hang);
    let reached = async {
        let started = Instant::now();
        while failpoints.hits(point) == 0 {
            assert!(started.elapsed() < Duration::from_secs(30), "the request never reached {point}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = request => panic!("the request finished without reaching {point}"),
        () = reached => {}
    }
}

/// Posts the payment form until the runtime stops saying the payment is in
/// progress (the dead request's claim on the form's key has to lapse first).
async fn pay_until_answered(app: &TestApp, order: &str, token: &str, key: &str, card: &str) -> (u16, String) {
    let started = Instant::now();
    loop {
        let (status, html) = pay(app, order, token, key, card).await;
        if status != 409 || !html.contains("already being processed") {
            return (status, html);
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the payment stayed in progress: {html}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One pass of the restarted node's recovery, as if its lease had lapsed.
async fn sweep(app: &TestApp, after: Duration) -> bottega::commerce::Swept {
    let now = bottega::ids::now_ms() + i64::try_from(after.as_millis()).expect("millis");
    app.app.commerce.sweep(now).await.expect("the sweep runs")
}

/// What the books say, across the processor's ledger and ours.
#[derive(Debug, PartialEq, Eq)]
struct Books {
    /// The processor's ledger: money taken and given back.
    ledger_captured: i64,
    ledger_refunded: i64,
    /// Ours: payments recorded captured, and what they say was given back.
    recorded_captured: i64,
    recorded_refunds: i64,
    /// Orders paid (captured, partly or wholly refunded), and their totals.
    orders_paid_total: i64,
    payments_in_flight: i64,
    refunds_pending: i64,
    keys_in_flight: i64,
    /// Units on the shelf plus units held by orders not cancelled.
    units_accounted: i64,
    /// Payments recorded captured, and refunds recorded succeeded.
    captures: i64,
    refunds: i64,
    /// The fees ledger (`usage_events`): captures and refunds metered, as
    /// (rows, sum of their amounts).
    metered_captures: (i64, i64),
    metered_refunds: (i64, i64),
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(app.db()).await.expect(sql).try_get::<i64, _>(0).expect("a number")
}

async fn books(app: &TestApp) -> Books {
    Books {
        ledger_captured: scalar(app, "SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) FROM sandbox_charges")
            .await,
        ledger_refunded: scalar(app, "SELECT CAST(COALESCE(SUM(refunded_minor), 0) AS BIGINT) FROM sandbox_charges")
            .await,
        recorded_captured: scalar(
            app,
            "SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) FROM payments WHERE status = 'captured'",
        )
        .await,
        recorded_refunds: scalar(
            app,
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM refunds WHERE status = 'succeeded'",
        )
        .await,
        orders_paid_total: scalar(
            app,
            "SELECT CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) FROM orders \
             WHERE payment_status IN ('captured', 'partially_refunded', 'refunded')",
        )
        .await,
        payments_in_flight: scalar(app, "SELECT COUNT(*) FROM payments WHERE status = 'processing'").await,
        refunds_pending: scalar(app, "SELECT COUNT(*) FROM refunds WHERE status = 'pending'").await,
        keys_in_flight: scalar(app, "SELECT COUNT(*) FROM idempotency_keys WHERE state = 'in_flight'").await,
        units_accounted: scalar(
            app,
            "SELECT CAST((SELECT COALESCE(SUM(stock), 0) FROM products) + (SELECT COALESCE(SUM(l.quantity), 0) \
             FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status <> 'cancelled') AS BIGINT)",
        )
        .await,
        captures: scalar(app, "SELECT COUNT(*) FROM payments WHERE status = 'captured'").await,
        refunds: scalar(app, "SELECT COUNT(*) FROM refunds WHERE status = 'succeeded'").await,
        metered_captures: metered(app, "payment_captured").await,
        metered_refunds: metered(app, "payment_refunded").await,
    }
}

/// Rows and sum of the fees ledger's `metric`.
async fn metered(app: &TestApp, metric: &str) -> (i64, i64) {
    let rows = scalar(app, &format!("SELECT COUNT(*) FROM usage_events WHERE metric = '{metric}'")).await;
    let sum = scalar(
        app,
        &format!("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM usage_events WHERE metric = '{metric}'"),
    )
    .await;
    (rows, sum)
}

/// The books balance: every charge is a paid order, nothing in flight, and
/// every unit is on the shelf or in an order.
async fn assert_balanced(app: &TestApp, products: i64, context: &str) {
    let books = books(app).await;
    assert_eq!(books.ledger_captured, books.recorded_captured, "{context}: {books:?}");
    assert_eq!(books.recorded_captured, books.orders_paid_total, "{context}: {books:?}");
    assert_eq!(books.ledger_refunded, books.recorded_refunds, "{context}: {books:?}");
    assert_eq!((books.payments_in_flight, books.refunds_pending), (0, 0), "{context}: {books:?}");
    assert_eq!(books.units_accounted, products * PEAR_STOCK, "{context}: {books:?}");
    // The fees ledger equals the facts, whatever crashed and was retried.
    assert_eq!(books.metered_captures, (books.captures, books.recorded_captured), "{context}: {books:?}");
    assert_eq!(books.metered_refunds, (books.refunds, books.recorded_refunds), "{context}: {books:?}");
}

async fn assert_no_key_in_flight(app: &TestApp, context: &str) {
    let books = books(app).await;
    assert_eq!(books.keys_in_flight, 0, "{context}: {books:?}");
}

async fn order(app: &TestApp, shop: &Shop, id: &str) -> Value {
    let (status, order) = app.get(&format!("/v1/orders/{id}"), &shop.key).await;
    assert_eq!(status, 200, "{order}");
    order
}

async fn bot_thanked(app: &TestApp, shop: &Shop, order: &Value) -> usize {
    let conversation = order["conversation_id"].as_str().expect("conversation");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let thanks = format!("Payment received for order {}", order["id"].as_str().expect("id"));
    history["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["body"]["text"].as_str().is_some_and(|t| t.contains(&thanks))).count())
        .unwrap_or(0)
}

async fn a_crash_anywhere_in_a_card_payment_leaves_the_books_straight(mut app: TestApp) {
    let shop = open_shop(&app).await;
    for (n, point) in [
        failpoint::PAY_AFTER_START,
        failpoint::PAY_AFTER_AUTHORIZE,
        failpoint::PAY_AFTER_CAPTURE,
        failpoint::PAY_AFTER_RECORD,
    ]
    .into_iter()
    .enumerate()
    {
        // Half the time the customer comes back at once; otherwise the
        // restarted node's recovery resolves the payment first.
        for recovered_first in [false, true] {
            let customer = format!("customer-{n}-{recovered_first}");
            app.say(&shop, &customer, "add 2 pears").await;
            let (path, token, order_id) = payment_link(&app.say(&shop, &customer, "checkout").await);
            let key = form_key(&page(&app, &path).await);
            crash_during(&app, point, pay(&app, &order_id, &token, &key, CARD_SUCCESS)).await;
            app.crash_and_restart(short_leases).await;
            let context = format!("crash at {point} (recovery first: {recovered_first})");
            if recovered_first {
                sweep(&app, LEASE * 2).await;
                assert_balanced(&app, 3, &context).await;
            }
            // The customer's retry of the same form gets the real outcome, and pays once.
            let (status, paid) = pay_until_answered(&app, &order_id, &token, &key, CARD_SUCCESS).await;
            assert_eq!(status, 200, "{context}: {paid}");
            assert!(paid.contains("Payment of €1.80 received"), "{context}: {paid}");
            let paid_order = order(&app, &shop, &order_id).await;
            assert_eq!(paid_order["payment_status"], "captured", "{context}");
            assert_eq!(bot_thanked(&app, &shop, &paid_order).await, 1, "{context}: the bot thanks once");
            assert_balanced(&app, 3, &context).await;
            assert_no_key_in_flight(&app, &context).await;
        }
    }
    let (_, orders) = app.get("/v1/orders", &shop.key).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(8), "one order per customer: {orders}");
}

async fn a_crash_during_checkout_never_loses_the_order_or_its_link(mut app: TestApp) {
    let shop = open_shop(&app).await;

    // Before the order is written: nothing happened; the cart is still there.
    app.say(&shop, "ana", "add 2 pears").await;
    crash_during(&app, failpoint::CHECKOUT_BEFORE_COMMIT, app.say(&shop, "ana", "checkout")).await;
    app.crash_and_restart(short_leases).await;
    assert_balanced(&app, 3, "before the checkout commits").await;
    let (_, orders) = app.get("/v1/orders", &shop.key).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(0), "{orders}");
    let (path, token, order_id) = payment_link(&app.say(&shop, "ana", "checkout").await);
    let key = form_key(&page(&app, &path).await);
    assert_eq!(pay(&app, &order_id, &token, &key, CARD_SUCCESS).await.0, 200);

    // After the order is written, before its answer is stored: the cart is
    // empty, and asking again sends the waiting order's link.
    app.say(&shop, "bea", "add 3 figs").await;
    crash_during(&app, failpoint::CHECKOUT_AFTER_COMMIT, app.say(&shop, "bea", "checkout")).await;
    app.crash_and_restart(short_leases).await;
    assert_balanced(&app, 3, "after the checkout commits").await;
    let again = app.say(&shop, "bea", "checkout").await;
    let (path, token, resent_id) = payment_link(&again);
    let (_, orders) = app.get("/v1/orders", &shop.key).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(2), "no second order: {orders}");
    assert_eq!(orders[0]["id"], resent_id.as_str(), "the link is the waiting order's");
    let html = page(&app, &path).await;
    assert!(html.contains("Black fig") && html.contains("€3.60"), "{html}");
    let (status, paid) = pay(&app, &resent_id, &token, &form_key(&html), CARD_SUCCESS).await;
    assert_eq!(status, 200, "{paid}");
    assert_balanced(&app, 3, "the resent link paid").await;

    // With nothing waiting, an empty cart is still an empty cart.
    let empty = app.say(&shop, "bea", "checkout").await;
    assert!(reply_text(&empty).contains("empty"), "{empty}");
}

async fn a_crash_after_the_bank_confirms_a_challenge_still_pays_the_order(mut app: TestApp) {
    let shop = open_shop(&app).await;
    for (customer, customer_returns) in [("ana", true), ("bea", false)] {
        app.say(&shop, customer, "add 2 pears").await;
        let (path, token, order_id) = payment_link(&app.say(&shop, customer, "checkout").await);
        let key = form_key(&page(&app, &path).await);
        let (status, challenge) = pay(&app, &order_id, &token, &key, CARD_3DS).await;
        assert_eq!(status, 200, "{challenge}");
        let payment_id = challenge
            .split("name=payment_id value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the challenge form names its payment")
            .to_string();
        let confirm = [("token", token.as_str()), ("payment_id", payment_id.as_str()), ("outcome", "pass")];
        let path = format!("/pay/{order_id}/challenge");
        crash_during(&app, failpoint::CHALLENGE_AFTER_PROVIDER, app.post_form(&path, &confirm)).await;
        app.crash_and_restart(short_leases).await;
        if customer_returns {
            // Confirming again finds what the bank said, and pays the order.
            let (status, paid) = app.post_form(&path, &confirm).await;
            assert_eq!(status, 200, "{paid}");
            assert!(paid.contains("received"), "{paid}");
        } else {
            // The customer never comes back: when the reservation ends, the
            // money (approved by the bank) says paid, not cancelled.
            sweep(&app, Duration::from_secs(16 * 60)).await;
        }
        assert_eq!(order(&app, &shop, &order_id).await["payment_status"], "captured", "{customer}");
        assert_balanced(&app, 3, customer).await;
    }
}

async fn refund(app: &TestApp, shop: &Shop, order: &str, key: &str, amount: i64) -> (u16, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/orders/{order}/refunds"))
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(json!({"amount_minor": amount}).to_string()))
        .expect("request");
    let (status, body) = app.send(request).await;
    (status.as_u16(), body)
}

async fn refund_until_answered(app: &TestApp, shop: &Shop, order: &str, key: &str, amount: i64) -> (u16, Value) {
    let started = Instant::now();
    loop {
        let (status, body) = refund(app, shop, order, key, amount).await;
        if status != 409 || body["error"]["code"] != "request_in_flight" {
            return (status, body);
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the refund stayed in progress: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_crash_anywhere_in_a_refund_refunds_exactly_once(mut app: TestApp) {
    let shop = open_shop(&app).await;
    app.say(&shop, "ana", "add 2 pears").await;
    let (path, token, order_id) = payment_link(&app.say(&shop, "ana", "checkout").await);
    let key = form_key(&page(&app, &path).await);
    assert_eq!(pay(&app, &order_id, &token, &key, CARD_SUCCESS).await.0, 200);
    let mut refunded = 0;
    for (n, point) in [failpoint::REFUND_AFTER_INTENT, failpoint::REFUND_AFTER_PROVIDER, failpoint::REFUND_AFTER_RECORD]
        .into_iter()
        .enumerate()
    {
        for recovered_first in [false, true] {
            let key = format!("refund-{n}-{recovered_first}");
            crash_during(&app, point, refund(&app, &shop, &order_id, &key, 30)).await;
            app.crash_and_restart(short_leases).await;
            if recovered_first {
                sweep(&app, LEASE * 2).await;
            }
            let (status, body) = refund_until_answered(&app, &shop, &order_id, &key, 30).await;
            refunded += 30;
            let context = format!("crash at {point} (recovery first: {recovered_first})");
            assert_eq!(status, 200, "{context}: {body}");
            assert_eq!(body["payment"]["refunded_minor"], refunded, "{context}: {body}");
            // The same request again: the same answer, nothing more given back.
            assert_eq!(refund(&app, &shop, &order_id, &key, 30).await.1["payment"]["refunded_minor"], refunded);
            assert_balanced(&app, 3, &context).await;
            assert_no_key_in_flight(&app, &context).await;
        }
    }
    assert_eq!(refunded, 180);
    assert_eq!(order(&app, &shop, &order_id).await["payment_status"], "refunded");
    let (status, _) = refund(&app, &shop, &order_id, "one-more", 1).await;
    assert_eq!(status, 422, "nothing is left to refund");
}

async fn an_order_left_mid_payment_is_never_stuck(mut app: TestApp) {
    let shop = open_shop(&app).await;
    app.say(&shop, "ana", "add 4 apples").await;
    let (path, token, order_id) = payment_link(&app.say(&shop, "ana", "checkout").await);
    let key = form_key(&page(&app, &path).await);
    crash_during(&app, failpoint::PAY_AFTER_START, pay(&app, &order_id, &token, &key, CARD_SUCCESS)).await;
    app.crash_and_restart(short_leases).await;

    // The business can cancel it once the dead request's lease has lapsed
    // (before that it is told the order is being paid, not refused for good).
    let started = Instant::now();
    let cancelled = loop {
        let (status, body) = app.post(&format!("/v1/orders/{order_id}/cancel"), &shop.key, json!({})).await;
        if status == 200 {
            break body;
        }
        assert_eq!(body["error"]["code"], "payment_in_progress", "{body}");
        assert!(started.elapsed() < Duration::from_secs(10), "the order stayed stuck: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(cancelled["status"], "cancelled");
    assert_balanced(&app, 3, "cancelled after the crash").await;
    let (status, html) = pay_until_answered(&app, &order_id, &token, &key, CARD_SUCCESS).await;
    assert!(status == 409 && html.contains("cancelled"), "the retry hears the order was cancelled: {html}");

    // Another order left mid-payment simply expires: its stock comes back.
    app.say(&shop, "bea", "add 5 figs").await;
    let (path, token, order_id) = payment_link(&app.say(&shop, "bea", "checkout").await);
    let key = form_key(&page(&app, &path).await);
    crash_during(&app, failpoint::PAY_AFTER_START, pay(&app, &order_id, &token, &key, CARD_SUCCESS)).await;
    app.crash_and_restart(short_leases).await;
    let swept = sweep(&app, Duration::from_secs(16 * 60)).await;
    assert_eq!((swept.payments_reconciled, swept.reservations_expired), (1, 1), "{swept:?}");
    assert_eq!(order(&app, &shop, &order_id).await["status"], "cancelled");
    assert_balanced(&app, 3, "expired after the crash").await;
    // The customer's retry is told the truth, not "in progress" for a day.
    let (status, html) = pay_until_answered(&app, &order_id, &token, &key, CARD_SUCCESS).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("cancelled"), "{html}");
    assert_no_key_in_flight(&app, "the retry after expiry").await;
}

async fn checkouts_under_contention_wait_and_never_fail(app: TestApp) {
    let shop = open_shop(&app).await;
    // Eight customers whose carts share products, filled in different orders.
    let carts = ["add 1 pear", "add 1 apple", "add 1 fig"];
    for n in 0..8usize {
        let customer = format!("customer-{n}");
        for i in 0..3 {
            app.say(&shop, &customer, carts[(n + i) % 3]).await;
        }
    }
    let checkouts = (0..8).map(|n| {
        let app = &app;
        let shop = &shop;
        async move { app.say(shop, &format!("customer-{n}"), "checkout").await }
    });
    let outcomes = futures_util::future::join_all(checkouts).await;
    let mut numbers: Vec<i64> = Vec::new();
    for outcome in &outcomes {
        let checkout = replies(outcome).into_iter().find(|r| r["type"] == "checkout");
        let checkout = checkout.unwrap_or_else(|| panic!("every checkout succeeds: {outcome}"));
        numbers.push(checkout["order"]["number"].as_i64().expect("a number"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>(), "numbers are unique and gapless");
    assert_balanced(&app, 3, "after eight concurrent checkouts").await;
    assert_eq!(scalar(&app, "SELECT CAST(SUM(stock) AS BIGINT) FROM products").await, 3 * PEAR_STOCK - 24);
}
