//! `GET /dashboard/orders`, `GET /dashboard/orders/{id}`, `DELETE /dashboard/order/{id}`: the
//! queries are the read model's ([`read_model::ListQuery`]); these handlers parse and answer.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::PathRejection},
    http::HeaderValue,
    response::{IntoResponse, Response},
};
use gadai_http::ApiError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AppState,
    auth::Operator,
    openapi::{Deleted, Error, ValidationError},
};
use crate::{
    domain::Command,
    read_model::{self, HistoryEntry, ListParams, ListQuery, Order},
};

/// Active orders, a page at a time: a JSON array in the seed's shape; the next page's cursor in
/// `X-Next-Cursor` and a `Link: <...>; rel="next"` header.
#[utoipa::path(
    get,
    path = "/dashboard/orders",
    operation_id = "listOrders",
    summary = "Active orders (On Process, On Verification, Verified), a page at a time",
    params(ListParams),
    responses(
        (status = 200, description = "A JSON array of orders, newest first by default", body = Vec<Order>, headers(
            ("X-Next-Cursor" = String, description = "Cursor of the next page; absent on the last page"),
            ("Link" = String, description = "<...>; rel=\"next\" when there is a next page"),
            ("X-Total-Count" = i64, description = "Orders matching the filter, when the counters know it (no q; status or wilayah, not both)"),
        )),
        (status = 422, description = "A query parameter is invalid; each is named", body = ValidationError),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let query = ListQuery::parse(params)?;
    let (views, more) = query.page(&state.pool).await.map_err(anyhow::Error::from)?;
    let body: Vec<Order> = views.iter().map(Order::from).collect();
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    if more && let Some(last) = views.last() {
        let cursor = query.cursor_of(last);
        if let Ok(v) = HeaderValue::from_str(&cursor) {
            headers.insert("x-next-cursor", v);
        }
        if let Ok(v) =
            HeaderValue::from_str(&format!("<{}>; rel=\"next\"", query.next_link(&cursor)))
        {
            headers.insert(http::header::LINK, v);
        }
    }
    if let Some(total) = query
        .total(&state.pool)
        .await
        .map_err(anyhow::Error::from)?
    {
        headers.insert("x-total-count", HeaderValue::from(total));
    }
    Ok(response)
}

/// An order id from the path; anything else is an unknown order (404).
pub(super) fn parse_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    path_uuid(id).ok_or_else(not_found)
}

/// The UUID in a path segment; anything else names nothing (a 404 for the caller).
pub(super) fn path_uuid(id: Result<Path<String>, PathRejection>) -> Option<Uuid> {
    Uuid::parse_str(&id.ok()?.0).ok()
}

pub(super) fn not_found() -> ApiError {
    ApiError::NotFound("Order not found".into())
}

/// One order, active or not, with its whole history (who did what, when).
#[utoipa::path(
    get,
    path = "/dashboard/orders/{id}",
    operation_id = "getOrder",
    summary = "One order, active or not, with its event history",
    params(("id" = String, Path, description = "The order id (UUID); anything else is an unknown order (404).")),
    responses(
        (status = 200, description = "The order and its history", body = inline(OrderDetail)),
        (status = 404, description = "Unknown order", body = Error),
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<OrderDetail>, ApiError> {
    let id = parse_id(id)?;
    let view = read_model::find(&state.pool, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(not_found)?;
    let history = read_model::history(&state.pool, id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Json(OrderDetail {
        order: Order::from(&view),
        history,
    }))
}

/// One order and its history.
#[derive(Serialize, ToSchema)]
pub struct OrderDetail {
    pub order: Order,
    #[schema(inline)]
    pub history: Vec<HistoryEntry>,
}

/// Deletes an active order: publishes `order.deleted` and answers after the PubAck.
#[utoipa::path(
    delete,
    path = "/dashboard/order/{id}",
    operation_id = "deleteOrder",
    summary = "Delete an active order (admin; publishes order.deleted)",
    params(("id" = String, Path, description = "The order id (UUID); anything else is an unknown order (404).")),
    responses(
        (status = 200, description = "Deleted", body = inline(Deleted)),
        (status = 404, description = "Unknown or no longer active order", body = Error),
        (status = 503, description = "The stream did not acknowledge in time; retry", body = Error),
        (status = 403, description = "Not an admin, or missing X-CSRF-Token", body = Error),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<super::openapi::Deleted>, ApiError> {
    operator.require_admin()?;
    let id = parse_id(id)?;
    super::verification::execute(&state, &operator.id, id, Command::Delete).await?;
    Ok(Json(Deleted {
        message: "Order berhasil dihapus".into(),
    }))
}
