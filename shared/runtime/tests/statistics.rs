//! `statistics::analyze_changed` against the machine's Postgres (whose autovacuum may be on or
//! off: the tests check what the function must do in either case).

use std::time::{Duration, Instant};

use gadai_runtime::statistics::{LARGE_EVERY, SMALL_ROWS, analyze_changed};
use sqlx::PgPool;

async fn pool() -> PgPool {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    PgPool::connect(&url).await.expect("Postgres")
}

#[tokio::test]
async fn a_table_that_grew_is_analyzed_when_autovacuum_is_off_and_only_then() {
    let pool = pool().await;
    let schema = format!("stats_{}", std::process::id());
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.grown (id bigint PRIMARY KEY);
         CREATE TABLE {schema}.small (id bigint PRIMARY KEY);
         INSERT INTO {schema}.grown SELECT g FROM generate_series(1, 500) g;
         INSERT INTO {schema}.small VALUES (1), (2);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let autovacuum_off = autovacuum_off(&pool).await;

    // Backends report their changes to the statistics within a second or so.
    let started = Instant::now();
    let mut analyzed = Vec::new();
    while analyzed.is_empty() && autovacuum_off && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        analyzed = analyze_changed(&pool, &schema, LARGE_EVERY).await.unwrap();
    }
    let last: Vec<(String, bool)> = sqlx::query_as(
        "SELECT relname::text, last_analyze IS NOT NULL FROM pg_stat_user_tables
         WHERE schemaname = $1 ORDER BY relname",
    )
    .bind(&schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    if autovacuum_off {
        assert_eq!(analyzed, [format!("{schema}.grown")]);
        assert_eq!(
            last,
            [("grown".into(), true), ("small".into(), false)],
            "a table under the threshold is left alone"
        );
        assert!(
            analyze_changed(&pool, &schema, LARGE_EVERY)
                .await
                .unwrap()
                .is_empty(),
            "analyzed once: nothing changed since"
        );
    } else {
        assert!(
            analyze_changed(&pool, &schema, LARGE_EVERY)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(last, [("grown".into(), false), ("small".into(), false)]);
    }
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

/// Whether the server's autovacuum is off (where `analyze_changed` works at all).
async fn autovacuum_off(pool: &PgPool) -> bool {
    sqlx::query_scalar("SELECT current_setting('autovacuum') = 'off'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Calls `analyze_changed` until it analyzes something (the server learns of a backend's
/// changes within a second or so), at most 30 s.
async fn analyzed_once_seen(pool: &PgPool, schema: &str, large_every: Duration) -> Vec<String> {
    let started = Instant::now();
    loop {
        let analyzed = analyze_changed(pool, schema, large_every).await.unwrap();
        if !analyzed.is_empty() || started.elapsed() > Duration::from_secs(30) {
            return analyzed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_large_table_is_analyzed_again_only_after_the_spacing_and_a_small_one_at_once() {
    let pool = pool().await;
    if !autovacuum_off(&pool).await {
        return; // Autovacuum analyzes; the function does nothing (the test above checks that).
    }
    let schema = format!("stats_spacing_{}", std::process::id());
    let large = SMALL_ROWS * 2;
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.large (id bigint PRIMARY KEY);
         CREATE TABLE {schema}.small (id bigint PRIMARY KEY);
         INSERT INTO {schema}.large SELECT g FROM generate_series(1, {large}) g;
         INSERT INTO {schema}.small SELECT g FROM generate_series(1, 100) g;"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let hour = Duration::from_secs(3600);
    let first = analyzed_once_seen(&pool, &schema, hour).await;
    assert_eq!(
        first,
        [format!("{schema}.large"), format!("{schema}.small")],
        "never analyzed: both, whatever the spacing"
    );

    // Both change by far more than the threshold again.
    sqlx::raw_sql(&format!(
        "INSERT INTO {schema}.large SELECT g FROM generate_series({large} + 1, {large} * 2) g;
         INSERT INTO {schema}.small SELECT g FROM generate_series(101, 300) g;"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let second = analyzed_once_seen(&pool, &schema, hour).await;
    assert_eq!(
        second,
        [format!("{schema}.small")],
        "the large table was analyzed less than an hour ago: it waits"
    );
    let third = analyzed_once_seen(&pool, &schema, Duration::ZERO).await;
    assert_eq!(
        third,
        [format!("{schema}.large")],
        "with the spacing past, the large table's changes count again"
    );
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
