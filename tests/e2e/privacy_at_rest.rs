//! Privacy at rest (issue 17): what the database holds once customers have
//! talked to a shop. No phone number, profile name, message text or channel
//! secret lies in it in plain text, on either database (PostgreSQL: every
//! row of every table as text; SQLite: the database file and its WAL, as
//! bytes); every column of the schema is classified; a sealed value moved to
//! another row does not open. After an erasure nothing of the customer
//! remains readable, another customer's data reads unchanged, and the erased
//! customer's order keeps its total. The audit trail shows who did what, and
//! an altered or removed row fails its verification. The retention sweeper
//! erases message bodies past the shop's retention and deletes the team's
//! private notes of that age; an erasure deletes the notes on the customer's
//! conversations.

use axum::http::{Method, StatusCode};
use bottega_tests::console::Console;
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::json;
use sqlx::Row;

bottega_tests::on_both_databases!(
    nothing_a_customer_wrote_is_stored_in_plain_text,
    every_column_is_classified,
    a_message_moved_to_another_row_does_not_open,
    an_erased_customer_leaves_no_trace_and_their_order_keeps_its_total,
    the_audit_trail_refuses_changes_and_verify_names_one_made_past_its_guard,
    message_bodies_past_the_retention_are_erased_by_the_sweeper,
    private_notes_past_the_retention_or_on_an_erased_customer_s_conversation_are_gone,
    a_rotation_rewraps_every_data_key_and_the_new_key_alone_reads_them,
    a_customer_asks_for_their_data_in_the_chat_and_gets_a_link,
);

const PHONE_ID: &str = "106540352242923";
const PHONE: &str = "34611987654";
const NAME: &str = "Zoraida Quintanilla";
const TEXT: &str = "please deliver to Calle Falsa 123";
const API_PHONE: &str = "+44 7700 900123";
const API_TEXT: &str = "the gate code is 4711";

fn on_postgres(app: &TestApp) -> bool {
    app.app.db.backend() == bottega::store::Backend::Postgres
}

/// Every column of every table, from the database's own catalog.
async fn schema(app: &TestApp) -> Vec<(String, String)> {
    let sql = if on_postgres(app) {
        "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c FROM information_schema.columns \
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    } else {
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' ORDER BY m.name, p.cid"
    };
    let rows = sqlx::query(sql).fetch_all(app.db()).await.expect("the catalog reads");
    rows.iter()
        .map(|row| (row.get::<String, _>("t"), row.get::<String, _>("c")))
        .filter(|(table, _)| !table.starts_with("_sqlx") && !table.starts_with("sqlite_"))
        .collect()
}

/// What lies in the database, as text: on PostgreSQL every row of every
/// table; on SQLite the bytes of the database file and its WAL.
pub(crate) async fn raw_contents(app: &TestApp) -> String {
    if on_postgres(app) {
        let mut tables: Vec<String> = schema(app).await.into_iter().map(|(table, _)| table).collect();
        tables.dedup();
        let mut dump = String::new();
        for table in tables {
            let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS line FROM {table} t"))
                .fetch_all(app.db())
                .await
                .expect("rows read");
            for row in rows {
                dump.push_str(&row.get::<String, _>("line"));
                dump.push('\n');
            }
        }
        dump
    } else {
        let mut bytes = Vec::new();
        for file in ["bottega.db", "bottega.db-wal"] {
            if let Ok(content) = std::fs::read(app.data_dir.path().join(file)) {
                bytes.extend(content);
            }
        }
        assert!(!bytes.is_empty(), "the database file was read");
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

async fn nothing_a_customer_wrote_is_stored_in_plain_text(app: TestApp) {
    let shop = app.create_shop("Quiet shop", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    let (status, endpoint) =
        app.request(Method::PUT, "/v1/webhook", Some(&shop.key), Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    assert_eq!(status, StatusCode::OK, "{endpoint}");
    let webhook_secret = endpoint["secret"].as_str().expect("a signing secret").to_string();

    // A WhatsApp customer with a profile name writes; so does an API customer.
    let mut body = webhook(PHONE_ID, PHONE, vec![text_message(PHONE, TEXT)]);
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = json!(NAME);
    let (status, received) = app.deliver_webhook(&shop, body.to_string().as_bytes(), APP_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    app.queues_settled().await;
    let sent = graph.wait_for(1).await;
    assert_eq!(sent[0].body["to"], PHONE, "the reply reached the customer's number, opened at send time");
    assert_eq!(sent[0].authorization, format!("Bearer {ACCESS_TOKEN}"), "the access token opened too");
    app.say(&shop, API_PHONE, API_TEXT).await;

    // The shop reads everything back as it was written.
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let mut history = String::new();
    for conversation in conversations.as_array().expect("conversations") {
        let id = conversation["id"].as_str().expect("id");
        let (status, messages) = app.get(&format!("/v1/conversations/{id}/messages"), &shop.key).await;
        assert_eq!(status, StatusCode::OK, "{messages}");
        history.push_str(&messages.to_string());
    }
    assert!(history.contains(TEXT) && history.contains(API_TEXT), "{history}");

    // The database holds none of it in plain text.
    let raw = raw_contents(&app).await;
    for needle in [PHONE, NAME, TEXT, "7700 900123", "7700900123", API_TEXT, APP_SECRET, ACCESS_TOKEN, VERIFY_TOKEN]
        .into_iter()
        .chain([webhook_secret.as_str()])
    {
        assert!(!raw.contains(needle), "`{needle}` lies in the database in plain text");
    }
    assert!(raw.contains(&shop.id), "the scan reads the rows (it finds the shop's id)");
}

async fn every_column_is_classified(app: TestApp) {
    let schema = schema(&app).await;
    assert!(schema.iter().any(|(t, c)| t == "messages" && c == "body"), "the catalog was read: {schema:?}");
    let problems = bottega::privacy::columns::unclassified(&schema);
    assert!(problems.is_empty(), "the schema and its privacy classification differ:\n{}", problems.join("\n"));
}

async fn a_message_moved_to_another_row_does_not_open(app: TestApp) {
    let shop = app.create_shop("Tamper shop", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let conversation = app.say(&shop, API_PHONE, "the first thing I said").await["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_string();
    app.say(&shop, API_PHONE, "the second thing I said").await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, history) = app.get(&path, &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let ids: Vec<String> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect();
    assert!(ids.len() >= 3, "{history}");

    // Someone with the database, not the key, copies the first message's
    // sealed body over the third's: it does not open there.
    sqlx::query("UPDATE messages SET body = (SELECT body FROM messages WHERE id = $1) WHERE id = $2")
        .bind(&ids[0])
        .bind(&ids[2])
        .execute(app.db())
        .await
        .expect("copied");
    let read = bottega::store::conversations::messages(&app.app.db, &shop.id, &conversation, 0, 100).await;
    assert!(
        matches!(read, Err(bottega::store::StoreError::Sealing(bottega::privacy::PrivacyError::Forged))),
        "a moved value opened: {read:?}"
    );
    let (status, error) = app.get(&path, &shop.key).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("internal")));
    let (status, before) = app.get(&format!("{path}?after=0&limit=2"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "the rows before it still open: {before}");
    assert!(before.to_string().contains("the first thing I said"), "{before}");
}

const ERASED_PHONE: &str = "+34 655 443 322";
const ERASED_TEXT: &str = "I live at Via Roma 7";
const OTHER_PHONE: &str = "+34 611 000 999";
const OTHER_TEXT: &str = "hello from the other customer";

/// A handle as a path segment.
fn in_path(handle: &str) -> String {
    handle.replace('+', "%2B").replace(' ', "%20")
}

async fn an_erased_customer_leaves_no_trace_and_their_order_keeps_its_total(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": 5, "section": "Fruit"});
    assert_eq!(app.post("/v1/products", &shop.key, pear).await.0, StatusCode::CREATED);
    app.upload(&shop, plugins::GROCERY_RUST).await;
    let (status, _) =
        app.request(Method::PUT, "/v1/webhook", Some(&shop.key), Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    assert_eq!(status, StatusCode::OK);

    // Two customers shop; the first checks out and writes where she lives.
    let said = app.say(&shop, ERASED_PHONE, ERASED_TEXT).await;
    let pseudonym = said["customer_id"].as_str().expect("a pseudonym").to_string();
    let conversation = said["conversation_id"].as_str().expect("a conversation").to_string();
    app.say(&shop, ERASED_PHONE, "add 1 pear").await;
    let checkout = app.say(&shop, ERASED_PHONE, "checkout").await;
    let order = replies(&checkout).into_iter().find(|r| r["type"] == "checkout").expect("an order");
    let order_id = order["order"]["id"].as_str().expect("order id").to_string();
    let other = app.say(&shop, OTHER_PHONE, OTHER_TEXT).await;
    let other_conversation = other["conversation_id"].as_str().expect("a conversation").to_string();

    // Her export, found by her phone number: everything, as JSON and CSV.
    let (status, export) = app.get(&format!("/v1/customers/{}/export", in_path(ERASED_PHONE)), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["format"], "bottega-customer-export/1");
    assert_eq!(export["customer_id"], pseudonym.as_str());
    assert!(export["handles"].to_string().contains(ERASED_PHONE), "{}", export["handles"]);
    assert!(export["conversations"].to_string().contains(ERASED_TEXT), "{export}");
    assert_eq!(export["orders"][0]["id"], order_id.as_str());
    assert!(!export.to_string().contains(OTHER_TEXT), "only her data");
    let request = axum::http::Request::builder()
        .uri(format!("/v1/customers/{pseudonym}/export?format=csv"))
        .header("authorization", format!("Bearer {}", shop.key))
        .body(axum::body::Body::empty())
        .expect("request");
    let (status, csv) = app.send_raw(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("section,id,at,who,what") && csv.contains(ERASED_TEXT), "{csv}");

    // She asks to be erased.
    let (status, erasure) = app.post(&format!("/v1/customers/{pseudonym}/erase"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(erasure["key_destroyed"], true, "{erasure}");
    assert_eq!(erasure["orders_kept"], 1, "{erasure}");

    // Nothing of her opens or is found; her key is gone.
    for reference in [pseudonym.clone(), in_path(ERASED_PHONE)] {
        let (status, _) = app.get(&format!("/v1/customers/{reference}/export"), &shop.key).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{reference} still finds her");
    }
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    assert!(!history.to_string().contains(ERASED_TEXT), "{history}");
    assert!(history["messages"].as_array().expect("messages").iter().all(|m| m["body"]["type"] == "erased"));
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys WHERE owner = $1")
        .bind(&pseudonym)
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(keys, 0, "her data key was destroyed");
    let raw = raw_contents(&app).await;
    // (Her pseudonym remains only where the shop was told of her: webhooks.)
    for needle in ["34655443322", "655 443 322", ERASED_TEXT] {
        assert!(!raw.contains(needle), "`{needle}` of the erased customer is still in the database");
    }

    // Her order stays for the law: its total and lines, no person.
    let (status, kept) = app.get(&format!("/v1/orders/{order_id}"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["total_minor"], 90, "{kept}");
    assert_ne!(kept["customer_id"], pseudonym.as_str());

    // The other customer reads unchanged; the shop is told to erase its copies.
    let (_, history) = app.get(&format!("/v1/conversations/{other_conversation}/messages"), &shop.key).await;
    assert!(history.to_string().contains(OTHER_TEXT), "{history}");
    let told: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = 'customer.erased'")
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(told, 1);

    // The operator erases the other customer's number in every shop.
    let (status, everywhere) = app.post("/v1/admin/erase", ADMIN_TOKEN, json!({"phone": "+34611000999"})).await;
    assert_eq!(status, StatusCode::OK, "{everywhere}");
    assert_eq!(everywhere["erased"].as_array().map(Vec::len), Some(1), "{everywhere}");
    let (_, history) = app.get(&format!("/v1/conversations/{other_conversation}/messages"), &shop.key).await;
    assert!(!history.to_string().contains(OTHER_TEXT), "{history}");
    let (status, refused) = app.post("/v1/admin/erase", ADMIN_TOKEN, json!({"phone": "12"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
}

async fn the_audit_trail_refuses_changes_and_verify_names_one_made_past_its_guard(app: TestApp) {
    let shop = app.create_shop("Audited", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let (status, endpoint) =
        app.request(Method::PUT, "/v1/webhook", Some(&shop.key), Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    assert_eq!(status, StatusCode::OK);
    let webhook_secret = endpoint["secret"].as_str().expect("a secret").to_string();
    app.say(&shop, API_PHONE, "hello").await;
    let (status, _) = app.get(&format!("/v1/customers/{}/export", in_path(API_PHONE)), &shop.key).await;
    assert_eq!(status, StatusCode::OK);

    // The shop reads its trail: who did what, never a secret or a handle.
    let (status, trail) = app.get("/v1/audit", &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let actions: Vec<&str> = trail.as_array().expect("rows").iter().filter_map(|row| row["action"].as_str()).collect();
    for action in ["plugin.activated", "secret.changed", "customer.exported"] {
        assert!(actions.contains(&action), "{action} is in the trail: {trail}");
    }
    for needle in [webhook_secret.as_str(), "7700", "900123"] {
        assert!(!trail.to_string().contains(needle), "the trail holds `{needle}`: {trail}");
    }
    let (rows, breaks) = bottega::store::audit::verify(&app.app.db).await.expect("verified");
    assert!(rows >= 3 && breaks.is_empty(), "{rows} rows: {breaks:?}");

    // The trail is append-only: the runtime's database refuses a change.
    let tamper = |sql: &'static str| sqlx::query(sql).bind(shop.id.clone()).execute(app.db());
    let refused = tamper("UPDATE audit_events SET outcome = 'failed' WHERE business_id = $1 AND seq = 2").await;
    assert!(refused.is_err_and(|e| e.to_string().contains("audit records cannot be changed")));
    assert!(tamper("DELETE FROM audit_events WHERE business_id = $1 AND seq = 1").await.is_err());

    // Someone who owns the database drops the guard and changes a row:
    // verification names it.
    let unguard: &[&str] = match app.app.db.backend() {
        bottega::store::Backend::Sqlite => {
            &["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"]
        }
        bottega::store::Backend::Postgres => &["ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable"],
    };
    for sql in unguard {
        sqlx::query(sql).execute(app.db()).await.expect("the guard dropped");
    }
    tamper("UPDATE audit_events SET outcome = 'failed' WHERE business_id = $1 AND seq = 2").await.expect("altered");
    let (_, breaks) = bottega::store::audit::verify(&app.app.db).await.expect("verified");
    assert!(breaks.iter().any(|b| b.contains("row 2 was altered")), "{breaks:?}");
    tamper("UPDATE audit_events SET outcome = 'ok' WHERE business_id = $1 AND seq = 2").await.expect("restored");
    assert!(bottega::store::audit::verify(&app.app.db).await.expect("verified").1.is_empty());

    // ...or removes one, the first or the last: verification fails too.
    tamper("DELETE FROM audit_events WHERE business_id = $1 AND seq = 1").await.expect("removed");
    assert!(!bottega::store::audit::verify(&app.app.db).await.expect("verified").1.is_empty());
}

async fn message_bodies_past_the_retention_are_erased_by_the_sweeper(app: TestApp) {
    let shop = app.create_shop("Forgetful", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let conversation = app.say(&shop, API_PHONE, "an old message").await["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_string();
    app.say(&shop, API_PHONE, "a new message").await;
    let (status, refused) =
        app.request(Method::PUT, "/v1/privacy/retention", Some(&shop.key), Some(json!({"message_days": 0}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, retention) =
        app.request(Method::PUT, "/v1/privacy/retention", Some(&shop.key), Some(json!({"message_days": 30}))).await;
    assert_eq!((status, &retention["message_days"]), (StatusCode::OK, &json!(30)), "{retention}");

    // The first exchange is 31 days old.
    sqlx::query("UPDATE messages SET created_at = created_at - 2678400000 WHERE conversation_id = $1 AND seq <= 2")
        .bind(&conversation)
        .execute(app.db())
        .await
        .expect("aged");
    let (_, retention) = app.get("/v1/privacy/retention", &shop.key).await;
    assert!(retention["oldest_message_days"].as_i64().is_some_and(|days| days >= 31), "{retention}");

    let erased = bottega::store::retention::sweep(&app.app.db, bottega::ids::now_ms()).await.expect("swept");
    assert_eq!(erased, 2, "the old message and its reply");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let messages = history["messages"].as_array().expect("messages");
    assert_eq!(messages[0]["body"]["type"], "erased", "{history}");
    assert_eq!(messages[1]["body"]["type"], "erased", "{history}");
    assert!(!history.to_string().contains("an old message"), "{history}");
    assert!(history.to_string().contains("a new message"), "newer ones are kept: {history}");
    let (_, retention) = app.get("/v1/privacy/retention", &shop.key).await;
    assert_eq!(retention["oldest_message_days"], 0, "{retention}");
}

/// An agent's private note on `conversation`, through the console's form.
async fn add_note(app: &TestApp, console: &Console, conversation: &str, text: &str) {
    let added = app.console_submit(console, &format!("/console/inbox/{conversation}/notes"), &[("text", text)]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
}

/// How many private notes conversation `conversation` keeps.
async fn notes_kept(app: &TestApp, conversation: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM conversation_notes WHERE conversation_id = $1")
        .bind(conversation)
        .fetch_one(app.db())
        .await
        .expect("notes counted")
}

async fn private_notes_past_the_retention_or_on_an_erased_customer_s_conversation_are_gone(app: TestApp) {
    let shop = app.create_shop("Forgetful notes", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let conversation_of =
        |outcome: serde_json::Value| outcome["conversation_id"].as_str().expect("a conversation").to_string();
    let kept = conversation_of(app.say(&shop, API_PHONE, "I will come back").await);
    let erased = conversation_of(app.say(&shop, "+44 7700 900456", "forget me later").await);
    let agent = app.staff(&shop, "Nina", "agent").await;
    let console = app.signed_in(&agent).await;

    // The shop keeps message bodies, and its private notes, 30 days.
    let (status, retention) =
        app.request(Method::PUT, "/v1/privacy/retention", Some(&shop.key), Some(json!({"message_days": 30}))).await;
    assert_eq!((status, &retention["message_days"]), (StatusCode::OK, &json!(30)), "{retention}");

    // One note is 31 days old, one was written today.
    add_note(&app, &console, &kept, "asked about the old order").await;
    sqlx::query("UPDATE conversation_notes SET created_at = created_at - 2678400000 WHERE conversation_id = $1")
        .bind(&kept)
        .execute(app.db())
        .await
        .expect("aged");
    add_note(&app, &console, &kept, "prefers mornings").await;
    add_note(&app, &console, &erased, "asked to be forgotten soon").await;
    assert_eq!(notes_kept(&app, &kept).await, 2);

    // The sweep deletes the old note and keeps the new one.
    bottega::store::retention::sweep(&app.app.db, bottega::ids::now_ms()).await.expect("swept");
    assert_eq!(notes_kept(&app, &kept).await, 1, "the note past the retention is gone, the newer one stays");
    let thread = app.console_get(Some(&console), &format!("/console/inbox/{kept}")).await;
    assert!(!thread.body.contains("asked about the old order"), "{}", thread.body);
    assert!(thread.body.contains("prefers mornings"), "{}", thread.body);
    assert_eq!(notes_kept(&app, &erased).await, 1, "a note within the retention stays until its customer goes");

    // Erasing the other customer deletes the notes on their conversation, and only those.
    let (_, now) = app.get(&format!("/v1/conversations/{erased}"), &shop.key).await;
    let customer = now["customer_id"].as_str().expect("a pseudonym").to_string();
    let (status, erasure) = app.post(&format!("/v1/customers/{customer}/erase"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    assert_eq!(notes_kept(&app, &erased).await, 0, "the erased customer's notes are gone");
    let thread = app.console_get(Some(&console), &format!("/console/inbox/{erased}")).await;
    assert!(!thread.body.contains("asked to be forgotten soon"), "{}", thread.body);
    assert_eq!(notes_kept(&app, &kept).await, 1, "another customer's note is kept");
}

async fn a_rotation_rewraps_every_data_key_and_the_new_key_alone_reads_them(app: TestApp) {
    use bottega::privacy::{Kek, KeySource};
    use bottega::store::{Db, conversations, data_keys};

    let shop = app.create_shop("Rotating", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    let conversation = app.say(&shop, API_PHONE, "said before the rotation").await["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_string();
    let data_dir = app.data_dir.path();
    let url = app.app.config.database_url.clone();
    let old = match &url {
        Some(_) => KeySource::Base64(TEST_KEK.to_string()),
        None => KeySource::File(data_dir.join("bottega.key")),
    };
    let new_path = data_dir.join("new.key");
    bottega::privacy::kek::write_key_file(&new_path, &Kek::generate().expect("a key")).expect("written");
    let new = KeySource::File(new_path);

    // A node holding the new key and the old one re-wraps; a dry run only counts.
    let rotating = Db::connect_with(url.as_deref(), data_dir, &new, Some(&old)).await.expect("connects");
    let dry = data_keys::rewrap_all(&rotating, true).await.expect("dry run");
    assert!(dry.total >= 2 && dry.rewrapped == dry.total && dry.failed.is_empty(), "{dry:?}");
    let again = data_keys::rewrap_all(&rotating, true).await.expect("dry run");
    assert_eq!(again.rewrapped, dry.rewrapped, "a dry run changes nothing");
    let done = data_keys::rewrap_all(&rotating, false).await.expect("rotated");
    assert_eq!((done.rewrapped, done.failed.len()), (dry.rewrapped, 0), "{done:?}");
    assert_eq!(data_keys::rewrap_all(&rotating, true).await.expect("dry run").current, done.total);
    rotating.close().await;

    // The new key alone reads every message; the old one alone reads none.
    let after = Db::connect_with(url.as_deref(), data_dir, &new, None).await.expect("connects");
    let history = conversations::messages(&after, &shop.id, &conversation, 0, 100).await.expect("opens");
    assert!(history.iter().any(|m| m.body.to_string().contains("said before the rotation")), "{history:?}");
    after.close().await;
    let retired = Db::connect_with(url.as_deref(), data_dir, &old, None).await.expect("connects");
    let refused = conversations::messages(&retired, &shop.id, &conversation, 0, 100).await;
    assert!(
        matches!(refused, Err(bottega::store::StoreError::Sealing(bottega::privacy::PrivacyError::UnknownKek(_)))),
        "{refused:?}"
    );
    retired.close().await;
}

async fn a_customer_asks_for_their_data_in_the_chat_and_gets_a_link(app: TestApp) {
    let shop = app.create_shop("Open book", json!({})).await;
    app.upload(&shop, plugins::TEST_SPY).await;
    app.say(&shop, API_PHONE, "something I said earlier").await;

    // The host answers, not the bot: a link of her export, for a short time.
    let asked = app.say(&shop, API_PHONE, "/mydata").await;
    let answer = reply_text(&asked);
    assert!(!answer.contains("customer_id="), "the plugin was asked: {answer}");
    assert_eq!(replies(&asked).len(), 1, "{asked}");
    let at = answer.find("/v1/customer-data?token=").expect("a download link");
    let path = answer[at..].split_whitespace().next().expect("the link").to_string();
    let (status, export) = app.request(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["customer_id"], asked["customer_id"]);
    assert!(export.to_string().contains("something I said earlier"), "{export}");

    // A wrong or missing token opens nothing (and is not a server error).
    let (status, _) = app.request(Method::GET, "/v1/customer-data?token=cdx_forged", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.request(Method::GET, "/v1/customer-data", None, None).await;
    assert!(status.is_client_error(), "{status}");
    let (_, trail) = app.get("/v1/audit", &shop.key).await;
    assert!(trail.to_string().contains("\"actor\":\"customer\""), "the customer's export is in the trail: {trail}");
}
