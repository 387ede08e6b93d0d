//! The console's account page, everyone's own: who they are, and the
//! optional second factor (`staff::totp`): turning it on with a secret the
//! page makes (shown as text and as an `otpauth://` address for the
//! authenticator app, confirmed by a first code) and off (with a current
//! code).

use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::words::Word;
use super::{ConsoleError, Page, Signed, escape, layout};
use crate::App;
use crate::domain::staff::Action;
use crate::staff::{self, totp};

#[derive(Debug, Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    csrf: String,
    /// The secret the page showed (turning on only).
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

pub async fn page(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewHome)?;
    let member = &signed.session.member;
    let csrf = signed.csrf_field();
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let second_factor = if staff::has_totp(&app.db, member).await? {
        format!(
            "<p id=totp-state class=ok>{}</p>\
             <form class=stack method=post action=\"/console/account/totp/disable\">{csrf}\
             <label>{} <input name=code inputmode=numeric autocomplete=one-time-code required></label>\
             <button>{}</button></form>",
            w(Word::TotpIsOn),
            w(Word::CurrentCode),
            w(Word::TurnOff),
        )
    } else {
        let secret = totp::new_secret();
        let uri = totp::otpauth_uri(&format!("Bottega {}", signed.business.name), &member.email, &secret);
        format!(
            "<p id=totp-state>{}</p>\
             <p>{}: <code id=totp-secret>{}</code></p><p class=link>{}</p>\
             <form class=stack method=post action=\"/console/account/totp\">{csrf}\
             <input type=hidden name=secret value=\"{}\">\
             <label>{} <input name=code inputmode=numeric autocomplete=one-time-code required></label>\
             <button>{}</button></form>",
            w(Word::TotpIsOff),
            w(Word::Key),
            escape(&secret),
            escape(&uri),
            escape(&secret),
            w(Word::Code),
            w(Word::TurnOn),
        )
    };
    let body = format!(
        "<h1>{}</h1><p>{} · {} · {}</p><h2>{}</h2>{second_factor}",
        w(Word::YourAccount),
        escape(&member.name),
        escape(&member.email),
        escape(member.role.as_str()),
        w(Word::SecondFactor),
    );
    Ok(layout(&signed, Page::Account, &body))
}

pub async fn enable_totp(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<TotpForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ViewHome)?;
    staff::enable_totp(&app.db, &signed.session.member, &form.secret, &form.code).await?;
    Ok(Redirect::to("/console/account").into_response())
}

pub async fn disable_totp(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<TotpForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ViewHome)?;
    staff::disable_totp(&app.db, &signed.session.member, &form.code).await?;
    Ok(Redirect::to("/console/account").into_response())
}
