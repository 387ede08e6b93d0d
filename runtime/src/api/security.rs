//! Security headers on what the host serves to browsers, added by one layer
//! over every route ([`headers`]):
//!
//! - every answer: `X-Content-Type-Options: nosniff`;
//! - everything under `/pay/` (the payment page, its challenge, its style, its
//!   error pages): [`PAY_POLICY`] (no script at all, style only from the
//!   host, forms only to the host, never framed), `Referrer-Policy:
//!   no-referrer` (its address carries the payment link's token),
//!   `Cache-Control: no-store` and `X-Frame-Options: DENY`;
//! - everything under `/console/` (the business console): [`CONSOLE_POLICY`]
//!   (script and style only from the host, none inline; fetches, forms and
//!   images only to and from the host; never framed), `Referrer-Policy: no-referrer` (an invitation's address carries
//!   its token), `Cache-Control: no-store` and `X-Frame-Options: DENY`;
//! - any other HTML page without a policy of its own: [`DEFAULT_HTML_POLICY`].
//!
//! The web chat page sets its own policy ([`web_chat_policy`]): its script
//! and style from the host, photos from anywhere, its WebSocket to the same
//! origin, framed by whom the operator allows (`--web-chat-frame-ancestors`,
//! anyone by default: shops embed their chat). No page has inline script,
//! inline style or event-handler attributes, so no policy allows them.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The payment page's policy.
pub const PAY_POLICY: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The business console's policy: like the payment page's, images from the
/// host too, and script from the host only (the thread's polling, which
/// fetches from the host): nothing inline.
pub const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
    img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Any other HTML page's (the web chat's "no such shop", say): nothing loads, nothing frames it.
pub const DEFAULT_HTML_POLICY: &str = "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The web chat page's policy, without its `frame-ancestors`.
const WEB_CHAT_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src * data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'";

/// The web chat page's policy, framed by `frame_ancestors` (checked by
/// [`crate::config::frame_ancestors`]; one that cannot be a header value
/// falls back to `'none'`).
pub fn web_chat_policy(frame_ancestors: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{WEB_CHAT_POLICY}; frame-ancestors {frame_ancestors}"))
        .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_HTML_POLICY))
}

/// Adds the headers above to every answer.
pub async fn headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let payment_page = path.starts_with("/pay/");
    let console = path == "/console" || path.starts_with("/console/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if payment_page || console {
        let policy = if payment_page { PAY_POLICY } else { CONSOLE_POLICY };
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    } else if is_html(headers) && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_HTML_POLICY));
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"))
}
