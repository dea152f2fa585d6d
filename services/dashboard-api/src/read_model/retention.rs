//! Retention's query: the customers whose every order and hand-off has been closed long enough.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::{Status, retention::RetentionDue};

/// The advisory lock of the retention round: one replica runs it at a time.
pub const RETENTION_LOCK: &str = "dashboard-api.retention";

/// What closes an order for retention: verified, expired or deleted.
const CLOSED: [Status; 3] = [Status::Verified, Status::Expired, Status::Deleted];

/// Up to `limit` customers whose every order and hand-off sealed under a key not yet erased
/// closed at or before `cutoff`, the longest closed first, each with the newest key generation
/// their items were sealed under.
///
/// An order's close is its newest event (its verification, expiry or deletion, or anything
/// later), a hand-off's its `customer.handoff_closed`. Items of a generation already erased do
/// not count (a customer erased on request who came back has only their new items), nor do
/// items recorded before sealing (generation 0: no key to erase, the one-time reseal gives them
/// one) or a row whose opening event a replica has not applied yet (no subject).
pub async fn retention_due(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<RetentionDue>> {
    let closed: Vec<&str> = CLOSED.iter().map(|s| s.code()).collect();
    sqlx::query_as(
        "WITH items AS (
             SELECT subject, key_generation AS generation,
                    CASE WHEN state = ANY($3) THEN updated_at END AS closed_at
             FROM orders
             WHERE subject IS NOT NULL AND created AND key_generation > 0
             UNION ALL
             SELECT subject, key_generation, closed_at
             FROM handoffs
             WHERE subject IS NOT NULL AND opened_at IS NOT NULL AND key_generation > 0
         )
         SELECT i.subject, max(i.generation) AS generation
         FROM items i
         LEFT JOIN erased_subjects e ON e.subject = i.subject
         WHERE i.generation > coalesce(e.generation, 0)
         GROUP BY i.subject
         HAVING bool_and(i.closed_at IS NOT NULL) AND max(i.closed_at) <= $1
         ORDER BY max(i.closed_at), i.subject
         LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .bind(&closed)
    .fetch_all(conn)
    .await
}
