//! Without code: a greeting, an away message outside opening hours, quick
//! replies for agents, and customers asking for a person.

use axum::http::{Method, StatusCode};
use bottega::chat::fallback;
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(
    a_shop_without_a_bot_greets_says_it_is_away_and_waits_for_a_person,
    a_customer_asks_for_a_person_and_the_bot_steps_aside,
);

async fn put(app: &TestApp, shop: &Shop, automations: serde_json::Value) -> (StatusCode, serde_json::Value) {
    app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(automations)).await
}

fn texts(outcome: &serde_json::Value) -> Vec<String> {
    replies(outcome).iter().map(|r| r["text"].as_str().unwrap_or_default().to_string()).collect()
}

async fn a_shop_without_a_bot_greets_says_it_is_away_and_waits_for_a_person(app: TestApp) {
    let shop = app.create_shop("Florist", json!({})).await;
    // Settings are checked, and the bad one named.
    let (status, error) =
        put(&app, &shop, json!({"away": {"message": "Closed", "time_zone": "Mars/Base", "hours": {}}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]["message"].as_str().unwrap_or_default().contains("Mars/Base"), "{error}");
    let (status, error) = put(
        &app,
        &shop,
        json!({"away": {"message": "Closed", "time_zone": "UTC", "hours": {"mon": [["18:00", "09:00"]]}}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    // Never open (no hours): every first message of the day hears the away message.
    let settings = json!({
        "greeting": "Welcome to the florist!",
        "away": {"message": "We're closed now; we'll answer in the morning.", "time_zone": "Europe/Madrid", "hours": {}},
        "quick_replies": {"thanks": "Thank you! Your flowers are on their way."},
    });
    let (status, saved) = put(&app, &shop, settings.clone()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(app.get("/v1/automations", &shop.key).await.1["greeting"], settings["greeting"]);

    let first = app.say(&shop, "+34 611 000 111", "hello, do you have roses?").await;
    assert_eq!(texts(&first), ["Welcome to the florist!", "We're closed now; we'll answer in the morning."]);
    // Said once: the next message waits quietly for a person.
    let second = app.say(&shop, "+34 611 000 111", "red ones").await;
    assert_eq!(texts(&second), Vec::<String>::new());

    // The agents' inbox: conversations waiting for a person.
    let (_, waiting) = app.get("/v1/conversations?handling=pending_agent", &shop.key).await;
    assert_eq!(waiting.as_array().map(Vec::len), Some(1), "{waiting}");
    let conversation = waiting[0]["id"].as_str().expect("conversation").to_string();
    let (_, none) = app.get("/v1/conversations?handling=agent", &shop.key).await;
    assert_eq!(none, json!([]));

    // Maria takes it; Luis cannot take it from her.
    let maria = app.staff(&shop, "maria", "agent").await;
    let luis = app.staff(&shop, "luis", "agent").await;
    let take = format!("/v1/conversations/{conversation}/take");
    let (status, held) = app.post(&take, &shop.key, json!({"agent": maria.email})).await;
    assert_eq!(
        (status, held["agent"].as_str(), held["handling"].as_str()),
        (StatusCode::OK, Some(maria.id.as_str()), Some("agent"))
    );
    let (status, refused) = app.post(&take, &shop.key, json!({"agent": luis.email})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("held_by_another_agent")));

    // A quick reply by name, signed by the holder.
    let replies_path = format!("/v1/conversations/{conversation}/replies");
    let (status, sent) = app.post(&replies_path, &shop.key, json!({"quick_reply": "thanks"})).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(
        (sent["body"]["text"].as_str(), sent["body"]["agent"].as_str()),
        (Some("Thank you! Your flowers are on their way."), Some("maria"))
    );
    let (status, error) = app.post(&replies_path, &shop.key, json!({"quick_reply": "nope"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, _) = app.post(&replies_path, &shop.key, json!({"text": "hi", "quick_reply": "thanks"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Released: nobody holds it any more.
    let (status, released) = app.post(&format!("/v1/conversations/{conversation}/release"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(released["conversation"]["agent"], serde_json::Value::Null);

    // Always open: no away message; removing the automations brings back the plain fallback.
    let open_all_week: serde_json::Map<String, serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), json!([["00:00", "24:00"]])))
        .collect();
    let settings = json!({"away": {"message": "Closed", "time_zone": "Asia/Tokyo", "hours": open_all_week}});
    assert_eq!(put(&app, &shop, settings).await.0, StatusCode::OK);
    let open = app.say(&shop, "+34 622 000 222", "hi").await;
    assert_eq!(texts(&open), [fallback::WITH_AGENT], "no away message while open");
    assert_eq!(app.request(Method::DELETE, "/v1/automations", Some(&shop.key), None).await.0, StatusCode::NO_CONTENT);
    let plain = app.say(&shop, "+34 633 000 333", "hi").await;
    assert_eq!(texts(&plain), [fallback::NO_PLUGIN]);
}

async fn a_customer_asks_for_a_person_and_the_bot_steps_aside(app: TestApp) {
    let shop = app.create_shop("Tea house", json!({})).await;
    app.add_product(&shop, "tea", "Tea", 300, "Drinks").await;
    app.upload(&shop, plugins::TEST_QUOTA).await;
    let settings = json!({"greeting": "Hello from the tea house.", "handoff_keywords": ["human", "talk to a person"]});
    assert_eq!(put(&app, &shop, settings).await.0, StatusCode::OK);

    // The greeting, then the bot.
    let first = app.say(&shop, "ana", "count").await;
    assert_eq!(texts(&first), ["Hello from the tea house.", "answered 1"]);
    assert_eq!(texts(&app.say(&shop, "ana", "count").await), ["answered 2"], "greeted once");

    // "Talk to a person!": the bot is not called; a person is waited for.
    let asked = app.say(&shop, "ana", "Talk to a PERSON!").await;
    assert_eq!(texts(&asked), [fallback::WITH_AGENT]);
    let conversation = asked["conversation_id"].as_str().expect("conversation").to_string();
    let (_, waiting) = app.get("/v1/conversations?handling=pending_agent", &shop.key).await;
    assert_eq!(waiting[0]["id"], conversation.as_str());
    assert_eq!(texts(&app.say(&shop, "ana", "hello?").await), [fallback::WITH_AGENT]);

    // A person answers, then gives the conversation back: the bot carries on.
    let mei = app.staff(&shop, "Mei", "agent").await;
    let (status, taken) =
        app.post(&format!("/v1/conversations/{conversation}/take"), &shop.key, json!({"agent": mei.email})).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(texts(&app.say(&shop, "ana", "count").await), Vec::<String>::new(), "the bot is paused");
    app.post(&format!("/v1/conversations/{conversation}/release"), &shop.key, json!({})).await;
    assert_eq!(texts(&app.say(&shop, "ana", "count").await), ["answered 3"]);
}
