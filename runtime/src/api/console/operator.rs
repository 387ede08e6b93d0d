//! `/console/operator`: the node's operator in the browser. A form takes the
//! admin token once (refused from another site, rate limited like the staff
//! sign-in) and opens an operator session: a random token in an HttpOnly,
//! SameSite=Strict cookie on `/console/operator` (Secure when the public URL
//! is https), kept only as its hash (`store/operator_sessions.rs`), with a
//! CSRF token every form carries, as staff sessions have. The pages list the
//! businesses (create one, suspend and resume them, through `api/admin.rs`'s
//! [`create`] and [`set_suspended`], the API's own) and the node's health:
//! the database (what `/healthz` checks) and the depths of the durable queues.
//! The operator's pages speak the visitor's language (their browser's
//! `Accept-Language`), as do their error pages: an operator has no shop.

use axum::extract::{Form, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::admin::{CreateBusiness, create, set_suspended};
use super::super::error::ApiError;
use super::auth::{from_another_site, refused_cross_site};
use super::words::{Lang, Word};
use super::{ConsoleError, bare_in, cookie_value, csrf_refused, escape, language};
use crate::App;
use crate::api::rate_limits::ClientAddress;
use crate::signing;
use crate::store::{businesses, operator_sessions, queue};

/// The cookie an operator's browser carries (the operator session's token).
pub const COOKIE: &str = "bottega_operator";
/// How long an operator session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60_000;
/// The key the sign-in rate limit counts the operator's attempts under
/// (never an email: it has no `@`).
const RATE_LIMIT_ACCOUNT: &str = "operator console";

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct NewBusinessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    owner_email: String,
}

/// A browser with a live operator session.
#[derive(Debug, Clone)]
pub struct Operating {
    token: String,
    csrf: String,
    /// The language the operator's browser asks for.
    lang: Lang,
}

impl Operating {
    /// Refuses a form whose hidden `csrf` field is not this session's token.
    fn check_csrf(&self, given: &str) -> Result<(), ConsoleError> {
        if !given.is_empty() && signing::constant_time_eq(given.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(csrf_refused())
        }
    }

    fn csrf_field(&self) -> String {
        format!("<input type=hidden name=csrf value=\"{}\">", escape(&self.csrf))
    }
}

/// The CSRF token of the operator session whose secret is `token`.
fn csrf_token(token: &str) -> String {
    signing::hmac_sha256_hex(token.as_bytes(), &[b"bottega operator csrf"])
}

impl FromRequestParts<App> for Operating {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/console/operator/sign-in").into_response();
        let Some(token) = cookie_value(parts, COOKIE) else { return Err(to_sign_in()) };
        match operator_sessions::is_live(&app.db, &token, crate::ids::now_ms()).await {
            Ok(true) => Ok(Operating { csrf: csrf_token(&token), token, lang: language::of_visitor(&parts.headers) }),
            Ok(false) => Err(to_sign_in()),
            Err(e) => Err(ConsoleError::from(e).into_response()),
        }
    }
}

/// The `Set-Cookie` that signs a browser in as the operator with `token` (or, empty, out).
fn session_cookie(app: &App, token: &str) -> HeaderValue {
    let secure = if app.config.commerce.public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = if token.is_empty() { 0 } else { SESSION_TTL_MS / 1000 };
    let cookie =
        format!("{COOKIE}={token}; Path=/console/operator; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    // Tokens are hex with a prefix: always a valid header value.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("bottega_operator=; Max-Age=0"))
}

/// The operator's sign-in page in `lang`, with `message` (HTML) above the form.
fn sign_in_form(lang: Lang, message: &str) -> String {
    let title = Word::OperatorConsole.in_(lang);
    let body = format!(
        "<main><h1>{}</h1>{message}\
         <form class=stack method=post action=\"/console/operator/sign-in\">\
         <label>{} <input type=password name=token autocomplete=off required></label>\
         <button>{}</button></form></main>",
        escape(title),
        escape(Word::AdminToken.in_(lang)),
        escape(Word::SignIn.in_(lang)),
    );
    bare_in(lang, title, &body)
}

pub async fn sign_in_page(headers: HeaderMap) -> Html<String> {
    Html(sign_in_form(language::of_visitor(&headers), ""))
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
    if let Err(limited) = app.limits.sign_in(RATE_LIMIT_ACCOUNT, address) {
        let wait = limited.retry_after_secs().to_string();
        let message = format!("<p class=error id=locked>{}</p>", Word::TooManySignIns.fill(lang, &[wait]));
        let page = (StatusCode::TOO_MANY_REQUESTS, Html(sign_in_form(lang, &message)));
        return limited.with_retry_after(page.into_response());
    }
    let given = form.token.trim();
    let admin_token = app.config.admin_token.as_str();
    if given.is_empty()
        || admin_token.is_empty()
        || !signing::constant_time_eq(given.as_bytes(), admin_token.as_bytes())
    {
        let message = format!("<p class=error id=wrong>{}</p>", escape(Word::NotTheAdminToken.in_(lang)));
        return (StatusCode::UNAUTHORIZED, Html(sign_in_form(lang, &message))).into_response();
    }
    match operator_sessions::open(&app.db, crate::ids::now_ms() + SESSION_TTL_MS).await {
        Ok(token) => {
            let mut answer = Redirect::to("/console/operator").into_response();
            answer.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, &token));
            answer
        }
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

pub async fn sign_out(State(app): State<App>, operating: Operating, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = operating.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    if let Err(e) = operator_sessions::close(&app.db, &operating.token).await {
        return ConsoleError::from(e).into_response();
    }
    let mut answer = Redirect::to("/console/operator/sign-in").into_response();
    answer.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, ""));
    answer
}

/// The operator's page: the node's health, then the businesses.
pub async fn page(State(app): State<App>, operating: Operating) -> Result<Html<String>, ConsoleError> {
    Ok(Html(operator_page(&app, &operating, "").await?))
}

/// The operator's page in the operator's language, with `notice` (HTML) first.
async fn operator_page(app: &App, operating: &Operating, notice: &str) -> Result<String, ConsoleError> {
    let lang = operating.lang;
    let w = |word: Word| escape(word.in_(lang));
    let csrf = operating.csrf_field();
    let database = match sqlx::query("SELECT 1").execute(app.db.pool()).await {
        Ok(_) => format!("<b class=ok>{}</b>", w(Word::Reachable)),
        Err(e) => {
            tracing::error!("operator console: database unreachable: {e}");
            format!("<b class=error>{}</b>", w(Word::Unreachable))
        }
    };
    let depths = queue::depths(&app.db).await?;
    let listed = businesses::list(&app.db).await?;
    let rows: String = listed
        .iter()
        .map(|business| {
            let id = escape(&business.id);
            let (state, control) = match business.suspended_at {
                Some(at) => (
                    Word::SuspendedSince.fill(lang, &[escape(&crate::ids::rfc3339(at))]),
                    format!(
                        "<form method=post action=\"/console/operator/businesses/{id}/resume\">{csrf}\
                         <button>{}</button></form>",
                        w(Word::Resume)
                    ),
                ),
                None => (
                    w(Word::Active),
                    format!(
                        "<form method=post action=\"/console/operator/businesses/{id}/suspend\">{csrf}\
                         <button>{}</button></form>",
                        w(Word::Suspend)
                    ),
                ),
            };
            format!(
                "<tr data-business=\"{id}\"><td>{}</td><td><code>{id}</code></td><td>{}</td><td>{}</td>\
                 <td class=state>{state}</td><td>{control}</td></tr>",
                escape(&business.name),
                escape(&business.currency),
                escape(&business.locale),
            )
        })
        .collect();
    let title = Word::OperatorConsole.in_(lang);
    let body = format!(
        "<header><strong>{}</strong><div class=who>\
         <form method=post action=\"/console/operator/sign-out\">{csrf}<button>{}</button></form></div></header>\
         <main>{notice}<h1>{}</h1><div class=cards>\
         <div class=card id=database>{}<b>{database}</b></div>\
         <div class=card id=inbound-events>{}<b>{}</b></div>\
         <div class=card id=outbox>{}<b>{}</b></div>\
         <div class=card id=webhook-deliveries>{}<b>{}</b></div>\
         <div class=card id=businesses-count>{businesses}<b>{}</b></div></div>\
         <h1>{businesses}</h1><table id=businesses><thead><tr><th>{name}</th><th>{}</th><th>{currency}</th>\
         <th>{locale}</th><th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table>\
         <h2>{}</h2><form class=stack method=post action=\"/console/operator/businesses\">{csrf}\
         <label>{name} <input name=name required maxlength=100></label>\
         <label>{currency} <input name=currency required maxlength=3 value=EUR></label>\
         <label>{locale} <input name=locale maxlength=35 placeholder=en></label>\
         <label>{} <input type=email name=owner_email></label>\
         <button>{}</button></form></main>",
        escape(title),
        w(Word::SignOut),
        w(Word::ThisNode),
        w(Word::Database),
        w(Word::InboundEventsPending),
        depths.inbound_events,
        w(Word::SendsPending),
        depths.outbox,
        w(Word::WebhookDeliveriesPending),
        depths.webhook_deliveries,
        listed.len(),
        w(Word::IdLabel),
        w(Word::State),
        w(Word::CreateABusiness),
        w(Word::OwnersEmail),
        w(Word::Create),
        businesses = w(Word::Businesses),
        name = w(Word::Name),
        currency = w(Word::Currency),
        locale = w(Word::Locale),
    );
    Ok(bare_in(lang, title, &body))
}

/// Creates a business as `POST /v1/admin/businesses` does; the page shows its
/// API key and its owner's invitation link once.
pub async fn create_business(
    State(app): State<App>,
    operating: Operating,
    Form(form): Form<NewBusinessForm>,
) -> Result<Html<String>, ConsoleError> {
    operating.check_csrf(&form.csrf)?;
    let fields = [&form.name, &form.currency, &form.locale, &form.owner_email];
    if fields.iter().any(|field| field.contains('\0')) {
        return Err(ConsoleError(ApiError::invalid_text()));
    }
    let optional = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
    let body = CreateBusiness {
        name: form.name.clone(),
        currency: form.currency.trim().to_uppercase(),
        extra_currencies: None,
        locale: optional(&form.locale),
        capabilities: None,
        limits: None,
        owner_email: optional(&form.owner_email),
    };
    let created = create(&app, body).await?;
    let lang = operating.lang;
    let invitation = match &created.owner_invitation {
        Some(link) => {
            let link = format!("<span class=link id=owner-invitation>{}</span>", escape(link));
            format!("<p>{}</p>", Word::OwnersInvitation.fill(lang, &[link]))
        }
        None => String::new(),
    };
    let key = format!("<code id=api-key>{}</code>", escape(&created.api_key));
    let created_text = Word::BusinessCreated.fill(lang, &[escape(&created.business.name), key]);
    let notice = format!("<div class=ok id=created><p>{created_text}</p>{invitation}</div>");
    Ok(Html(operator_page(&app, &operating, &notice).await?))
}

pub async fn suspend(
    State(app): State<App>,
    operating: Operating,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operating.check_csrf(&form.csrf)?;
    set_suspended(&app, &id, true).await?;
    Ok(Redirect::to("/console/operator").into_response())
}

pub async fn resume(
    State(app): State<App>,
    operating: Operating,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    operating.check_csrf(&form.csrf)?;
    set_suspended(&app, &id, false).await?;
    Ok(Redirect::to("/console/operator").into_response())
}
