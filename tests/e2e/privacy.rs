//! The privacy boundary: a plugin never receives a customer's handle or phone
//! number, only a pseudonym that is stable per business, and stays one for
//! one person however WhatsApp names them (phone number, business-scoped user
//! id, a new number).

use axum::http::StatusCode;
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(
    nothing_a_plugin_receives_contains_the_customers_handle,
    one_person_keeps_one_pseudonym_across_number_user_id_and_a_new_number,
);

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

const PHONE_ID: &str = "106540352242924";
const OLD_NUMBER: &str = "16505551234";
const NEW_NUMBER: &str = "12195555358";
const BSUID: &str = "US.13491208655302741918";

/// A delivery of one `message` with its `contacts`, in the published shape.
fn delivery(message: Value, contacts: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
        "contacts": contacts, "messages": [message]}}]}]})
}

/// A message item of `kind` from the given fields, with a fresh id.
fn item(mut fields: Value) -> Value {
    fields["id"] = json!(format!("wamid.identity.{}", uuid::Uuid::new_v4().simple()));
    fields["timestamp"] = json!("1750269342");
    fields
}

async fn one_person_keeps_one_pseudonym_across_number_user_id_and_a_new_number(app: TestApp) {
    let shop = app.create_shop("Same person", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    let text = |words: &str| json!({"type": "text", "text": {"body": words}});
    let with = |mut base: Value, extra: Value| {
        for (k, v) in extra.as_object().expect("fields") {
            base[k] = v.clone();
        }
        item(base)
    };
    let deliveries = [
        // By phone number only, as before April 2026.
        delivery(with(text("hello"), json!({"from": OLD_NUMBER})), json!([{"wa_id": OLD_NUMBER}])),
        // The phone number and the business-scoped user id together.
        delivery(
            with(text("still me"), json!({"from": OLD_NUMBER, "from_user_id": BSUID})),
            json!([{"wa_id": OLD_NUMBER, "user_id": BSUID}]),
        ),
        // The user id alone: WhatsApp withholds the number.
        delivery(with(text("number hidden"), json!({"from_user_id": BSUID})), json!([{"user_id": BSUID}])),
        // "User changed number", from the old number.
        delivery(
            item(json!({"from": OLD_NUMBER, "type": "system", "system": {
                "body": format!("User changed from {OLD_NUMBER} to {NEW_NUMBER}"),
                "wa_id": NEW_NUMBER, "type": "user_changed_number"}})),
            json!([]),
        ),
        // And from the new number.
        delivery(with(text("new phone"), json!({"from": NEW_NUMBER})), json!([{"wa_id": NEW_NUMBER}])),
    ];
    for body in deliveries {
        let (status, received) = app.deliver_webhook(&shop, body.to_string().as_bytes(), APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
        app.queues_settled().await;
    }

    // One customer, one conversation, one pseudonym.
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let conversations = conversations.as_array().expect("conversations");
    assert_eq!(conversations.len(), 1, "one person is one customer: {conversations:?}");
    let pseudonym = conversations[0]["customer_id"].as_str().expect("a pseudonym");
    let sent = graph.wait_for(4).await;
    assert_eq!(sent.len(), 4, "each text answered, the system notice not: {sent:?}");
    for send in &sent {
        let report = send.body["text"]["body"].as_str().unwrap_or_default();
        assert!(report.contains(&format!("customer_id={pseudonym}")), "the plugin saw another customer: {report}");
    }
    // Replies went where the person was: the user id while the number was
    // withheld (as `recipient`), then the new number.
    assert_eq!(sent[0].body["to"], OLD_NUMBER);
    assert_eq!(sent[2].body["recipient"], BSUID, "{}", sent[2].body);
    assert!(sent[2].body.get("to").is_none(), "{}", sent[2].body);
    assert_eq!(sent[3].body["to"], NEW_NUMBER, "{}", sent[3].body);
}
