//! The intake's queries: earlier attempts under an idempotency key, from the index its
//! projection keeps.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::idempotency::{Earlier, IndexedOrder};

/// The earlier attempt under the first of `keys` (newest first) the index holds orders of.
pub async fn find_earlier(pool: &PgPool, keys: &[String]) -> sqlx::Result<Option<Earlier>> {
    let rows: Vec<(String, i32, i32, String, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT key, idx, count, fingerprint, order_id, created_at
         FROM idempotency_keys WHERE key = ANY($1) ORDER BY key, idx",
    )
    .bind(keys)
    .fetch_all(pool)
    .await?;
    let found: Vec<IndexedOrder> = rows
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
        .collect();
    Ok(Earlier::first_of(keys, &found))
}
