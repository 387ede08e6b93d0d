//! `/pay/{order}`: the hosted payment page a checkout links to. The card form
//! posts here, to the host only; the card number goes to the payment provider
//! and nowhere else (not the database, not the logs, not the plugin).
//!
//! Every submission carries an idempotency key (a hidden field made when the
//! page is rendered): a double click or a retried request replays the first
//! answer and never charges twice.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::App;
use crate::commerce::payments::flow::{self, PayResult};
use crate::commerce::payments::{CardInput, last4};
use crate::plugin::bindings::{Money as WitMoney, OrderRef, PaymentFailure, ShopEvent};
use crate::store::idempotency::{self, Claim};
use crate::store::orders::{self, Order, PaymentLink};
use crate::store::{businesses, conversations};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/pay/{order_id}", axum::routing::get(page).post(submit))
        .route("/pay/{order_id}/challenge", axum::routing::post(challenge))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: String,
}

#[derive(Deserialize)]
pub struct CardForm {
    token: String,
    idempotency_key: String,
    number: String,
    exp_month: u32,
    exp_year: u32,
    cvc: String,
}

#[derive(Debug, Deserialize)]
pub struct ChallengeForm {
    token: String,
    payment_id: String,
    outcome: String,
}

/// The order a link opens, with its shop and the customer's locale (one
/// query), or an error page.
async fn open(app: &App, order_id: &str, token: &str) -> Result<PaymentLink, Response> {
    let hash = crate::ids::hash_api_key(token);
    match orders::by_payment_link(&app.db, order_id, &hash).await {
        Ok(Some(link)) => Ok(link),
        Ok(None) => {
            Err(page_with(StatusCode::NOT_FOUND, "Payment link not valid", "<p>This payment link is not valid.</p>"))
        }
        Err(e) => Err(internal(e)),
    }
}

async fn page(
    State(app): State<App>,
    Path(order_id): Path<String>,
    query: axum::extract::Query<TokenQuery>,
) -> Response {
    match open(&app, &order_id, &query.token).await {
        Ok(link) => order_page(&link, &link.order, &query.token, None),
        Err(page) => page,
    }
}

async fn submit(State(app): State<App>, Path(order_id): Path<String>, Form(form): Form<CardForm>) -> Response {
    let link = match open(&app, &order_id, &form.token).await {
        Ok(link) => link,
        Err(page) => return page,
    };
    let order = &link.order;
    let key = form.idempotency_key.trim();
    if key.is_empty() || key.len() > 255 {
        return page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Payment refused",
            "<p>The form is missing its idempotency key; reload the page.</p>",
        );
    }
    // What makes two submissions "the same request": never the card number itself.
    let fingerprint = hex::encode(Sha256::digest(format!(
        "{}|{}|{}|{}|{}",
        order.id,
        order.total_minor,
        last4(&form.number),
        form.exp_month,
        form.exp_year
    )));
    let scope = format!("pay:{}", order.id);
    match idempotency::claim(&app.db, &scope, key, &fingerprint).await {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Replay { status_code, response }) => {
            return (StatusCode::from_u16(status_code).unwrap_or(StatusCode::OK), Html(response)).into_response();
        }
        Ok(Claim::InFlight) => {
            return page_with(
                StatusCode::CONFLICT,
                "Payment in progress",
                "<p>This payment is already being processed. Wait a moment and reload.</p>",
            );
        }
        Ok(Claim::Mismatch) => {
            return page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Payment refused",
                "<p>This form was already used for a different card. Reload the page to pay again.</p>",
            );
        }
        Err(e) => return internal(e),
    }
    let card = CardInput { number: form.number, exp_month: form.exp_month, exp_year: form.exp_year, cvc: form.cvc };
    let result = flow::pay(&app.db, app.payments.as_ref(), &link.business_id, order, &card, key).await;
    let response = match result {
        Ok(result) => outcome_page(&app, &link, &form.token, result).await,
        Err(e) => {
            let _ = idempotency::release(&app.db, &scope, key).await;
            return internal(e);
        }
    };
    if response.0 == StatusCode::BAD_GATEWAY {
        // The processor failed: the same submission may be retried.
        let _ = idempotency::release(&app.db, &scope, key).await;
    } else if let Err(e) = idempotency::complete(&app.db, &scope, key, response.0.as_u16(), &response.1).await {
        tracing::error!("could not record an idempotent payment response: {e}");
    }
    (response.0, Html(response.1)).into_response()
}

async fn challenge(State(app): State<App>, Path(order_id): Path<String>, Form(form): Form<ChallengeForm>) -> Response {
    let link = match open(&app, &order_id, &form.token).await {
        Ok(link) => link,
        Err(page) => return page,
    };
    let passed = form.outcome == "pass";
    let paying = flow::complete_challenge(
        &app.db,
        app.payments.as_ref(),
        &link.business_id,
        &link.order,
        &form.payment_id,
        passed,
    );
    match paying.await {
        Ok(result) => {
            let (status, html) = outcome_page(&app, &link, &form.token, result).await;
            (status, Html(html)).into_response()
        }
        Err(e) => internal(e),
    }
}

/// Renders what happened, and tells the shop's bot (which tells the customer in the chat).
async fn outcome_page(app: &App, link: &PaymentLink, token: &str, result: PayResult) -> (StatusCode, String) {
    let business_id = link.business_id.as_str();
    let shop = link.shop_name.as_str();
    let total = link.format(link.order.total_minor);
    match result {
        PayResult::Paid { order, .. } => {
            crate::webhooks::notify_order(&app.db, business_id, "order.paid", &order).await;
            let event = ShopEvent::OrderPaid(OrderRef { order_id: order.id.clone(), total: wit_money(&order) });
            tell_bot(app, business_id, &order, event).await;
            let body = format!(
                "<p class=ok>Payment of {} received for order {} at {}. Thank you!</p><p>You can close this page and go back to the chat.</p>",
                escape(&total),
                order.number,
                escape(shop)
            );
            (StatusCode::OK, wrap("Paid", &link.locale, &body))
        }
        PayResult::Challenge { payment_id } => {
            let body = format!(
                "<p>Your bank asks you to confirm this payment of {} (3-D Secure, sandbox).</p>\
                 <form method=post action=\"/pay/{id}/challenge\"><input type=hidden name=token value=\"{token}\">\
                 <input type=hidden name=payment_id value=\"{pid}\">\
                 <button name=outcome value=pass>Confirm</button> <button name=outcome value=fail>Cancel</button></form>",
                escape(&total),
                id = escape(&link.order.id),
                token = escape(token),
                pid = escape(&payment_id),
            );
            (StatusCode::OK, wrap("Confirm with your bank", &link.locale, &body))
        }
        PayResult::Declined { code, order } => {
            let order = order.map_or_else(|| link.order.clone(), |o| *o);
            let reason = code.message().to_string();
            crate::webhooks::notify_order(&app.db, business_id, "order.payment_failed", &order).await;
            let event = ShopEvent::PaymentFailed(PaymentFailure { order_id: order.id.clone(), reason: reason.clone() });
            tell_bot(app, business_id, &order, event).await;
            let response = order_page(link, &order, token, Some(&reason));
            let status = response.status();
            let html = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            (if status == StatusCode::OK { StatusCode::PAYMENT_REQUIRED } else { status }, html.unwrap_or_default())
        }
        PayResult::ProcessorError => (
            StatusCode::BAD_GATEWAY,
            wrap(
                "Try again",
                &link.locale,
                "<p>The payment processor did not answer. No money was taken; please try again.</p>",
            ),
        ),
        PayResult::NotPayable => {
            // Rare: read what happened to the order meanwhile.
            let fresh = orders::get(&app.db, business_id, &link.order.id).await.ok().flatten();
            let order = fresh.as_ref().unwrap_or(&link.order);
            (StatusCode::CONFLICT, wrap("Order not payable", &link.locale, &not_payable(order)))
        }
    }
}

fn not_payable(order: &Order) -> String {
    match (order.status.as_str(), order.payment_status.as_str()) {
        ("cancelled", _) => {
            "<p>This order was cancelled (its reservation may have expired). Check out again in the chat.</p>".into()
        }
        (_, "captured" | "refunded" | "partially_refunded") => "<p>This order is already paid. Thank you!</p>".into(),
        _ => "<p>This order is being paid right now.</p>".into(),
    }
}

/// The order page with the card form (and an error from the last attempt).
fn order_page(link: &PaymentLink, order: &Order, token: &str, error: Option<&str>) -> Response {
    let payable = order.status == "open" && matches!(order.payment_status.as_str(), "pending" | "failed");
    let mut body = format!("<h2>{}</h2><p>Order {}</p><table>", escape(&link.shop_name), order.number);
    for line in order.cart["lines"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<tr><td>{} × {}</td><td class=num>{}</td></tr>",
            line["quantity"],
            escape(line["name"].as_str().unwrap_or_default()),
            escape(line["line_total"]["formatted"].as_str().unwrap_or_default())
        ));
    }
    for discount in order.cart["discounts"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<tr><td>{}</td><td class=num>-{}</td></tr>",
            escape(discount["label"].as_str().unwrap_or_default()),
            escape(discount["amount"]["formatted"].as_str().unwrap_or_default())
        ));
    }
    let total = link.format(order.total_minor);
    body.push_str(&format!("<tr><th>Total</th><th class=num>{}</th></tr></table>", escape(&total)));
    if !payable {
        body.push_str(&not_payable(order));
        return (StatusCode::OK, Html(wrap("Order", &link.locale, &body))).into_response();
    }
    if let Some(error) = error {
        body.push_str(&format!("<p class=error>{}</p>", escape(error)));
    }
    body.push_str(&format!(
        "<form method=post action=\"/pay/{id}\"><input type=hidden name=token value=\"{token}\">\
         <input type=hidden name=idempotency_key value=\"{key}\">\
         <label>Card number <input name=number inputmode=numeric autocomplete=cc-number required></label>\
         <label>Expiry month <input name=exp_month inputmode=numeric size=2 required></label>\
         <label>Expiry year <input name=exp_year inputmode=numeric size=4 required></label>\
         <label>Security code <input name=cvc inputmode=numeric size=4 autocomplete=cc-csc required></label>\
         <button>Pay {total}</button></form><p class=note>Sandbox: no real money moves. Test card 4242 4242 4242 4242.</p>",
        id = escape(&order.id),
        token = escape(token),
        key = uuid::Uuid::new_v4(),
        total = escape(&total),
    ));
    (StatusCode::OK, Html(wrap("Pay", &link.locale, &body))).into_response()
}

/// Tells the shop's bot about an order event; its replies go into the conversation.
pub(super) async fn tell_bot(app: &App, business_id: &str, order: &Order, event: ShopEvent) {
    let told = async {
        let business = businesses::get(&app.db, business_id).await?;
        let conversation = conversations::get(&app.db, business_id, &order.conversation_id).await?;
        if let (Some(business), Some(conversation)) = (business, conversation) {
            app.chat.deliver_event(&business, &conversation, event).await.map_err(|e| match e {
                crate::chat::ChatError::Store(s) => s,
                other => crate::store::StoreError::Corrupt(other.to_string()),
            })?;
        }
        Ok::<(), crate::store::StoreError>(())
    };
    if let Err(e) = told.await {
        tracing::error!(order = %order.id, "could not tell the shop's bot about a payment: {e}");
    }
}

impl PaymentLink {
    /// An amount of the order's currency, as the customer's locale writes it.
    fn format(&self, amount_minor: i64) -> String {
        crate::money::format_localized(amount_minor, &self.order.currency, &self.locale)
    }
}

fn wit_money(order: &Order) -> WitMoney {
    WitMoney { amount_minor: order.total_minor, currency: order.currency.clone() }
}

fn page_with(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(wrap(title, "en", body))).into_response()
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!("payment page: {error}");
    page_with(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>Something went wrong on our side. No money was taken.</p>",
    )
}

/// A whole page; `lang` is the customer's BCP 47 locale (checked when stored).
fn wrap(title: &str, lang: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{}</title><style>body{{font-family:system-ui;max-width:28rem;margin:2rem auto;padding:0 1rem}}\
         label{{display:block;margin:.5rem 0}}td,th{{padding:.2rem .5rem}}.num{{text-align:right}}\
         .error{{color:#b00}}.ok{{color:#070}}.note{{color:#666;font-size:.9em}}</style></head><body>{}</body></html>",
        escape(lang),
        escape(title),
        body
    )
}

/// HTML-escapes text from the catalog or the customer.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
