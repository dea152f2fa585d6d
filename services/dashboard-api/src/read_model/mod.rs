//! The read model's queries and rows: the `orders` table row and its JSON (shared by the
//! projection and the HTTP routes), one order, its history.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{OrderFacts, OrderView, Status};

mod list;
pub use list::{ListParams, ListQuery};

/// The columns of `orders` that make an [`OrderView`].
pub const COLUMNS: &str = "id, created, nama_customer, email, nama_barang, jenis_barang, \
    jumlah_barang, estimasi_nilai_barang, wilayah, id_percakapan, created_at, state, sending, \
    send_count, last_error, verification_id, expires_at, last_sent_at, updated_at, last_seq";

#[derive(Debug, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub created: bool,
    pub nama_customer: Option<String>,
    pub email: Option<String>,
    pub nama_barang: Option<String>,
    pub jenis_barang: Option<String>,
    pub jumlah_barang: Option<i64>,
    pub estimasi_nilai_barang: Option<i64>,
    pub wilayah: Option<String>,
    pub id_percakapan: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub state: String,
    pub sending: bool,
    pub send_count: i32,
    pub last_error: Option<String>,
    pub verification_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_seq: i64,
}

impl From<OrderRow> for OrderView {
    fn from(r: OrderRow) -> Self {
        let facts = if r.created {
            Some(OrderFacts {
                nama_customer: r.nama_customer.unwrap_or_default(),
                email: r.email.unwrap_or_default(),
                nama_barang: r.nama_barang.unwrap_or_default(),
                jenis_barang: r.jenis_barang.unwrap_or_default(),
                jumlah_barang: r.jumlah_barang.unwrap_or_default(),
                estimasi_nilai_barang: r.estimasi_nilai_barang.unwrap_or_default(),
                wilayah: r.wilayah.unwrap_or_default(),
                id_percakapan: r.id_percakapan,
                created_at: r.created_at.unwrap_or_default(),
            })
        } else {
            None
        };
        OrderView {
            id: r.id,
            facts,
            status: Status::from_code(&r.state).unwrap_or(Status::OnProcess),
            sending: r.sending,
            send_count: r.send_count,
            last_error: r.last_error,
            verification_id: r.verification_id,
            expires_at: r.expires_at,
            last_sent_at: r.last_sent_at,
            updated_at: r.updated_at,
            last_seq: r.last_seq,
        }
    }
}

/// The order as the API shows it: the seed's fields and status strings, plus what live
/// dashboards need (times, the sending flag, the last failure).
pub fn order_json(view: &OrderView) -> Value {
    let f = view.facts.as_ref();
    json!({
        "id": view.id,
        "status": view.status.label(),
        "nama_customer": f.map(|f| f.nama_customer.as_str()),
        "email": f.map(|f| f.email.as_str()),
        "nama_barang": f.map(|f| f.nama_barang.as_str()),
        "jenis_barang": f.map(|f| f.jenis_barang.as_str()),
        "jumlah_barang": f.map(|f| f.jumlah_barang),
        "estimasi_nilai_barang": f.map(|f| f.estimasi_nilai_barang),
        "wilayah": f.map(|f| f.wilayah.as_str()),
        "id_percakapan": f.and_then(|f| f.id_percakapan.as_deref()),
        "created_at": f.map(|f| f.created_at),
        "updated_at": view.updated_at,
        "sending": view.sending,
        "send_count": view.send_count,
        "last_error": view.last_error,
        "expires_at": view.expires_at,
        "last_sent_at": view.last_sent_at,
    })
}

/// One order that the bridge created, active or not.
pub async fn find(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<OrderView>> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE id = $1 AND created"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(OrderView::from))
}

/// An order's events in stream order, as the API shows them: who did what, when.
pub async fn history(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<Value>> {
    let rows: Vec<(i64, String, String, DateTime<Utc>, Value)> = sqlx::query_as(
        "SELECT seq, type, actor, occurred_at, data FROM order_events WHERE order_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, kind, actor, at, data)| {
            json!({"seq": seq, "type": kind, "actor": actor, "occurred_at": at, "data": data})
        })
        .collect())
}

/// The projection's counters that are not zero, and the active total: (dim, key, orders,
/// value). A value beyond `i64` is shown as `i64::MAX` (the column itself cannot overflow).
pub async fn counters(pool: &PgPool) -> sqlx::Result<Vec<(String, String, i64, i64)>> {
    sqlx::query_as(
        "SELECT dim, key, orders, LEAST(value, 9223372036854775807)::bigint
         FROM counters WHERE orders <> 0 OR dim = 'total'",
    )
    .fetch_all(pool)
    .await
}

/// The newest event type and sequence of each order changed after `since`, reading at most
/// `max_events` + 1 events (more: `None`, the caller tells the client to reload).
pub async fn changed_since(
    pool: &PgPool,
    since: i64,
    max_events: i64,
) -> sqlx::Result<Option<Vec<(Uuid, i64, String)>>> {
    let events: Vec<(Uuid, i64, String)> = sqlx::query_as(
        "SELECT order_id, seq, type FROM order_events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(since)
    .bind(max_events + 1)
    .fetch_all(pool)
    .await?;
    if events.len() as i64 > max_events {
        return Ok(None);
    }
    let mut latest: Vec<(Uuid, i64, String)> = Vec::new();
    for event in events {
        match latest.iter_mut().find(|l| l.0 == event.0) {
            Some(l) => *l = event,
            None => latest.push(event),
        }
    }
    Ok(Some(latest))
}

/// The rows of these orders.
pub async fn orders(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await
}
