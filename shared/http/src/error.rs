//! The error bodies every HTTP route answers with: the seed's `{"detail": ...}` shape.

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// One field that failed validation, in FastAPI's shape (the seed's clients know it):
/// `{"loc": ["body", 0, "email"], "msg": "...", "type": "value_error.email"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// A body field at `path` (after the implicit `"body"`).
    pub fn at(path: &[serde_json::Value], msg: &str, kind: &str) -> Self {
        let mut loc = vec![serde_json::Value::from("body")];
        loc.extend_from_slice(path);
        FieldError {
            loc,
            msg: msg.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// A field outside the body (`query`, `header`, `path`).
    pub fn in_part(part: &str, name: &str, msg: &str, kind: &str) -> Self {
        FieldError {
            loc: vec![part.into(), name.into()],
            msg: msg.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// The location after its first part, dotted: `0.email`.
    pub fn field_path(&self) -> String {
        self.loc
            .iter()
            .skip(1)
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// An error an HTTP handler returns. Internals are logged, never sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Validation(fields) => serde_json::to_value(fields).unwrap_or_default(),
            ApiError::Unexpected(err) => {
                tracing::error!(error = ?err, "request failed");
                "Internal server error".into()
            }
            ApiError::Unavailable(why) => {
                tracing::warn!(reason = %why, "dependency unavailable");
                "Service temporarily unavailable, retry later".into()
            }
            ApiError::Unauthorized(why) | ApiError::Forbidden(why) => why.clone().into(),
            ApiError::Conflict(why) | ApiError::Unprocessable(why) => why.clone().into(),
            ApiError::BadRequest(why) | ApiError::NotFound(why) => why.clone().into(),
            ApiError::PayloadTooLarge => "Request body too large".into(),
            ApiError::TooManyRequests { .. } => "Too many requests, slow down".into(),
        };
        let mut response = (status, Json(serde_json::json!({ "detail": detail }))).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::Validation(vec![FieldError::at(
                &[],
                "Content-Type must be application/json",
                "type_error.content_type",
            )]),
            JsonRejection::BytesRejection(ref inner)
                if inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::PayloadTooLarge
            }
            other => ApiError::Validation(vec![FieldError::at(
                &[],
                &other.body_text(),
                "value_error.json",
            )]),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Validation(vec![FieldError::in_part(
            "query",
            "",
            &rejection.body_text(),
            "value_error.query",
        )])
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::NotFound(format!("Not found: {}", rejection.body_text()))
    }
}

/// Answers every unknown route with the same JSON shape.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".into())
}
