//! The operator's console (`/console/operator`): signed in once with the
//! admin token (a wrong token opens nothing), the operator sees the node's
//! health, creates a business with its owner invited, suspends it (its API
//! answers 403 `business_suspended`, its console is closed, its bot and
//! automations say nothing while its customers' messages are kept) and
//! resumes it; forms without the session's CSRF token are refused.

use axum::http::StatusCode;
use bottega_tests::console::Console;
use bottega_tests::whatsapp::{FakeGraph, text_message};
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(
    the_operator_signs_in_with_the_admin_token_and_sees_the_node,
    the_operator_suspends_a_business_and_resumes_it,
);

const PHONE_ID: &str = "106540352242988";
const CUSTOMER: &str = "34600111555";

/// The text between `<tag id={id}>` and the next `<`.
fn text_of(page: &str, id: &str) -> Option<String> {
    let start = page.find(&format!("id={id}>"))? + id.len() + 4;
    let end = page[start..].find('<')?;
    Some(page[start..start + end].to_string())
}

async fn outbound_messages(app: &TestApp, shop: &Shop) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE business_id = $1 AND direction = 'outbound'")
        .bind(&shop.id)
        .fetch_one(app.db())
        .await
        .expect("count")
}

async fn the_operator_signs_in_with_the_admin_token_and_sees_the_node(app: TestApp) {
    // A wrong token opens nothing; the page itself sends to the sign-in form.
    let wrong = app.console_post(None, "/console/operator/sign-in", &[("token", "not-the-token")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert!(wrong.set_cookie.is_none());
    let page = app.console_get(None, "/console/operator").await;
    assert_eq!(page.location.as_deref(), Some("/console/operator/sign-in"));

    let signed = app.console_post(None, "/console/operator/sign-in", &[("token", ADMIN_TOKEN)]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let cookie = signed.set_cookie.clone().expect("a cookie");
    for flag in ["bottega_operator=ops_", "HttpOnly", "SameSite=Strict", "Path=/console/operator"] {
        assert!(cookie.contains(flag), "{flag}: {cookie}");
    }
    assert!(!cookie.contains(ADMIN_TOKEN), "the admin token is never the cookie: {cookie}");
    let operator = app.operator_signed_in().await;

    // The node's health: the database and the queues' depths.
    let page = app.console_get(Some(&operator), "/console/operator").await;
    assert!(page.body.contains("reachable"), "{}", page.body);
    for card in ["inbound-events", "outbox", "webhook-deliveries"] {
        assert!(page.body.contains(&format!("id={card}>")), "{card}: {}", page.body);
    }

    // A business created from the page, its owner invited; its key works.
    let fields =
        [("name", "Forno <Rosa>"), ("currency", "eur"), ("locale", "it-IT"), ("owner_email", "rosa@forno.test")];
    let created = app.console_submit(&operator, "/console/operator/businesses", &fields).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(created.body.contains("Forno &lt;Rosa&gt;"), "{}", created.body);
    assert!(created.body.contains("id=owner-invitation"), "{}", created.body);
    let key = text_of(&created.body, "api-key").expect("the key, once");
    let (status, _) = app.get("/v1/products", &key).await;
    assert_eq!(status, StatusCode::OK);
    let page = app.console_get(Some(&operator), "/console/operator").await;
    assert!(!page.body.contains(&key), "the key is shown once");

    // Bad input is a page with its code, never a 5xx.
    let bad =
        app.console_submit(&operator, "/console/operator/businesses", &[("name", "X"), ("currency", "ZZZ")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);

    // Signed out, the session opens nothing any more.
    let out = app.console_submit(&operator, "/console/operator/sign-out", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/console/operator/sign-in"));
    let page = app.console_get(Some(&operator), "/console/operator").await;
    assert_eq!(page.location.as_deref(), Some("/console/operator/sign-in"));
}

async fn the_operator_suspends_a_business_and_resumes_it(app: TestApp) {
    let shop = app.create_shop("Suspended florist", json!({})).await;
    let away = json!({"away": {"message": "We are closed", "time_zone": "Europe/Madrid", "hours": {}}});
    let (status, saved) = app.request(axum::http::Method::PUT, "/v1/automations", Some(&shop.key), Some(away)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let graph = FakeGraph::start().await;
    app.connect_whatsapp(&shop, &graph, PHONE_ID).await;
    let owner = app.staff(&shop, "Flora", "owner").await;
    let owners = app.signed_in(&owner).await;
    let operator: Console = app.operator_signed_in().await;
    let suspend = format!("/console/operator/businesses/{}/suspend", shop.id);

    // Without the session's token the form is refused, and nothing changes.
    let refused = app.console_post(Some(&operator), &suspend, &[("csrf", "forged")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("csrf_refused"), "{}", refused.body);
    assert_eq!(app.get("/v1/products", &shop.key).await.0, StatusCode::OK);

    let suspended = app.console_submit(&operator, &suspend, &[]).await;
    assert_eq!(suspended.location.as_deref(), Some("/console/operator"), "{}", suspended.body);
    let page = app.console_get(Some(&operator), "/console/operator").await;
    assert!(page.body.contains(&format!("/console/operator/businesses/{}/resume", shop.id)), "{}", page.body);

    // Its API and its console are closed.
    let (status, refused) = app.get("/v1/products", &shop.key).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("business_suspended")));
    let (_, seen) = app.get(&format!("/v1/admin/businesses/{}", shop.id), ADMIN_TOKEN).await;
    assert!(seen["suspended_at"].is_string(), "{seen}");
    let home = app.console_get(Some(&owners), "/console").await;
    assert_eq!(home.status, StatusCode::FORBIDDEN, "{}", home.body);
    assert!(home.body.contains("business_suspended"), "{}", home.body);

    // A customer's message is kept, and nothing answers it.
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "hello?")).await;
    app.queues_settled().await;
    let inbound: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE business_id = $1 AND direction = 'inbound'")
            .bind(&shop.id)
            .fetch_one(app.db())
            .await
            .expect("count");
    assert_eq!(inbound, 1);
    assert_eq!(outbound_messages(&app, &shop).await, 0, "a suspended shop says nothing");

    // Resumed: the API, the console and the automations work again.
    let resume = format!("/console/operator/businesses/{}/resume", shop.id);
    assert_eq!(app.console_submit(&operator, &resume, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/v1/products", &shop.key).await.0, StatusCode::OK);
    assert_eq!(app.console_get(Some(&owners), "/console").await.status, StatusCode::OK);
    app.whatsapp_says(&shop, PHONE_ID, CUSTOMER, text_message(CUSTOMER, "anyone?")).await;
    app.queues_settled().await;
    assert!(outbound_messages(&app, &shop).await > 0, "the shop answers again");
}
