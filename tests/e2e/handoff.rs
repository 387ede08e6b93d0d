//! Taking a conversation over by hand: a take names its agent (a staff
//! member, by email or staff id; anyone else is refused), an agent
//! cannot take a conversation another holds, only its holder gives it back
//! (or the business, naming no one), and a take or a release is sent as JSON
//! like every other body.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases!(
    a_take_that_names_no_agent_is_refused,
    a_take_or_a_reply_naming_someone_not_on_the_team_is_refused,
    an_agent_cannot_take_a_conversation_another_holds,
    the_holder_releases_the_conversation_and_no_other_agent_can,
    a_take_or_a_release_is_json_like_every_other_body,
);

/// A customer's conversation with a shop; returns its id.
async fn conversation(app: &TestApp, shop: &Shop) -> String {
    let outcome = app.say(shop, "+34 600 700 800", "hello, is anyone there?").await;
    outcome["conversation_id"].as_str().expect("conversation").to_string()
}

async fn take(app: &TestApp, shop: &Shop, conversation: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.request(Method::POST, &format!("/v1/conversations/{conversation}/take"), Some(&shop.key), body).await
}

async fn release(app: &TestApp, shop: &Shop, conversation: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/v1/conversations/{conversation}/release"), &shop.key, body).await
}

async fn held(app: &TestApp, shop: &Shop, conversation: &str) -> (Option<String>, Option<String>) {
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    (now["handling"].as_str().map(str::to_string), now["agent"].as_str().map(str::to_string))
}

fn code(answer: &Value) -> Option<&str> {
    answer["error"]["code"].as_str()
}

async fn a_take_that_names_no_agent_is_refused(app: TestApp) {
    let shop = app.create_shop("Corner shop", json!({})).await;
    let maria = app.staff(&shop, "Maria", "agent").await;
    let id = conversation(&app, &shop).await;

    // No body, an empty object, a blank name: nobody would be holding it.
    for body in [None, Some(json!({})), Some(json!({"agent": null})), Some(json!({"agent": "   "}))] {
        let (status, answer) = take(&app, &shop, &id, body.clone()).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, Some("agent_required")), "{body:?}");
    }
    // A name too long, or with control characters, is not a name.
    for agent in ["x".repeat(65), "maria\u{7}".to_string(), "ma\nria".to_string()] {
        let (status, answer) = take(&app, &shop, &id, Some(json!({"agent": agent}))).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_agent")), "{agent:?}");
    }
    assert_eq!(held(&app, &shop, &id).await, (Some("bot".into()), None), "nothing changed");

    // Named, it is taken, and held by her staff id.
    let (status, taken) = take(&app, &shop, &id, Some(json!({"agent": maria.email}))).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!((taken["handling"].as_str(), taken["agent"].as_str()), (Some("agent"), Some(maria.id.as_str())));
}

async fn a_take_or_a_reply_naming_someone_not_on_the_team_is_refused(app: TestApp) {
    let shop = app.create_shop("Corner shop", json!({})).await;
    let other_shop = app.create_shop("Rival shop", json!({})).await;
    let maria = app.staff(&shop, "Maria", "agent").await;
    let rival = app.staff(&other_shop, "Rita", "owner").await;
    let id = conversation(&app, &shop).await;

    // A free name, an unknown email, another shop's person: nobody on this team.
    for agent in ["maria", "nobody@shop.test", rival.email.as_str(), rival.id.as_str(), "stf_unknown"] {
        let (status, answer) = take(&app, &shop, &id, Some(json!({"agent": agent}))).await;
        assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_staff")), "{agent}");
    }
    assert_eq!(held(&app, &shop, &id).await, (Some("bot".into()), None), "nothing changed");

    // By staff id she takes it; a reply signed by someone unknown is refused, hers is signed with her name.
    assert_eq!(take(&app, &shop, &id, Some(json!({"agent": maria.id}))).await.0, StatusCode::OK);
    let replies = format!("/v1/conversations/{id}/replies");
    let (status, answer) = app.post(&replies, &shop.key, json!({"text": "hi", "agent": "luis"})).await;
    assert_eq!((status, code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_staff")), "{answer}");
    let (status, sent) = app.post(&replies, &shop.key, json!({"text": "Hi, Maria here."})).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["body"]["agent"], "Maria", "{sent}");
}

async fn an_agent_cannot_take_a_conversation_another_holds(app: TestApp) {
    let shop = app.create_shop("Bookshop", json!({})).await;
    let maria = app.staff(&shop, "Maria", "agent").await;
    let luis = app.staff(&shop, "Luis", "agent").await;
    let id = conversation(&app, &shop).await;
    assert_eq!(take(&app, &shop, &id, Some(json!({"agent": maria.email}))).await.0, StatusCode::OK);

    // Luis is told who holds it (by her name), and it stays hers.
    let (status, refused) = take(&app, &shop, &id, Some(json!({"agent": luis.email}))).await;
    assert_eq!((status, code(&refused)), (StatusCode::CONFLICT, Some("held_by_another_agent")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("Maria"), "{refused}");
    // An empty take does not take it from her either.
    assert_eq!(take(&app, &shop, &id, None).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(held(&app, &shop, &id).await, (Some("agent".into()), Some(maria.id.clone())));

    // Maria taking it again (by staff id this time) changes nothing.
    let (status, again) = take(&app, &shop, &id, Some(json!({"agent": maria.id}))).await;
    assert_eq!((status, again["agent"].as_str()), (StatusCode::OK, Some(maria.id.as_str())));

    // Two agents racing for a conversation nobody holds: exactly one wins.
    let ana = app.staff(&shop, "Ana", "agent").await;
    let bea = app.staff(&shop, "Bea", "agent").await;
    let other = app.say(&shop, "+34 600 700 900", "hi").await["conversation_id"].as_str().expect("id").to_string();
    let (a, b) = tokio::join!(
        take(&app, &shop, &other, Some(json!({"agent": ana.email}))),
        take(&app, &shop, &other, Some(json!({"agent": bea.email}))),
    );
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let winner = if a.0 == StatusCode::OK { &ana.id } else { &bea.id };
    assert_eq!(held(&app, &shop, &other).await, (Some("agent".into()), Some(winner.clone())));
}

async fn the_holder_releases_the_conversation_and_no_other_agent_can(app: TestApp) {
    let shop = app.create_shop("Florist", json!({})).await;
    let maria = app.staff(&shop, "Maria", "agent").await;
    let luis = app.staff(&shop, "Luis", "agent").await;
    let id = conversation(&app, &shop).await;
    assert_eq!(take(&app, &shop, &id, Some(json!({"agent": maria.email}))).await.0, StatusCode::OK);

    // Luis cannot give Maria's conversation back.
    let (status, refused) = release(&app, &shop, &id, json!({"agent": luis.email})).await;
    assert_eq!((status, code(&refused)), (StatusCode::CONFLICT, Some("held_by_another_agent")), "{refused}");
    assert_eq!(held(&app, &shop, &id).await, (Some("agent".into()), Some(maria.id.clone())));

    // Maria can: the bot answers again and nobody holds it.
    let (status, released) = release(&app, &shop, &id, json!({"agent": maria.email})).await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(
        (released["conversation"]["handling"].as_str(), released["conversation"]["agent"].as_str()),
        (Some("bot"), None)
    );
    // Now Luis may take it, and the business (naming no one) may release it.
    assert_eq!(take(&app, &shop, &id, Some(json!({"agent": luis.id}))).await.0, StatusCode::OK);
    let (status, released) = release(&app, &shop, &id, json!({})).await;
    assert_eq!((status, released["conversation"]["handling"].as_str()), (StatusCode::OK, Some("bot")));
}

/// A take or a release (`action`) whose body is sent as `content_type` (none at all for `None`).
async fn sent_as(
    app: &TestApp,
    shop: &Shop,
    conversation: &str,
    action: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/conversations/{conversation}/{action}"))
        .header("authorization", format!("Bearer {}", shop.key));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    app.send(request.body(Body::from(body.to_string())).expect("request builds")).await
}

async fn a_take_or_a_release_is_json_like_every_other_body(app: TestApp) {
    let shop = app.create_shop("Stationer", json!({})).await;
    let maria = app.staff(&shop, "Maria", "agent").await;
    let id = conversation(&app, &shop).await;

    // Maria's name sent as plain text, as a form, or with no content type:
    // refused as every other body is, and nobody holds the conversation.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let (status, answer) = sent_as(&app, &shop, &id, "take", content_type, r#"{"agent": "maria"}"#).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")),
            "{content_type:?}: {answer}"
        );
    }
    assert_eq!(held(&app, &shop, &id).await, (Some("bot".into()), None), "nobody took it");

    // A name with a NUL in it is refused at the boundary, as every text is.
    let (status, answer) = take(&app, &shop, &id, Some(json!({"agent": "ma\u{0}ria"}))).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, Some("invalid_text")), "{answer}");
    assert_eq!(held(&app, &shop, &id).await, (Some("bot".into()), None), "nobody took it");

    // Sent as JSON she takes it; her release sent as plain text is refused, and it stays hers.
    assert_eq!(take(&app, &shop, &id, Some(json!({"agent": maria.email}))).await.0, StatusCode::OK);
    let body = json!({"agent": maria.email}).to_string();
    let (status, answer) = sent_as(&app, &shop, &id, "release", Some("text/plain"), &body).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")),
        "{answer}"
    );
    assert_eq!(held(&app, &shop, &id).await, (Some("agent".into()), Some(maria.id.clone())));
}
