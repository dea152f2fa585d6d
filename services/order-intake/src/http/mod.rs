//! order-intake's HTTP surface: the n8n bridge, its OpenAPI document, and the ops routes.

mod insert_orders;
mod legacy_order;
pub mod openapi;
mod quote;

use secrecy::ExposeSecret;
use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    response::IntoResponse,
    routing::{get, post},
};
use gadai_bus::Bus;
use gadai_http::api_key::{self, ApiKey};
use gadai_privacy::SubjectKey;

use crate::config::Settings;

/// What the handlers share. Every request gets a clone (axum's `State`), so each part is a
/// handle: a `Bus` holds its settings' strings and two NATS clients, about ten allocations to
/// clone and drop again, once per order.
#[derive(Clone)]
pub struct AppState {
    pub bus: Arc<Bus>,
    /// The idempotency index and the customers' keys (which seal each order's personal
    /// fields), read in rounds.
    pub rounds: crate::keys::Rounds,
    /// E-mail -> the customer's subject id.
    pub subjects: Arc<SubjectKey>,
    pub settings: Arc<Settings>,
}

/// The OpenAPI document of this service, served at `/openapi.json`: the output of
/// [`openapi::document`], committed (a test fails when they differ).
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub fn router(state: AppState) -> Router {
    let bridge = Router::new()
        .route("/api/insert-orders", post(insert_orders::insert_orders))
        .route("/api/quote", post(quote::post_quote))
        .route("/order", post(legacy_order::post_order))
        .layer(middleware::from_fn_with_state(
            ApiKey(state.settings.apps_key.expose_secret().into()),
            api_key::require,
        ))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));
    Router::new()
        .merge(bridge)
        .route("/openapi.json", get(openapi))
        .fallback(gadai_http::error::not_found)
        .with_state(state)
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    summary = "This document",
    security(),
    responses((status = 200, description = "OpenAPI 3.1 document", body = inline(openapi::AnyObject)))
)]
async fn openapi() -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}
