//! Privacy at rest (issue 17): what the database holds once customers have
//! talked to a shop. No phone number, profile name, message text or channel
//! secret lies in it in plain text, on either database (PostgreSQL: every
//! row of every table as text; SQLite: the database file and its WAL, as
//! bytes); every column of the schema is classified; a sealed value moved to
//! another row does not open.

use axum::http::{Method, StatusCode};
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::json;
use sqlx::Row;

bottega_tests::on_both_databases!(
    nothing_a_customer_wrote_is_stored_in_plain_text,
    every_column_is_classified,
    a_message_moved_to_another_row_does_not_open,
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
async fn raw_contents(app: &TestApp) -> String {
    if on_postgres(app) {
        let mut tables: Vec<String> = schema(app).await.into_iter().map(|(table, _)| table).collect();
        tables.dedup();
        let mut dump = String::new();
        for table in tables {
            let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS row FROM {table} t"))
                .fetch_all(app.db())
                .await
                .expect("rows read");
            for row in rows {
                dump.push_str(&row.get::<String, _>("row"));
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
    let conversation = app.say(&shop, API_PHONE, "the first thing I said")["conversation_id"]
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
