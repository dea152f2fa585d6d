//! The sweeper's queries over its table of open verifications.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::OpenVerification;

/// The advisory lock of the expiry sweep.
pub const SWEEP_LOCK: &str = "expiry-sweeper.sweep";

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
