//! Web chat, spoken by a program over its WebSocket: rich replies, resuming
//! after a reconnect without losing or repeating anything, a person taking
//! over, the password lock, signing out, bad frames, and replies stored on
//! another node. (The page itself, in Chromium, is `browser.rs`.)

use std::time::Duration;

use axum::http::{Method, StatusCode};
use bottega_tests::webchat::WebChat;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(
    a_web_customer_shops_and_resumes_after_reconnecting,
    the_lock_hides_the_conversation_until_the_password_is_given,
    signing_out_is_the_way_out_of_a_forgotten_password,
    bad_frames_and_addresses_get_clear_errors,
);

const PASSWORD: &str = "open sesame 42";

async fn demo_shop(app: &TestApp) -> Shop {
    let demo = bottega::seed::seed_demo_if_empty(&app.app).await.expect("seed").expect("an empty node gets the demo");
    Shop { id: demo.business.id.clone(), key: demo.api_key.clone() }
}

fn choice(id: &str, title: &str) -> Value {
    json!({"kind": "choice", "id": id, "title": title})
}

/// The web conversations of a shop, most recent first.
async fn web_conversations(app: &TestApp, shop: &Shop) -> Vec<Value> {
    let (_, listed) = app.get("/v1/conversations", &shop.key).await;
    listed.as_array().expect("conversations").iter().filter(|c| c["channel"] == "web").cloned().collect()
}

async fn a_web_customer_shops_and_resumes_after_reconnecting(app: TestApp) {
    let shop = demo_shop(&app).await;
    let base = app.serve().await;
    let mut chat = WebChat::new_customer(&base, &shop.id).await;

    // "hi": the customer's message comes back numbered, then the bot's buttons.
    chat.say("m1", "hi").await;
    assert_eq!(chat.expect("accepted").await["id"], "m1");
    let hello = chat.until(|body| body["type"] == "buttons").await;
    assert_eq!(hello.len(), 2);
    assert_eq!((hello[0]["seq"].as_i64(), hello[0]["direction"].as_str()), (Some(1), Some("inbound")));
    assert_eq!(hello[0]["body"]["text"], "hi");
    assert_eq!(hello[1]["seq"], 2);
    assert!(hello[1]["body"]["body"].as_str().unwrap_or_default().starts_with("Welcome to Verdura"));

    // Buttons and list rows answer as choices; a section shows product cards
    // with photo, name and the price as the customer's locale writes it.
    chat.send("m2", choice("browse", "Browse the shop")).await;
    chat.until(|body| body["type"] == "list").await;
    chat.send("m3", choice("section:Fruit", "Fruit")).await;
    let fruit = chat.until(|body| body["type"] == "product_list").await;
    let cards = &fruit.last().expect("cards")["body"];
    let apples =
        cards["products"].as_array().expect("cards").iter().find(|p| p["id"] == "gala-apples").expect("apples");
    assert_eq!(apples["price"]["formatted"], "€2.40");
    assert!(apples["photo_url"].as_str().is_some_and(|url| !url.is_empty()));

    // The cart summary is priced by the host.
    chat.send("m4", choice("add:gala-apples", "Add to basket")).await;
    chat.until(|body| body["type"] == "buttons").await;
    chat.say("m5", "cart").await;
    let cart = chat.until(|body| body["type"] == "cart_summary").await;
    assert_eq!(cart.last().expect("summary")["body"]["cart"]["total"]["formatted"], "€2.40");
    chat.until(|body| body["type"] == "buttons").await;

    // The customer asks for a person and closes the page.
    chat.say("m6", "agent").await;
    chat.until(|body| body["type"] == "handoff_requested").await;
    let seen = chat.cursor;
    let token = chat.token.clone().expect("token");
    chat.close().await;

    // Meanwhile, Maria takes the conversation and answers.
    let conversation = web_conversations(&app, &shop).await.remove(0);
    assert_eq!(conversation["handling"], "pending_agent");
    let id = conversation["id"].as_str().expect("id");
    let maria = app.staff(&shop, "maria", "agent").await;
    let (status, _) = app.post(&format!("/v1/conversations/{id}/take"), &shop.key, json!({"agent": maria.email})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        app.post(&format!("/v1/conversations/{id}/replies"), &shop.key, json!({"text": "Hi, Maria here."})).await;
    assert_eq!(status, StatusCode::CREATED);

    // Back on the page: exactly what was missed, nothing twice.
    let mut chat = WebChat::open(&base, &shop.id, Some(&token), seen).await;
    assert_eq!(chat.expect("ready").await["locked"], false);
    let missed = chat.until_message(seen + 1).await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(
        (missed[0]["author"].as_str(), missed[0]["body"]["text"].as_str(), missed[0]["body"]["agent"].as_str()),
        (Some("agent"), Some("Hi, Maria here."), Some("maria"))
    );

    // A message the page sends again (it never saw it confirmed) is not stored twice.
    chat.say("m6", "agent").await;
    assert_eq!(chat.expect("accepted").await["id"], "m6");
    let late = chat.drain(Duration::from_millis(600)).await;
    assert!(late.iter().all(|f| f["type"] != "message"), "a repeated message was handled again: {late:?}");
    let (_, history) = app.get(&format!("/v1/conversations/{id}/messages"), &shop.key).await;
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(usize::try_from(seen + 1).unwrap_or(0)));

    // While Maria holds it, a new message reaches her, not the bot.
    chat.say("m7", "Thanks!").await;
    let new = chat.until_message(seen + 2).await;
    assert_eq!(new.len(), 1, "the bot stays quiet while a person holds the chat: {new:?}");
}

async fn the_lock_hides_the_conversation_until_the_password_is_given(app: TestApp) {
    let shop = demo_shop(&app).await;
    let base = app.serve().await;
    let mut chat = WebChat::new_customer(&base, &shop.id).await;
    chat.say("m1", "hi").await;
    let count = chat.until(|body| body["type"] == "buttons").await.len();
    let token = chat.token.clone().expect("token");

    // No lock without a password, and no weak password.
    chat.send_frame(json!({"type": "lock"})).await;
    assert_eq!(chat.expect("error").await["code"], "no_password");
    chat.send_frame(json!({"type": "set_lock", "password": "short", "auto_lock_minutes": 15})).await;
    assert_eq!(chat.expect("error").await["code"], "weak_lock");
    chat.send_frame(json!({"type": "set_lock", "password": PASSWORD, "auto_lock_minutes": 5})).await;
    assert_eq!(chat.expect("error").await["code"], "weak_lock", "only 1, 15 or 60 minutes are offered");

    chat.send_frame(json!({"type": "set_lock", "password": PASSWORD, "auto_lock_minutes": 60})).await;
    let set = chat.expect("lock_set").await;
    assert_eq!(set["lock"], json!({"has_password": true, "auto_lock_minutes": 60}));
    // Only an argon2id hash with OWASP's parameters is kept.
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM web_sessions").fetch_one(app.db()).await.expect("hash");
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    assert!(!stored.contains(PASSWORD));

    // Locked: nothing can be sent, and a new page sees nothing.
    chat.send_frame(json!({"type": "lock"})).await;
    chat.expect("locked").await;
    chat.say("m2", "still there?").await;
    let refused = chat.expect("error").await;
    assert_eq!((refused["code"].as_str(), refused["id"].as_str()), (Some("locked"), Some("m2")));
    let mut other = WebChat::open(&base, &shop.id, Some(&token), 0).await;
    assert_eq!(other.expect("ready").await["locked"], true);
    let shown = other.drain(Duration::from_millis(500)).await;
    assert!(shown.iter().all(|f| f["type"] != "message"), "a locked chat showed messages: {shown:?}");

    // A wrong password opens nothing; the right one shows the whole conversation.
    other.send_frame(json!({"type": "unlock", "password": "open sesame 43"})).await;
    assert_eq!(other.expect("error").await["code"], "wrong_password");
    other.send_frame(json!({"type": "unlock", "password": PASSWORD})).await;
    other.expect("unlocked").await;
    let all = other.until_message(i64::try_from(count).unwrap_or(0)).await;
    assert_eq!(all.len(), count, "the whole conversation, once");
    assert_eq!(all[0]["body"]["text"], "hi");
    other.close().await;
    chat.close().await;

    // Auto-lock: a chat idle for longer than its chosen time locks itself,
    // even while the page stays open.
    let mut chat = WebChat::open(&base, &shop.id, Some(&token), 0).await;
    assert_eq!(chat.expect("ready").await["locked"], false);
    chat.send_frame(json!({"type": "set_lock", "password": PASSWORD, "auto_lock_minutes": 1})).await;
    chat.expect("lock_set").await;
    let two_minutes_ago = bottega::ids::now_ms() - 120_000;
    sqlx::query("UPDATE web_sessions SET last_active_at = $1")
        .bind(two_minutes_ago)
        .execute(app.db())
        .await
        .expect("age the session");
    chat.expect("locked").await;

    // Guessing is slowed down: after five wrong passwords even the right one waits.
    for _ in 0..5 {
        chat.send_frame(json!({"type": "unlock", "password": "guess guess"})).await;
        assert_eq!(chat.expect("error").await["code"], "wrong_password");
    }
    chat.send_frame(json!({"type": "unlock", "password": PASSWORD})).await;
    let blocked = chat.expect("error").await;
    assert_eq!(blocked["code"], "too_many_attempts");
    assert!(blocked["retry_after_seconds"].as_i64().is_some_and(|s| (1..=30).contains(&s)), "{blocked}");
}

async fn signing_out_is_the_way_out_of_a_forgotten_password(app: TestApp) {
    let shop = demo_shop(&app).await;
    let base = app.serve().await;
    let mut chat = WebChat::new_customer(&base, &shop.id).await;
    chat.say("m1", "hi").await;
    chat.until(|body| body["type"] == "buttons").await;
    chat.send_frame(json!({"type": "set_lock", "password": PASSWORD, "auto_lock_minutes": 15})).await;
    chat.expect("lock_set").await;
    chat.send_frame(json!({"type": "lock"})).await;
    chat.expect("locked").await;
    let old_token = chat.token.clone().expect("token");

    // Forgot the password: signing out needs none, and ends the session.
    chat.send_frame(json!({"type": "sign_out"})).await;
    chat.expect("signed_out").await;
    assert!(chat.next().await.is_none(), "the host closes a signed-out chat");

    // The old token opens a new, empty conversation, never the locked one.
    let mut fresh = WebChat::open(&base, &shop.id, Some(&old_token), 2).await;
    let session = fresh.expect("session").await;
    assert_ne!(session["token"].as_str(), Some(old_token.as_str()));
    assert_eq!(fresh.expect("ready").await["locked"], false);
    let shown = fresh.drain(Duration::from_millis(500)).await;
    assert!(shown.iter().all(|f| f["type"] != "message"), "{shown:?}");
    fresh.say("n1", "hello again").await;
    let first = fresh.until_message(1).await;
    assert_eq!(first[0]["body"]["text"], "hello again");

    // The business keeps both conversations.
    let conversations = web_conversations(&app, &shop).await;
    assert_eq!(conversations.len(), 2);
    assert_ne!(conversations[0]["customer_id"], conversations[1]["customer_id"]);
}

async fn bad_frames_and_addresses_get_clear_errors(app: TestApp) {
    let shop = app.create_shop("<b>Bold</b> & Co", json!({})).await;
    let base = app.serve().await;

    // The page, with the shop's name escaped and a strict content policy.
    let response = reqwest::get(format!("{base}/chat/{}", shop.id)).await.expect("page");
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"].to_str().unwrap_or_default().to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; Co") && !page.contains("<b>Bold"), "{page}");
    let missing = reqwest::get(format!("{base}/chat/biz_nope")).await.expect("page");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let script = reqwest::get(format!("{base}/chat/assets/chat.js")).await.expect("script");
    assert!(script.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/javascript"));

    // The socket's address: a JSON error without a WebSocket, or for no shop.
    let (status, error) = app.request(Method::GET, &format!("/chat/{}/ws", shop.id), None, None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("websocket_required")));
    let (status, error) = app.request(Method::GET, "/chat/biz_nope/ws", None, None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // A page that does not start with hello is told so and closed.
    let mut rude = WebChat::open_raw(&base, &shop.id).await;
    rude.send_frame(json!({"type": "send", "id": "x", "message": {"kind": "text", "text": "hi"}})).await;
    assert_eq!(rude.expect("error").await["code"], "bad_frame");
    assert!(rude.next().await.is_none());

    // Garbage, an empty or oversized text: an error naming the message; the chat goes on.
    let mut chat = WebChat::new_customer(&base, &shop.id).await;
    chat.send_frame(json!({"type": "dance"})).await;
    assert_eq!(chat.expect("error").await["code"], "bad_frame");
    chat.say("e1", "   ").await;
    let empty = chat.expect("error").await;
    assert_eq!((empty["code"].as_str(), empty["id"].as_str()), (Some("invalid_message"), Some("e1")));
    chat.say("e2", &"x".repeat(5000)).await;
    assert_eq!(chat.expect("error").await["code"], "invalid_message");
    chat.say("ok", "hello").await;
    assert_eq!(chat.expect("accepted").await["id"], "ok");
    let answered = chat.until_message(2).await;
    assert_eq!(answered[1]["body"]["text"], bottega::chat::fallback::NO_PLUGIN);

    // A page sending faster than a person types is slowed down.
    for n in 0..25 {
        chat.say(&format!("flood{n}"), "hello").await;
    }
    let mut slowed = false;
    for _ in 0..200 {
        match chat.next().await {
            Some(frame) if frame["code"] == "slow_down" => {
                slowed = true;
                break;
            }
            Some(_) => {}
            None => break,
        }
    }
    assert!(slowed, "25 messages at once were all accepted");
}

/// Locking in one tab hides the chat in the customer's other open tab at
/// once (the timer that would also find it is set far too slow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locking_in_one_tab_hides_the_chat_in_the_other() {
    let slow_timer = |config: &mut bottega::Config| config.transport.web_poll_every = Duration::from_secs(120);
    let Some(app) = TestApp::start_with(Backend::Sqlite, slow_timer).await else { return };
    let shop = app.create_shop("Two tabs", json!({})).await;
    let base = app.serve().await;
    let mut first = WebChat::new_customer(&base, &shop.id).await;
    let token = first.token.clone().expect("token");
    let mut second = WebChat::open(&base, &shop.id, Some(&token), 0).await;
    assert_eq!(second.expect("ready").await["locked"], false);

    first.send_frame(json!({"type": "set_lock", "password": PASSWORD, "auto_lock_minutes": 15})).await;
    first.expect("lock_set").await;
    first.send_frame(json!({"type": "lock"})).await;
    first.expect("locked").await;
    second.expect("locked").await;
    second.say("s1", "sneaky").await;
    assert_eq!(second.expect("error").await["code"], "locked");
}

/// PostgreSQL: a reply stored through one node reaches a chat open on another,
/// announced with NOTIFY (the chat's own timer is set too slow to find it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_stored_on_another_node_reaches_the_open_chat() {
    let slow_timer = |config: &mut bottega::Config| config.transport.web_poll_every = Duration::from_secs(120);
    let Some(node_a) = TestApp::start_with(Backend::Postgres, slow_timer).await else { return };
    let shop = node_a.create_shop("Two nodes", json!({})).await;
    let nadia = node_a.staff(&shop, "Nadia", "agent").await;
    let base_a = node_a.serve().await;
    let node_b = node_a.restart_with(slow_timer).await;
    let base_b = serve(node_b.router()).await;

    let mut chat = WebChat::new_customer(&base_a, &shop.id).await;
    chat.say("m1", "anyone?").await;
    chat.until_message(2).await;

    let http = reqwest::Client::new();
    let conversation = web_conversations(&node_a, &shop).await.remove(0);
    let id = conversation["id"].as_str().expect("id");
    let answer = http
        .post(format!("{base_b}/v1/conversations/{id}/take"))
        .bearer_auth(&shop.key)
        .json(&json!({"agent": nadia.email}))
        .send()
        .await
        .expect("take on node B");
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = http
        .post(format!("{base_b}/v1/conversations/{id}/replies"))
        .bearer_auth(&shop.key)
        .json(&json!({"text": "Nadia here, from the other node."}))
        .send()
        .await
        .expect("reply on node B");
    assert_eq!(answer.status(), StatusCode::CREATED);

    let reply = chat.until_message(3).await;
    assert_eq!(reply[0]["body"]["text"], "Nadia here, from the other node.");
}
