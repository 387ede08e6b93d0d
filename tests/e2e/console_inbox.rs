//! The console's inbox beyond take, reply and release: an agent answers with
//! one of the shop's quick replies in one click; keeps private notes on a
//! conversation that the customer never gets, sealed at rest and erased with
//! the customer; pauses the bot for one customer and resumes it; sees a
//! message another node stored appear through the thread's polling endpoint;
//! and, with the thread open, sees another agent on another node take it,
//! answer and hand it back (who holds it, which forms show), and a customer
//! who starts waiting appear first in the list, without a reload.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bottega_tests::console::{Console, form_body};
use bottega_tests::*;
use serde_json::{Value, json};
use tower::ServiceExt;

bottega_tests::on_both_databases!(
    an_agent_answers_with_a_quick_reply_in_one_click,
    private_notes_stay_with_the_team_sealed_and_go_with_the_customer,
    an_agent_pauses_the_bot_for_one_customer_and_resumes_it,
    a_message_stored_by_another_node_appears_in_the_open_thread,
    an_open_thread_and_the_list_follow_another_agent_on_another_node,
);

/// A shop run by people with one quick reply: its customers wait for a person.
async fn shop_with_quick_reply(app: &TestApp, name: &str) -> Shop {
    let shop = app.create_shop(name, json!({})).await;
    let settings = json!({"greeting": "Hello!", "quick_replies": {"hours": "We open at 9 & close at 18 <daily>."}});
    let (status, saved) = app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    shop
}

async fn customer_writes(app: &TestApp, shop: &Shop, customer: &str, text: &str) -> String {
    app.say(shop, customer, text).await["conversation_id"].as_str().expect("conversation").to_string()
}

/// The thread's messages after `seq`, as its page's script asks for them.
async fn polled(app: &TestApp, console: &bottega_tests::console::Console, id: &str, seq: i64) -> Value {
    let answer = app.console_get(Some(console), &format!("/console/inbox/{id}/since/{seq}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    serde_json::from_str(&answer.body).expect("the poll answers JSON")
}

async fn an_agent_answers_with_a_quick_reply_in_one_click(app: TestApp) {
    let shop = shop_with_quick_reply(&app, "Quick florist").await;
    let conversation = customer_writes(&app, &shop, "+34 600 100 001", "when are you open?").await;
    let agent = app.staff(&shop, "Nuria", "agent").await;
    let console = app.signed_in(&agent).await;
    let thread = format!("/console/inbox/{conversation}");

    // Before she holds it, the quick replies are hidden (the page's script
    // shows them only to whoever holds it); once she does, they show, escaped.
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains("<div id=quick-replies class=quick data-when=\"you\" hidden>"), "{}", page.body);
    assert_eq!(app.console_submit(&console, &format!("{thread}/take"), &[]).await.status, StatusCode::SEE_OTHER);
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains("<div id=quick-replies class=quick data-when=\"you\">"), "{}", page.body);
    assert!(page.body.contains("name=quick_reply value=\"hours\""), "{}", page.body);
    assert!(page.body.contains("We open at 9 &amp; close at 18 &lt;daily&gt;."), "{}", page.body);

    // One click sends the business's text, signed with her name.
    let sent = app.console_submit(&console, &format!("{thread}/reply"), &[("quick_reply", "hours")]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let last = history["messages"].as_array().and_then(|m| m.last()).cloned().expect("a message");
    assert_eq!(last["body"]["text"], "We open at 9 & close at 18 <daily>.", "{last}");
    assert_eq!(last["body"]["agent"], "Nuria", "{last}");

    // A name the shop has no quick reply for is refused as bad input, never a 5xx.
    let unknown = app.console_submit(&console, &format!("{thread}/reply"), &[("quick_reply", "nope")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
}

async fn private_notes_stay_with_the_team_sealed_and_go_with_the_customer(app: TestApp) {
    let shop = shop_with_quick_reply(&app, "Noted bakery").await;
    let conversation = customer_writes(&app, &shop, "+34 600 100 002", "I am allergic to nuts").await;
    let agent = app.staff(&shop, "Pau", "agent").await;
    let viewer = app.staff(&shop, "Vera", "viewer").await;
    let console = app.signed_in(&agent).await;
    let thread = format!("/console/inbox/{conversation}");

    let note = "Allergic to nuts: <b>check</b> every order & call first";
    let added = app.console_submit(&console, &format!("{thread}/notes"), &[("text", note)]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let empty = app.console_submit(&console, &format!("{thread}/notes"), &[("text", "   ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", empty.body);

    // The team sees it, escaped and signed; a viewer reads it but has no form to add one.
    let escaped = "Allergic to nuts: &lt;b&gt;check&lt;/b&gt; every order &amp; call first";
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains(escaped) && page.body.contains("Pau"), "{}", page.body);
    let viewers = app.signed_in(&viewer).await;
    let page = app.console_get(Some(&viewers), &thread).await;
    assert!(page.body.contains(escaped), "{}", page.body);
    assert!(!page.body.contains(&format!("{thread}/notes")), "{}", page.body);

    // The customer never gets it: not in the history, not sent.
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    assert!(!history.to_string().contains("check"), "{history}");

    // At rest it is sealed, never the text.
    let stored: Vec<String> = sqlx::query_scalar("SELECT body FROM conversation_notes WHERE conversation_id = $1")
        .bind(&conversation)
        .fetch_all(app.db())
        .await
        .expect("notes read");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("bv1:") && !stored[0].contains("nuts"), "{}", stored[0]);

    // The customer's own export has it (what the shop holds about them).
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    let customer = now["customer_id"].as_str().expect("a pseudonym").to_string();
    let (status, export) = app.get(&format!("/v1/customers/{customer}/export"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["conversations"][0]["notes"][0]["text"], note, "{export}");

    // Erased with the customer.
    let (status, erasure) = app.post(&format!("/v1/customers/{customer}/erase"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversation_notes WHERE conversation_id = $1")
        .bind(&conversation)
        .fetch_one(app.db())
        .await
        .expect("notes counted");
    assert_eq!(left, 0);
    let page = app.console_get(Some(&console), &thread).await;
    assert!(!page.body.contains("Allergic"), "{}", page.body);
}

async fn an_agent_pauses_the_bot_for_one_customer_and_resumes_it(app: TestApp) {
    // A shop with no automations: the bot (here, the host's fallback) answers.
    let shop = app.create_shop("Paused grocer", json!({})).await;
    let first = app.say(&shop, "+34 600 100 003", "hi").await;
    assert!(!reply_text(&first).contains("A member of the team will reply"), "{first}");
    let conversation = first["conversation_id"].as_str().expect("conversation").to_string();
    let other = customer_writes(&app, &shop, "+34 600 100 004", "hi").await;
    let agent = app.staff(&shop, "Ines", "agent").await;
    let console = app.signed_in(&agent).await;
    let thread = format!("/console/inbox/{conversation}");
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains(&format!("{thread}/pause")), "{}", page.body);

    let paused = app.console_submit(&console, &format!("{thread}/pause"), &[]).await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.body);
    // The customer writes again: the bot stays quiet, the host says a person will reply.
    let outcome = app.say(&shop, "+34 600 100 003", "anyone there?").await;
    assert!(reply_text(&outcome).contains("A member of the team will reply"), "{outcome}");
    let authors: Vec<Value> = outcome["replies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|reply| reply["author"].clone())
        .collect();
    assert!(authors.iter().all(|author| author != "bot"), "{outcome}");
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    assert_eq!(now["handling"], "pending_agent", "{now}");
    // Only this customer: the other conversation is still the bot's.
    let (_, theirs) = app.get(&format!("/v1/conversations/{other}"), &shop.key).await;
    assert_eq!(theirs["handling"], "bot", "{theirs}");

    // Resumed: the bot answers again.
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains("Resume the bot"), "{}", page.body);
    let resumed = app.console_submit(&console, &format!("{thread}/release"), &[]).await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.body);
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    assert_eq!(now["handling"], "bot", "{now}");
}

async fn a_message_stored_by_another_node_appears_in_the_open_thread(app: TestApp) {
    let shop = shop_with_quick_reply(&app, "Two node deli").await;
    let conversation = customer_writes(&app, &shop, "+34 600 100 005", "first").await;
    let agent = app.staff(&shop, "Olga", "agent").await;
    let console = app.signed_in(&agent).await;

    // The page says where its script polls from and what it has shown.
    let page = app.console_get(Some(&console), &format!("/console/inbox/{conversation}")).await;
    assert!(page.body.contains(&format!("data-poll=\"/console/inbox/{conversation}/since/\"")), "{}", page.body);
    assert!(page.body.contains("<script src=\"/console/assets/inbox.js\"></script>"), "{}", page.body);
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    let shown = now["message_count"].as_i64().expect("a count");
    assert_eq!(polled(&app, &console, &conversation, shown).await["messages"], json!([]));

    // The customer's next message reaches a second node on the same database.
    let node_b = app.restart().await;
    let body = json!({"customer": "+34 600 100 005", "text": "second <one>"});
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/messages")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request builds");
    let answered = node_b.router().oneshot(request).await.expect("node b answers");
    assert_eq!(answered.status(), StatusCode::OK);

    // This node's thread endpoint has it, as text for the script to set.
    let page = polled(&app, &console, &conversation, shown).await;
    let messages = page["messages"].as_array().cloned().unwrap_or_default();
    let texts: Vec<&str> = messages.iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(texts.contains(&"second <one>"), "{page}");
    assert!(messages.iter().all(|m| m["seq"].as_i64() > Some(shown)), "{page}");
    assert_eq!(messages[0]["side"], "inbound", "{page}");

    // Another shop's person cannot poll it.
    let elsewhere = app.create_shop("Elsewhere", json!({})).await;
    let stranger = app.staff(&elsewhere, "Stranger", "owner").await;
    let strangers = app.signed_in(&stranger).await;
    let refused = app.console_get(Some(&strangers), &format!("/console/inbox/{conversation}/since/0")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    node_b.shutdown(std::time::Duration::from_secs(1)).await;
}

/// Sends `request` to another node (`node`: a second runtime on the same database).
async fn on_node(node: &bottega::App, request: Request<Body>) -> (StatusCode, String) {
    let response = node.router().oneshot(request).await.expect("the other node answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Posts a console form to `node` as `console`'s browser would there (the
/// session is the database's, so any node knows it), with its CSRF token.
async fn submit_on(node: &bottega::App, console: &Console, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let mut with_csrf = vec![("csrf", console.csrf.as_str())];
    with_csrf.extend_from_slice(fields);
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &console.cookie)
        .body(Body::from(form_body(&with_csrf)))
        .expect("request builds");
    on_node(node, request).await.0
}

/// A customer writes to `shop` through `node`.
async fn say_on(node: &bottega::App, shop: &Shop, customer: &str, text: &str) -> Value {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/messages")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "application/json")
        .body(Body::from(json!({"customer": customer, "text": text}).to_string()))
        .expect("request builds");
    let (status, body) = on_node(node, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).expect("the outcome is JSON")
}

/// The inbox list's rows, as its page's script asks for them.
async fn listed(app: &TestApp, console: &Console) -> Value {
    let answer = app.console_get(Some(console), "/console/inbox/rows").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    serde_json::from_str(&answer.body).expect("the rows are JSON")
}

async fn an_open_thread_and_the_list_follow_another_agent_on_another_node(app: TestApp) {
    let shop = app.create_shop("Live deli", json!({})).await;
    let automations = json!({"handoff_keywords": ["a person please"]});
    let (status, saved) = app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(automations)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let conversation = customer_writes(&app, &shop, "+34 600 100 006", "a person please").await;
    let thread = format!("/console/inbox/{conversation}");
    let anna = app.staff(&shop, "Anna", "agent").await;
    let bruno = app.staff(&shop, "Bruno", "agent").await;
    let annas = app.signed_in(&anna).await;
    let brunos = app.signed_in(&bruno).await;
    // Anna works on this node; Bruno on a second one, on the same database.
    let node_b = app.restart().await;

    // Anna has the thread open: it waits for a person, and she is offered to take it.
    let page = app.console_get(Some(&annas), &thread).await;
    let take_shown = format!("<form data-when=\"waiting bot\" method=post action=\"{thread}/take\">");
    assert!(page.body.contains(&take_shown), "{}", page.body);
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    let shown = now["message_count"].as_i64().expect("a count");
    let waiting = polled(&app, &annas, &conversation, shown).await;
    assert_eq!(waiting["answering"], "waiting", "{waiting}");
    assert_eq!((waiting["bot_answers"].as_bool(), waiting["bot_paused"].as_bool()), (Some(false), Some(true)));
    assert_eq!(waiting["holder"], Value::Null, "{waiting}");

    // Bruno takes it on his node: Anna's next poll names him, and offers her no take.
    assert_eq!(submit_on(&node_b, &brunos, &format!("{thread}/take"), &[]).await, StatusCode::SEE_OTHER);
    let held = polled(&app, &annas, &conversation, shown).await;
    assert_eq!(held["answering"], "another", "{held}");
    assert_eq!(held["holder"], "Bruno", "{held}");
    assert_eq!(held["status"], "Bruno answers.", "{held}");
    assert_eq!(held["bot_answers"], false, "{held}");
    assert_ne!(held["version"], waiting["version"], "a new state, a new version");
    // The same page loaded now agrees: take hidden, "another person holds it" shown.
    let page = app.console_get(Some(&annas), &thread).await;
    let take_hidden = format!("<form data-when=\"waiting bot\" hidden method=post action=\"{thread}/take\">");
    assert!(page.body.contains(&take_hidden), "{}", page.body);
    assert!(page.body.contains("<p data-when=\"another\" class=note>"), "{}", page.body);
    // Bruno's own thread, on his node, is his to answer.
    let request = Request::builder()
        .uri(format!("{thread}/since/{shown}"))
        .header(header::COOKIE, &brunos.cookie)
        .body(Body::empty())
        .expect("request builds");
    let (status, his) = on_node(&node_b, request).await;
    assert_eq!(status, StatusCode::OK, "{his}");
    let his: Value = serde_json::from_str(&his).expect("JSON");
    assert_eq!(his["answering"], "you", "{his}");

    // He answers: his message shows in Anna's thread, signed, and the state stands.
    let sent =
        submit_on(&node_b, &brunos, &format!("{thread}/reply"), &[("text", "Bruno here, <how> can I help?")]).await;
    assert_eq!(sent, StatusCode::SEE_OTHER);
    let answered = polled(&app, &annas, &conversation, shown).await;
    let messages = answered["messages"].as_array().cloned().unwrap_or_default();
    let his_message = messages.iter().find(|m| m["text"] == "Bruno here, <how> can I help?").expect("his reply");
    assert!(his_message["meta"].as_str().is_some_and(|meta| meta.contains("Bruno")), "{answered}");
    assert_eq!(answered["version"], held["version"], "{answered}");

    // He hands it back: Anna's next poll shows the bot answering again, and take offered.
    assert_eq!(submit_on(&node_b, &brunos, &format!("{thread}/release"), &[]).await, StatusCode::SEE_OTHER);
    let back = polled(&app, &annas, &conversation, shown).await;
    assert_eq!(back["answering"], "bot", "{back}");
    assert_eq!((back["bot_answers"].as_bool(), back["bot_paused"].as_bool()), (Some(true), Some(false)));
    assert_eq!(back["holder"], Value::Null, "{back}");
    assert_eq!(back["status"], "The bot answers.", "{back}");

    // The list: a customer who starts waiting (writing to the other node)
    // shows first, without a reload.
    let page = app.console_get(Some(&annas), "/console/inbox").await;
    assert!(page.body.contains("data-poll=\"/console/inbox/rows\""), "{}", page.body);
    assert!(page.body.contains("<script src=\"/console/assets/inbox.js\"></script>"), "{}", page.body);
    let before = listed(&app, &annas).await;
    assert_eq!(before["rows"][0]["id"], conversation.as_str(), "{before}");
    assert_eq!(before["rows"][0]["handling"], "bot", "{before}");
    let outcome = say_on(&node_b, &shop, "+34 600 100 007", "A person please!").await;
    let newcomer = outcome["conversation_id"].as_str().expect("conversation").to_string();
    let after = listed(&app, &annas).await;
    assert_ne!(after["version"], before["version"], "{after}");
    let first = &after["rows"][0];
    assert_eq!(first["id"], newcomer.as_str(), "the one waiting first: {after}");
    assert_eq!(first["handling"], "pending_agent", "{after}");
    assert!(first["state"].as_str().is_some_and(|state| state.starts_with("waiting")), "{after}");
    assert_eq!(after["rows"][1]["id"], conversation.as_str(), "{after}");
    // A viewer may watch the list too; another shop's people never see these rows.
    let viewer = app.staff(&shop, "Vito", "viewer").await;
    let viewers = app.signed_in(&viewer).await;
    assert_eq!(listed(&app, &viewers).await["rows"][0]["id"], newcomer.as_str());
    let elsewhere = app.create_shop("Elsewhere deli", json!({})).await;
    let stranger = app.staff(&elsewhere, "Stranger", "owner").await;
    let strangers = app.signed_in(&stranger).await;
    assert_eq!(listed(&app, &strangers).await["rows"], json!([]));
    node_b.shutdown(std::time::Duration::from_secs(1)).await;
}
