//! order-intake's HTTP surface: the n8n bridge, its OpenAPI document, and the ops routes.

mod insert_orders;

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use gadai_bus::Bus;
use gadai_kit::ApiError;
use sqlx::PgPool;

use crate::config::Settings;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub bus: Bus,
    pub settings: Arc<Settings>,
}

/// The OpenAPI document of this service, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub fn router(state: AppState) -> Router {
    let bridge = Router::new()
        .route("/api/insert-orders", post(insert_orders::insert_orders))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));
    Router::new()
        .merge(bridge)
        .route("/openapi.json", get(openapi))
        .fallback(gadai_kit::error::not_found)
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The bridge's guard: `X-API-Key` must equal `APPS_KEY` (compared in constant time).
async fn require_api_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(given, state.settings.apps_key.as_bytes()) {
        let why = if given.is_empty() {
            "Missing X-API-Key header"
        } else {
            "Invalid API key"
        };
        return ApiError::Unauthorized(why.into()).into_response();
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
