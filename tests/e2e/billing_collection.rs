//! Collecting invoices: the operator keeps a card on file for a business (only
//! what the sandbox processor returns is kept, never the number), and the
//! collector charges each finalised invoice to it: paid on the first try;
//! declined, then paid on the retry after the business's card was replaced;
//! declined on every retry of the schedule, then past due (and the plan
//! refuses the business's own sends, 402 `billing_past_due`, while its
//! customers are still answered); and a node
//! killed after the processor charged the card, before it recorded the
//! outcome, charges it once: the next node asks the processor under the
//! attempt's idempotency key and records what it says.
//!
//! Time: the collector is called with the time each retry is due (the
//! schedule counts from the last decline), not waited for.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use bottega::Config;
use bottega::billing::invoices;
use bottega::commerce::payments::collection::{self, Collected};
use bottega::commerce::payments::sandbox::{CARD_DECLINED, CARD_SUCCESS};
use bottega::failpoint::{self, Action};
use bottega_tests::*;
use serde_json::{Value, json};
use sqlx::Row;

bottega_tests::on_both_databases_with!(
    super::collecting;
    an_invoice_is_paid_by_the_card_on_file_on_the_first_try,
    a_declined_invoice_is_paid_on_the_retry_after_the_card_is_replaced,
    an_invoice_declined_on_every_retry_is_past_due,
    a_crash_after_the_card_was_charged_charges_it_once
);

const HOUR: i64 = 3_600_000;
const FEE: i64 = 1_900;

fn collecting(config: &mut Config) {
    super::billing::billing_with_time_left(config);
    config.billing.collect_retries = [1, 24, 72].map(|h| Duration::from_secs(h * 3600)).to_vec();
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(app.db()).await.expect(sql).try_get::<i64, _>(0).expect("a number")
}

/// A shop on a €19 plan whose month is finalised into an open invoice; its id.
/// The shop has a webhook endpoint, so its invoice events are queued.
async fn a_finalised_invoice(app: &TestApp, shop: &Shop) -> String {
    let hook = json!({"url": "http://127.0.0.1:9/bottega-events"});
    let (status, answer) = app.request(Method::PUT, "/v1/webhook", Some(&shop.key), Some(hook)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let started = bottega::ids::rfc3339(bottega::ids::now_ms() - 30_000);
    let plan = json!({
        "plan_id": "basic", "name": "Basic", "effective_from": started, "currency": "EUR",
        "terms": {"monthly_fee_minor": FEE, "when_past_due": "block_business_sends"},
    });
    let (status, answer) = app.post("/v1/admin/billing/plans", ADMIN_TOKEN, plan).await;
    assert!(status.is_success(), "{answer}");
    let assign = json!({"plan_id": "basic", "effective_from": started});
    let (status, answer) = app.post(&format!("/v1/admin/businesses/{}/plan", shop.id), ADMIN_TOKEN, assign).await;
    assert!(status.is_success(), "{answer}");
    let billing = &app.app.billing;
    let now = bottega::ids::now_ms();
    let period = billing.calendar().containing(now).expect("period");
    invoices::finalize(billing, &shop.id, &period, now).await.expect("finalise").expect("an invoice")
}

async fn set_card(app: &TestApp, shop: &Shop, number: &str) -> (StatusCode, Value) {
    let card = json!({"number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123"});
    let path = format!("/v1/admin/businesses/{}/billing-card", shop.id);
    app.request(Method::PUT, &path, Some(ADMIN_TOKEN), Some(card)).await
}

async fn collect(app: &TestApp, at: i64) -> Collected {
    collection::collect_due(&app.app.commerce, &app.app.billing, at).await.expect("the collector runs")
}

async fn status_of(app: &TestApp, shop: &Shop, invoice_id: &str) -> String {
    let (status, invoice) = app.get(&format!("/v1/billing/invoices/{invoice_id}"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    invoice["status"].as_str().unwrap_or_default().to_string()
}

/// What the processor's books say was taken, and how many charges it holds.
async fn taken(app: &TestApp) -> (i64, i64) {
    (
        scalar(app, "SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) FROM sandbox_charges").await,
        scalar(app, "SELECT COUNT(*) FROM sandbox_charges").await,
    )
}

async fn paid_webhooks(app: &TestApp, shop: &Shop) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE business_id = $1 AND event_type = 'invoice.paid'")
        .bind(&shop.id)
        .fetch_one(app.db())
        .await
        .expect("count")
}

async fn an_invoice_is_paid_by_the_card_on_file_on_the_first_try(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let invoice = a_finalised_invoice(&app, &shop).await;
    // Without a card the collector has nothing to charge.
    assert_eq!(collect(&app, bottega::ids::now_ms()).await, Collected::default());

    let (status, card) = set_card(&app, &shop, CARD_SUCCESS).await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!((card["brand"].as_str(), card["last4"].as_str()), (Some("visa"), Some("4242")));
    assert!(!card.to_string().contains(CARD_SUCCESS), "the number is not shown back: {card}");
    let kept: String = sqlx::query_scalar("SELECT token FROM billing_cards WHERE business_id = $1")
        .bind(&shop.id)
        .fetch_one(app.db())
        .await
        .expect("the card on file");
    assert!(kept.starts_with("tok_"), "only the processor's token is kept: {kept}");
    // A card the processor refuses is not kept; bad input is never a 5xx.
    let (status, refused) = set_card(&app, &shop, "4242424242424241").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("card_refused")));

    let done = collect(&app, bottega::ids::now_ms()).await;
    assert_eq!(done, Collected { paid: 1, ..Collected::default() });
    assert_eq!(status_of(&app, &shop, &invoice).await, "paid");
    assert_eq!(taken(&app).await, (FEE, 1), "the invoice's total was taken once");
    assert_eq!(paid_webhooks(&app, &shop).await, 1, "the business hears invoice.paid");
    // Another pass charges nothing more.
    assert_eq!(collect(&app, bottega::ids::now_ms() + 100 * HOUR).await, Collected::default());
    assert_eq!(taken(&app).await, (FEE, 1));
}

async fn a_declined_invoice_is_paid_on_the_retry_after_the_card_is_replaced(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let invoice = a_finalised_invoice(&app, &shop).await;
    assert_eq!(set_card(&app, &shop, CARD_DECLINED).await.0, StatusCode::OK);
    let first = bottega::ids::now_ms();
    assert_eq!(collect(&app, first).await, Collected { declined: 1, ..Collected::default() });
    assert_eq!(status_of(&app, &shop, &invoice).await, "open", "a decline waits for the retry");
    // Not before the retry is due.
    assert_eq!(collect(&app, first + HOUR / 2).await, Collected::default());

    // The business gives the operator another card; the retry an hour later pays.
    assert_eq!(set_card(&app, &shop, CARD_SUCCESS).await.0, StatusCode::OK);
    let retry = bottega::ids::now_ms() + HOUR + 1_000;
    assert_eq!(collect(&app, retry).await, Collected { paid: 1, ..Collected::default() });
    assert_eq!(status_of(&app, &shop, &invoice).await, "paid");
    assert_eq!(taken(&app).await, (FEE, 2), "one decline, one charge");
    // The operator sees both attempts, each with its outcome.
    let (status, attempts) = app.get(&format!("/v1/admin/billing/invoices/{invoice}/charges"), ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{attempts}");
    let outcomes: Vec<(i64, &str, Option<&str>)> = attempts
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| (a["attempt"].as_i64().unwrap_or(0), a["state"].as_str().unwrap_or(""), a["decline_code"].as_str()))
        .collect();
    assert_eq!(outcomes, [(1, "declined", Some("card_declined")), (2, "succeeded", None)]);
    assert_eq!(paid_webhooks(&app, &shop).await, 1);
}

async fn an_invoice_declined_on_every_retry_is_past_due(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let invoice = a_finalised_invoice(&app, &shop).await;
    assert_eq!(set_card(&app, &shop, CARD_DECLINED).await.0, StatusCode::OK);
    // The first charge, then retries 1 hour and 1 day after each decline
    // (the schedule counts from the decline's own time)...
    for (n, wait) in [0, HOUR, 24 * HOUR].into_iter().enumerate() {
        let done = collect(&app, bottega::ids::now_ms() + wait + 1_000).await;
        assert_eq!(done, Collected { declined: 1, ..Collected::default() }, "attempt {}", n + 1);
        assert_eq!(status_of(&app, &shop, &invoice).await, "open");
    }
    // ... and the last, 3 days later: declined again, the invoice is past due.
    let at = bottega::ids::now_ms() + 72 * HOUR + 1_000;
    assert_eq!(collect(&app, at).await, Collected { declined: 1, past_due: 1, ..Collected::default() });
    assert_eq!(status_of(&app, &shop, &invoice).await, "past_due");
    assert_eq!(taken(&app).await, (0, 4), "four declines, nothing taken");
    assert_eq!(collect(&app, at + 1_000 * HOUR).await, Collected::default(), "no more retries");
    assert_eq!(paid_webhooks(&app, &shop).await, 0);

    // The plan refuses the business's own sends while it is past due; its
    // customers are still answered.
    let hello = app.say(&shop, "ana", "hi").await;
    assert!(!replies(&hello).is_empty(), "the customer is answered: {hello}");
    let customer = hello["customer_id"].as_str().expect("the customer's pseudonym");
    let offer = json!({"customer_id": customer, "text": "Fresh figs today!"});
    let (status, refused) = app.post("/v1/business-messages", &shop.key, offer).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::PAYMENT_REQUIRED, Some("billing_past_due")),
        "{refused}"
    );
}

async fn a_crash_after_the_card_was_charged_charges_it_once(mut app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let invoice = a_finalised_invoice(&app, &shop).await;
    assert_eq!(set_card(&app, &shop, CARD_SUCCESS).await.0, StatusCode::OK);

    // The collector charges the card and dies before it records the outcome.
    let failpoints = app.app.config.commerce.failpoints.clone();
    failpoints.arm(failpoint::COLLECT_AFTER_PROVIDER, Action::Hang);
    let reached = async {
        let started = Instant::now();
        while failpoints.hits(failpoint::COLLECT_AFTER_PROVIDER) == 0 {
            assert!(started.elapsed() < Duration::from_secs(30), "the collector never charged the card");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = collect(&app, bottega::ids::now_ms()) => panic!("the collector finished without reaching the failpoint"),
        () = reached => {}
    }
    assert_eq!(taken(&app).await, (FEE, 1), "the processor took the money");
    assert_eq!(status_of(&app, &shop, &invoice).await, "open", "nothing recorded yet");
    app.crash_and_restart(collecting).await;

    // Within its lease the attempt is the dead node's: nobody charges again.
    assert_eq!(collect(&app, bottega::ids::now_ms()).await, Collected::default());
    // After it, the next node asks the processor and records the charge.
    let later = bottega::ids::now_ms() + 2 * 60_000;
    assert_eq!(collect(&app, later).await, Collected { paid: 1, reconciled: 1, ..Collected::default() });
    assert_eq!(status_of(&app, &shop, &invoice).await, "paid");
    assert_eq!(taken(&app).await, (FEE, 1), "charged once");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM invoice_charges").await, 1, "one attempt");
    assert_eq!(paid_webhooks(&app, &shop).await, 1);
}
