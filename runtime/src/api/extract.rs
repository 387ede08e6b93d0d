//! Extractors: JSON bodies and query strings whose rejections come back in the
//! API's error format, and the two kinds of caller (operator and business).

use axum::extract::{FromRequest, FromRequestParts, rejection::JsonRejection, rejection::QueryRejection};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::App;
use crate::signing::constant_time_eq;
use crate::store::businesses::{self, Business};

/// `axum::Json`, with malformed bodies answered as [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
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

/// `axum::extract::Query`, with bad query strings answered as [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    }
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
#[derive(Debug)]
pub struct Caller(pub Business);

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let key = bearer(parts)?;
        match businesses::by_api_key(&app.db, key).await? {
            Some(business) => Ok(Caller(business)),
            None => Err(ApiError::unauthorized("the API key is not valid")),
        }
    }
}
