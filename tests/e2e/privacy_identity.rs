//! Identity without a trace (issue 17's review): a customer's pseudonym is
//! random, so nothing in the database recomputes it from a phone number and a
//! person who comes back after their erasure is a new customer.

use axum::http::StatusCode;
use bottega_tests::*;
use serde_json::json;

use crate::privacy_at_rest::raw_contents;

bottega_tests::on_both_databases!(an_erased_customer_who_writes_again_is_a_new_customer_under_a_new_pseudonym,);

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
