//! `/console/…`: the business console, server-rendered HTML a shop's people
//! run the shop from, embedded in the binary (its style served from
//! [`STYLE`], one small script of its own, the inbox's polling, served from
//! the host; nothing inline, nothing from elsewhere). This module owns what every
//! page shares: the signed-in session ([`Signed`], from an HttpOnly,
//! SameSite=Strict cookie, Secure when the node's public URL is https), the
//! CSRF check of every state-changing form ([`Signed::check_csrf`]), the
//! navigation built from [`Page`] (a page joins the console in one place), the
//! layout, and errors as pages ([`ConsoleError`]). The operator's console
//! (`/console/operator`, signed in with the admin token) is `operator.rs`.
//!
//! Pages call the same functions the JSON API's handlers call (the handoff's
//! take, reply, release and conversation export of `api/chat.rs`, the
//! developer loop's replay, `staff`'s team and sessions,
//! `api/billing.rs`'s usage and invoice files, `api/customers.rs`'s export
//! and erasure); none holds business logic of its own. Every text is
//! HTML-escaped by the one helper, [`escape`].

mod account;
mod auth;
mod billing;
mod bot;
mod catalog;
mod clock;
mod home;
mod inbox;
mod language;
mod operator;
mod orders;
mod privacy;
mod team;
mod words;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use super::error::ApiError;
use super::pay::escape;
use crate::App;
use crate::domain::staff::Action;
use crate::staff::{self, Session, StaffError};
use crate::store::StoreError;
use crate::store::businesses::{self, Business};
use words::{Lang, Word};

/// The console's style (served, not inline: the console's policy allows no inline style).
pub const STYLE: &str = include_str!("console.css");

/// The cookie a signed-in browser carries (the session's secret token).
pub const COOKIE: &str = "bottega_console";

/// The console's routes; a plugin upload takes up to `max_upload_bytes`.
pub fn routes(max_upload_bytes: usize) -> axum::Router<App> {
    table(max_upload_bytes)
        .into_iter()
        .fold(axum::Router::new(), |router, (_, path, handler)| router.route(path, handler))
        .layer(axum::middleware::from_fn(language::speak))
}

/// Every console route (method and path as routed), for the role × route
/// matrix test: one table builds both the router and this list.
pub fn paths() -> Vec<(Method, &'static str)> {
    table(0).into_iter().map(|(method, path, _)| (method, path)).collect()
}

fn table(max_upload_bytes: usize) -> Vec<(Method, &'static str, MethodRouter<App>)> {
    // The upload's body holds the component and the form around it.
    let upload_limit = DefaultBodyLimit::max(max_upload_bytes.saturating_add(64 * 1024));
    let import_limit = DefaultBodyLimit::max(super::import::MAX_BYTES + 64 * 1024);
    let photo_limit = DefaultBodyLimit::max(super::images::MAX_IMAGE_BYTES + 64 * 1024);
    // A recording to replay (pasted or as a file) is at most an import's size.
    let replay_limit = DefaultBodyLimit::max(super::import::MAX_BYTES + 64 * 1024);
    vec![
        (Method::GET, "/console/assets/console.css", get(style)),
        (Method::GET, "/console/assets/inbox.js", get(inbox::script)),
        (Method::GET, "/console/sign-in", get(auth::sign_in_page)),
        (Method::POST, "/console/sign-in", post(auth::sign_in)),
        (Method::GET, "/console/accept", get(auth::accept_page)),
        (Method::POST, "/console/accept", post(auth::accept)),
        (Method::GET, "/console", get(home::page)),
        (Method::GET, "/console/inbox", get(inbox::list)),
        (Method::GET, "/console/inbox/rows", get(inbox::rows)),
        (Method::GET, "/console/inbox/{id}", get(inbox::thread)),
        (Method::POST, "/console/inbox/{id}/take", post(inbox::take)),
        (Method::POST, "/console/inbox/{id}/reply", post(inbox::reply)),
        (Method::POST, "/console/inbox/{id}/release", post(inbox::release)),
        (Method::POST, "/console/inbox/{id}/pause", post(inbox::pause)),
        (Method::POST, "/console/inbox/{id}/notes", post(inbox::add_note)),
        (Method::GET, "/console/inbox/{id}/since/{seq}", get(inbox::since)),
        (Method::GET, "/console/orders", get(orders::list)),
        (Method::GET, "/console/orders/export.csv", get(orders::export)),
        (Method::GET, "/console/orders/{id}", get(orders::detail)),
        (Method::POST, "/console/orders/{id}/ship", post(orders::ship)),
        (Method::POST, "/console/orders/{id}/deliver", post(orders::deliver)),
        (Method::POST, "/console/orders/{id}/cancel", post(orders::cancel)),
        (Method::GET, "/console/orders/{id}/refund", get(orders::confirm_refund)),
        (Method::POST, "/console/orders/{id}/refund", post(orders::refund)),
        (Method::GET, "/console/catalog", get(catalog::list)),
        (Method::POST, "/console/catalog", post(catalog::create_product)),
        (Method::GET, "/console/catalog/export.csv", get(catalog::export)),
        (Method::GET, "/console/catalog/new", get(catalog::new_product)),
        (Method::POST, "/console/catalog/import", post(catalog::import_csv).layer(import_limit)),
        (Method::GET, "/console/catalog/{id}", get(catalog::edit_product)),
        (Method::POST, "/console/catalog/{id}", post(catalog::save_product)),
        (Method::POST, "/console/catalog/{id}/photo", post(catalog::upload_photo).layer(photo_limit)),
        (Method::GET, "/console/bot", get(bot::page)),
        (Method::POST, "/console/bot/upload", post(bot::upload).layer(upload_limit)),
        (Method::POST, "/console/bot/{id}/activate", post(bot::activate)),
        (Method::POST, "/console/bot/{id}/replay", post(bot::replay).layer(replay_limit)),
        (Method::GET, "/console/team", get(team::page)),
        (Method::POST, "/console/team/invite", post(team::invite)),
        (Method::POST, "/console/team/{id}/role", post(team::change_role)),
        (Method::POST, "/console/team/{id}/remove", post(team::remove)),
        (Method::GET, "/console/billing", get(billing::page)),
        (Method::GET, "/console/billing/invoices/{id}", get(billing::invoice)),
        (Method::GET, "/console/billing/invoices/{id}/pdf", get(billing::pdf)),
        (Method::GET, "/console/billing/invoices/{id}/csv", get(billing::csv)),
        (Method::GET, "/console/privacy", get(privacy::page)),
        (Method::POST, "/console/privacy/retention", post(privacy::set_retention)),
        (Method::POST, "/console/privacy/export", post(privacy::export)),
        (Method::POST, "/console/privacy/erase/confirm", post(privacy::confirm_erase)),
        (Method::POST, "/console/privacy/erase", post(privacy::erase)),
        (Method::GET, "/console/account", get(account::page)),
        (Method::POST, "/console/account/totp", post(account::enable_totp)),
        (Method::POST, "/console/account/totp/disable", post(account::disable_totp)),
        (Method::POST, "/console/sign-out", post(auth::sign_out)),
        (Method::POST, "/console/sign-out-everywhere", post(auth::sign_out_everywhere)),
        (Method::GET, "/console/operator/sign-in", get(operator::sign_in_page)),
        (Method::POST, "/console/operator/sign-in", post(operator::sign_in)),
        (Method::GET, "/console/operator", get(operator::page)),
        (Method::POST, "/console/operator/businesses", post(operator::create_business)),
        (Method::POST, "/console/operator/businesses/{id}/suspend", post(operator::suspend)),
        (Method::POST, "/console/operator/businesses/{id}/resume", post(operator::resume)),
        (Method::POST, "/console/operator/sign-out", post(operator::sign_out)),
    ]
}

/// The console's pages, in the navigation's order. A new page is one more
/// variant here: its path, its title and the action a role needs to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    Inbox,
    Orders,
    Catalog,
    Bot,
    Team,
    Billing,
    Privacy,
    Account,
}

impl Page {
    pub const ALL: &[Page] = &[
        Page::Home,
        Page::Inbox,
        Page::Orders,
        Page::Catalog,
        Page::Bot,
        Page::Team,
        Page::Billing,
        Page::Privacy,
        Page::Account,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Page::Home => "/console",
            Page::Inbox => "/console/inbox",
            Page::Orders => "/console/orders",
            Page::Catalog => "/console/catalog",
            Page::Bot => "/console/bot",
            Page::Team => "/console/team",
            Page::Billing => "/console/billing",
            Page::Privacy => "/console/privacy",
            Page::Account => "/console/account",
        }
    }

    /// The page's name in the navigation, in `lang`.
    pub fn title(self, lang: Lang) -> &'static str {
        let word = match self {
            Page::Home => Word::Home,
            Page::Inbox => Word::Inbox,
            Page::Orders => Word::Orders,
            Page::Catalog => Word::Catalog,
            Page::Bot => Word::Bot,
            Page::Team => Word::Team,
            Page::Billing => Word::Billing,
            Page::Privacy => Word::Privacy,
            Page::Account => Word::Account,
        };
        word.in_(lang)
    }

    /// What a role must be allowed to see the page.
    pub fn needs(self) -> Action {
        match self {
            Page::Home => Action::ViewHome,
            Page::Inbox => Action::ViewInbox,
            Page::Orders => Action::ViewOrders,
            Page::Catalog => Action::ViewCatalog,
            Page::Bot => Action::ViewBot,
            Page::Team => Action::ManageTeam,
            Page::Billing => Action::ManageBilling,
            Page::Privacy => Action::ManagePrivacy,
            Page::Account => Action::ViewHome,
        }
    }
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// A page's failure, shown as a page with its status: the API's error (its
/// stable code and message) or a refusal of the console's own.
#[derive(Debug)]
pub struct ConsoleError(pub ApiError);

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        ConsoleError(error)
    }
}

impl From<StaffError> for ConsoleError {
    fn from(error: StaffError) -> Self {
        ConsoleError(error.into())
    }
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> Self {
        ConsoleError(error.into())
    }
}

impl IntoResponse for ConsoleError {
    /// The page of the error, in the request's language (`language.rs`).
    fn into_response(self) -> Response {
        language::Failure::from(self.0).into_response()
    }
}

/// The answer to a form posted without its session's CSRF token.
pub fn csrf_refused() -> ConsoleError {
    ConsoleError(ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_refused",
        "this form has expired or did not come from the console; reload the page and send it again",
    ))
}

/// A page the role does not open.
fn not_allowed() -> ConsoleError {
    ConsoleError(StaffError::NotAllowed.into())
}

/// A signed-in person, their session and their business. A request without
/// a live session is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed {
    pub session: Session,
    pub business: Business,
}

impl Signed {
    /// Refuses what the role may not do.
    pub fn require(&self, action: Action) -> Result<(), ConsoleError> {
        if self.session.may(action) { Ok(()) } else { Err(not_allowed()) }
    }

    /// Refuses a form whose hidden `csrf` field is not this session's token.
    pub fn check_csrf(&self, given: &str) -> Result<(), ConsoleError> {
        if staff::csrf_matches(&self.session, given) { Ok(()) } else { Err(csrf_refused()) }
    }

    /// What every state-changing form checks first: its CSRF token (`given`),
    /// then that the member may do `action`.
    pub fn may_post(&self, given: &str, action: Action) -> Result<(), ConsoleError> {
        self.check_csrf(given)?;
        self.require(action)
    }

    /// The language of the person's shop.
    pub fn lang(&self) -> Lang {
        Lang::of(&self.business.locale)
    }

    /// The shop's clock: its time zone and its locale's way of writing a time.
    pub fn clock(&self) -> clock::Clock {
        clock::Clock::of(&self.business)
    }

    /// The hidden field every state-changing form carries.
    pub fn csrf_field(&self) -> String {
        format!("<input type=hidden name=csrf value=\"{}\">", escape(&self.session.csrf))
    }
}

impl FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let Some(token) = session_token(parts) else { return Err(to_sign_in()) };
        let session = match staff::session(&app.db, &token).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(to_sign_in()),
            Err(e) => return Err(ConsoleError::from(e).into_response()),
        };
        let business = businesses::get(&app.db, &session.member.business_id).await;
        if let Ok(Some(business)) = &business {
            // Its error pages speak the shop's language, as its pages do.
            language::Speaking::shop(parts, Lang::of(&business.locale));
        }
        match business {
            // A suspended business's console is closed, as its API is.
            Ok(Some(business)) if business.suspended_at.is_some() => {
                Err(ConsoleError(ApiError::business_suspended()).into_response())
            }
            Ok(Some(business)) => Ok(Signed { session, business }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(ConsoleError::from(e).into_response()),
        }
    }
}

/// The session token the request's cookie carries.
fn session_token(parts: &Parts) -> Option<String> {
    cookie_value(parts, COOKIE)
}

/// The value of the request's cookie `cookie`, when it has one.
fn cookie_value(parts: &Parts, cookie: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` that signs a browser in with `token` (or, empty, out).
fn session_cookie(app: &App, token: &str) -> HeaderValue {
    let secure = if app.config.commerce.public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = if token.is_empty() { 0 } else { staff::SESSION_TTL_MS / 1000 };
    let cookie = format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    // Tokens are hex with a prefix: always a valid header value.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("bottega_console=; Max-Age=0"))
}

/// A whole page of the signed-in console: the shop's name, the navigation
/// (the pages the role may see), the sign-out forms, and `body`.
pub fn layout(signed: &Signed, current: Page, body: &str) -> Html<String> {
    let lang = signed.lang();
    let nav: String = Page::ALL
        .iter()
        .filter(|page| signed.session.may(page.needs()))
        .map(|&page| {
            let here = if page == current { " aria-current=page" } else { "" };
            format!("<a href=\"{}\"{here}>{}</a>", page.path(), escape(page.title(lang)))
        })
        .collect();
    let member = &signed.session.member;
    let header = format!(
        "<header><strong>{}</strong><nav>{nav}</nav><div class=who>{} ({})\
         <form method=post action=\"/console/sign-out\">{csrf}<button>{}</button></form>\
         <form method=post action=\"/console/sign-out-everywhere\">{csrf}<button>{}</button></form>\
         </div></header>",
        escape(&signed.business.name),
        escape(&member.name),
        escape(member.role.as_str()),
        escape(Word::SignOut.in_(lang)),
        escape(Word::SignOutEverywhere.in_(lang)),
        csrf = signed.csrf_field(),
    );
    let title = format!("{} · {}", current.title(lang), signed.business.name);
    Html(bare_in(lang, &title, &format!("{header}<main>{body}</main>")))
}

/// A page in `lang` with the console's head and `body` as it is.
fn bare_in(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang={}><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <link rel=stylesheet href=\"/console/assets/console.css\"></head><body>{body}</body></html>",
        lang.tag(),
        escape(title)
    )
}

/// A duration as people read it: `3 min`, `2 h 5 min`.
fn duration(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    if minutes < 60 { format!("{minutes} min") } else { format!("{} h {} min", minutes / 60, minutes % 60) }
}
