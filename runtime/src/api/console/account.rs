//! The console's account page, everyone's own: who they are, and the
//! optional second factor (`staff::totp`): turning it on with a secret the
//! page makes (shown as text and as an `otpauth://` address for the
//! authenticator app, confirmed by a first code) and off (with a current
//! code).

use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

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
    let second_factor = if staff::has_totp(&app.db, member).await? {
        format!(
            "<p id=totp-state class=ok>A second factor is on: signing in asks for a code from your authenticator app.</p>\
             <form class=stack method=post action=\"/console/account/totp/disable\">{csrf}\
             <label>Current code <input name=code inputmode=numeric autocomplete=one-time-code required></label>\
             <button>Turn it off</button></form>"
        )
    } else {
        let secret = totp::new_secret();
        let uri = totp::otpauth_uri(&format!("Bottega {}", signed.business.name), &member.email, &secret);
        format!(
            "<p id=totp-state>No second factor yet. Add this key to an authenticator app, then give the code it shows.</p>\
             <p>Key: <code id=totp-secret>{}</code></p><p class=link>{}</p>\
             <form class=stack method=post action=\"/console/account/totp\">{csrf}\
             <input type=hidden name=secret value=\"{}\">\
             <label>Code <input name=code inputmode=numeric autocomplete=one-time-code required></label>\
             <button>Turn on</button></form>",
            escape(&secret),
            escape(&uri),
            escape(&secret),
        )
    };
    let body = format!(
        "<h1>Your account</h1><p>{} · {} · {}</p><h2>Second factor</h2>{second_factor}",
        escape(&member.name),
        escape(&member.email),
        escape(member.role.as_str())
    );
    Ok(layout(&signed, Page::Account, &body))
}

pub async fn enable_totp(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<TotpForm>,
) -> Result<Response, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require(Action::ViewHome)?;
    staff::enable_totp(&app.db, &signed.session.member, &form.secret, &form.code).await?;
    Ok(Redirect::to("/console/account").into_response())
}

pub async fn disable_totp(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<TotpForm>,
) -> Result<Response, ConsoleError> {
    signed.check_csrf(&form.csrf)?;
    signed.require(Action::ViewHome)?;
    staff::disable_totp(&app.db, &signed.session.member, &form.code).await?;
    Ok(Redirect::to("/console/account").into_response())
}
