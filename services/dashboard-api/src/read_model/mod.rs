//! The read model's queries and rows: the `orders` table row ([`OrderRow`], [`COLUMNS`]) and
//! the order as the API shows it ([`Order`], shared by the projection and the HTTP routes), one
//! order, its history.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{OrderFacts, OrderView, Status};

pub mod list;
mod order;
pub use list::{ListParams, ListQuery};
pub use order::{Cell, ExportColumn, HistoryEntry, Order};

/// Declares [`OrderRow`] and [`COLUMNS`] from one field list, so the query's column list and
/// the struct it is read into cannot disagree.
macro_rules! order_row {
    ($(#[$meta:meta])* pub struct $name:ident {
        $first:ident: $first_ty:ty $(, $field:ident: $ty:ty)* $(,)?
    }) => {
        $(#[$meta])*
        pub struct $name {
            pub $first: $first_ty,
            $(pub $field: $ty,)*
        }

        /// The columns of `orders` that make an [`OrderView`]: the fields of [`OrderRow`].
        pub const COLUMNS: &str = concat!(stringify!($first) $(, ", ", stringify!($field))*);
    };
}

order_row! {
    /// One row of `orders` as the queries read it.
    #[derive(Debug, sqlx::FromRow)]
    pub struct OrderRow {
        id: Uuid,
        created: bool,
        nama_customer: Option<String>,
        email: Option<String>,
        nama_barang: Option<String>,
        jenis_barang: Option<String>,
        jumlah_barang: Option<i64>,
        estimasi_nilai_barang: Option<i64>,
        wilayah: Option<String>,
        id_percakapan: Option<String>,
        created_at: Option<DateTime<Utc>>,
        state: String,
        sending: bool,
        send_count: i32,
        last_error: Option<String>,
        verification_id: Option<Uuid>,
        expires_at: Option<DateTime<Utc>>,
        last_sent_at: Option<DateTime<Utc>>,
        updated_at: Option<DateTime<Utc>>,
        last_seq: i64,
    }
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

/// The order as the live feed's announcements carry it: [`Order`]'s JSON.
pub fn order_json(view: &OrderView) -> Value {
    serde_json::to_value(Order::from(view)).expect("an order serializes")
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
pub async fn history(pool: &PgPool, id: Uuid) -> sqlx::Result<Vec<HistoryEntry>> {
    sqlx::query_as(
        "SELECT seq, type, actor, occurred_at, data FROM order_events WHERE order_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(pool)
    .await
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
