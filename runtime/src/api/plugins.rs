//! `/v1/plugins`: a business uploads plugin versions, sees which one answers
//! (and whether the circuit breaker stopped it, and until when it cools off),
//! and rolls back; plus what its plugins logged and how they failed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Json, Query};
use crate::App;
use crate::plugin::publish::{CoolingOff, UploadRefused};
use crate::plugin::{Activation, ActivationError, InstancePolicy};
use crate::store::businesses::{self, Business};
use crate::store::plugin_events::{self, PluginFailure, PluginLogLine};
use crate::store::plugins::{self, PluginVersion};

pub fn routes(max_upload_bytes: usize) -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(upload_plugin, list_plugins))
        .layer(DefaultBodyLimit::max(max_upload_bytes.saturating_add(1)))
        .routes(routes!(get_plugin))
        .routes(routes!(activate_plugin))
        .routes(routes!(list_failures))
        .routes(routes!(list_logs))
        .routes(routes!(get_own_business))
}

/// The calling business: its settings, capabilities, plugin limits and usage.
#[utoipa::path(get, path = "/v1/business", tag = "plugins", security(("business_key" = [])),
    responses((status = 200, body = Business)))]
async fn get_own_business(Caller(business): Caller) -> Json<Business> {
    Json(business)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginVersionView {
    #[serde(flatten)]
    pub version: PluginVersion,
    /// True for the version that answers the business's customers.
    pub active: bool,
    /// How its instances are used, chosen from `startup_us`:
    /// `fresh_per_message` (cheap to instantiate, so every message gets a new
    /// one) or `reused` (each answers up to the business's `max_instance_uses`
    /// messages). `null` until the version is ready.
    pub instances: Option<InstancePolicy>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginsOverview {
    pub active_version_id: Option<String>,
    /// Set when the circuit breaker stopped the active plugin; activating a
    /// version (the same or another) starts it again, once any cool-off ends.
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i64,
    /// Set while the business is cooling off after repeated trips of the
    /// circuit breaker: until `until`, no version (the same, another, or a new
    /// upload) can be activated. The first trip of a run has none; each
    /// further one within a day doubles it, from 1 minute up to an hour.
    pub cooling_off: Option<CoolingOff>,
    /// Newest first.
    pub versions: Vec<PluginVersionView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Make the new version the one that answers (default true).
    pub activate: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// At most 500; 100 when absent.
    pub limit: Option<u32>,
}

fn view(app: &App, business: &Business, version: PluginVersion) -> PluginVersionView {
    let active = business.active_plugin_version_id.as_deref() == Some(version.id.as_str());
    let instances = (version.state == plugins::VersionState::Ready).then(|| {
        let cost = version.startup_us.map(|us| std::time::Duration::from_micros(us.unsigned_abs()));
        InstancePolicy::for_cost(cost, app.plugins.config().reuse_instances_above)
    });
    PluginVersionView { version, active, instances }
}

/// The business as it is now, read after its versions: a compile finishing
/// between the two reads activates before it records `ready`, so a version
/// read as ready is never shown inactive when it is active.
async fn reread(app: &App, business: Business) -> Result<Business, ApiError> {
    Ok(businesses::get(&app.db, &business.id).await?.unwrap_or(business))
}

/// Upload a plugin: the raw component as the body (`application/wasm`).
///
/// The host checks at once that it is a component built against a contract
/// version it serves, within the size limit of its language class, importing
/// only granted capabilities, and that none of its memories starts larger than
/// the business's memory limit (422 `memory_exceeds_limit`: it could never
/// start), and stores it as the next version in state `compiling` (answer
/// 202). It compiles in the background (a Python or JavaScript plugin takes
/// seconds), in turn with other businesses' uploads: poll
/// `GET /v1/plugins/{id}` until `state` is `ready` or `failed` (with
/// `failure`), or receive the `plugin.ready` / `plugin.failed` webhook. A
/// business may have 3 uploads compiling at once (429 `too_many_compiling`
/// for one more). A ready version becomes active unless `activate=false` (or a
/// newer version was activated meanwhile); while the business cools off after
/// repeated trips of the circuit breaker an upload asking to be activated is
/// refused (409 `plugin_cooling_off`, with `Retry-After` in seconds).
#[utoipa::path(post, path = "/v1/plugins", tag = "plugins", security(("business_key" = [])), params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 202, body = PluginVersionView), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn upload_plugin(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<UploadParams>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PluginVersionView>), Refusal> {
    let limit = app.plugins.config().upload_limits.largest();
    let wasm = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "plugin_too_large",
                format!("the plugin is larger than the limit of {limit} bytes"),
            )
        } else {
            ApiError::invalid(rejection.body_text())
        }
    })?;
    let active = params.activate.unwrap_or(true);
    let publication = app.plugins.publish(&app.db, &business, &wasm, active).await?;
    Ok((StatusCode::ACCEPTED, Json(PluginVersionView { version: publication.version, active: false, instances: None })))
}

/// The business's plugin versions and the state of the active one.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins", security(("business_key" = [])),
    responses((status = 200, body = PluginsOverview)))]
async fn list_plugins(State(app): State<App>, Caller(business): Caller) -> Result<Json<PluginsOverview>, ApiError> {
    let versions = plugins::list(&app.db, &business.id).await?;
    let business = reread(&app, business).await?;
    let cooling_off = app.plugins.cooling_off(&app.db, &business.id).await?;
    Ok(Json(PluginsOverview {
        active_version_id: business.active_plugin_version_id.clone(),
        disabled_reason: business.plugin_disabled_reason.clone(),
        consecutive_failures: business.plugin_consecutive_failures,
        cooling_off,
        versions: versions.into_iter().map(|v| view(&app, &business, v)).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/plugins/{id}", tag = "plugins", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = PluginVersionView), (status = 404, body = ErrorBody)))]
async fn get_plugin(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<PluginVersionView>, ApiError> {
    let version =
        plugins::get(&app.db, &business.id, &id).await?.ok_or_else(|| ApiError::not_found("the plugin version"))?;
    let business = reread(&app, business).await?;
    Ok(Json(view(&app, &business, version)))
}

/// Make a version the one that answers (a rollback, or a restart after the
/// circuit breaker stopped it). Only a `ready` version can be activated (409
/// `plugin_not_ready` otherwise); uploads still compiling then stay inactive
/// when they are ready. After the breaker stopped the business's plugin a
/// second time within a day, no version can be activated for a cool-off (409
/// `plugin_cooling_off`, saying until when, with `Retry-After` in seconds):
/// 1 minute, doubling with each further trip, up to an hour.
#[utoipa::path(post, path = "/v1/plugins/{id}/activate", tag = "plugins", security(("business_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = PluginVersionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn activate_plugin(
    State(app): State<App>,
    Caller(business): Caller,
    Path(id): Path<String>,
) -> Result<Json<PluginVersionView>, Refusal> {
    let version =
        plugins::get(&app.db, &business.id, &id).await?.ok_or_else(|| ApiError::not_found("the plugin version"))?;
    app.plugins.activate(&app.db, &business, &version, Activation::Chosen).await?;
    let mut activated = view(&app, &business, version);
    activated.active = true;
    Ok(Json(activated))
}

impl From<ActivationError> for ApiError {
    fn from(error: ActivationError) -> Self {
        match error {
            ActivationError::Store(store) => store.into(),
            refused @ (ActivationError::CompileFailed { .. } | ActivationError::StillCompiling { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "plugin_not_ready", refused.to_string())
            }
            refused @ ActivationError::NotGranted { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "capability_not_granted", refused.to_string())
            }
            refused @ ActivationError::CoolingOff(_) => {
                ApiError::new(StatusCode::CONFLICT, "plugin_cooling_off", refused.to_string())
            }
        }
    }
}

impl From<UploadRefused> for ApiError {
    fn from(error: UploadRefused) -> Self {
        match error {
            UploadRefused::Invalid(invalid) => invalid.into(),
            UploadRefused::Store(store) => store.into(),
            refused @ UploadRefused::MemoryExceedsLimit(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "memory_exceeds_limit", refused.to_string())
            }
            refused @ UploadRefused::TooManyCompiling { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_compiling", refused.to_string())
            }
            refused @ UploadRefused::CoolingOff(_) => {
                ApiError::new(StatusCode::CONFLICT, "plugin_cooling_off", refused.to_string())
            }
        }
    }
}

/// An error answer of this module's writes: an [`ApiError`], with a
/// `Retry-After` header (seconds) when the refusal ends at a known time.
#[derive(Debug)]
pub struct Refusal {
    error: ApiError,
    retry_after: Option<u64>,
}

impl Refusal {
    fn until(error: impl Into<ApiError>, cooling: Option<CoolingOff>) -> Refusal {
        let retry_after = cooling.map(|cooling| cooling.seconds_left(crate::ids::now_ms()));
        Refusal { error: error.into(), retry_after }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal { error, retry_after: None }
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(error: crate::store::StoreError) -> Self {
        Refusal::from(ApiError::from(error))
    }
}

impl From<ActivationError> for Refusal {
    fn from(error: ActivationError) -> Self {
        let cooling = match &error {
            ActivationError::CoolingOff(cooling) => Some(*cooling),
            _ => None,
        };
        Refusal::until(error, cooling)
    }
}

impl From<UploadRefused> for Refusal {
    fn from(error: UploadRefused) -> Self {
        let cooling = match &error {
            UploadRefused::CoolingOff(cooling) => Some(*cooling),
            _ => None,
        };
        Refusal::until(error, cooling)
    }
}
/// Recent plugin failures (traps, deadlines, memory, bad replies), newest first.
#[utoipa::path(get, path = "/v1/plugins/failures", tag = "plugins", security(("business_key" = [])), params(LimitParams),
    responses((status = 200, body = Vec<PluginFailure>)))]
async fn list_failures(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<LimitParams>,
) -> Result<Json<Vec<PluginFailure>>, ApiError> {
    let limit = params.limit.unwrap_or(100).min(500);
    Ok(Json(plugin_events::failures(&app.db, &business.id, limit).await?))
}

/// What the business's plugins logged, and the host's warnings about their
/// replies, newest first.
#[utoipa::path(get, path = "/v1/plugins/logs", tag = "plugins", security(("business_key" = [])), params(LimitParams),
    responses((status = 200, body = Vec<PluginLogLine>)))]
async fn list_logs(
    State(app): State<App>,
    Caller(business): Caller,
    Query(params): Query<LimitParams>,
) -> Result<Json<Vec<PluginLogLine>>, ApiError> {
    let limit = params.limit.unwrap_or(100).min(500);
    Ok(Json(plugin_events::logs(&app.db, &business.id, limit).await?))
}
