//! The intake's queries: earlier attempts under an idempotency key, from the index its
//! projection keeps.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::idempotency::IndexedOrder;

/// What the index holds under any of `keys`, in key and position order: one query for the
/// candidate keys of many requests at once ([`crate::keys::Rounds`]).
pub async fn find_indexed(
    conn: &mut PgConnection,
    keys: &[String],
) -> sqlx::Result<Vec<IndexedOrder>> {
    let rows: Vec<(String, i32, i32, String, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT key, idx, count, fingerprint, order_id, created_at
         FROM idempotency_keys WHERE key = ANY($1) ORDER BY key, idx",
    )
    .bind(keys)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, idx, count, fingerprint, order_id, created_at)| IndexedOrder {
                key,
                index: idx as usize,
                count: count as usize,
                fingerprint,
                order_id,
                created_at,
            },
        )
        .collect())
}
