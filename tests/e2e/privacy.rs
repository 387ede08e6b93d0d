//! The privacy boundary: a plugin never receives a customer's handle or phone
//! number, only a pseudonym that is stable per business.

use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(nothing_a_plugin_receives_contains_the_customers_handle);

const PHONE: &str = "+34 600 111 222";

fn customer_id(report: &str) -> String {
    report.lines().find_map(|l| l.strip_prefix("customer_id=")).expect("a customer id").to_string()
}

async fn nothing_a_plugin_receives_contains_the_customers_handle(app: TestApp) {
    let a = app.create_shop("A", json!({})).await;
    let b = app.create_shop("B", json!({})).await;
    app.add_product(&a, "tea", "Tea", 300, "Drinks").await;
    app.upload(&a, plugins::TEST_SPY).await;
    app.upload(&b, plugins::TEST_SPY).await;

    // Every kind of inbound message; the spy echoes everything it was given.
    let mut reports = Vec::new();
    for body in [
        json!({"customer": PHONE, "text": "hello", "locale": "es-ES"}),
        json!({"customer": PHONE, "choice": {"id": "x", "title": "X"}}),
        json!({"customer": PHONE, "product_id": "tea"}),
        json!({"customer": PHONE, "cart": [{"product_id": "tea", "quantity": 2}]}),
        json!({"customer": PHONE, "browse": {"query": "tea"}}),
    ] {
        reports.push(reply_text(&app.send_message(&a, body).await));
    }
    let conversation = app.say(&a, PHONE, "again").await["conversation_id"].as_str().expect("id").to_string();
    let (_, released) = app.post(&format!("/v1/conversations/{conversation}/release"), &a.key, json!({})).await;
    reports.push(released["replies"][0]["body"]["text"].as_str().expect("event report").to_string());

    for report in &reports {
        for needle in ["600111", "600 111", "111 222", "+34"] {
            assert!(!report.contains(needle), "a plugin saw `{needle}` of the phone number:\n{report}");
        }
    }
    assert!(reports[0].contains("locale=es-ES"), "{}", reports[0]);

    // One pseudonym per business: stable across messages (and phone formatting),
    // different in another business.
    let at_a = customer_id(&reports[0]);
    assert!(at_a.starts_with("cus_"));
    assert!(reports.iter().all(|r| customer_id(r) == at_a), "{reports:?}");
    assert_eq!(customer_id(&reply_text(&app.say(&a, "+34600111222", "hi").await)), at_a);
    let at_b = customer_id(&reply_text(&app.say(&b, PHONE, "hi").await));
    assert_ne!(at_a, at_b);

    // The business's own view of the conversation uses the pseudonym too.
    let (_, conversations) = app.get("/v1/conversations", &a.key).await;
    assert_eq!(conversations[0]["customer_id"], at_a.as_str());
    assert!(!conversations.to_string().contains("600111"), "{conversations}");
}
