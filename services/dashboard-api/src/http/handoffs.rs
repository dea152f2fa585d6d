//! The operators' side of hand-offs: the open queue (`GET /dashboard/handoffs`) and "sudah
//! dihubungi" (`POST /dashboard/handoffs/{id}/close`, recorded with the operator as actor).

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
};
use gadai_events::{Event, EventKind, HandoffClosed};
use gadai_http::ApiError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AppState, auth::Operator};
use crate::read_model::handoff::{self, Handoff};

/// The most hand-offs one answer lists (the oldest first; `open` says how many there are).
const MAX_LISTED: i64 = 200;

/// The open hand-offs.
#[derive(Serialize, ToSchema)]
pub struct HandoffQueue {
    /// Oldest first, at most 200.
    pub items: Vec<Handoff>,
    /// How many are open in all.
    pub open: i64,
}

#[utoipa::path(
    get,
    path = "/dashboard/handoffs",
    operation_id = "listHandoffs",
    summary = "The open hand-offs, oldest first",
    responses(
        (status = 200, description = "The queue", body = HandoffQueue),
        (status = 401, description = "No session", body = super::openapi::Error),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<HandoffQueue>, ApiError> {
    let (items, open) = handoff::open(&state.pool, MAX_LISTED)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Json(HandoffQueue { items, open }))
}

/// A hand-off marked as contacted.
#[derive(Serialize, ToSchema)]
pub struct HandoffClosedAnswer {
    pub handoff_id: Uuid,
    #[schema(example = "Hand-off ditandai sudah dihubungi")]
    pub message: String,
}

#[utoipa::path(
    post,
    path = "/dashboard/handoffs/{id}/close",
    operation_id = "closeHandoff",
    summary = "Mark a hand-off as contacted (\"sudah dihubungi\"; publishes customer.handoff_closed)",
    description = "Recorded with the operator as actor. Closing a closed hand-off changes nothing and answers 200.",
    params(("id" = String, Path, description = "The hand-off id (UUID).")),
    responses(
        (status = 200, description = "Closed", body = HandoffClosedAnswer),
        (status = 403, description = "Missing X-CSRF-Token", body = super::openapi::Error),
        (status = 404, description = "Unknown hand-off", body = super::openapi::Error),
        (status = 503, description = "The stream did not acknowledge in time; retry", body = super::openapi::Error),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<HandoffClosedAnswer>, ApiError> {
    let not_found = || ApiError::NotFound("Hand-off not found".into());
    let id = super::orders::path_uuid(id).ok_or_else(not_found)?;
    let found = handoff::find(&state.pool, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(not_found)?;
    if found.closed_at.is_none() {
        let event = Event::new(
            found.order_id.unwrap_or_default(),
            operator.id.clone(),
            EventKind::HandoffClosed(HandoffClosed { handoff_id: id }),
        );
        state.publish(&event).await?;
    }
    Ok(Json(HandoffClosedAnswer {
        handoff_id: id,
        message: "Hand-off ditandai sudah dihubungi".into(),
    }))
}
