//! Product photos: a business uploads an image (`POST /v1/images`), and the
//! runtime serves it publicly at `/images/{id}` for product cards and pages.
//! Only PNG, JPEG, WebP and GIF are accepted, checked by their bytes, not just
//! by the declared type. [`store`] is the one path from uploaded bytes to a
//! stored photo: the API's upload and the console's product form both call it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json};
use crate::App;
use crate::store::images;

/// The largest image accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 2 << 20;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(upload_image)).layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES + 1))
}

pub fn public_routes() -> axum::Router<App> {
    axum::Router::new().route("/images/{id}", axum::routing::get(serve_image))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedImage {
    pub id: String,
    /// Use as a product's `photo_url`.
    pub url: String,
    pub content_type: String,
}

/// The image type its first bytes announce.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// Upload a product photo (the image as the body, with its content type).
#[utoipa::path(post, path = "/v1/images", tag = "catalog", security(("business_key" = [])),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 201, body = UploadedImage), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn upload_image(
    State(app): State<App>,
    Caller(business): Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<UploadedImage>), ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::invalid(rejection.body_text())
        }
    })?;
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(store(&app, &business.id, declared, &bytes).await?)))
}

/// The refusal of an image over [`MAX_IMAGE_BYTES`].
pub(super) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "image_too_large",
        format!("an image is at most {MAX_IMAGE_BYTES} bytes"),
    )
}

/// Checks an uploaded image and stores it as `business_id`'s: at most
/// [`MAX_IMAGE_BYTES`], a PNG, JPEG, WebP or GIF by its bytes, and `declared`
/// (the content type it was sent with) the type its bytes are. The one path
/// of `POST /v1/images` and of the console's photo upload.
pub(super) async fn store(
    app: &App,
    business_id: &str,
    declared: &str,
    bytes: &[u8],
) -> Result<UploadedImage, ApiError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large());
    }
    let Some(actual) = sniff(bytes) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
            "the body is not a PNG, JPEG, WebP or GIF image",
        ));
    };
    if declared != actual {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
            format!("the content type says `{declared}` but the bytes are {actual}"),
        ));
    }
    let id = images::insert(&app.db, business_id, actual, bytes).await?;
    let url = format!("{}/images/{id}", app.config.commerce.public_url);
    Ok(UploadedImage { id, url, content_type: actual.to_string() })
}

async fn serve_image(State(app): State<App>, Path(id): Path<String>) -> Response {
    match images::get(&app.db, &id).await {
        Ok(Some((content_type, bytes))) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => ApiError::not_found("the image").into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
    }
}
