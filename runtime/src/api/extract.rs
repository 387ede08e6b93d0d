//! Extractors: JSON bodies, query strings and path parameters whose
//! rejections come back in the API's error format, and the two kinds of
//! caller (operator and business, the latter by a key whose scope must reach
//! the route).
//!
//! Text is decided once, here: no text a client sends may contain U+0000 (NUL),
//! which PostgreSQL cannot store; a JSON body, a query string or a path that
//! carries one is refused with 400 `invalid_text` before any handler runs. A
//! JSON body must be sent as `application/json` (415 `unsupported_media_type`
//! otherwise), and one larger than the endpoint accepts is 413
//! `payload_too_large`. Ids a business chooses (product ids) use the safe
//! alphabet of [`check_id`].

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::App;
use crate::domain::staff::Need;
use crate::signing::constant_time_eq;
use crate::store::api_keys;
use crate::store::businesses::Business;

/// `axum::Json`, with malformed bodies answered as [`ApiError`]s: the content
/// type must be `application/json`, and no string may hold a NUL.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(request.headers());
        let bytes = Bytes::from_request(request, state).await?;
        json_body(json, &bytes).map(Json)
    }
}

/// An optional JSON body: none at all (or only whitespace) is `None`;
/// anything else is held to [`Json`]'s rules (the content type, no NUL).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(request.headers());
        let bytes = Bytes::from_request(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        json_body(json, &bytes).map(|value| OptionalJson(Some(value)))
    }
}

/// A body that must be JSON (`json`: the request said so) and hold no NUL.
fn json_body<T: DeserializeOwned>(json: bool, bytes: &Bytes) -> Result<T, ApiError> {
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON, with `content-type: application/json`",
        ));
    }
    // A NUL can only arrive escaped (`\u0000`): only then is the body read twice.
    if bytes.windows(6).any(|w| w == b"\\u0000")
        && serde_json::from_slice::<Value>(bytes).is_ok_and(|value| json_has_nul(&value))
    {
        return Err(ApiError::invalid_text());
    }
    let axum::Json(value) = axum::Json::<T>::from_bytes(bytes)?;
    Ok(value)
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// True when the request says its body is `application/json` (parameters
/// such as `charset` aside).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// True when a string (or an object key) anywhere in `value` holds a NUL.
pub fn json_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// True when a raw path or query string carries an encoded NUL (`%00`; a raw
/// one cannot be part of a URI).
pub fn has_encoded_nul(raw: &str) -> bool {
    raw.contains("%00")
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            _ => "invalid_request",
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::too_large();
        }
        ApiError::new(rejection.status(), "invalid_request", rejection.body_text())
    }
}

/// `axum::extract::Query`, with bad query strings answered as [`ApiError`]s.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(has_encoded_nul) {
            return Err(ApiError::invalid_text());
        }
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(Query(value))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    }
}

/// `axum::extract::Path`, with bad path parameters answered as [`ApiError`]s.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(ApiError::invalid_text());
        }
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(rejection.status(), "invalid_path", rejection.body_text())
    }
}

/// The longest id a business may choose.
pub use crate::ids::MAX_ID_BYTES;

/// Checks an id a business chooses (a product's): 1 to 64 of `A-Z a-z 0-9 . _ -`,
/// and not `.` or `..`, so it is safe in a path, a URL and a file name.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if crate::ids::is_safe_id(id) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_id",
        format!("{field} must be 1 to {MAX_ID_BYTES} letters, digits, `-`, `_` or `.` (and not `.` or `..`)"),
    ))
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <key>`"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <key>`"))
}

/// The operator, authenticated by the admin token.
#[derive(Debug)]
pub struct Operator;

impl FromRequestParts<App> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        if constant_time_eq(token.as_bytes(), app.config.admin_token.as_bytes()) {
            Ok(Operator)
        } else {
            Err(ApiError::unauthorized("the admin token is not valid"))
        }
    }
}

/// The business an API key belongs to. Everything a business reaches through
/// the API is scoped by this: there is no business id in business paths.
/// The key's scope must reach the route ([`route_need`]); the business's own
/// key reaches every route, a machine key what its scope allows (403
/// `scope_insufficient` otherwise). A business the operator suspended is
/// refused with 403 `business_suspended`, whatever its key.
#[derive(Debug)]
pub struct Caller(pub Business);

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let key = bearer(parts)?;
        let Some((business, scope)) = api_keys::authenticate(&app.db, key).await? else {
            return Err(ApiError::unauthorized("the API key is not valid"));
        };
        if business.suspended_at.is_some() {
            return Err(ApiError::business_suspended());
        }
        let path = parts.extensions.get::<MatchedPath>().map_or_else(|| parts.uri.path(), MatchedPath::as_str);
        if !scope.allows(route_need(&parts.method, path)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "scope_insufficient",
                format!("this API key's scope ({scope}) does not reach {} {path}", parts.method),
            ));
        }
        Ok(Caller(business))
    }
}

/// What a business route (`path` as routed, with `{id}` placeholders) needs
/// of a key: the team and keys need the full key, the catalog its own scope,
/// any other read a read scope, any other change the full key.
pub fn route_need(method: &Method, path: &str) -> Need {
    let read = *method == Method::GET || *method == Method::HEAD;
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/v1/staff") || under("/v1/api-keys") {
        Need::Team
    } else if under("/v1/products") || under("/v1/images") {
        if read { Need::CatalogRead } else { Need::CatalogWrite }
    } else if read {
        Need::Read
    } else {
        Need::Write
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, accepted: bool) {
        assert_eq!(check_id("id", id).is_ok(), accepted, "{id:?}");
    }

    #[test]
    fn ids_use_the_safe_alphabet() {
        check("tea", true);
        check("SKU-12_b.v2", true);
        check("...", true);
        check(&"a".repeat(64), true);
        check(&"a".repeat(65), false);
        check("", false);
        check(".", false);
        check("..", false);
        check("a/b", false);
        check("a b", false);
        check("caf\u{e9}", false);
        check("a\0", false);
        check("%2e%2e", false);
    }

    #[test]
    fn a_route_needs_what_its_method_and_path_say() {
        for (method, path, need) in [
            (Method::GET, "/v1/products", Need::CatalogRead),
            (Method::PUT, "/v1/products/{id}", Need::CatalogWrite),
            (Method::POST, "/v1/products/import", Need::CatalogWrite),
            (Method::POST, "/v1/images", Need::CatalogWrite),
            (Method::GET, "/v1/productsandmore", Need::Read),
            (Method::GET, "/v1/orders/{id}", Need::Read),
            (Method::POST, "/v1/orders/{id}/ship", Need::Write),
            (Method::GET, "/v1/staff", Need::Team),
            (Method::POST, "/v1/staff/invitations", Need::Team),
            (Method::DELETE, "/v1/api-keys/{id}", Need::Team),
        ] {
            assert_eq!(route_need(&method, path), need, "{method} {path}");
        }
    }

    #[test]
    fn nul_is_found_wherever_it_hides() {
        let nul = |text: &str| json_has_nul(&serde_json::from_str(text).expect("json"));
        assert!(nul(r#"{"a": "x\u0000"}"#));
        assert!(nul(r#"{"a": [1, {"b": ["\u0000"]}]}"#));
        assert!(nul(r#"{"k\u0000": 1}"#));
        assert!(!nul(r#"{"a": "\\u0000"}"#), "an escaped backslash is text");
        assert!(!nul(r#"{"a": null, "b": 0}"#));
        assert!(has_encoded_nul("/v1/products/a%00b"));
        assert!(!has_encoded_nul("/v1/products/a%2500"));
    }
}
