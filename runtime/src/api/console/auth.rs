//! Getting into the console and out of it: the sign-in form (rate limited
//! per account and per client address before the password is checked, so
//! repeated wrong passwords lock the account out for a while), accepting an
//! invitation (a name and a password), signing out, and signing out
//! everywhere.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ConsoleError, Signed, bare, escape, session_cookie};
use crate::App;
use crate::api::rate_limits::ClientAddress;
use crate::staff::{self, StaffError};

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

fn sign_in_form(email: &str, message: &str) -> String {
    format!(
        "<main><h1>Sign in to the console</h1>{message}\
         <form class=stack method=post action=\"/console/sign-in\">\
         <label>Email <input type=email name=email autocomplete=username required value=\"{}\"></label>\
         <label>Password <input type=password name=password autocomplete=current-password required></label>\
         <label>Code from your authenticator app, if you set one up \
         <input name=code inputmode=numeric autocomplete=one-time-code maxlength=8></label>\
         <button>Sign in</button></form></main>",
        escape(email)
    )
}

pub async fn sign_in_page(Query(query): Query<SignInQuery>) -> Html<String> {
    let message = if query.welcome.is_some() {
        "<p class=ok>Your account is ready: sign in with your email and password.</p>"
    } else {
        ""
    };
    Html(bare("Sign in", &sign_in_form("", message)))
}

/// A form another site made the browser post (login CSRF: signing a person
/// into someone else's account). Browsers say so in `Sec-Fetch-Site`; the
/// forms with a session carry a CSRF token instead.
pub(super) fn from_another_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|site| site == "cross-site")
}

pub(super) fn refused_cross_site() -> Response {
    let page = bare("Refused", "<main><h1>Refused</h1><p>This form was sent from another site.</p></main>");
    (StatusCode::FORBIDDEN, Html(page)).into_response()
}

pub async fn sign_in(
    State(app): State<App>,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if from_another_site(&headers) {
        return refused_cross_site();
    }
    if let Err(limited) = app.limits.sign_in(&form.email, address) {
        let message = format!(
            "<p class=error id=locked>Too many sign-in attempts. Wait {} seconds, then try again.</p>",
            limited.retry_after_secs()
        );
        let page = (StatusCode::TOO_MANY_REQUESTS, Html(bare("Sign in", &sign_in_form(&form.email, &message))));
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
            let message = "<p class=error id=wrong>The email or the password is not right.</p>";
            (StatusCode::UNAUTHORIZED, Html(bare("Sign in", &sign_in_form(&form.email, message)))).into_response()
        }
        Err(refused @ (StaffError::CodeRequired | StaffError::WrongCode)) => {
            let message = format!("<p class=error id=code-refused>{}</p>", escape(&refused.to_string()));
            (StatusCode::UNAUTHORIZED, Html(bare("Sign in", &sign_in_form(&form.email, &message)))).into_response()
        }
        Err(other) => ConsoleError::from(other).into_response(),
    }
}

fn accept_form(token: &str, email: &str, message: &str) -> String {
    format!(
        "<main><h1>Join the team</h1><p>You were invited as <strong>{}</strong>. Choose your name and a password \
         (8 to 128 characters).</p>{message}\
         <form class=stack method=post action=\"/console/accept\"><input type=hidden name=token value=\"{}\">\
         <label>Your name <input name=name required maxlength=64></label>\
         <label>Password <input type=password name=password autocomplete=new-password required minlength=8></label>\
         <button>Create my account</button></form></main>",
        escape(email),
        escape(token)
    )
}

pub async fn accept_page(
    State(app): State<App>,
    Query(query): Query<TokenQuery>,
) -> Result<Html<String>, ConsoleError> {
    let invitation = staff::invitation(&app.db, &query.token).await?;
    Ok(Html(bare("Join the team", &accept_form(&query.token, &invitation.email, ""))))
}

pub async fn accept(State(app): State<App>, headers: HeaderMap, Form(form): Form<AcceptForm>) -> Response {
    if from_another_site(&headers) {
        return refused_cross_site();
    }
    match staff::accept(&app.db, &form.token, &form.name, &form.password).await {
        Ok(_) => Redirect::to("/console/sign-in?welcome=1").into_response(),
        Err(error @ (StaffError::InvalidName | StaffError::WeakPassword)) => {
            // The form again, with what was wrong: the link is still open.
            let email = match staff::invitation(&app.db, &form.token).await {
                Ok(invitation) => invitation.email,
                Err(other) => return ConsoleError::from(other).into_response(),
            };
            let message = format!("<p class=error>{}</p>", escape(&error.to_string()));
            let page = bare("Join the team", &accept_form(&form.token, &email, &message));
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
