//! Rate limits counted in Postgres, so they hold across every replica of dashboard-api.
//!
//! A key's window begins with its first request (by the database's clock, the one clock all
//! replicas share) and lasts `window`: at most `limit` requests of one key are let through per
//! window, whatever the number of replicas, and the refusal says how long until the window ends
//! (10 wrong passwords: wait 15 minutes). One round trip per counted request (an upsert
//! returning the new count). Nothing is kept in the process, so memory does not grow with the
//! number of keys; the table is pruned every minute.

use std::time::Duration;

use gadai_http::ApiError;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The longest window of any limit (the hourly budgets): keys older than that are pruned.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(3600);

/// One limit: `limit` requests per key in each `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Names the limit in the table (`login`, `verify`, ...).
    pub bucket: &'static str,
    pub limit: u32,
    pub window: Duration,
}

impl Limit {
    /// Counts one request of `key`: 429 with the seconds left in the window when over the limit.
    pub async fn hit(&self, pool: &PgPool, key: &str) -> Result<(), ApiError> {
        let window = self.window.as_secs().max(1) as f64;
        let (hits, left): (i64, f64) = sqlx::query_as(
            "INSERT INTO rate_limits AS r (bucket, key, window_start, hits)
             VALUES ($1, $2, now(), 1)
             ON CONFLICT (bucket, key) DO UPDATE SET
                 hits = CASE WHEN r.window_start + make_interval(secs => $3) <= now()
                             THEN 1 ELSE r.hits + 1 END,
                 window_start = CASE WHEN r.window_start + make_interval(secs => $3) <= now()
                                     THEN now() ELSE r.window_start END
             RETURNING hits,
                       extract(epoch FROM window_start + make_interval(secs => $3) - now())::float8",
        )
        .bind(self.bucket)
        .bind(key)
        .bind(window)
        .fetch_one(pool)
        .await
        .map_err(anyhow::Error::from)?;
        if hits > i64::from(self.limit) {
            metrics::counter!("rate_limited_total", "limit" => self.bucket).increment(1);
            return Err(ApiError::TooManyRequests {
                retry_after_secs: left.ceil().max(1.0) as u64,
            });
        }
        Ok(())
    }

    /// 429 when `key` has used up this window's `limit` already; counts nothing (a budget that
    /// only failures spend is checked before the attempt and spent after a failure).
    pub async fn check(&self, pool: &PgPool, key: &str) -> Result<(), ApiError> {
        let left: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM window_start + make_interval(secs => $3) - now())::float8
             FROM rate_limits
             WHERE bucket = $1 AND key = $2 AND hits >= $4
               AND window_start + make_interval(secs => $3) > now()",
        )
        .bind(self.bucket)
        .bind(key)
        .bind(self.window.as_secs().max(1) as f64)
        .bind(i64::from(self.limit))
        .fetch_optional(pool)
        .await
        .map_err(anyhow::Error::from)?;
        match left {
            Some(left) => {
                metrics::counter!("rate_limited_total", "limit" => self.bucket).increment(1);
                Err(ApiError::TooManyRequests {
                    retry_after_secs: left.ceil().max(1.0) as u64,
                })
            }
            None => Ok(()),
        }
    }
}

/// Deletes the keys whose window has ended (`longest` is the longest window), every minute
/// until shutdown.
pub async fn prune(pool: PgPool, longest: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let pruned = sqlx::query(
            "DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => $1)",
        )
        .bind(longest.as_secs() as f64)
        .execute(&pool)
        .await;
        if let Err(err) = pruned {
            tracing::warn!(error = %err, "could not prune the rate limits");
        }
    }
}
