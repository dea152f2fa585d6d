//! Planner statistics for a server whose autovacuum is off.
//!
//! Every lookup on the hot paths (an idempotency key, a customer's key, an order by id) is an
//! index probe, but only the planner's statistics say so: a statement prepared while its table
//! was nearly empty keeps a sequential-scan plan, and without statistics nothing ever tells the
//! connection to plan again. Autovacuum's ANALYZE does, on any normal server. Where it is off (a
//! CI machine, a tuned-down replica) each service analyzes its own schema's tables the way
//! autovacuum would: when the rows changed since the last analysis exceed 50 + 10 % of the
//! table. Measured before this existed, on a server with autovacuum off: a 20,000-row key table
//! scanned in full 125 times a second under the bridge's load, Postgres at 79 % of a core, 628
//! orders/s; after one ANALYZE, no scans and 1,084 orders/s.
//!
//! A fresh table is the one whose plans flip: with a look every 5 s, the bench's empty database
//! under 1,000 orders/s scanned the whole key table 2,125 times in its first five seconds (4.8
//! million rows read, each lookup slower as the table grew), until the first analysis. So the
//! tables are looked at every second, and a small one (under [`SMALL_ROWS`]) is analyzed as
//! soon as it crossed the threshold; a larger one, whose analysis samples 30,000 rows and whose
//! plans no longer flip, at most every [`LARGE_EVERY`].
//!
//! One replica analyzes at a time (a transaction-level advisory lock it only tries); the others
//! skip the round. With autovacuum on this does nothing but one `current_setting` a round.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// How often a service looks at its tables' changes.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Tables estimated below this many rows are analyzed whenever they crossed the threshold.
pub const SMALL_ROWS: i64 = 10_000;
/// The least time between two analyses of a larger table. Every 5 s, a 20-s side-by-side run
/// (2,100 orders/s into fresh tables) spent 5.7 s of Postgres's time in ANALYZE, as much as
/// in the dashboard's inserts.
pub const LARGE_EVERY: Duration = Duration::from_secs(60);
/// Second key of the advisory lock (the first is the schema's hash), apart from the schema's
/// own apply lock, which uses the one-key form.
const LOCK_KEY: i32 = 0x5354_4154; // "STAT"

/// Runs [`analyze_changed`] every [`CHECK_EVERY`] until `shutdown`.
pub async fn keep_statistics(pool: PgPool, schema: String, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match analyze_changed(&pool, &schema, LARGE_EVERY).await {
            Ok(tables) if !tables.is_empty() => {
                tracing::debug!(?tables, "analyzed (the server's autovacuum is off)");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, schema, "could not analyze the tables"),
        }
    }
}

/// When the server's autovacuum is off: analyzes the tables of `schema` whose rows changed by
/// more than autovacuum's default threshold since their last analysis (a table of
/// [`SMALL_ROWS`] or more only when that analysis is older than `large_every`), and returns
/// their names. Nothing when autovacuum is on, or when another replica is analyzing.
pub async fn analyze_changed(
    pool: &PgPool,
    schema: &str,
    large_every: Duration,
) -> sqlx::Result<Vec<String>> {
    let autovacuum: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await?;
    if autovacuum != "off" {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await?;
    let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1), $2)")
        .bind(schema)
        .bind(LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    if !ours {
        return Ok(Vec::new());
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', s.schemaname, s.relname)
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname = $1
           AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
           AND (c.reltuples < $2 OR s.last_analyze IS NULL
                OR s.last_analyze < now() - make_interval(secs => $3))
         ORDER BY 1",
    )
    .bind(schema)
    .bind(SMALL_ROWS as f32)
    .bind(large_every.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    if !tables.is_empty() {
        sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(tables)
}
