//! The public endpoints hold back a flood and tell browsers what a page may
//! do: a card tester is slowed per order and per address, a client opening
//! web chats in a loop is slowed, one business's WhatsApp deliveries are
//! limited without touching another's (each limit obeyed, then exceeded,
//! under a small configured limit), and every page carries its security
//! headers.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bottega::commerce::payments::sandbox::CARD_DECLINED;
use bottega_tests::card::{form_key, page, payment_link};
use bottega_tests::whatsapp::*;
use bottega_tests::*;
use serde_json::{Value, json};
use tower::ServiceExt;

fn small_limits(config: &mut bottega::Config) {
    config.http.rate_limits.pay_submits_per_order = 2;
    config.http.rate_limits.web_chat_connects_per_address = 2;
    config.http.rate_limits.whatsapp_deliveries_per_business = 2;
}

fn framed_by_self(config: &mut bottega::Config) {
    config.http.web_chat_frame_ancestors = "'self' https://shop.example".into();
}

bottega_tests::on_both_databases_with!(super::small_limits;
    a_card_tester_is_slowed_per_order,
    a_client_opening_web_chats_in_a_loop_is_slowed,
    one_business_flooding_whatsapp_does_not_slow_another,
);
bottega_tests::on_both_databases!(every_page_carries_its_security_headers);
bottega_tests::on_both_databases_with!(super::framed_by_self; the_operator_chooses_who_frames_the_web_chat);

/// A request through the router (no connection, so no client address): status, headers, body.
async fn answer(app: &TestApp, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.app.router().oneshot(request).await.expect("router answers");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, HeaderMap, String) {
    answer(app, Request::builder().uri(path).body(Body::empty()).expect("request")).await
}

async fn pay(app: &TestApp, order: &str, token: &str, key: &str) -> (StatusCode, HeaderMap, String) {
    let body = format!("token={token}&idempotency_key={key}&number={CARD_DECLINED}&exp_month=12&exp_year=2030&cvc=123");
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/pay/{order}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    answer(app, request).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn grocer(app: &TestApp) -> Shop {
    let shop = app.create_shop("Grocer", json!({})).await;
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": 50, "section": "Fruit"});
    app.post("/v1/products", &shop.key, pear).await;
    app.upload(&shop, plugins::GROCERY_RUST).await;
    shop
}

async fn a_card_tester_is_slowed_per_order(app: TestApp) {
    let shop = grocer(&app).await;
    app.say(&shop, "ana", "add 2 pears").await;
    let (path, token, order_id) = payment_link(&app.say(&shop, "ana", "checkout").await);

    // Two cards tried on this order are answered (declined)...
    let mut key = form_key(&page(&app, &path).await);
    for _ in 0..2 {
        let (status, _, html) = pay(&app, &order_id, &token, &key).await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{html}");
        key = form_key(&html);
    }
    // ...the third is not tried at all: a page saying when to come back.
    let (status, headers, html) = pay(&app, &order_id, &token, &key).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    let wait: u64 = header(&headers, "retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert!(html.contains("Too many payment attempts") && html.contains("No money was taken"), "{html}");
    assert_eq!(header(&headers, "cache-control"), "no-store");

    // A submit with a link that does not open costs this order nothing, and
    // another order has its own budget.
    app.say(&shop, "bea", "add 2 pears").await;
    let (other_path, other_token, other_order) = payment_link(&app.say(&shop, "bea", "checkout").await);
    let other_key = form_key(&page(&app, &other_path).await);
    let (status, _, html) = pay(&app, &other_order, &other_token, &other_key).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{html}");
    let (status, _, _) = pay(&app, &order_id, "not-the-token", &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_client_opening_web_chats_in_a_loop_is_slowed(app: TestApp) {
    let shop = app.create_shop("Chatty", json!({})).await;
    let base = app.serve().await;
    let socket = format!("{base}/chat/{}/ws", shop.id);

    // Over a real connection the client's address is known: two attempts are
    // taken (a plain GET is told to use a WebSocket), the third is refused.
    for _ in 0..2 {
        let response = reqwest::get(&socket).await.expect("answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let refused = reqwest::get(&socket).await.expect("answer");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(refused.headers(), "retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let error: Value = refused.json().await.expect("our JSON error");
    assert_eq!(error["error"]["code"], "rate_limited", "{error}");

    // Without a connection (the router driven directly) there is no address
    // to limit by: every attempt is taken.
    for _ in 0..4 {
        let (status, error) = app.request(Method::GET, &format!("/chat/{}/ws", shop.id), None, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    }
}

async fn one_business_flooding_whatsapp_does_not_slow_another(app: TestApp) {
    let graph = FakeGraph::start().await;
    let busy = app.create_shop("Busy", json!({})).await;
    let quiet = app.create_shop("Quiet", json!({})).await;
    app.connect_whatsapp(&busy, &graph, "1001").await;
    app.connect_whatsapp(&quiet, &graph, "2002").await;

    // Unsigned deliveries are refused and spend nothing of the budget.
    let forged = webhook("1001", "34600111222", vec![text_message("34600111222", "hi")]).to_string();
    for _ in 0..3 {
        let (status, _) = app.deliver_webhook_signed(&busy, forged.as_bytes(), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for n in 0..2 {
        let body = webhook("1001", "34600111222", vec![text_message("34600111222", &format!("hi {n}"))]);
        let (status, received) = app.deliver_webhook(&busy, body.to_string().as_bytes(), APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
    }
    let body = webhook("1001", "34600111222", vec![text_message("34600111222", "one too many")]);
    let (status, refused) = app.deliver_webhook(&busy, body.to_string().as_bytes(), APP_SECRET).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    // Nothing of the refused delivery was stored: Meta delivers it again later.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_events WHERE business_id = $1")
        .bind(&busy.id)
        .fetch_one(app.db())
        .await
        .expect("count");
    assert_eq!(stored, 2);

    let body = webhook("2002", "34600333444", vec![text_message("34600333444", "hello")]);
    let (status, received) = app.deliver_webhook(&quiet, body.to_string().as_bytes(), APP_SECRET).await;
    assert_eq!(status, StatusCode::OK, "another business keeps its own budget: {received}");
}

async fn every_page_carries_its_security_headers(app: TestApp) {
    let shop = grocer(&app).await;
    app.say(&shop, "ana", "add 2 pears").await;
    let (path, _, _) = payment_link(&app.say(&shop, "ana", "checkout").await);

    // The payment page: no script, style from the host, never framed, no referrer, never cached.
    let (status, headers, html) = get(&app, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let policy = header(&headers, "content-security-policy");
    for directive in ["default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("script-src") && !policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert!(!html.contains("<style") && !html.contains("style=") && !html.contains("<script"), "{html}");
    assert!(html.contains("href=\"/pay/assets/pay.css\""), "{html}");
    let (status, headers, css) = get(&app, "/pay/assets/pay.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-type").starts_with("text/css") && css.contains("font-family"));
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");

    // A link that does not open is a page with the same headers.
    let (status, headers, _) = get(&app, "/pay/ord_nope?token=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(header(&headers, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");

    // The web chat page: its own script and style, its own socket, embeddable anywhere by default.
    let (status, headers, html) = get(&app, &format!("/chat/{}", shop.id)).await;
    assert_eq!(status, StatusCode::OK);
    let policy = header(&headers, "content-security-policy");
    for directive in ["script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors *"] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(!html.contains("<style") && !html.contains(" style=") && !html.contains(" onclick="), "{html}");
    for asset in ["/chat/assets/chat.js", "/chat/assets/chat.css"] {
        let (status, headers, _) = get(&app, asset).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff", "{asset}");
    }

    // Any other page (no such shop) loads nothing and is never framed.
    let (status, headers, _) = get(&app, "/chat/biz_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(header(&headers, "content-security-policy").contains("frame-ancestors 'none'"));

    // JSON answers are not sniffed either.
    let (_, headers, _) = get(&app, "/healthz").await;
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
}

async fn the_operator_chooses_who_frames_the_web_chat(app: TestApp) {
    let shop = app.create_shop("Framed", json!({})).await;
    let (status, headers, _) = get(&app, &format!("/chat/{}", shop.id)).await;
    assert_eq!(status, StatusCode::OK);
    let policy = header(&headers, "content-security-policy");
    assert!(policy.ends_with("frame-ancestors 'self' https://shop.example"), "{policy}");
}
