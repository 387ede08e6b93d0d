//! Identity without a trace (issue 17's review): a customer's pseudonym is
//! random, so nothing in the database recomputes it from a phone number and a
//! person who comes back after their erasure is a new customer; WhatsApp's
//! message ids, which encode the customer's number, are kept only as keyed
//! hashes, and statuses still find their sends by them.

use axum::http::StatusCode;
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::json;

use crate::privacy_at_rest::raw_contents;

bottega_tests::on_both_databases!(
    an_erased_customer_who_writes_again_is_a_new_customer_under_a_new_pseudonym,
    whatsapp_message_ids_are_kept_only_as_keyed_hashes_and_statuses_still_find_their_sends,
);

const PHONE: &str = "+34 622 135 790";

/// The pseudonym the old scheme derived: `cus_` + the first 128 bits of
/// HMAC-SHA256(the business's pseudonym key, the normalised handle), in hex.
fn derived_pseudonym(key: &str, handle: &str) -> String {
    let digest =
        bottega::signing::hmac_sha256(key.as_bytes(), &[bottega::privacy::normalize_handle(handle).as_bytes()]);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("cus_{hex}")
}

async fn an_erased_customer_who_writes_again_is_a_new_customer_under_a_new_pseudonym(app: TestApp) {
    let shop = app.create_shop("Forgetful", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;

    // The same person is one pseudonym while the shop knows their number.
    let first = app.say(&shop, PHONE, "hello").await["customer_id"].as_str().expect("a pseudonym").to_string();
    let again =
        app.say(&shop, "+34622135790", "me again").await["customer_id"].as_str().expect("a pseudonym").to_string();
    assert_eq!(first, again, "one person, one pseudonym");
    assert!(first.starts_with("cus_") && first.len() == 4 + 32, "{first}");

    // Nothing derives it: no column holds the keyed hash of the number.
    let key: String = sqlx::query_scalar("SELECT pseudonym_key FROM businesses WHERE id = $1")
        .bind(&shop.id)
        .fetch_one(app.db())
        .await
        .expect("the business reads");
    assert_eq!(key, "", "the pseudonym key is retired");
    let derived = derived_pseudonym(&key, PHONE);
    assert_ne!(first, derived);
    let raw = raw_contents(&app).await;
    assert!(raw.contains(&first), "the scan reads the rows (it finds the pseudonym)");
    assert!(!raw.contains(&derived), "a pseudonym derived from the phone number lies in the database");

    // Erased, then writing again from the same number: someone new.
    let (status, erasure) = app.post(&format!("/v1/customers/{first}/erase"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    let after = app.say(&shop, PHONE, "hello again").await["customer_id"].as_str().expect("a pseudonym").to_string();
    assert_ne!(after, first, "an erased customer came back under their old pseudonym");
    assert!(after.starts_with("cus_"), "{after}");
    let (status, export) = app.get(&format!("/v1/customers/{after}/export"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert!(!export.to_string().contains("me again"), "the new customer holds nothing of the erased one: {export}");
    let raw = raw_contents(&app).await;
    assert!(!raw.contains(&derived_pseudonym(&key, PHONE)));
}

const PHONE_ID: &str = "106540352242931";
/// The customer's number, as WhatsApp names them.
const WA_ID: &str = "34600111222";
/// Real wamids are base64 of a protobuf holding the customer's `wa_id`: this
/// one's payload decodes to `\x1c\x18\x0b34600111222\x15\x02…`.
const INBOUND_WAMID: &str = "wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTdBRTM1QjlBODU3MjA4MkE2QQA=";
/// The id the Graph API gives the reply, built the same way.
const OUTBOUND_WAMID: &str = "wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA";
/// The phone digits' own base64, as it lies inside both.
const PHONE_IN_BASE64: &str = "MzQ2MDAxMTEyMjI";

/// A status webhook of the reply.
fn status(state: &str) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
        "statuses": [{"id": OUTBOUND_WAMID, "status": state, "recipient_id": WA_ID,
                      "timestamp": (bottega::ids::now_ms() / 1000).to_string(),
                      "pricing": {"billable": false, "pricing_model": "PMP", "category": "service",
                                  "type": "free_customer_service"}}]}}]}]})
    .to_string()
    .into_bytes()
}

async fn whatsapp_message_ids_are_kept_only_as_keyed_hashes_and_statuses_still_find_their_sends(app: TestApp) {
    let shop = app.create_shop("Wamid shop", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    graph.answer_ids(&[OUTBOUND_WAMID]);

    // The customer writes; the reply is sent and given its wamid.
    let mut message = text_message(WA_ID, "hola");
    message["id"] = json!(INBOUND_WAMID);
    let delivery = webhook(PHONE_ID, WA_ID, vec![message]).to_string();
    let (status_code, received) = app.deliver_webhook(&shop, delivery.as_bytes(), APP_SECRET).await;
    assert_eq!((status_code, received["messages"].as_i64()), (StatusCode::OK, Some(1)), "{received}");
    app.queues_settled().await;
    let sent = graph.wait_for(1).await;
    assert_eq!(sent[0].body["to"], WA_ID);
    app.queues_settled().await;

    // The same delivery again is found by the hash: a duplicate, not answered twice.
    let (_, again) = app.deliver_webhook(&shop, delivery.as_bytes(), APP_SECRET).await;
    assert_eq!(again["duplicates"].as_i64(), Some(1), "{again}");

    // Statuses find the send by the hash of its wamid.
    for state in ["delivered", "read"] {
        let (code, received) = app.deliver_webhook(&shop, &status(state), APP_SECRET).await;
        assert_eq!((code, received["statuses"].as_i64()), (StatusCode::OK, Some(1)), "{state}: {received}");
    }
    let (_, outbox) = app.get("/v1/outbox?state=sent", &shop.key).await;
    let sends = outbox.as_array().expect("sends");
    assert_eq!(sends.len(), 1, "{outbox}");
    assert_eq!(sends[0]["delivery_status"], "read", "{outbox}");
    assert_eq!(sends[0]["pricing_category"], "service", "{outbox}");
    app.queues_settled().await;
    assert_eq!(graph.sent().len(), 1, "the duplicate was not answered");

    // No column holds either wamid, nor the number inside them.
    let raw = raw_contents(&app).await;
    assert!(raw.contains(&shop.id), "the scan reads the rows (it finds the shop's id)");
    for needle in [INBOUND_WAMID, OUTBOUND_WAMID, &INBOUND_WAMID[6..], &OUTBOUND_WAMID[6..], PHONE_IN_BASE64, WA_ID] {
        assert!(!raw.contains(needle), "`{needle}` lies in the database");
    }
    let kept: Vec<Option<String>> = sqlx::query_scalar("SELECT external_id FROM outbox WHERE business_id = $1")
        .bind(&shop.id)
        .fetch_all(app.db())
        .await
        .expect("the outbox reads");
    assert!(kept.iter().all(|k| k.as_deref().is_some_and(|k| k.len() == 64)), "a keyed hash: {kept:?}");
}
