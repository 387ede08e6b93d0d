//! The HTTP API. [`router`] builds the whole thing from an [`App`], so tests
//! drive it with `oneshot` and no socket. Each resource module contributes its
//! routes and their OpenAPI description together, so `/openapi.json` cannot
//! drift from the code.

mod admin;
mod automations;
mod billing;
pub(crate) mod catalog;
mod channels;
mod chat;
mod console;
mod customers;
pub mod error;
mod extract;
mod images;
mod import;
mod orders;
mod pay;
mod plugins;
mod privacy;
pub mod rate_limits;
mod security;
mod staff;
mod webchat;
mod webhooks;
mod whatsapp;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::App;
use error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(title = "Bottega", description = "Chat shops whose bots are WebAssembly plugins."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "admin", description = "The operator manages businesses (admin token)."),
        (name = "catalog", description = "A business manages its products (business API key)."),
        (name = "plugins", description = "A business uploads, activates and watches its plugins."),
        (name = "chat", description = "Customers' messages and the business's conversations."),
        (name = "orders", description = "Orders created at checkout."),
        (name = "billing", description = "What a business owes: usage, the upcoming invoice, invoices."),
        (name = "staff", description = "The business's team (invitations) and its machine API keys with scopes."),
        (name = "customers", description = "A customer's data rights: export and erasure."),
        (name = "privacy", description = "The business's audit trail and retention."),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("admin_token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("business_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The whole API over `app`. Every error answers in the one format
/// ([`ApiError`]), whichever layer made it: handlers, extractors, the router
/// (404, 405) or a body limit (413); a path or query string carrying a NUL is
/// refused before any handler runs; every answer gets the security headers of
/// `security.rs` (pages' content policies, `nosniff`).
pub fn router(app: App) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(admin::routes())
        .merge(catalog::routes())
        .merge(import::routes())
        .merge(images::routes())
        .merge(plugins::routes(app.config.plugins.upload_limits.largest()))
        .merge(chat::routes())
        .merge(channels::routes())
        .merge(automations::routes())
        .merge(orders::routes())
        .merge(billing::routes())
        .merge(webhooks::routes())
        .merge(staff::routes())
        .merge(customers::routes())
        .merge(privacy::routes())
        .split_for_parts();
    api.merge(pay::routes())
        .merge(console::routes(app.config.plugins.upload_limits.largest()))
        .merge(whatsapp::routes())
        .merge(webchat::routes())
        .merge(images::public_routes())
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(move || async move { Json(openapi.clone()) }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(refuse_nul))
        .layer(axum::middleware::map_response(errors_in_our_format))
        .layer(axum::middleware::from_fn(security::headers))
        // Spans name the path only: query strings carry payment-link tokens.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(app)
}

/// The name of the cookie a console session rides in (for benchmarks that
/// sign in without a browser).
pub use console::COOKIE as CONSOLE_COOKIE;

/// Every route of the business console (method and path as routed), which
/// `/openapi.json` does not describe (they are pages, not the API).
pub fn console_routes() -> Vec<(axum::http::Method, &'static str)> {
    console::paths()
}

#[derive(Debug, Serialize, ToSchema)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// Liveness and database reachability.
async fn healthz(State(app): State<App>) -> Result<Json<Health>, ApiError> {
    sqlx::query("SELECT 1").execute(app.db.pool()).await.map_err(|e| {
        tracing::error!("health check: database unreachable: {e}");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is unreachable",
        )
    })?;
    Ok(Json(Health { status: "ok", database: "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "no_route", "no such endpoint; see /openapi.json")
}

/// Refuses a request whose path or query string carries an encoded NUL, on
/// every route (PostgreSQL cannot store one; see `extract`).
async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if extract::has_encoded_nul(uri.path()) || uri.query().is_some_and(extract::has_encoded_nul) {
        return ApiError::invalid_text().into_response();
    }
    next.run(request).await
}

/// Rewrites an error answer a layer below the handlers made in its own
/// format (plain text, or nothing) into ours. JSON answers are ours already;
/// HTML pages (payment, web chat) keep theirs.
async fn errors_in_our_format(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut ours = ApiError::from_status(status);
    // A rejection's text says what was wrong (4xx only: 5xx hide their detail).
    if status.is_client_error()
        && !matches!(status.as_u16(), 404 | 405 | 413)
        && let Ok(bytes) = axum::body::to_bytes(body, 1024).await
    {
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if !text.is_empty() {
            ours.message = text;
        }
    }
    let mut answer = ours.into_response();
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}
