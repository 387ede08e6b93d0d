//! Paying for a checkout the way a customer does: follow the checkout reply's
//! payment link, read the page's form, post a card.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::{TestApp, replies};

/// What a checkout reply links to: (payment page path with token, token, order id).
pub fn payment_link(outcome: &Value) -> (String, String, String) {
    let checkout = replies(outcome).into_iter().find(|r| r["type"] == "checkout").expect("a checkout reply");
    let url = checkout["order"]["payment_url"].as_str().expect("payment url").to_string();
    let path = url.split_once("/pay/").map(|(_, rest)| format!("/pay/{rest}")).expect("a /pay/ link");
    let token = path.split_once("token=").map(|(_, t)| t.to_string()).expect("token");
    (path, token, checkout["order"]["id"].as_str().expect("order id").to_string())
}

/// The hidden idempotency key of a rendered payment form.
pub fn form_key(html: &str) -> String {
    let start =
        html.find("name=idempotency_key value=\"").expect("a payment form") + "name=idempotency_key value=\"".len();
    html[start..].split('"').next().expect("key").to_string()
}

/// The payment page at `path`, expected to open.
pub async fn page(app: &TestApp, path: &str) -> String {
    let (status, html) = app.send_raw(Request::builder().uri(path).body(Body::empty()).expect("request")).await;
    assert_eq!(status, 200, "{html}");
    html
}

/// Posts the payment form of `order` with `card`: (status, page).
pub async fn pay(app: &TestApp, order: &str, token: &str, key: &str, card: &str) -> (u16, String) {
    let fields = [
        ("token", token),
        ("idempotency_key", key),
        ("number", card),
        ("exp_month", "12"),
        ("exp_year", "2030"),
        ("cvc", "123"),
    ];
    let (status, html) = app.post_form(&format!("/pay/{order}"), &fields).await;
    (status.as_u16(), html)
}

/// Pays the order of a checkout reply with `card` from its payment page; returns the order id.
pub async fn pay_checkout(app: &TestApp, checkout_outcome: &Value, card: &str) -> String {
    let (path, token, order_id) = payment_link(checkout_outcome);
    let html = page(app, &path).await;
    let (status, paid) = pay(app, &order_id, &token, &form_key(&html), card).await;
    assert_eq!(status, 200, "{paid}");
    order_id
}
