//! Fees for businesses: an operator publishes two plans and a WhatsApp rate
//! card (changed mid-month), two shops trade for a month, and the month
//! closes into invoices equal to the hand-computed totals to the minor unit;
//! retried payments and duplicated status webhooks meter once; late usage
//! lands on the next invoice as a delta; a finalised invoice cannot be
//! changed, even by SQL on the database; with billing off nothing is metered.
//!
//! Time: facts are metered at the real time (the runtime has no clock to
//! set), except WhatsApp statuses, which carry their own `timestamp`. The
//! stories bill in a time zone whose current month has at least 12 hours
//! left, so "this month" holds every fact they make, and they finalise by
//! calling the finaliser for the period themselves.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bottega::Config;
use bottega::billing::period::{Calendar, Period};
use bottega::billing::{invoices, limits};
use bottega::commerce::payments::sandbox::CARD_SUCCESS;
use bottega_tests::card::{form_key, page, pay, payment_link};
use bottega_tests::whatsapp::{APP_SECRET, FakeGraph, text_message};
use bottega_tests::*;
use serde_json::{Value, json};
use sqlx::Row;

bottega_tests::on_both_databases_with!(
    super::billing_with_time_left;
    a_month_of_two_shops_closes_into_invoices_equal_to_the_hand_totals
);
bottega_tests::on_both_databases_with!(super::billing_off; with_billing_off_nothing_is_metered);

const PHONE_ID: &str = "106540352242922";
const INDIA: &str = "919876543210";
const BRAZIL: &str = "5511987654321";
const ITALY: &str = "393331234567";

/// Bills in UTC-12 or UTC+14, whichever has 12 hours or more left of its month.
pub(super) fn billing_with_time_left(config: &mut Config) {
    config.billing.finalize_every = None;
    let now = bottega::ids::now_ms();
    for zone in ["Etc/GMT+12", "Pacific/Kiritimati"] {
        let period = Calendar::new(zone).and_then(|c| c.containing(now)).expect("a known zone");
        if period.end - now > 12 * 3_600_000 {
            config.billing.time_zone = zone.to_string();
            return;
        }
    }
    panic!("no zone has 12 hours of its month left");
}

fn billing_off(config: &mut Config) {
    config.billing.enabled = false;
    config.billing.finalize_every = None;
}

/// An RFC 3339 time `offset_ms` from now.
fn from_now(offset_ms: i64) -> String {
    bottega::ids::rfc3339(bottega::ids::now_ms() + offset_ms)
}

async fn admin(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, answer) = app.post(path, ADMIN_TOKEN, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// A status webhook for `wamid` with its `pricing`, at `seconds` since the epoch.
fn status_of(wamid: &str, state: &str, recipient: &str, category: &str, kind: &str, seconds: i64) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
            "statuses": [{
                "id": wamid, "status": state, "timestamp": seconds.to_string(), "recipient_id": recipient,
                "pricing": {"billable": kind == "regular", "pricing_model": "PMP", "category": category, "type": kind},
            }],
        }}]}],
    })
    .to_string()
    .into_bytes()
}

async fn ledger(app: &TestApp, business_id: &str, metric: &str) -> (i64, i64) {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS q FROM usage_events \
         WHERE business_id = $1 AND metric = $2",
    )
    .bind(business_id)
    .bind(metric)
    .fetch_one(app.db())
    .await
    .expect("ledger");
    (row.try_get("n").expect("n"), row.try_get("q").expect("q"))
}

fn amounts(document: &Value) -> Vec<(String, i64)> {
    document["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (l["line_key"].as_str().unwrap_or_default().to_string(), l["amount_minor"].as_i64().unwrap_or(i64::MIN))
        })
        .collect()
}

async fn the_invoice(app: &TestApp, shop: &Shop, period: &Period) -> Value {
    let (_, list) = app.get("/v1/billing/invoices", &shop.key).await;
    let id = list
        .as_array()
        .and_then(|l| l.iter().find(|i| i["period"] == period.label.as_str()))
        .and_then(|i| i["id"].as_str())
        .unwrap_or_else(|| panic!("an invoice of {}: {list}", period.label))
        .to_string();
    let (status, document) = app.get(&format!("/v1/billing/invoices/{id}"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{document}");
    document
}

async fn a_month_of_two_shops_closes_into_invoices_equal_to_the_hand_totals(app: TestApp) {
    let billing = &app.app.billing;
    let period = billing.calendar().containing(bottega::ids::now_ms()).expect("period");
    let started = from_now(-30_000);

    // The price list. Starter: €10 a month, 3 messages free then 5 cents each,
    // 2 % + 25 cents per payment, the percentage given back on refunds.
    // Pro: €50 a month, 1,000 messages free, 0.1 cent per plugin CPU ms.
    admin(
        &app,
        "/v1/admin/billing/plans",
        json!({
            "plan_id": "starter", "name": "Starter", "effective_from": started, "currency": "EUR",
            "terms": {
                "monthly_fee_minor": 1000, "transaction_fee_bps": 200, "transaction_fee_fixed_minor": 25,
                "refund_policy": "return_percentage",
                "messages": {"included": 3, "tiers": [{"up_to": null, "unit_milli_minor": 5000}]},
                "plugin_cpu_ms": {"included": 1000000000, "tiers": [{"up_to": null, "unit_milli_minor": 1}]},
            },
        }),
    )
    .await;
    admin(
        &app,
        "/v1/admin/billing/plans",
        json!({
            "plan_id": "pro", "effective_from": started, "currency": "EUR",
            "terms": {
                "monthly_fee_minor": 5000,
                "messages": {"included": 1000, "tiers": [{"up_to": null, "unit_milli_minor": 1000}]},
                "plugin_cpu_ms": {"included": 0, "tiers": [{"up_to": null, "unit_milli_minor": 100}]},
            },
        }),
    )
    .await;
    // WhatsApp at cost plus 10 %: India marketing 10 cents, utility anywhere 2 cents;
    // from `changed` on, India marketing costs 20 cents.
    admin(
        &app,
        "/v1/admin/billing/rate-cards",
        json!({
            "effective_from": started, "markup_bps": 1000,
            "csv": "market,category,currency,unit_milli_minor\nIN,marketing,EUR,10000\n*,utility,EUR,2000\n",
        }),
    )
    .await;
    let changed_ms = (bottega::ids::now_ms() / 1000 + 3) * 1000;
    admin(
        &app,
        "/v1/admin/billing/rate-cards",
        json!({
            "effective_from": bottega::ids::rfc3339(changed_ms), "markup_bps": 1000,
            "prices": [
                {"market": "IN", "category": "marketing", "currency": "EUR", "unit_milli_minor": 20000},
                {"market": "*", "category": "utility", "currency": "EUR", "unit_milli_minor": 2000},
            ],
        }),
    )
    .await;
    // Two shops, each put on its plan from now on (before anything else takes time).
    let grocer = app.create_shop("Grocer", json!({})).await;
    let florist = app.create_shop("Florist", json!({})).await;
    let starter = json!({"plan_id": "starter", "effective_from": started, "tax_rate_bps": 2200, "tax_label": "VAT"});
    admin(&app, &format!("/v1/admin/businesses/{}/plan", grocer.id), starter).await;
    let pro = json!({"plan_id": "pro", "effective_from": started});
    admin(&app, &format!("/v1/admin/businesses/{}/plan", florist.id), pro).await;
    let (status, refused) = app
        .post(
            "/v1/admin/billing/rate-cards",
            ADMIN_TOKEN,
            json!({"effective_from": from_now(-3_600_000), "markup_bps": 0,
            "prices": [{"market": "IN", "category": "marketing", "currency": "EUR", "unit_milli_minor": 1}]}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );

    // The grocer (Starter, 22 % VAT) sells on the API channel.
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": 50, "section": "Fruit"});
    app.post("/v1/products", &grocer.key, pear).await;
    app.upload(&grocer, plugins::GROCERY_RUST).await;
    // Five messages: two in the allowance's excess. One order of €1.80, paid
    // with a double click (one capture), then €0.50 refunded, retried (one refund).
    for _ in 0..3 {
        app.say(&grocer, "ana", "hi").await;
    }
    app.say(&grocer, "ana", "add 2 pears").await;
    let checkout = app.say(&grocer, "ana", "checkout").await;
    let (path, token, order_id) = payment_link(&checkout);
    let key = form_key(&page(&app, &path).await);
    assert_eq!(pay(&app, &order_id, &token, &key, CARD_SUCCESS).await.0, 200);
    assert_eq!(pay(&app, &order_id, &token, &key, CARD_SUCCESS).await.0, 200);
    for _ in 0..2 {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/orders/{order_id}/refunds"))
            .header("authorization", format!("Bearer {}", grocer.key))
            .header("content-type", "application/json")
            .header("idempotency-key", "refund-1")
            .body(Body::from(json!({"amount_minor": 50}).to_string()))
            .expect("request");
        let (status, refunded) = app.send(request).await;
        assert_eq!(status, StatusCode::OK, "{refunded}");
    }

    // The florist (Pro, no tax) sells on WhatsApp to India, Brazil and Italy.
    app.add_product(&florist, "rose", "Rose", 300, "Flowers").await;
    app.upload(&florist, plugins::GROCERY_RUST).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&florist, &graph, PHONE_ID).await;
    let sends = [
        ("wamid.in.1", INDIA),
        ("wamid.br.1", BRAZIL),
        ("wamid.it.1", ITALY),
        ("wamid.in.2", INDIA),
        ("wamid.br.2", BRAZIL),
    ];
    for (n, (wamid, customer)) in sends.iter().enumerate() {
        graph.answer_ids(&[wamid]);
        app.whatsapp_says(&florist, PHONE_ID, customer, text_message(customer, "hi")).await;
        graph.wait_for(n + 1).await;
        app.queues_settled().await;
    }
    let before_change = changed_ms / 1000 - 2;
    let after_change = changed_ms / 1000 + 1;
    let deliveries = [
        status_of("wamid.in.1", "delivered", INDIA, "marketing", "regular", before_change),
        // Meta delivers webhooks at least once: the same status again, then `read`.
        status_of("wamid.in.1", "delivered", INDIA, "marketing", "regular", before_change),
        status_of("wamid.in.1", "read", INDIA, "marketing", "regular", before_change + 5),
        status_of("wamid.br.1", "delivered", BRAZIL, "utility", "regular", before_change),
        status_of("wamid.it.1", "delivered", ITALY, "service", "free_customer_service", before_change),
        status_of("wamid.in.2", "delivered", INDIA, "marketing", "regular", after_change),
    ];
    for body in &deliveries {
        let (status, received) = app.deliver_webhook(&florist, body, APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
    }

    // The ledger equals the facts, whatever was retried.
    assert_eq!(ledger(&app, &grocer.id, "messages_handled").await, (5, 5));
    assert_eq!(ledger(&app, &grocer.id, "payment_captured").await, (1, 180));
    assert_eq!(ledger(&app, &grocer.id, "payment_refunded").await, (1, 50));
    assert_eq!(ledger(&app, &florist.id, "messages_handled").await, (5, 5));
    assert_eq!(ledger(&app, &florist.id, "whatsapp_delivered").await, (3, 3));

    // The grocer used its 3 included messages and more: its 50, 80 and 100 %
    // thresholds are announced once, however often the watcher passes.
    assert!(limits::watch_thresholds(billing, bottega::ids::now_ms()).await.expect("watch") >= 3);
    let crossed: Vec<(String, i64)> =
        sqlx::query_as("SELECT subject, percent FROM usage_thresholds WHERE business_id = $1 ORDER BY percent")
            .bind(&grocer.id)
            .fetch_all(app.db())
            .await
            .expect("thresholds");
    let messages = |percent: i64| ("messages_handled".to_string(), percent);
    assert_eq!(crossed, vec![messages(50), messages(80), messages(100)]);
    assert_eq!(limits::watch_thresholds(billing, bottega::ids::now_ms()).await.expect("watch"), 0, "announced once");
    assert_eq!(ledger(&app, &florist.id, "whatsapp_free").await, (1, 1));
    let (turns, florist_cpu_ms) = ledger(&app, &florist.id, "plugin_cpu_ms").await;
    assert_eq!(turns, 5, "one compute row per plugin turn");
    let (_, sent) = app.get("/v1/outbox?state=sent", &florist.key).await;
    assert!(
        sent.as_array().is_some_and(|s| s.iter().any(|e| e["market"] == "IN" && e["pricing_category"] == "marketing")),
        "{sent}"
    );
    // Each delivered send shows what it is billed: India marketing at 10 cents
    // plus 10 % before the rate card changed, 20 cents plus 10 % after.
    let mut india: Vec<i64> = sent
        .as_array()
        .map(|s| {
            s.iter()
                .filter(|e| e["market"] == "IN")
                .filter_map(|e| e["charge"]["amount_milli_minor"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    india.sort_unstable();
    assert_eq!(india, [11_000, 22_000], "{sent}");

    // The upcoming invoice is live.
    let (status, upcoming) = app.get("/v1/billing/upcoming", &grocer.key).await;
    assert_eq!(status, StatusCode::OK, "{upcoming}");
    assert_eq!(upcoming["subtotal_minor"], 1038, "{upcoming}");

    // The month closes.
    let now = bottega::ids::now_ms();
    let first = invoices::finalize(billing, &grocer.id, &period, now).await.expect("finalise").expect("an invoice");
    let second = invoices::finalize(billing, &florist.id, &period, now).await.expect("finalise").expect("an invoice");
    assert_ne!(first, second);
    assert_eq!(invoices::finalize(billing, &grocer.id, &period, now).await.expect("again"), None, "finalised once");

    // Starter: €10 + 2 × 5 cents + (2 % of €1.80 = 3.6 -> 4 cents, + 25 cents) - (2 % of €0.50 = 1 cent);
    // plugin compute within its allowance. 1038; VAT 22 % = 228.36 -> 228; total 1266.
    let grocer_invoice = the_invoice(&app, &grocer, &period).await;
    assert_eq!(
        amounts(&grocer_invoice),
        [
            ("plan_fee", 1000),
            ("messages_handled", 10),
            ("plugin_cpu_ms", 0),
            ("transaction_fee", 29),
            ("transaction_fee_refund", -1)
        ]
        .map(|(k, a)| (k.to_string(), a))
        .to_vec()
    );
    assert_eq!(
        (&grocer_invoice["subtotal_minor"], &grocer_invoice["tax_minor"], &grocer_invoice["total_minor"]),
        (&json!(1038), &json!(228), &json!(1266))
    );
    assert_eq!((&grocer_invoice["number"], &grocer_invoice["status"]), (&json!(1), &json!("open")));

    // Pro: €50; messages within the allowance; compute at 0.1 cent per ms;
    // rate card v1: Brazil utility 2 × 1.1 = 2.2 -> 2, India marketing 10 × 1.1 = 11;
    // v2: India marketing 20 × 1.1 = 22; the free service message costs nothing.
    let compute = (florist_cpu_ms * 100 + 500) / 1000;
    let florist_invoice = the_invoice(&app, &florist, &period).await;
    let lines = amounts(&florist_invoice);
    let (_, cards) = app.get("/v1/admin/billing/rate-cards", ADMIN_TOKEN).await;
    let card = |n: usize| cards[n]["card"]["id"].as_str().expect("card id").to_string();
    assert_eq!(
        lines,
        vec![
            ("plan_fee".to_string(), 5000),
            ("messages_handled".to_string(), 0),
            ("plugin_cpu_ms".to_string(), compute),
            (format!("channel:whatsapp:BR:utility:{}", card(0)), 2),
            (format!("channel:whatsapp:IN:marketing:{}", card(0)), 11),
            (format!("channel:whatsapp:IN:marketing:{}", card(1)), 22),
        ]
    );
    assert_eq!(florist_invoice["total_minor"], json!(5000 + compute + 35));
    assert_eq!(florist_invoice["number"], json!(2), "numbers are gapless");
    let priced_by: Vec<&str> =
        florist_invoice["lines"].as_array().expect("lines").iter().filter_map(|l| l["priced_by"].as_str()).collect();
    assert!(priced_by.iter().all(|p| p.starts_with("plv_") || p.starts_with("rcv_")), "{priced_by:?}");

    // Exports are the same bytes every time.
    let id = grocer_invoice["id"].as_str().expect("id");
    for format in ["csv", "pdf"] {
        let path = format!("/v1/billing/invoices/{id}?format={format}");
        let (status, once) = app.get_raw(&path, &grocer.key).await;
        assert_eq!(status, StatusCode::OK, "{once}");
        assert_eq!(app.get_raw(&path, &grocer.key).await.1, once);
        if format == "pdf" {
            assert!(once.starts_with("%PDF-"));
        } else {
            assert!(once.contains(",total,") && once.contains(",1266,"), "{once}");
        }
    }
    // Another business's invoice is not found.
    assert_eq!(app.get(&format!("/v1/billing/invoices/{id}"), &florist.key).await.0, StatusCode::NOT_FOUND);

    // Nobody rewrites a finalised invoice, not even with SQL.
    for sql in [
        "UPDATE invoices SET total_minor = 0",
        "DELETE FROM invoices",
        "UPDATE invoice_lines SET amount_minor = 0",
        "DELETE FROM invoice_lines",
        "DELETE FROM invoice_usage",
        "UPDATE usage_events SET quantity = 0",
    ] {
        assert!(sqlx::query(sql).execute(app.db()).await.is_err(), "{sql} was allowed");
    }
    assert_eq!(the_invoice(&app, &grocer, &period).await, grocer_invoice);
    // A credit note is a new row; the same key with another amount is refused.
    let credit = json!({"key": "goodwill-1", "amount_minor": -300, "currency": "EUR", "note": "Sorry for the outage"});
    let path = format!("/v1/admin/businesses/{}/adjustments", grocer.id);
    assert_eq!(app.post(&path, ADMIN_TOKEN, credit.clone()).await.0, StatusCode::CREATED);
    assert_eq!(app.post(&path, ADMIN_TOKEN, credit).await.0, StatusCode::OK, "a retry records it once");
    let other = json!({"key": "goodwill-1", "amount_minor": -900, "currency": "EUR", "note": "Sorry for the outage"});
    let (status, conflict) = app.post(&path, ADMIN_TOKEN, other).await;
    assert_eq!((status, conflict["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("usage_conflict")));
    assert_eq!(ledger(&app, &grocer.id, "adjustment").await, (1, -300));
    // Its payment status still moves.
    let paid = admin(&app, &format!("/v1/admin/billing/invoices/{id}/paid"), json!({})).await;
    assert_eq!(paid["status"], "paid");
    let (_, revenue) = app.get(&format!("/v1/admin/billing/revenue?period={}", period.label), ADMIN_TOKEN).await;
    assert_eq!(revenue["totals"][0]["total_minor"], json!(1266 + 5000 + compute + 35), "{revenue}");
    assert_eq!(revenue["totals"][0]["paid_minor"], json!(1266), "{revenue}");

    // A status of this month arriving after it closed: a delta on the next invoice.
    let late = status_of("wamid.br.2", "delivered", BRAZIL, "utility", "regular", before_change);
    assert_eq!(app.deliver_webhook(&florist, &late, APP_SECRET).await.0, StatusCode::OK);
    let next = billing.calendar().next(&period).expect("next period");
    invoices::finalize(billing, &florist.id, &next, now).await.expect("finalise").expect("an invoice");
    let next_invoice = the_invoice(&app, &florist, &next).await;
    // Brazil utility: 2 × 2.2 = 4.4 -> 4, of which 2 was billed: a delta of 2.
    assert_eq!(
        amounts(&next_invoice),
        vec![("plan_fee".to_string(), 5000), (format!("channel:whatsapp:BR:utility:{}", card(0)), 2)]
    );
    assert_eq!(next_invoice["lines"][1]["kind"], "delta");
    assert_eq!(next_invoice["lines"][1]["usage_period"], period.label.as_str());
    assert_eq!(next_invoice["number"], json!(3));
}

async fn with_billing_off_nothing_is_metered(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    app.say(&shop, "ana", "hi").await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM usage_events").fetch_one(app.db()).await.expect("count");
    assert_eq!(rows, 0);
    let now = bottega::ids::now_ms();
    assert_eq!(invoices::finalize_due(&app.app.billing, now).await.expect("finaliser"), invoices::Finalized::default());
}
