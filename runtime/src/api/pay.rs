//! `/pay/{order}`: the hosted payment page a checkout links to. The card form
//! posts here, to the host only; the card number goes to the payment provider
//! and nowhere else (not the database, not the logs, not the plugin).
//!
//! Every submission carries an idempotency key (a hidden field made when the
//! page is rendered): a double click or a retried request replays the first
//! answer and never charges twice; a retry of a submission that was cut off
//! (a crash) resumes its payment and answers how it really ended. What
//! follows a payment (the business's webhook, the bot's thanks) is done by
//! `commerce`, not here: this module only renders.
//!
//! Card form submits are rate limited per client address (before the link is
//! opened) and per order (once it opened): over a limit the customer gets a
//! 429 page with `Retry-After` (see `rate_limits.rs`). Every answer under
//! `/pay/` carries the headers of `security.rs`: no script, style only from
//! [`STYLE`] served at `/pay/assets/pay.css`, never framed, no referrer, no-store.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::rate_limits::{ClientAddress, Limited};
use crate::App;
use crate::commerce::payments::flow::{self, PayResult};
use crate::commerce::payments::{CardInput, last4};
use crate::commerce::states::{OrderStatus, PaymentStatus};
use crate::store::idempotency::{self, Answer, Outcome, Refusal};
use crate::store::orders::{self, Order, PaymentLink};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/pay/assets/pay.css", axum::routing::get(style))
        .route("/pay/{order_id}", axum::routing::get(page).post(submit))
        .route("/pay/{order_id}/challenge", axum::routing::post(challenge))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// The payment pages' style (served, not inline: the pages' policy allows
/// no inline style).
pub const STYLE: &str = "body{font-family:system-ui;max-width:28rem;margin:2rem auto;padding:0 1rem}\
label{display:block;margin:.5rem 0}td,th{padding:.2rem .5rem}.num{text-align:right}\
.error{color:#b00}.ok{color:#070}.note{color:#666;font-size:.9em}\n";

async fn style() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
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
    let hash = crate::ids::hash_secret(token);
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

async fn submit(
    State(app): State<App>,
    Path(order_id): Path<String>,
    address: ClientAddress,
    Form(form): Form<CardForm>,
) -> Response {
    if let Err(limited) = app.limits.pay_submit_from(address) {
        return too_many_attempts(limited);
    }
    let link = match open(&app, &order_id, &form.token).await {
        Ok(link) => link,
        Err(page) => return page,
    };
    if let Err(limited) = app.limits.pay_submit_for(&link.order.id) {
        return too_many_attempts(limited);
    }
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
    let lease = app.commerce.config().payment_lease;
    let card = CardInput { number: form.number, exp_month: form.exp_month, exp_year: form.exp_year, cvc: form.cvc };
    let (shop, paid_link, card, token) = (&app, &link, &card, form.token.as_str());
    let answered = idempotency::once(&app.db, &scope, key, &fingerprint, lease, |resumed| async move {
        let result = flow::pay(&shop.commerce, &paid_link.business_id, order, card, key, resumed).await?;
        let (status, html) = outcome_page(shop, paid_link, token, result).await;
        let answer = Answer { status_code: status.as_u16(), body: html };
        // The processor failed: the same submission may be retried.
        Ok(if status == StatusCode::BAD_GATEWAY { Outcome::Retryable(answer) } else { Outcome::Final(answer) })
    })
    .await;
    match answered {
        Ok(Ok(answer)) => {
            (StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::OK), Html(answer.body)).into_response()
        }
        Ok(Err(Refusal::InFlight)) => page_with(
            StatusCode::CONFLICT,
            "Payment in progress",
            "<p>This payment is already being processed. Wait a moment and reload.</p>",
        ),
        Ok(Err(Refusal::Mismatch)) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Payment refused",
            "<p>This form was already used for a different card. Reload the page to pay again.</p>",
        ),
        Err(e) => internal(e),
    }
}

async fn challenge(State(app): State<App>, Path(order_id): Path<String>, Form(form): Form<ChallengeForm>) -> Response {
    let link = match open(&app, &order_id, &form.token).await {
        Ok(link) => link,
        Err(page) => return page,
    };
    let passed = form.outcome == "pass";
    let paying = flow::complete_challenge(&app.commerce, &link.business_id, &link.order, &form.payment_id, passed);
    match paying.await {
        Ok(result) => {
            let (status, html) = outcome_page(&app, &link, &form.token, result).await;
            (status, Html(html)).into_response()
        }
        Err(e) => internal(e),
    }
}

/// Renders how a payment ended.
async fn outcome_page(app: &App, link: &PaymentLink, token: &str, result: PayResult) -> (StatusCode, String) {
    let business_id = link.business_id.as_str();
    let shop = link.shop_name.as_str();
    let total = link.format(link.order.total_minor);
    match result {
        PayResult::Paid { order, .. } => {
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
    match (order.status, order.payment_status) {
        (OrderStatus::Cancelled, _) => {
            "<p>This order was cancelled (its reservation may have expired). Check out again in the chat.</p>".into()
        }
        (_, PaymentStatus::Captured | PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded) => {
            "<p>This order is already paid. Thank you!</p>".into()
        }
        _ => "<p>This order is being paid right now.</p>".into(),
    }
}

/// The order page with the card form (and an error from the last attempt).
fn order_page(link: &PaymentLink, order: &Order, token: &str, error: Option<&str>) -> Response {
    let payable = order.status == OrderStatus::Open && order.payment_status.is_unpaid();
    let mut body = format!("<h2>{}</h2><p>Order {}</p><table>", escape(&link.shop_name), order.number);
    for line in &order.cart.lines {
        body.push_str(&format!(
            "<tr><td>{} × {}</td><td class=num>{}</td></tr>",
            line.quantity,
            escape(&line.name),
            escape(&line.line_total.formatted)
        ));
    }
    for discount in &order.cart.discounts {
        body.push_str(&format!(
            "<tr><td>{}</td><td class=num>-{}</td></tr>",
            escape(&discount.label),
            escape(&discount.amount.formatted)
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

impl PaymentLink {
    /// An amount of the order's currency, as the customer's locale writes it.
    fn format(&self, amount_minor: i64) -> String {
        crate::money::format_localized(amount_minor, &self.order.currency, &self.locale)
    }
}

/// 429: a submit over its limit (nothing was charged), with `Retry-After`.
fn too_many_attempts(limited: Limited) -> Response {
    let body = format!(
        "<p>Too many payment attempts. No money was taken. Wait {} seconds, then reload this page and try again.</p>",
        limited.retry_after_secs()
    );
    limited.with_retry_after(page_with(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", &body))
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
         <title>{}</title><link rel=stylesheet href=\"/pay/assets/pay.css\"></head><body>{}</body></html>",
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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;
    use crate::proptests::text;

    fn encoded(fields: &[(&str, &str)]) -> String {
        serde_urlencoded::to_string(fields).expect("a form encodes")
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        /// What `Form` does with a body (axum decodes forms with serde_urlencoded).
        #[test]
        fn any_form_body_decodes_or_is_refused_without_panicking(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let card = serde_urlencoded::from_bytes::<CardForm>(&body);
            let _ = serde_urlencoded::from_bytes::<ChallengeForm>(&body);
            let _ = serde_urlencoded::from_bytes::<TokenQuery>(&body);
            prop_assert!(card.is_err() || !body.is_empty(), "an empty body is not a card form");
        }

        #[test]
        fn the_card_form_decodes_to_what_was_typed(
            token in text(), key in text(), number in text(), cvc in text(),
            month in any::<u32>(), year in any::<u32>(),
        ) {
            let (month_text, year_text) = (month.to_string(), year.to_string());
            let body = encoded(&[
                ("token", token.as_str()), ("idempotency_key", key.as_str()), ("number", number.as_str()),
                ("exp_month", month_text.as_str()), ("exp_year", year_text.as_str()), ("cvc", cvc.as_str()),
            ]);
            let form: CardForm = serde_urlencoded::from_str(&body).expect("the page's form decodes");
            prop_assert_eq!((&form.token, &form.idempotency_key, &form.number, &form.cvc), (&token, &key, &number, &cvc));
            prop_assert_eq!((form.exp_month, form.exp_year), (month, year));
        }

        #[test]
        fn an_expiry_that_is_not_a_number_is_refused(expiry in "[^0-9+]{1,6}|-[0-9]{1,3}|[1-9][0-9]{10,13}") {
            let body = encoded(&[
                ("token", "t"), ("idempotency_key", "k"), ("number", "4242424242424242"),
                ("exp_month", expiry.as_str()), ("exp_year", "2030"), ("cvc", "123"),
            ]);
            prop_assert!(serde_urlencoded::from_str::<CardForm>(&body).is_err(), "{}", body);
        }
    }
}
