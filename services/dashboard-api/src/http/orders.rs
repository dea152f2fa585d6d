//! `GET /dashboard/orders`, `GET /dashboard/orders/{id}`, `DELETE /dashboard/order/{id}`.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::PathRejection},
    http::HeaderValue,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use gadai_kit::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::{AppState, auth::Operator};
use crate::{
    domain::{Command, OrderView, Status},
    read_model::{self, COLUMNS, OrderRow, order_json},
};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, Default)]
pub struct ListParams {
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub status: Option<String>,
    pub wilayah: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    CreatedAt,
    Value,
    Name,
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            SortKey::CreatedAt => "created_at",
            SortKey::Value => "estimasi_nilai_barang",
            SortKey::Name => "nama_customer",
        }
    }
}

/// A parsed, valid list request.
#[derive(Debug)]
pub struct ListQuery {
    limit: i64,
    status: Option<Status>,
    wilayah: Option<String>,
    q: Option<String>,
    sort: SortKey,
    descending: bool,
    after: Option<(Value, Uuid)>,
}

impl ListQuery {
    pub fn parse(p: ListParams) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mut fail = |name: &str, msg: &str| {
            errors.push(FieldError::in_part("query", name, msg, "value_error"))
        };
        let limit = match p.limit.as_deref().map(str::parse::<i64>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                fail(
                    "limit",
                    &format!("must be a whole number from 1 to {MAX_LIMIT}"),
                );
                DEFAULT_LIMIT
            }
        };
        let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(label) => match Status::from_label(label).filter(|s| s.is_active()) {
                Some(s) => Some(s),
                None => {
                    fail("status", "must be On Process, On Verification or Verified");
                    None
                }
            },
        };
        let sort = match p.sort.as_deref().unwrap_or("created_at") {
            "created_at" => SortKey::CreatedAt,
            "estimasi_nilai_barang" => SortKey::Value,
            "nama_customer" => SortKey::Name,
            _ => {
                fail(
                    "sort",
                    "must be created_at, estimasi_nilai_barang or nama_customer",
                );
                SortKey::CreatedAt
            }
        };
        let descending = match p.order.as_deref() {
            None => sort != SortKey::Name,
            Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                fail("order", "must be asc or desc");
                true
            }
        };
        let after = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match decode_cursor(c, sort) {
                Some(a) => Some(a),
                None => {
                    fail("cursor", "is not a cursor of this sort order");
                    None
                }
            },
        };
        let q =
            p.q.map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty());
        if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
            fail("q", "at most 100 characters");
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(ListQuery {
            limit,
            status,
            wilayah: p
                .wilayah
                .map(|w| w.trim().to_owned())
                .filter(|w| !w.is_empty()),
            q,
            sort,
            descending,
            after,
        })
    }

    pub fn sql(&self) -> QueryBuilder<'_, Postgres> {
        let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM orders WHERE active"));
        if let Some(status) = self.status {
            qb.push(" AND state = ").push_bind(status.code());
        }
        if let Some(wilayah) = &self.wilayah {
            qb.push(" AND wilayah = ").push_bind(wilayah);
        }
        if let Some(q) = &self.q {
            qb.push(" AND search LIKE ")
                .push_bind(format!("%{}%", escape_like(q)));
        }
        let column = self.sort.column();
        if let Some((value, id)) = &self.after {
            let op = if self.descending { "<" } else { ">" };
            qb.push(format!(" AND ({column}, id) {op} ("));
            match self.sort {
                SortKey::CreatedAt => {
                    let t: Option<DateTime<Utc>> = serde_json::from_value(value.clone()).ok();
                    qb.push_bind(t);
                }
                SortKey::Value => {
                    qb.push_bind(value.as_i64());
                }
                SortKey::Name => {
                    qb.push_bind(value.as_str().map(str::to_owned));
                }
            }
            qb.push(", ").push_bind(*id).push(")");
        }
        let dir = if self.descending { "DESC" } else { "ASC" };
        qb.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "))
            .push_bind(self.limit + 1);
        qb
    }

    /// The same query with pages of `size` rows (the export reads larger pages than the API
    /// serves).
    pub fn with_page_size(self, size: i64) -> ListQuery {
        ListQuery {
            limit: size,
            ..self
        }
    }

    /// The same query, for the page after `view`.
    pub fn after(self, view: &OrderView) -> ListQuery {
        let cursor = self.cursor_of(view);
        let after = decode_cursor(&cursor, self.sort);
        ListQuery { after, ..self }
    }

    fn cursor_of(&self, view: &OrderView) -> String {
        let f = view.facts.as_ref();
        let value = match self.sort {
            SortKey::CreatedAt => json!(f.map(|f| f.created_at)),
            SortKey::Value => json!(f.map(|f| f.estimasi_nilai_barang)),
            SortKey::Name => json!(f.map(|f| f.nama_customer.as_str())),
        };
        URL_SAFE_NO_PAD.encode(json!([self.sort.column(), value, view.id]).to_string())
    }
}

fn decode_cursor(cursor: &str, sort: SortKey) -> Option<(Value, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let parts: (String, Value, Uuid) = serde_json::from_slice(&bytes).ok()?;
    (parts.0 == sort.column()).then_some((parts.1, parts.2))
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Active orders, a page at a time: a JSON array in the seed's shape; the next page's cursor in
/// `X-Next-Cursor` and a `Link: <...>; rel="next"` header.
pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let query = ListQuery::parse(params)?;
    let mut rows: Vec<OrderRow> = query
        .sql()
        .build_query_as()
        .fetch_all(&state.pool)
        .await
        .map_err(anyhow::Error::from)?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let views: Vec<OrderView> = rows.into_iter().map(OrderView::from).collect();
    let body: Vec<Value> = views.iter().map(order_json).collect();
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    if more && let Some(last) = views.last() {
        let cursor = query.cursor_of(last);
        if let Ok(v) = HeaderValue::from_str(&cursor) {
            headers.insert("x-next-cursor", v);
        }
        if let Ok(v) =
            HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next_link(&query, &cursor)))
        {
            headers.insert(http::header::LINK, v);
        }
    }
    if let Some(total) = total_for(&state, &query).await? {
        headers.insert("x-total-count", HeaderValue::from(total));
    }
    Ok(response)
}

fn next_link(query: &ListQuery, cursor: &str) -> String {
    let mut params = vec![
        ("limit", query.limit.to_string()),
        ("sort", query.sort.column().to_owned()),
        (
            "order",
            if query.descending { "desc" } else { "asc" }.to_owned(),
        ),
        ("cursor", cursor.to_owned()),
    ];
    if let Some(s) = query.status {
        params.push(("status", s.label().to_owned()));
    }
    if let Some(w) = &query.wilayah {
        params.push(("wilayah", w.clone()));
    }
    if let Some(q) = &query.q {
        params.push(("q", q.clone()));
    }
    let encoded = serde_urlencoded::to_string(&params).unwrap_or_default();
    format!("/dashboard/orders?{encoded}")
}

/// The total of the filtered list when the projection's counters know it (no text search and
/// at most one of status or wilayah), so no request ever counts rows.
async fn total_for(state: &AppState, query: &ListQuery) -> Result<Option<i64>, ApiError> {
    let key = match (&query.q, query.status, &query.wilayah) {
        (None, None, None) => ("total", "active".to_owned()),
        (None, Some(s), None) => ("status", s.label().to_owned()),
        (None, None, Some(w)) => ("wilayah", w.clone()),
        _ => return Ok(None),
    };
    let n: Option<i64> =
        sqlx::query_scalar("SELECT orders FROM counters WHERE dim = $1 AND key = $2")
            .bind(key.0)
            .bind(&key.1)
            .fetch_optional(&state.pool)
            .await
            .map_err(anyhow::Error::from)?;
    Ok(Some(n.unwrap_or(0)))
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
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(id)?;
    let view = read_model::find(&state.pool, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(not_found)?;
    let history = read_model::history(&state.pool, id)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Json(
        json!({ "order": order_json(&view), "history": history }),
    ))
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
