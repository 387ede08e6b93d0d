//! The console's privacy page (the owner's and the admins'): how long message
//! texts are kept (and setting it), a customer's data exported (JSON or CSV)
//! or erased on their request, the erasure after a confirmation step, and the
//! business's audit trail. Each is the JSON API's own function
//! (`api/privacy.rs`'s retention, `api/customers.rs`'s export and erasure,
//! both recorded in the audit trail); this page decides nothing.

use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::customers::{self, ExportFormat};
use super::super::error::ApiError;
use super::super::privacy::change_retention;
use super::words::Word;
use super::{ConsoleError, Page, Signed, escape, layout};
use crate::App;
use crate::domain::staff::Action;
use crate::store::{audit, retention};

/// Audit trail rows shown, newest first.
const AUDITED: u32 = 20;

#[derive(Debug, Deserialize)]
pub struct RetentionForm {
    #[serde(default)]
    csrf: String,
    /// Days message texts are kept; empty: until the customer is erased.
    #[serde(default)]
    days: String,
}

#[derive(Debug, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    customer: String,
    /// `json` or `csv`.
    #[serde(default)]
    format: String,
}

#[derive(Debug, Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    csrf: String,
    /// The customer's pseudonym, as the confirmation found it.
    #[serde(default)]
    customer: String,
}

pub async fn page(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ManagePrivacy)?;
    Ok(layout(&signed, Page::Privacy, &privacy_body(&app, &signed, "").await?))
}

async fn privacy_body(app: &App, signed: &Signed, notice: &str) -> Result<String, ConsoleError> {
    let clock = signed.clock();
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business_id = &signed.business.id;
    let csrf = signed.csrf_field();
    let kept = retention::get(&app.db, business_id, crate::ids::now_ms()).await?;
    let rule = match kept.message_days {
        Some(days) => Word::RetentionDays.fill(lang, &[days.to_string()]),
        None => w(Word::RetentionOff),
    };
    let oldest = match kept.oldest_message_days {
        Some(days) => Word::OldestKept.fill(lang, &[days.to_string()]),
        None => w(Word::NothingKept),
    };
    let days = kept.message_days.map(|d| d.to_string()).unwrap_or_default();
    let trail: String = audit::list(&app.db, business_id, AUDITED)
        .await?
        .iter()
        .map(|event| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&clock.time(event.created_at)),
                escape(&event.actor),
                escape(&event.action),
                escape(&event.subject),
                escape(&event.outcome),
            )
        })
        .collect();
    Ok(format!(
        "<h1>{}</h1>{notice}<h2>{}</h2><p id=retention>{rule}</p><p id=oldest>{oldest}</p>\
         <form class=stack method=post action=\"/console/privacy/retention\">{csrf}\
         <label>{} <input name=days inputmode=numeric value=\"{days}\"></label><button>{}</button></form>\
         <h2>{}</h2>\
         <form class=stack method=post action=\"/console/privacy/export\">{csrf}\
         <label>{} <input name=customer required></label>\
         <div class=actions><button name=format value=json>{}</button>\
         <button name=format value=csv>{}</button></div></form>\
         <form class=stack method=post action=\"/console/privacy/erase/confirm\">{csrf}\
         <label>{} <input name=customer required></label><button>{}</button></form>\
         <h2>{}</h2><table id=audit><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
         <tbody>{trail}</tbody></table>",
        w(Word::Privacy),
        w(Word::Retention),
        w(Word::KeepDays),
        w(Word::Save),
        w(Word::CustomerData),
        w(Word::CustomerReference),
        w(Word::ExportJson),
        w(Word::ExportCsv),
        w(Word::CustomerReference),
        w(Word::EraseButton),
        w(Word::AuditTrail),
        w(Word::When),
        w(Word::Who),
        w(Word::What),
        w(Word::Subject),
        w(Word::Result),
    ))
}

pub async fn set_retention(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<RetentionForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManagePrivacy)?;
    let days = form.days.trim();
    let message_days = if days.is_empty() {
        None
    } else {
        let parsed = days.parse::<i64>().map_err(|_| ApiError::invalid("the days must be a whole number, or empty"))?;
        Some(parsed)
    };
    change_retention(&app, &signed.business.id, message_days, &signed.session.member.id).await?;
    Ok(Redirect::to("/console/privacy").into_response())
}

/// The customer's export to download: the API's file, recorded in the audit trail.
pub async fn export(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<ExportForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManagePrivacy)?;
    let format = if form.format == "csv" { ExportFormat::Csv } else { ExportFormat::Json };
    let actor = &signed.session.member.id;
    Ok(customers::export_file(&app, &signed.business.id, form.customer.trim(), format, actor).await?)
}

/// The confirmation step of an erasure: whom it erases, what goes and what
/// stays, and the form that does it (naming the customer by pseudonym). A
/// form posted, not a link: a phone number typed to find the customer stays
/// out of the address bar, the browser's history and proxies' logs.
pub async fn confirm_erase(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<EraseForm>,
) -> Result<Html<String>, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManagePrivacy)?;
    let customer_id = customers::customer(&app, &signed.business.id, form.customer.trim()).await?;
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let body = format!(
        "<h1>{}</h1><p id=confirm>{} {}</p>\
         <form method=post action=\"/console/privacy/erase\">{}<input type=hidden name=customer value=\"{}\">\
         <button>{}</button></form><p><a href=\"/console/privacy\">{}</a></p>",
        Word::EraseQuestion.fill(lang, &[escape(&customer_id)]),
        w(Word::EraseExplained),
        w(Word::CannotBeUndone),
        signed.csrf_field(),
        escape(&customer_id),
        w(Word::ConfirmErase),
        w(Word::BackToPrivacy),
    );
    Ok(layout(&signed, Page::Privacy, &body))
}

/// Erases the customer (the API's erasure), then shows the privacy page with what was erased.
pub async fn erase(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<EraseForm>,
) -> Result<Html<String>, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManagePrivacy)?;
    let erasure = customers::erase(&app, &signed.business.id, form.customer.trim(), &signed.session.member.id).await?;
    let notice = format!(
        "<p class=ok id=erased>{}</p>",
        Word::Erased.fill(
            signed.lang(),
            &[escape(&erasure.customer_id), erasure.messages_erased.to_string(), erasure.orders_kept.to_string()]
        )
    );
    Ok(layout(&signed, Page::Privacy, &privacy_body(&app, &signed, &notice).await?))
}
