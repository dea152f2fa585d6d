//! The sweeper's queries over its tables: open verifications, and customers past retention.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::{OpenVerification, RetentionDue};

/// The advisory lock of the expiry sweep.
pub const SWEEP_LOCK: &str = "expiry-sweeper.sweep";
/// The advisory lock of the retention round (its own: a long round does not hold up expiries).
pub const RETENTION_LOCK: &str = "expiry-sweeper.retention";

/// Takes the lock named `round` for the rest of `conn`'s transaction, if no other replica holds
/// it: one replica runs that round at a time.
pub async fn try_lead(conn: &mut PgConnection, round: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
        .bind(round)
        .fetch_one(conn)
        .await
}

/// Up to `limit` open verifications expired at `now`, the longest expired first.
pub async fn due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<OpenVerification>> {
    sqlx::query_as(
        "SELECT order_id, verification_id, expires_at FROM verifications
         WHERE open AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Up to `limit` customers whose every order and hand-off closed at or before `cutoff`, and who
/// are not erased at their newest generation yet, the longest closed first. Items without a
/// customer (a close applied before its opening event, or recorded before sealing) do not count.
pub async fn retention_due(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<RetentionDue>> {
    sqlx::query_as(
        "SELECT i.subject, max(i.generation) AS generation
         FROM retention_items i
         WHERE i.subject IS NOT NULL
         GROUP BY i.subject
         HAVING bool_and(i.closed_at IS NOT NULL) AND max(i.closed_at) <= $1
            AND NOT EXISTS (
                SELECT 1 FROM retention_erasures e
                WHERE e.subject = i.subject AND e.generation >= max(i.generation)
            )
         ORDER BY max(i.closed_at), i.subject
         LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(conn)
    .await
}
