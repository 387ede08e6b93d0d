//! The console's bot page: the plugin's versions with their state
//! (compiling, ready, failed, active), the breaker and any cool-off, recent
//! failures, uploading a version (a file posted as `multipart/form-data`,
//! read by [`multipart_fields`]), activating one (a rollback when it is
//! older), and replaying a conversation against a ready version before
//! activating it ([`replay`]). Publication and activation are the plugin
//! host's one path each (`PluginHost::publish`, `PluginHost::activate`), as
//! for the API; the replay is the developer loop's (`devloop::recording::replay_in`)
//! in a sandbox copy of the shop, on a conversation exported as the API
//! exports it (`api/chat.rs`'s `export`).

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::super::chat;
use super::super::error::ApiError;
use super::words::{Lang, Word};
use super::{ConsoleError, Page, Signed, csrf_refused, escape, layout};
use crate::App;
use crate::devloop::recording::{self, ReplayError, TurnReport};
use crate::devloop::{Sandbox, show};
use crate::domain::staff::Action;
use crate::plugin::Activation;
use crate::staff;
use crate::store::conversations::{self, Conversation};
use crate::store::plugins::{PluginVersion, VersionState};
use crate::store::{businesses, plugin_events, plugins};

/// The recent conversations a replay form offers.
const REPLAYABLE: u32 = 20;

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
    let ready: Vec<&PluginVersion> = versions.iter().filter(|v| v.state == VersionState::Ready).collect();
    let replays = if manage && !ready.is_empty() {
        let recent = conversations::list(&app.db, business_id, None, REPLAYABLE).await?;
        replay_forms(&signed, &ready, active, &recent)
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1>{notes}<table id=versions><thead><tr><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table>{replays}{upload}\
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

/// For each ready version (the active one too, to compare), a form replaying
/// one of the shop's `recent` conversations, or an exported recording pasted
/// or chosen as a file, against it. Conversations are named by the
/// customer's pseudonym and their last message's time, never a phone number.
fn replay_forms(signed: &Signed, ready: &[&PluginVersion], active: Option<&str>, recent: &[Conversation]) -> String {
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let clock = signed.clock();
    let options: String = recent
        .iter()
        .map(|c| {
            format!(
                "<option value=\"{}\">{} · {}</option>",
                escape(&c.id),
                escape(short(&c.customer_id)),
                escape(&clock.time(c.last_message_at))
            )
        })
        .collect();
    let forms: String = ready
        .iter()
        .map(|version| {
            let which = if Some(version.id.as_str()) == active { w(Word::ActiveVersion) } else { w(Word::Staged) };
            format!(
                "<form class=stack method=post action=\"/console/bot/{id}/replay\" enctype=\"multipart/form-data\" \
                 data-version=\"{number}\"><h3>{heading} ({which})</h3>{csrf}\
                 <label>{conversation} <select name=conversation><option value=\"\">—</option>{options}</select></label>\
                 <label>{paste} <textarea name=recording rows=3></textarea></label>\
                 <label>{file} <input type=file name=recording_file accept=\".json,application/json\"></label>\
                 <button>{replay}</button></form>",
                id = escape(&version.id),
                number = version.version,
                heading = Word::VersionNumber.fill(lang, &[version.version.to_string()]),
                csrf = signed.csrf_field(),
                conversation = w(Word::Conversation),
                paste = w(Word::OrPasteRecording),
                file = w(Word::OrRecordingFile),
                replay = w(Word::Replay),
            )
        })
        .collect();
    format!(
        "<section id=replay><h2>{}</h2><p class=note>{}</p>{forms}</section>",
        w(Word::ReplayAConversation),
        w(Word::ReplayExplained)
    )
}

/// A pseudonym, shortened for a list.
fn short(customer_id: &str) -> &str {
    customer_id.get(..12).unwrap_or(customer_id)
}

/// Replays a conversation against a ready version in a sandbox copy of the
/// shop (its catalog as recorded, its grants and limits, this node's plugin
/// settings and compiled cache) and shows, turn by turn, what the customer
/// sent, what the shop answered then and what the version answers now. The
/// real shop's carts, orders, messages and usage are not touched and nothing
/// is sent to a customer. The form is `multipart/form-data` (a recording's
/// file) or URL-encoded; a recording given (pasted or as a file) is replayed
/// rather than the conversation chosen.
pub async fn replay(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Html<String>, ConsoleError> {
    // The role first: it decides without reading the form.
    signed.require(Action::ManageBot)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(fields) = form_fields(content_type, &body) else {
        return Err(ConsoleError(ApiError::invalid("send the replay form as it is")));
    };
    let field = |name: &str| {
        fields.iter().find(|(n, value)| n == name && !value.trim_ascii().is_empty()).map(|(_, value)| value.as_slice())
    };
    let csrf = field("csrf").and_then(|v| std::str::from_utf8(v).ok()).unwrap_or_default();
    signed.check_csrf(csrf)?;
    let business = &signed.business;
    let version =
        plugins::get(&app.db, &business.id, &id).await?.ok_or_else(|| ApiError::not_found("the plugin version"))?;
    if version.state != VersionState::Ready {
        return Err(ConsoleError(ApiError::new(
            StatusCode::CONFLICT,
            "version_not_ready",
            "only a version that compiled (ready) can answer a replay",
        )));
    }
    let recording = match (field("recording_file").or_else(|| field("recording")), field("conversation")) {
        (Some(bytes), _) => recording::parse(bytes).map_err(replay_failed)?,
        (None, Some(conversation)) => {
            let conversation = std::str::from_utf8(conversation)
                .ok()
                .filter(|id| !id.contains('\0'))
                .ok_or_else(|| ApiError::invalid("the conversation is not one of the shop's"))?;
            chat::export(&app, business, conversation.trim(), &signed.session.member.id).await?
        }
        (None, None) => {
            return Err(ConsoleError(ApiError::invalid(
                "choose a conversation, or give a recording exported from GET /v1/conversations/{id}/export",
            )));
        }
    };
    // The component as the store keeps it (the version is the business's: read above).
    let (_, wasm) = plugins::find_with_wasm(&app.db, &version.id)
        .await?
        .ok_or_else(|| ApiError::not_found("the plugin version"))?;
    let sandbox = Sandbox::of_node(&app.config, business);
    // A few replays at once on a node (each runs a shop of its own); the
    // replay runs apart from this request, so a browser that goes away
    // mid-way still leaves its shop closed.
    let Ok(permit) = REPLAYS_AT_ONCE.try_acquire() else {
        return Err(ConsoleError(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "replays_busy",
            "other replays are running on this node; try again in a minute",
        )));
    };
    let replay = tokio::spawn(async move {
        let _permit = permit;
        recording::replay_within(&wasm, &recording, sandbox, REPLAY_BUDGET).await
    });
    let reports = replay.await.map_err(|e| ApiError::internal(format!("replay: {e}")))?.map_err(replay_failed)?;
    let current = businesses::get(&app.db, &business.id).await?.unwrap_or_else(|| business.clone());
    let is_active = current.active_plugin_version_id.as_deref() == Some(version.id.as_str());
    Ok(layout(&signed, Page::Bot, &replay_page(&signed, &version, is_active, &reports)))
}

/// Replays running at once on this node.
static REPLAYS_AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// How long a replay's turns may play before it is cut off.
const REPLAY_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// A replay that could not run (a recording that is not one, a version the
/// sandbox refused), as the page's error.
fn replay_failed(error: ReplayError) -> ConsoleError {
    let (code, message) = match &error {
        ReplayError::Format(_) | ReplayError::Unsendable(..) => ("not_a_recording", error.to_string()),
        ReplayError::TooLong(_) => ("recording_too_long", error.to_string()),
        ReplayError::TookTooLong(_) => ("replay_too_long", error.to_string()),
        // The sandbox's own failure (its directory, its runtime) is logged, not shown.
        ReplayError::Shop(detail @ crate::devloop::LocalShopError::Start(_)) => {
            tracing::warn!("console replay: the sandbox failed: {detail}");
            ("replay_failed", "the version could not be replayed in a sandbox; see the node's log".to_string())
        }
        ReplayError::Shop(_) => ("replay_failed", error.to_string()),
    };
    ConsoleError(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message))
}

/// The replay's page: "N of M turns differ", each turn marked same or
/// different, and the version's activate form under it when it is not active.
fn replay_page(signed: &Signed, version: &PluginVersion, is_active: bool, reports: &[TurnReport]) -> String {
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let differing = reports.iter().filter(|r| r.differs()).count();
    let summary_class = if differing == 0 { "same" } else { "different" };
    let rows: String = reports
        .iter()
        .map(|report| {
            let (class, verdict) =
                if report.differs() { ("different", w(Word::Different)) } else { ("same", w(Word::Same)) };
            let failure = report
                .failure
                .as_ref()
                .map(|why| format!("<p class=error>{}</p>", Word::PluginFailed.fill(lang, &[escape(why)])))
                .unwrap_or_default();
            let differences: String = report.differences.iter().map(|d| format!("<li>{}</li>", escape(d))).collect();
            let differences = if differences.is_empty() {
                String::new()
            } else {
                format!("<ul class=differences>{differences}</ul>")
            };
            format!(
                "<tr class={class} data-turn=\"{number}\"><td>{number}</td><td>{customer}</td><td>{then}</td>\
                 <td>{now}{failure}</td><td class=verdict>{verdict}{differences}</td></tr>",
                number = report.number,
                customer = customer_text(&report.customer),
                then = replies_text(&report.recorded, lang),
                now = replies_text(&report.replies, lang),
            )
        })
        .collect();
    let activate = if is_active {
        format!("<p class=note>{}</p>", w(Word::ThisVersionIsActive))
    } else {
        format!(
            "<form method=post action=\"/console/bot/{}/activate\">{}<button>{}</button></form>",
            escape(&version.id),
            signed.csrf_field(),
            w(Word::ActivateThisVersion)
        )
    };
    format!(
        "<h1>{}</h1><p id=replay-summary class={summary_class}>{}</p>\
         <table id=replay-turns><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table>{activate}<p><a href=\"/console/bot\">{}</a></p>",
        Word::ReplayedAgainst.fill(lang, &[version.version.to_string()]),
        Word::TurnsDiffer.fill(lang, &[differing.to_string(), reports.len().to_string()]),
        w(Word::Turn),
        w(Word::CustomerSent),
        w(Word::AnsweredThen),
        w(Word::AnswersNow),
        w(Word::Bot),
    )
}

/// What the customer sent, as text (HTML-escaped).
fn customer_text(body: &Value) -> String {
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_string();
    let said = match body["type"].as_str().unwrap_or_default() {
        "text" => text("text"),
        "choice" => format!("[{}]", if text("title").is_empty() { text("id") } else { text("title") }),
        "product_tap" => format!("▣ {}", text("product_id")),
        "browse" => format!("🔍 {}", text("query")),
        _ => body.to_string(),
    };
    escape(&said)
}

/// Replies as a customer reads them, one message a paragraph (HTML-escaped);
/// "no answer" when there are none.
fn replies_text(replies: &[Value], lang: Lang) -> String {
    if replies.is_empty() {
        return format!("<p class=note>{}</p>", escape(Word::NoAnswer.in_(lang)));
    }
    replies
        .iter()
        .map(|reply| {
            let lines: Vec<String> = show::lines(reply).into_iter().map(|line| escape(&line)).collect();
            format!("<p class=msg>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// A form's fields as (name, bytes): `multipart/form-data` or URL-encoded;
/// `None` when it is neither.
fn form_fields(content_type: &str, body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if let Some(fields) = multipart_fields(content_type, body) {
        return Some(fields);
    }
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    Some(pairs.into_iter().map(|(name, value)| (name, value.into_bytes())).collect())
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
    use serde_json::json;

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

    #[test]
    fn a_replay_form_reads_url_encoded_or_as_multipart_and_nothing_else() {
        let fields = form_fields("application/x-www-form-urlencoded", b"csrf=abc&conversation=conv_1&recording=%7B%7D")
            .expect("a form");
        let expected = [("csrf", "abc"), ("conversation", "conv_1"), ("recording", "{}")]
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()));
        assert_eq!(fields, expected);
        let multipart = b"--B\r\nContent-Disposition: form-data; name=\"conversation\"\r\n\r\nconv_2\r\n--B--\r\n";
        let fields = form_fields("multipart/form-data; boundary=B", multipart).expect("a form");
        assert_eq!(fields, [("conversation".to_string(), b"conv_2".to_vec())]);
        assert!(form_fields("application/json", b"{}").is_none());
    }

    #[test]
    fn what_the_customer_sent_reads_as_text_and_is_escaped() {
        assert_eq!(customer_text(&json!({"type": "text", "text": "<b>hi</b>"})), "&lt;b&gt;hi&lt;/b&gt;");
        assert_eq!(customer_text(&json!({"type": "choice", "id": "section:Fruit", "title": "Fruit"})), "[Fruit]");
        assert_eq!(customer_text(&json!({"type": "choice", "id": "checkout", "title": ""})), "[checkout]");
        let replies = replies_text(&[json!({"type": "text", "text": "a & b"})], Lang::En);
        assert_eq!(replies, "<p class=msg>a &amp; b</p>");
        assert_eq!(replies_text(&[], Lang::En), "<p class=note>no answer</p>");
    }
}
