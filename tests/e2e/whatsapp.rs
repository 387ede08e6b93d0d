//! WhatsApp customers, through the Cloud API's webhook and a local fake of the
//! Graph API: the handshake, signed deliveries, every published inbound kind,
//! a whole shopping journey, retried webhooks answered once, sends retried and
//! dead-lettered, replies kept in order, the 24-hour window, and a restart in
//! the middle of the queue.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::{Value, json};
use sqlx::Row;

bottega_tests::on_both_databases!(
    meta_verifies_the_webhook_with_the_handshake,
    only_deliveries_signed_with_the_app_secret_are_accepted,
    every_published_inbound_payload_is_understood,
    a_whatsapp_customer_shops_pays_and_hears_back,
    a_retried_webhook_is_answered_once,
    a_reaction_names_the_message_it_answers_by_the_hosts_id,
    failed_sends_are_retried_then_dead_lettered,
    replies_reach_the_customer_in_order,
    nothing_free_form_is_sent_after_the_24_hour_window,
);

const PHONE_ID: &str = "106540352242922";
const CUSTOMER: &str = "34600111222";

async fn whatsapp_shop(app: &TestApp, plugin: &str) -> (Shop, FakeGraph) {
    let shop = app.create_shop("Corner shop", json!({})).await;
    app.add_product(&shop, "tea", "Tea", 300, "Drinks").await;
    app.upload(&shop, plugin).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    (shop, graph)
}

fn texts(sent: &[Sent]) -> Vec<String> {
    sent.iter().map(|s| s.body["text"]["body"].as_str().unwrap_or_default().to_string()).collect()
}

async fn meta_verifies_the_webhook_with_the_handshake(app: TestApp) {
    let shop = app.create_shop("Handshake", json!({})).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    let get = |query: String| {
        let uri = format!("/webhooks/whatsapp/{}?{query}", shop.id);
        app.send_raw(Request::builder().uri(uri).body(Body::empty()).expect("request"))
    };
    let good = format!("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}");
    assert_eq!(get(good).await, (StatusCode::OK, "1158201444".to_string()));
    let (status, body) = get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("verification_failed"), "{body}");

    // The published cases, with their configured token.
    let Some(fixtures) = shared_fixtures() else { return };
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("verification/get-handshake.whatsapp-api-js.json")).expect("fixture"),
    )
    .expect("json");
    let token = cases["configured_verify_token"].as_str().expect("token");
    let body = json!({"phone_number_id": PHONE_ID, "app_secret": APP_SECRET, "verify_token": token,
                      "access_token": ACCESS_TOKEN, "graph_base_url": graph.base_url});
    assert_eq!(app.request(Method::PUT, "/v1/channels/whatsapp", Some(&shop.key), Some(body)).await.0, StatusCode::OK);
    for case in cases["cases"].as_array().expect("cases") {
        let query: Vec<String> = case["query"]
            .as_object()
            .expect("query")
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let (status, body) = get(query.join("&")).await;
        match case["expect"].get("status") {
            Some(expected) => {
                assert_eq!(status.as_u16(), expected.as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0));
                assert_eq!(body, case["expect"]["body"].as_str().unwrap_or_default(), "{case}");
            }
            None => assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}"),
        }
    }
}

async fn only_deliveries_signed_with_the_app_secret_are_accepted(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    let body = webhook(PHONE_ID, CUSTOMER, vec![text_message(CUSTOMER, "add tea 1")]).to_string();

    // Unsigned, wrongly signed, or signed over other bytes: refused, nothing kept.
    for signature in [None, Some("sha256=00"), Some("garbage")] {
        let (status, error) = app.deliver_webhook_signed(&shop, body.as_bytes(), signature).await;
        assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_signature")));
    }
    let (status, _) = app.deliver_webhook(&shop, body.as_bytes(), "another-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let signature = bottega::transport::whatsapp::sign(APP_SECRET, body.as_bytes());
    let (status, _) = app.deliver_webhook_signed(&shop, format!("{body} ").as_bytes(), Some(&signature)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a signature covers the exact bytes");
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    assert_eq!(conversations, json!([]), "nothing was processed");

    // Meta escapes non-ASCII as \uXXXX and signs those bytes: verify them as sent.
    let escaped = r#"{"object":"whatsapp_business_account","entry":[{"id":"0","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"PHONE"},"contacts":[{"wa_id":"34600111222"}],"messages":[{"from":"34600111222","id":"wamid.unicode","timestamp":"1","type":"text","text":{"body":"\u307f\u3069\u308a\u3044\u308d and p\u00e2tes"}}]}}]}]}"#
        .replace("PHONE", PHONE_ID);
    let (status, received) = app.deliver_webhook(&shop, escaped.as_bytes(), APP_SECRET).await;
    assert_eq!((status, received["messages"].as_u64()), (StatusCode::OK, Some(1)), "{received}");
    app.queues_settled().await;
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let conversation = conversations[0]["id"].as_str().expect("a conversation");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    assert_eq!(history["messages"][0]["body"]["text"], "みどりいろ and pâtes");
    assert_eq!(graph.sent().len(), 1, "the bot answered once");

    // The same delivery whose bytes arrive as UTF-8 (re-encoded on the way),
    // its signature still over the escaped form Meta signed: accepted too.
    let signed = escaped.replace("wamid.unicode", "wamid.utf8");
    let utf8 = signed.replace("\\u307f\\u3069\\u308a\\u3044\\u308d", "みどりいろ").replace("\\u00e2", "â");
    assert!(utf8.contains("みどりいろ and pâtes") && !utf8.contains("\\u"), "{utf8}");
    let signature = bottega::transport::whatsapp::sign(APP_SECRET, signed.as_bytes());
    let (status, received) = app.deliver_webhook_signed(&shop, utf8.as_bytes(), Some(&signature)).await;
    assert_eq!((status, received["messages"].as_u64()), (StatusCode::OK, Some(1)), "{received}");
    app.queues_settled().await;
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let heard = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["body"]["text"] == "みどりいろ and pâtes")
        .count();
    assert_eq!(heard, 2, "{history}");
    assert_eq!(graph.sent().len(), 2, "and the bot answered it");

    // The published vectors.
    let Some(fixtures) = shared_fixtures() else { return };
    let read = |name: &str| std::fs::read(fixtures.join("signature").join(name)).expect("fixture");
    let real: Value = serde_json::from_slice(&read("pywa-real-webhook.json")).expect("json");
    let real_body = read("pywa-real-webhook.body");
    let header = real["x_hub_signature_256"].as_str().expect("header");
    let secret = real["app_secret"].as_str().expect("secret");
    assert!(bottega::transport::whatsapp::signature_valid(secret, Some(header), &real_body));
    assert!(!bottega::transport::whatsapp::signature_valid(APP_SECRET, Some(header), &real_body));
    let unicode: Value = serde_json::from_slice(&read("unicode-escape.whatsapp-api-js.json")).expect("json");
    let secret = unicode["app_secret"].as_str().expect("secret");
    let header = unicode["x_hub_signature_256"].as_str().expect("header");
    let escaped = unicode["body_escaped"].as_str().expect("escaped");
    let unescaped = unicode["body_unescaped"].as_str().expect("unescaped");
    assert!(bottega::transport::whatsapp::signature_valid(secret, Some(header), escaped.as_bytes()));
    // The same JSON re-encoded as UTF-8 is accepted: its escaped form is what Meta signed.
    assert!(bottega::transport::whatsapp::signature_valid(secret, Some(header), unescaped.as_bytes()));
    let contrast = unicode["hmac_over_utf8_unescaped_for_contrast"].as_str().expect("contrast");
    assert!(!bottega::transport::whatsapp::signature_valid(secret, Some(contrast), escaped.as_bytes()));

    // The real signed delivery through the endpoint, to a shop with that app's secret.
    let pywa = app.create_shop("Pywa", json!({})).await;
    let phone = serde_json::from_slice::<Value>(&real_body).expect("json")["entry"][0]["changes"][0]["value"]["metadata"]
        ["phone_number_id"]
        .as_str()
        .unwrap_or("1")
        .to_string();
    let secret = real["app_secret"].as_str().expect("secret");
    let channel = json!({"phone_number_id": phone, "app_secret": secret, "verify_token": "v", "access_token": "a",
                         "graph_base_url": graph.base_url});
    assert_eq!(
        app.request(Method::PUT, "/v1/channels/whatsapp", Some(&pywa.key), Some(channel)).await.0,
        StatusCode::OK
    );
    let (status, received) = app.deliver_webhook_signed(&pywa, &real_body, Some(header_of(&real))).await;
    assert_eq!(status, StatusCode::OK, "{received}");
}

fn header_of(vector: &Value) -> &str {
    vector["x_hub_signature_256"].as_str().expect("header")
}

/// What history keeps of each published inbound kind.
fn expected_type(file: &str) -> Option<&'static str> {
    let kinds = [
        ("button-quick-reply", "choice"),
        ("interactive-button-reply", "choice"),
        ("interactive-list-reply", "choice"),
        ("interactive-nfm-reply", "nfm_reply"),
        ("interactive-missing-body", "interactive"),
        ("contacts", "contacts"),
        ("image", "image"),
        ("location", "location"),
        ("order", "cart"),
        ("reaction", "reaction"),
        ("system", "system"),
        ("text", "text"),
        ("unsupported", "unsupported"),
    ];
    kinds.iter().find(|(prefix, _)| file.starts_with(prefix)).map(|(_, kind)| *kind)
}

async fn every_published_inbound_payload_is_understood(app: TestApp) {
    let Some(fixtures) = shared_fixtures() else { return };
    let graph = FakeGraph::start().await;
    let mut files: Vec<_> = std::fs::read_dir(fixtures.join("inbound"))
        .expect("inbound fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the published inbound payloads are there");
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let raw = std::fs::read(&path).expect("fixture");
        let parsed: Value = serde_json::from_slice(&raw).expect("fixture is JSON");
        // Each payload goes to a shop of its own, connected to the payload's
        // number (which the previous shop gives up).
        let phone =
            parsed["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"].as_str().expect("phone id");
        let shop = app.create_shop(&name, json!({})).await;
        app.upload(&shop, plugins::TEST_QUOTA).await;
        app.connect_whatsapp(&shop, &graph, phone).await;
        check_payload(&app, &graph, &shop, &name, &raw, &parsed).await;
        let (status, _) = app.request(Method::DELETE, "/v1/channels/whatsapp", Some(&shop.key), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

/// Delivers one published payload to `shop` and checks what came of it.
async fn check_payload(app: &TestApp, graph: &FakeGraph, shop: &Shop, name: &str, raw: &[u8], parsed: &Value) {
    let value = &parsed["entry"][0]["changes"][0]["value"];
    let phone = value["metadata"]["phone_number_id"].as_str().expect("phone number id");
    if name.starts_with("status-") {
        // A status moves a message this shop sent: send one whose id is the payload's.
        let id = value["statuses"][0]["id"].as_str().expect("status id");
        graph.answer_ids(&[id]);
        let recipient = value["statuses"][0]["recipient_id"].as_str().expect("recipient");
        app.whatsapp_says(shop, phone, recipient, text_message(recipient, "hello")).await;
        app.queues_settled().await;
        let (status, received) = app.deliver_webhook(shop, raw, APP_SECRET).await;
        assert_eq!((status, received["statuses"].as_u64()), (StatusCode::OK, Some(1)), "{name}: {received}");
        let (_, sent) = app.get("/v1/outbox?state=sent", &shop.key).await;
        let expected = value["statuses"][0]["status"].as_str();
        assert_eq!(sent[0]["delivery_status"].as_str(), expected, "{name}: {sent}");
        // Statuses arrive out of order: an older one never moves a message back.
        let stale = String::from_utf8_lossy(raw).replace(&format!("\"{}\"", expected.unwrap_or_default()), "\"sent\"");
        if expected != Some("sent") {
            let (_, received) = app.deliver_webhook(shop, stale.as_bytes(), APP_SECRET).await;
            assert_eq!(received["statuses"].as_u64(), Some(0), "{name}: {received}");
            let (_, sent) = app.get("/v1/outbox?state=sent", &shop.key).await;
            assert_eq!(sent[0]["delivery_status"].as_str(), expected, "{name}: {sent}");
        }
        return;
    }

    let (status, received) = app.deliver_webhook(shop, raw, APP_SECRET).await;
    assert_eq!((status, received["messages"].as_u64()), (StatusCode::OK, Some(1)), "{name}: {received}");
    // Delivered again, as Meta retries: recognised, not processed twice.
    let (_, again) = app.deliver_webhook(shop, raw, APP_SECRET).await;
    assert_eq!(again["duplicates"].as_u64(), Some(1), "{name}: {again}");
    app.queues_settled().await;
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    assert_eq!(conversations.as_array().map(Vec::len), Some(1), "{name}: {conversations}");
    let conversation = conversations[0]["id"].as_str().expect("conversation");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let first = &history["messages"][0];
    assert_eq!(first["direction"], "inbound", "{name}");
    let expected = expected_type(name).unwrap_or_else(|| panic!("{name}: a kind this test knows"));
    assert_eq!(first["body"]["type"], expected, "{name}: {first}");
    let answered = history["messages"].as_array().map_or(0, |m| m.len() - 1);
    match expected {
        // Reactions and system notices need no answer.
        "reaction" | "system" => assert_eq!(answered, 0, "{name}: {history}"),
        _ => assert!(answered >= 1, "{name}: {history}"),
    }
    if expected == "reaction" {
        // WhatsApp's id of the message reacted to encodes the customer's
        // number: history names this host's message instead (none here).
        let details = &first["body"]["details"];
        assert!(details.get("wamid").is_none() && details.get("message_id").is_none(), "{name}: {first}");
        assert_eq!(details["reacted_to"], Value::Null, "{name}: {first}");
        assert!(!history.to_string().contains("wamid."), "{name}: {history}");
    }
    if name.starts_with("text-product-inquiry") {
        assert_eq!(first["body"]["product_id"], "di9ozbzfi4");
    }
    if name.starts_with("order") {
        let items = value["messages"][0]["order"]["product_items"].as_array().map(Vec::len);
        assert_eq!(first["body"]["items"].as_array().map(Vec::len), items, "{name}");
    }
}

async fn a_whatsapp_customer_shops_pays_and_hears_back(app: TestApp) {
    let demo = bottega::seed::seed_demo_if_empty(&app.app).await.expect("seed").expect("the demo shop");
    let shop = Shop { id: demo.business.id.clone(), key: demo.api_key.clone() };
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    let say = |message: Value| app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, message);

    // "hi": three reply buttons, sent to the customer's number with the business's token.
    say(text_message(CUSTOMER, "hi")).await;
    let sent = graph.wait_for(1).await;
    let greeting = &sent[0];
    assert_eq!(
        (greeting.phone_number_id.as_str(), greeting.authorization.as_str()),
        (PHONE_ID, "Bearer test-access-token")
    );
    assert_eq!(greeting.body["to"], CUSTOMER);
    assert_eq!(greeting.body["messaging_product"], "whatsapp");
    assert_eq!(greeting.body["interactive"]["type"], "button");
    let buttons = greeting.body["interactive"]["action"]["buttons"].as_array().expect("buttons");
    assert_eq!(buttons.len(), 3);
    assert_eq!(buttons[0]["reply"]["id"], "browse");

    // A section's products, without a Meta catalog: a list whose rows are products.
    say(button_tap(CUSTOMER, "section:Fruit", "Fruit")).await;
    app.queues_settled().await;
    let list = graph.sent().last().cloned().expect("a list");
    assert_eq!(list.body["interactive"]["type"], "list", "{:?}", list.body);
    let row = &list.body["interactive"]["action"]["sections"][0]["rows"][0];
    assert!(row["id"].as_str().unwrap_or_default().starts_with("product:"), "{row}");
    assert!(row["title"].as_str().is_some_and(|t| t.chars().count() <= 24));
    let (_, outbox) = app.get("/v1/outbox", &shop.key).await;
    assert!(outbox[0]["adaptation"].as_str().unwrap_or_default().contains("list of product rows"), "{outbox}");

    // Tapping a product row is a product tap: its photo, name and price.
    let tap = json!({"from": CUSTOMER, "id": "wamid.tap.1", "timestamp": "1", "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "product:gala-apples", "title": "Gala apples"}}});
    let before = graph.sent().len();
    say(tap).await;
    app.queues_settled().await;
    let card = graph.sent()[before].clone();
    assert_eq!(card.body["type"], "image");
    assert!(card.body["image"]["caption"].as_str().unwrap_or_default().contains("€2.40"), "{:?}", card.body);

    // Add, check out: the payment link comes as text.
    say(button_tap(CUSTOMER, "add:gala-apples", "Add to basket")).await;
    say(text_message(CUSTOMER, "checkout")).await;
    app.queues_settled().await;
    let checkout = texts(&graph.sent()).into_iter().find(|t| t.contains("/pay/")).expect("a payment link");
    assert!(checkout.contains("Total: €2.40"), "{checkout}");
    let url = checkout.split_whitespace().find(|w| w.contains("/pay/")).expect("url");
    let path = format!("/pay/{}", url.split_once("/pay/").expect("path").1);
    let order_id = path.trim_start_matches("/pay/").split('?').next().expect("order").to_string();
    let token = path.split_once("token=").expect("token").1.to_string();

    // Paying on the page: the bot's thanks reach WhatsApp.
    let (_, page) = app.send_raw(Request::builder().uri(&path).body(Body::empty()).expect("request")).await;
    let key_at = page.find("name=idempotency_key value=\"").expect("form") + "name=idempotency_key value=\"".len();
    let key = page[key_at..].split('"').next().expect("key").to_string();
    let fields = [
        ("token", token.as_str()),
        ("idempotency_key", key.as_str()),
        ("number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "2030"),
        ("cvc", "123"),
    ];
    let (status, _) = app.post_form(&format!("/pay/{order_id}"), &fields).await;
    assert_eq!(status, StatusCode::OK);
    app.queues_settled().await;
    let thanks = texts(&graph.sent()).last().cloned().unwrap_or_default();
    assert!(thanks.to_lowercase().contains("thank"), "{thanks}");

    // Shipped by the business: the customer hears it on WhatsApp too.
    let (status, _) = app.post(&format!("/v1/orders/{order_id}/ship"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    app.queues_settled().await;
    assert!(texts(&graph.sent()).last().is_some_and(|t| t.contains("on its way")), "{:?}", texts(&graph.sent()));
    assert!(graph.sent().iter().all(|s| s.body["to"] == CUSTOMER));
}

async fn a_retried_webhook_is_answered_once(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    let body = webhook(PHONE_ID, CUSTOMER, vec![text_message(CUSTOMER, "add tea 1")]).to_string();
    // Meta retries (here: twice at once, then once more later).
    let (a, b) = tokio::join!(
        app.deliver_webhook(&shop, body.as_bytes(), APP_SECRET),
        app.deliver_webhook(&shop, body.as_bytes(), APP_SECRET)
    );
    let fresh = [&a.1, &b.1].iter().map(|r| r["messages"].as_u64().unwrap_or(0)).sum::<u64>();
    assert_eq!(fresh, 1, "{a:?} {b:?}");
    app.queues_settled().await;
    let (_, late) = app.deliver_webhook(&shop, body.as_bytes(), APP_SECRET).await;
    assert_eq!(late["duplicates"], 1);
    app.queues_settled().await;
    assert_eq!(texts(&graph.sent()), ["lines=1"], "one reply, and the cart has one tea");
}

async fn a_reaction_names_the_message_it_answers_by_the_hosts_id(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "add tea 1")).await;
    app.queues_settled().await;
    let sent = graph.sent();
    let wamid = format!("wamid.fake.{}", sent.len());
    let reaction = json!({"from": CUSTOMER, "id": format!("wamid.test.{}", uuid::Uuid::new_v4().simple()),
        "timestamp": "1700000001", "type": "reaction", "reaction": {"message_id": wamid, "emoji": "👍"}});
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, reaction).await;
    app.queues_settled().await;

    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let conversation = conversations[0]["id"].as_str().expect("conversation");
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let messages = history["messages"].as_array().expect("messages");
    let reply = messages.iter().rfind(|m| m["direction"] == "outbound").expect("the shop's reply");
    let reacted = messages.last().expect("the reaction");
    assert_eq!(reacted["body"]["type"], "reaction", "{history}");
    assert_eq!(reacted["body"]["details"]["reacted_to"], reply["id"], "{history}");
    assert_eq!(reacted["body"]["details"]["emoji"], "👍");
    assert!(!history.to_string().contains(&wamid), "WhatsApp's id stays out of history: {history}");
    assert_eq!(graph.sent().len(), sent.len(), "a reaction needs no answer");
}

async fn failed_sends_are_retried_then_dead_lettered(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    // A busy Graph API: 500, then 429, then fine. Delivered once, on the third attempt.
    graph.fail_next(&[500, 429]);
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "add tea 1")).await;
    app.queues_settled().await;
    assert_eq!(texts(&graph.sent()), ["lines=1"]);
    let (_, sent) = app.get("/v1/outbox?state=sent", &shop.key).await;
    assert_eq!(sent[0]["attempts"], 3, "{sent}");

    // A request the API refuses (400) is not retried: dead at once, listed for the business.
    graph.fail_next(&[400]);
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "add tea 1")).await;
    app.queues_settled().await;
    let (_, dead) = app.get("/v1/outbox?state=dead", &shop.key).await;
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
    assert!(dead[0]["last_error"].as_str().unwrap_or_default().contains("400"), "{dead}");
    // Persistent 5xx: dead after the last attempt.
    graph.fail_next(&[503; 8]);
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "add tea 1")).await;
    app.queues_settled().await;
    let (_, dead) = app.get("/v1/outbox?state=dead", &shop.key).await;
    assert_eq!(dead.as_array().map(Vec::len), Some(2), "{dead}");
    assert_eq!(dead[0]["attempts"], 8);

    // The business retries both: sent now, in order.
    for entry in dead.as_array().expect("dead").iter().rev() {
        let (status, _) =
            app.post(&format!("/v1/outbox/{}/retry", entry["id"].as_str().expect("id")), &shop.key, json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    app.queues_settled().await;
    assert_eq!(texts(&graph.sent()), ["lines=1", "lines=1", "lines=1"]);
    let (status, error) = app.post("/v1/outbox/out_nope/retry", &shop.key, json!({})).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_dead")));
}

async fn replies_reach_the_customer_in_order(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    graph.jitter(15);
    // The first sends are refused for a moment: a send waiting for its retry
    // holds back the ones after it, sent at once or from the queue.
    graph.fail_next(&[500, 503]);
    // Ten messages in one delivery, and an agent's replies racing the bot's.
    let messages: Vec<Value> = (1..=10).map(|n| text_message(CUSTOMER, &format!("echo {n}"))).collect();
    let body = webhook(PHONE_ID, CUSTOMER, messages).to_string();
    let (status, _) = app.deliver_webhook(&shop, body.as_bytes(), APP_SECRET).await;
    assert_eq!(status, StatusCode::OK);
    app.queues_settled().await;
    let sent = texts(&graph.sent());
    let expected: Vec<String> = (1..=10).map(|n| format!("unknown command: echo {n}")).collect();
    assert_eq!(sent, expected);
    // The history's order is the order the customer got them in.
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let conversation = conversations[0]["id"].as_str().expect("conversation").to_string();
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let outbound: Vec<String> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| m["body"]["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sent, outbound);

    // An agent takes over and sends several replies at once: they arrive in the order stored.
    let ines = app.staff(&shop, "Ines", "agent").await;
    assert_eq!(
        app.post(&format!("/v1/conversations/{conversation}/take"), &shop.key, json!({"agent": ines.email})).await.0,
        StatusCode::OK
    );
    let path = format!("/v1/conversations/{conversation}/replies");
    let reply = |n: u32| app.post(&path, &shop.key, json!({"text": format!("agent {n}")}));
    let statuses = tokio::join!(reply(1), reply(2), reply(3), reply(4), reply(5));
    for (status, _) in [statuses.0, statuses.1, statuses.2, statuses.3, statuses.4] {
        assert_eq!(status, StatusCode::CREATED);
    }
    app.queues_settled().await;
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages?after=20"), &shop.key).await;
    let stored: Vec<String> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["body"]["text"].as_str().unwrap_or_default().to_string())
        .collect();
    let sent = texts(&graph.sent());
    assert_eq!(sent[10..].to_vec(), stored);
}

async fn nothing_free_form_is_sent_after_the_24_hour_window(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "add tea 1")).await;
    app.queues_settled().await;
    assert_eq!(graph.sent().len(), 1);
    // A day and an hour later, an agent answers: WhatsApp would refuse it, so it is not sent.
    sqlx::query("UPDATE conversations SET last_inbound_at = last_inbound_at - 90000000")
        .execute(app.db())
        .await
        .expect("age");
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let conversation = conversations[0]["id"].as_str().expect("conversation");
    let ines = app.staff(&shop, "Ines", "agent").await;
    let (status, _) =
        app.post(&format!("/v1/conversations/{conversation}/take"), &shop.key, json!({"agent": ines.email})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(&format!("/v1/conversations/{conversation}/replies"), &shop.key, json!({"text": "still there?"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.queues_settled().await;
    assert_eq!(graph.sent().len(), 1, "nothing more was sent");
    let (_, expired) = app.get("/v1/outbox?state=expired", &shop.key).await;
    assert!(expired[0]["last_error"].as_str().unwrap_or_default().contains("24-hour"), "{expired}");
    // The customer writes again: the window reopens.
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "yes")).await;
    app.queues_settled().await;
    app.post(&format!("/v1/conversations/{conversation}/replies"), &shop.key, json!({"text": "great"})).await;
    app.queues_settled().await;
    assert_eq!(texts(&graph.sent()).last().map(String::as_str), Some("great"));
}

/// Runs on a node whose workers are off, so the queues fill up as they would
/// on a node that stopped; then a restart empties them.
mod a_restart_in_the_middle_of_the_queue_loses_and_repeats_nothing {
    use bottega_tests::{Backend, TestApp};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        if let Some(app) = TestApp::start_with(Backend::Sqlite, |c| c.transport.run_workers = false).await {
            super::restart_story(app).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = TestApp::start_with(Backend::Postgres, |c| c.transport.run_workers = false).await {
            super::restart_story(app).await;
        }
    }
}

async fn restart_story(app: TestApp) {
    let (shop, graph) = whatsapp_shop(&app, plugins::TEST_QUOTA).await;
    for n in 1..=3 {
        app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, &format!("echo {n}"))).await;
    }
    // Each delivery was answered once stored: the stopped node holds the three
    // events untouched and has queued no reply, so nothing can have been sent.
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM inbound_events WHERE state = 'pending' AND attempts = 0) AS waiting, \
                (SELECT COUNT(*) FROM outbox) AS queued",
    )
    .fetch_one(app.db())
    .await
    .expect("count");
    let waiting = row.try_get::<i64, _>("waiting").expect("waiting");
    let queued = row.try_get::<i64, _>("queued").expect("queued");
    assert_eq!((waiting, queued), (3, 0), "the stopped node kept the messages and queued nothing");
    assert!(graph.sent().is_empty(), "the stopped node sent nothing");
    // After the restart the queued messages are answered, and the answers
    // sent, exactly once and in order, through a Graph API that fails twice.
    graph.fail_next(&[500, 500]);
    let restarted = app.restart().await;
    app.queues_settled().await;
    // Retried deliveries of the same webhooks change nothing.
    let again = webhook(PHONE_ID, CUSTOMER, vec![text_message(CUSTOMER, "echo 4")]);
    app.deliver_webhook(&shop, again.to_string().as_bytes(), APP_SECRET).await;
    app.queues_settled().await;
    let expected: Vec<String> = (1..=4).map(|n| format!("unknown command: echo {n}")).collect();
    assert_eq!(texts(&graph.sent()), expected);
    drop(restarted);
}
