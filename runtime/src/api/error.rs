//! The API's one error type: every failure answers with a status and
//! `{"error": {"code": "...", "message": "..."}}`. Codes are stable; messages
//! are for people. 5xx answers hide their detail, which goes to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::chat::ChatError;
use crate::commerce::{OrderError, RefundError};
use crate::plugin::{PublishError, UploadError};
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_request`, `not_found`, `unsupported_world`...
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} was not found"))
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// A business the operator suspended: its API and console are closed.
    pub fn business_suspended() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "business_suspended",
            "this business is suspended by the operator of this node",
        )
    }

    /// Text containing U+0000, refused wherever it arrives (see `extract`).
    pub fn invalid_text() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_text", "text may not contain NUL characters")
    }

    pub fn too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is larger than this endpoint accepts",
        )
    }

    /// A URL the egress policy refuses (see [`crate::egress`]), for `field`.
    pub fn egress_refused(field: &str, why: crate::egress::EgressRefused) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "egress_refused", format!("{field}: {why}"))
    }

    /// The answer for an error status that a layer below the handlers made
    /// (the router, a body limit, the WebSocket upgrade) in its own format.
    pub fn from_status(status: StatusCode) -> ApiError {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("no_route", "no such endpoint; see /openapi.json"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this endpoint does not take that method"),
            StatusCode::PAYLOAD_TOO_LARGE => return ApiError::too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "this endpoint does not take that content type")
            }
            s if s.is_server_error() => ("internal", "something went wrong on our side; it has been logged"),
            _ => ("invalid_request", "the request is not one this endpoint takes"),
        };
        ApiError::new(status, code, message)
    }

    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {detail}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            other => ApiError::internal(other),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::NotFound => ApiError::not_found("the order"),
            OrderError::Illegal { .. } => ApiError::new(StatusCode::CONFLICT, "illegal_transition", error.to_string()),
            OrderError::BeingPaid { .. } => {
                ApiError::new(StatusCode::CONFLICT, "payment_in_progress", error.to_string())
            }
            OrderError::Store(store) => store.into(),
        }
    }
}

impl From<RefundError> for ApiError {
    fn from(error: RefundError) -> Self {
        let (status, code) = match error {
            RefundError::NotFound => return ApiError::not_found("the order"),
            RefundError::Store(store) => return store.into(),
            RefundError::NotPaid => (StatusCode::CONFLICT, "not_paid"),
            RefundError::Exceeds { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_captured"),
            RefundError::Concurrent => (StatusCode::CONFLICT, "refund_exceeds_captured"),
            RefundError::InProgress => (StatusCode::CONFLICT, "request_in_flight"),
            RefundError::Processor(_) => (StatusCode::BAD_GATEWAY, "processor_error"),
        };
        ApiError::new(status, code, error.to_string())
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::Invalid(message) => ApiError::invalid(message),
            ChatError::UnknownConversation(_) => ApiError::not_found("the conversation"),
            ChatError::Store(store) => store.into(),
        }
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::Upload(upload) => upload.into(),
            PublishError::Store(store) => store.into(),
            PublishError::CompileFailed(reason) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "compile_failed", reason)
            }
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(error: UploadError) -> Self {
        let (status, code) = match &error {
            UploadError::Empty => (StatusCode::BAD_REQUEST, "empty_upload"),
            UploadError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "plugin_too_large"),
            UploadError::NotWasm => (StatusCode::UNPROCESSABLE_ENTITY, "not_wasm"),
            UploadError::CoreModule => (StatusCode::UNPROCESSABLE_ENTITY, "not_a_component"),
            UploadError::Malformed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "malformed_component"),
            UploadError::UnsupportedWorld { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_world"),
            UploadError::MissingExport(_) => (StatusCode::UNPROCESSABLE_ENTITY, "missing_export"),
            UploadError::UnknownImport(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_import"),
            UploadError::NotInVersion { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "import_not_in_version"),
            UploadError::NotGranted { .. } => (StatusCode::FORBIDDEN, "capability_not_granted"),
            UploadError::Compile(_) => (StatusCode::UNPROCESSABLE_ENTITY, "compile_failed"),
            UploadError::Link(_) => (StatusCode::UNPROCESSABLE_ENTITY, "contract_mismatch"),
        };
        ApiError::new(status, code, error.to_string())
    }
}

impl From<crate::chat::handoff::HandoffError> for ApiError {
    fn from(error: crate::chat::handoff::HandoffError) -> Self {
        use crate::chat::handoff::HandoffError;
        let (status, code) = match error {
            HandoffError::UnknownConversation(_) => return ApiError::not_found("the conversation"),
            HandoffError::Store(store) => return store.into(),
            HandoffError::AgentRequired => (StatusCode::UNPROCESSABLE_ENTITY, "agent_required"),
            HandoffError::InvalidAgent => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_agent"),
            HandoffError::HeldByAnotherAgent { .. } => (StatusCode::CONFLICT, "held_by_another_agent"),
        };
        ApiError::new(status, code, error.to_string())
    }
}

impl From<crate::staff::StaffError> for ApiError {
    fn from(error: crate::staff::StaffError) -> Self {
        use crate::staff::StaffError;
        let (status, code) = match error {
            StaffError::Store(store) => return store.into(),
            StaffError::Hash(reason) => return ApiError::internal(reason),
            StaffError::InvalidEmail => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"),
            StaffError::InvalidName => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
            StaffError::WeakPassword => (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
            StaffError::InvitationNotOpen => (StatusCode::NOT_FOUND, "invitation_not_open"),
            StaffError::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
            StaffError::NotAllowed => (StatusCode::FORBIDDEN, "not_allowed"),
            StaffError::UnknownStaff(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_staff"),
            StaffError::OwnAccount => (StatusCode::UNPROCESSABLE_ENTITY, "own_account"),
            StaffError::CodeRequired => (StatusCode::UNAUTHORIZED, "code_required"),
            StaffError::WrongCode => (StatusCode::UNPROCESSABLE_ENTITY, "wrong_code"),
            StaffError::TotpAlreadyOn => (StatusCode::CONFLICT, "totp_already_on"),
            StaffError::TotpOff => (StatusCode::CONFLICT, "totp_off"),
        };
        ApiError::new(status, code, error.to_string())
    }
}
