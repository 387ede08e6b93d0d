//! Getting into the console and out of it: the sign-in form (rate limited
//! per account and per client address before the password is checked, so
//! repeated wrong passwords lock the account out for a while), accepting an
//! invitation (a name and a password), signing out, and signing out
//! everywhere. The sign-in form speaks the visitor's language (their
//! browser's `Accept-Language`); the invitation's form its shop's.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::words::{Lang, Word};
use super::{ConsoleError, Signed, bare_in, escape, language, session_cookie};
use crate::App;
use crate::api::rate_limits::ClientAddress;
use crate::staff::{self, MAX_NAME_CHARS, StaffError};
use crate::store::businesses;
use crate::store::staff::Invitation;

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// The authenticator app's code, for an account with a second factor.
    #[serde(default)]
    code: String,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    /// Set after an invitation was accepted.
    #[serde(default)]
    welcome: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The sign-in page in `lang`, with `message` (HTML) above the form.
fn sign_in_form(lang: Lang, email: &str, message: &str) -> String {
    let body = format!(
        "<main><h1>{}</h1>{message}\
         <form class=stack method=post action=\"/console/sign-in\">\
         <label>{} <input type=email name=email autocomplete=username required value=\"{}\"></label>\
         <label>{} <input type=password name=password autocomplete=current-password required></label>\
         <label>{} <input name=code inputmode=numeric autocomplete=one-time-code maxlength=8></label>\
         <button>{}</button></form></main>",
        escape(Word::SignInToTheConsole.in_(lang)),
        escape(Word::Email.in_(lang)),
        escape(email),
        escape(Word::Password.in_(lang)),
        escape(Word::CodeIfSetUp.in_(lang)),
        escape(Word::SignIn.in_(lang)),
    );
    bare_in(lang, Word::SignIn.in_(lang), &body)
}

pub async fn sign_in_page(headers: HeaderMap, Query(query): Query<SignInQuery>) -> Html<String> {
    let lang = language::of_visitor(&headers);
    let message = if query.welcome.is_some() {
        format!("<p class=ok>{}</p>", escape(Word::AccountReady.in_(lang)))
    } else {
        String::new()
    };
    Html(sign_in_form(lang, "", &message))
}

/// A form another site made the browser post (login CSRF: signing a person
/// into someone else's account). Browsers say so in `Sec-Fetch-Site`; the
/// forms with a session carry a CSRF token instead.
pub(super) fn from_another_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|site| site == "cross-site")
}

/// The refusal of a form another site made the browser post, in `lang`.
pub(super) fn refused_cross_site(lang: Lang) -> Response {
    let refused = escape(Word::Refused.in_(lang));
    let body = format!("<main><h1>{refused}</h1><p>{}</p></main>", escape(Word::SentFromAnotherSite.in_(lang)));
    (StatusCode::FORBIDDEN, Html(bare_in(lang, Word::Refused.in_(lang), &body))).into_response()
}

pub async fn sign_in(
    State(app): State<App>,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = language::of_visitor(&headers);
    if from_another_site(&headers) {
        return refused_cross_site(lang);
    }
    if let Err(limited) = app.limits.sign_in(&form.email, address) {
        let wait = limited.retry_after_secs().to_string();
        let message = format!("<p class=error id=locked>{}</p>", Word::TooManySignIns.fill(lang, &[wait]));
        let page = (StatusCode::TOO_MANY_REQUESTS, Html(sign_in_form(lang, &form.email, &message)));
        return limited.with_retry_after(page.into_response());
    }
    let code = Some(form.code.as_str()).filter(|c| !c.trim().is_empty());
    match staff::sign_in(&app.db, &form.email, &form.password, code).await {
        Ok((_, token)) => {
            let mut answer = Redirect::to("/console").into_response();
            answer.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, &token));
            answer
        }
        Err(StaffError::WrongCredentials) => {
            let message = format!("<p class=error id=wrong>{}</p>", escape(Word::WrongCredentials.in_(lang)));
            (StatusCode::UNAUTHORIZED, Html(sign_in_form(lang, &form.email, &message))).into_response()
        }
        Err(refused @ (StaffError::CodeRequired | StaffError::WrongCode)) => {
            let word = if matches!(refused, StaffError::CodeRequired) { Word::CodeRequired } else { Word::WrongCode };
            let message = format!("<p class=error id=code-refused>{}</p>", escape(word.in_(lang)));
            (StatusCode::UNAUTHORIZED, Html(sign_in_form(lang, &form.email, &message))).into_response()
        }
        Err(other) => ConsoleError::from(other).into_response(),
    }
}

/// The invitation's page in `lang`, with `message` (HTML) above the form.
fn accept_form(lang: Lang, token: &str, email: &str, message: &str) -> String {
    let body = format!(
        "<main><h1>{}</h1><p>{}</p>{message}\
         <form class=stack method=post action=\"/console/accept\"><input type=hidden name=token value=\"{}\">\
         <label>{} <input name=name required maxlength={MAX_NAME_CHARS}></label>\
         <label>{} <input type=password name=password autocomplete=new-password required minlength=8></label>\
         <button>{}</button></form></main>",
        escape(Word::JoinTheTeam.in_(lang)),
        Word::InvitedAs.fill(lang, &[format!("<strong>{}</strong>", escape(email))]),
        escape(token),
        escape(Word::YourName.in_(lang)),
        escape(Word::Password.in_(lang)),
        escape(Word::CreateMyAccount.in_(lang)),
    );
    bare_in(lang, Word::JoinTheTeam.in_(lang), &body)
}

/// The language of the shop `invitation` is to (the page knows its shop
/// before anyone signs in); the visitor's when the shop is gone.
async fn invitation_lang(app: &App, invitation: &Invitation, visitor: Lang) -> Result<Lang, ConsoleError> {
    let business = businesses::get(&app.db, &invitation.business_id).await?;
    Ok(business.map_or(visitor, |business| Lang::of(&business.locale)))
}

/// The invitation's form. A link not open (any more) is refused in the
/// visitor's language, the error page's.
pub async fn accept_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Html<String>, ConsoleError> {
    let invitation = staff::invitation(&app.db, &query.token).await?;
    let lang = invitation_lang(&app, &invitation, language::of_visitor(&headers)).await?;
    Ok(Html(accept_form(lang, &query.token, &invitation.email, "")))
}

pub async fn accept(State(app): State<App>, headers: HeaderMap, Form(form): Form<AcceptForm>) -> Response {
    let visitor = language::of_visitor(&headers);
    if from_another_site(&headers) {
        return refused_cross_site(visitor);
    }
    match staff::accept(&app.db, &form.token, &form.name, &form.password).await {
        Ok(_) => Redirect::to("/console/sign-in?welcome=1").into_response(),
        Err(error @ (StaffError::InvalidName | StaffError::WeakPassword)) => {
            // The form again, with what was wrong: the link is still open.
            let invitation = match staff::invitation(&app.db, &form.token).await {
                Ok(invitation) => invitation,
                Err(other) => return ConsoleError::from(other).into_response(),
            };
            let lang = match invitation_lang(&app, &invitation, visitor).await {
                Ok(lang) => lang,
                Err(failed) => return failed.into_response(),
            };
            let wrong = match error {
                StaffError::InvalidName => Word::InvalidName.fill(lang, &[MAX_NAME_CHARS.to_string()]),
                _ => escape(Word::WeakPassword.in_(lang)),
            };
            let page = accept_form(lang, &form.token, &invitation.email, &format!("<p class=error>{wrong}</p>"));
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response()
        }
        Err(other) => ConsoleError::from(other).into_response(),
    }
}

/// Signs this browser out.
pub async fn sign_out(State(app): State<App>, signed: Signed, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    if let Err(error) = staff::sign_out(&app.db, &signed.session).await {
        return ConsoleError::from(error).into_response();
    }
    signed_out(&app)
}

/// Signs the person out on every device.
pub async fn sign_out_everywhere(State(app): State<App>, signed: Signed, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    if let Err(error) = staff::sign_out_everywhere(&app.db, &signed.session).await {
        return ConsoleError::from(error).into_response();
    }
    signed_out(&app)
}

fn signed_out(app: &App) -> Response {
    let mut answer = Redirect::to("/console/sign-in").into_response();
    answer.headers_mut().insert(header::SET_COOKIE, session_cookie(app, ""));
    answer
}
