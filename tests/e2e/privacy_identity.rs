//! Identity without a trace (issue 17's review): a customer's pseudonym is
//! random, so nothing in the database recomputes it from a phone number and a
//! person who comes back after their erasure is a new customer; WhatsApp's
//! message ids, which encode the customer's number, are kept only as keyed
//! hashes, and statuses still find their sends by them.

use axum::http::StatusCode;
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::{Value, json};

use crate::privacy_at_rest::raw_contents;

bottega_tests::on_both_databases!(
    an_erased_customer_who_writes_again_is_a_new_customer_under_a_new_pseudonym,
    whatsapp_message_ids_are_kept_only_as_keyed_hashes_and_statuses_still_find_their_sends,
    two_customers_linked_later_are_exported_and_erased_as_one,
    a_message_racing_an_erasure_is_refused_not_sealed_under_a_new_key,
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

const LINK_PHONE_ID: &str = "106540352242932";
const LINK_NUMBER: &str = "34699887766";
const LINK_BSUID: &str = "ES.55501234567890123456";
const AS_USER_ID: &str = "written with my number hidden";
const AS_NUMBER: &str = "written from my phone";

/// A delivery of one text with the given sender fields and `contacts`.
fn text_from(sender: Value, contacts: Value, words: &str) -> Vec<u8> {
    let mut message = json!({"id": format!("wamid.link.{}", uuid::Uuid::new_v4().simple()),
                             "timestamp": "1750269342", "type": "text", "text": {"body": words}});
    for (k, v) in sender.as_object().expect("sender fields") {
        message[k] = v.clone();
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": LINK_PHONE_ID},
        "contacts": contacts, "messages": [message]}}]}]})
    .to_string()
    .into_bytes()
}

async fn two_customers_linked_later_are_exported_and_erased_as_one(app: TestApp) {
    let shop = app.create_shop("Two become one", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, LINK_PHONE_ID).await;

    // The same person writes once by user id only, once by number only: two
    // customers, as far as the shop can tell. Then a webhook carries both.
    for body in [
        text_from(json!({"from_user_id": LINK_BSUID}), json!([{"user_id": LINK_BSUID}]), AS_USER_ID),
        text_from(json!({"from": LINK_NUMBER}), json!([{"wa_id": LINK_NUMBER}]), AS_NUMBER),
        text_from(
            json!({"from": LINK_NUMBER, "from_user_id": LINK_BSUID}),
            json!([{"wa_id": LINK_NUMBER, "user_id": LINK_BSUID}]),
            "both at once",
        ),
    ] {
        let (status, received) = app.deliver_webhook(&shop, &body, APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
        app.queues_settled().await;
    }
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let conversations = conversations.as_array().expect("conversations").clone();
    assert_eq!(conversations.len(), 2, "two customers before the link: {conversations:?}");
    let pseudonyms: Vec<String> =
        conversations.iter().map(|c| c["customer_id"].as_str().expect("a pseudonym").to_string()).collect();
    assert_ne!(pseudonyms[0], pseudonyms[1]);

    // Found by either handle, the export is the one person's: both
    // conversations, both handles, and the other pseudonym as an alias.
    let mut customer = String::new();
    for handle in [LINK_NUMBER, LINK_BSUID] {
        let (status, export) = app.get(&format!("/v1/customers/{handle}/export"), &shop.key).await;
        assert_eq!(status, StatusCode::OK, "{export}");
        let text = export.to_string();
        assert!(text.contains(AS_USER_ID) && text.contains(AS_NUMBER), "the export misses a part of them: {export}");
        assert!(text.contains(LINK_NUMBER) && text.contains(LINK_BSUID), "{}", export["handles"]);
        assert_eq!(export["conversations"].as_array().map(Vec::len), Some(2), "{export}");
        customer = export["customer_id"].as_str().expect("the customer").to_string();
        let alias = pseudonyms.iter().find(|p| **p != customer).expect("the other pseudonym");
        assert_eq!(export["aliases"], json!([alias]), "{export}");
    }
    // The alias's own pseudonym finds the same person.
    let alias = pseudonyms.iter().find(|p| **p != customer).expect("the other pseudonym").clone();
    let (status, export) = app.get(&format!("/v1/customers/{alias}/export"), &shop.key).await;
    assert_eq!((status, export["customer_id"].as_str()), (StatusCode::OK, Some(customer.as_str())), "{export}");

    // Erased by their number: both pseudonyms' data and keys are gone.
    let (status, erasure) = app.post(&format!("/v1/customers/{LINK_NUMBER}/erase"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["aliases"], json!([alias]), "{erasure}");
    for conversation in &conversations {
        let id = conversation["id"].as_str().expect("id");
        let (_, history) = app.get(&format!("/v1/conversations/{id}/messages"), &shop.key).await;
        let messages = history["messages"].as_array().expect("messages");
        assert!(!messages.is_empty() && messages.iter().all(|m| m["body"]["type"] == "erased"), "{history}");
    }
    for pseudonym in &pseudonyms {
        let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE owner = $1")
            .bind(pseudonym)
            .fetch_one(app.db())
            .await
            .expect("count");
        assert_eq!(keys, 0, "the data key of {pseudonym} survived the erasure");
        for reference in [pseudonym.as_str(), LINK_BSUID, LINK_NUMBER] {
            let (status, _) = app.get(&format!("/v1/customers/{reference}/export"), &shop.key).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{reference} still finds them");
        }
    }
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customer_aliases WHERE business_id = $1")
        .bind(&shop.id)
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(links, 0, "the link between the erased pseudonyms is forgotten");
}

/// A SQLite database an operator names by `DATABASE_URL` is as private as the
/// embedded one: the database and its WAL are readable by the runtime's user
/// alone (SQLite itself would create them as the umask says, `rw-r--r--`).
#[cfg(unix)]
#[tokio::test]
async fn a_sqlite_database_named_by_its_url_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("named.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = bottega::store::Db::connect(Some(url.as_str()), dir.path()).await.expect("the database opens");
    sqlx::query("SELECT 1").execute(db.pool()).await.expect("a statement runs");
    let mode_of = |file: &str| std::fs::metadata(file).map(|m| m.permissions().mode());
    let database = path.display().to_string();
    let mode = mode_of(&database).expect("the database file exists");
    assert_eq!(mode & 0o077, 0, "{database} is {mode:o}");
    let wal = format!("{database}-wal");
    if let Ok(mode) = mode_of(&wal) {
        assert_eq!(mode & 0o077, 0, "{wal} is {mode:o}");
    }
}

const RACE_PHONE: &str = "+34 633 246 802";

async fn a_message_racing_an_erasure_is_refused_not_sealed_under_a_new_key(app: TestApp) {
    use bottega::store::conversations::{self, Author, Direction, Outgoing};
    let shop = app.create_shop("Racy", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let said = app.say(&shop, RACE_PHONE, "before").await;
    let conversation_id = said["conversation_id"].as_str().expect("a conversation").to_string();
    let customer = said["customer_id"].as_str().expect("a pseudonym").to_string();
    let (_, history) = app.get(&format!("/v1/conversations/{conversation_id}/messages"), &shop.key).await;
    let stored = history["messages"].as_array().map(Vec::len).expect("messages");
    let db = &app.app.db;
    // A turn read the conversation, then the customer is erased before it stores.
    let read = conversations::get(db, &shop.id, &conversation_id).await.expect("it reads").expect("the conversation");
    assert_eq!(read.customer_id, customer);
    let (status, erasure) = app.post(&format!("/v1/customers/{customer}/erase"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");

    let raced = conversations::append_sending(
        db,
        &shop.id,
        &read,
        Direction::Inbound,
        Author::Customer,
        &[json!({"type": "text", "text": "sent while being erased"})],
        Outgoing::default(),
    )
    .await;
    assert!(matches!(raced, Err(bottega::store::StoreError::Conflict(_))), "{raced:?}");
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE owner = $1")
        .bind(&customer)
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(keys, 0, "no key of the erased customer was made anew");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation_id}/messages"), &shop.key).await;
    let messages = history["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), stored, "nothing was stored after the erasure: {history}");
    assert!(messages.iter().all(|m| m["body"]["type"] == "erased"), "{history}");
}
