//! The console's orders: the list filtered by state, an order with its lines,
//! payments and timeline of every state change, ship, deliver and cancel
//! (through `commerce`'s one transition), a full or partial refund with a
//! confirmation step (through `api/orders.rs`'s `refund_once`, the API's own,
//! with an idempotency key made when the confirmation is shown), and a CSV
//! export.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::error::ApiError;
use super::super::orders::{order_of, refund_once};
use super::words::Word;
use super::{ConsoleError, Page, Signed, escape, layout};
use crate::App;
use crate::commerce::orders::{self as lifecycle, OrderAction};
use crate::domain::staff::Action;
use crate::money;
use crate::store::orders::{self as stored, Order};
use crate::store::payments;

/// Orders listed (and exported) at most.
const LISTED: u32 = 200;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only orders with this state word (any of the order's, its payment's or its fulfilment's).
    #[serde(default)]
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct RefundQuery {
    /// The amount in the currency's major units, as typed ("12.50").
    #[serde(default)]
    amount: String,
}

#[derive(Debug, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount_minor: i64,
    #[serde(default)]
    key: String,
}

/// The state words an order can be filtered by.
const STATES: &[&str] = &[
    "open",
    "completed",
    "cancelled",
    "pending",
    "captured",
    "refunded",
    "partially_refunded",
    "unfulfilled",
    "shipped",
    "delivered",
];

fn has_state(order: &Order, state: &str) -> bool {
    order.status.as_str() == state
        || order.payment_status.as_str() == state
        || order.fulfillment_status.as_str() == state
}

fn amount(minor: i64, currency: &str, locale: &str) -> String {
    escape(&money::format_localized(minor, currency, locale))
}

pub async fn list(
    State(app): State<App>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewOrders)?;
    let clock = signed.clock();
    let time = |ms: i64| clock.time(ms);
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business = &signed.business;
    let state = query.state.filter(|s| !s.is_empty());
    let orders: Vec<Order> = stored::list(&app.db, &business.id, LISTED)
        .await?
        .into_iter()
        .filter(|order| state.as_deref().is_none_or(|s| has_state(order, s)))
        .collect();
    let options: String = std::iter::once("")
        .chain(STATES.iter().copied())
        .map(|word| {
            let chosen = if state.as_deref().unwrap_or("") == word { " selected" } else { "" };
            let label = if word.is_empty() { Word::EveryState.in_(lang) } else { word };
            format!("<option value=\"{}\"{chosen}>{}</option>", escape(word), escape(label))
        })
        .collect();
    let rows: String = orders
        .iter()
        .map(|order| {
            format!(
                "<tr><td><a href=\"/console/orders/{}\">#{}</a></td><td>{}</td><td>{} · {} · {}</td><td class=num>{}</td></tr>",
                escape(&order.id),
                order.number,
                escape(&time(order.created_at)),
                escape(order.status.as_str()),
                escape(order.payment_status.as_str()),
                escape(order.fulfillment_status.as_str()),
                amount(order.total_minor, &order.currency, &business.locale),
            )
        })
        .collect();
    let body = format!(
        "<h1>{}</h1><form method=get action=\"/console/orders\"><label>{} <select name=state>{options}</select>\
         </label> <button>{}</button> <a href=\"/console/orders/export.csv\">{}</a></form>\
         <table id=orders><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
         <tbody>{rows}</tbody></table>",
        w(Word::Orders),
        w(Word::State),
        w(Word::Filter),
        w(Word::ExportCsv),
        w(Word::Order),
        w(Word::Created),
        w(Word::State),
        w(Word::Total),
    );
    Ok(layout(&signed, Page::Orders, &body))
}

/// Every order (the latest [`LISTED`]) as CSV, one line each.
pub async fn export(State(app): State<App>, signed: Signed) -> Result<Response, ConsoleError> {
    signed.require(Action::ViewOrders)?;
    let orders = stored::list(&app.db, &signed.business.id, LISTED).await?;
    let mut csv = String::from("number,id,created_at,status,payment_status,fulfillment_status,currency,total_minor\n");
    for order in &orders {
        // Every field is a word, an id, a number or a time: nothing to quote.
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            order.number,
            order.id,
            crate::ids::rfc3339(order.created_at),
            order.status,
            order.payment_status,
            order.fulfillment_status,
            order.currency,
            order.total_minor
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"orders.csv\""),
        ],
        csv,
    )
        .into_response())
}

pub async fn detail(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewOrders)?;
    let clock = signed.clock();
    let time = |ms: i64| clock.time(ms);
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business = &signed.business;
    let order = order_of(&app, &business.id, &id).await?;
    let locale = &business.locale;
    let lines: String = order
        .cart
        .lines
        .iter()
        .map(|line| {
            format!(
                "<tr><td>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
                escape(&line.name),
                line.quantity,
                amount(line.line_total.amount_minor, &line.line_total.currency, locale)
            )
        })
        .collect();
    let payments = payments::of_order(&app.db, &business.id, &id).await?;
    let captured: i64 = payments.iter().map(|p| p.captured_minor).sum();
    let refunded: i64 = payments.iter().map(|p| p.refunded_minor).sum();
    let timeline: String = stored::timeline(&app.db, &business.id, &id)
        .await?
        .iter()
        .map(|event| {
            format!(
                "<li>{} · {}{}</li>",
                escape(&time(event.created_at)),
                escape(event.kind.as_str()),
                event.detail.as_deref().map(|d| format!(" · {}", escape(d))).unwrap_or_default()
            )
        })
        .collect();
    let csrf = signed.csrf_field();
    let mut actions = String::new();
    let order_id = escape(&order.id);
    if signed.session.may(Action::ShipOrders) {
        actions.push_str(&format!(
            "<form method=post action=\"/console/orders/{order_id}/ship\">{csrf}<button>{}</button></form>",
            w(Word::MarkShipped)
        ));
    }
    if signed.session.may(Action::ManageOrders) {
        actions.push_str(&format!(
            "<form method=post action=\"/console/orders/{order_id}/deliver\">{csrf}<button>{}</button></form>\
             <form method=post action=\"/console/orders/{order_id}/cancel\">{csrf}<button>{}</button></form>",
            w(Word::MarkDelivered),
            w(Word::Cancel)
        ));
        let left = captured - refunded;
        if left > 0 {
            actions.push_str(&format!(
                "<form method=get action=\"/console/orders/{order_id}/refund\"><label>{} \
                 <input name=amount inputmode=decimal required value=\"{}\"></label> {} <button>{}</button></form>",
                w(Word::RefundLabel),
                escape(&major_units(left, &order.currency)),
                escape(&order.currency),
                w(Word::RefundButton)
            ));
        }
    }
    let body = format!(
        "<h1>{}</h1><p id=state>{} · {} · {}</p>\
         <table id=lines>{lines}<tr><th>{}</th><td></td><td class=num>{}</td></tr></table>\
         <p>{}</p><div class=actions>{actions}</div>\
         <h2>{}</h2><ol id=timeline>{timeline}</ol>",
        Word::OrderNumber.fill(lang, &[&order.number.to_string()]),
        escape(order.status.as_str()),
        escape(order.payment_status.as_str()),
        escape(order.fulfillment_status.as_str()),
        w(Word::Total),
        amount(order.total_minor, &order.currency, locale),
        Word::CapturedRefunded
            .fill(lang, &[&amount(captured, &order.currency, locale), &amount(refunded, &order.currency, locale)]),
        w(Word::Timeline),
    );
    Ok(layout(&signed, Page::Orders, &body))
}

/// `minor` in major units without a symbol ("12.50"), as a refund form takes it.
pub(super) fn major_units(minor: i64, currency: &str) -> String {
    let exponent = money::exponent(currency).unwrap_or(2);
    if exponent == 0 {
        return minor.to_string();
    }
    let unit = 10_i64.pow(exponent);
    format!("{}.{:0width$}", minor / unit, (minor % unit).abs(), width = exponent as usize)
}

/// An amount typed in major units ("12.5", "12,50", "12") in minor units;
/// `None` when it is not one (or has more decimals than the currency).
pub(super) fn parse_major_units(text: &str, currency: &str) -> Option<i64> {
    let exponent = money::exponent(currency).unwrap_or(2);
    let text = text.trim();
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > exponent as usize {
        return None;
    }
    let unit = 10_i64.checked_pow(exponent)?;
    let whole: i64 = whole.parse().ok()?;
    let padded = format!("{fraction:0<width$}", width = exponent as usize);
    let fraction: i64 = if padded.is_empty() { 0 } else { padded.parse().ok()? };
    whole.checked_mul(unit)?.checked_add(fraction)
}

/// A lifecycle button: the form's CSRF token and the member's `needs` checked,
/// then the one transition every caller goes through.
async fn change(
    app: &App,
    signed: &Signed,
    form: &CsrfForm,
    needs: Action,
    id: &str,
    action: OrderAction,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, needs)?;
    lifecycle::change(&app.commerce, &signed.business.id, id, action).await.map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/console/orders/{id}")).into_response())
}

pub async fn ship(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    change(&app, &signed, &form, Action::ShipOrders, &id, OrderAction::Ship).await
}

pub async fn deliver(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    change(&app, &signed, &form, Action::ManageOrders, &id, OrderAction::Deliver).await
}

pub async fn cancel(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    change(&app, &signed, &form, Action::ManageOrders, &id, OrderAction::Cancel).await
}

/// The confirmation step of a refund: what will be given back, and the form
/// that does it (with the idempotency key a double submit reuses).
pub async fn confirm_refund(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<RefundQuery>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ManageOrders)?;
    let order = order_of(&app, &signed.business.id, &id).await?;
    let Some(amount_minor) = parse_major_units(&query.amount, &order.currency).filter(|a| *a > 0) else {
        return Err(ConsoleError(ApiError::invalid(format!(
            "the amount must be a positive number of {} with at most {} decimals",
            order.currency,
            money::exponent(&order.currency).unwrap_or(2)
        ))));
    };
    let key = crate::ids::new_secret("rf");
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let give_back = format!("<strong>{}</strong>", amount(amount_minor, &order.currency, &signed.business.locale));
    let body = format!(
        "<h1>{}</h1><p id=confirm>{} {}</p>\
         <form method=post action=\"/console/orders/{}/refund\">{}<input type=hidden name=amount_minor value=\"{amount_minor}\">\
         <input type=hidden name=key value=\"{}\"><button>{}</button></form>\
         <p><a href=\"/console/orders/{}\">{}</a></p>",
        Word::RefundOrderQuestion.fill(lang, &[&order.number.to_string()]),
        Word::GiveBack.fill(lang, &[&give_back, &amount(order.total_minor, &order.currency, &signed.business.locale)]),
        w(Word::CannotBeUndone),
        escape(&order.id),
        signed.csrf_field(),
        escape(&key),
        w(Word::ConfirmRefund),
        escape(&order.id),
        w(Word::BackToOrder),
    );
    Ok(layout(&signed, Page::Orders, &body))
}

pub async fn refund(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManageOrders)?;
    let key = form.key.trim();
    if key.is_empty() || key.len() > 255 || key.contains('\0') {
        return Err(ConsoleError(ApiError::invalid("the refund form lost its key; open the order and try again")));
    }
    let (status, answer) = refund_once(&app, &signed.business, &id, key, form.amount_minor).await?;
    if status != StatusCode::OK {
        let code = answer["error"]["code"].as_str().unwrap_or("refund_failed");
        let message = answer["error"]["message"].as_str().unwrap_or("the refund did not go through").to_string();
        let code = refund_code(code);
        return Err(ConsoleError(ApiError::new(status, code, message)));
    }
    Ok(Redirect::to(&format!("/console/orders/{id}")).into_response())
}

/// The stable code of a refund's stored answer (kept as JSON, replayed).
fn refund_code(code: &str) -> &'static str {
    match code {
        "not_found" => "not_found",
        "not_paid" => "not_paid",
        "refund_exceeds_captured" => "refund_exceeds_captured",
        "request_in_flight" => "request_in_flight",
        "processor_error" => "processor_error",
        "idempotency_key_reused" => "idempotency_key_reused",
        _ => "refund_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_amounts_are_read_in_the_currency_s_units() {
        assert_eq!(parse_major_units("12.50", "EUR"), Some(1250));
        assert_eq!(parse_major_units("12,5", "EUR"), Some(1250));
        assert_eq!(parse_major_units("12", "EUR"), Some(1200));
        assert_eq!(parse_major_units("500", "JPY"), Some(500));
        assert_eq!(parse_major_units("1.250", "KWD"), Some(1250));
        for bad in ["", "1.234", "-1", "1e3", "1.2.3", ".5", "12.5", "abc"] {
            let currency = if bad == "12.5" { "JPY" } else { "EUR" };
            assert_eq!(parse_major_units(bad, currency), None, "{bad}");
        }
        assert_eq!(major_units(1250, "EUR"), "12.50");
        assert_eq!(major_units(500, "JPY"), "500");
    }
}
