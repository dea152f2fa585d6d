//! Bulk catch-up: a projection far behind (a first start on a long stream, a long outage) sets
//! aside the indexes only its readers use ([`crate::Projection::BULK_INDEXES`]), catches up
//! without maintaining them, and builds them once at the end, as Postgres's own advice for
//! populating a table goes. The indexes its own statements use (the dashboard's history by
//! order, read when an older event arrives after a newer one; erasures by subject) stay.
//!
//! Growing a trigram GIN index and seven B-trees row by row was more than half of Postgres's
//! time in a catch-up (perf, 2026-12-03). With the dashboard list's five B-trees set aside and
//! built after (2-3 s over 1,000,000 orders), 1,000,000 events caught up at 10,149 and 11,136
//! events/s against 8,791 and 9,892 with them (that afternoon, a machine half as fast as the
//! morning's).
//!
//! Who: a projection that names such indexes and whose [`ConsumerSpec::bulk_from`] is set:
//! dashboard-api's (the list's five B-trees; `PROJECTION_BULK_FROM`). The other services'
//! indexes serve their own handlers and rounds while the projection catches up.
//!
//! When: the consumer has at least [`ConsumerSpec::bulk_from`] messages pending when it
//! starts, and no fewer than the stream sequences the projection has applied so far (the
//! tables would at least double: building the indexes over everything is cheaper than adding
//! that many rows to each). Until the indexes are back, the service's queries that needed them
//! are slower (a scan of the table); its projection is behind anyway.
//!
//! Replicas: deciding, and building the indexes again, run under a session advisory lock on the
//! schema, one replica at a time. Every replica keeps consuming meanwhile (they share the
//! backlog), and each sees the record (`set_aside_indexes`, written in the transaction that
//! dropped them) when it measures its backlog: whichever finds fewer than a batch of messages
//! waiting builds them again, the others find nothing left to build. So a replica that dies
//! in between leaves the work to the others, or to the next one to start.

use gadai_bus::ConsumerSpec;
use sqlx::{Connection, PgConnection, PgPool};

/// Second key of the advisory lock (the first is the schema's hash); see
/// [`crate::statistics`] for another.
const LOCK_KEY: i32 = 0x4255_4C4B; // "BULK"

/// Whether to catch up in bulk, with `indexes` (not empty) set aside: `true` when they are
/// aside now (set aside here, or earlier by a replica still catching up or one that died).
pub(crate) async fn begin(
    pool: &PgPool,
    schema: &str,
    projection: &str,
    indexes: &[&str],
    spec: &ConsumerSpec,
    pending: u64,
) -> anyhow::Result<bool> {
    let lock = SchemaLock::acquire(pool, schema).await?;
    let decided = async {
        if underway(pool, schema).await? {
            return anyhow::Ok(true);
        }
        let applied = gadai_store::checkpoint(pool, projection).await?;
        if !spec
            .bulk_from
            .is_some_and(|from| pending >= from && pending >= applied)
        {
            return Ok(false);
        }
        let count = gadai_store::set_aside_indexes(pool, schema, indexes).await?;
        tracing::info!(
            projection,
            pending,
            applied,
            indexes = count,
            "catching up in bulk: indexes set aside until the backlog is applied"
        );
        Ok(count > 0)
    }
    .await;
    lock.release().await;
    decided
}

/// Whether indexes of `schema` are set aside now.
pub(crate) async fn underway(pool: &PgPool, schema: &str) -> anyhow::Result<bool> {
    Ok(!gadai_store::set_aside(pool, schema).await?.is_empty())
}

/// Sorts what the backlog left in the GIN indexes' pending lists into them, then builds the
/// indexes set aside again (nothing when another replica did already).
pub(crate) async fn end(pool: &PgPool, schema: &str, projection: &str) -> anyhow::Result<()> {
    let lock = SchemaLock::acquire(pool, schema).await?;
    let started = std::time::Instant::now();
    let done = async {
        if !underway(pool, schema).await? {
            return anyhow::Ok((0, 0));
        }
        // Searches are only slower while the lists stay: a failure here must not keep the
        // indexes set aside.
        let merged = gadai_store::merge_pending_lists(pool, schema)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(projection, error = %format!("{err:#}"), "the GIN pending lists were not sorted in; searches scan them until autovacuum does");
                0
            });
        let built = gadai_store::restore_set_aside_indexes(pool, schema).await?;
        Ok((merged, built))
    }
    .await;
    lock.release().await;
    let (merged, built) = done?;
    if built > 0 {
        tracing::info!(
            projection,
            indexes = built,
            pending_pages_merged = merged,
            seconds = started.elapsed().as_secs_f64(),
            "bulk catch-up done: pending lists merged, indexes built again"
        );
    }
    Ok(())
}

/// The schema's bulk lock: a session advisory lock, on a connection of its own taken out of
/// the pool, so that however the holder ends (released, an error, its future dropped at
/// shutdown) the lock goes with the connection and never back into the pool.
struct SchemaLock {
    conn: PgConnection,
    schema: String,
}

impl SchemaLock {
    async fn acquire(pool: &PgPool, schema: &str) -> anyhow::Result<Self> {
        let mut conn = pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock(hashtext($1), $2)")
            .bind(schema)
            .bind(LOCK_KEY)
            .execute(&mut conn)
            .await?;
        Ok(SchemaLock {
            conn,
            schema: schema.to_owned(),
        })
    }

    /// Unlocks and closes the connection (closing alone would unlock too).
    async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext($1), $2)")
            .bind(&self.schema)
            .bind(LOCK_KEY)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}
