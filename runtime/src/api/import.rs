//! `POST /v1/products/import`: a whole catalog at once, as JSON (an array of
//! products) or CSV (a header row naming the columns). Every row is checked;
//! the report says which rows were created, updated or rejected and why. The
//! valid rows are written in one transaction: a file that cannot be read, or a
//! failure while writing, imports nothing.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, header};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::catalog::check_product;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json};
use crate::App;
use crate::store::products::{self, ProductInput};

/// Rows one import may carry.
pub const MAX_ROWS: usize = 5000;
const MAX_BYTES: usize = 5 << 20;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(import_products)).layer(DefaultBodyLimit::max(MAX_BYTES))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub rejected: usize,
    pub rows: Vec<RowReport>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowReport {
    /// 1 for the first product (for CSV, the line after the header).
    pub row: usize,
    pub id: Option<String>,
    /// `created`, `updated` or `rejected`.
    pub status: &'static str,
    pub error: Option<String>,
}

/// Import products from JSON (`application/json`: an array) or CSV (`text/csv`:
/// columns id, name, description, photo_url, price_minor, currency, stock,
/// section, available).
#[utoipa::path(post, path = "/v1/products/import", tag = "catalog", security(("business_key" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn import_products(
    State(app): State<App>,
    Caller(business): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportReport>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let parsed: Vec<Result<ProductInput, String>> = if content_type.starts_with("application/json") {
        from_json(&body)?
    } else if content_type.starts_with("text/csv") {
        from_csv(&body)?
    } else {
        return Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json (an array of products) or text/csv",
        ));
    };
    if parsed.len() > MAX_ROWS {
        return Err(ApiError::invalid(format!("{} rows; an import has at most {MAX_ROWS}", parsed.len())));
    }
    let mut rows = Vec::with_capacity(parsed.len());
    let mut valid = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, row) in parsed.into_iter().enumerate() {
        let checked = row.and_then(|input| {
            check_product(&input, &business).map_err(|e| e.message)?;
            if !seen.insert(input.id.clone()) {
                return Err(format!("id `{}` appears twice in this import", input.id));
            }
            Ok(input)
        });
        match checked {
            Ok(input) => {
                rows.push(RowReport { row: n + 1, id: Some(input.id.clone()), status: "created", error: None });
                valid.push(input);
            }
            Err(error) => rows.push(RowReport { row: n + 1, id: None, status: "rejected", error: Some(error) }),
        }
    }
    let created = products::upsert_all(&app.db, &business.id, &valid).await?;
    let mut outcomes = created.into_iter();
    for row in rows.iter_mut().filter(|r| r.status != "rejected") {
        if outcomes.next() == Some(false) {
            row.status = "updated";
        }
    }
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    Ok(Json(ImportReport { created: count("created"), updated: count("updated"), rejected: count("rejected"), rows }))
}

fn from_json(body: &[u8]) -> Result<Vec<Result<ProductInput, String>>, ApiError> {
    let values: Vec<serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("the body is not a JSON array of products: {e}")))?;
    Ok(values.into_iter().map(|v| serde_json::from_value(v).map_err(|e| e.to_string())).collect())
}

fn from_csv(body: &[u8]) -> Result<Vec<Result<ProductInput, String>>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
    let headers =
        reader.headers().map_err(|e| ApiError::invalid(format!("the CSV header cannot be read: {e}")))?.clone();
    for required in ["id", "name", "price_minor", "currency", "section"] {
        if !headers.iter().any(|h| h == required) {
            return Err(ApiError::invalid(format!("the CSV header has no `{required}` column")));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ApiError::invalid(format!("the CSV cannot be read: {e}")))?;
        let field = |name: &str| headers.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or_default();
        let number = |name: &str, default: i64| -> Result<i64, String> {
            match field(name) {
                "" => Ok(default),
                text => text.parse().map_err(|_| format!("{name} `{text}` is not a whole number")),
            }
        };
        let row = (|| {
            Ok(ProductInput {
                id: field("id").to_string(),
                name: field("name").to_string(),
                description: field("description").to_string(),
                photo_url: Some(field("photo_url").to_string()).filter(|u| !u.is_empty()),
                price_minor: number("price_minor", -1)?,
                currency: field("currency").to_string(),
                stock: number("stock", 0)?,
                section: field("section").to_string(),
                available: !matches!(field("available").to_lowercase().as_str(), "false" | "no" | "0"),
            })
        })();
        rows.push(row);
    }
    Ok(rows)
}
