//! Hostile input and access, tried as an attacker or a careless tenant would:
//! webhook and Graph API URLs that lead inside the operator's network (when
//! they are set and when they are used), NUL characters in every kind of text
//! (API bodies, web chat frames, WhatsApp deliveries), bodies that are too
//! large or not JSON, ids that are paths, one Meta app delivering for many
//! shops, and password guesses sent in parallel over many sockets.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bottega_tests::webchat::WebChat;
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(
    a_business_cannot_point_the_host_at_private_addresses,
    a_name_that_leads_to_loopback_is_refused_when_the_request_is_made,
    a_graph_url_the_node_no_longer_allows_is_never_sent_the_token,
    text_with_nul_is_refused_at_the_boundary,
    a_web_chat_message_with_nul_is_refused,
    every_error_is_in_our_format_and_bodies_must_be_json,
    whatsapp_deliveries_with_nul_are_refused_or_kept_losslessly,
    parallel_guesses_never_check_more_passwords_than_the_limit,
);
bottega_tests::on_both_databases_with!(crate::hostile_input::with_operator_app; one_meta_app_delivers_for_many_shops);

const OPERATOR_SECRET: &str = "operator-app-secret";

fn with_operator_app(config: &mut bottega::Config) {
    config.whatsapp_app_secret = Some(OPERATOR_SECRET.to_string());
    config.whatsapp_verify_token = Some("operator-verify".to_string());
}

async fn put(app: &TestApp, shop: &Shop, path: &str, body: Value) -> (StatusCode, Value) {
    app.request(Method::PUT, path, Some(&shop.key), Some(body)).await
}

async fn a_business_cannot_point_the_host_at_private_addresses(app: TestApp) {
    let shop = app.create_shop("Curious", json!({})).await;
    for (url, reason) in [
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.1/hooks", "private"),
        ("https://[::1]/hooks", "loopback"),
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://[::ffff:192.168.0.1]/hooks", "private"),
        ("https://100.64.0.1/hooks", "CGNAT"),
        ("http://example.com/hooks", "https"),
    ] {
        let (status, answer) = put(&app, &shop, "/v1/webhook", json!({"url": url})).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("egress_refused"))
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("url: ") && message.contains(reason), "{url}: {message}");

        let channel = json!({"phone_number_id": "1065", "app_secret": "s", "verify_token": "v",
                             "access_token": "the token", "graph_base_url": url});
        let (status, answer) = put(&app, &shop, "/v1/channels/whatsapp", channel).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("egress_refused"))
        );
        assert!(answer["error"]["message"].as_str().unwrap_or_default().contains(reason), "{answer}");
    }
    // Nothing was kept.
    let (status, _) = app.get("/v1/channels/whatsapp", &shop.key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A public https URL is fine (a name that does not resolve yet is checked again when used).
    let (status, answer) = put(&app, &shop, "/v1/webhook", json!({"url": "https://hooks.shop.example/orders"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn a_name_that_leads_to_loopback_is_refused_when_the_request_is_made(app: TestApp) {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let endpoint = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { StatusCode::OK }
        }),
    );
    let base = serve(endpoint).await;
    let port = base.rsplit(':').next().expect("a port");
    let shop = app.create_shop("Moved", json!({})).await;
    // Allowed when it was set (the test node allows `localhost`)...
    let url = format!("https://localhost:{port}/hooks");
    assert_eq!(put(&app, &shop, "/v1/webhook", json!({"url": url})).await.0, StatusCode::OK);
    bottega::webhooks::event(&app.app.db, &shop.id, "order.created", json!({"order": {"id": "o1"}}))
        .await
        .expect("queued");

    // ...and refused at send time by a node whose allow-list names only the
    // address 127.0.0.1: the URL is https to a name, so it passes the URL
    // check, but the name resolves to loopback and the resolver hands the
    // connection no address at all.
    let strict = bottega::egress::EgressClient::new(test_egress(&["127.0.0.1"]), std::time::Duration::from_secs(5));
    let now = bottega::ids::now_ms();
    assert_eq!(bottega::webhooks::deliver_due(&app.app.db, &strict, now).await.expect("deliver"), 0);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the endpoint");
    let (_, deliveries) = app.get("/v1/webhook/deliveries", &shop.key).await;
    let error = deliveries[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("egress refused: localhost resolves to"), "{deliveries}");

    // The same node reaches the address it allows.
    let url = format!("http://127.0.0.1:{port}/hooks");
    assert_eq!(put(&app, &shop, "/v1/webhook", json!({"url": url})).await.0, StatusCode::OK);
    let later = now + 11_000;
    assert_eq!(bottega::webhooks::deliver_due(&app.app.db, &strict, later).await.expect("deliver"), 1);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

async fn a_graph_url_the_node_no_longer_allows_is_never_sent_the_token(mut app: TestApp) {
    let shop = app.create_shop("Moved channel", json!({})).await;
    app.upload(&shop, plugins::TEST_QUOTA).await;
    let graph = FakeGraph::start().await;
    // Allowed when it was set (the test node allows 127.0.0.1): replies reach it.
    app.connect_whatsapp(&shop, &graph, "1065").await;
    app.whatsapp_says(&shop, "1065", "34600111222", text_message("34600111222", "count")).await;
    app.queues_settled().await;
    let before = graph.sent().len();
    assert!(before > 0, "the reply was sent while the address was allowed");

    // The node restarts with a policy that allows only the name `localhost`:
    // the stored channel's plain-http address is refused when the reply is
    // sent, so the access token goes nowhere, and the business reads why.
    app.crash_and_restart(|config| config.egress = test_egress(&["localhost"])).await;
    app.whatsapp_says(&shop, "1065", "34600111222", text_message("34600111222", "count")).await;
    let mut dead = Value::Null;
    for _ in 0..500 {
        dead = app.get("/v1/outbox?state=dead", &shop.key).await.1;
        if dead.as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(dead[0]["last_error"].as_str().unwrap_or_default().contains("egress refused"), "{dead}");
    assert_eq!(graph.sent().len(), before, "the Graph API was not sent the token again");
}

async fn text_with_nul_is_refused_at_the_boundary(app: TestApp) {
    let shop = app.create_shop("Careful", json!({})).await;
    let nul_text = |code: &str| (StatusCode::BAD_REQUEST, Some("invalid_text".to_string()), code.to_string());
    let cases = [
        (Method::POST, "/v1/messages", Some(json!({"customer": "c", "text": "a\u{0}b"}))),
        (Method::POST, "/v1/messages", Some(json!({"customer": "c\u{0}d", "text": "hi"}))),
        (Method::PUT, "/v1/webhook", Some(json!({"url": "https://shop.example/\u{0}"}))),
        (Method::GET, "/v1/products?section=a%00b", None),
        (Method::GET, "/v1/products/tea%00", None),
        (Method::GET, "/v1/conversations?handling=%00", None),
        (Method::GET, "/v1/orders/ord%00x", None),
    ];
    for (method, path, body) in cases {
        let (status, answer) = app.request(method, path, Some(&shop.key), body).await;
        let got = (status, answer["error"]["code"].as_str().map(str::to_string), path.to_string());
        assert_eq!(got, nul_text(path), "{answer}");
        assert_eq!(answer["error"]["message"], "text may not contain NUL characters");
    }
    // A product name or an agent's with NUL, too.
    let product = json!({"id": "a", "name": "A\u{0}", "price_minor": 1, "currency": "EUR", "section": "S"});
    assert_eq!(app.post("/v1/products", &shop.key, product).await.0, StatusCode::BAD_REQUEST);
    // Nothing was stored, and the database is fine.
    assert_eq!(app.get("/v1/conversations", &shop.key).await.1, json!([]));
    assert_eq!(app.get("/v1/products", &shop.key).await.0, StatusCode::OK);
}

async fn every_error_is_in_our_format_and_bodies_must_be_json(app: TestApp) {
    let shop = app.create_shop("Picky", json!({})).await;
    let raw = |content_type: Option<&str>, body: Vec<u8>| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/v1/messages")
            .header("authorization", format!("Bearer {}", shop.key));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(Body::from(body)).expect("request")
    };
    let hi = br#"{"customer": "c", "text": "hi"}"#.to_vec();
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let (status, answer) = app.send(raw(content_type, hi.clone())).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")),
            "{content_type:?}: {answer}"
        );
    }
    let (status, _) = app.send(raw(Some("application/json; charset=utf-8"), hi)).await;
    assert_eq!(status, StatusCode::OK);

    // Too large: our JSON, not the body limit's plain text.
    let huge = format!(r#"{{"customer": "c", "text": "{}"}}"#, "x".repeat(3 << 20)).into_bytes();
    let (status, answer) = app.send(raw(Some("application/json"), huge)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    // Also where a body is read as bytes: a catalog import past its 5 MiB.
    let huge_import = Request::builder()
        .method(Method::POST)
        .uri("/v1/products/import")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "text/csv")
        .body(Body::from(vec![b'x'; 6 << 20]))
        .expect("request");
    let (status, answer) = app.send(huge_import).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{answer}"
    );

    // The router's own answers.
    let (status, answer) = app.request(Method::DELETE, "/healthz", None, None).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (status, answer) = app.request(Method::GET, "/nowhere", None, None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_route")));

    // Ids a business chooses are safe in a path.
    for id in ["..", ".", "a/b", "caf\u{e9}", "a b"] {
        let product = json!({"id": id, "name": "A", "price_minor": 1, "currency": "EUR", "section": "S"});
        let (status, answer) = app.post("/v1/products", &shop.key, product).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_id")),
            "{id}"
        );
    }
    let import = Request::builder()
        .method(Method::POST)
        .uri("/v1/products/import")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "text/csv")
        .body(Body::from("id,name,price_minor,currency,section\n..,Dots,100,EUR,S\ntea,Tea,100,EUR,S\n"))
        .expect("request");
    let (status, report) = app.send(import).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["created"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(1)), "{report}");
    assert!(report["rows"][0]["error"].as_str().unwrap_or_default().contains("not `.` or `..`"), "{report}");
}

async fn a_web_chat_message_with_nul_is_refused(app: TestApp) {
    let shop = app.create_shop("Careful on the web", json!({})).await;
    let base = app.serve().await;
    let mut chat = WebChat::new_customer(&base, &shop.id).await;

    // The page sends a message with a NUL in it: refused, nothing stored.
    chat.say("n1", "a\u{0}b").await;
    let refused = chat.expect("error").await;
    assert_eq!(refused["code"], "invalid_text", "{refused}");
    assert_eq!(refused["message"], "text may not contain NUL characters", "{refused}");
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM inbound_events").fetch_one(app.db()).await.expect("count");
    assert_eq!(stored, 0);

    // The chat goes on: the next message is the conversation's first.
    chat.say("ok", "hello").await;
    assert_eq!(chat.expect("accepted").await["id"], "ok");
    let answered = chat.until_message(2).await;
    assert_eq!(answered[0]["body"]["text"], "hello", "{answered:?}");
    assert_eq!(answered[1]["body"]["text"], bottega::chat::fallback::NO_PLUGIN);
}

async fn whatsapp_deliveries_with_nul_are_refused_or_kept_losslessly(app: TestApp) {
    let shop = app.create_shop("Wary", json!({})).await;
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, "1065").await;

    // A NUL in an id: the whole delivery is refused (nothing stored, nothing
    // acknowledged), so Meta delivers it again.
    let mut bad = text_message("34600111222", "hi");
    bad["id"] = json!("wamid.bad\u{0}");
    let body = webhook("1065", "34600111222", vec![text_message("34600111222", "good"), bad]).to_string();
    let (status, answer) = app.deliver_webhook(&shop, body.as_bytes(), APP_SECRET).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_payload")));
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM inbound_events").fetch_one(app.db()).await.expect("count");
    assert_eq!(stored, 0);

    // A NUL in a status's id (or its state): refused whole, the same way.
    for (id, state) in [("wamid.sent\u{0}", "delivered"), ("wamid.sent", "read\u{0}")] {
        let receipt = json!({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
            "field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1065"},
                      "statuses": [{"id": id, "status": state, "timestamp": "1700000000",
                                    "recipient_id": "34600111222"}]},
        }]}]});
        let (status, answer) = app.deliver_webhook(&shop, receipt.to_string().as_bytes(), APP_SECRET).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_payload")),
            "{id:?} {state:?}: {answer}"
        );
    }

    // A NUL in a message's text: stored as received, read as U+FFFD.
    let body = webhook("1065", "34600111222", vec![text_message("34600111222", "a\u{0}b")]).to_string();
    let (status, answer) = app.deliver_webhook(&shop, body.as_bytes(), APP_SECRET).await;
    assert_eq!((status, answer["messages"].as_u64()), (StatusCode::OK, Some(1)), "{answer}");
    let conversation = loop {
        let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
        if let Some(id) = conversations[0]["id"].as_str() {
            break id.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    assert_eq!(history["messages"][0]["body"]["text"], "a\u{fffd}b", "{history}");
}

async fn deliver_to_operator(app: &TestApp, body: &[u8], secret: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/webhooks/whatsapp")
        .header("content-type", "application/json")
        .header("x-hub-signature-256", bottega::transport::whatsapp::sign(secret, body))
        .body(Body::from(body.to_vec()))
        .expect("request");
    app.send(request).await
}

async fn events_of(app: &TestApp, shop: &Shop) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM inbound_events WHERE business_id = $1")
        .bind(&shop.id)
        .fetch_one(app.db())
        .await
        .expect("count")
}

/// One delivery with entries for several numbers, as an operator's app sends it.
fn batched(entries: &[(&str, &str)]) -> Value {
    let entry: Vec<Value> = entries
        .iter()
        .map(|(phone, text)| webhook(phone, "34600111222", vec![text_message("34600111222", text)])["entry"][0].clone())
        .collect();
    json!({"object": "whatsapp_business_account", "entry": entry})
}

async fn one_meta_app_delivers_for_many_shops(app: TestApp) {
    let graph = FakeGraph::start().await;
    let (bakery, florist) = (app.create_shop("Bakery", json!({})).await, app.create_shop("Florist", json!({})).await);
    app.connect_whatsapp(&bakery, &graph, "1001").await;
    app.connect_whatsapp(&florist, &graph, "1002").await;

    // The operator's callback: each entry goes to its number's shop; a number
    // no shop has is counted, not stored.
    let body = batched(&[("1001", "bread"), ("1002", "roses"), ("1999", "nobody's")]).to_string();
    let (status, received) = deliver_to_operator(&app, body.as_bytes(), OPERATOR_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    assert_eq!((received["messages"].as_u64(), received["unrouted"].as_u64()), (Some(2), Some(1)), "{received}");
    assert_eq!((events_of(&app, &bakery).await, events_of(&app, &florist).await), (1, 1));
    let (status, _) = deliver_to_operator(&app, body.as_bytes(), APP_SECRET).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed by the operator's app only");

    // A shop's own callback, for a delivery with another shop's number on
    // the same Meta app (same secret): routed there, not dropped.
    let body = batched(&[("1001", "more bread"), ("1002", "more roses")]).to_string();
    let (status, received) = app.deliver_webhook(&bakery, body.as_bytes(), APP_SECRET).await;
    assert_eq!((status, received["messages"].as_u64()), (StatusCode::OK, Some(2)), "{received}");
    assert_eq!((events_of(&app, &bakery).await, events_of(&app, &florist).await), (2, 2));

    // Another app's number in it: refused whole, so Meta delivers it again.
    let other = app.create_shop("Grocer", json!({})).await;
    let channel = json!({"phone_number_id": "1003", "app_secret": "grocer-secret", "verify_token": "v",
                         "access_token": "a", "graph_base_url": graph.base_url});
    assert_eq!(put(&app, &other, "/v1/channels/whatsapp", channel).await.0, StatusCode::OK);
    let body = batched(&[("1001", "still more bread"), ("1003", "apples")]).to_string();
    let (status, answer) = app.deliver_webhook(&bakery, body.as_bytes(), APP_SECRET).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_signed_for_number")));
    assert_eq!((events_of(&app, &bakery).await, events_of(&app, &other).await), (2, 0), "nothing of it was stored");

    // The published deliveries arrive through the operator's callback too.
    let Some(fixtures) = shared_fixtures() else { return };
    let text: Value = serde_json::from_slice(&std::fs::read(fixtures.join("inbound/text.meta.json")).expect("fixture"))
        .expect("json");
    let phone = text.pointer("/entry/0/changes/0/value/metadata/phone_number_id").and_then(Value::as_str);
    let shop = app.create_shop("Published", json!({})).await;
    app.connect_whatsapp(&shop, &graph, phone.expect("a phone number id")).await;
    let bytes = text.to_string();
    let (status, received) = deliver_to_operator(&app, bytes.as_bytes(), OPERATOR_SECRET).await;
    assert_eq!((status, received["messages"].as_u64()), (StatusCode::OK, Some(1)), "{received}");
    assert_eq!(events_of(&app, &shop).await, 1);
}

async fn parallel_guesses_never_check_more_passwords_than_the_limit(app: TestApp) {
    let shop = app.create_shop("Locked", json!({})).await;
    let base = app.serve().await;
    let mut first = WebChat::new_customer(&base, &shop.id).await;
    first.send_frame(json!({"type": "set_lock", "password": "open sesame 42"})).await;
    first.expect("lock_set").await;
    first.send_frame(json!({"type": "lock"})).await;
    first.expect("locked").await;
    let token = first.token.clone().expect("token");
    let mut sockets = vec![first];
    for _ in 0..11 {
        let mut chat = WebChat::open(&base, &shop.id, Some(&token), 0).await;
        assert_eq!(chat.expect("ready").await["locked"], true);
        sockets.push(chat);
    }

    // Rounds of twelve guesses at once, until every one is refused unchecked.
    let mut checked = 0;
    for _round in 0..20 {
        for chat in &mut sockets {
            chat.send_frame(json!({"type": "unlock", "password": "guess guess"})).await;
        }
        let mut codes = Vec::new();
        for chat in &mut sockets {
            codes.push(chat.expect("error").await["code"].as_str().unwrap_or_default().to_string());
        }
        assert!(
            codes.iter().all(|c| ["wrong_password", "unlock_in_progress", "too_many_attempts"].contains(&c.as_str()))
        );
        checked += codes.iter().filter(|c| *c == "wrong_password").count();
        if codes.iter().all(|c| c == "too_many_attempts") {
            break;
        }
    }
    assert_eq!(checked, 5, "five wrong passwords are checked, then unlocking waits");
    let failed: i64 =
        sqlx::query_scalar("SELECT failed_unlocks FROM web_sessions").fetch_one(app.db()).await.expect("row");
    assert_eq!(failed, 5);
}
