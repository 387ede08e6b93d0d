//! `/chat/{business}`: the web chat page customers open, its script and
//! style, and the WebSocket the page talks to (see `transport::web`).
//!
//! The page is public: anyone with the shop's address may start a chat. What
//! a customer said is reachable only with the session token their browser
//! keeps, sent in the WebSocket's first frame.

use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;
use super::pay::escape;
use super::rate_limits::ClientAddress;
use crate::App;
use crate::store::businesses::{self, Business};
use crate::transport::web::{connection, page};

/// Largest frame a page may send (a message is at most 4 KiB of text).
const MAX_FRAME_BYTES: usize = 64 * 1024;

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/chat/assets/chat.js", axum::routing::get(script))
        .route("/chat/assets/chat.css", axum::routing::get(style))
        .route("/chat/{business_id}", axum::routing::get(chat_page))
        .route("/chat/{business_id}/ws", axum::routing::get(socket))
}

async fn shop(app: &App, business_id: &str) -> Result<Business, ApiError> {
    businesses::get(&app.db, business_id).await?.ok_or_else(|| ApiError::not_found("the shop"))
}

async fn chat_page(State(app): State<App>, Path(business_id): Path<String>) -> Response {
    let business = match shop(&app, &business_id).await {
        Ok(business) => business,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            let body = "<!doctype html><html lang=en><meta charset=utf-8><title>No such shop</title>\
                        <p>There is no shop at this address.</p></html>";
            return (StatusCode::NOT_FOUND, Html(body)).into_response();
        }
        Err(e) => return e.into_response(),
    };
    let html = page::HTML
        .replace("{{lang}}", &escape(&business.locale))
        .replace("{{shop_name}}", &escape(&business.name))
        .replace("{{business_id}}", &escape(&business.id));
    let mut response = Html(html).into_response();
    // What the page may load: its own script and style, product photos from
    // anywhere, and its own WebSocket; framed by whom the operator allows.
    let policy = super::security::web_chat_policy(&app.config.http.web_chat_frame_ancestors);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", page::SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", page::STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
}

/// The page's WebSocket. Connections are rate limited per client address
/// (counted before anything else, so a flood costs no database read).
async fn socket(
    State(app): State<App>,
    Path(business_id): Path<String>,
    address: ClientAddress,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if let Err(limited) = app.limits.web_chat_connect(address) {
        return Ok(limited.into_response());
    }
    let business = shop(&app, &business_id).await?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "websocket_required", format!("open this with a WebSocket: {e}"))
    })?;
    Ok(upgrade.max_message_size(MAX_FRAME_BYTES).on_upgrade(move |socket| connection::serve(socket, app, business)))
}
