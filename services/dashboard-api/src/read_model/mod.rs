//! The read model's queries and rows: the `orders` table row ([`OrderRow`], [`COLUMNS`]) and
//! the order as the API shows it ([`Order`], shared by the projection and the HTTP routes), one
//! order, its history.

use chrono::{DateTime, Utc};
use gadai_events::check::Reference;
use serde_json::Value;
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use crate::domain::{Customer, OrderFacts, OrderPersonal, OrderView, Status};

pub mod handoff;
pub mod list;
pub mod mail_template;
mod order;
pub mod retention;
pub use list::{ListParams, ListQuery};
pub use order::{Cell, ExportColumn, HistoryEntry, Order};

/// Declares [`OrderRow`], [`COLUMNS`], [`unnest_rows`] and [`bind_rows`] from one field list
/// (each field with its Postgres type), so the queries' column lists, the arrays the projection
/// writes and the struct the rows are read into cannot disagree.
macro_rules! order_row {
    ($(#[$meta:meta])* pub struct $name:ident {
        $first:ident: $first_ty:ty = $first_sql:literal $(, $field:ident: $ty:ty = $sql:literal)* $(,)?
    }) => {
        $(#[$meta])*
        pub struct $name {
            pub $first: $first_ty,
            $(pub $field: $ty,)*
        }

        /// The columns of `orders` that make an [`OrderView`]: the fields of [`OrderRow`].
        pub const COLUMNS: &str = concat!(stringify!($first) $(, ", ", stringify!($field))*);
        /// How many [`COLUMNS`] there are (the arrays [`bind_rows`] binds).
        pub const COLUMN_COUNT: usize = [stringify!($first) $(, stringify!($field))*].len();

        /// `UNNEST($1::uuid[], ...)`: the rows [`bind_rows`] binds, as a table of [`COLUMNS`].
        pub fn unnest_rows() -> String {
            let types = [$first_sql $(, $sql)*];
            let arrays: Vec<String> = types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("${}::{ty}[]", i + 1))
                .collect();
            format!("UNNEST({})", arrays.join(", "))
        }

        /// Binds `rows` column by column, as the arrays of [`unnest_rows`].
        pub fn bind_rows<'q, O>(query: RowsQuery<'q, O>, rows: &'q [$name]) -> RowsQuery<'q, O> {
            query
                .bind(rows.iter().map(|r| &r.$first).collect::<Vec<_>>())
                $(.bind(rows.iter().map(|r| &r.$field).collect::<Vec<_>>()))*
        }
    };
}

/// A query that binds the rows of [`bind_rows`].
pub type RowsQuery<'q, O> = sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>;

order_row! {
    /// One row of `orders` as the queries read it and the projection writes it.
    #[derive(Debug, sqlx::FromRow)]
    pub struct OrderRow {
        id: Uuid = "uuid",
        created: bool = "bool",
        nama_customer: Option<String> = "text",
        email: Option<String> = "text",
        nama_barang: Option<String> = "text",
        jenis_barang: Option<String> = "text",
        jumlah_barang: Option<i64> = "bigint",
        estimasi_nilai_barang: Option<i64> = "bigint",
        wilayah: Option<String> = "text",
        id_percakapan: Option<String> = "text",
        created_at: Option<DateTime<Utc>> = "timestamptz",
        state: String = "text",
        active: bool = "bool",
        sending: bool = "bool",
        send_count: i32 = "int",
        last_error: Option<String> = "text",
        verification_id: Option<Uuid> = "uuid",
        expires_at: Option<DateTime<Utc>> = "timestamptz",
        last_sent_at: Option<DateTime<Utc>> = "timestamptz",
        updated_at: Option<DateTime<Utc>> = "timestamptz",
        last_seq: i64 = "bigint",
        subject: Option<String> = "text",
        key_generation: i32 = "int",
        recorded_seq: Option<i64> = "bigint",
        data_dihapus: bool = "bool",
    }
}

impl From<&OrderView> for OrderRow {
    fn from(v: &OrderView) -> Self {
        let f = v.facts.as_ref();
        let text = |get: fn(&OrderFacts) -> &String| f.map(|f| get(f).clone());
        let personal = f.and_then(|f| f.personal.as_ref());
        let customer = f.map(|f| &f.customer);
        OrderRow {
            id: v.id,
            created: f.is_some(),
            nama_customer: personal.map(|p| p.nama_customer.clone()),
            email: personal.map(|p| p.email.clone()),
            nama_barang: personal.map(|p| p.nama_barang.clone()),
            jenis_barang: text(|f| &f.jenis_barang),
            jumlah_barang: f.map(|f| f.jumlah_barang),
            estimasi_nilai_barang: f.map(|f| f.estimasi_nilai_barang),
            wilayah: text(|f| &f.wilayah),
            id_percakapan: personal.and_then(|p| p.id_percakapan.clone()),
            created_at: f.map(|f| f.created_at),
            state: v.status.code().to_owned(),
            active: v.is_active(),
            sending: v.sending,
            send_count: v.send_count,
            last_error: v.last_error.clone(),
            verification_id: v.verification_id,
            expires_at: v.expires_at,
            last_sent_at: v.last_sent_at,
            updated_at: v.updated_at,
            last_seq: v.last_seq,
            subject: customer.and_then(|c| c.subject.clone()),
            key_generation: customer.map_or(0, |c| c.generation as i32),
            recorded_seq: customer.map(|c| c.recorded_seq),
            data_dihapus: v.is_erased(),
        }
    }
}

impl From<OrderRow> for OrderView {
    fn from(r: OrderRow) -> Self {
        let facts = if r.created {
            Some(OrderFacts {
                personal: (!r.data_dihapus).then(|| OrderPersonal {
                    nama_customer: r.nama_customer.unwrap_or_default(),
                    email: r.email.unwrap_or_default(),
                    nama_barang: r.nama_barang.unwrap_or_default(),
                    id_percakapan: r.id_percakapan,
                }),
                customer: Customer {
                    subject: r.subject,
                    generation: r.key_generation.max(0) as u32,
                    recorded_seq: r.recorded_seq.unwrap_or_default(),
                },
                jenis_barang: r.jenis_barang.unwrap_or_default(),
                jumlah_barang: r.jumlah_barang.unwrap_or_default(),
                estimasi_nilai_barang: r.estimasi_nilai_barang.unwrap_or_default(),
                wilayah: r.wilayah.unwrap_or_default(),
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

/// The order that carries `reference` and was placed with `email` (compared without case), if
/// one was: what the customer can name themselves by. A range scan of the primary key.
pub async fn find_by_reference(
    pool: &PgPool,
    reference: Reference,
    email: &str,
) -> sqlx::Result<Option<OrderView>> {
    let (low, high) = reference.id_range();
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders
         WHERE id BETWEEN $1 AND $2 AND created AND lower(email) = lower($3)
         ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(low)
    .bind(high)
    .bind(email.trim())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(OrderView::from))
}

/// The personal fields of an event type's data (the customer's words): never in the history.
pub fn personal_fields(type_name: &str) -> &'static [&'static str] {
    use gadai_privacy::fields::{CONVERSATION, EMAIL, ITEM, NAME, SUMMARY};
    match type_name {
        "order.created" => &[NAME, EMAIL, ITEM, CONVERSATION],
        "customer.handoff_opened" => &[CONVERSATION, NAME, EMAIL, SUMMARY],
        _ => &[],
    }
}

/// An event's data as the history (`order_events`) keeps it: without its personal fields,
/// sealed or not. They live in the order's or hand-off's row only, which an erasure blanks; the
/// history then has nothing to blank, and never shows a sealed text.
pub fn recorded_data(event: &gadai_events::Event) -> Value {
    let mut data = event.data_json();
    if let Some(fields) = data.as_object_mut() {
        for name in personal_fields(event.type_name()) {
            fields.remove(*name);
        }
    }
    data
}

/// A history row's data as its event's payload again (for folding an order anew): the
/// personal fields it lacks are empty (the fold takes them from the row, not from here).
pub fn as_event_data(type_name: &str, mut data: Value) -> Value {
    if let Some(fields) = data.as_object_mut() {
        for name in personal_fields(type_name) {
            if *name != gadai_privacy::fields::CONVERSATION || type_name != "order.created" {
                fields
                    .entry(*name)
                    .or_insert_with(|| Value::String(String::new()));
            }
        }
    }
    data
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

/// The events of several orders in stream order, each with its order (the access export).
pub async fn histories(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<(Uuid, HistoryEntry)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        order_id: Uuid,
        #[sqlx(flatten)]
        entry: HistoryEntry,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT order_id, seq, type, actor, occurred_at, data FROM order_events
         WHERE order_id = ANY($1) ORDER BY seq",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.order_id, r.entry)).collect())
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

/// The orders an erasure after stream sequence `since` blanked, each with that erasure's
/// sequence (an erasure changes rows of orders it did not name: the live feed's reconnect finds
/// them here), at most `limit`.
pub async fn erased_since(pool: &PgPool, since: i64, limit: i64) -> sqlx::Result<Vec<(Uuid, i64)>> {
    sqlx::query_as(
        "SELECT o.id, max(e.seq) FROM erasures e JOIN orders o ON o.subject = e.subject
         WHERE e.seq > $1 AND o.data_dihapus GROUP BY o.id ORDER BY 2 LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The rows of these orders.
pub async fn orders(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM orders WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await
}
