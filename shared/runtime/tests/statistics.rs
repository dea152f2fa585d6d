//! `statistics::analyze_changed` against the machine's Postgres (whose autovacuum may be on or
//! off: the test checks what the function must do in either case).

use std::time::{Duration, Instant};

use gadai_runtime::statistics::analyze_changed;
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
    let autovacuum_off: bool = sqlx::query_scalar("SELECT current_setting('autovacuum') = 'off'")
        .fetch_one(&pool)
        .await
        .unwrap();

    // Backends report their changes to the statistics within a second or so.
    let started = Instant::now();
    let mut analyzed = Vec::new();
    while analyzed.is_empty() && autovacuum_off && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        analyzed = analyze_changed(&pool, &schema).await.unwrap();
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
            analyze_changed(&pool, &schema).await.unwrap().is_empty(),
            "analyzed once: nothing changed since"
        );
    } else {
        assert!(analyze_changed(&pool, &schema).await.unwrap().is_empty());
        assert_eq!(last, [("grown".into(), false), ("small".into(), false)]);
    }
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
