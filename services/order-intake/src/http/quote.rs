//! `POST /api/quote`: the loan value of items for a province, for the agent's tool.

use axum::{Json, extract::State, extract::rejection::JsonRejection};
use gadai_http::ApiError;
use serde_json::Value;

use super::{AppState, openapi};
use crate::domain::quote::{Quote, quote};

#[utoipa::path(
    post,
    path = "/api/quote",
    operation_id = "quote",
    summary = "Loan value of items for a province (the regional rule), for the agent",
    description = "The percentage comes from LOAN_RATES (default DKI Jakarta 80, Jawa Barat 70, Jawa Timur 60, elsewhere 50). Amounts are whole Rupiah, rounded down. Publishes nothing.",
    request_body(content = inline(openapi::QuoteRequest)),
    responses(
        (status = 200, description = "The quote", body = inline(Quote)),
        (status = 401, description = "Missing or wrong X-API-Key", body = openapi::Error),
        (status = 422, description = "Every failing field named", body = openapi::ValidationError),
    )
)]
pub async fn post_quote(
    State(state): State<AppState>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Quote>, ApiError> {
    let Json(body) = body?;
    quote(&body, &state.settings.loan_rates)
        .map(Json)
        .map_err(ApiError::Validation)
}
