//! Hand-offs: conversations the agent handed to a person, as the projection keeps them
//! (`handoffs`) and the API shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

/// The columns of `handoffs` that make a [`HandoffRow`].
pub const COLUMNS: &str = "id, order_id, id_percakapan, nama_customer, email, referensi, \
     ringkasan, opened_at, closed_at, closed_by, subject, data_dihapus";

/// A row of `handoffs`; the facts are `None` while only its close has been applied, and the
/// customer's words (conversation, name, e-mail, summary) once erased.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HandoffRow {
    pub id: Uuid,
    pub order_id: Option<Uuid>,
    pub id_percakapan: Option<String>,
    pub nama_customer: Option<String>,
    pub email: Option<String>,
    pub referensi: Option<String>,
    pub ringkasan: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    /// The customer's subject id (keyed hash of the e-mail).
    pub subject: Option<String>,
    pub data_dihapus: bool,
}

/// A hand-off as operators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Handoff {
    pub id: Uuid,
    /// The order the customer referred to, when the reference and e-mail named one.
    pub order_id: Option<Uuid>,
    /// The order reference the customer gave (8 hex digits), if any.
    pub referensi: Option<String>,
    /// Null once the customer's data is erased (also the name, e-mail and summary).
    #[schema(required = true)]
    pub id_percakapan: Option<String>,
    #[schema(required = true)]
    pub nama_customer: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
    /// What the customer needs, in the agent's words.
    #[schema(required = true)]
    pub ringkasan: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// When an operator marked it "sudah dihubungi"; `null` while open.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it (the operator's username).
    pub closed_by: Option<String>,
    /// The customer's personal data was erased (UU PDP 27/2022): the conversation, name, e-mail and summary are null; the UI shows "data dihapus".
    pub data_dihapus: bool,
}

impl HandoffRow {
    /// The API's shape; call only on opened rows (the queries below return no others).
    pub fn into_api(self) -> Handoff {
        Handoff {
            id: self.id,
            order_id: self.order_id,
            referensi: self.referensi,
            id_percakapan: self.id_percakapan,
            nama_customer: self.nama_customer,
            email: self.email,
            ringkasan: self.ringkasan,
            opened_at: self.opened_at.unwrap_or_default(),
            closed_at: self.closed_at,
            closed_by: self.closed_by,
            data_dihapus: self.data_dihapus,
        }
    }
}

/// The open hand-offs, oldest first, at most `limit`; and how many are open in all.
pub async fn open(pool: &PgPool, limit: i64) -> sqlx::Result<(Vec<Handoff>, i64)> {
    let rows: Vec<HandoffRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM handoffs
         WHERE closed_at IS NULL AND opened_at IS NOT NULL
         ORDER BY opened_at, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM handoffs WHERE closed_at IS NULL AND opened_at IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok((rows.into_iter().map(HandoffRow::into_api).collect(), total))
}

/// One opened hand-off.
pub async fn find(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Handoff>> {
    let row: Option<HandoffRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM handoffs WHERE id = $1 AND opened_at IS NOT NULL"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(HandoffRow::into_api))
}

/// Every opened hand-off of a customer, oldest first (the access export).
pub async fn of_subject(pool: &PgPool, subject: &str) -> sqlx::Result<Vec<Handoff>> {
    let rows: Vec<HandoffRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM handoffs
         WHERE subject = $1 AND opened_at IS NOT NULL ORDER BY opened_at, id"
    ))
    .bind(subject)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(HandoffRow::into_api).collect())
}

/// The open hand-off of a conversation, if any.
pub async fn open_for_conversation(
    pool: &PgPool,
    id_percakapan: &str,
) -> sqlx::Result<Option<Handoff>> {
    let row: Option<HandoffRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM handoffs
         WHERE id_percakapan = $1 AND closed_at IS NULL AND opened_at IS NOT NULL
         ORDER BY opened_at LIMIT 1"
    ))
    .bind(id_percakapan)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(HandoffRow::into_api))
}

/// A hand-off row with the sequence of its newest event.
#[derive(sqlx::FromRow)]
struct Changed {
    last_seq: i64,
    #[sqlx(flatten)]
    row: HandoffRow,
}

/// The opened hand-offs changed after stream sequence `since`, oldest change first, at most
/// `limit`: each with the sequence of its newest event (for a live feed's reconnect).
pub async fn changed_since(
    pool: &PgPool,
    since: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, Handoff)>> {
    let rows: Vec<Changed> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, last_seq FROM handoffs
         WHERE last_seq > $1 AND opened_at IS NOT NULL ORDER BY last_seq LIMIT $2"
    ))
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.last_seq, c.row.into_api()))
        .collect())
}
