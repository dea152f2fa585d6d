//! `POST /api/quote`: the loan value of items for a province, for the agent's tool.

use axum::{Json, extract::State, extract::rejection::JsonRejection};
use gadai_kit::ApiError;
use serde_json::Value;

use super::AppState;
use crate::domain::quote::{Quote, quote};

pub async fn post_quote(
    State(state): State<AppState>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Quote>, ApiError> {
    let Json(body) = body?;
    quote(&body, &state.settings.loan_rates)
        .map(Json)
        .map_err(ApiError::Validation)
}
