//! API errors: JSON `{status, message, type}` with a status that fits the error kind, as
//! step-ca answers (`{status, message}`) plus a stable machine-readable `type`. Internal
//! details never reach the client; they are logged with the request id instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vouch_model::ErrorKind;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorKind,
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error of `kind` with a message safe to show the client.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            status: status_for(kind),
            message: message.into(),
        }
    }

    /// Override the status (e.g. 413 for an oversized body).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// 400.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 500, with the detail logged and not shown.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorKind::Internal, "internal error")
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The HTTP status of each kind (the ACME mapping lives with the ACME routes).
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Malformed | ErrorKind::BadCsr => StatusCode::BAD_REQUEST,
        // step-ca answers policy refusals with 403.
        ErrorKind::PolicyForbids => StatusCode::FORBIDDEN,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict | ErrorKind::AlreadyRevoked => StatusCode::CONFLICT,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": self.status.as_u16(),
            "message": self.message,
            "type": self.kind.as_str(),
        });
        let mut resp = (self.status, Json(body)).into_response();
        resp.extensions_mut().insert(self.kind);
        resp
    }
}

impl From<vouch_issuing::Error> for ApiError {
    fn from(e: vouch_issuing::Error) -> Self {
        match e.kind() {
            ErrorKind::Internal | ErrorKind::Unavailable => ApiError::internal(e),
            kind => ApiError::new(kind, e.to_string()),
        }
    }
}

impl From<vouch_storage::Error> for ApiError {
    fn from(e: vouch_storage::Error) -> Self {
        match e.kind() {
            ErrorKind::Internal => ApiError::internal(e),
            kind => ApiError::new(kind, e.to_string()),
        }
    }
}
