//! The console's catalog: the products, searched; creating and editing one
//! (the price typed in the currency's units); CSV import with its per-row
//! report and export in the same format (`api/import.rs`'s, so an export
//! imports back as it was). Checks and writes are `api/catalog.rs`'s shared
//! `create` and `replace`, as for the API; a photo uploaded on the edit form
//! goes through `api/images.rs`'s `store` (its size and type checks), and
//! becomes the product's photo.

use axum::body::Bytes;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::catalog::{create, replace};
use super::super::error::ApiError;
use super::super::images;
use super::super::import::{import, to_csv};
use super::bot::{multipart_fields, multipart_parts};
use super::orders::{major_units, parse_major_units};
use super::words::Word;
use super::{ConsoleError, Page, Signed, csrf_refused, escape, layout};
use crate::App;
use crate::domain::staff::Action;
use crate::money;
use crate::staff;
use crate::store::products::{self, Product, ProductInput};

/// Products listed (and found by a search) at most.
const LISTED: u32 = 200;
/// Products read per query while exporting.
const PAGE: u32 = 500;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Debug, Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    photo_url: String,
    /// In the currency's units, as typed ("2.40").
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    stock: String,
    #[serde(default)]
    section: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    available: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    signed: Signed,
    Query(query): Query<SearchQuery>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewCatalog)?;
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business = &signed.business;
    let q = query.q.trim();
    if q.contains('\0') {
        return Err(ConsoleError(ApiError::invalid_text()));
    }
    let found = if q.is_empty() {
        products::list(&app.db, &business.id, None, 0, LISTED).await?
    } else {
        products::search(&app.db, &business.id, q, LISTED).await?
    };
    let rows: String = found
        .iter()
        .map(|p| {
            format!(
                "<tr><td><a href=\"/console/catalog/{}\">{}</a></td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td>{}</td></tr>",
                escape(&p.id),
                escape(&p.name),
                escape(&p.section),
                escape(&money::format_localized(p.price_minor, &p.currency, &business.locale)),
                p.stock,
                if p.available { w(Word::Yes) } else { w(Word::No) },
            )
        })
        .collect();
    let csrf = signed.csrf_field();
    let edit = if signed.session.may(Action::EditCatalog) {
        format!(
            "<p><a href=\"/console/catalog/new\">{}</a></p>\
             <h2>{}</h2><form class=stack method=post action=\"/console/catalog/import\" \
             enctype=\"multipart/form-data\">{csrf}<label>{} <input type=file name=csv accept=\".csv,text/csv\" \
             required></label><button>{}</button></form>",
            w(Word::AddProduct),
            w(Word::ImportCsvTitle),
            w(Word::CsvFile),
            w(Word::Import),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1><form method=get action=\"/console/catalog\"><label>{} \
         <input type=search name=q value=\"{}\"></label> <button>{}</button> \
         <a href=\"/console/catalog/export.csv\">{}</a></form>\
         <table id=products><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         </tr></thead><tbody>{rows}</tbody></table>{edit}",
        w(Word::Catalog),
        w(Word::Search),
        escape(q),
        w(Word::Search),
        w(Word::ExportCsv),
        w(Word::Product),
        w(Word::Section),
        w(Word::Price),
        w(Word::Stock),
        w(Word::Available),
    );
    Ok(layout(&signed, Page::Catalog, &body))
}

/// The whole catalog as CSV in the import's columns.
pub async fn export(State(app): State<App>, signed: Signed) -> Result<Response, ConsoleError> {
    signed.require(Action::ViewCatalog)?;
    let mut all = Vec::new();
    loop {
        let offset = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let page = products::list(&app.db, &signed.business.id, None, offset, PAGE).await?;
        let full = page.len() == PAGE as usize;
        all.extend(page);
        if !full {
            break;
        }
    }
    let csv = to_csv(&all)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog.csv\""),
        ],
        csv,
    )
        .into_response())
}

fn product_form(signed: &Signed, action: &str, product: Option<&Product>, message: &str) -> String {
    let business = &signed.business;
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let id_field = match product {
        Some(p) => format!(
            "<input type=hidden name=id value=\"{}\"><p>{}: <code>{}</code></p>",
            escape(&p.id),
            w(Word::IdLabel),
            escape(&p.id)
        ),
        None => format!(
            "<label>{} <input name=id required maxlength=64 pattern=\"[A-Za-z0-9._-]+\"></label>",
            w(Word::IdLabel)
        ),
    };
    let currency = product.map_or_else(|| business.currency.clone(), |p| p.currency.clone());
    let available = if product.is_none_or(|p| p.available) { " checked" } else { "" };
    format!(
        "{message}<form class=stack method=post action=\"{}\">{}{id_field}\
         <label>{} <input name=name required value=\"{}\"></label>\
         <label>{} <textarea name=description rows=3>{}</textarea></label>\
         <label>{} <input name=photo_url type=url value=\"{}\"></label>\
         <label>{} <input name=price inputmode=decimal required value=\"{}\"></label>\
         <label>{} <input name=currency required maxlength=3 value=\"{}\"></label>\
         <label>{} <input name=stock inputmode=numeric value=\"{}\"></label>\
         <label>{} <input name=section required value=\"{}\"></label>\
         <label><input type=checkbox name=available value=on{available}> {}</label>\
         <button>{}</button></form>",
        escape(action),
        signed.csrf_field(),
        w(Word::Name),
        escape(product.map_or("", |p| p.name.as_str())),
        w(Word::Description),
        escape(product.map_or("", |p| p.description.as_str())),
        w(Word::PhotoUrl),
        escape(product.and_then(|p| p.photo_url.as_deref()).unwrap_or_default()),
        w(Word::Price),
        escape(&product.map(|p| major_units(p.price_minor, &p.currency)).unwrap_or_default()),
        w(Word::Currency),
        escape(&currency),
        w(Word::Stock),
        escape(&product.map(|p| p.stock.to_string()).unwrap_or_default()),
        w(Word::Section),
        escape(product.map_or("", |p| p.section.as_str())),
        w(Word::Available),
        w(Word::Save),
    )
}

pub async fn new_product(signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::EditCatalog)?;
    let body = format!(
        "<h1>{}</h1>{}",
        escape(Word::AddProduct.in_(signed.lang())),
        product_form(&signed, "/console/catalog", None, "")
    );
    Ok(layout(&signed, Page::Catalog, &body))
}

pub async fn edit_product(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::EditCatalog)?;
    let product =
        products::get(&app.db, &signed.business.id, &id).await?.ok_or_else(|| ApiError::not_found("the product"))?;
    let action = format!("/console/catalog/{id}");
    let photo = match &product.photo_url {
        Some(url) => format!("<p><img id=photo src=\"{}\" alt=\"\" width=160></p>", escape(url)),
        None => String::new(),
    };
    let lang = signed.lang();
    let upload = format!(
        "<h2>{}</h2>{photo}<form class=stack method=post action=\"/console/catalog/{}/photo\" \
         enctype=\"multipart/form-data\">{}<label>{} \
         <input type=file name=photo accept=\"image/png,image/jpeg,image/webp,image/gif\" required></label>\
         <button>{}</button></form>",
        escape(Word::Photo.in_(lang)),
        escape(&product.id),
        signed.csrf_field(),
        Word::ImageUpTo.fill(lang, &[&(images::MAX_IMAGE_BYTES / 1024).to_string()]),
        escape(Word::UploadPhoto.in_(lang)),
    );
    let body =
        format!("<h1>{}</h1>{}{upload}", escape(&product.name), product_form(&signed, &action, Some(&product), ""));
    Ok(layout(&signed, Page::Catalog, &body))
}

/// A photo posted from the product's edit form: stored as `POST /v1/images`
/// stores one (the same checks), then made the product's photo.
pub async fn upload_photo(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    signed.require(Action::EditCatalog)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(parts) = multipart_parts(content_type, &body) else {
        return Err(ConsoleError(ApiError::invalid("send the photo form as it is (multipart/form-data)")));
    };
    let csrf = parts
        .iter()
        .find(|part| part.name == "csrf")
        .and_then(|part| std::str::from_utf8(&part.bytes).ok())
        .unwrap_or_default();
    if !staff::csrf_matches(&signed.session, csrf) {
        return Err(csrf_refused());
    }
    let business = &signed.business;
    let product = products::get(&app.db, &business.id, &id).await?.ok_or_else(|| ApiError::not_found("the product"))?;
    let Some(photo) = parts.iter().find(|part| part.name == "photo" && !part.bytes.is_empty()) else {
        return Err(ConsoleError(ApiError::invalid("choose an image to upload")));
    };
    let image = images::store(&app, &business.id, &photo.content_type, &photo.bytes).await?;
    let input = ProductInput {
        id: product.id,
        name: product.name,
        description: product.description,
        photo_url: Some(image.url),
        price_minor: product.price_minor,
        currency: product.currency,
        stock: product.stock,
        section: product.section,
        available: product.available,
    };
    let product = replace(&app, business, &input).await?;
    Ok(Redirect::to(&format!("/console/catalog/{}", product.id)).into_response())
}

/// The form's fields as the API's product input.
fn input_of(form: ProductForm) -> Result<ProductInput, ApiError> {
    let fields = [&form.id, &form.name, &form.description, &form.photo_url, &form.price, &form.currency, &form.section];
    if fields.iter().any(|f| f.contains('\0')) {
        return Err(ApiError::invalid_text());
    }
    let currency = form.currency.trim().to_uppercase();
    let price_minor = parse_major_units(&form.price, &currency)
        .ok_or_else(|| ApiError::invalid(format!("the price must be a number of {currency}, e.g. 2.40")))?;
    let stock = match form.stock.trim() {
        "" => 0,
        text => text.parse().map_err(|_| ApiError::invalid(format!("stock `{text}` is not a whole number")))?,
    };
    Ok(ProductInput {
        id: form.id.trim().to_string(),
        name: form.name.trim().to_string(),
        description: form.description.trim().to_string(),
        photo_url: Some(form.photo_url.trim().to_string()).filter(|u| !u.is_empty()),
        price_minor,
        currency,
        stock,
        section: form.section.trim().to_string(),
        available: form.available.is_some(),
    })
}

pub async fn create_product(
    State(app): State<App>,
    signed: Signed,
    Form(form): Form<ProductForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::EditCatalog)?;
    let product = create(&app, &signed.business, &input_of(form)?).await?;
    Ok(Redirect::to(&format!("/console/catalog/{}", product.id)).into_response())
}

pub async fn save_product(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ProductForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::EditCatalog)?;
    let mut input = input_of(form)?;
    // The path names the product; the form cannot rename it.
    input.id = id;
    let product = replace(&app, &signed.business, &input).await?;
    Ok(Redirect::to(&format!("/console/catalog/{}", product.id)).into_response())
}

/// A CSV file posted from the page, imported as `POST /v1/products/import`
/// would; the page shows the per-row report.
pub async fn import_csv(
    State(app): State<App>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::EditCatalog)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(fields) = multipart_fields(content_type, &body) else {
        return Err(ConsoleError(ApiError::invalid("send the import form as it is (multipart/form-data)")));
    };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_slice());
    let csrf = field("csrf").and_then(|v| std::str::from_utf8(v).ok()).unwrap_or_default();
    if !staff::csrf_matches(&signed.session, csrf) {
        return Err(csrf_refused());
    }
    let csv = field("csv").unwrap_or_default();
    let report = import(&app, &signed.business, "text/csv", csv).await?;
    let rows: String = report
        .rows
        .iter()
        .map(|row| {
            format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(row.status),
                row.row,
                escape(row.id.as_deref().unwrap_or("")),
                escape(row.status),
                escape(row.error.as_deref().unwrap_or(""))
            )
        })
        .collect();
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let body = format!(
        "<h1>{}</h1><p id=summary>{}</p>\
         <table id=report><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
         <tbody>{rows}</tbody></table><p><a href=\"/console/catalog\">{}</a></p>",
        w(Word::Import),
        Word::ImportSummary
            .fill(lang, &[&report.created.to_string(), &report.updated.to_string(), &report.rejected.to_string()]),
        w(Word::Row),
        w(Word::IdLabel),
        w(Word::Result),
        w(Word::Why),
        w(Word::BackToCatalog),
    );
    Ok(layout(&signed, Page::Catalog, &body))
}
