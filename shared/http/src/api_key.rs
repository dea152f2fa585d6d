//! The machine clients' guard: `X-API-Key` must equal the configured key.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::ApiError;

/// The expected key (`APPS_KEY`).
#[derive(Clone)]
pub struct ApiKey(pub Arc<str>);

/// Middleware: 401 unless `X-API-Key` equals the key (compared in constant time).
pub async fn require(State(key): State<ApiKey>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(given, key.0.as_bytes()) {
        let why = if given.is_empty() {
            "Missing X-API-Key header"
        } else {
            "Invalid API key"
        };
        return ApiError::Unauthorized(why.into()).into_response();
    }
    next.run(req).await
}

/// Equal lengths and bytes, in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
