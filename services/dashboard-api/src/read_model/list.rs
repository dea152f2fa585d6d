//! The active-orders list as a query: parsed filters, sort and keyset cursor, the SQL of one
//! page, the next page's link and the total the counters know. Used by `GET /dashboard/orders`
//! and the exports.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use gadai_http::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, QueryBuilder};
use utoipa::{
    IntoParams, ToSchema,
    openapi::{Object, ObjectBuilder, Type},
};
use uuid::Uuid;

use super::{COLUMNS, OrderRow};
use crate::domain::{OrderView, Status};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The list's query string, as given (parsed by [`ListQuery::parse`], which names every bad
/// parameter).
#[derive(Debug, Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// X-Next-Cursor of the previous page (same sort).
    pub cursor: Option<String>,
    #[param(schema_with = active_status_schema)]
    pub status: Option<String>,
    /// Exact region.
    pub wilayah: Option<String>,
    /// Case-insensitive text search in customer name, item and e-mail.
    #[param(max_length = 100)]
    pub q: Option<String>,
    #[param(schema_with = sort_schema)]
    pub sort: Option<String>,
    /// Default desc, asc for nama_customer.
    #[param(inline, value_type = Option<SortDirection>)]
    pub order: Option<String>,
}

/// `status`: the labels of the active statuses.
pub fn active_status_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            Status::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .map(Status::label),
        ))
        .build()
}

/// `sort`: the sort keys, `created_at` by default.
pub fn sort_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(SortKey::ALL.map(SortKey::column)))
        .default(Some(SortKey::CreatedAt.column().into()))
        .build()
}

// `order`: the direction of the sort (no doc comment: it would become the schema's description).
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    CreatedAt,
    Value,
    Name,
}

impl SortKey {
    const ALL: [SortKey; 3] = [SortKey::CreatedAt, SortKey::Value, SortKey::Name];

    fn column(self) -> &'static str {
        match self {
            SortKey::CreatedAt => "created_at",
            SortKey::Value => "estimasi_nilai_barang",
            SortKey::Name => "nama_customer",
        }
    }

    /// What the rows are sorted by: the column, except that an erased customer's name (null)
    /// sorts as the empty name, so the keyset comparison never meets a null (migration 0008
    /// indexes the same expression).
    fn expression(self) -> &'static str {
        match self {
            SortKey::Name => "coalesce(nama_customer, '')",
            other => other.column(),
        }
    }
}

/// What a list request filters and sorts by: `None` where a filter is not set; `q` is the
/// trimmed, lower-cased search text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Criteria<'a> {
    pub status: Option<&'static str>,
    pub wilayah: Option<&'a str>,
    pub q: Option<&'a str>,
    pub sort: &'static str,
    pub descending: bool,
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
        let column = self.sort.expression();
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
                    qb.push_bind(value.as_str().unwrap_or_default().to_owned());
                }
            }
            qb.push(", ").push_bind(*id).push(")");
        }
        let dir = if self.descending { "DESC" } else { "ASC" };
        qb.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "))
            .push_bind(self.limit + 1);
        qb
    }

    /// The filters and sort in effect, as parsed (the exports name them in their heading).
    pub fn criteria(&self) -> Criteria<'_> {
        Criteria {
            status: self.status.map(Status::label),
            wilayah: self.wilayah.as_deref(),
            q: self.q.as_deref(),
            sort: self.sort.column(),
            descending: self.descending,
        }
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

    pub fn cursor_of(&self, view: &OrderView) -> String {
        let f = view.facts.as_ref();
        let value = match self.sort {
            SortKey::CreatedAt => json!(f.map(|f| f.created_at)),
            SortKey::Value => json!(f.map(|f| f.estimasi_nilai_barang)),
            SortKey::Name => json!(
                f.and_then(|f| f.personal.as_ref())
                    .map_or("", |p| p.nama_customer.as_str())
            ),
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

impl ListQuery {
    /// The page: at most `limit` orders, and whether more follow.
    pub async fn page(&self, pool: &PgPool) -> sqlx::Result<(Vec<OrderView>, bool)> {
        let mut rows: Vec<OrderRow> = self.sql().build_query_as().fetch_all(pool).await?;
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        Ok((rows.into_iter().map(OrderView::from).collect(), more))
    }

    /// The link to the page after `cursor`, with the same filters and sort.
    pub fn next_link(&self, cursor: &str) -> String {
        let mut params = vec![
            ("limit", self.limit.to_string()),
            ("sort", self.sort.column().to_owned()),
            (
                "order",
                if self.descending { "desc" } else { "asc" }.to_owned(),
            ),
            ("cursor", cursor.to_owned()),
        ];
        if let Some(s) = self.status {
            params.push(("status", s.label().to_owned()));
        }
        if let Some(w) = &self.wilayah {
            params.push(("wilayah", w.clone()));
        }
        if let Some(q) = &self.q {
            params.push(("q", q.clone()));
        }
        let encoded = serde_urlencoded::to_string(&params).unwrap_or_default();
        format!("/dashboard/orders?{encoded}")
    }

    /// The total of the filtered list when the projection's counters know it (no text search and
    /// at most one of status or wilayah), so no request ever counts rows.
    pub async fn total(&self, pool: &PgPool) -> sqlx::Result<Option<i64>> {
        let key = match (&self.q, self.status, &self.wilayah) {
            (None, None, None) => ("total", "active".to_owned()),
            (None, Some(s), None) => ("status", s.label().to_owned()),
            (None, None, Some(w)) => ("wilayah", w.clone()),
            _ => return Ok(None),
        };
        let n: Option<i64> =
            sqlx::query_scalar("SELECT orders FROM counters WHERE dim = $1 AND key = $2")
                .bind(key.0)
                .bind(&key.1)
                .fetch_optional(pool)
                .await?;
        Ok(Some(n.unwrap_or(0)))
    }
}
