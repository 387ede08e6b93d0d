//! The console's bot page: the plugin's versions with their state
//! (compiling, ready, failed, active), the breaker and any cool-off, recent
//! failures, uploading a version (a file posted as `multipart/form-data`,
//! read by [`multipart_fields`]), and activating one (a rollback when it is
//! older). Publication and activation are the plugin host's one path each
//! (`PluginHost::publish`, `PluginHost::activate`), as for the API.

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::error::ApiError;
use super::words::Word;
use super::{ConsoleError, Page, Signed, csrf_refused, escape, layout};
use crate::App;
use crate::domain::staff::Action;
use crate::plugin::Activation;
use crate::staff;
use crate::store::{businesses, plugin_events, plugins};

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn page(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewBot)?;
    let clock = signed.clock();
    let time = |ms: i64| clock.time(ms);
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business_id = &signed.business.id;
    let versions = plugins::list(&app.db, business_id).await?;
    // Read after the versions, as the API does: a compile finishing between
    // the reads is never shown ready but inactive.
    let business = businesses::get(&app.db, business_id).await?.unwrap_or_else(|| signed.business.clone());
    let active = business.active_plugin_version_id.as_deref();
    let active_number = versions.iter().find(|v| Some(v.id.as_str()) == active).map(|v| v.version);
    let csrf = signed.csrf_field();
    let manage = signed.session.may(Action::ManageBot);
    let rows: String = versions
        .iter()
        .map(|version| {
            let is_active = Some(version.id.as_str()) == active;
            let state = if is_active { "active" } else { version.state.as_str() };
            let control = if manage && !is_active && version.state == plugins::VersionState::Ready {
                let label = match active_number {
                    Some(current) if version.version < current => w(Word::RollBack),
                    _ => w(Word::Activate),
                };
                format!(
                    "<form method=post action=\"/console/bot/{}/activate\">{csrf}<button>{label}</button></form>",
                    escape(&version.id)
                )
            } else {
                String::new()
            };
            format!(
                "<tr data-version=\"{0}\"><td>{0}</td><td class=state>{1}</td><td>{2}</td><td>{3}</td><td>{control}</td></tr>",
                version.version,
                escape(state),
                escape(&time(version.created_at)),
                escape(version.failure.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let mut notes = String::new();
    if let Some(reason) = &business.plugin_disabled_reason {
        notes
            .push_str(&format!("<p class=error id=breaker>{}</p>", Word::BreakerStopped.fill(lang, &[escape(reason)])));
    }
    if let Some(cooling) = app.plugins.cooling_off(&app.db, business_id).await? {
        notes.push_str(&format!(
            "<p class=error id=cooling>{}</p>",
            Word::CoolingUntil.fill(lang, &[escape(&time(cooling.until)), cooling.trips.to_string()])
        ));
    }
    let failures: String = plugin_events::failures(&app.db, business_id, 10)
        .await?
        .iter()
        .map(|f| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&time(f.created_at)),
                escape(&f.kind),
                escape(&f.detail)
            )
        })
        .collect();
    let upload = if manage {
        format!(
            "<h2>{}</h2><form class=stack method=post action=\"/console/bot/upload\" \
             enctype=\"multipart/form-data\">{csrf}<label>{} <input type=file name=wasm accept=\".wasm\" \
             required></label><label><input type=checkbox name=activate value=on checked> {}</label>\
             <button>{}</button></form>",
            w(Word::UploadVersion),
            w(Word::Component),
            w(Word::ActivateOnceCompiled),
            w(Word::Upload),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1>{notes}<table id=versions><thead><tr><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table>{upload}\
         <h2>{}</h2><table id=failures>{failures}</table>",
        w(Word::Bot),
        w(Word::Version),
        w(Word::State),
        w(Word::Uploaded),
        w(Word::Failure),
        w(Word::RecentFailures),
    );
    Ok(layout(&signed, Page::Bot, &body))
}

pub async fn activate(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::ManageBot)?;
    let version = plugins::get(&app.db, &signed.business.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the plugin version"))?;
    app.plugins.activate(&app.db, &signed.business, &version, Activation::Chosen).await.map_err(ApiError::from)?;
    Ok(Redirect::to("/console/bot").into_response())
}

pub async fn upload(
    State(app): State<App>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    // The role first: it decides without reading the form.
    signed.require(Action::ManageBot)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(fields) = multipart_fields(content_type, &body) else {
        return Err(ConsoleError(ApiError::invalid("send the upload form as it is (multipart/form-data)")));
    };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, value)| value.as_slice());
    let csrf = field("csrf").and_then(|v| std::str::from_utf8(v).ok()).unwrap_or_default();
    if !staff::csrf_matches(&signed.session, csrf) {
        return Err(csrf_refused());
    }
    let wasm = field("wasm").unwrap_or_default();
    let activate = field("activate") == Some(b"on".as_slice());
    app.plugins.publish(&app.db, &signed.business, wasm, activate).await.map_err(ApiError::from)?;
    Ok(Redirect::to("/console/bot").into_response())
}

/// The fields of a `multipart/form-data` body (RFC 7578) as (name, bytes),
/// or `None` when it is not one.
pub fn multipart_fields(content_type: &str, body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    Some(multipart_parts(content_type, body)?.into_iter().map(|part| (part.name, part.bytes)).collect())
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The part's own `Content-Type` (a file's, as the browser declared it),
    /// empty when it has none.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The parts of a `multipart/form-data` body (RFC 7578), or `None` when it is not one.
pub fn multipart_parts(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let (essence, parameters) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = parameters.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?.trim_matches('"');
    if boundary.is_empty() {
        return None;
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let mut between = b"\r\n".to_vec();
    between.extend_from_slice(&delimiter);
    let mut rest = &body[find(body, &delimiter)? + delimiter.len()..];
    let mut fields = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(fields);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        let name = headers
            .split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with("content-disposition:"))?
            .split(';')
            .find_map(|part| part.trim().strip_prefix("name="))?
            .trim_matches('"')
            .to_string();
        let part_type = headers
            .split("\r\n")
            .find_map(|line| line.split_once(':').filter(|(key, _)| key.trim().eq_ignore_ascii_case("content-type")))
            .map(|(_, value)| value.trim().to_string())
            .unwrap_or_default();
        let content = &rest[headers_end + 4..];
        let end = find(content, &between)?;
        fields.push(Part { name, content_type: part_type, bytes: content[..end].to_vec() });
        rest = &content[end + between.len()..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_form_reads_as_its_fields() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"wasm\"; filename=\"shop.wasm\"\r\n\
            Content-Type: application/wasm\r\n\r\n\0asm\r\n--\x01\r\n--XyZ--\r\n";
        let fields = multipart_fields("multipart/form-data; boundary=XyZ", body).expect("a form");
        assert_eq!(fields[0], ("csrf".to_string(), b"abc".to_vec()));
        assert_eq!(fields[1], ("wasm".to_string(), b"\0asm\r\n--\x01".to_vec()));
        assert_eq!(fields.len(), 2);
        let parts = multipart_parts("multipart/form-data; boundary=XyZ", body).expect("a form");
        assert_eq!((parts[0].content_type.as_str(), parts[1].content_type.as_str()), ("", "application/wasm"));
        assert!(multipart_fields("application/x-www-form-urlencoded", body).is_none());
        assert!(multipart_fields("multipart/form-data; boundary=Other", body).is_none());
        assert!(multipart_fields("multipart/form-data; boundary=XyZ", b"--XyZ\r\nno headers end").is_none());
    }
}
