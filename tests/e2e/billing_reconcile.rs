//! Reconciling channel charges: a florist on WhatsApp sends to India and
//! Brazil; the operator compares the deliveries the host recorded (priced at
//! cost by its rate card) with what Meta's `pricing_analytics` reports for
//! the florist's WhatsApp Business Account (the fake Graph API serves it).
//! Meta counts one Brazil utility message more than the host recorded: that
//! bucket, and only that one, is listed as a difference, with the ids of
//! the sends the host recorded in it.

use axum::http::{Method, StatusCode};
use bottega::Config;
use bottega_tests::whatsapp::{ACCESS_TOKEN, APP_SECRET, FakeGraph, VERIFY_TOKEN, text_message};
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases_with!(
    super::billing_with_time_left;
    recorded_channel_charges_are_reconciled_with_what_meta_reports
);

const PHONE_ID: &str = "106540352242988";
const WABA_ID: &str = "102290129340398";
const INDIA: &str = "919876543210";
const BRAZIL: &str = "5511987654321";

fn billing_with_time_left(config: &mut Config) {
    super::billing::billing_with_time_left(config);
}

/// A delivery status of `wamid` with its `pricing`, now.
fn delivered(wamid: &str, recipient: &str, category: &str) -> Vec<u8> {
    let seconds = bottega::ids::now_ms() / 1000;
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
            "statuses": [{
                "id": wamid, "status": "delivered", "timestamp": seconds.to_string(), "recipient_id": recipient,
                "pricing": {"billable": true, "pricing_model": "PMP", "category": category, "type": "regular"},
            }],
        }}]}],
    })
    .to_string()
    .into_bytes()
}

/// One `pricing_analytics` data point of today, as Meta reports it.
fn point(country: &str, category: &str, volume: i64, cost: f64) -> Value {
    let day = bottega::ids::now_ms() / 1000 / 86_400 * 86_400;
    json!({"start": day, "end": day + 86_400, "country": country, "pricing_type": "REGULAR",
           "pricing_category": category, "volume": volume, "cost": cost})
}

async fn recorded_channel_charges_are_reconciled_with_what_meta_reports(app: TestApp) {
    // The operator's rate card (at cost): India marketing 10 cents, utility 2 cents.
    let rate_card = json!({
        "effective_from": bottega::ids::rfc3339(bottega::ids::now_ms() - 30_000), "markup_bps": 1000,
        "csv": "market,category,currency,unit_milli_minor\nIN,marketing,EUR,10000\n*,utility,EUR,2000\n",
    });
    let (status, answer) = app.post("/v1/admin/billing/rate-cards", ADMIN_TOKEN, rate_card).await;
    assert!(status.is_success(), "{answer}");

    // The florist connects its number, naming its WhatsApp Business Account.
    let florist = app.create_shop("Florist", json!({})).await;
    app.add_product(&florist, "rose", "Rose", 300, "Flowers").await;
    app.upload(&florist, plugins::GROCERY_RUST).await;
    let graph = FakeGraph::start().await;
    let channel = json!({
        "phone_number_id": PHONE_ID, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
        "access_token": ACCESS_TOKEN, "graph_base_url": graph.base_url, "waba_id": WABA_ID,
    });
    let (status, connected) =
        app.request(Method::PUT, "/v1/channels/whatsapp", Some(&florist.key), Some(channel)).await;
    assert_eq!(status, StatusCode::OK, "{connected}");

    // Before any analytics: a business without WhatsApp cannot be reconciled.
    let grocer = app.create_shop("Grocer", json!({})).await;
    let (status, refused) =
        app.get(&format!("/v1/admin/billing/reconciliation?business={}", grocer.id), ADMIN_TOKEN).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not_reconcilable"))
    );

    // Two customers are answered; both replies are delivered with a price.
    for (n, (wamid, customer, category)) in
        [("wamid.in.r1", INDIA, "marketing"), ("wamid.br.r1", BRAZIL, "utility")].into_iter().enumerate()
    {
        graph.answer_ids(&[wamid]);
        app.whatsapp_says(&florist, PHONE_ID, customer, text_message(customer, "hi")).await;
        graph.wait_for(n + 1).await;
        app.queues_settled().await;
        let (status, received) = app.deliver_webhook(&florist, &delivered(wamid, customer, category), APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
    }

    // Meta reports India as recorded, and Brazil with one message more.
    graph.report_pricing(vec![point("IN", "MARKETING", 1, 0.1), point("BR", "UTILITY", 2, 0.04)]);
    let period = app.app.billing.calendar().containing(bottega::ids::now_ms()).expect("period").label;
    let path = format!("/v1/admin/billing/reconciliation?business={}&period={period}", florist.id);
    let (status, report) = app.get(&path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["waba_id"], WABA_ID);
    let buckets: Vec<(String, i64, i64, i64, i64)> = report["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                format!(
                    "{}:{}:{}",
                    b["market"].as_str().unwrap_or(""),
                    b["category"].as_str().unwrap_or(""),
                    b["pricing_type"].as_str().unwrap_or("")
                ),
                b["recorded_volume"].as_i64().unwrap_or(-1),
                b["reported_volume"].as_i64().unwrap_or(-1),
                b["recorded_cost_milli_minor"].as_i64().unwrap_or(-1),
                b["reported_cost_milli_minor"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        buckets,
        vec![
            ("BR:utility:regular".to_string(), 1, 2, 2_000, 4_000),
            ("IN:marketing:regular".to_string(), 1, 1, 10_000, 10_000),
        ],
        "{report}"
    );
    let differences = report["differences"].as_array().expect("differences");
    assert_eq!(differences.len(), 1, "{report}");
    assert_eq!(differences[0]["market"], "BR");
    // The sends recorded in the bucket, by the host's own ids (a wamid, which
    // encodes the customer's number, is kept only as a keyed hash).
    let (_, sent) = app.get("/v1/outbox?state=sent", &florist.key).await;
    let brazil = sent.as_array().and_then(|s| s.iter().find(|e| e["market"] == "BR")).expect("the Brazil send");
    assert_eq!(differences[0]["message_ids"], json!([brazil["id"]]), "the sends recorded in the bucket: {report}");
    assert!(!report.to_string().contains("wamid."), "{report}");
    let asked = graph.pricing_requests();
    assert!(
        asked.len() == 1 && asked[0].contains("granularity(DAILY)") && asked[0].contains("PRICING_CATEGORY"),
        "{asked:?}"
    );
}
