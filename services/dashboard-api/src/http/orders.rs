//! `GET /dashboard/orders`, `GET /dashboard/orders/{id}`, `DELETE /dashboard/order/{id}`: the
//! queries are the read model's ([`read_model::ListQuery`]); these handlers parse and answer.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::PathRejection},
    http::HeaderValue,
    response::{IntoResponse, Response},
};
use gadai_kit::ApiError;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{AppState, auth::Operator};
use crate::{
    domain::Command,
    read_model::{self, HistoryEntry, ListParams, ListQuery, Order},
};

/// Active orders, a page at a time: a JSON array in the seed's shape; the next page's cursor in
/// `X-Next-Cursor` and a `Link: <...>; rel="next"` header.
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

fn parse_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(id) = id?;
    Uuid::parse_str(&id).map_err(|_| not_found())
}

pub(super) fn not_found() -> ApiError {
    ApiError::NotFound("Order not found".into())
}

/// One order, active or not, with its whole history (who did what, when).
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
#[derive(Serialize)]
pub struct OrderDetail {
    pub order: Order,
    pub history: Vec<HistoryEntry>,
}

/// Deletes an active order: publishes `order.deleted` and answers after the PubAck.
pub async fn delete(
    State(state): State<AppState>,
    operator: Operator,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    operator.require_admin()?;
    let id = parse_id(id)?;
    super::verification::execute(&state, &operator, id, Command::Delete).await?;
    Ok(Json(json!({ "message": "Order berhasil dihapus" })))
}
