//! The HTTP API. [`router`] builds the whole thing from an [`App`], so tests
//! drive it with `oneshot` and no socket. Each resource module contributes its
//! routes and their OpenAPI description together, so `/openapi.json` cannot
//! drift from the code.

mod admin;
mod automations;
pub(crate) mod catalog;
mod channels;
mod chat;
pub mod error;
mod extract;
mod images;
mod import;
mod orders;
mod pay;
mod plugins;
mod webchat;
mod webhooks;
mod whatsapp;

use axum::extract::State;
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

/// The whole API over `app`.
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
        .merge(webhooks::routes())
        .split_for_parts();
    api.merge(pay::routes())
        .merge(whatsapp::routes())
        .merge(webchat::routes())
        .merge(images::public_routes())
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(move || async move { Json(openapi.clone()) }))
        .fallback(not_found)
        // Spans name the path only: query strings carry payment-link tokens.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<axum::body::Body>| {
            tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(app)
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
