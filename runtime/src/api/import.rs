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
use crate::store::businesses::Business;
use crate::store::products::{self, ProductInput};

/// Rows one import may carry.
pub const MAX_ROWS: usize = 5000;
/// The largest import body.
pub const MAX_BYTES: usize = 5 << 20;

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
    Ok(Json(import(&app, &business, content_type, &body).await?))
}

/// Imports `body` (JSON or CSV, as `content_type` says) into `business`'s
/// catalog and reports each row: the API's import and the console's.
pub(super) async fn import(
    app: &App,
    business: &Business,
    content_type: &str,
    body: &[u8],
) -> Result<ImportReport, ApiError> {
    let parsed: Vec<Result<ProductInput, String>> = if content_type.starts_with("application/json") {
        from_json(body)?
    } else if content_type.starts_with("text/csv") {
        from_csv(body)?
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
            check_product(&input, business).map_err(|e| e.message)?;
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
    Ok(ImportReport { created: count("created"), updated: count("updated"), rejected: count("rejected"), rows })
}

/// The columns of a catalog in CSV, in order: what an import reads and an export writes.
pub const CSV_COLUMNS: [&str; 9] =
    ["id", "name", "description", "photo_url", "price_minor", "currency", "stock", "section", "available"];

/// `catalog` as CSV in the import's format, so an export imports back as it was.
pub(super) fn to_csv(catalog: &[products::Product]) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS).map_err(ApiError::internal)?;
    for p in catalog {
        let (price, stock) = (p.price_minor.to_string(), p.stock.to_string());
        let available = if p.available { "true" } else { "false" };
        let photo = p.photo_url.as_deref().unwrap_or_default();
        let cells: [&str; 9] = [
            p.id.as_str(),
            p.name.as_str(),
            p.description.as_str(),
            photo,
            price.as_str(),
            p.currency.as_str(),
            stock.as_str(),
            p.section.as_str(),
            available,
        ];
        writer.write_record(cells).map_err(ApiError::internal)?;
    }
    writer.into_inner().map_err(|e| ApiError::internal(e.to_string()))
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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::proptests::{json_value, mutate};

    const COLUMNS: [&str; 9] =
        ["id", "name", "description", "photo_url", "price_minor", "currency", "stock", "section", "available"];

    /// A product whose every field survives CSV's trimming.
    fn product() -> impl Strategy<Value = ProductInput> {
        (
            ("[a-z0-9._-]{1,12}", "[A-Za-z0-9]{1,12}", "[A-Za-z0-9,.\"]{0,20}"),
            prop::option::of("https://img\\.example/[a-z]{1,8}"),
            (any::<i64>(), "[A-Z]{3}", any::<i64>(), "[A-Za-z]{1,10}", any::<bool>()),
        )
            .prop_map(
                |((id, name, description), photo_url, (price_minor, currency, stock, section, available))| {
                    ProductInput { id, name, description, photo_url, price_minor, currency, stock, section, available }
                },
            )
    }

    fn csv_of(products: &[ProductInput]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(COLUMNS).expect("header");
        for p in products {
            let photo = p.photo_url.clone().unwrap_or_default();
            let (price, stock) = (p.price_minor.to_string(), p.stock.to_string());
            let available = if p.available { "true" } else { "false" };
            let cells: [&str; 9] = [
                p.id.as_str(),
                p.name.as_str(),
                p.description.as_str(),
                photo.as_str(),
                price.as_str(),
                p.currency.as_str(),
                stock.as_str(),
                p.section.as_str(),
                available,
            ];
            writer.write_record(cells).expect("row");
        }
        writer.flush().expect("flushed");
        writer.get_ref().clone()
    }

    fn as_json(rows: Vec<Result<ProductInput, String>>) -> Vec<Value> {
        rows.into_iter().map(|row| serde_json::to_value(row.expect("a row that was written")).expect("json")).collect()
    }

    fn header_names_every_required_column(body: &[u8]) -> bool {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
        let Ok(headers) = reader.headers() else { return false };
        ["id", "name", "price_minor", "currency", "section"].iter().all(|c| headers.iter().any(|h| h == *c))
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn raw_bytes_never_panic_either_parser(body in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(rows) = from_json(&body) {
                let array = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.as_array().map(Vec::len));
                prop_assert_eq!(array, Some(rows.len()), "only a JSON array imports");
            }
            if from_csv(&body).is_ok() {
                prop_assert!(header_names_every_required_column(&body));
            }
        }

        #[test]
        fn any_json_array_gives_one_verdict_per_element(values in prop::collection::vec(json_value(), 0..8)) {
            let body = serde_json::to_vec(&values).expect("json");
            let rows = from_json(&body).expect("an array is read");
            prop_assert_eq!(rows.len(), values.len());
        }

        #[test]
        fn anything_but_an_array_is_refused(value in json_value()) {
            prop_assume!(!value.is_array());
            prop_assert!(from_json(value.to_string().as_bytes()).is_err());
        }

        #[test]
        fn products_round_trip_through_json_and_csv(products in prop::collection::vec(product(), 0..6)) {
            let expected: Vec<Value> = products.iter().map(|p| serde_json::to_value(p).expect("json")).collect();
            let json = serde_json::to_vec(&products).expect("json");
            prop_assert_eq!(&as_json(from_json(&json).expect("json import")), &expected);
            prop_assert_eq!(&as_json(from_csv(&csv_of(&products)).expect("csv import")), &expected);
        }

        #[test]
        fn near_misses_of_a_product_never_panic(item in product(), choice in any::<usize>(), replacement in json_value()) {
            let row = mutate(&serde_json::to_value(&item).expect("json"), choice, replacement);
            let rows = from_json(Value::Array(vec![row]).to_string().as_bytes()).expect("an array is read");
            prop_assert_eq!(rows.len(), 1);
        }

        #[test]
        fn a_csv_cell_that_is_not_a_number_rejects_its_row_only(
            products in prop::collection::vec(product(), 1..5),
            bad in "[a-z]{1,6}",
            which in any::<usize>(),
        ) {
            let mut body = String::from_utf8(csv_of(&products)).expect("utf-8");
            let line = 1 + which % products.len();
            let lines: Vec<String> = body.lines().map(str::to_string).collect();
            let price = products[line - 1].price_minor.to_string();
            // The price is the fifth cell; the cells before it hold no comma
            // when the description has none.
            prop_assume!(!products[line - 1].description.contains(','));
            let broken = lines[line].replacen(&format!(",{price},"), &format!(",{bad},"), 1);
            prop_assume!(broken != lines[line]);
            body = lines
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{}\n", if i == line { &broken } else { l }))
                .collect();
            let rows = from_csv(body.as_bytes()).expect("the file is read");
            prop_assert_eq!(rows.len(), products.len());
            prop_assert!(rows[line - 1].as_ref().is_err_and(|e| e.contains("price_minor")));
        }
    }
}
